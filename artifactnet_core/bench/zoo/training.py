"""Training a zoo generator: losses and the training loop.
"""

from __future__ import annotations

import time

import numpy as np
import soxr
import torch
from tqdm.auto import tqdm

from artifactnet_core.bench.zoo.models import (
    Generator,
    GeneratorSpec,
    build_generator,
    cached_mel_filterbank,
)
from artifactnet_core.detector import spectral
from artifactnet_core.detector.config import SAMPLE_RATE
from artifactnet_core.runtime import cosine_schedule, resolve_device


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
        fb = cached_mel_filterbank(sr, 1024, 64, estimate.device)
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
    """
    frame = min(frame, estimate.shape[-1])

    def env(x: torch.Tensor) -> torch.Tensor:
        return torch.log10(x.unfold(-1, frame, hop).square().mean(-1) + 1e-7)

    return (env(estimate) - env(target)).abs().mean()


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return np.asarray(x, dtype=np.float32)
    return soxr.resample(np.asarray(x, dtype=np.float32), sr_in, sr_out, quality="HQ").astype(
        np.float32)


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
    """
    dev = resolve_device(device)
    sr, stride = spec.internal_sr, spec.total_stride
    # DC offsets (present in some real recordings) carry no music and dominate the loss.
    clips = [c - c.mean() for c in (resample(c, SAMPLE_RATE, sr) for c in train_clips)]
    length = max(1, round(crop_s * sr / stride)) * stride
    if not any(len(c) >= length for c in clips):
        raise ValueError(f"{spec.name}: no training clip is {crop_s} s long")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_generator(spec).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.8, 0.99))
    warm = max(1, steps // 20)

    curve: list[float] = []
    t0, c0 = time.perf_counter(), time.process_time()
    bar = tqdm(range(steps), desc=f"train {spec.name}", disable=not progress, leave=False)
    for i in bar:
        for group in opt.param_groups:
            group["lr"] = cosine_schedule(i, total=steps, warmup=warm, peak=lr, floor=0.1)
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

