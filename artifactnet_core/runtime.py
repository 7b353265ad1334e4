"""Where and how torch runs: device choice, CPU threads, seeding, learning-rate schedules.

One place for what every training loop (UNet, classifier, zoo generators, SpecTTTra) and the
command line need, so they cannot drift apart.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import platform
import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` or ``"auto"``: CUDA when present, else the CPU; anything else as given.

    Raises
    ------
    ValueError
        ``device`` names CUDA on a machine without it, or is not a device torch knows.
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"unknown device {device!r}: use auto, cpu or cuda") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but this machine has no CUDA GPU "
                         "(use --device cpu or auto)")
    return dev


def fast_bf16(device: torch.device | str) -> bool:
    """Whether bfloat16 convolutions and matmuls are faster than float32 on ``device``: a CUDA
    GPU with bfloat16 (Ampere on); an x86 CPU with AMX (oneDNN's AMX kernels: about 6x the
    float32 matmul rate on 2 Sapphire Rapids cores); an Arm CPU whose oneDNN has a bfloat16 path
    (not measured here). AVX-512 BF16 without AMX is not enough: on 2 Emerald Rapids cores
    without AMX oneDNN's ``avx512_core_bf16`` kernels ran the paper-size UNet 1.5x *slower*
    than float32 and a training step 1.2x slower (``benchmarks/README.md``), so such a CPU
    stays float32, as does every other.

    ``ARTIFACTNET_BF16=0`` turns bfloat16 off everywhere (the UNet's inference path and
    training both stay float32); ``ARTIFACTNET_BF16=1`` turns it on wherever oneDNN has a
    bfloat16 path, to measure one's own CPU with ``make speed``.
    """
    setting = os.environ.get("ARTIFACTNET_BF16", "")
    if setting == "0":
        return False
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if not onednn_bf16():
        return False
    if setting == "1" or platform.machine().lower() not in ("x86_64", "amd64"):
        return True
    return cpu_has_amx()


def onednn_bf16() -> bool:
    """Whether oneDNN has bfloat16 kernels on this CPU at all, fast (AMX) or not
    (AVX-512 BF16 alone); without them torch emulates bfloat16, about 8x slower than
    float32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@functools.cache
def cpu_has_amx() -> bool:
    """Whether this x86 CPU has AMX tiles the process may use (Sapphire Rapids and later,
    where the kernel or hypervisor exposes them): torch's own check, which on Linux also asks
    the kernel for permission as oneDNN does; ``amx_bf16`` in ``/proc/cpuinfo`` where that
    private helper is missing."""
    try:
        return bool(torch._C._cpu._init_amx())
    except (AttributeError, RuntimeError):
        pass
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return "amx_bf16" in cpuinfo.read().split()
    except OSError:
        return False


def training_precision(device: torch.device | str) -> str:
    """``"bf16"`` where :func:`fast_bf16`, else ``"fp32"``: the precision of the training
    forward passes (:func:`training_autocast`). Cache keys of trained models carry it, so
    weights trained in float32 and in bfloat16 are never mixed."""
    return "bf16" if fast_bf16(device) else "fp32"


def training_autocast(device: torch.device | str) -> torch.autocast:
    """bfloat16 autocast where bfloat16 is fast (:func:`fast_bf16`), a no-op context elsewhere.

    The training forward passes of the UNet, the classifier and SpecTTTra (and SpecTTTra's
    scoring; the detector's own inference path picks its precision itself) run in it; weights,
    optimiser state and loss terms stay float32. It is the fast path wherever it is enabled: a
    UNet training step at batch 16 on an H100 took 78 ms against 106 ms in float32, and on
    2 cores of a Sapphire Rapids CPU (AMX) the laptop recipe's UNet step was 2.56x faster
    (``benchmarks/README.md``, issue 15). A CPU without fast bfloat16 trains in float32, as
    everything did before, so its models differ from an AMX machine's by training noise (the
    seed-to-seed spread bounds it), not by design.
    """
    device = torch.device(device)
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                          enabled=fast_bf16(device))


@contextlib.contextmanager
def single_intraop_thread() -> Iterator[None]:
    """Run torch's CPU ops in the calling thread on one intra-op thread; restore on exit."""
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Flush subnormal floats to zero (x86 FTZ / DAZ) in the calling thread; off again on exit.

    Arithmetic on subnormals (magnitudes under 1.2e-38 in float32) takes a slow microcode path
    on x86 CPUs. Training a zoo generator on one CPU thread slowed from 2.9 to 0.5 steps/s
    over its first 2,000 steps without this, and held 2.7-2.8 steps/s with it
    (resize_nearest_cont_s256, Sapphire Rapids, 2026-12-04). The flags belong to a thread:
    OpenMP workers that torch starts later inherit them, ones already running do not (on more
    than one thread, enter this before the first parallel torch op). Values below 1.2e-38
    become 0, which no loss here can tell apart.
    """
    supported = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if supported:
            torch.set_flush_denormal(False)


_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _worker_pool() -> ThreadPoolExecutor:
    # One pool per process: a forked child (a DataLoader or scan worker) inherits the parent's
    # pool object but not its threads, so it gets its own.
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                       thread_name_prefix="artifactnet-cpu")
            _pool_pid = os.getpid()
        return _pool


def map_batch_single_threaded(fn: Callable[[torch.Tensor], tuple[torch.Tensor, ...]],
                              x: torch.Tensor, *, one_at_a_time: bool = False
                              ) -> tuple[torch.Tensor, ...]:
    """``fn(x)`` on the CPU with the batch (dim 0) split into one part per torch thread, each
    part computed by a worker thread whose torch ops run single-threaded.

    For work made of many small elementwise ops (HPSS: about a thousand ``minimum`` /
    ``maximum`` calls per spectrogram) torch's own intra-op parallelism pays an OpenMP wake-up
    per op, and with ``OMP_WAIT_POLICY=PASSIVE`` (which the package sets, for shared machines)
    that costs more than the op. On 2 idle cores (``benchmarks/speed.py``, 2026-12-04) one
    4 s chunk's HPSS took 90 ms on 2 intra-op threads and 20 ms this way; 4 chunks 150 ms
    against 55 ms. One part (a batch of 1, one thread, a GPU
    tensor, autograd on, or a graph being traced or compiled) runs ``fn(x)`` in the calling
    thread, single-threaded on the CPU. ``fn`` must treat the items of the batch
    independently; the result is then identical to ``fn(x)``.

    Parameters
    ----------
    fn : callable
        Maps a batch to a tuple of tensors whose dim 0 is the batch.
    x : torch.Tensor
        Input batch, ``(batch, ...)``.
    one_at_a_time : bool
        On the CPU (no autograd, tracing or export), give ``fn`` one item at a time (batches of
        1) within each thread's part. For work whose intermediates outgrow the CPU's caches
        (the UNet: ~12 MB of activations per 4 s chunk at width 16) this is faster, and an
        item's result then no longer depends on the batch it came in or the thread count.
        Elsewhere ``fn(x)`` as above.
    """
    if x.device.type != "cpu":
        return fn(x)
    if (torch.is_grad_enabled() or torch.jit.is_tracing() or torch.compiler.is_compiling()
            or torch.onnx.is_in_onnx_export()):
        return fn(x)
    if one_at_a_time and x.ndim and x.shape[0] > 1:
        fn = functools.partial(_item_by_item, fn)
    parts = min(torch.get_num_threads(), os.cpu_count() or 1, x.shape[0] if x.ndim else 1)
    if parts <= 1:
        with single_intraop_thread():
            return fn(x)
    inference = torch.is_inference_mode_enabled()

    def run(part: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # Grad and inference mode are per thread: the worker takes the caller's.
        with torch.inference_mode(inference), torch.no_grad(), single_intraop_thread():
            return fn(part)

    outputs = list(_worker_pool().map(run, x.tensor_split(parts, dim=0)))
    return _concatenated(outputs)


def _item_by_item(fn: Callable[[torch.Tensor], tuple[torch.Tensor, ...]],
                  x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return _concatenated([fn(x[i:i + 1]) for i in range(x.shape[0])])


def _concatenated(outputs: list[tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, ...]:
    # The outputs of fn on consecutive parts of a batch, joined back along the batch.
    return tuple(torch.cat(pieces, dim=0) for pieces in zip(*outputs, strict=True))


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch, and ask torch for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - for libraries that still use the global
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def cosine_schedule(step: int, *, total: int, warmup: int, peak: float = 1.0,
                    floor: float = 0.0) -> float:
    """Learning rate at ``step`` (0-based): linear warm-up, then cosine decay.

    Warm-up rises as ``peak * (step + 1) / warmup`` over ``warmup`` steps; afterwards the rate
    falls along half a cosine from ``peak`` to ``floor * peak`` at ``total`` steps (and stays
    there).

    Parameters
    ----------
    step : int
        Optimiser step, counted from 0.
    total : int
        Steps of the whole schedule.
    warmup : int
        Warm-up steps (>= 1).
    peak : float
        Largest rate (1.0 gives a factor, as ``torch.optim.lr_scheduler.LambdaLR`` wants).
    floor : float
        Final rate as a fraction of ``peak``.
    """
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(total - warmup, 1)
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return peak * cosine if floor == 0 else peak * (floor + (1 - floor) * cosine)

