"""Where and how torch runs: device choice, seeding, learning-rate schedules.

One place for what every training loop (UNet, classifier, zoo generators, SpecTTTra) and the
command line need, so they cannot drift apart.
"""

from __future__ import annotations

import math
import random

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


def gpu_autocast(device: torch.device) -> torch.autocast:
    """bfloat16 autocast on a CUDA device, a no-op context anywhere else.

    The training forward passes of the UNet, the classifier and SpecTTTra (and SpecTTTra's
    scoring; the detector's own inference path picks its precision itself) run in it. On a GPU
    bfloat16 is the fast path (a UNet training step at batch 16 on an H100: 78 ms against
    106 ms in float32, issue 15); on the CPU training stays float32, so the laptop protocol's
    models, caches and numbers do not depend on whether a CPU has fast bfloat16. Loss terms are
    computed in float32 outside it.
    """
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                          enabled=device.type == "cuda")


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
