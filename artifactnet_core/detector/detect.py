"""Scoring files: stream a file in 4 s chunks, score a spread of them, aggregate per track.

A file is decoded as a stream (:func:`artifactnet_core.detector.audio.iter_audio`), so memory does not
grow with its length. When the header states the duration, at most ``max_chunks`` chunks evenly
spread over the file are scored; the rest are decoded and skipped. Chunks quieter than
``silence_dbfs`` carry no forensic information and are left out of the track score; a file
shorter than half a chunk gets no verdict. Every problem with one file, whatever raised it,
becomes an ``error`` on that file's result; the batch goes on.

Behind ``artifactnet detect`` and the Python API (:mod:`artifactnet_core.detector.api`).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from artifactnet_core.detector.audio import AUDIO_EXTENSIONS, AudioError, Source, audio_info
from artifactnet_core.detector.calibration import (
    OperatingPoint,
    apply_platt,
    resolve_operating_point,
)
from artifactnet_core.detector.chunking import ChunkStream
from artifactnet_core.detector.codec_check import (
    DRIFT_VERSIONS,
    drift,
    is_codec_unstable,
    version_audio,
)
from artifactnet_core.detector.model import ArtifactNet, aggregate_chunks, predict_chunks

#: Chunks whose RMS level is below this (dBFS) are not scored.
SILENCE_DBFS = -70.0
#: Files whose header states a duration above this (seconds) get a progress bar of their own.
PROGRESS_MIN_S = 60.0
#: The name a stream read from stdin is given in results.
STDIN = "-"


@dataclass
class Detection:
    """The result for one file.

    ``p_ai`` is the detector's score in [0, 1] (the aggregate of its chunks' P(AI)) and
    ``label`` is ``"ai"`` when ``p_ai >= threshold``; both are ``None`` when ``error`` is set.
    ``threshold`` and ``operating_point`` say which threshold gave the label
    (:class:`~artifactnet_core.detector.calibration.OperatingPoint`). ``p_calibrated`` is the
    calibrated P(AI) where the weights carry a calibration. ``p_versions``, ``codec_delta`` and
    ``codec_unstable`` are filled by a codec check (:mod:`~artifactnet_core.detector.codec_check`).
    """

    path: str
    p_ai: float | None = None
    label: str | None = None
    duration_s: float | None = None
    error: str | None = None
    chunk_start_s: list[float] = field(default_factory=list)
    chunk_p_ai: list[float] = field(default_factory=list)
    threshold: float | None = None
    operating_point: str | None = None
    p_calibrated: float | None = None
    p_versions: dict[str, float] = field(default_factory=dict)
    codec_delta: float | None = None
    codec_unstable: bool | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def timeline(self) -> list[tuple[float, float]]:
        """``(start in seconds, P(AI))`` of each scored chunk."""
        return list(zip(self.chunk_start_s, self.chunk_p_ai, strict=True))

    def as_pipeline_output(self) -> list[dict[str, Any]]:
        """The result in the shape of a Hugging Face audio-classification pipeline:
        ``[{"label": "ai", "score": p}, {"label": "real", "score": 1 - p}]``, highest score
        first. ``p`` is the calibrated P(AI) when the weights carry a calibration, else the
        detector's score (a ranking score, not a calibrated probability).

        Raises
        ------
        ValueError
            The file could not be scored (the message names it and says why).
        """
        if not self.ok:
            raise ValueError(f"{self.path}: {self.error}")
        p = self.p_ai if self.p_calibrated is None else self.p_calibrated
        out = [{"label": "ai", "score": p}, {"label": "real", "score": 1.0 - p}]
        return sorted(out, key=lambda row: -row["score"])

    def to_dict(self, *, timeline: bool = False) -> dict[str, Any]:
        """The result as a JSON-able dict (``None`` where a value is missing, never NaN)."""
        row = {"path": self.path, "p_ai": _finite(self.p_ai), "label": self.label,
               "duration_s": _finite(self.duration_s), "error": self.error,
               "threshold": _finite(self.threshold), "operating_point": self.operating_point,
               "p_calibrated": _finite(self.p_calibrated)}
        for version, p in self.p_versions.items():
            row[f"p_{version}"] = _finite(p)
        if self.p_versions or self.codec_delta is not None:
            row["codec_delta"] = _finite(self.codec_delta)
            row["codec_unstable"] = self.codec_unstable
        if timeline:
            row["timeline"] = [{"start_s": s, "p_ai": _finite(p)} for s, p in self.timeline]
        return row


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def find_audio_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand the given paths: files are kept as they are (whatever their ending), folders are
    searched recursively for audio files (by ending, :data:`AUDIO_EXTENSIONS`; macOS ``._*``
    companions left out), sorted. Symbolic links to folders are followed once (a link loop is
    not entered twice). Missing paths, and folders that cannot be listed, are kept so that
    they get an error row; ``-`` (stdin) is kept as it is."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if os.fspath(raw) != STDIN and _is_dir(path):
            found.extend(_search(path))
        else:
            found.append(path)
    return found


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # e.g. a folder on its path cannot be entered: its error row says so
        return False


def _search(root: Path) -> list[Path]:
    files: list[Path] = []
    unreadable: list[Path] = []
    seen: set[tuple[int, int]] = set()

    def first_visit(folder: str) -> bool:
        try:
            st = os.stat(folder)
        except OSError:
            return True  # os.walk's onerror reports it
        key = (st.st_dev, st.st_ino)
        if key in seen:
            return False
        seen.add(key)
        return True

    first_visit(os.fspath(root))
    for folder, dirs, names in os.walk(root, followlinks=True,
                                       onerror=lambda err: unreadable.append(Path(err.filename))):
        dirs[:] = [d for d in sorted(dirs) if first_visit(os.path.join(folder, d))]
        files.extend(Path(folder) / n for n in names
                     if not n.startswith("._") and Path(n).suffix.lower() in AUDIO_EXTENSIONS)
    return sorted(files + unreadable)


def _rms(chunk: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(chunk, dtype=np.float64))))


def _short(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:300]


def detect_file(source: Source, model: ArtifactNet, *, max_chunks: int | None = 16,
                batch_size: int = 2, threshold: float | None = None,
                operating_point: str | OperatingPoint | None = None, codec_check: bool = False,
                min_seconds: float | None = None, name: str | None = None,
                progress: bool = False, precision: str = "auto") -> Detection:
    """Score one file; never raises for a bad file (the error is in the result).

    Parameters
    ----------
    source : path or binary file object
        Audio file (a regular file; see :func:`artifactnet_core.detector.audio.iter_audio`).
    model : ArtifactNet
        A trained detector (in eval mode, on the device it should run on).
    max_chunks : int or None
        Score at most this many 4 s chunks, evenly spread (``None`` or 0: all chunks).
    batch_size : int
        Chunks per forward pass (memory grows with it, not with the file).
    threshold : float, optional
        Decision threshold on P(AI) in [0, 1]; overrides ``operating_point``.
    operating_point : str or OperatingPoint, optional
        ``"fpr1"``, ``"fpr5"`` or ``"f1"`` (see :mod:`~artifactnet_core.detector.calibration`),
        or a resolved point. Default: the threshold of the model's config.
    codec_check : bool
        Also score each scored chunk's MP3, AAC and Opus 128 kbit/s round trips (in memory) and
        report P(AI) per version, their spread Δ and ``codec_unstable`` (four times the work).
    min_seconds : float, optional
        Shortest audio that gets a verdict, in seconds (default: half a chunk, 2 s; a shorter
        file would be mostly zero padding).
    name : str, optional
        How the file is named in the result (default: its path).
    progress : bool
        Show a progress bar (stderr) for a file longer than :data:`PROGRESS_MIN_S`.
    precision : {"auto", "fp32", "bf16", "int8"}
        The UNet's arithmetic (:meth:`~artifactnet_core.detector.unet.ArtifactUNet.infer`);
        the operating points were set on ``auto``'s.
    """
    cfg = model.config
    if not isinstance(operating_point, OperatingPoint):
        operating_point = resolve_operating_point(cfg, operating_point, threshold)
    elif threshold is not None:
        operating_point = resolve_operating_point(cfg, None, threshold)
    result = Detection(path=name or _source_name(source), threshold=operating_point.threshold,
                       operating_point=operating_point.name)
    try:
        _score(source, model, result, max_chunks=max_chunks, batch_size=batch_size,
               codec_check=codec_check, min_seconds=min_seconds, progress=progress,
               precision=precision)
    except AudioError as err:
        result.error = err.reason
    except Exception as err:  # noqa: BLE001 - whatever goes wrong, this file gets an error row
        result.error = f"scoring failed ({type(err).__name__}: {_short(err)})"
    if result.error:
        result.p_ai = result.label = result.p_calibrated = result.codec_delta = None
        result.codec_unstable = None
        result.p_versions = {}
        result.chunk_start_s, result.chunk_p_ai = [], []
    return result


def _source_name(source: Source) -> str:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return getattr(source, "name", None) or "<in-memory audio>"


def _score(source: Source, model: ArtifactNet, result: Detection, *, max_chunks: int | None,
           batch_size: int, codec_check: bool, min_seconds: float | None,
           progress: bool, precision: str) -> None:
    """Fill ``result`` from the chunks of ``source``; raises on any problem."""
    cfg = model.config
    sr = cfg.sample_rate
    min_seconds = cfg.chunk_seconds / 2 if min_seconds is None else min_seconds
    versions = DRIFT_VERSIONS if codec_check else ("wav",)
    probs: dict[str, list[float]] = {v: [] for v in versions}
    starts: list[float] = []
    levels: list[float] = []
    batch: list[np.ndarray] = []

    def flush() -> None:
        chunks = np.stack(batch)
        for v in versions:
            x = chunks if v == "wav" else np.stack([version_audio(c, v, sr=sr) for c in chunks])
            probs[v].extend(predict_chunks(model, x, batch=batch_size,
                                           precision=precision).tolist())
        batch.clear()

    stream = ChunkStream(source, sr=sr, chunk_samples=cfg.chunk_samples, max_chunks=max_chunks)
    for start, chunk in _with_progress(stream, source, sr, enabled=progress, name=result.path):
        level = _rms(chunk)
        if 20.0 * math.log10(max(level, 1e-12)) < SILENCE_DBFS:
            continue
        batch.append(chunk)
        starts.append(start / sr)
        levels.append(level)
        if len(batch) == batch_size:
            flush()
    result.duration_s = stream.samples_read / sr
    if result.duration_s < min_seconds:
        raise AudioError(result.path, f"too short: {result.duration_s:.2f} s of audio, a verdict "
                                      f"needs at least {min_seconds:g} s")
    if batch:
        flush()
    if not starts:
        raise AudioError(result.path, f"silent: no {cfg.chunk_seconds:g} s chunk above "
                                      f"{SILENCE_DBFS:.0f} dBFS, nothing to analyse")
    for v, p in probs.items():
        if not np.isfinite(p).all():
            raise AudioError(result.path, f"the model gave a non-finite P(AI) ({v}): its weights "
                                          "are broken")
    weights = np.array(levels)
    per_version = {v: aggregate_chunks(np.array(p), method=cfg.aggregate, weights=weights)
                   for v, p in probs.items()}
    result.chunk_start_s = starts
    result.chunk_p_ai = probs["wav"]
    result.p_ai = per_version["wav"]
    result.label = "ai" if result.p_ai >= result.threshold else "real"
    if cfg.calibration:
        result.p_calibrated = apply_platt(result.p_ai, cfg.calibration)
    if codec_check:
        result.p_versions = per_version
        result.codec_delta = drift(per_version, DRIFT_VERSIONS)
        result.codec_unstable = is_codec_unstable(result.codec_delta)


def _with_progress(stream: ChunkStream, source: Source, sr: int, *, enabled: bool,
                   name: str) -> Iterator[tuple[int, np.ndarray]]:
    """The stream's chunks; with a progress bar in seconds of audio when ``enabled`` and the
    header says the file is longer than :data:`PROGRESS_MIN_S`."""
    duration = audio_info(source).duration_s if enabled else None
    if duration is None or duration < PROGRESS_MIN_S:
        yield from stream
        return
    from tqdm import tqdm

    with tqdm(total=round(duration), unit="s", desc=os.path.basename(name)[:40], leave=False,
              file=sys.stderr) as bar:
        for item in stream:
            bar.n = min(round(stream.samples_read / sr), bar.total)
            bar.refresh()
            yield item
