"""Baselines: Fourier fakeprint + logistic regression, and SpecTTTra-α."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import SR, music_like
from scipy.signal import lfilter

from artifactnet_core.experiments.baselines import (
    FakeprintDetector,
    SpecTTTra,
    SpecTTTraConfig,
    fakeprint,
    fakeprint_frequencies,
    fakeprints,
    load_spectttra,
    predict_spectttra,
    save_spectttra,
    spectttra_inputs,
    train_spectttra,
)
from artifactnet_core.experiments.metrics import roc_auc

SECONDS = 4.0
STRIDE = 16  # up-sampling factor of the synthetic "decoder": peaks at multiples of SR / 16
PEAKS_HZ = [k * SR / STRIDE for k in range(2, 6)]  # 5.5, 8.3, 11.0, 13.8 kHz: inside 5-16 kHz


def noise_music(seed: int, seconds: float = SECONDS) -> np.ndarray:
    """Cheap noise-like "music": broadband noise with a random spectral tilt (no peaks) plus
    a few pulsed tones below 4 kHz."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    a = rng.uniform(0.3, 0.95)  # one-pole low-pass: each clip its own spectral slope
    x = lfilter([1 - a], [1, -a], rng.standard_normal(n)) * 0.05
    x += 0.003 * rng.standard_normal(n)
    for f in rng.uniform(80, 4000, 8):
        env = np.exp(-((t * rng.uniform(1, 4)) % 1.0) * 3)
        x += 0.05 * env * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return x.astype(np.float32)


def upsampled(x: np.ndarray, seed: int, *, stride: int = STRIDE, line: float = 1e-3) -> np.ndarray:
    """``x`` plus what a zero-insertion up-sampler makes of a constant (a bias) at the low
    rate: an impulse train with period ``stride`` samples, i.e. tones of amplitude ``line``
    at every multiple of ``SR / stride`` -- the artifact Afchar et al. explain."""
    rng = np.random.default_rng(10_000 + seed)
    up = np.zeros(len(x), np.float32)
    k = len(up[::stride])
    up[::stride] = line * stride / 2 * (1 + 0.2 * rng.standard_normal(k))
    return x + up


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # These are many tiny torch ops; on a shared 2-core runner a second thread mostly waits.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def peak_heights(fp: np.ndarray, freqs_hz: list[float]) -> np.ndarray:
    freqs = fakeprint_frequencies()
    return np.array([fp[max(0, i - 1): i + 2].max()
                     for i in (int(np.argmin(np.abs(freqs - f))) for f in freqs_hz)])


# ------------------------------------------------------------------------------------ fakeprint

def test_fakeprint_shape_and_normalisation():
    fp = fakeprint(noise_music(0))
    assert fp.shape == fakeprint_frequencies().shape == (4087,)
    assert fp.dtype == np.float32
    assert fp.min() >= 0.0 and fp.max() == pytest.approx(1.0, abs=1e-5)
    freqs = fakeprint_frequencies()
    assert freqs[0] > 5000 and freqs[-1] < 16000
    # Silence has no peaks: all zeros, no NaN.
    assert not fakeprint(np.zeros(int(SECONDS * SR), np.float32)).any()
    with pytest.raises(ValueError):
        fakeprint(np.full(SR, np.nan, np.float32))
    with pytest.raises(ValueError):
        fakeprint(np.zeros(1000, np.float32))


def test_fakeprint_finds_upsampling_peaks_and_noise_has_none():
    music = music_like(SECONDS, seed=1) + noise_music(1)
    fp_ai = fakeprint(upsampled(music, 1))
    fp_real = fakeprint(music)
    # Every expected peak saturates the fakeprint, while the typical bin stays low.
    assert (peak_heights(fp_ai, PEAKS_HZ) > 0.99).all()
    assert np.median(fp_ai) < 0.5
    # Peaks stand out only where the up-sampler put them: halfway between them nothing does.
    between = [f + SR / (2 * STRIDE) for f in PEAKS_HZ[:-1]]
    assert peak_heights(fp_ai, between).max() < 0.99
    # Plain noise-like music: nothing special at those bins.
    assert peak_heights(fp_real, PEAKS_HZ).mean() < 0.9


def test_fakeprints_stacks_clips_and_names_bad_ones():
    clips = [noise_music(2), upsampled(noise_music(3), 3), noise_music(4, 3.0)]  # 2 lengths
    batch = fakeprints(clips, progress=False)
    assert batch.shape == (3, 4087)
    for row, clip in zip(batch, clips, strict=True):
        np.testing.assert_array_equal(row, fakeprint(clip))
    clips[1] = np.full(SR, np.inf, np.float32)
    with pytest.raises(ValueError, match="clip 1"):
        fakeprints(clips, progress=False)


@pytest.fixture(scope="module")
def fakeprint_sets():
    # Three strides (8 to 32 peaks in the band) and three peak heights, so the classifier has
    # to learn a family of peak patterns from few examples, as on the benchmark.
    def make(seeds):
        clips, labels = [], []
        for s in seeds:
            clips += [noise_music(s), upsampled(noise_music(s + 500), s,
                                                stride=(32, 64, 128)[(s // 3) % 3],
                                                line=(5e-4, 1e-3, 2e-3)[s % 3])]
            labels += [0, 1]
        return fakeprints(clips, progress=False), np.array(labels)

    return make(range(10, 34)), make(range(100, 106)), make(range(200, 210))


def test_fakeprint_detector_separates_synthetic_ai(fakeprint_sets):
    (xtr, ytr), (xva, yva), (xte, yte) = fakeprint_sets
    det = FakeprintDetector().fit(xtr, ytr, xva, yva)
    p = det.predict_proba(xte)
    assert p.shape == (len(yte),)
    assert roc_auc(yte, p) >= 0.9
    assert ((p >= 0.5) == yte).mean() >= 0.8
    assert det.n_parameters == xtr.shape[1] + 1 == 4088
    assert det.C_ in det.c_grid and len(det.c_scores_) == len(det.c_grid)
    # Shuffled training labels must not separate held-out data: the check can fail.
    bad = FakeprintDetector(C=det.C_).fit(xtr, np.random.default_rng(0).permutation(ytr))
    assert roc_auc(yte, bad.predict_proba(xte)) < 0.75


def test_fakeprint_detector_save_load(tmp_path, fakeprint_sets):
    (xtr, ytr), (xva, yva), (xte, _) = fakeprint_sets
    det = FakeprintDetector(feature_params={"n_fft": 16384}).fit(xtr, ytr, xva, yva)
    path = det.save(tmp_path / "fp_lr")
    loaded = FakeprintDetector.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(xte), det.predict_proba(xte))
    assert loaded.C_ == det.C_ and loaded.feature_params == {"n_fft": 16384}
    _assert_no_pickle(tmp_path)


def _assert_no_pickle(folder):
    files = sorted(p for p in folder.iterdir())
    assert {p.suffix for p in files} == {".safetensors", ".json"}
    for p in files:
        data = p.read_bytes()
        assert not data.startswith(b"\x80")  # pickle protocol 2+ magic
        if p.suffix == ".json":
            json.loads(data)
        else:  # safetensors: 8-byte little-endian header length, then a JSON header
            n = int.from_bytes(data[:8], "little")
            json.loads(data[8: 8 + n])


# ------------------------------------------------------------------------------------ SpecTTTra

TINY = SpecTTTraConfig.tiny(clip_seconds=1.0)


def test_spectttra_full_config_parameters():
    cfg = SpecTTTraConfig()
    assert (cfg.n_frames, cfg.n_temporal_tokens, cfg.n_spectral_tokens) == (126, 42, 128)
    n = SpecTTTra(cfg).n_parameters
    assert 15e6 <= n <= 20e6, n


def test_spectttra_inputs_and_tokens_shapes():
    clips = [noise_music(0, 1.0), noise_music(1, 0.5)]  # the short one is zero-padded
    x = spectttra_inputs(clips, TINY)
    assert x.shape == (2, 128, TINY.n_frames) == (2, 128, 32)
    assert torch.isfinite(x).all()
    assert (x.amax(dim=(1, 2)) - x.amin(dim=(1, 2)) <= TINY.top_db + 1e-4).all()
    model = SpecTTTra(TINY)
    tokens = model.tokenizer(model.normalize(x))
    assert tokens.shape == (2, TINY.n_temporal_tokens + TINY.n_spectral_tokens, 32)
    assert TINY.n_temporal_tokens == 32 // 3 and TINY.n_spectral_tokens == 128
    assert model(x).shape == (2,)
    with pytest.raises(ValueError):
        model(x[:, :, :-1])


@pytest.fixture(scope="module")
def eight_clips():
    clips = [upsampled(noise_music(s, 1.0), s, line=3e-3) if s % 2 else noise_music(s, 1.0)
             for s in range(8)]
    return spectttra_inputs(clips, TINY), np.arange(8) % 2


def test_spectttra_tiny_overfits_eight_clips(eight_clips):
    x, y = eight_clips
    model, hist = train_spectttra(x, y, x, y, config=TINY, epochs=25, batch_size=8, lr=3e-3,
                                  seed=0, progress=False)
    assert hist["train_loss"].iloc[-1] < 0.5 * hist["train_loss"].iloc[0]
    assert hist["val_auc"].max() == 1.0
    p = predict_spectttra(model, x)
    assert p[y == 1].min() > p[y == 0].max()
    assert model.norm_std.item() == pytest.approx(x.std().item())


def test_spectttra_deterministic_and_save_load(eight_clips, tmp_path):
    x, y = eight_clips
    runs = [train_spectttra(x, y, config=TINY, epochs=3, batch_size=4, seed=s, progress=False)
            for s in (7, 7, 8)]
    (m1, h1), (m2, h2), (m3, h3) = runs
    np.testing.assert_array_equal(h1["train_loss"], h2["train_loss"])
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    assert not np.array_equal(h1["train_loss"], h3["train_loss"])

    path = save_spectttra(m1, tmp_path / "spectttra", info={"seed": 7})
    loaded = load_spectttra(path)
    assert loaded.config == m1.config
    np.testing.assert_array_equal(predict_spectttra(loaded, x), predict_spectttra(m1, x))
    _assert_no_pickle(tmp_path)
