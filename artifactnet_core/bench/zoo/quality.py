"""How recognisably a regeneration is its input: quality metrics, their chance level, the floor.

A zoo generator must output the *same music*, changed only in fine structure; otherwise a detector
can win by spotting bad reconstructions instead of decoder physics. These metrics compare a
regeneration with its input and with unrelated clips (the chance level).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from artifactnet_core.bench.zoo.models import cached_mel_filterbank
from artifactnet_core.detector import spectral
from artifactnet_core.detector.config import SAMPLE_RATE

#: The quality floor: mean correlations over held-out clips (regenerations must be recognisably
#: the input music). Chance levels measured between 300 pairs of unrelated 4 s clips (16 tracks of
#: wesnoth, singularity and planetblupi music): envelope correlation mean 0.00, sd 0.21, max 0.66;
#: centred log-mel correlation mean 0.01, sd 0.07, max 0.30. The thresholds ask far more: that
#: only fine structure separates a regeneration from its input.
FLOOR = {"envelope_corr": 0.8, "logmel_corr_centred": 0.7}
#: ... and the log-mel distance must be at most this share of the chance distance (the distance
#: between mismatched clips): a regeneration is much nearer its input than any other music.
DISTANCE_RATIO = 0.4
#: Clips quieter than this RMS (-50 dBFS) are left out of quality measurements.
_SILENT = 10 ** (-50 / 20)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    den = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


def _logmel_db(x: np.ndarray, sr: int) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    mel = spectral.mel_power(spectral.magnitude(t, n_fft=2048, hop_length=512),
                             cached_mel_filterbank(sr, 2048, 128, t.device))
    return spectral.power_to_db(mel, ref=1.0, top_db=None).clamp_min(-100.0).numpy()


def _envelope_db(x: np.ndarray) -> np.ndarray:
    # Frame RMS over 2048 samples (46 ms at 44.1 kHz), hop 512, in dB floored at -80 dBFS.
    n, hop = 2048, 512
    xp = np.pad(np.asarray(x, dtype=np.float64), (n // 2, n // 2))
    frames = np.lib.stride_tricks.sliding_window_view(xp, n)[::hop]
    return 10 * np.log10(np.maximum((frames**2).mean(axis=1), 1e-8))


def reconstruction_quality(reference: np.ndarray, estimate: np.ndarray, *,
                           sr: int = SAMPLE_RATE) -> dict[str, float]:
    """How recognisably ``estimate`` is ``reference``: four numbers, one verdict.

    - ``envelope_corr``: Pearson correlation of the two loudness envelopes (frame RMS in dB,
      46 ms frames, 11.6 ms hop): does the output get louder and softer with the input?
    - ``logmel_corr_centred``: Pearson correlation of the 128-band log-mel spectrograms after
      subtracting each band's mean over time. Plain log-mel correlation reaches 0.7-0.8 between
      unrelated music, because every clip shares the same spectral tilt; centring removes the tilt
      and keeps what changes: notes, chords, onsets.
    - ``logmel_distance_db``: mean absolute difference of the log-mel spectrograms in dB.
    - ``si_sdr_db``: scale-invariant signal-to-distortion ratio in dB (waveform fidelity; a codec
      that does not keep the phase scores near or below 0 dB even when it sounds right).
    - ``passes_floor``: both correlations clear :data:`FLOOR`.

    Both signals' means (DC offsets) are removed first.

    Parameters
    ----------
    reference, estimate : numpy.ndarray
        Mono signals at ``sr``; the longer one is trimmed to the shorter.
    sr : int
        Sample rate in Hz.
    """
    n = min(len(reference), len(estimate))
    if n < 2048:
        raise ValueError(f"need at least 2048 samples to compare, got {n}")
    # Remove DC first: some real recordings carry an offset, which would flatten the envelope.
    ref = np.asarray(reference[:n], dtype=np.float64)
    est = np.asarray(estimate[:n], dtype=np.float64)
    ref, est = ref - ref.mean(), est - est.mean()
    env = _pearson(_envelope_db(ref), _envelope_db(est))
    m_ref, m_est = _logmel_db(ref, sr), _logmel_db(est, sr)
    centred = _pearson(m_ref - m_ref.mean(axis=-1, keepdims=True),
                       m_est - m_est.mean(axis=-1, keepdims=True))
    alpha = float(est @ ref) / max(float(ref @ ref), 1e-12)
    target = alpha * ref
    noise = est - target
    si_sdr = 10 * math.log10(max(float(target @ target), 1e-12) / max(float(noise @ noise), 1e-12))
    out = {"envelope_corr": env, "logmel_corr_centred": centred,
           "logmel_distance_db": float(np.abs(m_ref - m_est).mean()), "si_sdr_db": si_sdr}
    out["passes_floor"] = passes_floor(out)
    return out


def passes_floor(quality: dict) -> bool:
    """True when both correlations in ``quality`` clear :data:`FLOOR` and, when ``quality``
    holds the chance level (``chance_logmel_distance_db``, a mean over held-out clips), the
    log-mel distance is at most :data:`DISTANCE_RATIO` times it.

    Taught in notebook ``02_artifactbench``.
    """
    ok = all(quality[k] >= v for k, v in FLOOR.items())
    chance = quality.get("chance_logmel_distance_db")
    if chance:
        ok = ok and quality["logmel_distance_db"] <= DISTANCE_RATIO * chance
    return bool(ok)


def mean_quality(rows: list[dict]) -> dict[str, float]:
    """Mean of each metric of :func:`reconstruction_quality` over ``rows``."""
    keys = ("envelope_corr", "logmel_corr_centred", "logmel_distance_db", "si_sdr_db")
    return {k: float(np.mean([r[k] for r in rows])) for k in keys}


def chance_quality(clips: list[np.ndarray], *, sr: int = SAMPLE_RATE) -> dict[str, float]:
    """The metrics of :func:`reconstruction_quality` between *unrelated* clips: the chance level.

    Clip ``i`` is scored against clip ``i + 1`` (cyclically), so an input-independent generator
    with a music-like spectrum would score about this. Returns the mean and the maximum of each
    correlation, keyed ``chance_*``.

    Parameters
    ----------
    clips : list of numpy.ndarray
        At least two mono clips at ``sr`` from different recordings.
    sr : int
        Sample rate in Hz.
    """
    if len(clips) < 2:
        raise ValueError("chance_quality needs at least two clips")
    rows = [reconstruction_quality(clips[i], clips[(i + 1) % len(clips)], sr=sr)
            for i in range(len(clips))]
    mean = mean_quality(rows)
    out = {f"chance_{k}": v for k, v in mean.items()}
    for k in FLOOR:
        out[f"chance_{k}_max"] = float(max(r[k] for r in rows))
    return out



def audible(clips: list[np.ndarray]) -> list[np.ndarray]:
    """The clips louder than -50 dBFS RMS: near-silent clips say nothing about fidelity (every
    correlation is undefined there)."""
    return [c for c in clips if float(np.sqrt(np.mean(np.square(c, dtype=np.float64)))) > _SILENT]
