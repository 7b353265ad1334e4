"""GPU benchmark of the ArtifactNet pipeline: batched inference paths and files -> P(AI) end to end.

Runs in under 5 minutes on one offline CUDA machine from a small checkout of this repository
with nothing installed but torch and numpy, plus soundfile (and soxr) brought as wheels: it
imports only the detector's model code and makes its own audio. Prints numbers; asserts nothing.

1. **Batched paths** on chunks already in GPU memory, at the batch the memory-budget chooser
   picks (:func:`artifactnet_core.detector.model.inference_batch_size`, 16 GiB by default):
   float32 eager (batch norm as layers, medians by sorting), ``predict_proba`` in float32 and
   in bfloat16 (folded, channels-last, selection-network medians) and, unless ``--no-compile``,
   the bfloat16 UNet and HPSS under ``torch.compile`` (``ArtifactNet.compile_inference``; its
   one-off warm-up printed); the default path once more with cuDNN's kernel search on
   (``cudnn.benchmark``, which the package does not set: every other row, and parts 2 and 3,
   run cuDNN's default choice as ``artifactnet detect`` does). Each: real-time
   factor, gain over eager (first), peak GPU memory against the chooser's estimate, and the
   largest P(AI) difference from float32 eager. Then the stages of the default and the
   compiled path and HPSS's share of each.
2. **End to end**: a folder of MP3 files made on the spot (music-like test signals), decoded by a
   pool of CPU worker processes while the GPU scores the chunks already decoded; files/s and
   audio-hours scored per hour.
3. **UNet training step** at the paper profile's batch and crop: float32 against the bfloat16
   autocast that training uses (:func:`artifactnet_core.runtime.training_autocast`),
   forward, backward and AdamW step; ratio first.

    python benchmarks/gpu.py                 # on a CUDA machine (about 3-4 minutes)
    python benchmarks/gpu.py --quick         # a small run (also on a CPU: checks the script)
    PYTHONPATH=. python benchmarks/gpu.py    # from a checkout that is not pip-installed
"""

from __future__ import annotations

import argparse
import copy
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import nullcontext
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a checkout without pip install

import numpy as np  # noqa: E402
import torch  # noqa: E402

from artifactnet_core.detector.model import (  # noqa: E402
    ArtifactNet,
    ArtifactNetConfig,
    aggregate_chunks,
    chunk_inference_bytes,
    inference_batch_size,
)
from artifactnet_core.detector.spectral import hpss, median_filter, softmask  # noqa: E402
from artifactnet_core.detector.unet import ArtifactUNet, inference_dtype  # noqa: E402
from artifactnet_core.profiles import get_profile  # noqa: E402
from artifactnet_core.runtime import training_autocast  # noqa: E402

SR = 44_100


def music(seconds: float, *, seed: int) -> np.ndarray:
    """Music-like test signal: decaying harmonic notes (random pitches) over gated noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    out = 0.05 * rng.standard_normal(t.size) * np.exp(-((t * 2) % 1.0) * 20)
    ring = int(2.0 * SR)  # each note is computed over its first 2 s only (exp(-8) after that)
    for start in np.arange(0, seconds, 0.5):
        f0 = 110 * 2 ** (rng.integers(0, 24) / 12)
        i0 = int(start * SR)
        tn = t[i0:i0 + ring] - start
        out[i0:i0 + ring] += sum(0.1 / h * np.sin(2 * np.pi * f0 * h * tn)
                                 for h in range(1, 6)) * np.exp(-tn * 4)
    return (0.7 * out / np.abs(out).max()).astype(np.float32)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, repeat: int) -> float:
    """Shortest wall time of ``repeat`` calls after one warm-up call, in seconds."""
    fn()
    sync(device)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def peak_bytes(fn, device: torch.device) -> int | None:
    """Peak GPU memory allocated during one call (None on a CPU)."""
    if device.type != "cuda":
        fn()
        return None
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    fn()
    sync(device)
    return torch.cuda.max_memory_allocated(device) - base


def with_cudnn_benchmark(fn):
    """``fn`` called with cuDNN's kernel search on (``torch.backends.cudnn.benchmark``),
    restored after. The package never sets it (a search per input shape, whose pick can change
    the last bits from one process to the next), so every other row measures cuDNN's default
    choice."""
    def run(x: torch.Tensor) -> torch.Tensor:
        before = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = True
        try:
            return fn(x)
        finally:
            torch.backends.cudnn.benchmark = before
    return run


def eager_fp32(model: ArtifactNet, audio: torch.Tensor) -> torch.Tensor:
    """Reference: float32 modules in turn (batch norm as layers), medians by sorting."""
    with torch.no_grad():
        mag = model.spectrogram(audio)
        residual = model.unet(mag)
        k = model.featurizer.hpss_kernel
        h = median_filter(residual, kernel_size=k, dim=-1, method="sort")
        p = median_filter(residual, kernel_size=k, dim=-2, method="sort")
        base = model.featurizer.maps_from_parts(mag, residual, residual * softmask(h, p),
                                                residual * softmask(p, h))
        return torch.sigmoid(model.classify_base(base))


def batched_paths(model: ArtifactNet, device: torch.device, args: argparse.Namespace) -> None:
    cfg = model.config
    batch = args.batch or inference_batch_size(cfg, device)
    batch_fp32 = args.batch or inference_batch_size(cfg, device, precision="fp32")
    n = max(batch, batch_fp32)
    audio = torch.from_numpy(np.stack([music(cfg.chunk_seconds, seed=i) for i in range(n)]))
    audio = audio.to(device)
    dtype = inference_dtype(device)
    print(f"\n1. batched paths, chunks in {device.type} memory; batch by memory budget: "
          f"{batch} ({str(dtype)[6:]}) / {batch_fp32} (float32); estimate per chunk "
          f"{chunk_inference_bytes(cfg, dtype=dtype) / 2**20:.0f} MiB")
    with torch.no_grad():
        reference = eager_fp32(model, audio[:batch_fp32])
    paths = [
        ("eager fp32", batch_fp32, lambda x: eager_fp32(model, x), torch.float32),
        ("predict fp32", batch_fp32, lambda x: model.predict_proba(x, precision="fp32"),
         torch.float32),
        ("predict auto", batch, lambda x: model.predict_proba(x), dtype),
        ("auto + cudnn.benchmark", batch, with_cudnn_benchmark(model.predict_proba), dtype),
    ]
    if args.compile:
        compiled = copy.deepcopy(model)
        compiled.compile_inference()  # the UNet and HPSS
        t0 = time.perf_counter()
        compiled.predict_proba(audio[:batch])
        sync(device)
        paths.append((f"compiled ({time.perf_counter() - t0:.0f} s warm-up)", batch,
                      compiled.predict_proba, dtype))
    print(f"{'path':<26} {'gain':>6} {'batch':>5} {'ms/batch':>9} {'RTF':>8} {'peak GiB':>9} "
          f"{'est GiB':>8} {'max |dP|':>9}")
    t_eager = None
    for name, b, fn, path_dtype in paths:
        x = audio[:b]
        t = timed(lambda: fn(x), device, args.repeat)  # noqa: B023
        peak = peak_bytes(lambda: fn(x), device)  # noqa: B023
        per_chunk_s = t / b
        t_eager = t_eager or per_chunk_s
        common = min(b, batch_fp32)
        diff = float((fn(audio[:common]).float() - reference[:common]).abs().max())
        est = (2**30 + b * chunk_inference_bytes(cfg, dtype=path_dtype)) / 2**30
        peak_s = f"{peak / 2**30:9.2f}" if peak is not None else f"{'-':>9}"
        print(f"{name:<26} {t_eager / per_chunk_s:>5.2f}x {b:>5} {1e3 * t:>9.1f} "
              f"{cfg.chunk_seconds / per_chunk_s:>7.0f}x {peak_s} {est:>8.2f} {diff:>9.1e}")
    stages(model, audio[:batch], device, args.repeat, "predict auto")
    if args.compile:
        stages(compiled, audio[:batch], device, args.repeat, "compiled")


def stages(model: ArtifactNet, audio: torch.Tensor, device: torch.device, repeat: int,
           label: str) -> None:
    """Time of each stage of a path for one batch, and HPSS's share."""
    k = model.config.hpss_kernel
    with torch.inference_mode():
        mag = model.spectrogram(audio)
        residual = model.residual(mag)
        harm, perc = model.featurizer.split(residual)
        rows = {
            "STFT": lambda: model.spectrogram(audio),
            "UNet": lambda: model.residual(mag),
            "HPSS": lambda: model.featurizer.split(residual),
            "mel maps + CNN": lambda: model.classify_base(
                model.featurizer.maps_from_parts(mag, residual, harm, perc)),
        }
        times = {name: timed(fn, device, repeat) for name, fn in rows.items()}
        t_sort = timed(lambda: (median_filter(residual, kernel_size=k, dim=-1, method="sort"),
                                median_filter(residual, kernel_size=k, dim=-2, method="sort")),
                       device, repeat)
        h_eager, p_eager = hpss(residual, kernel_size=k)
        scale = float(residual.abs().max())
        hpss_diff = max(float((harm - h_eager).abs().max()),
                        float((perc - p_eager).abs().max())) / scale
    total = sum(times.values())
    print(f"stages of {label}, batch {len(audio)}: " + ", ".join(
        f"{name} {1e3 * t:.1f} ms ({100 * t / total:.0f} %)" for name, t in times.items()))
    print(f"HPSS medians by sorting instead: {1e3 * t_sort:.1f} ms ({label} HPSS "
          f"{t_sort / times['HPSS']:.1f}x faster, softmasks included); max |HPSS - eager "
          f"network| / max |R| = {hpss_diff:.1e}")


def decode_chunks(path: str, chunk_samples: int) -> tuple[str, np.ndarray, float]:
    """Worker: decode one file to mono float32 at 44.1 kHz and tile it into chunks."""
    import soundfile as sf

    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if rate != SR:
        import soxr

        audio = soxr.resample(audio, rate, SR).astype(np.float32)
    from artifactnet_core.detector.chunking import split_chunks

    return path, split_chunks(audio, chunk_samples), audio.size / SR


def write_file(path: str, seconds: float, seed: int, fmt: str) -> str:
    """Worker: one music-like file."""
    import soundfile as sf

    sf.write(path, music(seconds, seed=seed), SR, format=fmt)
    return path


def make_files(folder: Path, n_files: int, seconds: float, pool: ProcessPoolExecutor
               ) -> tuple[list[Path], str]:
    """``n_files`` music-like files of ``seconds`` each, MP3 where libsndfile can write it,
    written by ``pool``'s workers."""
    import soundfile as sf

    fmt = "MP3" if "MP3" in sf.available_formats() else "FLAC"
    files = [folder / f"track{i:03d}.{fmt.lower()}" for i in range(n_files)]
    list(pool.map(write_file, [str(f) for f in files], [seconds] * n_files,
                  range(1000, 1000 + n_files), [fmt] * n_files))
    return files, fmt


def end_to_end(model: ArtifactNet, device: torch.device, args: argparse.Namespace) -> None:
    cfg = model.config
    batch = args.batch or inference_batch_size(cfg, device)
    # Spawned workers: forking a process that holds a CUDA context (and torch's threads) can
    # hang the children.
    pool = ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn"))
    with tempfile.TemporaryDirectory() as tmp, pool:
        t0 = time.perf_counter()
        files, fmt = make_files(Path(tmp), args.files, args.seconds, pool)
        print(f"\n2. end to end: {len(files)} {fmt} files of {args.seconds:.0f} s made in "
              f"{time.perf_counter() - t0:.0f} s; {args.workers} decoding processes, GPU batch "
              f"{batch}")
        # Warm-up at the full batch (cuDNN picks its kernels per shape), so that the timing
        # below is the steady state; the last, partial batch is padded to the same shape.
        _, warm, _ = decode_chunks(str(files[0]), cfg.chunk_samples)
        model.predict_proba(torch.from_numpy(np.resize(warm, (batch, *warm.shape[1:])))
                            .to(device))
        sync(device)
        scores: dict[str, list[float]] = {}
        audio_s = 0.0
        pending: list[tuple[str, np.ndarray]] = []
        t_gpu = 0.0

        def flush(items: list[tuple[str, np.ndarray]]) -> None:
            nonlocal t_gpu
            t1 = time.perf_counter()
            chunks = np.stack([c for _, c in items])
            if len(items) < batch:
                chunks = np.concatenate([chunks, np.zeros((batch - len(items),
                                                           *chunks.shape[1:]), chunks.dtype)])
            x = torch.from_numpy(chunks)
            x = x.pin_memory() if device.type == "cuda" else x
            p = model.predict_proba(x.to(device, non_blocking=True)).float().cpu().numpy()
            p = p[:len(items)]
            t_gpu += time.perf_counter() - t1
            for (name, _), prob in zip(items, p, strict=True):
                scores.setdefault(name, []).append(float(prob))

        t0 = time.perf_counter()
        futures = [pool.submit(decode_chunks, str(f), cfg.chunk_samples) for f in files]
        for future in as_completed(futures):
            name, chunks, seconds = future.result()
            audio_s += seconds
            pending.extend((name, c) for c in chunks)
            while len(pending) >= batch:
                flush(pending[:batch])
                pending = pending[batch:]
        if pending:
            flush(pending)
        wall = time.perf_counter() - t0
    track = {name: aggregate_chunks(np.array(p)) for name, p in scores.items()}
    print(f"{len(track)} files scored in {wall:.1f} s: {len(track) / wall:.1f} files/s, "
          f"{audio_s / wall:.0f}x real time = {audio_s / wall:.0f} audio-hours per hour; "
          f"scoring (batching, copy, GPU) took {100 * t_gpu / wall:.0f} % of the wall time (the "
          "rest waits on decoding)")


def training_step(config: ArtifactNetConfig, device: torch.device, args: argparse.Namespace, *,
                  profile: str = "paper", autocast=training_autocast,
                  label: str = "3.") -> float:
    """Time one UNet training step (forward, L1 of log-compressed residuals as in training,
    backward, AdamW) at ``profile``'s batch and crop, in float32 and under ``autocast(device)``
    (default :func:`training_autocast`, what training uses), print both and return the second
    (seconds per step). ``benchmarks/speed.py`` runs it on the CPU with the laptop recipe."""
    recipe = get_profile(profile).unet
    batch, bins, frames = recipe.batch_size, recipe.crop_bins, recipe.crop_frames
    if args.quick:
        batch, bins, frames = 2, 128, 32
    torch.manual_seed(0)
    unet = ArtifactUNet(base_width=config.unet_base_width, multipliers=config.unet_multipliers,
                        mask_bound=recipe.mask_bound).to(device).train()
    opt = torch.optim.AdamW(unet.parameters(), lr=recipe.lr)
    mag = torch.rand(batch, bins, frames, device=device)
    target = 0.25 * torch.rand(batch, bins, frames, device=device) * mag
    scale = ArtifactUNet.chunk_scale(mag)

    def step(context) -> None:
        with context:
            residual = unet(mag, scale).float()
        loss = torch.nn.functional.l1_loss(torch.log1p(residual / (scale + 1e-8)),
                                           torch.log1p(target / (scale + 1e-8)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    with autocast(device):
        enabled = torch.is_autocast_enabled(device.type)
    t_fp32 = t_auto = float("inf")
    for _ in range(max(args.repeat, 3)):  # interleaved, so drift in the machine hits both
        t_fp32 = min(t_fp32, timed(lambda: step(nullcontext()), device, 1))
        t_auto = min(t_auto, timed(lambda: step(autocast(device)), device, 1))
    print(f"\n{label} UNet training step ({profile} recipe), batch {batch}, crop {bins} bins x "
          f"{frames} frames: bf16 autocast {t_fp32 / t_auto:.2f}x faster than float32 "
          f"({1e3 * t_auto:.0f} ms vs {1e3 * t_fp32:.0f} ms per step"
          + ("" if enabled else "; autocast is off here: both float32") + ")")
    return t_auto


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small model and sizes (checks the script, also on a CPU)")
    parser.add_argument("--batch", type=int, default=None,
                        help="chunks per batch (default: chosen by free memory, 16 GiB budget)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--files", type=int, default=64, help="files for the end-to-end run")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each file")
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1),
                        help="decoding processes")
    parser.add_argument("--no-compile", dest="compile", action="store_false",
                        help="skip the torch.compile path")
    parser.add_argument("--parts", default="123",
                        help="which parts to run (digits of 1 batched paths, 2 end to end, "
                             "3 training step)")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if args.quick:
        config = ArtifactNetConfig(unet_base_width=4)
        args.batch = args.batch or 2
        args.files, args.seconds, args.repeat = min(args.files, 4), min(args.seconds, 8.0), 1
        args.workers = min(args.workers, 2)
        args.compile = False
    else:
        config = ArtifactNetConfig()
    torch.manual_seed(0)
    model = ArtifactNet(config).to(device).eval()
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        where = (f"{torch.cuda.get_device_name(device)}, {free / 2**30:.0f} of "
                 f"{total / 2**30:.0f} GiB free")
    else:
        where = f"CPU ({os.cpu_count()} cores; no CUDA device: a check of the script only)"
    counts = model.parameter_counts()
    print(f"device: {where}; torch {torch.__version__}; load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"model: UNet base width {config.unet_base_width} ({counts['unet']:,} parameters) + "
          f"CNN {counts['classifier']:,}, random weights (speed does not depend on them)")
    t0 = time.perf_counter()
    for part, fn in (("1", batched_paths), ("2", end_to_end)):
        if part in args.parts:
            fn(model, device, args)
    if "3" in args.parts:
        training_step(config, device, args)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
