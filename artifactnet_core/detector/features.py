"""The forensic featurizer: residual -> HPSS -> seven mel-dB channels.

Given the input magnitude ``|X|`` and the UNet residual ``R``, the residual is split into a
harmonic part ``H`` (steady partials, e.g. the spectral peaks an up-sampling decoder leaves at
fixed frequencies) and a percussive part ``P`` (broadband, short events). All three go to a
128-band mel scale in dB against one reference, and the residual's time derivatives are added:

====  =================  ==============================================================
 ch    name               why
====  =================  ==============================================================
 0     ``mel_R``          the residual itself
 1     ``mel_H``          its time-stable part (tonal artifacts, periodic peaks)
 2     ``mel_P``          its transient part (broadband decoder noise, clicks)
 3     ``delta_R``        how the residual changes from frame to frame
 4     ``delta2_R``       its acceleration
 5     ``H_minus_P``      where the residual is tonal rather than noisy (dB ratio H/P)
 6     ``abs_delta_R``    the size of frame-to-frame change, regardless of sign
====  =================  ==============================================================

The dB reference is the loudest mel bin of the *input* ``|X|`` in the chunk, shared by R, H and
P: the residual keeps its level relative to the music (the paper shares one reference across R,
H and P; taking it from the input is our choice, see DESIGN.md).

Ablated in ``07_ablations_controls``.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from artifactnet_core.detector.config import HPSS_KERNEL, N_FFT, N_MELS, SAMPLE_RATE, TOP_DB
from artifactnet_core.detector.spectral import (
    DELTA_WIDTH,
    delta,
    hpss,
    mark_median_programs_constant,
    mel_filterbank,
    mel_power,
    power_to_db,
)

#: Channel names of the full feature set, in order.
CHANNEL_NAMES = ("mel_R", "mel_H", "mel_P", "delta_R", "delta2_R", "H_minus_P", "abs_delta_R")
#: Feature sets: the paper's seven HPSS channels, or the residual alone (ablation).
FEATURE_SETS = {
    "hpss7": CHANNEL_NAMES,
    "residual3": ("mel_R", "delta_R", "delta2_R"),
    "residual1": ("mel_R",),
}


class ForensicFeaturizer(nn.Module):
    """Turn ``(|X|, R)`` into forensic feature maps ``(batch, channels, n_mels, frames)``.

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    n_fft : int
        FFT size of the magnitudes (``1 + n_fft // 2`` bins).
    n_mels : int
        Mel bands (paper: 128).
    top_db : float
        Dynamic range kept below the reference, in dB (paper: 80).
    hpss_kernel : int
        HPSS median-filter length in frames and bins (paper: 31).
    feature_set : str
        A key of :data:`FEATURE_SETS`.
    """

    def __init__(self, *, sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS,
                 top_db: float = TOP_DB, hpss_kernel: int = HPSS_KERNEL,
                 feature_set: str = "hpss7"):
        super().__init__()
        if feature_set not in FEATURE_SETS:
            raise ValueError(f"unknown feature_set {feature_set!r}; one of {list(FEATURE_SETS)}")
        self.top_db = top_db
        self.hpss_kernel = hpss_kernel
        self.channels = FEATURE_SETS[feature_set]
        # Derived from the config, so not stored in checkpoints.
        self.register_buffer("filterbank", mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels),
                             persistent=False)

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    def base_maps(self, mag: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        """The three maps everything else is derived from: mel-dB of R, H and P.

        Returns ``(batch, 3, n_mels, frames)``. These are what the training pipeline caches: the
        other channels are cheap functions of them (:meth:`channels_from_base`).
        """
        return self.maps_from_parts(mag, residual, *self.split(residual))

    def split(self, residual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """HPSS of the residual: ``(harmonic, percussive)`` magnitudes shaped like it."""
        compiled = getattr(self, "_compiled_split", None)
        if compiled is not None and not torch.is_grad_enabled():
            return compiled(residual)
        return hpss(residual, kernel_size=self.hpss_kernel)

    def compile_inference(self, *, enable: bool = True) -> ForensicFeaturizer:
        """Route :meth:`split` (HPSS) through ``torch.compile`` when no gradients are needed;
        ``enable=False`` goes back to eager.

        Inductor fuses the median selection network (:func:`~artifactnet_core.detector.spectral.
        median_filter`: about 70 ``minimum`` / ``maximum`` per output, each a separate kernel
        and a pass through memory in eager mode) and the soft masks into a few kernels: the
        medians are the same values, the masks agree to float32 rounding. The first call for
        each input shape compiles; later calls reuse it. Returns the module.
        """
        if enable:
            mark_median_programs_constant()
        self._compiled_split = (
            torch.compile(functools.partial(hpss, kernel_size=self.hpss_kernel), dynamic=False)
            if enable else None)
        return self

    def maps_from_parts(self, mag: torch.Tensor, residual: torch.Tensor,
                        harmonic: torch.Tensor, percussive: torch.Tensor) -> torch.Tensor:
        """Base maps from the residual and its HPSS parts (see :meth:`base_maps`)."""
        ref = mel_power(mag, self.filterbank).amax(dim=(-2, -1), keepdim=True)
        return torch.stack([power_to_db(mel_power(m, self.filterbank), ref=ref,
                                        top_db=self.top_db)
                            for m in (residual, harmonic, percussive)], dim=1)

    def channels_from_base(self, base: torch.Tensor) -> torch.Tensor:
        """Stack this feature set's channels from base maps ``(batch, 3, n_mels, frames)``."""
        mel_r, mel_h, mel_p = base.unbind(dim=1)
        d_r = delta(mel_r)
        maps = {"mel_R": mel_r, "mel_H": mel_h, "mel_P": mel_p, "delta_R": d_r,
                "delta2_R": delta(mel_r, order=2), "H_minus_P": mel_h - mel_p,
                "abs_delta_R": d_r.abs()}
        return torch.stack([maps[name] for name in self.channels], dim=1)

    @staticmethod
    def context(start: int, length: int, frames: int) -> tuple[int, int]:
        """The frames ``[lo, hi)`` of base maps that :meth:`channels_from_base` needs for its
        output frames ``[start, start + length)`` of a ``frames``-long map: the window and the
        Δ window's half-width on each side, clipped to the map. Featurizing ``base[..., lo:hi]``
        and keeping ``[start - lo, start - lo + length)`` gives the same values, bit for bit, as
        featurizing all frames and cropping (the classifier's random crops use this; tested).
        """
        if length < 1 or start < 0 or start + length > frames:
            raise ValueError(f"window [{start}, {start + length}) outside {frames} frames")
        half = DELTA_WIDTH // 2
        lo, hi = max(0, start - half), min(frames, start + length + half)
        # Δ needs a whole window; a short crop reaches further into the map.
        while hi - lo < DELTA_WIDTH and (lo > 0 or hi < frames):
            lo, hi = max(0, lo - 1), min(frames, hi + 1)
        return lo, hi

    def forward(self, mag: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        """Feature maps ``(batch, channels, n_mels, frames)`` of magnitudes and residuals."""
        return self.channels_from_base(self.base_maps(mag, residual))
