"""Speed of the ArtifactNet pipeline: real-time factor on CPU, torch HPSS vs librosa HPSS.

Prints numbers; asserts nothing (speed targets are read, not tested). Measures, on the same
audio and the paper's architecture (UNet base width 32, 3.6M parameters):

* **plain eager**: float32, ``torch.no_grad``, the modules called one after the other;
* **optimised**: what ``artifactnet detect`` runs, ``ArtifactNet.predict_proba`` (inference
  mode, bfloat16 UNet where the CPU/GPU has fast bfloat16 convolutions);

each with 1 thread and with all threads, as a real-time factor (seconds of audio scored per
second of compute), plus the largest difference in P(AI) between the two paths. HPSS is timed
alone on one 4 s chunk (1025 x 345 magnitude) against ``librosa.decompose.hpss`` with the same
kernel and mask power, on one thread. With a CUDA GPU it also times the batched GPU path and
HPSS's share of it.

    python benchmarks/speed.py                     # paper-size model, 32 s of audio
    python benchmarks/speed.py --weights shipped   # the model `artifactnet detect` uses
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from artifactnet_core.detector.chunking import split_chunks  # noqa: E402
from artifactnet_core.detector.model import (  # noqa: E402
    ArtifactNet,
    ArtifactNetConfig,
    default_weights,
    load_model,
    predict_chunks,
)
from artifactnet_core.detector.spectral import hpss  # noqa: E402
from artifactnet_core.detector.unet import bf16_inference_available  # noqa: E402

SR = 44_100


def music(seconds: float, *, seed: int = 0) -> np.ndarray:
    """Decaying harmonic notes over gated noise: enough structure for HPSS to do real work."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    out = 0.05 * rng.standard_normal(t.size) * np.exp(-((t * 2) % 1.0) * 20)
    for start in np.arange(0, seconds, 0.5):
        f0 = 110 * 2 ** (rng.integers(0, 24) / 12)
        env = np.where(t >= start, np.exp(-np.clip(t - start, 0, None) * 4), 0)
        out += sum(0.1 / h * np.sin(2 * np.pi * f0 * h * t) for h in range(1, 6)) * env
    return (0.7 * out / np.abs(out).max()).astype(np.float32)


def best_of(fn, repeat: int) -> float:
    """Shortest wall time of ``repeat`` calls (after one warm-up call), in seconds."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return min(times)


def eager_proba(model: ArtifactNet, chunks: torch.Tensor, batch: int) -> torch.Tensor:
    """The plain path: float32 modules called in turn, no inference mode, no bfloat16."""
    out = []
    with torch.no_grad():
        for i in range(0, len(chunks), batch):
            mag = model.spectrogram(chunks[i:i + batch])
            residual = model.unet(mag) if model.unet is not None else mag
            out.append(torch.sigmoid(model.classifier(model.featurizer(mag, residual))))
    return torch.cat(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=32.0, help="audio length")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--batch", type=int, default=4, help="chunks per forward pass")
    parser.add_argument("--weights", default=None,
                        help="a checkpoint, or 'shipped' for the package's weights; default: the "
                             "paper-size architecture with random weights")
    args = parser.parse_args()

    weights = default_weights() if args.weights == "shipped" else args.weights
    if args.weights == "shipped" and weights is None:
        parser.error("no weights are shipped in this installation")
    model = load_model(weights) if weights else ArtifactNet(ArtifactNetConfig())
    model.eval()
    counts = model.parameter_counts()
    chunks = torch.from_numpy(split_chunks(music(args.seconds), model.config.chunk_samples))
    audio_s = len(chunks) * model.config.chunk_samples / SR
    print(f"model: {weights or 'random weights (speed does not depend on them)'}")
    print(f"UNet base width {model.config.unet_base_width}: {counts['unet']:,} + CNN "
          f"{counts['classifier']:,} parameters; {len(chunks)} chunks = {audio_s:.0f} s of audio")
    print(f"torch {torch.__version__}, {os.cpu_count()} CPU threads, fast bfloat16 on CPU: "
          f"{bf16_inference_available('cpu')}")

    all_threads = torch.get_num_threads()
    rows = []
    for threads in sorted({1, all_threads}):
        torch.set_num_threads(threads)
        t_eager = best_of(lambda: eager_proba(model, chunks, args.batch), args.repeat)
        t_opt = best_of(lambda: predict_chunks(model, chunks, batch=args.batch), args.repeat)
        rows.append((threads, t_eager, t_opt))
    torch.set_num_threads(all_threads)
    diff = float(np.abs(eager_proba(model, chunks, args.batch).numpy()
                        - predict_chunks(model, chunks, batch=args.batch)).max())

    print("\nfull pipeline on CPU (audio -> P(AI) per chunk), real-time factor = audio s / compute s")
    print(f"{'threads':>8} {'eager s':>9} {'eager RTF':>10} {'optimised s':>12} {'optimised RTF':>14}"
          f" {'gain':>6}")
    for threads, t_eager, t_opt in rows:
        print(f"{threads:>8} {t_eager:>9.2f} {audio_s / t_eager:>9.1f}x {t_opt:>12.2f}"
              f" {audio_s / t_opt:>13.1f}x {t_eager / t_opt:>5.2f}x")
    print(f"largest |P(AI) optimised - P(AI) eager| over the chunks: {diff:.2e}")

    torch.set_num_threads(1)
    mag = model.spectrogram(chunks[:1])
    t_torch = best_of(lambda: hpss(mag, kernel_size=31, power=2.0), args.repeat + 1)
    try:
        import librosa

        mag_np = mag[0].numpy()
        t_librosa = best_of(lambda: librosa.decompose.hpss(mag_np, kernel_size=31, power=2.0),
                            args.repeat + 1)
        ratio = f"{t_librosa / t_torch:.2f}x (librosa {t_librosa:.3f} s)"
    except ImportError:
        ratio = "librosa not installed"
    torch.set_num_threads(all_threads)
    print(f"\nHPSS of one chunk {tuple(mag.shape[1:])}, 1 thread: torch {t_torch:.3f} s; "
          f"speed-up over librosa: {ratio}")

    if torch.cuda.is_available():
        gpu = model.to("cuda")
        batch = chunks.to("cuda")
        t_gpu = best_of(lambda: predict_chunks(gpu, batch, batch=len(batch)), args.repeat)
        mags = gpu.spectrogram(batch)
        t_hpss = best_of(lambda: hpss(mags, kernel_size=31, power=2.0), args.repeat)
        print(f"\nGPU {torch.cuda.get_device_name(0)}: {audio_s / t_gpu:.0f}x real time "
              f"({len(batch)} chunks in one batch); batched HPSS {t_hpss * 1e3:.1f} ms = "
              f"{100 * t_hpss / t_gpu:.0f} % of the pipeline")


if __name__ == "__main__":
    main()
