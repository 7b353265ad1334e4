"""Codec drift of one file: does its score survive re-encoding?

The paper's codec drift Δ of a track is ``max - min`` of its P(AI) over four versions: the track
itself and its MP3, AAC and Opus round trips at 128 kbit/s (:data:`DRIFT_VERSIONS`). A detector
that reads codec traces instead of generator traces gives a large Δ; the paper reports a mean Δ
of 0.95 without codec-aware training and 0.16 with it. :func:`drift` is that spread, the one
definition the notebooks and ``detect --codec-check`` share; a file whose Δ exceeds
:data:`CODEC_UNSTABLE_DELTA` is flagged ``codec_unstable``: re-encoding it at a common bitrate
moves its score by more than a fifth of the scale, so its verdict depends on how it was encoded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from artifactnet_core.detector.codecs import CODECS, codec_roundtrip

#: The paper's four versions of a track for drift: itself, MP3, AAC and Opus at 128 kbit/s.
DRIFT_VERSIONS = ("wav", "mp3_128", "aac_128", "opus_128")
#: Δ above which a file is flagged ``codec_unstable`` (a fifth of the score's range; the
#: paper's codec-aware detector averages 0.16).
CODEC_UNSTABLE_DELTA = 0.2


def parse_version(version: str) -> tuple[str, int]:
    """Split ``"mp3_128"`` into ``("mp3", 128000)``; ``"wav"`` gives ``("wav", 0)``."""
    if version == "wav":
        return "wav", 0
    codec, _, kbps = version.partition("_")
    if codec not in CODECS or not kbps.isdigit():
        raise ValueError(f"bad version {version!r}: expected 'wav' or '<codec>_<kbps>' with codec "
                         f"in {CODECS[1:]}")
    return codec, int(kbps) * 1000


def version_audio(audio: np.ndarray, version: str, *, sr: int) -> np.ndarray:
    """A mono signal as the version ``version`` of it (``"wav"``: unchanged; ``"mp3_128"``: its
    MP3 round trip at 128 kbit/s), aligned and of the same length.

    Parameters
    ----------
    audio : numpy.ndarray
        1-D float signal.
    version : str
        ``"wav"`` or ``"<codec>_<kbps>"`` (:func:`parse_version`).
    sr : int
        Its sample rate in Hz.
    """
    codec, bitrate = parse_version(version)
    return codec_roundtrip(audio, sr=sr, codec=codec, bitrate=bitrate)


def drift(p_by_version: Mapping[str, float],
          versions: Sequence[str] | None = DRIFT_VERSIONS) -> float:
    """Codec drift Δ of one track: ``max - min`` of its P(AI) over its versions.

    Parameters
    ----------
    p_by_version : mapping of str to float
        P(AI) of the track's versions, e.g. ``{"wav": 0.91, "mp3_128": 0.88, ...}``.
    versions : sequence of str or None
        Versions that must all be present and are the only ones used (default: the paper's
        four); ``None`` uses every version given.

    Raises
    ------
    ValueError
        A required version is missing, fewer than two versions, or a score is not finite.
    """
    keys = list(p_by_version) if versions is None else list(versions)
    missing = [v for v in keys if v not in p_by_version]
    if missing:
        raise ValueError(f"no score for versions {missing}")
    values = [float(p_by_version[v]) for v in keys]
    if len(values) < 2:
        raise ValueError("drift needs the scores of at least two versions")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"scores must be finite, got {dict(zip(keys, values, strict=True))}")
    return max(values) - min(values)


def is_codec_unstable(delta: float) -> bool:
    """Whether a drift Δ exceeds :data:`CODEC_UNSTABLE_DELTA`."""
    return delta > CODEC_UNSTABLE_DELTA
