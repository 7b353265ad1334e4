"""One chain after generation, for both classes: what happens to a clip must not depend on its label.

A detector should learn the decoder, not the path a file took afterwards. So every benchmark clip,
real or regenerated, leaves the build through :func:`finish`, with settings drawn the same way
for both classes:

- **DC**: each clip's mean is removed (some real recordings carry an offset; decoders do not
  reproduce one).
- **Band limit**: a generator running at an internal rate ``r`` band-limits its output at
  ``r / 2`` (audio goes 44.1 kHz -> ``r`` -> 44.1 kHz through soxr). A real clip is band-limited
  by the same resampling round trip at the rate of one of its own track's generators
  (:func:`real_bandlimit_rate`), so "no energy above 12 kHz" happens to real and AI clips alike.
  For a regeneration the generator's own resampling *is* the band limit, so :func:`finish` is
  called without one.
- **Codec history**: a real clip carries the codec of the file it was decoded from (Vorbis, Opus,
  or none for rendered sources). A regeneration gets the same history by one encode with the
  source's codec at its bitrate (:func:`encode_like`): the encode before the generator is washed
  out by it, so both classes leave with exactly one visible lossy pass of the same codec.
- **Spectral envelope**: a regeneration is equalised so that its long-term third-octave
  spectrum matches the clip it regenerates (:func:`match_spectrum`; a real clip is its own
  reference, so for it the step is the identity). Small CPU-trained decoders lose a few dB
  above 1 kHz: left alone, "duller than the input" wins the benchmark without any decoder
  physics (the shortcut probe scored 0.77 on that). The gain varies smoothly over thirds of an
  octave, so the narrow-band traces decoders leave (comb peaks, notches, aliasing) stay.
- **Loudness and peaks**: a regeneration is scaled to its real clip's RMS; every clip is then
  scaled down if its peak exceeds :data:`PEAK` (the same limiter for both).

Taught in notebook ``02_artifactbench``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import soxr

from artifactnet_core.atomic import stable_hash
from artifactnet_core.bench.shortcuts import THIRD_OCTAVES, third_octave_powers
from artifactnet_core.bench.sources import CodecHistory
from artifactnet_core.detector.codecs import codec_roundtrip
from artifactnet_core.detector.config import SAMPLE_RATE

#: Peak limit of every finished clip (linear full scale).
PEAK = 0.999
#: A stereo source's bitrate is shared by two channels; a mono re-encode gets this share of it
#: (joint-stereo coders spend most bits on the mid channel).
MONO_SHARE = 0.6
#: :func:`match_spectrum` changes no third-octave band by more than this many dB either way.
MAX_EQ_DB = 24.0
#: Bands this far (dB) under the louder band of the reference keep their level (gain 0 dB).
EQ_RANGE_DB = 90.0
#: Lowest bitrates the encoders accept, kbit/s.
MIN_KBPS = {"opus": 12, "vorbis": 48, "mp3": 32, "aac": 32}


def bandlimit(audio: np.ndarray, *, rate: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Resample ``audio`` from ``sr`` to ``rate`` Hz and back (soxr HQ), keeping its length:
    the band limit at ``rate / 2`` that a generator running at ``rate`` imposes.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if rate >= sr:
        return audio.copy()
    low = soxr.resample(audio, sr, rate, quality="HQ")
    back = soxr.resample(low, rate, sr, quality="HQ").astype(np.float32)
    out = np.zeros_like(audio)
    n = min(len(out), len(back))
    out[:n] = back[:n]
    return out


def encode_like(audio: np.ndarray, history: CodecHistory, *, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Pass mono ``audio`` once through the lossy codec of ``history`` (aligned, same length).

    The bitrate is the source file's average, times :data:`MONO_SHARE` for a stereo source;
    lossless histories return a copy.
    """
    if history.lossless:
        return np.asarray(audio, dtype=np.float32).copy()
    kbps = history.kbps * (MONO_SHARE if history.channels > 1 else 1.0)
    kbps = max(kbps, MIN_KBPS.get(history.codec, 32))
    return codec_roundtrip(audio, sr=sr, codec=history.codec, bitrate=int(round(kbps * 1000)))


def match_spectrum(audio: np.ndarray, reference: np.ndarray, *, sr: int = SAMPLE_RATE
                   ) -> np.ndarray:
    """Equalise ``audio`` so that its long-term spectrum matches ``reference``'s in every
    third-octave band (20 Hz - 20 kHz), keeping its length.

    The gain of each band is the level difference of the two long-term spectra
    (:func:`~artifactnet_core.bench.shortcuts.third_octave_powers`), at most :data:`MAX_EQ_DB`
    either way (0 dB where the reference is silent); in between it is interpolated linearly in
    dB over log-frequency, so it varies over a third of an octave, never from one bin to the
    next: structure narrower than a band (a decoder's comb peaks or notches) is kept. The gain
    is applied as a zero-phase filter on the zero-padded signal.

    Parameters
    ----------
    audio : numpy.ndarray
        Mono signal to equalise (a regeneration), at ``sr``.
    reference : numpy.ndarray
        Mono signal whose spectral envelope to match (the clip it regenerates), at ``sr``.
    sr : int
        Sample rate in Hz.

    Returns
    -------
    numpy.ndarray
        float32, same length as ``audio``.

    Taught in notebook ``02_artifactbench``.
    """
    x = np.asarray(audio, dtype=np.float64)
    if len(x) == 0:
        return x.astype(np.float32)
    have = third_octave_powers(x, sr=sr)
    want = third_octave_powers(reference, sr=sr)
    loud = want.max()
    if loud <= 0 or have.max() <= 0:
        return x.astype(np.float32)
    gain_db = 10 * np.log10((want + 1e-30) / (have + 1e-30))
    gain_db = np.where(want > loud * 10 ** (-EQ_RANGE_DB / 10), gain_db, 0.0)
    gain_db = np.clip(gain_db, -MAX_EQ_DB, MAX_EQ_DB)
    pad = sr // 2  # room for the filter's impulse response (< 0.5 s at 20 Hz)
    n = len(x) + 2 * pad
    bins = np.fft.rfftfreq(n, 1.0 / sr)
    curve = np.interp(np.log2(np.maximum(bins, 1.0)), np.log2(THIRD_OCTAVES), gain_db)
    spectrum = np.fft.rfft(np.pad(x, pad)) * 10 ** (curve / 20)
    return np.fft.irfft(spectrum, n)[pad:pad + len(x)].astype(np.float32)


def rms(audio: np.ndarray) -> float:
    """Root mean square of a signal."""
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if len(audio) else 0.0


def finish(audio: np.ndarray, *, bandlimit_rate: int | None, reencode: CodecHistory | None,
           target_rms: float | None, match_to: np.ndarray | None = None,
           sr: int = SAMPLE_RATE) -> np.ndarray:
    """The post-generation chain every benchmark clip goes through (see the module docstring).

    Parameters
    ----------
    audio : numpy.ndarray
        Mono float signal at ``sr``: a decoded real clip or a generator's output.
    bandlimit_rate : int or None
        Resample through this rate (Hz) and back; ``None``: no band limit here.
    reencode : CodecHistory or None
        Encode once with this codec history; ``None``: the clip already carries it.
    target_rms : float or None
        Scale to this RMS level; ``None``: keep the level.
    match_to : numpy.ndarray or None
        Equalise to this clip's long-term spectrum (:func:`match_spectrum`) before the band
        limit and the codec; ``None``: the clip is its own reference (a real clip).
    sr : int
        Sample rate in Hz.

    Returns
    -------
    numpy.ndarray
        float32, same length, peak at most :data:`PEAK`.
    """
    x = np.asarray(audio, dtype=np.float64)
    x = (x - x.mean()).astype(np.float32)
    if match_to is not None:
        x = match_spectrum(x, match_to, sr=sr)
    if bandlimit_rate is not None:
        x = bandlimit(x, rate=bandlimit_rate, sr=sr)
    if reencode is not None:
        x = encode_like(x, reencode, sr=sr)
    level = rms(x)
    if target_rms is not None and level > 1e-8:
        x = x * (target_rms / level)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > PEAK:
        x = x * (PEAK / peak)
    return np.asarray(x, dtype=np.float32)


def real_bandlimit_rate(track_id: str, generator_rates: Sequence[int], *, seed: int,
                        sr: int = SAMPLE_RATE) -> int | None:
    """The band limit a real track gets: the internal rate of one of its own generators, drawn
    by a stable hash (``None`` when that generator runs at the full rate ``sr``).

    Drawn this way the real class is band-limited as often, and at the same cut-offs, as the
    regenerations are.
    """
    if not generator_rates:
        return None
    rates = sorted(generator_rates)
    rate = rates[int(stable_hash("bandlimit", seed, track_id), 16) % len(rates)]
    return None if rate >= sr else int(rate)
