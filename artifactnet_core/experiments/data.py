"""A built benchmark as training and evaluation data: rows of a split, clip versions as arrays.

:class:`BenchData` reads a manifest and hands out decoded clip versions as arrays
(:meth:`BenchData.load`): lossy versions are made once by the benchmark layer
(:mod:`artifactnet_core.bench.versions`), so training and feature caching consume arrays and
never run a codec or decode a file themselves.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from artifactnet_core.atomic import stable_hash
from artifactnet_core.bench.manifest import load_manifest
from artifactnet_core.bench.versions import TRAIN_LOSSY_VERSIONS, make_versions, version_path
from artifactnet_core.detector.audio import load_audio
from artifactnet_core.detector.config import SAMPLE_RATE

#: A clip version: (clip path relative to the bench root, version name).
Item = tuple[str, str]


def assigned_version(clip_id: str, *, seed: int, versions: tuple[str, ...] = TRAIN_LOSSY_VERSIONS
                     ) -> str:
    """The lossy version a clip gets for codec-aware training, drawn from ``versions`` by a
    stable hash of the clip id and seed (the same for the real clip and its regenerations)."""
    return versions[int(stable_hash("version", clip_id, seed), 16) % len(versions)]


def training_items(rows: pd.DataFrame, *, codec_aware: bool, seed: int) -> list[Item]:
    """Clip versions a model trains or validates on: each clip's WAV, then (codec-aware) each
    clip's assigned lossy version, in row order."""
    items = [(p, "wav") for p in rows["path"]]
    if codec_aware:
        items += [(p, assigned_version(c, seed=seed))
                  for p, c in zip(rows["path"], rows["clip_id"], strict=True)]
    return items


def item_labels(rows: pd.DataFrame, *, codec_aware: bool) -> np.ndarray:
    """1 for AI, 0 for real, one per item of :func:`training_items` of the same arguments."""
    labels = (rows["label"] == "ai").to_numpy().astype(int)
    return np.tile(labels, 2 if codec_aware else 1)


class BenchData:
    """A built benchmark: its manifest plus its clip versions as arrays.

    Parameters
    ----------
    manifest : path
        ``manifest.csv`` of an ArtifactBench-mini build (or a compatible external manifest).
    sr : int
        Sample rate in Hz.
    """

    def __init__(self, manifest: str | os.PathLike, *, sr: int = SAMPLE_RATE):
        self.manifest_path = Path(manifest)
        self.root = self.manifest_path.resolve().parent
        self.df = load_manifest(self.manifest_path)
        self.sr = sr
        sha_file = self.root / "manifest.sha256"
        self.sha256 = (sha_file.read_text().split()[0] if sha_file.exists()
                       else stable_hash(self.df.to_csv(index=False), length=64))

    def __repr__(self) -> str:
        return f"BenchData({self.manifest_path}, {len(self.df)} clips)"

    def load(self, items: Sequence[Item], *, progress: bool = False) -> dict[Item, np.ndarray]:
        """Decoded mono float32 samples of clip versions, ``{(path, version): array}``.

        Lossy versions not cached yet are made first (aligned, same length as the clip).
        """
        items = list(dict.fromkeys(items))
        make_versions(self.root, items, sr=self.sr, progress=progress)
        return {item: load_audio(version_path(self.root, *item), sr=self.sr) for item in items}

    def audio(self, path: str, version: str = "wav") -> np.ndarray:
        """One clip version (see :meth:`load`)."""
        return self.load([(path, version)])[(path, version)]

    def rows(self, *, split: str | tuple[str, ...], protocol: str = "zero_shot",
             exclude_families: tuple[str, ...] = ()) -> pd.DataFrame:
        """Manifest rows of a split under a protocol.

        Parameters
        ----------
        split : str or tuple of str
            ``"train"``, ``"val"``, ``"test"`` (or several).
        protocol : {"zero_shot", "track"}
            ``zero_shot`` reads the ``split`` column (held-out families and source only in
            test); ``track`` reads ``split_track`` (the paper's track-level hold-out).
        exclude_families : tuple of str
            Drop AI rows of these families (e.g. a family kept for validation only).
        """
        column = {"zero_shot": "split", "track": "split_track"}[protocol]
        splits = (split,) if isinstance(split, str) else split
        df = self.df[self.df[column].isin(splits)]
        if exclude_families:
            df = df[~((df["label"] == "ai") & df["family"].isin(exclude_families))]
        return df.reset_index(drop=True)
