"""Checkpoints: tensors in a safetensors file, everything else in a JSON file beside it.

Every model of the project (the detector, its UNet, the zoo generators, the baselines) is stored
this way. Both files are written atomically, weights first and JSON last, so a JSON file means a
complete checkpoint. Loading never unpickles anything: a file that is not safetensors, a JSON file
that does not parse, or a tensor with NaN or infinite values is refused with an error naming the
file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artifactnet_core.atomic import atomic_write_bytes, atomic_write_text

# A checkpoint's JSON holds a config and provenance: kilobytes. Anything far larger is not one.
_MAX_META_BYTES = 16 * 2**20
_PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; ``str(err)`` names the file and the problem."""


def save_checkpoint(path: str | os.PathLike, tensors: Mapping[str, torch.Tensor | np.ndarray],
                    meta: Mapping[str, Any], *, half: bool = False) -> Path:
    """Write ``tensors`` to ``path`` (``.safetensors``) and ``meta`` to the ``.json`` beside it.

    Parameters
    ----------
    path : path
        Destination ending in ``.safetensors``.
    tensors : mapping of str to torch.Tensor or numpy.ndarray
        All torch or all NumPy (a ``state_dict()`` or fitted arrays).
    meta : mapping
        JSON-able configuration and provenance, written with sorted keys.
    half : bool
        Store floating-point torch tensors as float16 (loading casts back to the model's dtype).

    Returns
    -------
    pathlib.Path
        The ``.safetensors`` path.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"{path}: a checkpoint's weights file ends in .safetensors")
    if all(isinstance(t, np.ndarray) for t in tensors.values()):
        from safetensors.numpy import save

        data = save({k: np.ascontiguousarray(v) for k, v in tensors.items()})
    else:
        from safetensors.torch import save

        prepared = {}
        for name, tensor in tensors.items():
            t = torch.as_tensor(tensor).detach().cpu().contiguous()
            prepared[name] = t.half() if half and t.is_floating_point() else t
        data = save(prepared)
    atomic_write_bytes(path, data)
    atomic_write_text(path.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True))
    return path


def load_checkpoint(path: str | os.PathLike, *, numpy: bool = False,
                    require_finite: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : path
        The ``.safetensors`` file (its ``.json`` must sit beside it).
    numpy : bool
        Return NumPy arrays instead of torch tensors.
    require_finite : bool
        Refuse tensors holding NaN or infinite values.

    Returns
    -------
    (tensors, meta)

    Raises
    ------
    FileNotFoundError
        Either file is missing.
    CheckpointError
        Not a safetensors file, JSON that does not parse or is not an object, non-finite values.
    """
    path = Path(path)
    if path.suffix == ".json":
        raise CheckpointError(f"{path}: give the .safetensors file of the checkpoint; the .json "
                              "beside it is read with it")
    meta_path = path.with_suffix(".json")
    for p, what in ((path, "weights file"), (meta_path, "config file (the .json written beside "
                                                      "the weights)")):
        if p.is_dir():
            raise FileNotFoundError(f"{p}: is a folder, not a checkpoint's {what}")
        if not p.is_file():
            raise FileNotFoundError(f"{p}: {what} not found")
    if meta_path.stat().st_size > _MAX_META_BYTES:
        raise CheckpointError(f"{meta_path}: {meta_path.stat().st_size:,} bytes, too large for a "
                              f"checkpoint's config (at most {_MAX_META_BYTES:,})")
    try:
        meta = json.loads(meta_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{meta_path}: not valid JSON ({err})") from err
    if not isinstance(meta, dict):
        raise CheckpointError(f"{meta_path}: expected a JSON object, found "
                              f"{type(meta).__name__}")
    try:
        if numpy:
            from safetensors.numpy import load_file
        else:
            from safetensors.torch import load_file
        tensors = load_file(str(path))
    except Exception as err:  # noqa: BLE001 - safetensors raises its own error types
        hint = (" PyTorch pickles (.pt, .pth, .ckpt) are never loaded: unpickling can run any "
                "code; save the state_dict with safetensors instead."
                if path.suffix.lower() in _PICKLE_SUFFIXES else "")
        raise CheckpointError(f"{path}: not a safetensors file ({type(err).__name__}: "
                              f"{str(err).splitlines()[0][:120] if str(err) else ''}).{hint}"
                              ) from err
    if require_finite:
        for name, t in tensors.items():
            finite = np.isfinite(t).all() if numpy else (
                not t.is_floating_point() or bool(torch.isfinite(t).all()))
            if not finite:
                raise CheckpointError(f"{path}: tensor {name!r} holds NaN or infinite values")
    return tensors, meta
