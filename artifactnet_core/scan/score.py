"""The model's half of one file's detection, and the scan's row for it.

:func:`score_decoded` scores the chunks :func:`artifactnet_core.scan.decode.decode_file` kept with
:func:`artifactnet_core.detector.detect.detect_file` itself, so a scan can never drift from
``detect`` (silence rule, batching, aggregation, operating point, calibration, errors): the
chunks, back to back, are handed to it as an in-memory float32 WAV, which its chunking rule cuts
into exactly those chunks again (each is a whole chunk long; a file shorter than one chunk is
handed over unpadded, so its length rules apply too). The file's real duration and chunk
positions are then put back. The hop through WAV costs a few milliseconds per file; a
``detect`` entry point that takes decoded chunks would remove it. :func:`model_id` names the
weights a row was scored with.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import soundfile as sf

from artifactnet_core.atomic import file_sha256, stable_hash
from artifactnet_core.detector.calibration import OperatingPoint, resolve_operating_point
from artifactnet_core.detector.detect import Detection, detect_file
from artifactnet_core.detector.model import ArtifactNet
from artifactnet_core.scan.decode import DecodedFile


def model_id(weights: str | os.PathLike) -> str:
    """``<stem>-<hash>``: the checkpoint's name and a hash of its tensors and its JSON config
    (threshold included), so rows from different weights never pass for one another."""
    path = Path(weights)
    digest = stable_hash(file_sha256(path), file_sha256(path.with_suffix(".json")))
    return f"{path.stem}-{digest}"


def _as_wav(samples: np.ndarray, sr: int) -> io.BytesIO:
    buf = io.BytesIO()
    sf.write(buf, samples, sr, format="WAV", subtype="FLOAT")
    buf.seek(0)
    return buf


def score_decoded(decoded: DecodedFile, model: ArtifactNet, *, batch_size: int = 2,
                  operating_point: OperatingPoint | None = None) -> Detection:
    """The detection of a decoded file, as ``detect_file`` gives it for the file itself; never
    raises for a bad file (the error is in the result).

    Parameters
    ----------
    decoded : DecodedFile
        The file's chunks (or its decoding error).
    model : ArtifactNet
        The detector, in eval mode on the device it should run on.
    batch_size : int
        Chunks per forward pass (``detect_file``'s default: 2).
    operating_point : OperatingPoint, optional
        The threshold that labels the file
        (:func:`~artifactnet_core.detector.calibration.resolve_operating_point`); default: the
        config's.
    """
    cfg = model.config
    point = operating_point or resolve_operating_point(cfg)
    if decoded.error is not None:
        return Detection(path=decoded.path, error=decoded.error, threshold=point.threshold,
                         operating_point=point.name)
    n = cfg.chunk_samples
    samples = (decoded.chunks[0, :decoded.samples_read] if decoded.samples_read < n
               else decoded.chunks.reshape(-1))
    result = detect_file(_as_wav(samples, cfg.sample_rate), model, max_chunks=None,
                         batch_size=batch_size, operating_point=point, name=decoded.path)
    if result.duration_s is not None:  # it got as far as decoding: the file's own length
        result.duration_s = decoded.samples_read / cfg.sample_rate
    if result.ok:
        index = np.rint(np.asarray(result.chunk_start_s) * cfg.sample_rate / n).astype(int)
        result.chunk_start_s = (decoded.starts[index] / cfg.sample_rate).tolist()
    return result


def scan_row(detection: Detection, *, model: str, file_hash: str | None) -> dict:
    """The scan's row for one file (:data:`artifactnet_core.scan.shards.COLUMNS`)."""
    return {"path": detection.path, "p_ai": detection.p_ai, "label": detection.label,
            "duration_s": detection.duration_s, "error": detection.error,
            "threshold": detection.threshold, "operating_point": detection.operating_point,
            "p_calibrated": detection.p_calibrated, "model_id": model, "file_sha256": file_hash}
