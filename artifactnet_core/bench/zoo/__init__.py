"""The generator zoo of ArtifactBench-mini: specs, training, caching, regeneration, quality floor.

Following Afchar et al. (ICASSP 2025), the "AI" tracks of the benchmark are real clips passed
through neural autoencoders. The zoo trains its own small autoencoders, one per :class:`GeneratorSpec`
in :data:`ZOO`, on a dedicated generator-training partition of real clips, with a multi-resolution
STFT loss, fixed seeds and cached safetensors weights. Each trained generator is checked against a
quality floor: its output must be recognisably the input music (loudness envelope and centred
log-mel correlation with the input far above what unrelated clips reach), not music-coloured noise.

Public API
----------
- :class:`GeneratorSpec`, :data:`ZOO`, :func:`zoo_for_profile`
- :func:`load_or_train`, :func:`train_generator`, :func:`regenerate`
- :func:`save_generator`, :func:`load_generator`
- :func:`reconstruction_quality`, :func:`chance_quality`, :func:`passes_floor`
- :func:`multi_resolution_stft_loss`, :func:`envelope_loss`
- :func:`train_zoo`, :func:`zoo_table` (and ``python -m artifactnet_core.bench.zoo``)

Taught in notebook ``02_artifactbench`` (the zoo, its training and its quality table); the decoder
families themselves are taught in ``01_residual_physics``.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import astuple, dataclass
from pathlib import Path

import numpy as np
import soxr
import torch
from tqdm.auto import tqdm

from artifactnet_core.atomic import atomic_write_bytes, atomic_write_text, stable_hash
from artifactnet_core.bench.zoo.models import (
    BOTTLENECKS,
    FAMILIES,
    Generator,
    GeneratorSpec,
    build_generator,
    count_parameters,
)
from artifactnet_core.detector import spectral
from artifactnet_core.detector.audio import SAMPLE_RATE

__all__ = [
    "BOTTLENECKS", "FAMILIES", "FLOOR", "PROFILES", "ZOO", "GeneratorSpec", "TrainBudget",
    "build_generator", "chance_quality", "count_parameters", "load_generator", "load_or_train",
    "envelope_loss", "multi_resolution_stft_loss", "passes_floor", "reconstruction_quality", "regenerate",
    "save_generator", "train_generator", "train_zoo", "zoo_for_profile", "zoo_table",
]

#: Bump when the architecture or the training recipe changes: old cached weights are not reused.
ZOO_VERSION = 4

# ----------------------------------------------------------------------------------------------
# The zoo

_T, _S, _R, _P, _I, _M, _V = FAMILIES

#: Every generator of the benchmark. Three total strides (256, 320, 512), four internal rates
#: (44.1, 32, 24 and 22.05 kHz), three bottleneck kinds; half the zoo runs at the full 44.1 kHz so
#: that band-limiting alone does not give a generator away. ``steps`` (paper profile) is sized so
#: that each one trains in about two minutes on two CPU cores and clears the quality floor.
ZOO: tuple[GeneratorSpec, ...] = (
    GeneratorSpec("seanet_rvq_s320", _T, "rvq", (8, 5, 4, 2), internal_sr=32_000, steps=900),
    GeneratorSpec("seanet_cont_s256", _T, "continuous", (4, 4, 4, 4), steps=700),
    GeneratorSpec("dac_rvq_s512", _S, "rvq", (8, 8, 4, 2), steps=550),
    GeneratorSpec("dac_fsq_s320", _S, "fsq", (8, 5, 4, 2), internal_sr=24_000, steps=1000),
    GeneratorSpec("resize_nearest_cont_s256", _R, "continuous", (4, 4, 4, 4), steps=600),
    GeneratorSpec("resize_linear_fsq_s320", _R, "fsq", (8, 5, 4, 2), internal_sr=32_000,
                  resize_mode="linear", lr_scale=0.5, steps=700),
    GeneratorSpec("subpixel_cont_s256", _P, "continuous", (4, 4, 4, 4), steps=800),
    GeneratorSpec("subpixel_rvq_s512", _P, "rvq", (8, 8, 8), internal_sr=32_000, steps=900),
    GeneratorSpec("vocos_fsq_s256", _I, "fsq", (256,), width=128, lr_scale=0.75, steps=1000),
    GeneratorSpec("vocos_rvq_s320", _I, "rvq", (320,), internal_sr=24_000, width=128,
                  lr_scale=0.5, steps=1600),
    GeneratorSpec("hifigan_cont_s256", _M, "continuous", (8, 8, 2, 2), steps=450),
    GeneratorSpec("hifigan_rvq_s320", _M, "rvq", (8, 5, 4, 2), internal_sr=32_000, steps=800),
    GeneratorSpec("melgan_vocoder_s256", _V, "continuous", (8, 8, 2, 2), internal_sr=22_050,
                  n_mels=80, steps=900),
    GeneratorSpec("mel_fsq_vocoder_s256", _V, "fsq", (8, 8, 4), internal_sr=24_000, n_mels=100,
                  steps=900),
)

#: Names of the generators in each profile (``paper`` is the whole zoo).
_PROFILE_NAMES: dict[str, tuple[str, ...]] = {
    "smoke": ("seanet_rvq_s320", "subpixel_cont_s256", "vocos_rvq_s320", "melgan_vocoder_s256"),
    "laptop": ("seanet_rvq_s320", "dac_rvq_s512", "resize_nearest_cont_s256",
               "subpixel_cont_s256", "vocos_fsq_s256", "hifigan_cont_s256",
               "melgan_vocoder_s256"),
}


def zoo_for_profile(profile: str) -> tuple[GeneratorSpec, ...]:
    """The generators a benchmark profile uses.

    Parameters
    ----------
    profile : str
        ``"smoke"`` (4 generators from 4 families, short training: the CI bench), ``"laptop"``
        (one generator per family, 7 in all) or ``"paper"`` (the whole :data:`ZOO`).

    Taught in notebook ``02_artifactbench``.
    """
    if profile == "paper":
        return ZOO
    if profile not in _PROFILE_NAMES:
        raise ValueError(f"unknown profile {profile!r}; choose smoke, laptop or paper")
    by_name = {spec.name: spec for spec in ZOO}
    return tuple(by_name[name] for name in _PROFILE_NAMES[profile])


# ----------------------------------------------------------------------------------------------
# Training budget


@dataclass(frozen=True)
class TrainBudget:
    """How long and on what a profile trains each generator.

    Attributes
    ----------
    step_fraction : float
        Multiplies each spec's ``steps`` (fixed step counts, never wall-clock limits, so that
        training is deterministic).
    batch : int
        Crops per step.
    crop_s : float
        Crop length in seconds.
    lr : float
        Peak Adam learning rate.
    envelope_weight : float
        Weight of the loudness-envelope term of the loss (see :func:`envelope_loss`).
    """

    step_fraction: float
    batch: int
    crop_s: float
    lr: float
    envelope_weight: float = 3.0


#: Per-profile budgets.
PROFILES: dict[str, TrainBudget] = {
    "smoke": TrainBudget(step_fraction=0.15, batch=8, crop_s=0.5, lr=5e-3),
    "laptop": TrainBudget(step_fraction=1.0, batch=8, crop_s=0.5, lr=3e-3),
    "paper": TrainBudget(step_fraction=1.0, batch=8, crop_s=0.5, lr=3e-3),
}


def _steps(spec: GeneratorSpec, profile: str) -> int:
    return max(1, round(spec.steps * PROFILES[profile].step_fraction))


# ----------------------------------------------------------------------------------------------
# Loss


def multi_resolution_stft_loss(estimate: torch.Tensor, target: torch.Tensor, *,
                               n_ffts: tuple[int, ...] = (2048, 1024, 512, 256),
                               sr: int = SAMPLE_RATE, mel_weight: float = 1.0) -> torch.Tensor:
    """Multi-resolution STFT loss (Yamamoto et al., 2020) plus a log-mel L1.

    For each FFT size (hop a quarter of it): spectral convergence
    ``||S - S_hat||_F / ||S||_F`` (over the whole batch) plus the L1 distance of log magnitudes;
    averaged over sizes.
    The log-mel term (64 bands at ``n_fft = 1024``) weights the ear's bands evenly.

    Parameters
    ----------
    estimate, target : torch.Tensor
        Signals ``(batch, samples)``.
    n_ffts : tuple of int
        FFT sizes in samples.
    sr : int
        Sample rate in Hz (for the mel scale).
    mel_weight : float
        Weight of the log-mel L1 term.

    Taught in notebook ``02_artifactbench``.
    """
    total = estimate.new_zeros(())
    for n_fft in n_ffts:
        s_hat = spectral.magnitude(estimate, n_fft=n_fft, hop_length=n_fft // 4)
        s = spectral.magnitude(target, n_fft=n_fft, hop_length=n_fft // 4)
        # Spectral convergence over the whole batch, so a silent crop cannot blow it up.
        sc = torch.linalg.vector_norm(s - s_hat) / (torch.linalg.vector_norm(s) + 1e-5)
        total = total + sc + (torch.log(s_hat + 1e-5) - torch.log(s + 1e-5)).abs().mean()
    total = total / len(n_ffts)
    if mel_weight:
        fb = _mel_fb(sr, 1024, 64, estimate.device)
        m_hat = spectral.mel_power(spectral.magnitude(estimate, n_fft=1024, hop_length=256), fb)
        m = spectral.mel_power(spectral.magnitude(target, n_fft=1024, hop_length=256), fb)
        total = total + mel_weight * (torch.log10(m_hat + 1e-7) - torch.log10(m + 1e-7)).abs().mean()
    return total


def envelope_loss(estimate: torch.Tensor, target: torch.Tensor, *, frame: int = 1024,
                  hop: int = 256) -> torch.Tensor:
    """L1 distance of the two loudness envelopes: frame energies in log10 units (1 = 10 dB).

    The STFT losses score every bin alike; this term asks the broadband level to rise and fall
    with the input, the most basic sign that a reconstruction follows its music.

    Parameters
    ----------
    estimate, target : torch.Tensor
        Signals ``(batch, samples)``.
    frame, hop : int
        Frame length and hop in samples.

    Taught in notebook ``02_artifactbench``.
    """
    frame = min(frame, estimate.shape[-1])

    def env(x: torch.Tensor) -> torch.Tensor:
        return torch.log10(x.unfold(-1, frame, hop).square().mean(-1) + 1e-7)

    return (env(estimate) - env(target)).abs().mean()


_FB_CACHE: dict[tuple, torch.Tensor] = {}


def _mel_fb(sr: int, n_fft: int, n_mels: int, device: torch.device) -> torch.Tensor:
    key = (sr, n_fft, n_mels, str(device))
    if key not in _FB_CACHE:
        _FB_CACHE[key] = spectral.mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels, device=device)
    return _FB_CACHE[key]


# ----------------------------------------------------------------------------------------------
# Quality metrics and the floor

#: The quality floor: mean correlations over the held-out clips. Chance levels measured between
#: 300 pairs of unrelated 4 s clips (16 tracks of wesnoth, singularity and planetblupi music):
#: envelope correlation mean 0.00, sd 0.21, 99th percentile 0.50 (max 0.66); centred log-mel
#: correlation mean 0.01, sd 0.07, 99th percentile 0.26 (max 0.30). Both thresholds sit at or
#: above the 99th percentile of a *single* unrelated pair, and a mean over 8 held-out clips has a
#: chance spread about three times smaller, so a generator that ignores its input cannot pass;
#: both must hold at once. Trained zoo generators reach about 0.6-0.85 and 0.45-0.6.
FLOOR = {"envelope_corr": 0.5, "logmel_corr_centred": 0.35}
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
                             _mel_fb(sr, 2048, 128, t.device))
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

    Taught in notebook ``02_artifactbench``.
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
    """True when both correlations in ``quality`` clear :data:`FLOOR`.

    Taught in notebook ``02_artifactbench``.
    """
    return all(quality[k] >= v for k, v in FLOOR.items())


def _mean_quality(rows: list[dict]) -> dict[str, float]:
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

    Taught in notebook ``02_artifactbench``.
    """
    if len(clips) < 2:
        raise ValueError("chance_quality needs at least two clips")
    rows = [reconstruction_quality(clips[i], clips[(i + 1) % len(clips)], sr=sr)
            for i in range(len(clips))]
    mean = _mean_quality(rows)
    out = {f"chance_{k}": v for k, v in mean.items()}
    for k in FLOOR:
        out[f"chance_{k}_max"] = float(max(r[k] for r in rows))
    return out


# ----------------------------------------------------------------------------------------------
# Training


def _resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return np.asarray(x, dtype=np.float32)
    return soxr.resample(np.asarray(x, dtype=np.float32), sr_in, sr_out, quality="HQ").astype(
        np.float32)


def _device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _sample_batch(clips: list[np.ndarray], rng: np.random.Generator, batch: int,
                  length: int) -> np.ndarray:
    """Random crops at natural levels, quiet passages included (silence must stay silence)."""
    out = np.zeros((batch, length), dtype=np.float32)
    usable = [c for c in clips if len(c) >= length]
    for b in range(batch):
        clip = usable[rng.integers(len(usable))]
        start = int(rng.integers(len(clip) - length + 1))
        out[b] = clip[start:start + length]
    return out


def train_generator(spec: GeneratorSpec, train_clips: list[np.ndarray], *, steps: int,
                    seed: int, batch: int = 8, crop_s: float = 0.5, lr: float = 3e-3,
                    envelope_weight: float = 3.0, device: str | torch.device | None = "cpu",
                    progress: bool = True) -> tuple[Generator, dict]:
    """Train one generator from scratch as an autoencoder (no caching; see :func:`load_or_train`).

    Adam (betas 0.8/0.99, as HiFi-GAN) with a 5 % linear warm-up and cosine decay to 10 %,
    gradient norm clipped at 1. Loss at the generator's internal rate: multi-resolution STFT +
    log-mel, plus ``envelope_weight`` times the loudness-envelope term and the bottleneck's
    codebook/commitment loss. Crops are drawn by a NumPy generator seeded with ``seed`` and the
    weights by ``torch.manual_seed(seed)``, so the same inputs give the same weights on the same
    machine.

    Parameters
    ----------
    spec : GeneratorSpec
        What to build.
    train_clips : list of numpy.ndarray
        Real mono clips at 44.1 kHz (the generator-training partition).
    steps : int
        Optimiser steps.
    seed : int
        Seed of the weights and of the crop sampler.
    batch : int
        Crops per step.
    crop_s : float
        Crop length in seconds (rounded to whole latent frames).
    lr : float
        Peak learning rate.
    envelope_weight : float
        Weight of :func:`envelope_loss`.
    device : str or torch.device or None
        ``None`` picks CUDA when present.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    (model, log) : the trained generator in eval mode on the CPU, and ``{"steps", "train_seconds"
    (wall), "train_cpu_seconds" (process CPU time: on a shared machine, divide by the thread
    count for what an idle one would take), "threads", "steps_per_s", "final_loss",
    "loss_curve"}``.

    Taught in notebook ``02_artifactbench``.
    """
    dev = _device(device)
    sr, stride = spec.internal_sr, spec.total_stride
    # DC offsets (present in some real recordings) carry no music and dominate the loss.
    clips = [c - c.mean() for c in (_resample(c, SAMPLE_RATE, sr) for c in train_clips)]
    length = max(1, round(crop_s * sr / stride)) * stride
    if not any(len(c) >= length for c in clips):
        raise ValueError(f"{spec.name}: no training clip is {crop_s} s long")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_generator(spec).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.8, 0.99))
    warm = max(1, steps // 20)

    def lr_at(i: int) -> float:
        if i < warm:
            return lr * (i + 1) / warm
        t = (i - warm) / max(1, steps - warm)
        return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))

    curve: list[float] = []
    t0, c0 = time.perf_counter(), time.process_time()
    bar = tqdm(range(steps), desc=f"train {spec.name}", disable=not progress, leave=False)
    for i in bar:
        for group in opt.param_groups:
            group["lr"] = lr_at(i)
        x = torch.from_numpy(_sample_batch(clips, rng, batch, length)).to(dev)
        y, aux = model(x)
        loss = multi_resolution_stft_loss(y, x, sr=sr) + aux
        if envelope_weight:
            loss = loss + envelope_weight * envelope_loss(y, x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        curve.append(float(loss.detach()))
        if i % 10 == 0:
            bar.set_postfix(loss=f"{np.mean(curve[-10:]):.3f}")
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    model = model.cpu().eval()
    log = {"steps": steps, "train_seconds": round(seconds, 2),
           "train_cpu_seconds": round(cpu_seconds, 2), "threads": torch.get_num_threads(),
           "steps_per_s": round(steps / max(seconds, 1e-9), 3),
           "final_loss": float(np.mean(curve[-20:])) if curve else float("nan"),
           "loss_curve": [round(v, 4) for v in curve[:: max(1, steps // 100)]]}
    return model, log


# ----------------------------------------------------------------------------------------------
# Regeneration


@torch.no_grad()
def regenerate(model: Generator, audio: np.ndarray, *, segment_s: float = 8.0,
               context_s: float = 0.5) -> np.ndarray:
    """Pass real audio through a generator: the "AI" version of a clip.

    The input (mono, 44.1 kHz) is resampled to the generator's internal rate, padded to whole
    latent frames, processed in overlapping segments (so memory does not grow with length; the
    overlap covers the receptive field, so segment edges are inaudible), resampled back to
    44.1 kHz and trimmed to the input length.

    Parameters
    ----------
    model : Generator
        A zoo generator (it is switched to eval mode).
    audio : numpy.ndarray
        Mono float signal at 44.1 kHz, any length.
    segment_s, context_s : float
        Segment length and the context kept on each side of it, in seconds.

    Returns
    -------
    numpy.ndarray
        float32, same length as ``audio``, 44.1 kHz, clipped to [-1, 1].

    Taught in notebook ``02_artifactbench``.
    """
    model.eval()
    spec = model.spec
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"regenerate expects mono audio (1-D), got shape {audio.shape}")
    if len(audio) == 0:
        return audio.copy()
    sr, stride = spec.internal_sr, spec.total_stride
    x = _resample(audio, SAMPLE_RATE, sr)
    n = len(x)
    seg = max(1, round(segment_s * sr / stride)) * stride
    ctx = max(1, math.ceil(context_s * sr / stride)) * stride
    # Whole latent frames; segments start on the same frame grid, so the split is invisible.
    total = math.ceil(n / stride) * stride
    xp = np.pad(x, (0, total - n))
    # Context on both sides (reflection keeps the level; zeros for a signal shorter than it).
    xp = np.pad(xp, (ctx, ctx), mode="reflect" if len(xp) > ctx else "constant")
    device = next(model.parameters()).device
    out = np.zeros(total, dtype=np.float32)
    for start in range(0, total, seg):
        size = min(seg, total - start)
        chunk = torch.from_numpy(xp[start:start + size + 2 * ctx].copy()).to(device)[None]
        y, _ = model(chunk)
        out[start:start + size] = y[0, ctx:ctx + size].float().cpu().numpy()
    y = _resample(out[:n], sr, SAMPLE_RATE)
    y = np.pad(y, (0, max(0, len(audio) - len(y))))[: len(audio)]
    return np.clip(y, -1.0, 1.0).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# Cache


def _data_hash(clips: list[np.ndarray]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for c in clips:
        a = np.ascontiguousarray(c, dtype=np.float32)
        digest.update(str(a.shape).encode())
        digest.update(a.tobytes())
    return digest.hexdigest()[:16]


def save_generator(model: Generator, path: str | Path, info: dict | None = None) -> Path:
    """Write a generator's weights (safetensors) and spec + ``info`` (JSON beside it), atomically.

    Parameters
    ----------
    model : Generator
        The generator.
    path : path
        Destination ending in ``.safetensors``; the JSON goes to the same name with ``.json``.
    info : dict, optional
        Training and quality record stored with the spec.

    Taught in notebook ``02_artifactbench``.
    """
    from safetensors.torch import save

    path = Path(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"spec": model.spec.to_dict(), "info": info or {}, "zoo_version": ZOO_VERSION}
    # Weights first, JSON last: a JSON file means a complete entry.
    atomic_write_bytes(path, save(tensors))
    atomic_write_text(path.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True))
    return path


def _spec_from_dict(d: dict) -> GeneratorSpec:
    d = {k: v for k, v in d.items() if k != "total_stride"}
    d["strides"] = tuple(d["strides"])
    d["fsq_levels"] = tuple(d["fsq_levels"])
    return GeneratorSpec(**d)


def load_generator(path: str | Path) -> tuple[Generator, dict]:
    """Load a generator written by :func:`save_generator` (no pickle involved).

    Returns the model in eval mode on the CPU and its ``info`` dict.

    Taught in notebook ``02_artifactbench``.
    """
    from safetensors.torch import load_file

    path = Path(path)
    meta = json.loads(path.with_suffix(".json").read_text())
    model = build_generator(_spec_from_dict(meta["spec"]))
    model.load_state_dict(load_file(str(path)))
    return model.eval(), meta["info"]


def _heldout(train_clips: list[np.ndarray], heldout_clips: list[np.ndarray] | None
             ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    if heldout_clips is not None:
        return list(train_clips), list(heldout_clips)
    if len(train_clips) < 4:
        return list(train_clips), []
    # The last eighth (at least 2, at most 8 clips) is kept out of training to measure quality.
    k = min(8, max(2, len(train_clips) // 8))
    return list(train_clips[:-k]), list(train_clips[-k:])


def load_or_train(spec: GeneratorSpec, train_clips: list[np.ndarray], *, profile: str,
                  seed: int, cache_dir: Path, progress: bool = True,
                  heldout_clips: list[np.ndarray] | None = None,
                  device: str | torch.device | None = "cpu") -> tuple[Generator, dict]:
    """Return the trained generator for ``spec``, from the cache or by training it now.

    The cache entry ``cache_dir/zoo/<name>-<key>.safetensors`` (+ ``.json``) is keyed by the spec,
    the profile's budget, the seed, the device type, :data:`ZOO_VERSION` and a hash of the
    training clips; writes are atomic. After training, quality is measured on held-out clips
    (``heldout_clips``, or else the last eighth of ``train_clips``, which are then not trained on),
    next to the chance level between unrelated held-out clips, and checked against :data:`FLOOR`;
    a generator that misses it in the ``paper`` profile raises a warning and is marked
    ``passes_floor: False`` in ``info``.

    Parameters
    ----------
    spec : GeneratorSpec
        The generator.
    train_clips : list of numpy.ndarray
        Real mono clips at 44.1 kHz (the generator-training partition).
    profile : str
        ``"smoke"``, ``"laptop"`` or ``"paper"`` (sets steps, batch and crop length).
    seed : int
        Training seed.
    cache_dir : pathlib.Path
        Cache root (e.g. :func:`artifactnet_core.paths.cache_dir`).
    progress : bool
        Show tqdm progress.
    heldout_clips : list of numpy.ndarray, optional
        Clips to measure quality on (never trained on).
    device : str or torch.device or None
        Training device; ``None`` picks CUDA when present (weights then differ from CPU ones,
        so the device type is part of the key).

    Returns
    -------
    (model, info) : the generator (eval mode, CPU) and a dict with ``name``, ``family``,
    ``bottleneck``, ``total_stride``, ``internal_sr``, ``params``, ``steps``, ``train_seconds``,
    ``steps_per_s``, ``final_loss``, the quality metrics on held-out clips (``envelope_corr``,
    ``logmel_corr_centred``, ``logmel_distance_db``, ``si_sdr_db``), their ``chance_*`` levels,
    ``passes_floor``, ``floor``, ``n_heldout``, ``cached`` and ``path``.

    Taught in notebook ``02_artifactbench``.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {sorted(PROFILES)}")
    budget = PROFILES[profile]
    dev = _device(device)
    train, held = _heldout(train_clips, heldout_clips)
    steps = _steps(spec, profile)
    key = stable_hash(spec.to_dict(), astuple(budget), steps, seed, dev.type, ZOO_VERSION,
                      _data_hash(train), _data_hash(held))
    path = Path(cache_dir) / "zoo" / f"{spec.name}-{key}.safetensors"
    if path.exists() and path.with_suffix(".json").exists():
        model, info = load_generator(path)
        info = {**info, "cached": True, "path": str(path)}
        _warn_floor(info, profile)
        return model, info
    model, log = train_generator(spec, train, steps=steps, seed=seed, batch=budget.batch,
                                 crop_s=budget.crop_s, lr=budget.lr * spec.lr_scale,
                                 envelope_weight=budget.envelope_weight, device=dev,
                                 progress=progress)
    info = {"name": spec.name, "family": spec.family, "bottleneck": spec.bottleneck,
            "total_stride": spec.total_stride, "internal_sr": spec.internal_sr,
            "params": count_parameters(model), "profile": profile, "seed": seed,
            "device": dev.type, **log}
    info.update(_heldout_quality(model, held))
    save_generator(model, path, info)
    info = {**info, "cached": False, "path": str(path)}
    _warn_floor(info, profile)
    return model, info


def _audible(clips: list[np.ndarray]) -> list[np.ndarray]:
    # Near-silent clips say nothing about fidelity (every correlation is undefined there).
    return [c for c in clips if float(np.sqrt(np.mean(np.square(c, dtype=np.float64)))) > _SILENT]


def _heldout_quality(model: Generator, held: list[np.ndarray]) -> dict:
    audible = _audible(held)
    if not audible:
        return {"n_heldout": 0, "passes_floor": None, "floor": dict(FLOOR)}
    t0 = time.perf_counter()
    outs = [regenerate(model, c) for c in audible]
    seconds = time.perf_counter() - t0
    rows = [reconstruction_quality(c, o) for c, o in zip(audible, outs, strict=True)]
    q = _mean_quality(rows)
    q["passes_floor"] = passes_floor(q)
    q["floor"] = dict(FLOOR)
    q["n_heldout"] = len(audible)
    q["realtime_factor"] = round(sum(len(c) for c in audible) / SAMPLE_RATE
                                 / max(seconds, 1e-9), 1)
    if len(audible) >= 2:
        q.update(chance_quality(audible))
    return q


def _warn_floor(info: dict, profile: str) -> None:
    if profile != "paper":
        return
    if info.get("passes_floor") is None:
        warnings.warn(f"generator {info['name']}: no audible held-out clip, quality floor not "
                      "checked", RuntimeWarning, stacklevel=3)
    elif not info["passes_floor"]:
        warnings.warn(f"generator {info['name']} misses the quality floor {FLOOR}: "
                      f"envelope_corr={info['envelope_corr']:.2f}, "
                      f"logmel_corr_centred={info['logmel_corr_centred']:.2f}; its output may "
                      "not be recognisably the input music", RuntimeWarning, stacklevel=3)


# ----------------------------------------------------------------------------------------------
# Whole-zoo training and its table (also a command: python -m artifactnet_core.bench.zoo)

#: Columns of :func:`zoo_table`, in order.
TABLE_COLUMNS = ("name", "family", "bottleneck", "total_stride", "internal_sr", "params", "steps",
                 "train_seconds", "train_cpu_seconds", "steps_per_s", "realtime_factor", "envelope_corr",
                 "chance_envelope_corr", "logmel_corr_centred", "chance_logmel_corr_centred",
                 "logmel_distance_db", "chance_logmel_distance_db", "si_sdr_db",
                 "chance_si_sdr_db", "passes_floor")


def zoo_table(infos: list[dict]):
    """The ``info`` dicts of :func:`load_or_train` as a pandas DataFrame, one row per generator
    (the generator table of the data card and of notebook ``02_artifactbench``)."""
    import pandas as pd

    return pd.DataFrame([{k: info.get(k) for k in TABLE_COLUMNS} for info in infos],
                        columns=list(TABLE_COLUMNS))


def train_zoo(train_clips: list[np.ndarray], *, profile: str, seed: int = 0,
              cache_dir: Path | None = None, progress: bool = True,
              heldout_clips: list[np.ndarray] | None = None,
              device: str | torch.device | None = "cpu") -> tuple[dict[str, Generator], list[dict]]:
    """Train (or load) every generator of ``profile``; returns ``({name: model}, [info, ...])``.

    Parameters are those of :func:`load_or_train`; ``cache_dir`` defaults to
    :func:`artifactnet_core.paths.cache_dir`.

    Taught in notebook ``02_artifactbench``.
    """
    from artifactnet_core.paths import cache_dir as default_cache

    root = Path(cache_dir) if cache_dir is not None else default_cache()
    models, infos = {}, []
    for spec in tqdm(zoo_for_profile(profile), desc=f"zoo ({profile})", disable=not progress):
        models[spec.name], info = load_or_train(spec, train_clips, profile=profile, seed=seed,
                                                cache_dir=root, progress=progress,
                                                heldout_clips=heldout_clips, device=device)
        infos.append(info)
    return models, infos


def _clips_from_files(paths: list[Path], *, clip_s: float, per_file: int) -> list[np.ndarray]:
    from artifactnet_core.detector.audio import load_audio

    n = int(clip_s * SAMPLE_RATE)
    clips = []
    for path in paths:
        audio = load_audio(path)
        if len(audio) < n:
            continue
        # Evenly spread clips, skipping the first and last 10 % (intros, fades).
        lo, hi = int(0.1 * len(audio)), max(int(0.1 * len(audio)), int(0.9 * len(audio)) - n)
        for start in np.linspace(lo, hi, per_file).astype(int):
            clips.append(audio[start:start + n])
    return clips


def main(argv: list[str] | None = None) -> int:
    """``python -m artifactnet_core.bench.zoo --profile P --audio DIR [DIR ...]``: train the zoo of
    a profile on clips cut from the audio files in the given folders, print the generator table
    and the total wall time. Clips of the last file of each folder are held out for quality."""
    import argparse

    from artifactnet_core.detector.audio import AUDIO_EXTENSIONS

    parser = argparse.ArgumentParser(prog="python -m artifactnet_core.bench.zoo",
                                     description=main.__doc__)
    parser.add_argument("--profile", default="smoke", choices=sorted(PROFILES))
    parser.add_argument("--audio", nargs="+", required=True, type=Path)
    parser.add_argument("--files-per-dir", type=int, default=4)
    parser.add_argument("--clips-per-file", type=int, default=4)
    parser.add_argument("--clip-s", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    train, held = [], []
    for folder in args.audio:
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
        files = files[: args.files_per_dir + 1]
        train += _clips_from_files(files[:-1], clip_s=args.clip_s, per_file=args.clips_per_file)
        held += _clips_from_files(files[-1:], clip_s=args.clip_s, per_file=2)
    t0 = time.perf_counter()
    _, infos = train_zoo(train, profile=args.profile, seed=args.seed, cache_dir=args.cache,
                         heldout_clips=held)
    wall = time.perf_counter() - t0
    import pandas as pd

    with pd.option_context("display.width", 250, "display.max_columns", 30,
                           "display.precision", 3):
        print(zoo_table(infos).to_string(index=False))
    print(f"{len(train)} training clips, {len(held)} held-out clips; profile {args.profile}: "
          f"{len(infos)} generators in {wall:.0f} s wall, "
          f"{sum(i['train_seconds'] for i in infos):.0f} s of it training "
          f"({torch.get_num_threads()} threads)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
