"""Decoding: formats, resampling without lag, streaming, and clear errors for bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from conftest import BAD, ODD, SR, music_like
from scipy.signal import correlate

from artifactnet_core.detector.audio import (
    AudioError,
    audio_info,
    iter_audio,
    load_audio,
    write_audio,
)
from artifactnet_core.detector.codecs import encode


def lag_of(reference: np.ndarray, estimate: np.ndarray) -> int:
    """Lag in samples of ``estimate`` against ``reference`` at the cross-correlation peak."""
    n = min(len(reference), len(estimate))
    c = correlate(estimate[:n], reference[:n], mode="full", method="fft")
    return int(np.argmax(c)) - (n - 1)


@pytest.mark.parametrize("ext,subtype", [(".wav", "PCM_16"), (".wav", "FLOAT"),
                                         (".flac", "PCM_24")])
def test_lossless_roundtrip_is_exact(tmp_path, music, ext, subtype):
    path = write_audio(tmp_path / f"x{ext}", music, sr=SR, subtype=subtype)
    y = load_audio(path)
    assert y.dtype == np.float32 and y.shape == music.shape
    tol = 1e-7 if subtype == "FLOAT" else 2.0 ** -14
    assert np.max(np.abs(y - music)) <= tol


@pytest.mark.parametrize("codec,ext", [("mp3", ".mp3"), ("aac", ".m4a"), ("opus", ".opus"),
                                       ("vorbis", ".ogg")])
def test_every_lossy_format_decodes_aligned(tmp_path, music, codec, ext):
    path = tmp_path / f"x{ext}"
    path.write_bytes(encode(music, codec=codec, bitrate=128_000))
    y = load_audio(path)
    assert abs(len(y) - len(music)) <= 2048  # AAC pads its last 1,024-sample frame
    assert lag_of(music, y) == 0


@pytest.mark.parametrize("rate", [8_000, 22_050, 48_000, 96_000, 192_000])
def test_resampling_has_no_lag(tmp_path, rate):
    x = music_like(4.0, sr=rate, seed=4)
    path = write_audio(tmp_path / "x.wav", x, sr=rate, subtype="FLOAT")
    y = load_audio(path)
    assert abs(len(y) - 4.0 * SR) <= 2
    reference = music_like(4.0, sr=SR, seed=4)  # same notes, rendered at 44.1 kHz
    assert lag_of(reference, y) == 0


def test_multichannel_is_averaged(tmp_path):
    left, right = music_like(3.0, seed=5), music_like(3.0, seed=6)
    path = tmp_path / "st.wav"
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path), (left + right) / 2, atol=1e-6)


def test_stream_equals_whole_file(tmp_path):
    x = music_like(20.0, sr=48_000, seed=7)
    path = write_audio(tmp_path / "x.flac", x, sr=48_000)
    blocks = list(iter_audio(path))
    assert len(blocks) > 3
    np.testing.assert_array_equal(np.concatenate(blocks), load_audio(path))


def test_in_memory_source(music):
    y = load_audio(io.BytesIO(encode(music, codec="mp3")))
    assert lag_of(music, y) == 0


def test_info_reports_header(tmp_path):
    path = write_audio(tmp_path / "x.wav", music_like(2.5, sr=48_000), sr=48_000)
    info = audio_info(path)
    assert (info.sample_rate, info.channels) == (48_000, 1)
    assert info.duration_s == pytest.approx(2.5)


@pytest.mark.parametrize("name", BAD[:-1])  # silence decodes fine; detect flags it
def test_bad_input_raises_clear_error(bad_corpus, name):
    path = bad_corpus[name]
    with pytest.raises(AudioError) as info:
        load_audio(path)
    assert str(path) in str(info.value)
    assert info.value.reason


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="folder"):
        load_audio(tmp_path)


@pytest.mark.parametrize("name", ODD)
def test_odd_but_valid_input_decodes(bad_corpus, name):
    y = load_audio(bad_corpus[name])
    assert y.dtype == np.float32 and y.ndim == 1 and len(y) > SR
    assert np.isfinite(y).all()


def test_write_rejects_unknown_format(tmp_path, music):
    with pytest.raises(ValueError, match="wav or .flac"):
        write_audio(tmp_path / "x.mp3", music)
