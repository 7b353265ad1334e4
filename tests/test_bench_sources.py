"""Real sources, clip extraction, score rendering safety, and a whole (tiny) build from
``--real-dir`` folders with a stand-in generator zoo: determinism, resume, bad files."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
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
from artifactnet_core.bench.build import generator_training_clips
from artifactnet_core.bench.clips import extract_track_clips, is_near_silent, select_segments
from artifactnet_core.bench.manifest import check_split_disjointness, heldout_sets
from artifactnet_core.bench.render import RenderError, run_fluidsynth
from artifactnet_core.bench.sources import (
    SOURCE_NAMES,
    SOURCES,
    SourceUnavailable,
    Track,
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


def test_six_sources_and_their_packages():
    assert SOURCE_NAMES == ("wesnoth", "warzone2100", "singularity", "nexuiz", "planetblupi",
                            "fluidr3_corpus")
    assert required_debian_packages() == (
        "wesnoth-1.16-music", "warzone2100-music", "singularity-music", "nexuiz-music",
        "planetblupi-music-ogg", "fluid-soundfont-gm", "fluidsynth")
    assert required_debian_packages(["nexuiz"]) == ("nexuiz-music",)
    assert source_spec("nexuiz").kind == "zip"
    with pytest.raises(KeyError):
        source_spec("freepats")


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
        tracks = list_source_tracks(spec.name, seed=0, allow_download=False)
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
    bottleneck: str = "continuous"
    total_stride: int = 256


def stand_in_zoo() -> SimpleNamespace:
    """The zoo's interface with trivial "generators": a moving-average low-pass per family."""
    specs = (_Spec("g_tconv", "tconv"), _Spec("g_mrf", "mrf"), _Spec("g_istft", "istft"),
             _Spec("g_mel", "mel_vocoder"))

    def load_or_train(spec, train_clips, *, budget, seed, cache_dir, progress, device=None):
        assert train_clips and all(c.dtype == np.float32 for c in train_clips)
        return spec, {"name": spec.name, "envelope_corr": 0.9, "passes_floor": True,
                      "n_train": len(train_clips)}

    def regenerate(model, audio):
        width = 2 + len(model.name)
        return np.convolve(audio, np.ones(width) / width, mode="same").astype(np.float32)

    return SimpleNamespace(zoo_specs=lambda names: specs, load_or_train=load_or_train,
                           regenerate=regenerate)


def _user_folders(root: Path, *, bad_name: str | None = None) -> list[Path]:
    dirs = []
    for d in range(2):
        folder = root / f"music{d}"
        folder.mkdir(parents=True)
        for t in range(5):
            x = music_like(9.0, seed=100 * d + t)
            sf.write(folder / f"track{t}.{'wav' if t % 2 else 'flac'}", x, SR)
        dirs.append(folder)
    if bad_name is not None:
        (dirs[0] / bad_name).write_bytes(b"this is not audio, just text\n" * 20)
    return dirs


def _tiny_config() -> BenchConfig:
    return BenchConfig(profile="smoke", clip_s=4.0, real_clips_per_source=8,
                       max_clips_per_track=2, gentrain_clips_per_source=2, ai_per_real=2,
                       corpus_pieces=0, corpus_max_s=10.0, sources=(),
                       heldout_sources=("user2",))


def test_build_from_real_dirs_is_deterministic_and_resumes(tmp_path):
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
    # 2 sources x 4 benchmark tracks x 2 clips; each regenerated by 2 generators.
    assert (df["label"] == "real").sum() == 16 and (df["label"] == "ai").sum() == 32
    assert set(df["source"]) == {"user", "user2"}
    assert set(df.loc[df["source"] == "user2", "split"]) == {"test"}
    families, sources = heldout_sets(df)
    assert families == {"istft", "mel_vocoder"} and sources == {"user2"}
    check_split_disjointness(df)
    meta = json.loads((root / "bench_config.json").read_text())
    gentrain = set(meta["gentrain_tracks"])
    assert len(gentrain) == 2 and not gentrain & set(df["track_id"])
    for row in df.itertuples():
        assert file_sha256(root / row.path) == row.sha256
    ai = df[df["label"] == "ai"].iloc[0]
    x, _ = sf.read(root / ai["real_path"])
    y, _ = sf.read(root / ai["path"])
    assert x.shape == y.shape
    assert abs(np.sqrt(np.mean(x**2)) - np.sqrt(np.mean(y**2))) < 0.01   # loudness matched
    gens = (root / "generators.csv").read_text()
    assert "g_istft" in gens and "envelope_corr" in gens

    sha = (root / "manifest.sha256").read_text().split()[0]
    # Same seed, fresh cache: same bytes. Same cache again: resumes, same bytes.
    other = build_bench(cfg, seed=3, real_dirs=dirs, cache_root=tmp_path / "c2",
                        progress=False, zoo=zoo)
    assert file_sha256(other) == sha == file_sha256(manifest)
    mtime = (root / df["path"].iloc[-1]).stat().st_mtime_ns
    build_bench(cfg, seed=3, real_dirs=dirs, cache_root=tmp_path / "c1",
                        progress=False, zoo=zoo)
    assert (root / df["path"].iloc[-1]).stat().st_mtime_ns == mtime
    assert file_sha256(manifest) == sha
    # Another seed gives another benchmark.
    third = build_bench(cfg, seed=4, real_dirs=dirs, cache_root=tmp_path / "c1",
                        progress=False, zoo=zoo)
    assert third.parent != root and file_sha256(third) != sha

    clips = generator_training_clips(cfg, seed=3, real_dirs=dirs, cache_root=tmp_path / "c1",
                                     progress=False)
    assert len(clips) == 4 and all(c.shape == (4 * SR,) for c in clips)


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
    out = render_score(abc, tmp_path / "out.flac",
                       render=ScoreRender(3.0, programs, "/usr/share/sounds/sf2/FluidR3_GM.sf2"))
    info = sf.info(out)
    assert (info.channels, info.samplerate, info.subtype) == (1, SR, "PCM_16")
    assert 2.5 < info.duration <= 3.0
    audio, _ = sf.read(out)
    assert np.abs(audio).max() == pytest.approx(RENDER_PEAK, abs=1e-3)


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
