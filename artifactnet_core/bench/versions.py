"""Codec versions of benchmark clips: each clip once through a lossy codec, cached beside the bench.

A *version* of a clip is the clip itself (``"wav"``) or its round trip through a lossy codec at a
bitrate (``"mp3_128"``: MP3 at 128 kbit/s). Versions are made once, aligned and of the clip's
length (:func:`artifactnet_core.detector.codecs.codec_roundtrip`), and stored as 16-bit FLAC under
``<bench>/versions/<version>/``, so the UNet, the classifier and the evaluation all read exactly
the same samples. This is the benchmark layer's job: training and evaluation ask for versions and
receive arrays (:class:`artifactnet_core.experiments.data.BenchData`), they never run a codec.

Taught in notebook ``05_codec_drift``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from artifactnet_core.atomic import atomic_write_audio
from artifactnet_core.detector.audio import load_audio
from artifactnet_core.detector.codecs import CODECS, codec_roundtrip
from artifactnet_core.detector.config import SAMPLE_RATE

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


def version_path(root: Path, clip: str, version: str) -> Path:
    """Where a clip's version lives: the clip itself for ``"wav"``, else its cached FLAC."""
    if version == "wav":
        return root / clip
    return root / "versions" / version / Path(clip).with_suffix(".flac")


def make_versions(root: Path, items: Sequence[tuple[str, str]], *, sr: int = SAMPLE_RATE,
                  progress: bool = False) -> None:
    """Make the lossy versions among ``items`` that are not cached yet.

    Parameters
    ----------
    root : pathlib.Path
        The bench folder (clip paths are relative to it).
    items : sequence of (clip path, version)
        Versions wanted; ``"wav"`` items and cached versions are skipped.
    sr : int
        Sample rate of the clips in Hz.
    progress : bool
        tqdm progress bar over the versions made.
    """
    todo = [(clip, version) for clip, version in dict.fromkeys(items)
            if version != "wav" and not version_path(root, clip, version).exists()]
    for clip, version in tqdm(todo, desc="codec versions", unit="clip",
                              disable=not progress or not todo):
        codec, bitrate = parse_version(version)
        out = codec_roundtrip(load_audio(root / clip, sr=sr), sr=sr, codec=codec,
                              bitrate=bitrate)
        atomic_write_audio(version_path(root, clip, version), out, sr=sr)
