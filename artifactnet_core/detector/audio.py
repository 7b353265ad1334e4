"""Audio input/output: any common format in, mono float32 at 44.1 kHz out, streamed in blocks.

Decoding tries soundfile (libsndfile: WAV, FLAC, OGG/Vorbis, Opus, MP3) first and falls back to
PyAV (FFmpeg: M4A/AAC, MP3, Opus, and anything else FFmpeg reads). Channels are averaged to mono
and the rate converted with soxr's linear-phase resampler, so a decoded file never lags its
source. Every failure is raised as :class:`AudioError` with the file name and the reason.

Work per file is bounded whatever the file claims: blocks hold at most about a million samples
whatever the channel count, resampling runs on input pieces that give at most
``_BLOCK_FRAMES`` output samples each, native rates outside [:data:`MIN_SAMPLE_RATE`,
:data:`MAX_SAMPLE_RATE`] and audio longer than :data:`MAX_DURATION_S` are refused. Only regular
files are read by path (a FIFO or device could block or never end; :func:`spool_stream` copies a
stream such as stdin to a temporary file, up to a size). Truncation is caught for every
container: from the container before decoding (WAV/AIFF data chunk, Ogg end-of-stream page, MP4
boxes: :mod:`~artifactnet_core.detector.truncation`), from the frame count where the header
states it (FLAC, CAF...), from the stated duration for MP3 (a constant-bitrate MP3 without a
Xing/LAME header states none: cut between frames, it cannot be told from a shorter file), and
from the decoder's errors.

Taught in notebook ``00_quickstart``.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from artifactnet_core.detector.config import SAMPLE_RATE
from artifactnet_core.detector.truncation import container_shortfall

#: File name endings treated as audio when a folder is searched (a file named on the command
#: line is decoded whatever its ending).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".mp4",
                    ".aif", ".aiff", ".wma", ".webm", ".mka", ".mkv")
#: Native sample rates accepted, in Hz. Below 4 kHz a file holds nothing of the band the detector
#: reads (and each input sample becomes up to 11 output samples); above 768 kHz no audio
#: interface records.
MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 768_000
#: Longest audio decoded from one file, in seconds (12 hours): a guard against headers and
#: compressed streams that expand without end.
MAX_DURATION_S = 12 * 3600.0
#: Largest stream copied by :func:`spool_stream` (stdin), in bytes.
MAX_STREAM_BYTES = 2 * 2**30
# Container formats whose header states the exact frame count, so a short read means truncation.
_EXACT_LENGTH_FORMATS = {"WAV", "WAVEX", "FLAC", "AIFF", "RF64", "W64", "CAF"}
# Elsewhere (MP3's Xing header, MP4 and Ogg durations) the stated length may be an estimate: only
# a shortfall beyond this fraction counts as truncation.
_LENGTH_TOLERANCE = 0.05
_BLOCK_FRAMES = 65_536
# Samples (frames x channels) read at once, so that a file of 1,024 channels stays small too.
_BLOCK_SAMPLES = 2**20
# macOS writes "._name" companions (AppleDouble: resource fork and metadata) beside files copied
# to non-Mac disks; they start with this magic number.
_APPLEDOUBLE_MAGIC = b"\x00\x05\x16\x07"

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


def _stat_reason(path: str, err: OSError) -> str:
    """Why ``os.stat(path)`` failed, in words."""
    if err.errno == errno.ELOOP:
        return "symbolic link loop (the link leads back to itself), no file to read"
    if err.errno == errno.ENOENT:
        if os.path.islink(path):
            return f"broken symbolic link (it points to {os.readlink(path)!r}, which does not exist)"
        return "no such file"
    if err.errno == errno.EACCES:
        return "permission denied: a folder on its path cannot be entered (no x permission)"
    if err.errno == errno.ENOTDIR:
        return "no such file (a part of its path is a file, not a folder)"
    return f"cannot be read ({err.strerror or err})"


def _check_source(source: Source) -> None:
    """Refuse, with the reason, a path that is not a readable, non-empty regular audio file."""
    if not isinstance(source, str | os.PathLike):
        return
    path = os.fspath(source)
    try:
        mode = os.stat(path)
    except OSError as err:
        raise AudioError(source, _stat_reason(path, err)) from err
    if stat.S_ISDIR(mode.st_mode):
        if not os.access(path, os.R_OK | os.X_OK):
            raise AudioError(source, "a folder that cannot be read (permission denied): its "
                                     "files were not searched")
        raise AudioError(source, "is a folder, not an audio file")
    if stat.S_ISFIFO(mode.st_mode):
        raise AudioError(source, "a named pipe (FIFO), not a file: reading it could wait for "
                                 "ever; to score what it carries, pipe it to `-` (stdin)")
    if stat.S_ISCHR(mode.st_mode) or stat.S_ISBLK(mode.st_mode):
        raise AudioError(source, "a device, not an audio file")
    if stat.S_ISSOCK(mode.st_mode):
        raise AudioError(source, "a socket, not an audio file")
    if not stat.S_ISREG(mode.st_mode):
        raise AudioError(source, "not a regular file")
    if not os.access(path, os.R_OK):
        raise AudioError(source, "permission denied: the file cannot be read")
    if mode.st_size == 0:
        raise AudioError(source, "empty file (0 bytes)")
    if os.path.basename(path).startswith("._"):
        with open(path, "rb") as f:
            if f.read(4) == _APPLEDOUBLE_MAGIC:
                raise AudioError(source, "a macOS metadata file (AppleDouble '._' companion "
                                         "left by copying from a Mac), not audio")


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
    _check_source(source)
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


def _check_rate(source: Source, rate: int) -> None:
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(source, f"sample rate {rate} Hz is outside what can be analysed "
                                 f"({MIN_SAMPLE_RATE:,} to {MAX_SAMPLE_RATE:,} Hz)")


def _check_duration(source: Source, seconds: float | None) -> None:
    if seconds is not None and seconds > MAX_DURATION_S:
        raise AudioError(source, f"{seconds:,.0f} s of audio, more than the "
                                 f"{MAX_DURATION_S:,.0f} s one file may hold; split it")


def _read_frames(channels: int) -> int:
    """Frames per block: at most ``_BLOCK_FRAMES``, at most ``_BLOCK_SAMPLES`` samples."""
    return max(1, min(_BLOCK_FRAMES, _BLOCK_SAMPLES // max(channels, 1)))


def _soundfile_blocks(source: Source) -> Iterator[tuple[np.ndarray, int]]:
    """Yield (frames x channels float32 block, native rate) through libsndfile."""
    _rewind(source)
    with sf.SoundFile(source) as f:
        rate = int(f.samplerate)
        _check_rate(source, rate)
        declared = f.frames
        _check_duration(source, declared / rate)
        exact = f.format in _EXACT_LENGTH_FORMATS
        frames = _read_frames(f.channels)
        got = 0
        while True:
            block = f.read(frames, dtype="float32", always_2d=True)
            if block.shape[0] == 0:
                break
            got += block.shape[0]
            yield block, rate
        _check_length(source, declared, got, rate,
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
        if stream.rate:
            _check_rate(source, int(stream.rate))
        _check_duration(source, declared_s)
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


def _open_binary(source: Source) -> tuple[BinaryIO, bool]:
    """The source as a binary file object, and whether the caller must close it."""
    if isinstance(source, str | os.PathLike):
        return open(source, "rb"), True  # noqa: SIM115 - closed by the caller
    return source, False


def _check_container(source: Source) -> None:
    """Raise if the container shows the file was cut short: the data chunk of a WAV or AIFF
    file is larger than what follows it, an Ogg stream lacks its end-of-stream page, or an MP4
    box runs past the end of the file."""
    f, close = _open_binary(source)
    try:
        problem = container_shortfall(f)
    finally:
        if close:
            f.close()
        else:
            _rewind(source)
    if problem:
        raise AudioError(source, f"truncated: {problem}")


def _native_blocks(source: Source) -> Iterator[tuple[np.ndarray, int]]:
    """Pick the decoder: libsndfile when it opens the file, FFmpeg otherwise."""
    _check_container(source)
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
    _check_source(source)
    resampler = None
    step = None
    total = 0
    for block, rate in _native_blocks(source):
        if not np.isfinite(block).all():
            raise AudioError(source, "contains NaN or infinite sample values")
        mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
        total += mono.shape[0]
        if rate == sr:
            yield mono
        else:
            if resampler is None:
                _check_rate(source, rate)
                resampler = soxr.ResampleStream(rate, sr, 1, dtype="float32", quality="HQ")
                # Input pieces that give at most _BLOCK_FRAMES output samples each: upsampling
                # a whole block at once would take memory in proportion to sr / rate.
                step = max(1, _BLOCK_FRAMES * rate // sr)
            for start in range(0, mono.shape[0], step):
                out = resampler.resample_chunk(mono[start:start + step], last=False)
                if out.size:
                    yield out
        _check_duration(source, total / rate)
    if total == 0:
        raise AudioError(source, "no audio samples (zero length)")
    if resampler is not None:
        tail = resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        if tail.size:
            yield tail


def spool_stream(stream: BinaryIO, *, max_bytes: int = MAX_STREAM_BYTES,
                 name: str = "-") -> Path:
    """Copy a stream that cannot seek (stdin, a pipe) to a temporary file and return its path.

    Decoders need to seek, and a file can be checked for truncation; the copy also bounds what is
    read. The caller deletes the file.

    Parameters
    ----------
    stream : binary file object
        The stream, read to its end.
    max_bytes : int
        Largest stream accepted, in bytes (an endless stream is stopped there).
    name : str
        How the stream is named in errors.

    Raises
    ------
    AudioError
        The stream holds more than ``max_bytes``, or nothing at all.
    """
    fd, tmp = tempfile.mkstemp(prefix="artifactnet-stream-")
    path = Path(tmp)
    try:
        with os.fdopen(fd, "wb") as out:
            copied = 0
            while chunk := stream.read(2**20):
                copied += len(chunk)
                if copied > max_bytes:
                    raise AudioError(name, f"more than {max_bytes / 2**30:.0f} GiB of data; "
                                           "stopped reading (an endless stream?)")
                out.write(chunk)
        if copied == 0:
            raise AudioError(name, "empty input (0 bytes)")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


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
