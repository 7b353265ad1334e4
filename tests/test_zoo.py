"""Tests of the generator zoo (artifactnet_core.bench.zoo): specs, shapes, determinism, cache,
quality metrics and the Fourier physics of transposed-convolution decoders."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.signal
import torch
from torch.nn import functional as F

from artifactnet_core.bench import zoo
from artifactnet_core.bench.config import ZooBudget
from artifactnet_core.bench.zoo.models import TransposedUp
from artifactnet_core.profiles import PROFILES

SR = 44_100


def _music_like(seconds: float, seed: int) -> np.ndarray:
    """A few decaying harmonic notes with onsets: a stand-in for a real clip."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    out = np.zeros(n)
    for start in np.arange(0, seconds, 0.25):
        f0 = 110 * 2 ** (rng.integers(0, 24) / 12)
        seg = t >= start
        env = np.exp(-(t[seg] - start) * 6)
        for h in range(1, 6):
            out[seg] += env * np.sin(2 * np.pi * f0 * h * (t[seg] - start)) / h
    out += 0.01 * rng.standard_normal(n)
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


SMOKE_BUDGET = PROFILES["smoke"].bench.zoo


def _tiny(spec: zoo.GeneratorSpec) -> zoo.GeneratorSpec:
    return replace(spec, width=16, enc_width=16, steps=3, batch=2, crop_s=0.1)


def test_zoo_composition():
    names = [s.name for s in zoo.ZOO]
    assert len(names) == len(set(names)) >= 12
    assert len({s.family for s in zoo.ZOO}) >= 6
    assert set(zoo.FAMILIES) == {s.family for s in zoo.ZOO}
    assert len({s.total_stride for s in zoo.ZOO}) >= 3
    assert {s.bottleneck for s in zoo.ZOO} == {"rvq", "fsq", "continuous"}
    full_rate = [s for s in zoo.ZOO if s.internal_sr == SR]
    assert len(full_rate) >= len(zoo.ZOO) // 3, "band-limiting alone must not give the zoo away"
    smoke = zoo.zoo_specs(PROFILES["smoke"].bench.generators)
    assert 3 <= len(smoke) <= 5 and len({s.family for s in smoke}) >= 3
    assert zoo.zoo_specs(PROFILES["paper"].bench.generators) == zoo.ZOO
    assert set(zoo.zoo_specs(PROFILES["laptop"].bench.generators)) <= set(zoo.ZOO)
    with pytest.raises(ValueError):
        zoo.zoo_specs(["huge"])
    with pytest.raises(ValueError):
        zoo.GeneratorSpec("bad", "wavenet", "rvq", (4, 4))
    with pytest.raises(ValueError):
        zoo.GeneratorSpec("bad", "tconv", "rvq", (4, 4), encoder="mel+phase", phase_dim=8)
    for spec in zoo.ZOO:
        assert zoo.GeneratorSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize("spec", zoo.ZOO, ids=lambda s: s.name)
def test_every_spec_builds_and_keeps_length(spec):
    torch.manual_seed(0)
    model = zoo.build_generator(spec)
    assert zoo.count_parameters(model) < 1_000_000  # CPU-sized (DESIGN.md section 8)
    for n in (SR // 5 + 7, 1001):  # odd lengths, one shorter than a latent frame at some rates
        audio = _music_like(n / SR, seed=n)
        out = zoo.regenerate(model, audio)
        assert out.shape == audio.shape and out.dtype == np.float32
        assert np.isfinite(out).all()


def test_transposed_up_equals_conv_transpose():
    torch.manual_seed(0)
    for stride in (2, 4, 5, 8):
        up = TransposedUp(6, 3, stride)
        x = torch.randn(2, 6, 11)
        ref = F.conv_transpose1d(x, up.weight, up.bias, stride=stride)
        half = stride // 2
        torch.testing.assert_close(up(x), ref[..., half:half + 11 * stride])


def test_training_and_regeneration_are_deterministic():
    spec = _tiny(zoo.ZOO[0])
    clips = [_music_like(1.0, seed=i) for i in range(3)]
    m1, log1 = zoo.train_generator(spec, clips, seed=7, progress=False)
    m2, _ = zoo.train_generator(spec, clips, seed=7, progress=False)
    m3, _ = zoo.train_generator(spec, clips, seed=8, progress=False)
    s1, s2, s3 = m1.state_dict(), m2.state_dict(), m3.state_dict()
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert not all(torch.equal(s1[k], s3[k]) for k in s1)
    assert log1["steps"] == 3 and log1["steps_per_s"] > 0
    audio = _music_like(0.7, seed=99)
    np.testing.assert_array_equal(zoo.regenerate(m1, audio), zoo.regenerate(m2, audio))


def test_regenerate_segments_match_one_pass():
    torch.manual_seed(0)
    model = zoo.build_generator(_tiny(zoo.zoo_specs(PROFILES["smoke"].bench.generators)[0]))
    audio = _music_like(2.0, seed=3)
    whole = zoo.regenerate(model, audio, segment_s=4.0)
    pieces = zoo.regenerate(model, audio, segment_s=0.5, context_s=0.3)
    # The overlap covers the receptive field, so segment joins are invisible.
    assert np.max(np.abs(whole - pieces)) < 1e-4 * max(1e-3, np.max(np.abs(whole)))


def test_cache_round_trip(tmp_path):
    spec = _tiny(zoo.zoo_specs(PROFILES["smoke"].bench.generators)[0])
    clips = [_music_like(1.0, seed=i) for i in range(4)]
    held = [_music_like(1.0, seed=10 + i) for i in range(2)]
    m1, info1 = zoo.load_or_train(spec, clips, budget=SMOKE_BUDGET, seed=0, cache_dir=tmp_path,
                                  heldout_clips=held, progress=False)
    assert not info1["cached"]
    for key in ("steps", "train_seconds", "params", "envelope_corr", "logmel_corr_centred",
                "logmel_distance_db", "si_sdr_db", "passes_floor", "chance_envelope_corr",
                "chance_logmel_corr_centred"):
        assert key in info1, key
    files = sorted(p.suffix for p in (tmp_path / "zoo").iterdir())
    assert files == [".json", ".safetensors"]
    m2, info2 = zoo.load_or_train(spec, clips, budget=SMOKE_BUDGET, seed=0, cache_dir=tmp_path,
                                  heldout_clips=held, progress=False)
    assert info2["cached"] and info2["path"] == info1["path"]
    m3, _ = zoo.load_generator(info1["path"])
    audio = _music_like(0.6, seed=5)
    ref = zoo.regenerate(m1, audio)
    np.testing.assert_array_equal(ref, zoo.regenerate(m2, audio))
    np.testing.assert_array_equal(ref, zoo.regenerate(m3, audio))
    # Other training data, another key: no stale weights.
    _, info4 = zoo.load_or_train(spec, clips[:3] + [clips[0]], budget=SMOKE_BUDGET, seed=0,
                                 cache_dir=tmp_path, heldout_clips=held, progress=False)
    assert not info4["cached"] and info4["path"] != info1["path"]


def test_reconstruction_quality_sanity():
    music = _music_like(3.0, seed=1)
    same = zoo.reconstruction_quality(music, music)
    assert same["envelope_corr"] > 0.999 and same["logmel_corr_centred"] > 0.999
    assert same["logmel_distance_db"] < 1e-3 and same["si_sdr_db"] > 60 and same["passes_floor"]
    # A quieter copy is the same music: correlations are level-blind, the distance is not.
    quiet = zoo.reconstruction_quality(music, 0.5 * music)
    assert quiet["passes_floor"] and 5.5 < quiet["logmel_distance_db"] < 6.5
    noise = np.random.default_rng(0).standard_normal(len(music)).astype(np.float32) * 0.1
    unrelated = zoo.reconstruction_quality(music, noise)
    assert not unrelated["passes_floor"] and unrelated["si_sdr_db"] < -10
    other = zoo.reconstruction_quality(music, _music_like(3.0, seed=2))
    assert not other["passes_floor"]
    chance = zoo.chance_quality([music, _music_like(3.0, seed=2), _music_like(3.0, seed=3)])
    assert chance["chance_logmel_corr_centred"] < zoo.FLOOR["logmel_corr_centred"]


def test_floor_needs_both_correlations_and_a_small_distance():
    good = {"envelope_corr": 0.9, "logmel_corr_centred": 0.8, "logmel_distance_db": 5.0,
            "chance_logmel_distance_db": 15.0}
    assert zoo.passes_floor(good)
    assert not zoo.passes_floor({**good, "envelope_corr": 0.79})
    assert not zoo.passes_floor({**good, "logmel_corr_centred": 0.69})
    assert not zoo.passes_floor({**good, "logmel_distance_db": 6.1})   # > 0.4 x 15 dB
    assert PROFILES["laptop"].bench.zoo.enforce_floor
    assert PROFILES["paper"].bench.zoo.enforce_floor
    assert not PROFILES["smoke"].bench.zoo.enforce_floor


class _Passthrough(torch.nn.Module):
    """A "generator" that returns its input: regeneration is then the resampling alone."""

    def __init__(self, spec: zoo.GeneratorSpec):
        super().__init__()
        self.spec = spec
        self.anchor = torch.nn.Parameter(torch.zeros(1))   # regenerate() asks for a device

    def forward(self, x: torch.Tensor):
        return x, None


def test_generators_below_44k_are_judged_in_their_band():
    """A generator running at 32 kHz is compared with its input band-limited by the chain's own
    resampling round trip, so a perfect decoder behind that resampler scores perfectly in-band;
    the full-band numbers, which charge it for the missing 16-22 kHz, are kept beside."""
    held = [_music_like(2.0, seed=20 + i) for i in range(3)]
    rng = np.random.default_rng(0)
    held = [h + 0.02 * rng.standard_normal(len(h)).astype(np.float32) for h in held]  # air > 16 kHz
    spec32 = next(s for s in zoo.ZOO if s.internal_sr == 32_000)
    q32 = zoo._heldout_quality(_Passthrough(spec32), held)
    assert q32["reference_band_hz"] == 16_000
    assert q32["logmel_distance_db"] < 0.5 and q32["logmel_corr_centred"] > 0.99
    assert q32["fullband_logmel_distance_db"] > q32["logmel_distance_db"] + 1.0
    spec44 = next(s for s in zoo.ZOO if s.internal_sr == SR)
    q44 = zoo._heldout_quality(_Passthrough(spec44), held)
    assert q44["reference_band_hz"] == SR // 2 and "fullband_logmel_distance_db" not in q44
    assert q44["logmel_distance_db"] < 1e-3


def test_shipped_weights_round_trip(tmp_path, monkeypatch):
    monkeypatch.setattr(zoo, "SHIPPED_DIR", tmp_path)
    spec = _tiny(zoo.zoo_specs(PROFILES["smoke"].bench.generators)[0])
    assert not zoo.has_shipped_weights(spec)
    torch.manual_seed(0)
    model = zoo.build_generator(spec)
    zoo.ship_generator(model, {"name": spec.name, "passes_floor": True, "cached": False})
    assert zoo.has_shipped_weights(spec)
    assert not zoo.has_shipped_weights(replace(spec, width=spec.width * 2))  # another spec
    loaded, info = zoo.load_or_train(spec, None, budget=ZooBudget(), seed=0, cache_dir=tmp_path)
    assert info["cached"] == "shipped" and info["passes_floor"]
    audio = _music_like(0.5, seed=1)
    # float16 on disk: the same generator within float16 precision.
    np.testing.assert_allclose(zoo.regenerate(loaded, audio), zoo.regenerate(model, audio),
                               atol=2e-2)
    with pytest.raises(ValueError, match="no shipped weights"):
        zoo.load_or_train(spec, None, budget=ZooBudget(), seed=0, cache_dir=tmp_path,
                          retrain=True)




def test_every_shipped_generator_is_current_and_clears_the_floor():
    """The package ships only weights that a build will use (they match a spec of the zoo and
    its version) and that cleared the quality floor when they were trained; each still turns
    music into music-shaped output."""
    import json

    shipped = sorted(zoo.SHIPPED_DIR.glob("*.safetensors"))
    assert shipped, "the laptop zoo ships trained generators"
    by_name = {spec.name: spec for spec in zoo.ZOO}
    audio = _music_like(0.5, seed=2)
    for path in shipped:
        spec = by_name[path.stem]
        assert zoo.has_shipped_weights(spec), f"{path.name}: stale spec or zoo version"
        info = json.loads(path.with_suffix(".json").read_text())["info"]
        assert info["passes_floor"] is True and info["steps"] == spec.steps, path.name
        assert info["envelope_corr"] >= zoo.FLOOR["envelope_corr"]
        model, _ = zoo.load_generator(path)
        out = zoo.regenerate(model.float(), audio)
        assert np.isfinite(out).all() and np.abs(out).max() > 1e-3
def test_shipped_infos_table_the_zoo_and_judge_todays_floor(tmp_path, monkeypatch):
    """Notebook 02's paper-zoo table: one row per spec, the shipped quality row with
    ``passes_floor`` judged against today's floor (not the flag stored at training), and an
    empty row for a spec without current weights."""
    import json

    spec = zoo.zoo_specs(["tconv_cont_s256"])[0]
    missing = replace(spec, name="not_shipped")
    monkeypatch.setattr(zoo, "SHIPPED_DIR", tmp_path)
    info = {"name": spec.name, "family": spec.family, "envelope_corr": 0.79,
            "logmel_corr_centred": 0.9, "logmel_distance_db": 3.0,
            "chance_logmel_distance_db": 17.0, "passes_floor": True}
    (tmp_path / f"{spec.name}.safetensors").write_bytes(b"")
    (tmp_path / f"{spec.name}.json").write_text(json.dumps(
        {"info": info, "spec": spec.to_dict(), "zoo_version": zoo.ZOO_VERSION}))
    rows = zoo.shipped_infos([spec, missing])
    assert [r["name"] for r in rows] == [spec.name, "not_shipped"]
    assert rows[0]["passes_floor"] is False  # envelope r 0.79 is under today's 0.80
    assert rows[1]["passes_floor"] is None
    table = zoo.zoo_table(rows)
    assert list(table["name"]) == [spec.name, "not_shipped"]


def test_losses_are_zero_on_identity_and_grow_with_error():
    x = torch.from_numpy(np.stack([_music_like(0.5, seed=i) for i in range(2)]))
    assert float(zoo.multi_resolution_stft_loss(x, x)) < 1e-6
    assert float(zoo.envelope_loss(x, x)) < 1e-6
    # A 20 dB quieter copy: every frame energy is 2 log10 units (20 dB) too low.
    assert float(zoo.envelope_loss(0.1 * x, x)) == pytest.approx(2.0, abs=0.01)
    noise = torch.randn_like(x) * 0.1
    assert float(zoo.multi_resolution_stft_loss(noise, x)) > 1.0


def _line_prominence_db(y: np.ndarray, period: float) -> np.ndarray:
    """Level of the spectrum at multiples of ``SR / period`` above the median of its neighbours."""
    f, p = scipy.signal.welch(y, fs=SR, nperseg=8192)
    db = 10 * np.log10(p + 1e-20)
    out = []
    for k in range(1, 40):
        i = int(round(k * SR / period / f[1]))
        if i + 13 >= len(db):
            break
        neigh = np.concatenate([db[i - 12:i - 3], db[i + 4:i + 13]])
        out.append(db[i - 1:i + 2].max() - np.median(neigh))
    return np.array(out)


def test_transposed_conv_decoder_prints_peaks_at_multiples_of_sr_over_stride():
    """Afchar et al. (ISMIR 2025): a transposed-convolution decoder images its input, so even an
    untrained one turns white noise into a spectrum with lines at multiples of sr / stride."""
    spec = next(s for s in zoo.ZOO if s.family == "tconv" and s.internal_sr == SR)
    torch.manual_seed(0)
    model = zoo.build_generator(spec)
    noise = (0.1 * np.random.default_rng(0).standard_normal(2 * SR)).astype(np.float32)
    out_prom = _line_prominence_db(zoo.regenerate(model, noise), spec.total_stride)
    in_prom = _line_prominence_db(noise, spec.total_stride)
    assert np.median(out_prom) > 10 and (out_prom > 6).mean() > 0.8
    assert np.median(np.abs(in_prom)) < 3
    # Off the grid (half-way between lines) there is no such peak.
    off = _line_prominence_db(zoo.regenerate(model, noise), spec.total_stride / 1.5)
    assert np.median(off[0::2]) < 6  # odd multiples of 1.5 x the spacing fall between lines


def test_nearest_resize_decoder_prints_notches_not_peaks():
    """The contrast of notebook 01: a nearest-neighbour hold multiplies the spectrum by a sinc
    that vanishes on the same grid, so an untrained resize+conv decoder leaves notches there."""
    spec = next(s for s in zoo.ZOO if s.family == "resize_conv" and s.resize_mode == "nearest"
                and s.internal_sr == SR)
    torch.manual_seed(0)
    model = zoo.build_generator(spec)
    noise = (0.1 * np.random.default_rng(0).standard_normal(2 * SR)).astype(np.float32)
    prom = _line_prominence_db(zoo.regenerate(model, noise), spec.total_stride)
    assert np.median(prom) < -3


def test_flush_denormals_flushes_and_restores_the_thread():
    """Generator training runs in runtime.flush_denormals (subnormals slowed it about 5x on a
    CPU): inside it subnormals are zero, after it the thread is back to IEEE arithmetic."""
    from artifactnet_core.runtime import flush_denormals

    subnormal = torch.tensor([1e-39])
    with flush_denormals():
        flushed = float(subnormal * 1.0)
    kept = float(subnormal * 1.0)
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU has no flush-to-zero mode")
    assert flushed == 0.0
    assert kept == pytest.approx(1e-39, rel=1e-3)
