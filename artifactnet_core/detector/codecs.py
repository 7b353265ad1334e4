"""Lossy codec round-trips in memory: MP3, AAC, Opus and Vorbis at a chosen bitrate.

A round-trip encodes a mono signal and decodes it again, returning a signal of the same length and
with zero lag, so that a clip and its lossy copy can be compared sample by sample:

- MP3 (LAME) in an MP3 container: FFmpeg reads LAME's gapless header and drops the encoder delay;
- AAC (FFmpeg's encoder) in an MP4 container: the edit list removes the 1,024 priming samples;
- Opus in Ogg: Opus runs at 48 kHz only, so the signal goes through soxr's linear-phase resampler
  both ways (no lag) and the Ogg pre-skip removes the encoder delay;
- Vorbis (libvorbis through libsndfile): VBR, the bitrate is set through libvorbis' quality.

Used for codec-aware training and the referee's controls.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf
import soxr

from artifactnet_core.detector.audio import load_audio
from artifactnet_core.detector.config import SAMPLE_RATE

#: Codec names accepted by :func:`codec_roundtrip`; ``"wav"`` is the identity.
CODECS = ("wav", "mp3", "aac", "opus", "vorbis")

# libsndfile's Vorbis "compression level" (1 - libvorbis quality) that gives roughly the target
# bitrate for mono 44.1 kHz music; Vorbis is variable-bitrate, so these are nominal.
_VORBIS_LEVELS = ((48, 0.85), (64, 0.7), (96, 0.5), (128, 0.3), (160, 0.15), (192, 0.0))

_PYAV = {
    # codec -> (FFmpeg encoder, container, sample format, codec rate)
    "mp3": ("libmp3lame", "mp3", "fltp", SAMPLE_RATE),
    "aac": ("aac", "mp4", "fltp", SAMPLE_RATE),
    "opus": ("libopus", "ogg", "flt", 48_000),
}


def _vorbis_level(kbps: float) -> float:
    rates, levels = zip(*_VORBIS_LEVELS, strict=True)
    return float(np.interp(kbps, rates, levels))


def _encode_pyav(audio: np.ndarray, codec: str, bitrate: int) -> bytes:
    import av

    encoder, container_format, sample_format, rate = _PYAV[codec]
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container_format) as container:
        stream = container.add_stream(encoder, rate=rate)
        stream.bit_rate = int(bitrate)
        stream.layout = "mono"
        stream.format = sample_format
        frame_size = 960 if codec == "opus" else 1152 if codec == "mp3" else 1024
        for start in range(0, audio.shape[0], frame_size):
            block = np.ascontiguousarray(audio[None, start:start + frame_size])
            frame = av.AudioFrame.from_ndarray(block, format=sample_format, layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def encode(audio: np.ndarray, *, sr: int = SAMPLE_RATE, codec: str = "mp3",
           bitrate: int = 128_000) -> bytes:
    """Encode a mono signal and return the compressed file's bytes.

    Parameters
    ----------
    audio : numpy.ndarray
        1-D float signal in [-1, 1].
    sr : int
        Its sample rate in Hz (must be 44,100 for MP3/AAC/Vorbis; Opus is resampled to 48 kHz).
    codec : {"mp3", "aac", "opus", "vorbis"}
        The codec.
    bitrate : int
        Target bitrate in bit/s (nominal for VBR Vorbis).
    """
    if codec not in CODECS or codec == "wav":
        raise ValueError(f"unknown lossy codec {codec!r}; choose one of {CODECS[1:]}")
    audio = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    if audio.ndim != 1:
        raise ValueError("encode expects a mono 1-D signal")
    if codec == "vorbis":
        buf = io.BytesIO()
        sf.write(buf, audio, sr, format="OGG", subtype="VORBIS",
                 compression_level=_vorbis_level(bitrate / 1000))
        return buf.getvalue()
    rate = _PYAV[codec][3]
    if sr != rate:
        audio = soxr.resample(audio, sr, rate, quality="HQ").astype(np.float32)
    return _encode_pyav(audio, codec, bitrate)


def codec_roundtrip(audio: np.ndarray, *, sr: int = SAMPLE_RATE, codec: str = "mp3",
                    bitrate: int = 128_000) -> np.ndarray:
    """Pass a mono signal through a lossy codec and back, aligned and of the same length.

    Parameters
    ----------
    audio : numpy.ndarray
        1-D float signal in [-1, 1] at ``sr``.
    sr : int
        Sample rate in Hz.
    codec : {"wav", "mp3", "aac", "opus", "vorbis"}
        ``"wav"`` returns a float32 copy unchanged.
    bitrate : int
        Target bitrate in bit/s.

    Returns
    -------
    numpy.ndarray
        float32 signal with ``len(audio)`` samples and zero lag against the input.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if codec == "wav":
        return audio.copy()
    decoded = load_audio(io.BytesIO(encode(audio, sr=sr, codec=codec, bitrate=bitrate)), sr=sr)
    out = np.zeros_like(audio)
    n = min(out.shape[0], decoded.shape[0])
    out[:n] = decoded[:n]
    return out
