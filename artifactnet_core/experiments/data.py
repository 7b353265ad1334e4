"""Benchmark clips as training and evaluation data: codec versions, chunks, splits.

A *version* of a clip is the clip itself (``"wav"``) or its round-trip through a lossy codec at a
bitrate (``"mp3_128"``: MP3 at 128 kbit/s). Versions are made once and cached beside the
benchmark, so the UNet, the classifier and the evaluation all see exactly the same bytes.

Taught in notebooks ``03_train`` and ``05_codec_drift``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from artifactnet_core.atomic import atomic_write_audio, stable_hash
from artifactnet_core.bench.manifest import load_manifest
from artifactnet_core.detector.audio import SAMPLE_RATE, load_audio
from artifactnet_core.detector.codecs import CODECS, codec_roundtrip

#: The paper's four codec conditions for drift (WAV, MP3/AAC/Opus at 128 kbit/s).
DRIFT_VERSIONS = ("wav", "mp3_128", "aac_128", "opus_128")
#: Lossy versions drawn for codec-aware training (the paper's 4-way WAV/MP3/AAC/Opus, at several
#: bitrates). Vorbis is left out of training on purpose: the codec control can then test it unseen.
TRAIN_LOSSY_VERSIONS = ("mp3_64", "mp3_96", "mp3_128", "mp3_192", "aac_64", "aac_96", "aac_128",
                        "aac_192", "opus_64", "opus_96", "opus_128", "opus_192")
#: The referee's control: real audio through every codec at 64 and 128 kbit/s.
CONTROL_VERSIONS = tuple(f"{c}_{b}" for c in ("mp3", "aac", "opus", "vorbis") for b in (64, 128))


def parse_version(version: str) -> tuple[str, int]:
    """Split ``"mp3_128"`` into ``("mp3", 128000)``; ``"wav"`` gives ``("wav", 0)``."""
    if version == "wav":
        return "wav", 0
    codec, _, kbps = version.partition("_")
    if codec not in CODECS or not kbps.isdigit():
        raise ValueError(f"bad version {version!r}: expected 'wav' or '<codec>_<kbps>' with codec "
                         f"in {CODECS[1:]}")
    return codec, int(kbps) * 1000


def chunk_starts(n_samples: int, chunk_samples: int) -> list[int]:
    """Start samples of the chunks that tile a signal of ``n_samples``.

    The same rule as :class:`artifactnet_core.detector.detect.ChunkStream`: whole chunks from the start,
    plus the last ``chunk_samples`` when the remainder is at least half a chunk; a signal shorter
    than one chunk gives one (zero-padded) chunk at 0.
    """
    full = n_samples // chunk_samples
    starts = [i * chunk_samples for i in range(full)]
    remainder = n_samples - full * chunk_samples
    if full == 0:
        return [0]
    if remainder >= chunk_samples // 2:
        starts.append(n_samples - chunk_samples)
    return starts


def split_chunks(audio: np.ndarray, chunk_samples: int) -> np.ndarray:
    """Cut a signal into the chunks of :func:`chunk_starts`, shape ``(n_chunks, chunk_samples)``."""
    out = []
    for start in chunk_starts(audio.shape[0], chunk_samples):
        chunk = audio[start:start + chunk_samples]
        if chunk.shape[0] < chunk_samples:
            chunk = np.pad(chunk, (0, chunk_samples - chunk.shape[0]))
        out.append(chunk)
    return np.stack(out).astype(np.float32)


def assigned_version(clip_id: str, *, seed: int, versions: tuple[str, ...] = TRAIN_LOSSY_VERSIONS
                     ) -> str:
    """The lossy version a clip gets for codec-aware training, drawn from ``versions`` by a
    stable hash of the clip id and seed (the same for the real clip and its regenerations)."""
    return versions[int(stable_hash("version", clip_id, seed), 16) % len(versions)]


class BenchData:
    """A built benchmark: its manifest plus cached access to every clip's versions.

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
        self.version_dir = self.root / "versions"

    def __repr__(self) -> str:
        return f"BenchData({self.manifest_path}, {len(self.df)} clips)"

    def audio(self, path: str, version: str = "wav") -> np.ndarray:
        """Mono float32 samples of the clip at ``path`` (relative to the bench root) in a version.

        Lossy versions are computed once (aligned, same length) and cached as 16-bit FLAC.
        """
        if version == "wav":
            return load_audio(self.root / path, sr=self.sr)
        cached = self.version_dir / version / Path(path).with_suffix(".flac")
        if cached.exists():
            return load_audio(cached, sr=self.sr)
        codec, bitrate = parse_version(version)
        out = codec_roundtrip(load_audio(self.root / path, sr=self.sr), sr=self.sr, codec=codec,
                              bitrate=bitrate)
        atomic_write_audio(cached, out, sr=self.sr)
        return load_audio(cached, sr=self.sr)

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
