"""Speed of the ArtifactNet pipeline on this machine's CPU: every inference path side by side.

Prints numbers; asserts nothing (speed targets are read, not tested). One run measures, on the
same audio and the paper's architecture (UNet base width 32, 3.68M parameters, CNN 0.42M):

* the machine: load average and the CPU share other processes take while it runs (absolute
  numbers on a shared machine are pessimistic: compare the paths within one run), and its own
  matrix-multiply peak in float32, bfloat16 and int8 on the threads the pipeline uses;
* each path, audio -> P(AI) per 4 s chunk (the paths take turns for ``--rounds`` rounds, each
  keeping its fastest): real-time factor, ratio to plain float32 eager
  (first column), the work done per second as a fraction of the matching peak, and the largest
  difference in P(AI) from float32 eager (issue 15's target is < 1e-3; bfloat16 misses it
  for the shipped model, see ``tests/test_fast_paths.py``):
    - ``eager fp32``: the modules called in turn, float32, batch norm as layers, medians by
      sorting (the reference);
    - ``predict fp32``: ``predict_proba(precision="fp32")``: batch norm folded into the
      convolutions, channels-last, medians by the selection network;
    - ``predict auto (...)``: what ``artifactnet detect`` runs (``unet.resolve_precision``):
      the same in bfloat16 where the CPU has fast bfloat16 (x86 with AMX:
      ``runtime.fast_bf16``), else int8 where the CPU has VNNI (``int8.fast_int8``), else
      float32;
    - ``predict bf16 (not auto)``: only where oneDNN has bfloat16 kernels that are not the
      default (AVX-512 BF16 without AMX), to show why they are not;
    - ``predict int8``: ``predict_proba(precision="int8")``, the UNet's convolutions in int8
      with scales measured on each chunk (``artifactnet_core.detector.int8``; lossy: its peak
      % is of the int8 matmul peak, its zero-shot AUC is checked by
      ``benchmarks/precision_auc.py --precision int8``); a row of its own where it is not
      ``auto``;
    - ``auto, unfused ReLU`` (``fp32, ...`` where ``auto`` is int8): the float path with each
      convolution and its ReLU as two passes (the path before ``unet.conv2d_relu`` fused them
      inside oneDNN; bit for bit the same P(AI));
    - ``onnxruntime``: the exported graph (``artifactnet export --onnx``) in ONNX Runtime,
      float32 (exported once, cached in the temp folder);
    - ``compiled`` (``--compile``): the default float path with ``ArtifactUNet.compile_inference``
      (``torch.compile``, weights frozen), compile time printed;
* where the time goes: STFT, UNet, the two HPSS medians (sorting vs selection network vs
  librosa/scipy), HPSS on torch's intra-op threads vs the batch shared out among single-threaded
  workers (the default, ``runtime.map_batch_single_threaded``), mel maps + CNN, the CNN's first
  2x2 max-pool (``max_pool2d`` vs the elementwise maxima of ``layers.max_pool_2x2``); thread count;
  and decoding a real file, alone and overlapped with inference;
* training: one UNet step at the laptop recipe's batch and crop, float32 vs the bfloat16
  autocast training uses where the CPU has fast bfloat16 (``runtime.training_autocast``);
* the memory allocator: ``predict auto`` under tcmalloc and under glibc's malloc, each in a
  child process (``benchmarks/allocator.py``; ``make speed`` itself runs under tcmalloc where
  it is installed, ``artifactnet_core/allocator.py``).

    python benchmarks/speed.py                     # paper-size model, 4 chunks (16 s)
    python benchmarks/speed.py --weights shipped   # the model `artifactnet detect` uses
    python benchmarks/speed.py --compile           # also torch.compile (a minute of compiling)
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import os
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# allocator and gpu are the sibling scripts (this folder is on sys.path when a script in it
# runs): the allocator comparison and the timer; one test signal and one reference path.
import allocator as allocator_bench  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from allocator import best_of  # noqa: E402
from gpu import eager_fp32 as reference_proba  # noqa: E402
from gpu import music, training_step  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from artifactnet_core.allocator import malloc_in_use, tcmalloc_environment  # noqa: E402
from artifactnet_core.detector import unet as unet_module  # noqa: E402
from artifactnet_core.detector.chunking import split_chunks  # noqa: E402
from artifactnet_core.detector.int8 import int8_available  # noqa: E402
from artifactnet_core.detector.layers import max_pool_2x2  # noqa: E402
from artifactnet_core.detector.model import (  # noqa: E402
    ArtifactNet,
    ArtifactNetConfig,
    default_weights,
    load_model,
    predict_chunks,
)
from artifactnet_core.detector.spectral import _hpss, hpss, median_filter  # noqa: E402
from artifactnet_core.detector.unet import resolve_precision  # noqa: E402
from artifactnet_core.runtime import (  # noqa: E402
    cpu_has_amx,
    fast_bf16,
    onednn_bf16,
    single_intraop_thread,
)

SR = 44_100
#: A real recording shipped by Debian (wesnoth-1.16-music), when installed.
REAL_MUSIC = Path("/usr/share/games/wesnoth/1.16/data/core/music/battle.ogg")


def real_audio(seconds: float, offset: float = 20.0) -> np.ndarray | None:
    """``seconds`` of the Debian recording from ``offset`` s, or None when it is missing."""
    if not REAL_MUSIC.is_file():
        return None
    from artifactnet_core.detector.audio import load_audio

    audio = load_audio(REAL_MUSIC, sr=SR)
    start = min(int(offset * SR), max(0, audio.size - int(seconds * SR)))
    return audio[start:start + int(seconds * SR)]


def other_processes_cpu(seconds: float = 1.0) -> tuple[float, list[tuple[str, float]]]:
    """CPU share (in cores) that other processes use over ``seconds``, and the busiest three."""
    def snapshot() -> dict[int, tuple[str, int]]:
        out = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            out[int(entry.name)] = (name, int(fields[11]) + int(fields[12]))
        return out

    if not Path("/proc/self/stat").exists():
        return float("nan"), []
    before = snapshot()
    time.sleep(seconds)
    after = snapshot()
    tick = os.sysconf("SC_CLK_TCK")
    busy = [(name, (ticks - before[pid][1]) / tick / seconds)
            for pid, (name, ticks) in after.items() if pid in before]
    busy.sort(key=lambda item: -item[1])
    return sum(share for _, share in busy), [b for b in busy[:3] if b[1] > 0.05]


def machine_peaks(repeat: int) -> dict[str, float]:
    """GFLOP/s (int8: GOP/s) of a 2048 x 2048 matrix multiply on the current threads."""
    n = 2048
    peaks = {}
    a = torch.randn(n, n)
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        x, y = a.to(dtype), a.t().contiguous().to(dtype)
        peaks[name] = 2 * n**3 / best_of(lambda: x @ y, repeat) / 1e9  # noqa: B023
    try:
        xi = torch.randint(-64, 64, (n, n), dtype=torch.int8)
        yi = torch.randint(-64, 64, (n, n), dtype=torch.int8)
        peaks["int8"] = 2 * n**3 / best_of(lambda: torch._int_mm(xi, yi), repeat) / 1e9
    except (RuntimeError, AttributeError):
        peaks["int8"] = float("nan")
    return peaks


def unfused_relu(fn):
    """``fn()`` with the folded UNet's convolutions and ReLUs as separate passes (the path
    before ``unet.conv2d_relu`` fused them; the same bits, slower)."""
    fused = unet_module.conv2d_relu
    unet_module.conv2d_relu = lambda x, w, b, padding: torch.nn.functional.conv2d(
        x, w, b, padding=padding).relu_()
    try:
        return fn()
    finally:
        unet_module.conv2d_relu = fused


def eager_fp32(model: ArtifactNet, chunks: torch.Tensor, batch: int) -> torch.Tensor:
    """The reference path (:func:`gpu.eager_fp32`: float32 modules in turn, batch norm as
    layers, medians by sorting), ``batch`` chunks at a time."""
    return torch.cat([reference_proba(model, chunks[i:i + batch])
                      for i in range(0, len(chunks), batch)])


def pipeline_flops(model: ArtifactNet) -> tuple[float, float]:
    """FLOPs of one chunk: (whole pipeline, UNet alone), counted by torch's FlopCounterMode
    (convolutions and matrix products; elementwise work is not counted)."""
    x = torch.zeros(1, model.config.chunk_samples)
    with torch.no_grad():
        mag = model.spectrogram(x)
        with FlopCounterMode(display=False) as unet_count:
            residual = model.unet(mag) if model.unet is not None else mag
        with FlopCounterMode(display=False) as rest_count:
            model.classify_base(model.featurizer.base_maps(mag, residual))
    unet = unet_count.get_total_flops()
    return unet + rest_count.get_total_flops(), unet


def onnx_path(model: ArtifactNet) -> Path | None:
    """The model exported to ONNX (cached by a hash of its weights), or None without the
    onnx extra."""
    try:
        from artifactnet_core.detector.export import export_onnx
    except ImportError:
        return None
    digest = hashlib.sha256(model.config.to_json().encode())
    for tensor in model.state_dict().values():
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    path = Path(tempfile.gettempdir()) / "artifactnet-speed" / f"{digest.hexdigest()[:16]}.onnx"
    if not path.is_file():
        t0 = time.perf_counter()
        try:
            export_onnx(model, path)
        except ImportError as err:
            print(f"(ONNX path skipped: {err})")
            return None
        print(f"(exported {path} once in {time.perf_counter() - t0:.0f} s)")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=4, help="4 s chunks of audio to score")
    parser.add_argument("--repeat", type=int, default=2,
                        help="timed calls of each stage and of the matmul peak")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds in which the whole-path rows take turns")
    parser.add_argument("--batch", type=int, default=1, help="chunks per forward pass")
    parser.add_argument("--weights", default=None,
                        help="a checkpoint, or 'shipped' for the package's weights; default: the "
                             "paper-size architecture with random weights")
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime path")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    args = parser.parse_args()

    weights = default_weights() if args.weights == "shipped" else args.weights
    if args.weights == "shipped" and weights is None:
        parser.error("no weights are shipped in this installation")
    torch.manual_seed(0)
    model = load_model(weights) if weights else ArtifactNet(ArtifactNetConfig())
    model.eval()
    cfg = model.config
    counts = model.parameter_counts()
    seconds = args.chunks * cfg.chunk_seconds
    audio = real_audio(seconds)
    source = f"{REAL_MUSIC.name} from 20 s" if audio is not None else "synthetic music"
    audio = music(seconds) if audio is None else audio
    chunks = torch.from_numpy(split_chunks(audio, cfg.chunk_samples))
    audio_s = len(chunks) * cfg.chunk_seconds
    threads = torch.get_num_threads()

    load = os.getloadavg()
    others, busiest = other_processes_cpu()
    print(f"machine: {os.cpu_count()} CPUs, torch {torch.__version__} on {threads} threads, fast "
          f"bfloat16: {fast_bf16('cpu')} (AMX: {cpu_has_amx()}); load average {load[0]:.2f} / "
          f"{load[1]:.2f} / {load[2]:.2f}; other processes use {others:.2f} cores now ("
          + ", ".join(f"{name} {share:.2f}" for name, share in busiest) + ")")
    print(f"model: {weights or 'random weights (speed does not depend on them)'}; UNet base "
          f"width {cfg.unet_base_width}: {counts['unet']:,} + CNN {counts['classifier']:,} "
          f"parameters; {len(chunks)} chunks = {audio_s:.0f} s of {source}; batch {args.batch}")
    flops, unet_flops = pipeline_flops(model)
    print(f"work per 4 s chunk: {flops / 1e9:.1f} GFLOP ({unet_flops / 1e9:.1f} in the UNet); "
          f"10x real time needs {10 * flops / cfg.chunk_seconds / 1e9:.0f} GFLOP/s")

    peaks = machine_peaks(args.repeat)
    print(f"matmul peak on {threads} threads (2048^2): fp32 {peaks['fp32']:.0f}, bf16 "
          f"{peaks['bf16']:.0f} GFLOP/s, int8 {peaks['int8']:.0f} GOP/s")

    reference = eager_fp32(model, chunks, args.batch).numpy()
    auto = resolve_precision("cpu")  # the default path's arithmetic on this CPU
    # The fused ReLU lives in the float path (int8 fuses its own): shown there.
    fused = auto if auto != "int8" else "fp32"
    paths: list[tuple[str, object, str]] = [
        ("eager fp32", lambda: eager_fp32(model, chunks, args.batch), "fp32"),
        ("predict fp32", lambda: predict_chunks(model, chunks, batch=args.batch,
                                                precision="fp32"), "fp32"),
        (f"predict auto ({auto})", lambda: predict_chunks(model, chunks, batch=args.batch),
         auto),
        # Before 2026-12-05 each folded convolution and its ReLU were two passes.
        (f"{fused}, unfused ReLU", lambda: unfused_relu(
            lambda: predict_chunks(model, chunks, batch=args.batch, precision=fused)),
         fused),
    ]
    if onednn_bf16() and auto != "bf16":
        # oneDNN's bfloat16 kernels without AMX: shown, so the choice of another is a number.
        paths.insert(3, ("predict bf16 (not auto)", lambda: predict_chunks(
            model, chunks, batch=args.batch, precision="bf16"), "bf16"))
    if int8_available() and auto != "int8":
        paths.insert(3, ("predict int8 (not auto)", lambda: predict_chunks(
            model, chunks, batch=args.batch, precision="int8"), "int8"))
    if not args.no_onnx:
        path = onnx_path(model)
        if path is not None:
            from artifactnet_core.detector.export import OnnxDetector

            detector = OnnxDetector(path, threads=threads)
            paths.append(("onnxruntime", lambda: detector.predict_proba(
                chunks.numpy(), batch=args.batch), "fp32"))
    if args.compile:
        compiled = copy.deepcopy(model)
        compiled.unet.compile_inference()
        t0 = time.perf_counter()
        compiled.predict_proba(chunks[:args.batch])
        compile_s = time.perf_counter() - t0
        paths.append((f"compiled ({compile_s:.0f} s once)",
                      lambda: predict_chunks(compiled, chunks, batch=args.batch),
                      fused))  # a compiled UNet's auto is its float graph

    # The paths take turns, round after round, each keeping its fastest round: a shared host's
    # speed drifts by 2x within minutes (benchmarks/README.md), and taking turns lets every path
    # see the same drift, so the ratios hold where absolute numbers do not.
    probas = {name: np.asarray(fn() if name != "eager fp32" else reference, dtype=np.float64)
              for name, fn, _ in paths}  # also the warm-up
    rounds: dict[str, list[float]] = {name: [] for name, _, _ in paths}
    for _ in range(args.rounds):
        for name, fn, _ in paths:
            t0 = time.perf_counter()
            fn()
            rounds[name].append(time.perf_counter() - t0)
    print(f"\naudio -> P(AI) per chunk on all threads, the fastest of {args.rounds} rounds in "
          "turn; gain = eager s / path s; peak % = GFLOP/s done / matmul peak of the path's dtype")
    print(f"{'path':<22} {'gain':>6} {'s/chunk':>8} {'RTF':>7} {'GFLOP/s':>8} {'peak %':>7}"
          f" {'max |dP|':>9}")
    t_eager = None
    for name, _, dtype in paths:
        t = min(rounds[name]) / len(chunks)
        t_eager = t_eager or t
        diff = float(np.abs(probas[name] - reference).max())
        rate = flops / t / 1e9
        print(f"{name:<22} {t_eager / t:>5.2f}x {t:>8.3f} {cfg.chunk_seconds / t:>6.1f}x "
              f"{rate:>8.0f} {100 * rate / peaks[dtype]:>6.0f}% {diff:>9.1e}")

    allocators(cfg, args)
    components(model, chunks, args.repeat)
    thread_scan(model, chunks, args, threads)
    decode_overlap(model, args, threads)
    # Training runs in bfloat16 autocast where the CPU has fast bfloat16
    # (runtime.training_autocast): the same step in float32 and in bfloat16, side by side.
    training_step(cfg, torch.device("cpu"), argparse.Namespace(quick=False, repeat=args.repeat),
                  profile="laptop", label="training:")


def allocators(config: ArtifactNetConfig, args: argparse.Namespace) -> None:
    """``predict auto`` under tcmalloc and under glibc's malloc, each in a child process
    (``benchmarks/allocator.py``: synthetic music, random weights of this width)."""
    task = f"predict auto, width {config.unet_base_width}"
    mine, installed = malloc_in_use(), tcmalloc_environment() is not None
    if mine != "tcmalloc" or not installed:
        print(f"\nallocator: {mine} (make speed runs under tcmalloc where "
              "libtcmalloc-minimal4 is installed)")
    if not installed or task not in allocator_bench.TASKS:
        return
    best = allocator_bench.compare(task, rounds=args.rounds, repeat=1)
    glibc, tcmalloc = best["glibc"]["s"], best["tcmalloc"]["s"]
    print(f"\nallocator, {task}: tcmalloc {glibc / tcmalloc:.2f}x faster than glibc malloc "
          f"({tcmalloc:.3f} vs {glibc:.3f} s/chunk, each in a child process; this run: "
          f"{mine})")


def one_pass(model: ArtifactNet, chunks: torch.Tensor) -> torch.Tensor:
    """:meth:`ArtifactNet.base_maps` as one forward pass of the whole batch (its CPU path
    before 2026-12-06; HPSS still shared out among the threads)."""
    mag = model.spectrogram(chunks)
    return model.featurizer.base_maps(mag, model.residual(mag))


def components(model: ArtifactNet, chunks: torch.Tensor, repeat: int) -> None:
    """Per-chunk time of each stage on all threads, and HPSS against librosa on one thread."""
    x = chunks[:1]
    k = model.config.hpss_kernel
    auto = resolve_precision("cpu")
    with torch.inference_mode():
        mag = model.spectrogram(x)
        residual = model.residual(mag)
        rows = [
            ("STFT", lambda: model.spectrogram(x)),
            ("UNet eager fp32", lambda: model.unet(mag)),
            ("UNet predict fp32", lambda: model.unet.infer(mag, precision="fp32")),
            (f"UNet predict auto ({auto})", lambda: model.unet.infer(mag)),
            ("UNet predict int8", lambda: model.unet.infer(mag, precision="int8")),
            ("median time, sort", lambda: median_filter(residual, kernel_size=k, dim=-1,
                                                        method="sort")),
            ("median time, network", lambda: median_filter(residual, kernel_size=k, dim=-1)),
            ("median freq, sort", lambda: median_filter(residual, kernel_size=k, dim=-2,
                                                        method="sort")),
            ("median freq, network", lambda: median_filter(residual, kernel_size=k, dim=-2)),
            ("HPSS, intra-op threads", lambda: _hpss(residual, kernel_size=k, power=2.0)),
            ("HPSS (default)", lambda: hpss(residual, kernel_size=k)),
            ("mel maps + CNN", lambda: model.classify_base(
                model.featurizer.maps_from_parts(mag, residual, residual, residual))),
        ]
        print("\nstages, one chunk, all threads")
        for name, fn in rows:
            if (model.unet is None and name.startswith("UNet")
                    or name.endswith("int8") and (not int8_available() or auto == "int8")):
                continue
            print(f"  {name:<22} {1e3 * best_of(fn, repeat):8.1f} ms")
        batch = model.residual(model.spectrogram(chunks))
        t_threads = best_of(lambda: _hpss(batch, kernel_size=k, power=2.0), repeat)
        t_split = best_of(lambda: hpss(batch, kernel_size=k), repeat)
        print(f"  HPSS of {len(batch)} chunks at once: default {t_threads / t_split:.1f}x faster than "
              f"intra-op threads ({1e3 * t_split:.1f} vs {1e3 * t_threads:.1f} ms)")
        for n in sorted({1, torch.get_num_threads()}):
            with single_intraop_thread() if n == 1 else contextlib.nullcontext():
                t_one = best_of(lambda: one_pass(model, chunks), repeat)
                t_each = best_of(lambda: model.base_maps(chunks), repeat)
                same = torch.equal(one_pass(model, chunks), model.base_maps(chunks))
            print(f"  base maps of {len(chunks)} chunks, {n} thread(s): chunk by chunk (default) "
                  f"{t_one / t_each:.2f}x faster than one pass ({1e3 * t_each / len(chunks):.0f} "
                  f"vs {1e3 * t_one / len(chunks):.0f} ms per chunk), "
                  f"{'the same' if same else 'other'} bits")
        # The input of the CNN's first 2x2 max-pool: its input norm, conv, norm and ReLU applied
        # to the batch's channels (the residual stands in for its HPSS parts, as above).
        base = model.featurizer.maps_from_parts(model.spectrogram(chunks), batch, batch, batch)
        pooled = model.classifier.body[:4](model.featurizer.channels_from_base(base))
        t_pool = best_of(lambda: torch.nn.functional.max_pool2d(pooled, 2), repeat)
        t_maxima = best_of(lambda: max_pool_2x2(pooled), repeat)
        same = torch.equal(max_pool_2x2(pooled), torch.nn.functional.max_pool2d(pooled, 2))
        print(f"  CNN's first 2x2 max-pool, {tuple(pooled.shape)}: max_pool_2x2 "
              f"{t_pool / t_maxima:.1f}x faster than max_pool2d ({1e3 * t_maxima:.1f} vs "
              f"{1e3 * t_pool:.1f} ms), {'the same' if same else 'DIFFERENT'} values")
        with single_intraop_thread():
            t_sort = best_of(lambda: median_filter(residual, kernel_size=k, dim=-1,
                                                   method="sort"), repeat)
            t_net = best_of(lambda: median_filter(residual, kernel_size=k, dim=-1), repeat)
            t_hpss = best_of(lambda: hpss(residual, kernel_size=k), repeat)
            try:
                import librosa

                r = residual[0].numpy()
                t_lib = best_of(lambda: librosa.decompose.hpss(r, kernel_size=k, power=2.0),
                                repeat)
                lib = f"librosa {t_lib:.3f} s: {t_lib / t_hpss:.1f}x faster"
            except ImportError:
                lib = "librosa not installed"
        print(f"  1 thread: {k}-tap median network {t_sort / t_net:.1f}x faster than sorting "
              f"({1e3 * t_net:.1f} vs {1e3 * t_sort:.1f} ms); HPSS {t_hpss:.3f} s vs {lib}")


def thread_scan(model: ArtifactNet, chunks: torch.Tensor, args: argparse.Namespace,
                threads: int) -> None:
    """The default path on 1 thread and on all threads."""
    print("\nthreads (predict auto):", end="")
    for n in sorted({1, threads}):
        torch.set_num_threads(n)
        t = best_of(lambda: predict_chunks(model, chunks, batch=args.batch), 1) / len(chunks)
        print(f"  {n}: {model.config.chunk_seconds / t:.1f}x", end="")
    torch.set_num_threads(threads)
    print()


def decode_overlap(model: ArtifactNet, args: argparse.Namespace, threads: int) -> None:
    """Decoding the real file, alone and while the detector scores audio on the other threads."""
    if not REAL_MUSIC.is_file():
        print("\ndecode: no real file to decode (wesnoth-1.16-music not installed)")
        return
    from artifactnet_core.detector.audio import load_audio

    t0 = time.perf_counter()
    audio = load_audio(REAL_MUSIC, sr=SR)
    t_decode = time.perf_counter() - t0
    seconds = audio.size / SR
    chunks = torch.from_numpy(split_chunks(audio[:args.chunks * model.config.chunk_samples],
                                           model.config.chunk_samples))
    t_score = best_of(lambda: predict_chunks(model, chunks, batch=args.batch), 1)
    done = threading.Event()

    def decode_loop() -> None:
        with contextlib.suppress(Exception):
            load_audio(REAL_MUSIC, sr=SR)
        done.set()

    decoder = threading.Thread(target=decode_loop)
    t0 = time.perf_counter()
    decoder.start()
    predict_chunks(model, chunks, batch=args.batch)
    decoder.join()
    t_both = time.perf_counter() - t0
    print(f"\ndecode {REAL_MUSIC.name} ({seconds:.0f} s, Vorbis -> 44.1 kHz mono): "
          f"{seconds / t_decode:.0f}x real time; scoring {len(chunks)} chunks {t_score:.2f} s; "
          f"both overlapped in two threads {t_both:.2f} s vs {t_score + t_decode:.2f} s one "
          f"after the other")


if __name__ == "__main__":
    main()
