"""Training on several processes or machines: ``torchrun`` + DistributedDataParallel.

Under ``torchrun`` (one process per GPU, or per CPU socket with gloo), :func:`train_unet
<artifactnet_core.experiments.training.train_unet>` and :func:`train_classifier
<artifactnet_core.experiments.training.train_classifier>` train one model together:

- every rank draws the same *global* batch (same seed, same random stream: the batch sampler is
  the single-process one) and trains on its share of it (:func:`share`); nothing but gradients and
  batch statistics crosses the network;
- gradients are averaged by DDP, each rank's loss weighted by its share (:func:`share_weight`), and
  batch norms normalise with the statistics of the global batch (:class:`GlobalBatchNorm2d`), so a
  step equals the single-process step on the same global batch up to float rounding (tested with
  2 processes). Dropout masks are drawn per rank, so with dropout the two agree in distribution
  only;
- validation runs on every rank (it is cheap and keeps the ranks' choices identical); rank 0
  alone shows progress and writes files (:func:`is_main`).

Outside ``torchrun`` every helper here is the identity, and training runs as before.

``python -m artifactnet_core.experiments.distributed`` (under ``torchrun``) trains a detector on
a manifest, ours or an external dataset's (SONICS, ArtifactBench JSON, a real/ai folder, through
:mod:`artifactnet_core.bench.external`), and rank 0 writes the UNet, the detector and their
histories into ``--out``. Multi-node runs need the dataset and ``--out`` on a shared file system.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import os
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

#: Where :func:`bench_from_external` writes an external dataset's manifest (in its root folder).
EXTERNAL_MANIFEST = "artifactnet_manifest.csv"


def world() -> tuple[int, int]:
    """``(rank, world size)`` of this process; ``(0, 1)`` when not distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    """Whether this process shows progress and writes files (rank 0, or not distributed)."""
    return world()[0] == 0


def share(n: int) -> slice:
    """This rank's contiguous part of a global batch of ``n`` items (sizes differ by at most 1).
    """
    rank, size = world()
    if n < size:
        raise ValueError(f"a global batch of {n} items cannot be shared by {size} ranks; use a "
                         "batch size of at least the world size")
    return slice(rank * n // size, (rank + 1) * n // size)


def share_weight(n_local: int, n_global: int) -> float:
    """Factor on a rank's mean loss over ``n_local`` items so that DDP's gradient average is the
    gradient of the mean loss over all ``n_global`` items (1.0 when not distributed)."""
    return n_local * world()[1] / n_global


def average(value: float) -> float:
    """The mean of ``value`` over all ranks (``value`` itself when not distributed): with losses
    weighted by :func:`share_weight`, the global batch's mean loss."""
    rank, size = world()
    if size == 1:
        return value
    backend_cuda = dist.get_backend() == "nccl"
    t = torch.tensor([value], dtype=torch.float64,
                     device=torch.device("cuda", torch.cuda.current_device()) if backend_cuda
                     else "cpu")
    dist.all_reduce(t)
    return float(t.item()) / size


class _SumOverRanks(torch.autograd.Function):
    """All-reduce (sum) whose gradient is the all-reduced (summed) gradient: each rank's loss
    depends on every rank's input through the sum."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """A :class:`torch.nn.BatchNorm2d` that, in training under DDP, normalises with the mean and
    variance of the global batch (all ranks' items) and updates its running statistics with them.

    Unlike :class:`torch.nn.SyncBatchNorm` it runs on the CPU (gloo) as well as on GPUs. The
    statistics are two differentiable all-reduces (sum, then sum of squared deviations), so the
    gradient also flows across ranks as in a single process. Same parameters and buffers as
    ``BatchNorm2d``: checkpoints do not change. In eval mode, or not distributed, it is
    ``BatchNorm2d``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and world()[1] > 1):
            return super().forward(x)
        all_reduce = _SumOverRanks.apply
        self._check_input_dim(x)
        # Statistics in float32 whatever the input (bfloat16 under training_autocast), as
        # BatchNorm2d keeps them; the output goes back in the input's dtype.
        in_dtype, x = x.dtype, x.float()
        dims = (0, 2, 3)
        shape = (1, -1, 1, 1)
        count = torch.full((1,), x.numel() / x.shape[1], dtype=x.dtype, device=x.device)
        totals = all_reduce(torch.cat([x.sum(dims), count]))
        n = totals[-1]
        mean = totals[:-1] / n
        centred = x - mean.view(shape)
        var = all_reduce(centred.square().sum(dims)) / n
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                            else self.momentum)
                self.running_mean.lerp_(mean, momentum)
                self.running_var.lerp_(var * n / (n - 1).clamp(min=1), momentum)
        return out.to(in_dtype)


def distribute(module: nn.Module) -> nn.Module:
    """What a training loop calls in place of ``module``: under ``torchrun``, ``module`` with
    global batch norms (:class:`GlobalBatchNorm2d`) wrapped in DDP; else ``module`` itself.

    ``module`` must already be on its device; its parameters are the ones to optimise either
    way, and :func:`undistribute` gives it back as a plain module.
    """
    if world()[1] == 1:
        return module
    for m in module.modules():
        if type(m) is nn.BatchNorm2d:
            m.__class__ = GlobalBatchNorm2d  # same state, other forward
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and type(m) is not GlobalBatchNorm2d:
            raise TypeError(f"{type(m).__name__} has no global-batch version yet")
    device = next(module.parameters()).device
    ddp = nn.parallel.DistributedDataParallel
    # Running statistics are equal on every rank already: no buffer sync before each forward
    # (the option's name changed in torch 2.13).
    no_sync = ({"forward_sync_buffers": False}
               if "forward_sync_buffers" in inspect.signature(ddp.__init__).parameters
               else {"broadcast_buffers": False})
    return ddp(module, device_ids=[device.index] if device.type == "cuda" else None, **no_sync)


def undistribute(module: nn.Module) -> nn.Module:
    """The plain module inside what :func:`distribute` returned (batch norms back to
    ``BatchNorm2d``)."""
    inner = module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module
    for m in inner.modules():
        if type(m) is GlobalBatchNorm2d:
            m.__class__ = nn.BatchNorm2d
    return inner


def init_from_env(device: str | None = None) -> torch.device:
    """Join the process group ``torchrun`` describes (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
    ``MASTER_ADDR``/``PORT``): NCCL with one GPU per process when CUDA is there (or asked for),
    gloo on the CPU otherwise. Returns this process's device. Without ``torchrun``'s variables it
    joins nothing and returns the device :func:`~artifactnet_core.runtime.resolve_device` picks.
    """
    from artifactnet_core.runtime import resolve_device

    dev = resolve_device(device)
    if "WORLD_SIZE" not in os.environ or dist.is_initialized():
        return dev
    if dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(dev)
    dist.init_process_group("nccl" if dev.type == "cuda" else "gloo",
                            timeout=timedelta(minutes=30))
    return dev


def bench_from_external(kind: str, path: str | os.PathLike, *, split: str = "train",
                        val_fraction: float = 0.1):
    """An external dataset as :class:`~artifactnet_core.experiments.data.BenchData`, ready to train.

    ``kind`` is ``"sonics"`` (the dataset folder), ``"artifactbench"`` (its JSON manifest) or
    ``"folder"`` (``real/`` and ``ai/`` subfolders, all rows in ``split``). The manifest is written
    as ``artifactnet_manifest.csv`` in the folder the paths are relative to (codec versions are
    cached beside it, as for ArtifactBench-mini). When there is no ``val`` split (ArtifactBench,
    folders), ``val_fraction`` of the training tracks, chosen by a stable hash of the track,
    become validation tracks.
    """
    from artifactnet_core.atomic import stable_hash
    from artifactnet_core.bench.external import load_artifactbench_json, load_folder, load_sonics
    from artifactnet_core.bench.manifest import write_manifest
    from artifactnet_core.experiments.data import BenchData

    loaders = {"sonics": load_sonics, "artifactbench": load_artifactbench_json,
               "folder": lambda p: load_folder(p, split=split)}
    if kind not in loaders:
        raise ValueError(f"unknown external dataset kind {kind!r}; one of {sorted(loaders)}")
    df = loaders[kind](path)
    root = Path(df.attrs["root"])
    if not (df["split"] == "val").any():
        held = df["track_id"].map(lambda t: int(stable_hash("val", t), 16) % 1000
                                  < val_fraction * 1000)
        moved = held & (df["split"] == "train")
        df.loc[moved, ["split", "split_track"]] = "val"
    manifest = root / EXTERNAL_MANIFEST
    if is_main():
        write_manifest(df, manifest)
    if world()[1] > 1:
        dist.barrier()
    return BenchData(manifest)


def _parser() -> argparse.ArgumentParser:
    from artifactnet_core.profiles import PROFILE_NAMES

    p = argparse.ArgumentParser(
        prog="torchrun ... -m artifactnet_core.experiments.distributed",
        description="Train the UNet and the classifier with DDP on a manifest; rank 0 writes.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--manifest", help="an ArtifactBench-mini manifest.csv")
    src.add_argument("--sonics", help="a SONICS folder (fake_songs.csv, real_songs.csv)")
    src.add_argument("--artifactbench", help="ArtifactBench's JSON manifest")
    src.add_argument("--folder", help="a folder with real/ and ai/ subfolders")
    p.add_argument("--profile", default=PROFILE_NAMES[1], choices=PROFILE_NAMES,
                   help="training budgets (global batch sizes, steps, epochs)")
    p.add_argument("--objective", default="paired", choices=("paired", "real_only"),
                   help="UNet objective (external data has no regeneration pairs: real_only)")
    p.add_argument("--unet-batch-size", type=int, default=None,
                   help="global UNet batch (default: the profile's); at least the world size")
    p.add_argument("--classifier-batch-size", type=int, default=None,
                   help="global classifier batch (default: the profile's)")
    p.add_argument("--no-codec-aware", action="store_true",
                   help="train without codec augmentation (no lossy versions are made)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    p.add_argument("--out", required=True, help="folder for the weights and histories")
    return p


def train_detector_distributed(data, profile, *, out: str | os.PathLike,
                               objective: str = "paired", codec_aware: bool = True,
                               seed: int = 0, device: str | torch.device | None = None,
                               progress: bool = True, unet_val_items: int | None = None) -> Path:
    """Train a detector (UNet, base maps, classifier, threshold) on every rank; rank 0 writes
    ``out/unet.safetensors``, ``out/detector.safetensors`` and both histories.

    Each rank computes the base maps of its share of the clips (cached under ``out/features``,
    which must be shared by all nodes), then all read all of them. Outside ``torchrun`` this is a
    plain single-process run of the same steps.

    Parameters
    ----------
    data : BenchData
        The benchmark (own or :func:`bench_from_external`); needs ``train`` and ``val`` rows.
    profile : Profile or str
        Budgets (:mod:`artifactnet_core.profiles`); batch sizes are global.
    out : path
        Output folder.
    objective, codec_aware, seed
        As for :func:`artifactnet_core.experiments.pipeline.train_detector`.
    device : str, optional
        This process's device (default: from :func:`init_from_env`'s choice).
    unet_val_items : int, optional
        Validation items of the UNet (default: the profile's ``UNetRecipe.val_items``; see
        :func:`~artifactnet_core.experiments.training.train_unet`).
    """
    from artifactnet_core.checkpoint import save_checkpoint
    from artifactnet_core.detector.config import ArtifactNetConfig
    from artifactnet_core.detector.model import ArtifactNet, save_model
    from artifactnet_core.experiments.data import training_items
    from artifactnet_core.experiments.featurestore import FeatureStore, per_clip
    from artifactnet_core.experiments.pipeline import calibrate_on_validation
    from artifactnet_core.experiments.training import (
        UNetItems,
        predict_maps,
        train_classifier,
        train_unet,
    )
    from artifactnet_core.profiles import get_profile
    from artifactnet_core.runtime import resolve_device

    dev = resolve_device(device)
    out = Path(out)
    profile = get_profile(profile)
    recipe = dataclasses.replace(profile.unet, objective=objective, codec_aware=codec_aware,
                                 seed=seed)
    if unet_val_items is not None:
        recipe = dataclasses.replace(recipe, val_items=unet_val_items)
    clf_recipe = dataclasses.replace(profile.classifier, codec_aware=codec_aware, seed=seed)
    config = ArtifactNetConfig(unet_base_width=recipe.base_width)
    train_rows, val_rows = data.rows(split="train"), data.rows(split="val")
    if val_rows.empty or train_rows.empty:
        raise ValueError(f"{data.manifest_path}: needs 'train' and 'val' rows")
    arrays = data.load(UNetItems.needed(train_rows, recipe) + UNetItems.needed(
        val_rows, dataclasses.replace(recipe, codec_aware=False)), progress=progress and is_main())
    unet, unet_history = train_unet(train_rows, val_rows, arrays, recipe, config=config,
                                    device=dev, progress=progress)
    del arrays
    if is_main():
        out.mkdir(parents=True, exist_ok=True)
        save_checkpoint(out / "unet.safetensors", unet.state_dict(),
                        {"recipe": dataclasses.asdict(recipe), "world_size": world()[1]})
        unet_history.to_csv(out / "unet_history.csv", index=False)
    model = ArtifactNet(config)
    model.unet.load_state_dict(unet.state_dict())
    store = FeatureStore(data, model, f"unet-{seed}", cache_root=out / "features", device=dev,
                         batch_size=profile.evaluation.feature_batch)
    train_items = training_items(train_rows, codec_aware=codec_aware, seed=seed)
    val_items = training_items(val_rows, codec_aware=codec_aware, seed=seed)
    everything = train_items + val_items
    store.maps(everything[share(len(everything))], progress=progress and is_main(),
               desc="features")
    if world()[1] > 1:
        dist.barrier()
    train_maps, train_owner = store.maps(train_items, progress=False)
    val_maps, val_owner = store.maps(val_items, progress=False)
    labels = (train_rows["label"] == "ai").to_numpy().astype(int)
    labels = np.tile(labels, len(train_items) // len(train_rows))
    val_labels = (val_rows["label"] == "ai").to_numpy().astype(int)
    val_labels = np.tile(val_labels, len(val_items) // len(val_rows))

    def reduce(p: np.ndarray) -> np.ndarray:
        return per_clip(p, val_owner, len(val_items))

    classifier, clf_history = train_classifier(
        train_maps, labels[train_owner], val_maps, val_labels, clf_recipe,
        featurizer=model.featurizer, config=config, device=dev, progress=progress,
        val_reduce=reduce)
    model.classifier.load_state_dict(classifier.state_dict())
    model = model.to(dev).eval()
    p_val = reduce(predict_maps(model.classify_base, val_maps, device=dev))
    calibrate_on_validation(config, val_rows, p_val)
    config.info = {"profile": profile.name, "seed": seed, "objective": objective,
                   "codec_aware": codec_aware, "bench_sha256": data.sha256,
                   "world_size": world()[1]}
    if is_main():
        clf_history.to_csv(out / "classifier_history.csv", index=False)
        save_model(model.cpu(), out / "detector.safetensors")
    if world()[1] > 1:
        dist.barrier()  # nobody reads out/ before rank 0 has written it
    return out / "detector.safetensors"


def main(argv: Sequence[str] | None = None) -> int:
    """``torchrun ... -m artifactnet_core.experiments.distributed``: see :func:`_parser`."""
    from artifactnet_core.experiments.data import BenchData
    from artifactnet_core.profiles import get_profile

    args = _parser().parse_args(argv)
    dev = init_from_env(args.device)
    if args.manifest:
        data = BenchData(args.manifest)
    else:
        kind = next(k for k in ("sonics", "artifactbench", "folder") if getattr(args, k))
        data = bench_from_external(kind, getattr(args, kind))
    profile = get_profile(args.profile)
    profile = dataclasses.replace(
        profile,
        unet=dataclasses.replace(profile.unet,
                                 batch_size=args.unet_batch_size or profile.unet.batch_size),
        classifier=dataclasses.replace(
            profile.classifier,
            batch_size=args.classifier_batch_size or profile.classifier.batch_size))
    path = train_detector_distributed(data, profile, out=args.out,
                                      objective=args.objective,
                                      codec_aware=not args.no_codec_aware, seed=args.seed,
                                      device=dev)
    if is_main():
        print(json.dumps({"detector": str(path), "world_size": world()[1]}))
    if world()[1] > 1:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
