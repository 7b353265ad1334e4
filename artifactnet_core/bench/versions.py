"""Codec versions of benchmark clips: each clip once through a lossy codec, cached beside the bench.

A *version* of a clip is the clip itself (``"wav"``), its round trip through a lossy codec at a
bitrate (``"mp3_128"``: MP3 at 128 kbit/s), or a chain of them (``"mp3_128+aac_128"``). Versions are made once, aligned and of the clip's
length (:func:`artifactnet_core.detector.codecs.codec_roundtrip`), and stored as 16-bit FLAC under
``<bench>/versions/<version>/``, so the UNet, the classifier and the evaluation all read exactly
the same samples. This is the benchmark layer's job: training and evaluation ask for versions and
receive arrays (:class:`artifactnet_core.experiments.data.BenchData`), they never run a codec.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from artifactnet_core.atomic import atomic_write_audio
from artifactnet_core.detector.audio import load_audio
from artifactnet_core.detector.codec_check import DRIFT_VERSIONS, parse_version
from artifactnet_core.detector.codecs import codec_roundtrip
from artifactnet_core.detector.config import SAMPLE_RATE

# The paper's four drift versions and the version names are defined with the codec check
# (detector layer); the notebooks and the data layer import them from here too.
__all__ = ["CONTROL_VERSIONS", "DRIFT_VERSIONS", "TRAIN_LOSSY_VERSIONS", "make_versions",
           "parse_version", "version_path", "version_steps"]

#: Lossy versions drawn for codec-aware training (the paper's 4-way WAV/MP3/AAC/Opus, at several
#: bitrates). Vorbis is left out of training on purpose: the codec control can then test it unseen.
TRAIN_LOSSY_VERSIONS = ("mp3_64", "mp3_96", "mp3_128", "mp3_192", "aac_64", "aac_96", "aac_128",
                        "aac_192", "opus_64", "opus_96", "opus_128", "opus_192")
#: The referee's control: real audio through every codec at 64 and 128 kbit/s.
CONTROL_VERSIONS = tuple(f"{c}_{b}" for c in ("mp3", "aac", "opus", "vorbis") for b in (64, 128))


def version_steps(version: str) -> list[tuple[str, int]]:
    """The codec passes of a version: ``"mp3_128+aac_128"`` is an MP3 round trip at 128 kbit/s
    followed by an AAC one (a chain of re-encodes); ``"wav"`` has none."""
    steps = [parse_version(part) for part in version.split("+")]
    return [(codec, bitrate) for codec, bitrate in steps if codec != "wav"]


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
        out = load_audio(root / clip, sr=sr)
        for codec, bitrate in version_steps(version):
            out = codec_roundtrip(out, sr=sr, codec=codec, bitrate=bitrate)
        atomic_write_audio(version_path(root, clip, version), out, sr=sr)
