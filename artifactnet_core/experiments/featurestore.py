"""Cached forensic base maps: the expensive part of training, computed once per UNet.

Running the UNet and HPSS over every clip version dominates the CPU time of the whole protocol
(about 1-2 s per 4 s chunk on two cores), while the classifier only needs their output. The
store keeps, per (UNet checkpoint, clip, version), the three base maps (mel-dB of R, H and P,
float16, ``(chunks, 3, 128, 345)``) in one ``.npy`` file, written atomically; the other four
channels are derived on the fly (:meth:`ForensicFeaturizer.channels_from_base`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from artifactnet_core.atomic import atomic_save_npy, file_lock, stable_hash
from artifactnet_core.detector.chunking import split_chunks
from artifactnet_core.detector.model import ArtifactNet
from artifactnet_core.detector.unet import inference_path
from artifactnet_core.experiments.data import BenchData, Item
from artifactnet_core.experiments.ledger import charge


class FeatureStore:
    """Base maps of benchmark clips for one residual extractor, cached on disk.

    Parameters
    ----------
    data : BenchData
        The benchmark; clip versions come from :meth:`BenchData.load` as arrays.
    extractor : ArtifactNet
        The model whose :meth:`~artifactnet_core.detector.model.ArtifactNet.base_maps` are
        cached (its front end, UNet or none, and featurizer; its classifier is not used).
    key : str
        Identifies the extractor (e.g. a hash of its UNet recipe). The cache folder is
        ``<key>-<arithmetic>`` when the extractor has a UNet (its inference path on ``device``
        in ``precision``, :func:`~artifactnet_core.detector.unet.inference_path`), so maps of
        the float32 and the bfloat16 path are never mixed; ``<key>`` without one.
    cache_root : path
        Folder under which ``<folder>/<version>/<clip path>.npy`` files live.
    device : str or torch.device
        Where the UNet and HPSS run.
    batch_size : int
        Clips per batch, and chunks per forward pass.
    ledger : path, optional
        Folder of the run's :mod:`~artifactnet_core.experiments.ledger`: when set, the seconds
        spent computing new maps are charged to it as ``scoring features``.
    precision : {"auto", "fp32", "bf16", "int8"}
        The UNet's arithmetic (:meth:`ArtifactNet.base_maps
        <artifactnet_core.detector.model.ArtifactNet.base_maps>`); ``auto``: as
        :func:`~artifactnet_core.detector.unet.resolve_precision` picks (bfloat16 where it is
        fast, int8 on another CPU with VNNI, else float32).
    """

    def __init__(self, data: BenchData, extractor: ArtifactNet, key: str, *,
                 cache_root: str | os.PathLike, device: str | torch.device = "cpu",
                 batch_size: int = 4, ledger: str | os.PathLike | None = None,
                 precision: str = "auto"):
        self.data = data
        self.ledger = ledger
        self.device = torch.device(device)
        self.extractor = extractor.to(self.device).eval()
        self.key, self.precision = key, precision
        folder = (key if extractor.unet is None
                  else f"{key}-{inference_path(self.device, precision)}")
        self.root = Path(cache_root) / folder
        self.chunk_samples = extractor.config.chunk_samples
        self.batch_size = batch_size

    def at_precision(self, precision: str) -> FeatureStore:
        """The same extractor's maps with its UNet in ``precision`` (``"fp32"``, ``"bf16"``,
        ``"int8"``, ``"auto"``), cached in their own folder beside this store's; no ledger (what a
        comparison computes is not the protocol's cost)."""
        return FeatureStore(self.data, self.extractor, self.key, cache_root=self.root.parent,
                            device=self.device, batch_size=self.batch_size,
                            precision=precision)

    def _path(self, clip: str, version: str) -> Path:
        return self.root / version / Path(clip).with_suffix(".npy")

    @torch.no_grad()
    def _compute(self, chunks: np.ndarray) -> np.ndarray:
        # Every forward pass holds exactly ``batch_size`` chunks, a short last one padded with
        # silence: in one pass of a batch (a GPU's) a chunk's maps depend in their last bits
        # on how many chunks share it, and on the CPU a lone chunk takes another path than a
        # batch (ArtifactNet.base_maps), so without the padding they would depend on which
        # clips happened to be cached already, i.e. on the order notebooks ran in.
        out = []
        for i in range(0, chunks.shape[0], self.batch_size):
            part = chunks[i:i + self.batch_size]
            n = part.shape[0]
            if n < self.batch_size:
                part = np.concatenate([part, np.zeros((self.batch_size - n, *part.shape[1:]),
                                                      part.dtype)])
            audio = torch.from_numpy(part).to(self.device)
            maps = self.extractor.base_maps(audio, precision=self.precision)[:n]
            out.append(maps.half().cpu().numpy())
        return np.concatenate(out)

    def fill(self, items: Sequence[Item], *, progress: bool = False,
             desc: str = "features") -> None:
        """Compute and store the maps of the (clip, version) pairs not cached yet, batching
        chunks of several clips into each forward pass. Two processes asking for the same
        items (notebook 07 and the runner's worker computing ahead for it) compute them once:
        the second waits on a lock named after them, then finds them written."""
        if all(self._path(*item).exists() for item in items):
            return
        with file_lock(self.root / ".locks" / f"{stable_hash(*items)}.lock"):
            self._fill_unlocked(items, progress=progress, desc=desc)

    def _fill_unlocked(self, items: Sequence[Item], *, progress: bool, desc: str) -> None:
        todo = list(dict.fromkeys(item for item in items if not self._path(*item).exists()))
        bar = tqdm(total=len(todo), desc=desc, disable=not progress or not todo)
        t0 = time.perf_counter()
        for start in range(0, len(todo), self.batch_size):
            group = todo[start:start + self.batch_size]
            arrays = self.data.load(group)
            chunks = [split_chunks(arrays[item], self.chunk_samples) for item in group]
            maps = self._compute(np.concatenate(chunks))
            offsets = np.cumsum([0] + [c.shape[0] for c in chunks])
            for k, item in enumerate(group):
                atomic_save_npy(self._path(*item), maps[offsets[k]:offsets[k + 1]])
            bar.update(len(group))
        bar.close()
        if todo and self.ledger is not None:
            charge(self.ledger, f"maps-{self.root.name}-{stable_hash(*todo)}",
                   "scoring features", time.perf_counter() - t0, computed=True)

    def maps(self, items: Sequence[Item], *, progress: bool = True,
             desc: str = "features") -> tuple[np.ndarray, np.ndarray]:
        """Stack the base maps of many clip versions.

        Parameters
        ----------
        items : sequence of (clip path, version)
            Clip versions (paths relative to the bench root).
        progress : bool
            tqdm progress bar over the clips still to compute.

        Returns
        -------
        (maps, owner)
            ``maps``: float16 ``(total chunks, 3, n_mels, frames)``; ``owner``: for each chunk,
            the index of its item in ``items``.
        """
        items = list(items)
        self.fill(items, progress=progress, desc=desc)
        parts, owner = [], []
        for i, item in enumerate(items):
            m = np.load(self._path(*item), allow_pickle=False)
            parts.append(m)
            owner.extend([i] * m.shape[0])
        if not parts:
            n_mels = self.extractor.config.n_mels
            return np.zeros((0, 3, n_mels, 0), np.float16), np.zeros(0, int)
        return np.concatenate(parts), np.asarray(owner)


def per_clip(values: np.ndarray, owner: np.ndarray, n_clips: int, *,
             method: str = "median") -> np.ndarray:
    """Reduce per-chunk values to per-clip values (median or mean over each clip's chunks)."""
    reduce = np.median if method == "median" else np.mean
    out = np.full(n_clips, np.nan)
    for i in range(n_clips):
        sel = values[owner == i]
        if sel.size:
            out[i] = reduce(sel)
    return out
