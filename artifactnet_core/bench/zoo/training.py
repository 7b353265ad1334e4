"""Training a zoo generator: the loss and the training loop.

The recipe lives in the :class:`~artifactnet_core.bench.zoo.models.GeneratorSpec` (learning rate,
batch, crop, loss weights, steps), so training and every later use of a generator read one spec.
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
from artifactnet_core.runtime import cosine_schedule, flush_denormals, resolve_device


def multi_resolution_stft_loss(estimate: torch.Tensor, target: torch.Tensor, *,
                               n_ffts: tuple[int, ...] = (2048, 1024, 512, 256, 128)
                               ) -> torch.Tensor:
    """Multi-resolution STFT loss (Yamamoto et al., 2020).

    For each FFT size (hop a quarter of it): spectral convergence ``||S - S_hat||_F / ||S||_F``
    (over the whole batch, so a silent crop cannot blow it up) plus the L1 distance of log
    magnitudes; averaged over sizes.

    Parameters
    ----------
    estimate, target : torch.Tensor
        Signals ``(batch, samples)``.
    n_ffts : tuple of int
        FFT sizes in samples.
    """
    total = estimate.new_zeros(())
    for n_fft in n_ffts:
        s_hat = spectral.magnitude(estimate, n_fft=n_fft, hop_length=n_fft // 4)
        s = spectral.magnitude(target, n_fft=n_fft, hop_length=n_fft // 4)
        sc = torch.linalg.vector_norm(s - s_hat) / (torch.linalg.vector_norm(s) + 1e-5)
        total = total + sc + (torch.log(s_hat + 1e-5) - torch.log(s + 1e-5)).abs().mean()
    return total / len(n_ffts)


def logmel_loss(estimate: torch.Tensor, target: torch.Tensor, *, sr: int, n_fft: int = 2048,
                n_mels: int = 128) -> torch.Tensor:
    """L1 distance of log10 mel powers (bels) at the resolution the quality floor measures
    (128 bands, hop ``n_fft / 4``; power floor 1e-10, the metric's -100 dB)."""
    fb = cached_mel_filterbank(sr, n_fft, n_mels, estimate.device)
    m_hat = spectral.mel_power(spectral.magnitude(estimate, n_fft=n_fft, hop_length=n_fft // 4), fb)
    m = spectral.mel_power(spectral.magnitude(target, n_fft=n_fft, hop_length=n_fft // 4), fb)
    return (torch.log10(m_hat + 1e-10) - torch.log10(m + 1e-10)).abs().mean()


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


def generator_loss(spec: GeneratorSpec, estimate: torch.Tensor, target: torch.Tensor,
                   aux: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The training loss of ``spec`` and its parts: multi-resolution STFT, ``mel_weight`` x
    128-band log-mel L1, ``wave_weight`` x waveform L1 (divided by the batch's mean absolute
    level, so about 1 for a silent output), ``env_weight`` x loudness envelope, and the
    bottleneck's auxiliary (codebook/commitment) loss."""
    parts = {"mrstft": multi_resolution_stft_loss(estimate, target)}
    if spec.mel_weight:
        parts["mel"] = spec.mel_weight * logmel_loss(estimate, target, sr=spec.internal_sr)
    if spec.wave_weight:
        parts["wave"] = (spec.wave_weight * (estimate - target).abs().mean()
                         / (target.abs().mean() + 1e-4))
    if spec.env_weight:
        parts["env"] = spec.env_weight * envelope_loss(estimate, target)
    parts["aux"] = aux
    return sum(parts.values()), parts


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """``x`` resampled from ``sr_in`` to ``sr_out`` Hz (soxr HQ), float32."""
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


def train_generator(spec: GeneratorSpec, train_clips: list[np.ndarray], *, steps: int | None = None,
                    seed: int, device: str | torch.device | None = "cpu",
                    progress: bool = True) -> tuple[Generator, dict]:
    """Train one generator from scratch as an autoencoder with the recipe in ``spec`` (no
    caching; see :func:`artifactnet_core.bench.zoo.load_or_train`).

    Adam (betas 0.8/0.99, as HiFi-GAN) at ``spec.lr`` with a 3 % linear warm-up and cosine decay
    to 5 %, gradient norm clipped at 5, loss :func:`generator_loss` at the generator's internal
    rate on ``spec.batch`` random crops of ``spec.crop_s`` seconds. Crops are drawn by a NumPy
    generator seeded with ``seed`` and the weights by ``torch.manual_seed(seed)``, so the same
    inputs give the same weights on the same machine.

    Parameters
    ----------
    spec : GeneratorSpec
        What to build and how to train it.
    train_clips : list of numpy.ndarray
        Real mono clips at 44.1 kHz (the generator-training partition).
    steps : int, optional
        Optimiser steps (default ``spec.steps``).
    seed : int
        Seed of the weights and of the crop sampler.
    device : str or torch.device or None
        ``None`` picks CUDA when present.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    (model, log) : the trained generator in eval mode on the CPU, and ``{"steps", "train_seconds"
    (wall), "train_cpu_seconds" (process CPU time: on a shared machine, divide by the thread
    count for what an idle one would take), "threads", "steps_per_s", "final_loss",
    "final_parts", "loss_curve"}``.
    """
    steps = spec.steps if steps is None else steps
    dev = resolve_device(device)
    sr, stride = spec.internal_sr, spec.total_stride
    # DC offsets (present in some real recordings) carry no music and dominate the loss.
    clips = [c - c.mean() for c in (resample(c, SAMPLE_RATE, sr) for c in train_clips)]
    length = max(1, round(spec.crop_s * sr / stride)) * stride
    if not any(len(c) >= length for c in clips):
        raise ValueError(f"{spec.name}: no training clip is {spec.crop_s} s long")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_generator(spec).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=spec.lr, betas=(0.8, 0.99))
    warm = max(1, int(0.03 * steps))

    curve: list[float] = []
    parts_log: dict[str, list[float]] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    bar = tqdm(range(steps), desc=f"train {spec.name}", disable=not progress, leave=False,
               mininterval=5.0)
    with flush_denormals():  # subnormals slowed CPU training about 5x (runtime.flush_denormals)
        for i in bar:
            for group in opt.param_groups:
                group["lr"] = cosine_schedule(i, total=steps, warmup=warm, peak=spec.lr,
                                              floor=0.05)
            x = torch.from_numpy(_sample_batch(clips, rng, spec.batch, length)).to(dev)
            y, aux = model(x)
            loss, parts = generator_loss(spec, y, x, aux)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            curve.append(float(loss.detach()))
            for k, v in parts.items():
                parts_log.setdefault(k, []).append(float(v.detach()))
            if i % 10 == 0:
                bar.set_postfix(loss=f"{np.mean(curve[-10:]):.3f}")
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    model = model.cpu().eval()
    tail = max(1, min(50, steps // 5))
    log = {"steps": steps, "train_seconds": round(seconds, 2),
           "train_cpu_seconds": round(cpu_seconds, 2), "threads": torch.get_num_threads(),
           "steps_per_s": round(steps / max(seconds, 1e-9), 3),
           "final_loss": float(np.mean(curve[-tail:])) if curve else float("nan"),
           "final_parts": {k: round(float(np.mean(v[-tail:])), 4) for k, v in parts_log.items()},
           "loss_curve": [round(v, 4) for v in curve[:: max(1, steps // 100)]]}
    return model, log
