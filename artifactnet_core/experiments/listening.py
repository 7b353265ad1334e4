"""Hearing what the detector measures: players, spectrogram parts turned back into sound, and
the toy signals of the HPSS lesson.

A part of a magnitude spectrogram (the residual R, its harmonic part H or percussive part P) has
no phase of its own. :func:`with_phase` gives it the phase of the clip it came from and inverts
the STFT, the usual way to listen to a masked spectrogram (every bin of R, H and P is the
clip's bin scaled by a mask in [0, 1], so the clip's phase is the natural one).
:func:`toy_mixture` builds the FMP-style test signal for HPSS: a steady harmonic tone, clicks and
a decoder-like comb.

Taught in notebooks ``00_quickstart`` and ``01_residual_physics``.
"""

from __future__ import annotations

import numpy as np
import torch

from artifactnet_core.detector.config import HOP_LENGTH, N_FFT, SAMPLE_RATE
from artifactnet_core.detector.spectral import istft, stft

#: The parts of :func:`artifactnet_core.experiments.anatomy.residual_parts` one can listen to.
AUDIBLE_PARTS = ("residual", "harmonic", "percussive")


def with_phase(part: np.ndarray, audio: np.ndarray, *, n_fft: int = N_FFT,
               hop_length: int = HOP_LENGTH) -> np.ndarray:
    """A magnitude spectrogram given the phase of ``audio`` and inverted to samples.

    Parameters
    ----------
    part : numpy.ndarray
        Non-negative magnitudes ``(1 + n_fft // 2, frames)`` on the STFT grid of ``audio``
        (e.g. the residual R of that audio).
    audio : numpy.ndarray
        The mono clip the part was computed from, ``(samples,)``.
    n_fft, hop_length : int
        STFT size and hop in samples (the detector's by default).

    Returns
    -------
    numpy.ndarray
        float32 samples, as long as ``audio``.
    """
    x = torch.as_tensor(np.asarray(audio, dtype=np.float32))
    phase = torch.angle(stft(x, n_fft=n_fft, hop_length=hop_length))
    mag = torch.as_tensor(np.asarray(part, dtype=np.float32))
    if mag.shape != phase.shape:
        raise ValueError(f"part of shape {tuple(mag.shape)} is not on the STFT grid of the audio "
                         f"{tuple(phase.shape)} (n_fft {n_fft}, hop {hop_length})")
    out = istft(torch.polar(mag, phase), n_fft=n_fft, hop_length=hop_length, length=x.shape[-1])
    return out.numpy().astype(np.float32)


def part_sounds(parts: dict[str, np.ndarray], audio: np.ndarray, *,
                names: tuple[str, ...] = AUDIBLE_PARTS) -> dict[str, np.ndarray]:
    """The residual, harmonic and percussive parts of one chunk as sound (:func:`with_phase`).

    Parameters
    ----------
    parts : dict
        The output of :func:`artifactnet_core.experiments.anatomy.residual_parts` for ``audio``.
    audio : numpy.ndarray
        The chunk itself (``model.config.chunk_samples`` samples at the detector's rate).
    names : tuple of str
        Which parts to invert.
    """
    return {name: with_phase(parts[name], audio) for name in names}


def level_db(audio: np.ndarray, reference: np.ndarray) -> float:
    """RMS level of ``audio`` relative to the RMS of ``reference``, in dB."""
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    ref = float(np.sqrt(np.mean(np.square(reference, dtype=np.float64))))
    return 20.0 * np.log10(max(rms, 1e-12) / max(ref, 1e-12))


def players(sounds: dict[str, np.ndarray], *, sr: int = SAMPLE_RATE,
            reference: np.ndarray | None = None, reference_name: str = "the clip",
            normalize: bool = True) -> list:
    """Show one ``IPython.display.Audio`` player per sound, each under its name.

    Parameters
    ----------
    sounds : dict of str to numpy.ndarray
        Name -> mono samples at ``sr``.
    sr : int
        Sample rate in Hz.
    reference : numpy.ndarray, optional
        Print each sound's RMS level in dB relative to this one (e.g. the clip the parts came
        from), since normalised players hide how quiet a residual is.
    reference_name : str
        What the reference is, for the printed level.
    normalize : bool
        Scale each player to full level (quiet residuals become audible).

    Returns
    -------
    list of IPython.display.Audio
    """
    from IPython.display import Audio, display

    out = []
    for name, audio in sounds.items():
        audio = np.asarray(audio, dtype=np.float32)
        level = "" if reference is None else (f"  ({level_db(audio, reference):+.1f} dB re "
                                                  f"{reference_name})")
        print(f"{name}{level}")
        if not normalize:
            audio = np.clip(audio, -1.0, 1.0)
        player = Audio(audio, rate=sr, normalize=normalize)
        display(player)
        out.append(player)
    return out


def periodic_pattern(period: int, n_samples: int, *, seed: int = 0) -> np.ndarray:
    """A random pattern of ``period`` samples repeated to ``n_samples``: unit-RMS noise whose
    spectrum is a comb of lines at multiples of ``sr / period`` (what a decoder of total stride
    ``period`` imprints when its output repeats every latent frame)."""
    pattern = np.random.default_rng(seed).standard_normal(period)
    pattern /= np.sqrt(np.mean(pattern ** 2))
    return np.tile(pattern, n_samples // period + 1)[:n_samples].astype(np.float32)


def toy_mixture(*, sr: int = SAMPLE_RATE, seconds: float = 3.0, f0: float = 220.0,
                n_harmonics: int = 8, click_every_s: float = 0.5, comb_period: int = 256,
                comb_db: float = -30.0, seed: int = 0) -> dict[str, np.ndarray]:
    """The HPSS test signal: a steady harmonic tone, clicks and a comb, and their sum.

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    seconds : float
        Length in seconds.
    f0 : float
        Fundamental of the tone in Hz; its partials fall off as 1/k.
    n_harmonics : int
        Number of partials (those below ``sr / 2``).
    click_every_s : float
        Interval between clicks (one-sample impulses through a 2 ms decay), in seconds.
    comb_period : int
        Period of the comb in samples (:func:`periodic_pattern`): lines every
        ``sr / comb_period`` Hz.
    comb_db : float
        RMS level of the comb relative to the tone, in dB.
    seed : int
        Seed of the comb's pattern.

    Returns
    -------
    dict
        ``tone``, ``clicks``, ``comb`` and ``mixture`` (their sum, peak 0.9), float32.
    """
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, n_harmonics + 1)
               if k * f0 < sr / 2)
    tone = 0.3 * tone / np.sqrt(np.mean(tone ** 2))
    clicks = np.zeros(n)
    clicks[(np.arange(click_every_s / 2, seconds, click_every_s) * sr).astype(int)] = 1.0
    decay = np.exp(-np.arange(int(0.002 * sr)) / (0.0005 * sr))
    clicks = np.convolve(clicks, decay)[:n]
    comb = periodic_pattern(comb_period, n, seed=seed) * 0.3 * 10 ** (comb_db / 20)
    parts = {"tone": tone, "clicks": clicks, "comb": comb}
    total = sum(parts.values())
    scale = 0.9 / max(float(np.max(np.abs(total))), 1e-12)
    out = {k: (v * scale).astype(np.float32) for k, v in parts.items()}
    out["mixture"] = (total * scale).astype(np.float32)
    return out
