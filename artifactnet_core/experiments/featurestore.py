"""Cached forensic base maps: the expensive part of training, computed once per UNet.

Running the UNet and HPSS over every clip version dominates the CPU time of the whole protocol
(about 1-2 s per 4 s chunk on two cores), while the classifier only needs their output. The
store keeps, per (UNet checkpoint, clip, version), the three base maps (mel-dB of R, H and P,
float16, ``(chunks, 3, 128, 345)``) in one ``.npy`` file, written atomically; the other four
channels are derived on the fly (:meth:`ForensicFeaturizer.channels_from_base`).

Taught in notebook ``03_train``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from artifactnet_core.detector.features import ForensicFeaturizer
from artifactnet_core.detector.unet import ArtifactUNet
from artifactnet_core.experiments.data import BenchData, split_chunks


def _atomic_save_npy(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class FeatureStore:
    """Base maps of benchmark clips for one residual extractor, cached on disk.

    Parameters
    ----------
    data : BenchData
        The benchmark.
    unet : ArtifactUNet or None
        The residual extractor (``None``: features straight from ``|X|``, the no-UNet ablation).
    key : str
        Identifies the extractor (e.g. a hash of its recipe); names the cache folder.
    featurizer : ForensicFeaturizer
        Mel/HPSS settings (its ``feature_set`` does not matter here: all three base maps are
        stored).
    cache_root : path
        Folder under which ``<key>/<version>/<clip path>.npy`` files live.
    device : str or torch.device
        Where the UNet and HPSS run.
    chunk_samples : int
        Chunk length in samples (4 s).
    batch_size : int
        Chunks per forward pass.
    """

    def __init__(self, data: BenchData, unet: ArtifactUNet | None, key: str, *,
                 featurizer: ForensicFeaturizer, cache_root: str | os.PathLike,
                 device: str | torch.device = "cpu", chunk_samples: int = 176_400,
                 batch_size: int = 4):
        self.data = data
        self.device = torch.device(device)
        self.unet = unet.to(self.device).eval() if unet is not None else None
        self.featurizer = featurizer.to(self.device)
        self.root = Path(cache_root) / key
        self.chunk_samples = chunk_samples
        self.batch_size = batch_size

    def _path(self, clip: str, version: str) -> Path:
        return self.root / version / Path(clip).with_suffix(".npy")

    @torch.no_grad()
    def _compute(self, chunks: np.ndarray) -> np.ndarray:
        from artifactnet_core.detector.spectral import magnitude

        out = []
        for i in range(0, chunks.shape[0], self.batch_size):
            audio = torch.from_numpy(chunks[i:i + self.batch_size]).to(self.device).clamp(-1, 1)
            mag = magnitude(audio)
            residual = self.unet.infer(mag) if self.unet is not None else mag
            out.append(self.featurizer.base_maps(mag, residual).half().cpu().numpy())
        return np.concatenate(out)

    def clip_maps(self, clip: str, version: str = "wav") -> np.ndarray:
        """Base maps of every chunk of one clip version, ``(chunks, 3, n_mels, frames)``."""
        self._fill([(clip, version)])
        return np.load(self._path(clip, version), allow_pickle=False)

    def _fill(self, items: Sequence[tuple[str, str]], *, progress: bool = False,
              desc: str = "features") -> None:
        """Compute and store the maps of the (clip, version) pairs not cached yet, batching
        chunks of several clips into each forward pass."""
        todo = list(dict.fromkeys(item for item in items if not self._path(*item).exists()))
        bar = tqdm(total=len(todo), desc=desc, disable=not progress or not todo)
        for start in range(0, len(todo), self.batch_size):
            group = todo[start:start + self.batch_size]
            chunks = [split_chunks(self.data.audio(clip, version), self.chunk_samples)
                      for clip, version in group]
            maps = self._compute(np.concatenate(chunks))
            offsets = np.cumsum([0] + [c.shape[0] for c in chunks])
            for k, item in enumerate(group):
                _atomic_save_npy(self._path(*item), maps[offsets[k]:offsets[k + 1]])
            bar.update(len(group))
        bar.close()

    def maps(self, clips: Sequence[str], versions: str | Sequence[str] = "wav", *,
             progress: bool = True, desc: str = "features") -> tuple[np.ndarray, np.ndarray]:
        """Stack the base maps of many clip versions.

        Parameters
        ----------
        clips : sequence of str
            Clip paths (relative to the bench root).
        versions : str or sequence of str
            One version for all clips, or one per clip.
        progress : bool
            tqdm progress bar over the clips still to compute.

        Returns
        -------
        (maps, owner)
            ``maps``: float16 ``(total chunks, 3, n_mels, frames)``; ``owner``: for each chunk,
            the index of its clip in ``clips``.
        """
        if isinstance(versions, str):
            versions = [versions] * len(clips)
        if len(versions) != len(clips):
            raise ValueError("one version per clip expected")
        items = list(zip(clips, versions, strict=True))
        self._fill(items, progress=progress, desc=desc)
        parts, owner = [], []
        for i, item in enumerate(items):
            m = np.load(self._path(*item), allow_pickle=False)
            parts.append(m)
            owner.extend([i] * m.shape[0])
        if not parts:
            n_mels = self.featurizer.filterbank.shape[0]
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
