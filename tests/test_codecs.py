"""Lossy round-trips keep length and alignment, and really are lossy."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import music_like
from test_audio import lag_of

from artifactnet_core.detector.codecs import CODECS, codec_roundtrip, encode


@pytest.mark.parametrize("codec", [c for c in CODECS if c != "wav"])
@pytest.mark.parametrize("bitrate", [64_000, 128_000])
@pytest.mark.parametrize("seconds", [3.0, 7.3])
def test_roundtrip_zero_lag_same_length(codec, bitrate, seconds):
    x = music_like(seconds, seed=int(seconds * 10))
    y = codec_roundtrip(x, codec=codec, bitrate=bitrate)
    assert y.shape == x.shape and y.dtype == np.float32
    assert lag_of(x, y) == 0
    snr = 10 * np.log10(np.sum(x**2) / np.sum((x - y) ** 2))
    assert 8 < snr < 60, f"{codec}@{bitrate}: SNR {snr:.1f} dB"


def test_higher_bitrate_is_closer():
    # Broadband, so that 64 kbit/s has to give something up in every codec.
    x = music_like(5.0, seed=11) + 0.05 * np.random.default_rng(0).standard_normal(5 * 44_100)
    x = (x / np.abs(x).max() * 0.8).astype(np.float32)
    for codec in ("mp3", "aac", "opus", "vorbis"):
        err = [np.mean((x - codec_roundtrip(x, codec=codec, bitrate=b)) ** 2)
               for b in (64_000, 128_000)]
        assert err[1] < err[0], codec


def test_bitrate_sets_size():
    x = music_like(10.0, seed=12)
    for codec in ("mp3", "aac", "opus"):
        kbps = len(encode(x, codec=codec, bitrate=128_000)) * 8 / 10.0 / 1000
        assert 100 < kbps < 160, (codec, kbps)


def test_wav_is_identity():
    x = music_like(1.0)
    np.testing.assert_array_equal(codec_roundtrip(x, codec="wav"), x)


def test_unknown_codec():
    with pytest.raises(ValueError, match="unknown"):
        codec_roundtrip(music_like(1.0), codec="flac")
