"""How strongly a clip shows a decoder's comb: spectral lines at multiples of its frame rate.

A decoder that turns latent frames at ``f_frame = internal_sr / total_stride`` Hz into samples
repeats its up-sampling pattern once per frame, so its output carries lines at multiples of
``f_frame`` (notebook ``01_residual_physics``). :func:`comb_contrast` measures them on Afchar et
al.'s peak residue (the long-term spectrum in dB minus its lower hull, *before* the fakeprint's
clipping and per-clip max-normalisation, so levels stay comparable between clips): the mean
height of the residue on the comb's lines minus its mean between them, in dB. On real music the
same measure at the same frequencies is the chance level.

Taught in notebook ``01_residual_physics``.
"""

from __future__ import annotations

import numpy as np

from artifactnet_core.detector.config import SAMPLE_RATE
from artifactnet_core.experiments.baselines.fakeprint import (
    FMAX,
    FMIN,
    N_FFT,
    mean_power_db,
    peak_residue,
)


def peak_residue_db(audio: np.ndarray, *, sr: int = SAMPLE_RATE, n_fft: int = N_FFT,
                    fmin: float = FMIN, fmax: float = FMAX) -> tuple[np.ndarray, np.ndarray]:
    """The fakeprint's band before clipping and normalising: frequencies in Hz and the height
    of the long-term spectrum above its lower hull, in dB (>= 0).

    Parameters
    ----------
    audio : numpy.ndarray
        Mono samples at ``sr``, longer than ``n_fft / 2``.
    sr : int
        Sample rate in Hz.
    n_fft : int
        FFT length (16,384: 2.7 Hz bins at 44.1 kHz).
    fmin, fmax : float
        Band in Hz.
    """
    freqs = np.linspace(0.0, sr / 2, 1 + n_fft // 2)
    band = (freqs > fmin) & (freqs < fmax)
    curve = mean_power_db(audio, n_fft=n_fft)[band]
    return freqs[band], peak_residue(freqs[band], curve)


def comb_lines(frame_rate_hz: float, freqs: np.ndarray) -> np.ndarray:
    """Indices into ``freqs`` of the bins nearest to each multiple of ``frame_rate_hz`` inside
    the range of ``freqs``."""
    if frame_rate_hz <= 0:
        raise ValueError(f"frame rate must be positive, got {frame_rate_hz} Hz")
    k = np.arange(np.ceil(freqs[0] / frame_rate_hz), np.floor(freqs[-1] / frame_rate_hz) + 1)
    return np.unique(np.abs(freqs[None, :] - k[:, None] * frame_rate_hz).argmin(axis=1))


def comb_contrast(audio: np.ndarray, frame_rate_hz: float, *, sr: int = SAMPLE_RATE,
                  n_fft: int = N_FFT, tolerance_bins: int = 1, guard_bins: int = 3
                  ) -> dict[str, float]:
    """How far a clip's spectrum sticks out at the multiples of ``frame_rate_hz``, in dB.

    Parameters
    ----------
    audio : numpy.ndarray
        Mono samples at ``sr``.
    frame_rate_hz : float
        The comb's spacing: a decoder's latent frame rate ``internal_sr / total_stride``.
    sr : int
        Sample rate in Hz.
    n_fft : int
        FFT length of the long-term spectrum.
    tolerance_bins : int
        A line's height is the largest residue within this many bins of its nominal frequency
        (a resampled generator's lines can fall between bins).
    guard_bins : int
        Bins closer than this to a line count neither as line nor as floor.

    Returns
    -------
    dict
        ``on_db`` (mean line height above the hull), ``off_db`` (mean residue between the
        lines), ``contrast_db`` (their difference), ``lines`` (how many lines in the band).
    """
    freqs, residue = peak_residue_db(audio, sr=sr, n_fft=n_fft)
    lines = comb_lines(frame_rate_hz, freqs)
    offsets = np.arange(-tolerance_bins, tolerance_bins + 1)
    near = np.clip(lines[:, None] + offsets[None, :], 0, len(freqs) - 1)
    on = residue[near].max(axis=1).mean()
    distance = np.abs(np.arange(len(freqs))[:, None] - lines[None, :]).min(axis=1)
    off = residue[distance > guard_bins].mean()
    return {"on_db": float(on), "off_db": float(off), "contrast_db": float(on - off),
            "lines": int(len(lines))}
