"""Audio input/output: any common format in, mono float32 at 44.1 kHz out, streamed in blocks.

Decoding tries soundfile (libsndfile: WAV, FLAC, OGG/Vorbis, Opus, MP3) first and falls back to
PyAV (FFmpeg: M4A/AAC, MP3, Opus, and anything else FFmpeg reads). Channels are averaged to mono
and the rate converted with soxr's linear-phase resampler, so a decoded file never lags its
source. Every failure is raised as :class:`AudioError` with the file name and the reason.

Taught in notebook ``00_quickstart``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from artifactnet_core.detector.config import SAMPLE_RATE

#: File name endings treated as audio when a folder is searched.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".mp4",
                    ".aif", ".aiff", ".wma", ".webm", ".mka")
# Container formats whose header states the exact frame count, so a short read means truncation.
_EXACT_LENGTH_FORMATS = {"WAV", "WAVEX", "FLAC", "AIFF", "RF64", "W64", "CAF"}
# Elsewhere (MP3's Xing header, MP4 and Ogg durations) the stated length may be an estimate: only
# a shortfall beyond this fraction counts as truncation.
_LENGTH_TOLERANCE = 0.05
_BLOCK_FRAMES = 65_536

Source = str | os.PathLike | BinaryIO


class AudioError(Exception):
    """A file that cannot be turned into usable audio; ``str(err)`` names the file and why."""

    def __init__(self, source: Source | str, reason: str):
        self.source = _name(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says: native rate (Hz), channels, and duration (s) if stated."""

    sample_rate: int
    channels: int
    duration_s: float | None
    backend: str


def _name(source: Source | str) -> str:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return getattr(source, "name", None) or "<in-memory audio>"


def _check_nonempty(source: Source) -> None:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise AudioError(source, "no such file")
        if path.is_dir():
            raise AudioError(source, "is a folder, not an audio file")
        if path.stat().st_size == 0:
            raise AudioError(source, "empty file (0 bytes)")


def _rewind(source: Source) -> None:
    if hasattr(source, "seek"):
        source.seek(0)


def audio_info(source: Source) -> AudioInfo:
    """Read a file's header without decoding it.

    Parameters
    ----------
    source : path or binary file object
        The audio file.

    Returns
    -------
    AudioInfo
        Native sample rate (Hz), channel count, duration in seconds (``None`` when the container
        does not state it) and the backend that will decode it.
    """
    _check_nonempty(source)
    try:
        _rewind(source)
        info = sf.info(source)
        if info.frames > 0 and info.samplerate > 0:
            return AudioInfo(int(info.samplerate), int(info.channels),
                             info.frames / info.samplerate, "soundfile")
    except Exception:  # noqa: BLE001 - anything libsndfile rejects goes to FFmpeg
        pass
    import av

    try:
        _rewind(source)
        with av.open(source, mode="r") as container:
            if not container.streams.audio:
                raise AudioError(source, "no audio stream in the file")
            stream = container.streams.audio[0]
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            return AudioInfo(int(stream.rate or 0), int(stream.channels or 0), duration, "pyav")
    except AudioError:
        raise
    except Exception as err:  # noqa: BLE001 - FFmpeg raises many error types
        raise AudioError(source, f"not a readable audio file ({_short(err)})") from err


def _short(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:200]


def _soundfile_blocks(source: Source) -> Iterator[tuple[np.ndarray, int]]:
    """Yield (frames x channels float32 block, native rate) through libsndfile."""
    _rewind(source)
    with sf.SoundFile(source) as f:
        declared = f.frames
        exact = f.format in _EXACT_LENGTH_FORMATS
        got = 0
        while True:
            block = f.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
            if block.shape[0] == 0:
                break
            got += block.shape[0]
            yield block, int(f.samplerate)
        _check_length(source, declared, got, int(f.samplerate),
                      tolerance=0.0 if exact else _LENGTH_TOLERANCE)


def _check_length(source: Source, declared: float | None, got: int, rate: int, *,
                  tolerance: float) -> None:
    """Raise if fewer frames were decoded than the header promises (beyond ``tolerance``)."""
    if declared and declared > 0 and got < declared * (1.0 - tolerance) - 1:
        raise AudioError(source, f"truncated: the header promises {declared / rate:.2f} s, "
                                 f"only {got / rate:.2f} s could be decoded")


def _pyav_blocks(source: Source) -> Iterator[tuple[np.ndarray, int]]:
    """Yield (frames x channels float32 block, native rate) through FFmpeg."""
    import av

    _rewind(source)
    try:
        container = av.open(source, mode="r")
    except Exception as err:  # noqa: BLE001
        raise AudioError(source, f"not a readable audio file ({_short(err)})") from err
    with container:
        if not container.streams.audio:
            raise AudioError(source, "no audio stream in the file")
        stream = container.streams.audio[0]
        declared_s = (float(stream.duration * stream.time_base)
                      if stream.duration is not None and stream.time_base is not None else None)
        rate = None
        got = 0
        try:
            for frame in container.decode(stream):
                array = frame.to_ndarray()
                channels = len(frame.layout.channels)
                if frame.format.is_planar:
                    block = array.T
                else:
                    block = array.reshape(-1, channels)
                block = _to_float32(block)
                if rate is None:
                    rate = int(frame.sample_rate)
                elif frame.sample_rate != rate:
                    raise AudioError(source, "sample rate changes inside the stream")
                got += block.shape[0]
                yield block, rate
        except AudioError:
            raise
        except Exception as err:  # noqa: BLE001 - corrupt or truncated data
            raise AudioError(source, f"decoding failed, file damaged or truncated "
                                     f"({_short(err)})") from err
        if rate and declared_s:
            _check_length(source, declared_s * rate, got, rate, tolerance=_LENGTH_TOLERANCE)


def _to_float32(block: np.ndarray) -> np.ndarray:
    if block.dtype.kind == "f":
        return np.ascontiguousarray(block, dtype=np.float32)
    if block.dtype == np.uint8:
        return ((block.astype(np.float32) - 128.0) / 128.0).copy()
    scale = float(np.iinfo(block.dtype).max) + 1.0
    return (block.astype(np.float32) / scale).copy()


def _native_blocks(source: Source) -> Iterator[tuple[np.ndarray, int]]:
    """Pick the decoder: libsndfile when it opens the file, FFmpeg otherwise."""
    try:
        _rewind(source)
        with sf.SoundFile(source):
            pass
        use_soundfile = True
    except Exception:  # noqa: BLE001
        use_soundfile = False
    if use_soundfile:
        try:
            yield from _soundfile_blocks(source)
            return
        except AudioError:
            raise
        except Exception as err:  # noqa: BLE001 - libsndfile failed mid-file
            raise AudioError(source, f"decoding failed, file damaged or truncated "
                                     f"({_short(err)})") from err
    yield from _pyav_blocks(source)


def iter_audio(source: Source, *, sr: int = SAMPLE_RATE) -> Iterator[np.ndarray]:
    """Decode a file as a stream of mono float32 blocks at ``sr``.

    Memory stays constant whatever the file's length: only one block is held at a time.

    Parameters
    ----------
    source : path or binary file object
        Any format soundfile or FFmpeg can read (WAV, FLAC, OGG/Vorbis, Opus, MP3, M4A/AAC, ...).
    sr : int
        Output sample rate in Hz (default 44,100, the detector's rate).

    Yields
    ------
    numpy.ndarray
        1-D float32 blocks; concatenated they are the whole mono signal. Samples are not clipped.

    Raises
    ------
    AudioError
        Missing or empty file, not audio, damaged/truncated data, NaN or infinite samples, or no
        samples at all.
    """
    _check_nonempty(source)
    resampler = None
    total = 0
    for block, rate in _native_blocks(source):
        if not np.isfinite(block).all():
            raise AudioError(source, "contains NaN or infinite sample values")
        mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
        if rate == sr:
            out = mono
        else:
            if resampler is None:
                resampler = soxr.ResampleStream(rate, sr, 1, dtype="float32", quality="HQ")
            out = resampler.resample_chunk(mono, last=False)
        total += mono.shape[0]
        if out.size:
            yield out
    if total == 0:
        raise AudioError(source, "no audio samples (zero length)")
    if resampler is not None:
        tail = resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        if tail.size:
            yield tail


def load_audio(source: Source, *, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Decode a whole file to one mono float32 array at ``sr`` Hz (see :func:`iter_audio`)."""
    blocks = list(iter_audio(source, sr=sr))
    return np.concatenate(blocks) if len(blocks) > 1 else blocks[0].copy()


def write_audio(path: str | os.PathLike, audio: np.ndarray, *, sr: int = SAMPLE_RATE,
                subtype: str | None = None) -> Path:
    """Write a mono (n,) or multichannel (n, channels) signal as WAV or FLAC.

    Parameters
    ----------
    path : path
        Destination; the format follows the ending (``.wav`` or ``.flac``).
    audio : numpy.ndarray
        Samples in [-1, 1]; values outside are clipped for integer subtypes by libsndfile.
    sr : int
        Sample rate in Hz.
    subtype : str, optional
        libsndfile subtype, e.g. ``"PCM_16"`` (default for both formats), ``"PCM_24"`` or
        ``"FLOAT"`` (WAV only).
    """
    path = Path(path)
    fmt = {".wav": "WAV", ".flac": "FLAC"}.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: write_audio writes .wav or .flac, not {path.suffix!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.asarray(audio), sr, format=fmt, subtype=subtype or "PCM_16")
    return path
