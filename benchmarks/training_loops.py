"""What the training loops spend besides the network's training step, before and after the
2026-12-04 changes, on this machine: ratio first, baseline and optimised interleaved.

1. **UNet validation**: every ``val_every`` (50) steps ``train_unet`` scores its validation items
   (16 whole 4 s chunks in the laptop and paper recipes). It used to run the training forward
   (batch norm as separate passes, NCHW, bfloat16 autocast where fast); it now runs the
   detector's own inference path, :meth:`ArtifactUNet.infer` (folded, channels-last, bfloat16
   with a float32 first level where fast). Printed beside one training step, so the share of a
   UNet's training that validation was and is reads directly.
2. **Classifier crops**: ``train_classifier`` featurized a batch's base maps over all 345
   frames, then cropped 128; it now converts and featurizes only the crop and the context its
   deltas read (:meth:`ForensicFeaturizer.context`): the same channels, bit for bit (tested).
3. **UNet target**: the training target is computed on the crop instead of on the whole
   spectrogram and then cropped (elementwise, so the same values).
4. **Channels-last training** (2026-12-05): on a CPU in a single process both loops run their
   convolutions channels-last (:func:`artifactnet_core.experiments.training.use_channels_last`):
   the UNet's weights, the compact CNN's feature maps. One UNet training step, one classifier
   batch (forward, backward, AdamW step) and one classifier validation pass over
   ``--val-chunks`` whole chunks, each NCHW vs channels-last, interleaved; then the
   classifier's cost per epoch of ``--train-chunks`` training chunks with the recipe's
   validation passes (``validate_last``) against validating every epoch in NCHW. Other
   rounding, same recipe (tested); so a new run gives other (not worse) models.
5. **UNet reference on the crop** (2026-12-06): each step took the spectrograms of its input
   chunks and of their references whole, then cropped both; the input's is still whole (the
   loudness scale is the whole chunk's RMS), the reference's is now transformed from the crop's
   frames alone (``spectrogram(..., frames=)``): the same values, bit for bit (tested), so the
   same trained weights. Printed beside one channels-last training step.
6. **Classifier inference** (2026-12-06): scoring cached base maps and the classifier's
   validation run the compact CNN in eval mode without gradients; that now goes through
   :meth:`CompactCNN.infer` (batch norm folded, ReLU fused, channels-last) instead of the
   modules: logits equal to float32 rounding (tested). A batch of 16 whole chunks, as
   ``predict_maps`` on the CPU (notebook 07 rerun on the laptop run's warm cache, under
   cProfile: 639 of its 743 s in ``predict_maps``).
7. **Synthetic artifacts** (2026-12-06): the ``real_only`` objective adds one to every positive
   item of a UNet batch (four per laptop step). Its tones (up to 64 multiples of ``sr / stride``)
   were each summed over the whole 4 s chunk and its envelope was a 1024-tap ``np.convolve``;
   the tones repeat every ``stride`` samples, so one period is summed and tiled, and the
   envelope comes from a running sum (:func:`moving_rms`): the same signal to float32's last
   bit (tested). The direct formula below is the baseline.

Random weights of the laptop recipe's UNet (width 32) and classifier; timings do not depend on
the weights. The validation losses of the two paths differ by bfloat16 rounding; the trained
weights do not change (validation does not touch them or the random stream).

    python benchmarks/training_loops.py            # ~1 min on 2 idle cores
    python benchmarks/training_loops.py --threads 1   # as each notebook of make reproduce
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gpu import music, timed  # noqa: E402

from artifactnet_core.detector.classifier import CompactCNN  # noqa: E402
from artifactnet_core.detector.config import ArtifactNetConfig  # noqa: E402
from artifactnet_core.detector.features import ForensicFeaturizer  # noqa: E402
from artifactnet_core.detector.model import spectrogram  # noqa: E402
from artifactnet_core.detector.unet import ArtifactUNet  # noqa: E402
from artifactnet_core.experiments.training import (  # noqa: E402
    residual_loss,
    residual_target,
    synthetic_artifact,
)
from artifactnet_core.profiles import get_profile  # noqa: E402
from artifactnet_core.runtime import training_autocast, training_precision  # noqa: E402


def interleaved(baseline, optimised, *, repeat: int, calls: int = 3) -> tuple[float, float]:
    """Shortest time of each function over ``repeat`` interleaved rounds (so a change in the
    machine's load hits both), ``calls`` calls per round."""
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for k, fn in enumerate((baseline, optimised)):
            best[k] = min(best[k], timed(fn, torch.device("cpu"), calls))
    return best[0], best[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="laptop")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--train-chunks", type=int, default=716,
                        help="classifier training chunks per epoch (laptop: 716)")
    parser.add_argument("--val-chunks", type=int, default=346,
                        help="classifier validation chunks per pass (laptop: 346)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    prof = get_profile(args.profile)
    recipe, crecipe = prof.unet, prof.classifier
    config = ArtifactNetConfig(unet_base_width=recipe.base_width)
    dev = torch.device("cpu")
    torch.manual_seed(0)
    print(f"machine: {os.cpu_count()} cores, {torch.get_num_threads()} threads; training "
          f"precision {training_precision(dev)}; profile {prof.name}: UNet width "
          f"{recipe.base_width}, {recipe.steps} steps, {recipe.val_items} validation chunks")

    chunks = np.stack([music(config.chunk_samples / config.sample_rate, seed=s)
                       [:config.chunk_samples] for s in range(recipe.val_items)])
    m_in = spectrogram(torch.from_numpy(chunks), config)
    m_ref = 0.9 * m_in
    unet = ArtifactUNet(base_width=recipe.base_width, multipliers=config.unet_multipliers,
                        mask_bound=recipe.mask_bound)
    opt = torch.optim.AdamW(unet.parameters(), lr=recipe.lr)

    def step() -> None:  # one training step of the recipe's batch and crop
        unet.train()
        x = m_in[:recipe.batch_size, :recipe.crop_bins, :recipe.crop_frames]
        scale = ArtifactUNet.chunk_scale(m_in[:recipe.batch_size])
        with training_autocast(dev):
            residual = unet(x, scale).float()
        loss = residual_loss(residual, residual_target(x, 0.9 * x, mask_bound=recipe.mask_bound), scale)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    losses = {}

    def validate(path: str) -> None:
        unet.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(m_in), 4):
                mi, mr = m_in[i:i + 4], m_ref[i:i + 4]
                scale = ArtifactUNet.chunk_scale(mi)
                if path == "before":
                    with training_autocast(dev):
                        residual = unet(mi, scale).float()
                else:
                    residual = unet.infer(mi)
                target = residual_target(mi, mr, mask_bound=recipe.mask_bound)
                out.append(float(residual_loss(residual, target, scale)))
        losses[path] = float(np.mean(out))

    times = {k: float("inf") for k in ("step", "before", "after")}
    for _ in range(args.repeat):  # interleaved
        times["step"] = min(times["step"], timed(step, dev, 1))
        for path in ("before", "after"):
            times[path] = min(times[path], timed(lambda p=path: validate(p), dev, 1))
    per = 50
    n_val = -(-recipe.steps // per)
    train_s = recipe.steps * times["step"]
    print(f"\n1. UNet validation ({recipe.val_items} whole chunks): inference path "
          f"{times['before'] / times['after']:.2f}x faster ({times['after']:.2f} s vs "
          f"{times['before']:.2f} s); one training step {times['step']:.2f} s")
    for path in ("before", "after"):
        val_s = n_val * times[path]
        print(f"   {path:6s}: {n_val} validations = {val_s:.0f} s beside {recipe.steps} steps "
              f"= {train_s:.0f} s ({100 * val_s / (val_s + train_s):.0f} % of the UNet's "
              f"training; validation loss {losses[path]:.6f})")
    print(f"   the two validation losses differ by {abs(losses['before'] - losses['after']):.1e} "
          "(bfloat16 rounding; the weights are the same)")

    feat = ForensicFeaturizer()
    rng = np.random.default_rng(0)
    maps = (rng.standard_normal((crecipe.batch_size, 3, 128, 345)) * 20 - 40).astype(np.float16)
    frames, crop = maps.shape[-1], crecipe.crop_frames
    t0 = int(rng.integers(0, frames - crop + 1))

    def whole() -> torch.Tensor:
        return feat.channels_from_base(torch.from_numpy(maps.astype(np.float32)))[
            ..., t0:t0 + crop]

    def window() -> torch.Tensor:
        lo, hi = feat.context(t0, crop, frames)
        return feat.channels_from_base(torch.from_numpy(maps[..., lo:hi].astype(np.float32)))[
            ..., t0 - lo:t0 - lo + crop]

    same = torch.equal(whole(), window())
    t_whole, t_window = interleaved(whole, window, repeat=args.repeat)
    print(f"\n2. Classifier batch ({crecipe.batch_size} chunks, crop {crop} of {frames} frames): "
          f"window {t_whole / t_window:.2f}x faster ({1e3 * t_window:.1f} ms vs "
          f"{1e3 * t_whole:.1f} ms); identical channels: {same}")

    fs, ts = slice(300, 300 + recipe.crop_bins), slice(100, 100 + recipe.crop_frames)
    mi, mr = m_in[:recipe.batch_size], m_ref[:recipe.batch_size]

    def target_whole() -> torch.Tensor:
        return residual_target(mi, mr, mask_bound=recipe.mask_bound)[:, fs, ts]

    def target_crop() -> torch.Tensor:
        return residual_target(mi[:, fs, ts], mr[:, fs, ts], mask_bound=recipe.mask_bound)

    t_tw, t_tc = interleaved(target_whole, target_crop, repeat=args.repeat)
    print(f"\n3. UNet target (batch {recipe.batch_size}): on the crop {t_tw / t_tc:.1f}x faster "
          f"({1e3 * t_tc:.2f} ms vs {1e3 * t_tw:.2f} ms per step); identical: "
          f"{torch.equal(target_whole(), target_crop())}")

    unet_step_s = channels_last(recipe, crecipe, config, m_in, dev, args)
    reference_on_crop(recipe, config, chunks, unet_step_s, args)
    classifier_inference(config, args)
    synthetic_artifacts(config, chunks, args)


def _direct_artifact(audio: np.ndarray, rng: np.random.Generator, *, sr: int) -> np.ndarray:
    # The formula of synthetic_artifact before 2026-12-06: every tone over the whole chunk,
    # the envelope by direct convolution.
    n, t = audio.shape[0], np.arange(audio.shape[0]) / sr
    env = np.sqrt(np.convolve(audio.astype(np.float64) ** 2, np.ones(1024) / 1024, mode="same"))
    kind = rng.integers(0, 3)
    if kind == 0:
        stride = int(rng.choice([8, 16, 32, 64, 128, 256]))
        harmonics = np.arange(1, int((sr / 2) // (sr / stride)) + 1) * (sr / stride)
        harmonics = harmonics[harmonics < sr / 2 - 100][:64]
        art = np.zeros(n)
        for f, p in zip(harmonics, rng.uniform(0, 2 * np.pi, harmonics.size), strict=True):
            art += np.sin(2 * np.pi * f * t + p)
        art *= env
    elif kind == 1:
        factor = int(rng.choice([2, 3, 4]))
        up = np.zeros(audio[::factor].shape[0] * factor)
        up[::factor] = audio[::factor] * factor
        spec = np.fft.rfft(up[:n] - audio)
        spec[: int(spec.size / factor)] = 0
        art = np.fft.irfft(spec, n)
    else:
        art = rng.standard_normal(n) * env
    power = float(np.mean(audio.astype(np.float64) ** 2)) + 1e-12
    scale = math.sqrt(power / (float(np.mean(art**2)) + 1e-12) / 10 ** (rng.uniform(6, 30) / 10))
    return (art * scale).astype(np.float32)


def synthetic_artifacts(config: ArtifactNetConfig, chunks: np.ndarray,
                        args: argparse.Namespace) -> None:
    """Section 7: 48 synthetic artifacts (the same random draws), direct vs tiled."""
    audio = chunks[0].astype(np.float32)

    def run(fn) -> Callable[[], list[np.ndarray]]:
        return lambda: [fn(audio, np.random.default_rng(k), sr=config.sample_rate)
                        for k in range(48)]

    old, new = run(_direct_artifact), run(synthetic_artifact)
    worst = max(float(np.abs(a - b).max() / np.abs(a).max()) for a, b in zip(old(), new(),
                                                                            strict=True))
    before, after = interleaved(old, new, repeat=args.repeat, calls=1)
    print(f"\n7. Synthetic artifacts (48 draws, one chunk): tiled {before / after:.2f}x faster "
          f"({1e3 * after / 48:.1f} ms vs {1e3 * before / 48:.1f} ms each, "
          f"{4e3 * (before - after) / 48:.0f} ms less per real_only step of 4 positives); "
          f"largest difference {worst:.1e} of the peak")


def classifier_inference(config: ArtifactNetConfig, args: argparse.Namespace) -> None:
    """Section 6: the compact CNN's modules vs its inference path on 16 whole chunks."""
    torch.manual_seed(0)
    feat = ForensicFeaturizer()
    net = CompactCNN(in_channels=feat.n_channels, widths=config.cnn_widths,
                     hidden=config.cnn_hidden).eval()
    for module in net.modules():  # trained-like batch norms, so folding has work to do
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_var.uniform_(0.5, 2.0)
            module.running_mean.normal_()
    whole = torch.randn(16, feat.n_channels, config.n_mels, 345)

    def modules() -> torch.Tensor:
        with torch.no_grad():
            return net._pool_and_head(net.body(whole))

    def infer() -> torch.Tensor:
        return net.infer(whole)

    diff = float((modules() - infer()).abs().max())
    before, after = interleaved(modules, infer, repeat=args.repeat)
    print(f"\n6. Classifier inference (16 whole chunks, eval mode): {before / after:.2f}x faster "
          f"({1e3 * after:.0f} ms vs {1e3 * before:.0f} ms); largest logit difference "
          f"{diff:.1e}")


def reference_on_crop(recipe, config: ArtifactNetConfig, chunks: np.ndarray, step_s: float,
                      args: argparse.Namespace) -> None:
    """Section 5: a step's two whole spectrograms vs one whole and one on the crop's frames."""
    audio = torch.from_numpy(np.resize(chunks, (recipe.batch_size, chunks.shape[-1])))
    frames = slice(100, 100 + recipe.crop_frames)

    def both_whole() -> torch.Tensor:
        return spectrogram(audio, config), spectrogram(audio, config)[..., frames]

    def reference_cropped() -> torch.Tensor:
        return spectrogram(audio, config), spectrogram(audio, config, frames=frames)

    same = torch.equal(both_whole()[1], reference_cropped()[1])
    before, after = interleaved(both_whole, reference_cropped, repeat=args.repeat)
    print(f"\n5. UNet spectrograms per step (batch {recipe.batch_size}): reference on the crop's "
          f"{recipe.crop_frames} frames {before / after:.2f}x faster ({1e3 * after:.0f} ms vs "
          f"{1e3 * before:.0f} ms); identical: {same}; with one channels-last training step "
          f"({1e3 * step_s:.0f} ms) a step is {(before + step_s) / (after + step_s):.2f}x faster "
          f"({1e3 * (after + step_s):.0f} ms vs {1e3 * (before + step_s):.0f} ms, without "
          "drawing the batch)")


def channels_last(recipe, crecipe, config: ArtifactNetConfig, m_in: torch.Tensor,
                  dev: torch.device, args: argparse.Namespace) -> float:
    """Section 4: NCHW vs channels-last training of both nets, interleaved; returns the
    channels-last UNet step's seconds."""
    import torch.nn.functional as F

    layouts = (torch.contiguous_format, torch.channels_last)

    def unet_step(layout: torch.memory_format):
        torch.manual_seed(0)
        unet = ArtifactUNet(base_width=recipe.base_width, multipliers=config.unet_multipliers,
                            mask_bound=recipe.mask_bound).to(memory_format=layout).train()
        opt = torch.optim.AdamW(unet.parameters(), lr=recipe.lr)
        x = m_in[:recipe.batch_size, :recipe.crop_bins, :recipe.crop_frames].contiguous()
        scale = ArtifactUNet.chunk_scale(m_in[:recipe.batch_size])
        target = residual_target(x, 0.9 * x, mask_bound=recipe.mask_bound)

        def run() -> None:
            with training_autocast(dev):
                residual = unet(x, scale).float()
            loss = residual_loss(residual, target, scale)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return run

    feat = ForensicFeaturizer()
    rng = np.random.default_rng(1)
    crop = torch.from_numpy(rng.standard_normal((crecipe.batch_size, feat.n_channels, 128,
                                                 crecipe.crop_frames)).astype(np.float32))
    labels = torch.from_numpy((np.arange(crecipe.batch_size) % 2).astype(np.float32))
    whole = torch.from_numpy(rng.standard_normal((16, feat.n_channels, 128, 345)
                                                 ).astype(np.float32))

    def cnn(layout: torch.memory_format):
        torch.manual_seed(0)
        net = CompactCNN(in_channels=feat.n_channels)
        opt = torch.optim.AdamW(net.parameters(), lr=crecipe.lr)

        def batch() -> None:
            net.train()
            with training_autocast(dev):
                logits = net(crop.contiguous(memory_format=layout)).float()
            loss = F.binary_cross_entropy_with_logits(logits, labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        def validate() -> None:  # predict_maps' batch of 16 whole chunks, float32
            net.eval()
            with torch.no_grad():  # the modules (eval mode alone would take net.infer)
                net._pool_and_head(net.body(whole.contiguous(memory_format=layout)))
        return batch, validate

    unet_times = interleaved(*(unet_step(lay) for lay in layouts), repeat=args.repeat)
    (b0, v0), (b1, v1) = cnn(layouts[0]), cnn(layouts[1])
    batch_times = interleaved(b0, b1, repeat=args.repeat)
    val_times = interleaved(v0, v1, repeat=args.repeat)
    print("\n4. Channels-last training (NCHW vs channels-last, interleaved):")
    for name, (nchw, last) in (("UNet training step", unet_times),
                               (f"classifier batch ({crecipe.batch_size} crops)", batch_times),
                               ("classifier validation, 16 whole chunks", val_times)):
        print(f"   {name}: {nchw / last:.2f}x faster ({1e3 * last:.0f} ms vs {1e3 * nchw:.0f} ms)")
    n_batches = -(-args.train_chunks // crecipe.batch_size)
    passes = sum(crecipe.validates(epoch) for epoch in range(crecipe.epochs))
    per_pass = args.val_chunks / 16

    def classifier_s(k: int, validations: int) -> float:
        return crecipe.epochs * n_batches * batch_times[k] + validations * per_pass * val_times[k]

    before, after = classifier_s(0, crecipe.epochs), classifier_s(1, passes)
    print(f"   a classifier of the recipe ({crecipe.epochs} epochs of {n_batches} batches, "
          f"{args.val_chunks} validation chunks): {before / after:.2f}x faster, {after:.0f} s "
          f"({passes} validations, channels-last) vs {before:.0f} s ({crecipe.epochs}, NCHW); "
          "the network alone, without data loading and featurizing")
    return unet_times[1]


if __name__ == "__main__":
    main()
