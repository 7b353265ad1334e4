"""Real sources, clip extraction, score rendering safety, and a whole (tiny) build from
``--real-dir`` folders with a stand-in generator zoo: determinism, resume, bad files."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from conftest import SR

from artifactnet_core.atomic import file_sha256
from artifactnet_core.bench import BenchConfig, build_bench, load_manifest
from artifactnet_core.bench.clips import extract_track_clips, is_near_silent, select_segments
from artifactnet_core.bench.manifest import check_split_disjointness, heldout_sets
from artifactnet_core.bench.render import RenderError, run_fluidsynth
from artifactnet_core.bench.sources import (
    SOURCE_NAMES,
    SOURCES,
    SourceUnavailable,
    Track,
    composition_keys,
    iter_track_audio,
    list_folder_tracks,
    list_zip_tracks,
    locate_source,
    required_debian_packages,
    source_spec,
    summarise_licence,
    unpack_debian_package,
)


def music_like(seconds: float, *, seed: int = 0) -> np.ndarray:
    """A cheap stand-in for music (vectorised): a few random partials under a beat envelope."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    freqs = rng.uniform(80, 4000, 6)
    tone = np.sin(2 * np.pi * freqs[:, None] * t[None] + rng.uniform(0, 6, 6)[:, None]).sum(0)
    beat = 0.4 + 0.6 * np.exp(-((t * rng.uniform(1.5, 3)) % 1.0) * 5)
    return (0.1 * tone * beat).astype(np.float32)


# --- sources ----------------------------------------------------------------------------------


RESERVED = ("ufoai-music", "drascula-music", "hyperrogue-music", "asc-music", "hedgewars-data",
            "freedroidrpg-data", "supertux-data", "musescore-general-soundfont",
            "timgm6mb-soundfont")


def test_sources_and_their_packages():
    assert len(SOURCE_NAMES) >= 8 and len(set(SOURCE_NAMES)) == len(SOURCE_NAMES)
    assert sum(s.lossless for s in SOURCES) >= 4, "lossless sources first"
    packages = required_debian_packages()
    assert "fluidsynth" in packages and "openmpt123" in packages
    assert not [p for p in packages if p.startswith(RESERVED)], "reserved for independent eval"
    assert required_debian_packages(["nexuiz"]) == ("nexuiz-music",)
    assert source_spec("nexuiz").kind == "zip"
    assert {s.corpus_part for s in SOURCES if s.kind == "score"} == {0, 1}
    with pytest.raises(KeyError):
        source_spec("freepats")


def test_composition_keys_group_versions_not_series():
    ids = ["w/battle.ogg", "w/battle-epic.ogg", "w/frantic-old.ogg", "w/frantic.ogg",
           "w/defeat.ogg", "w/defeat2.ogg", "z/albums__a__track3_enhanced.opus",
           "z/track3.opus", "z/track2.opus", "z/track17.opus", "z/menu.opus",
           "z/albums__b__menu_enhanced.opus", "n/sixtyfour_.ogg", "n/sixtyfour_revisited.ogg",
           "c_corpus/bach__bwv153.1.mxl", "c_corpus/bach__bwv153.9.mxl",
           "c_corpus/bach__bwv154.3.mxl", "p/music002.ogg", "p/music003.ogg"]
    keys = composition_keys(ids)
    same = [("w/battle.ogg", "w/battle-epic.ogg"), ("w/frantic.ogg", "w/frantic-old.ogg"),
            ("w/defeat.ogg", "w/defeat2.ogg"), ("z/track3.opus", "z/albums__a__track3_enhanced.opus"),
            ("z/menu.opus", "z/albums__b__menu_enhanced.opus"),
            ("n/sixtyfour_.ogg", "n/sixtyfour_revisited.ogg"),
            ("c_corpus/bach__bwv153.1.mxl", "c_corpus/bach__bwv153.9.mxl")]
    for a, b in same:
        assert keys[a] == keys[b], (a, b)
    for a, b in [("z/track2.opus", "z/track3.opus"), ("z/track17.opus", "z/track3.opus"),
                 ("p/music002.ogg", "p/music003.ogg"),
                 ("c_corpus/bach__bwv153.1.mxl", "c_corpus/bach__bwv154.3.mxl")]:
        assert keys[a] != keys[b], (a, b)


def test_installed_sources_have_compositions_and_codec_histories():
    present = [s for s in SOURCES if Path(s.path).exists() and s.kind in ("dir", "zip")]
    if not present:
        pytest.skip("no source package installed here")
    from artifactnet_core.bench.sources import codec_history, list_source_tracks

    for spec in present[:2]:
        tracks = list_source_tracks(spec.name, allow_download=False)
        history = codec_history(tracks[0])
        assert history.codec in ("vorbis", "opus") and history.kbps > 10
        assert not history.lossless and spec.name in tracks[0].track_id


@pytest.mark.parametrize("text, readme, expected", [
    ("Format: https://x\n\nFiles: *\nCopyright: 2017 A\nLicense: GPL-3+\n\n"
     "Files: debian/*\nLicense: Expat\n", "", "GPL-3+"),
    ("This program is free software under the GNU General Public License version 2\n"
     "   or at your option any later version.", "", "GPL-2+"),
    ("THIS CREATIVE COMMONS PUBLIC LICENSE ... License Elements: Attribution, ShareAlike.",
     "released under the same BY-SA 3.0 license as the source files.", "CC-BY-SA-3.0"),
    ('"I hereby release Fluid under the MIT license, as described in COPYING."', "", "MIT"),
    ("All rights reserved.", "", "unknown"),
])
def test_summarise_licence(text, readme, expected):
    summary, evidence = summarise_licence(text, readme)
    assert summary == expected
    assert (evidence != "") == (expected != "unknown")


def _fake_tools(bin_dir: Path, *, apt_ok: bool = True) -> None:
    """Stand-ins for ``apt-get download`` and ``dpkg-deb -x`` (no network, no root)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    apt = bin_dir / "apt-get"
    apt.write_text("#!/bin/sh\n" + ('touch "${2}_1.0_all.deb"\n' if apt_ok else "exit 100\n"))
    dpkg = bin_dir / "dpkg-deb"
    dpkg.write_text('#!/bin/sh\nmkdir -p "$3/usr/share/planetblupi/music"\n'
                    'echo x > "$3/usr/share/planetblupi/music/music000.ogg"\n')
    for tool in (apt, dpkg):
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)


def test_missing_package_falls_back_to_download_and_unpack(tmp_path, monkeypatch):
    spec = source_spec("planetblupi")
    with pytest.raises(SourceUnavailable, match="planetblupi-music-ogg"):
        locate_source(spec, system_root=tmp_path / "empty", allow_download=False)
    _fake_tools(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    found = locate_source(spec, system_root=tmp_path / "empty", unpack_root=tmp_path / "debs")
    assert found == tmp_path / "debs/planetblupi-music-ogg/usr/share/planetblupi/music"
    assert (found / "music000.ogg").exists()
    # Unpacked once, reused afterwards.
    assert unpack_debian_package("planetblupi-music-ogg", unpack_root=tmp_path / "debs") == \
        tmp_path / "debs/planetblupi-music-ogg"


def test_failed_download_names_the_package(tmp_path, monkeypatch):
    _fake_tools(tmp_path / "bin", apt_ok=False)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(SourceUnavailable, match="apt-get install -y wesnoth-1.16-music"):
        locate_source(source_spec("wesnoth"), system_root=tmp_path / "empty",
                      unpack_root=tmp_path / "debs")


def test_installed_sources_are_listed_when_present():
    present = [s for s in SOURCES if Path(s.path).exists() and s.kind != "score"]
    if not present:
        pytest.skip("no source package installed here")
    from artifactnet_core.bench.sources import list_source_tracks

    for spec in present:
        tracks = list_source_tracks(spec.name, allow_download=False)
        assert tracks and all(t.track_id.startswith(spec.name + "/") for t in tracks)
        assert len({t.track_id for t in tracks}) == len(tracks)


def test_folder_and_zip_tracks(tmp_path):
    root = tmp_path / "my music"
    (root / "album a").mkdir(parents=True)
    (root / ".hidden").mkdir()
    x = music_like(3.0, seed=4)
    sf.write(root / "album a" / "song 1.wav", x, SR)
    sf.write(root / "song 1.flac", x, SR)
    sf.write(root / ".hidden" / "skip.wav", x, SR)
    (root / "notes.txt").write_text("not audio")
    tracks = list_folder_tracks(root, source="user")
    assert [t.track_id for t in tracks] == ["user/album_a__song_1.wav", "user/song_1.flac"]
    with pytest.raises(FileNotFoundError):
        list_folder_tracks(tmp_path / "nowhere")
    buf = io.BytesIO()
    sf.write(buf, x, SR, format="WAV")
    archive = tmp_path / "music.pk3"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("sound/cdtracks/track.wav", buf.getvalue())
        z.writestr("readme.txt", "hello")
    (zipped,) = list_zip_tracks(archive, source="nexuiz")
    assert zipped.track_id == "nexuiz/track.wav" and zipped.kind == "zip"
    audio = np.concatenate(list(iter_track_audio(zipped, render_dir=tmp_path)))
    np.testing.assert_allclose(audio, x, atol=1e-4)


# --- score rendering safety -------------------------------------------------------------------


def _script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_renderer_timeout_and_size_cap(tmp_path):
    hang = _script(tmp_path / "hang", "sleep 30\n")
    with pytest.raises(RenderError, match="timed out"):
        run_fluidsynth(tmp_path / "x.mid", tmp_path / "out.wav", soundfont="sf2",
                       fluidsynth=hang, timeout_s=0.5)
    # Writes forever: the growing file must be stopped at the cap.
    flood = _script(tmp_path / "flood", 'while true; do head -c 65536 /dev/zero >> "${11}"; done\n')
    with pytest.raises(RenderError, match="exceeded"):
        run_fluidsynth(tmp_path / "x.mid", tmp_path / "flood.wav", soundfont="sf2",
                       fluidsynth=flood, timeout_s=20, max_bytes=1 << 20)


# --- clips ------------------------------------------------------------------------------------


def _track_with_silence(seconds_each: float = 4.0) -> tuple[np.ndarray, set[int]]:
    """Eight 4 s segments of music; segments 2 and 5 silent, segment 6 mostly silent."""
    parts, silent = [], {2, 5, 6}
    for k in range(8):
        seg = music_like(seconds_each, seed=20 + k)
        if k in (2, 5):
            seg = np.zeros_like(seg)
        if k == 6:
            seg = seg.copy()
            seg[int(0.3 * seg.size):] = 0.0
        parts.append(seg)
    return np.concatenate(parts), silent


def _blocks(x: np.ndarray, size: int = 10_000):
    for i in range(0, x.size, size):
        yield x[i:i + size]


def test_select_segments_deterministic_and_skips_silence():
    x, silent = _track_with_silence()
    clip = 4 * SR
    chosen = select_segments(_blocks(x), n_clips=10, clip_samples=clip, seed=0, track_id="t")
    assert [i for i, _ in chosen] == [i for i in range(8) if i not in silent]
    for index, seg in chosen:
        np.testing.assert_array_equal(seg, x[index * clip:(index + 1) * clip])
    picks = {s: [i for i, _ in select_segments(_blocks(x, 7_777), n_clips=2, clip_samples=clip,
                                               seed=s, track_id="t")] for s in range(6)}
    assert picks[0] == [i for i, _ in select_segments(_blocks(x), n_clips=2,
                                                      clip_samples=clip, seed=0, track_id="t")]
    assert len({tuple(v) for v in picks.values()}) > 1, "the seed must change the choice"
    assert all(not set(v) & silent for v in picks.values())
    limited = select_segments(_blocks(x), n_clips=10, clip_samples=clip, seed=0, track_id="t",
                              scan_limit_samples=3 * clip + 5)
    assert [i for i, _ in limited] == [0, 1]
    assert is_near_silent(np.zeros(SR, np.float32))
    assert not is_near_silent(music_like(1.0))


def test_extract_track_clips_writes_flac_and_resumes(tmp_path, monkeypatch):
    x, _ = _track_with_silence()
    x = x * 1.6                      # some samples beyond full scale: must be clipped
    src = tmp_path / "track.wav"
    sf.write(src, x, SR, subtype="FLOAT")
    track = Track("user", "user/track.wav", "file", str(src))
    kwargs = {"n_clips": 3, "clip_s": 4.0, "seed": 1, "bench_root": tmp_path / "bench",
              "subdir": "real", "render_dir": tmp_path / "renders"}
    clips = extract_track_clips(track, **kwargs)
    assert len(clips) == 3
    for c in clips:
        info = sf.info(tmp_path / "bench" / c.path)
        assert (info.format, info.subtype, info.channels, info.samplerate) == \
            ("FLAC", "PCM_16", 1, SR)
        assert info.frames == 4 * SR == c.n_samples and c.start_s == c.index * 4.0
        data, _ = sf.read(tmp_path / "bench" / c.path)
        assert np.abs(data).max() <= 1.0
        assert c.path.startswith("real/user/track.wav/")
    # A rerun must not decode the track again.
    import artifactnet_core.bench.clips as clips_module

    monkeypatch.setattr(clips_module, "iter_track_audio",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError("decoded again")))
    assert extract_track_clips(track, **kwargs) == clips


def test_unreadable_track_is_skipped_with_a_warning(tmp_path):
    bad = tmp_path / "broken.flac"
    bad.write_bytes(b"fLaC not really")
    track = Track("user", "user/broken.flac", "file", str(bad))
    with pytest.warns(UserWarning, match="broken.flac"):
        clips = extract_track_clips(track, n_clips=2, clip_s=4.0, seed=0,
                                    bench_root=tmp_path / "b", subdir="real",
                                    render_dir=tmp_path / "r")
    assert clips == []


# --- a whole build from --real-dir folders, with a stand-in zoo -------------------------------


@dataclass(frozen=True)
class _Spec:
    name: str
    family: str
    internal_sr: int
    bottleneck: str = "continuous"
    total_stride: int = 256


def stand_in_zoo() -> SimpleNamespace:
    """The zoo's interface with trivial "generators": a moving-average low-pass per family,
    band-limited at the spec's internal rate like a real generator; "shipped", so no training
    clips are needed (user folders give none)."""
    specs = (_Spec("g_tconv", "tconv", SR), _Spec("g_mrf", "mrf", 24_000),
             _Spec("g_istft", "istft", 22_050), _Spec("g_mel", "mel_vocoder", 32_000))

    def load_or_train(spec, train_clips, *, budget, seed, cache_dir, progress, device=None,
                      heldout_clips=None, retrain=False):
        return spec, {"name": spec.name, "envelope_corr": 0.9, "passes_floor": True}

    def regenerate(model, audio):
        from artifactnet_core.bench.chain import bandlimit

        width = 2 + len(model.name)
        y = np.convolve(audio, np.ones(width) / width, mode="same").astype(np.float32)
        return bandlimit(y, rate=model.internal_sr)

    return SimpleNamespace(zoo_specs=lambda names: specs, load_or_train=load_or_train,
                           regenerate=regenerate, has_shipped_weights=lambda spec: True,
                           weights_fingerprint=lambda specs, retrain: [s.name for s in specs])


def _user_folders(root: Path, *, bad_name: str | None = None) -> list[Path]:
    """Two folders of five 9 s tracks; in each, track 4 is an "-epic" version of track 3."""
    dirs = []
    for d in range(2):
        folder = root / f"music{d}"
        folder.mkdir(parents=True)
        for t in range(5):
            x = music_like(9.0, seed=100 * d + t)
            name = "track3-epic" if t == 4 else f"track{t}"
            sf.write(folder / f"{name}.{'wav' if t % 2 else 'flac'}", x, SR)
        dirs.append(folder)
    if bad_name is not None:
        (dirs[0] / bad_name).write_bytes(b"this is not audio, just text\n" * 20)
    return dirs


def _tiny_config() -> BenchConfig:
    return BenchConfig(profile="smoke", clip_s=4.0, clips_per_track=2, test_clips_per_track=2,
                       ai_per_real=2, sources=(), heldout_sources=("user2",))


def test_build_from_real_dirs_is_deterministic_and_resumes(tmp_path, monkeypatch):
    import artifactnet_core.bench.build as build_module
    from artifactnet_core.bench.chain import finish as real_finish

    calls = []

    def spy(audio, **kwargs):
        calls.append("real" if kwargs["reencode"] is None else "ai-or-reference")
        return real_finish(audio, **kwargs)

    monkeypatch.setattr(build_module, "finish", spy)
    dirs = _user_folders(tmp_path / "in", bad_name="text renamed.wav")
    cfg = _tiny_config()
    zoo = stand_in_zoo()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manifest = build_bench(cfg, seed=3, real_dirs=dirs, cache_root=tmp_path / "c1",
                               progress=False, zoo=zoo)
    assert any("text renamed.wav" in str(w.message) for w in caught), "bad file not named"
    df = load_manifest(manifest)
    root = manifest.parent
    assert root.parent == tmp_path / "c1" / "bench" and root.name.startswith("smoke-")
    # 2 sources x 5 tracks x 2 clips; each regenerated by 2 generators.
    real, ai = df[df["label"] == "real"], df[df["label"] == "ai"]
    assert len(real) == 20 and len(ai) == 40
    # One chain for both classes: every real clip, every regeneration and its reference.
    assert calls.count("real") == 20 and calls.count("ai-or-reference") == 80
    assert set(df["source"]) == {"user", "user2"}
    assert set(df.loc[df["source"] == "user2", "split"]) == {"test"}
    families, sources = heldout_sets(df)
    assert families == {"istft", "mel_vocoder"} and sources == {"user2"}
    check_split_disjointness(df)
    # Versions of one composition share a split.
    epic = df[df["track_id"].str.contains("track3")]
    assert epic["composition"].nunique() == 2 and epic.groupby("source")["split"].nunique().max() == 1
    meta = json.loads((root / "bench_config.json").read_text())
    assert meta["gentrain_tracks"] == []            # user folders never train generators
    for row in df.itertuples():
        assert file_sha256(root / row.path) == row.sha256
    # The chain by class: codec histories and band limits distributed alike.
    assert sorted(real["codec_history"]) == sorted(ai["codec_history"])[::2]
    limit = df["bandlimit_hz"].astype(int)
    for _, rows in df.groupby("track_id"):
        ai_limits = set(limit[rows.index[rows["label"] == "ai"]])
        assert set(limit[rows.index[rows["label"] == "real"]]) <= ai_limits | {SR // 2}
    share = {lab: float((limit[part.index] < SR // 2).mean()) for lab, part in df.groupby("label")}
    assert abs(share["real"] - share["ai"]) < 0.3
    a = ai.iloc[0]
    x, _ = sf.read(root / a["reference_path"])
    y, _ = sf.read(root / a["path"])
    r, _ = sf.read(root / a["real_path"])
    assert x.shape == y.shape == r.shape
    assert abs(np.sqrt(np.mean(r**2)) - np.sqrt(np.mean(y**2))) < 0.01   # loudness matched
    assert abs(np.sqrt(np.mean(r**2)) - np.sqrt(np.mean(x**2))) < 0.01
    # Spectral envelope matched: the stand-in generators are moving averages of 7-9 taps
    # (3-4 dB duller than their input at 2.5 kHz), yet each regeneration's third-octave levels
    # are its reference's up to the first null of the average (4.9 kHz; a null is a narrow-band
    # trace, which the match keeps).
    from artifactnet_core.bench.shortcuts import THIRD_OCTAVES, descriptors

    bands = [f"band_{c:g}Hz" for c in THIRD_OCTAVES if 50 <= c <= 2500]
    for row in ai.itertuples():
        x, _ = sf.read(root / row.reference_path)
        y, _ = sf.read(root / row.path)
        dx, dy = descriptors(x), descriptors(y)
        assert max(abs(dx[b] - dy[b]) for b in bands) < 1.0, row.path
    assert (root / "shortcut_probe.csv").exists() and (root / "descriptors.csv").exists()
    gens = (root / "generators.csv").read_text()
    assert "g_istft" in gens and "envelope_corr" in gens

    sha = (root / "manifest.sha256").read_text().split()[0]
    # Same seed, fresh cache: same bytes. Same cache again: resumes, same bytes.
    other = build_bench(cfg, seed=3, real_dirs=dirs, cache_root=tmp_path / "c2",
                        progress=False, zoo=zoo)
    assert file_sha256(other) == sha == file_sha256(manifest)
    mtime = (root / df["path"].iloc[-1]).stat().st_mtime_ns
    first = json.loads((root / "build_info.json").read_text())["timings"]
    build_bench(cfg, seed=3, real_dirs=dirs, cache_root=tmp_path / "c1", progress=False,
                zoo=zoo)
    assert (root / df["path"].iloc[-1]).stat().st_mtime_ns == mtime
    # The resumed call only checks: the build's cost stays the first build's.
    info = json.loads((root / "build_info.json").read_text())
    assert info["timings"] == first
    assert info["last_call_timings"]["total_s"] < first["total_s"]
    assert file_sha256(manifest) == sha
    # Another seed gives another benchmark.
    third = build_bench(cfg, seed=4, real_dirs=dirs, cache_root=tmp_path / "c1",
                        progress=False, zoo=zoo)
    assert third.parent != root and file_sha256(third) != sha


def test_match_spectrum_fixes_the_envelope_and_keeps_narrow_traces():
    """The regeneration's dullness goes, a decoder's narrow-band line stays, and a clip matched
    to itself is unchanged."""
    import scipy.signal

    from artifactnet_core.bench.chain import match_spectrum
    from artifactnet_core.bench.shortcuts import descriptors

    reference = music_like(4.0, seed=7)
    b, a = scipy.signal.butter(1, 3000 / (SR / 2))
    dull = 0.5 * reference + 0.5 * scipy.signal.lfilter(b, a, reference)
    t = np.arange(len(dull)) / SR
    line = 0.002 * np.sin(2 * np.pi * 5168 * t)  # a comb line at 30 x 44100 / 256
    out = match_spectrum((dull + line).astype(np.float32), reference)
    assert out.shape == reference.shape and out.dtype == np.float32
    before, after, want = (descriptors(z) for z in (dull + line, out, reference))
    assert abs(after["rolloff85_hz"] - want["rolloff85_hz"]) < abs(
        before["rolloff85_hz"] - want["rolloff85_hz"]) / 3

    def line_contrast(z):
        spectrum = np.abs(np.fft.rfft(z))
        k = int(round(5168 * len(z) / SR))
        return spectrum[k] / np.median(spectrum[k - 200:k + 200])

    assert line_contrast(out) > 0.7 * line_contrast(dull + line)
    np.testing.assert_allclose(match_spectrum(reference, reference), reference, atol=1e-6)


_HAS_FLUIDSYNTH = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2").exists() and bool(
    shutil.which("fluidsynth"))


@pytest.mark.skipif(not _HAS_FLUIDSYNTH, reason="fluidsynth or FluidR3_GM not installed")
def test_render_score_truncates_and_normalises(tmp_path):
    from artifactnet_core.bench.render import (
        RENDER_PEAK,
        ScoreRender,
        choose_programs,
        render_score,
    )

    abc = tmp_path / "tune.abc"
    abc.write_text("X:1\nT:Test\nM:4/4\nL:1/4\nQ:1/4=240\nK:C\n" + "C D E F | G A B c |" * 30
                   + "\n")
    programs = choose_programs(seed=0, key="tune")
    assert programs == choose_programs(seed=0, key="tune") and len(programs) == 8
    render = ScoreRender(3.0, programs, "/usr/share/sounds/sf2/FluidR3_GM.sf2")
    out = render_score(abc, tmp_path / "out.flac", render=render)
    # The same bytes every time: the fresh-cache build test shares renders on this guarantee.
    assert file_sha256(render_score(abc, tmp_path / "again.flac", render=render)) \
        == file_sha256(out)
    info = sf.info(out)
    assert (info.channels, info.samplerate, info.subtype) == (1, SR, "PCM_16")
    assert 2.5 < info.duration <= 3.0
    audio, _ = sf.read(out)
    assert np.abs(audio).max() == pytest.approx(RENDER_PEAK, abs=1e-3)


def test_an_abc_collection_is_parsed_for_its_first_tune_alone(tmp_path, monkeypatch):
    from artifactnet_core.bench import render

    tunes = {3: "c B A G |", 1: "G A B c |", 2: "C D E F |"}
    collection = tmp_path / "book.abc"
    collection.write_text("% a collection\n\n" + "".join(
        f"X:{n}\nT:Tune {n}\nM:4/4\nL:1/4\nQ:1/4=120\nK:C\n{body * 4}\n\n"
        for n, body in tunes.items()))
    single = tmp_path / "tune.abc"
    single.write_text("X:5\nT:One\nM:4/4\nL:1/4\nK:C\nC D E F |\n")
    assert render.first_abc_tune(collection) == 1       # music21 sorts a collection by number
    assert render.first_abc_tune(single) is None
    assert render.first_abc_tune(tmp_path / "piece.krn") is None

    def midi(whole: bool) -> bytes:
        if whole:   # the code before: the whole collection, its first score taken
            monkeypatch.setattr(render, "first_abc_tune", lambda path: None)
        out = tmp_path / f"{whole}.mid"
        render.score_to_midi(collection, out, max_s=10.0, programs=(0,))
        monkeypatch.undo()
        return out.read_bytes()

    first = midi(whole=False)
    assert first == midi(whole=True)
    from music21 import converter
    pitches = [p.midi for p in converter.parse(first, format="midi").pitches]
    assert pitches[:4] == [67, 69, 71, 72]             # tune 1: G A B c


def test_installed_package_licences():
    from artifactnet_core.bench.sources import package_licence

    expected = {"wesnoth-1.16-music": "GPL-2+", "warzone2100-music": "GPL-2+",
                "singularity-music": "CC-BY-SA-3.0", "nexuiz-music": "GPL-2+",
                "planetblupi-music-ogg": "GPL-3+", "fluid-soundfont-gm": "MIT"}
    present = {p: s for p, s in expected.items()
               if Path(f"/usr/share/doc/{p}/copyright").exists()}
    if not present:
        pytest.skip("no source package installed here")
    for package, summary in present.items():
        assert package_licence(package, doc_roots=[Path("/usr/share/doc")]).summary == summary
    assert package_licence("no-such-package", doc_roots=[Path("/nonexistent")]).summary \
        .startswith("unknown")


_MIDI = sorted(Path("/usr/share/games/openttd/baseset").rglob("*.mid"))
_MODULES = sorted(Path("/usr/share/games/pingus/data/music").glob("*.it"))


@pytest.mark.skipif(not (_HAS_FLUIDSYNTH and _MIDI), reason="fluidsynth or the MIDI files missing")
def test_render_midi_cuts_and_normalises(tmp_path):
    from artifactnet_core.bench.render import RENDER_PEAK, ScoreRender, render_midi

    render = ScoreRender(5.0, (), "/usr/share/sounds/sf2/FluidR3_GM.sf2")
    out = render_midi(_MIDI[0], tmp_path / "out.flac", render=render)
    assert file_sha256(render_midi(_MIDI[0], tmp_path / "again.flac", render=render)) \
        == file_sha256(out)
    info = sf.info(out)
    assert (info.channels, info.samplerate) == (1, SR) and 4.9 < info.duration <= 5.0
    assert np.abs(sf.read(out)[0]).max() == pytest.approx(RENDER_PEAK, abs=1e-3)


@pytest.mark.skipif(not (shutil.which("openmpt123") and _MODULES),
                    reason="openmpt123 or the modules missing")
def test_render_module_is_deterministic(tmp_path):
    from artifactnet_core.bench.render import ScoreRender, render_module

    render = ScoreRender(4.0, (), "")
    a = render_module(_MODULES[0], tmp_path / "a.flac", render=render)
    b = render_module(_MODULES[0], tmp_path / "b.flac", render=render)
    assert file_sha256(a) == file_sha256(b)             # no dither: the same bytes every time
    assert 3.9 < sf.info(a).duration <= 4.0


def test_a_generator_under_the_floor_stops_the_build(tmp_path):
    from dataclasses import replace

    from artifactnet_core.bench.build import QualityFloorError
    from artifactnet_core.bench.config import ZooBudget

    zoo = stand_in_zoo()
    real_load = zoo.load_or_train

    def one_bad(spec, *args, **kwargs):
        model, info = real_load(spec, *args, **kwargs)
        return model, {**info, "passes_floor": spec.name != "g_mrf"}

    zoo.load_or_train = one_bad
    dirs = _user_folders(tmp_path / "in")
    strict = replace(_tiny_config(), zoo=ZooBudget(enforce_floor=True))
    with pytest.raises(QualityFloorError, match="g_mrf"):
        build_bench(strict, seed=3, real_dirs=dirs, cache_root=tmp_path / "c", progress=False,
                    zoo=zoo)
    lenient = replace(_tiny_config(), zoo=ZooBudget(enforce_floor=False))
    assert build_bench(lenient, seed=3, real_dirs=dirs, cache_root=tmp_path / "c",
                       progress=False, zoo=zoo).exists()


def test_two_builds_of_one_bench_regenerate_it_once(tmp_path):
    """``make test`` builds the smoke bench in its bench tests and in the notebook run beside
    them: the second build waits on the bench folder's lock and finds the first one's clips."""
    from concurrent.futures import ThreadPoolExecutor

    dirs = _user_folders(tmp_path / "in")
    zoo = stand_in_zoo()
    calls = []
    plain = zoo.regenerate

    def counted(model, audio):
        calls.append(model.name)
        time.sleep(0.01)  # the other build reaches the bench folder meanwhile
        return plain(model, audio)

    zoo.regenerate = counted
    with ThreadPoolExecutor(max_workers=2) as pool:
        manifests = list(pool.map(
            lambda _: build_bench(_tiny_config(), seed=3, real_dirs=dirs,
                                  cache_root=tmp_path / "c", progress=False, zoo=zoo), range(2)))
    assert manifests[0] == manifests[1]
    assert len(calls) == len(load_manifest(manifests[0]).query("label == 'ai'"))
