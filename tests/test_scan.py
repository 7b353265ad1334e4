"""`artifactnet scan`: rows as `detect` scores them, resume after a kill, shards, Ray engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import SR, music_like

pa = pytest.importorskip("pyarrow")

from artifactnet_core.atomic import file_sha256  # noqa: E402
from artifactnet_core.cli import CSV_COLUMNS, main  # noqa: E402
from artifactnet_core.scan.decode import decode_file  # noqa: E402
from artifactnet_core.scan.shards import (  # noqa: E402
    COLUMNS,
    ScanOutputError,
    ShardWriter,
    claim_output,
    done_paths,
    read_results,
)

N_GOOD = 5


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory) -> Path:
    import torch

    from artifactnet_core.detector.model import ArtifactNet, ArtifactNetConfig, save_model

    torch.manual_seed(0)
    model = ArtifactNet(ArtifactNetConfig(unet_base_width=4, cnn_widths=(8, 8, 16, 16),
                                          cnn_hidden=16))
    return save_model(model, tmp_path_factory.mktemp("weights") / "tiny.safetensors")


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> Path:
    """Five 2-3 s songs in two folders (FLAC, WAV, one MP3), one too short, one not audio."""
    from artifactnet_core.detector.audio import write_audio
    from artifactnet_core.detector.codecs import encode

    root = tmp_path_factory.mktemp("catalogue")
    for i in range(N_GOOD):
        x = music_like(2.0 + 0.5 * (i % 3), seed=40 + i)
        folder = root / ("label a" if i % 2 else "label b")
        folder.mkdir(exist_ok=True)
        if i == 0:
            (folder / "song0.mp3").write_bytes(encode(x, codec="mp3"))
        else:
            write_audio(folder / f"song{i}.{'wav' if i % 3 else 'flac'}", x, sr=SR)
    write_audio(root / "too short.flac", music_like(1.0, seed=9), sr=SR)
    (root / "not audio.wav").write_bytes(b"this is text\n" * 50)
    return root


def scan(*args: object) -> int:
    return main(["scan", *map(str, args), "-q"])


def rows_by_path(out: Path) -> dict[str, dict]:
    rows = read_results(out).to_pylist()
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)), "a file was scored twice"
    return {r["path"]: r for r in rows}


@pytest.fixture(scope="module")
def local_rows(catalogue, tiny_weights, tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("scan") / "results.parquet"
    assert scan(catalogue, "--out", out, "--weights", tiny_weights, "--workers", 1) == 2
    return rows_by_path(out)


def test_rows_are_what_detect_says(local_rows, catalogue, tiny_weights):
    from artifactnet_core.detector.calibration import (
        DEFAULT_OPERATING_POINT,
        resolve_operating_point,
    )
    from artifactnet_core.detector.detect import detect_file, find_audio_files
    from artifactnet_core.detector.model import load_model
    from artifactnet_core.scan.score import model_id

    assert COLUMNS[:len(CSV_COLUMNS)] == CSV_COLUMNS
    files = find_audio_files([catalogue])
    assert sorted(local_rows) == sorted(os.path.abspath(p) for p in files)
    model = load_model(tiny_weights)
    point = resolve_operating_point(model.config, DEFAULT_OPERATING_POINT)
    for path in files:
        row = local_rows[os.path.abspath(path)]
        det = detect_file(path, model, operating_point=point)
        assert [row[k] for k in ("p_ai", "label", "error", "threshold", "operating_point",
                                 "p_calibrated")] == [det.p_ai, det.label, det.error,
                                                      det.threshold, det.operating_point,
                                                      det.p_calibrated]
        assert row["duration_s"] == pytest.approx(det.duration_s) if det.duration_s else \
            row["duration_s"] is None
        assert row["model_id"] == model_id(tiny_weights)
        assert row["file_sha256"] == file_sha256(path)
    errors = {Path(p).name: r["error"] for p, r in local_rows.items() if r["error"]}
    assert set(errors) == {"too short.flac", "not audio.wav"}
    assert sum(r["p_ai"] is not None for r in local_rows.values()) == N_GOOD


def test_a_killed_scan_resumes_and_scores_every_file_once(local_rows, catalogue, tiny_weights,
                                                          tmp_path):
    out = tmp_path / "results.parquet"
    cmd = [sys.executable, "-m", "artifactnet_core.cli", "scan", str(catalogue), "--out",
           str(out), "--weights", str(tiny_weights), "--rows-per-shard", "1", "--workers", "0",
           "-q"]
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 120
        while len(list(out.glob("part-*.parquet"))) < 2 and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, log.read_text()
    before = done_paths(out)
    assert 0 < len(before) < len(local_rows), "the kill did not land halfway"
    assert scan(catalogue, "--out", out, "--weights", tiny_weights, "--workers", 0) == 2
    after = rows_by_path(out)  # asserts no path twice
    assert after == local_rows  # every file, scored as an uninterrupted scan scores it
    assert scan(catalogue, "--out", out, "--weights", tiny_weights) == 0  # nothing left to do
    assert len(read_results(out)) == len(local_rows)


def test_shards_split_the_work_and_limit_caps_it(local_rows, catalogue, tiny_weights,
                                                 tmp_path):
    from artifactnet_core.scan.plan import parse_shard, plan_scan

    parts = [set(plan_scan([catalogue], tmp_path / "none", shard=(i, 3)).todo)
             for i in range(3)]
    assert set.union(*parts) == set(local_rows) and sum(map(len, parts)) == len(local_rows)
    assert len(plan_scan([catalogue], tmp_path / "none", limit=3).todo) == 3
    with pytest.raises(ValueError, match="i/n"):
        parse_shard("1of2")
    with pytest.raises(ValueError, match="0 <= i < n"):
        parse_shard("2/2")
    parts_of_two = [plan_scan([catalogue], tmp_path / "none", shard=(i, 2)).todo
                    for i in range(2)]
    assert all(parts_of_two)
    out = tmp_path / "results.parquet"
    scan(catalogue, "--out", out, "--weights", tiny_weights, "--workers", 0, "--shard", "1/2",
         "--limit", 2)
    assert len(done_paths(out)) == min(2, len(parts_of_two[1]))
    scan(catalogue, "--out", out, "--weights", tiny_weights, "--workers", 0, "--shard", "0/2")
    scan(catalogue, "--out", out, "--weights", tiny_weights, "--workers", 0, "--shard", "1/2")
    assert rows_by_path(out) == local_rows


def test_an_output_made_otherwise_is_not_resumed(tmp_path, catalogue, tiny_weights):
    out = tmp_path / "results.parquet"
    claim_output(out, {"model_id": "m-1", "threshold": 0.5, "max_chunks": 16})
    claim_output(out, {"model_id": "m-1", "threshold": 0.5, "max_chunks": 16})  # same: fine
    with pytest.raises(ScanOutputError, match="threshold"):
        claim_output(out, {"model_id": "m-1", "threshold": 0.7, "max_chunks": 16})
    with pytest.raises(SystemExit, match="model_id"):
        scan(catalogue, "--out", out, "--weights", tiny_weights)
    mine = tmp_path / "mine.parquet"
    scan(catalogue, "--out", mine, "--weights", tiny_weights, "--workers", 0, "--limit", 1)
    with pytest.raises(SystemExit, match="threshold"):
        scan(catalogue, "--out", mine, "--weights", tiny_weights, "--threshold", 0.9)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "part-0.parquet").write_bytes(b"x")
    with pytest.raises(ScanOutputError, match="_scan.json"):
        claim_output(tmp_path / "foreign", {"model_id": "m-1"})


def test_shards_are_atomic(tmp_path):
    out = tmp_path / "results.parquet"
    row = dict.fromkeys(COLUMNS) | {"path": "/a.wav", "p_ai": 0.25, "model_id": "m"}
    with ShardWriter(out, rows_per_shard=2) as writer:
        writer.add(row)
        assert not done_paths(out)  # not flushed yet
        writer.add(row | {"path": "/b.wav"})
        assert done_paths(out) == {"/a.wav", "/b.wav"}
        writer.add(row | {"path": "/c.wav"})
    assert writer.shards_written == 2 and done_paths(out) == {"/a.wav", "/b.wav", "/c.wav"}
    # A write cut short leaves only a hidden temporary file, which readers ignore.
    (out / ".part-x.tmp123.parquet").write_bytes(b"PAR1 half a shard")
    assert len(read_results(out)) == 3
    import pandas as pd

    assert sorted(pd.read_parquet(out)["path"]) == ["/a.wav", "/b.wav", "/c.wav"]


def crash_on_marked_files(path: str, **kw) -> object:
    """A decoder that dies (as a crash inside FFmpeg would) on files named ``crash*``."""
    if Path(path).name.startswith("crash"):
        os._exit(3)
    return decode_file(path, **kw)


def test_a_crashing_decoder_costs_one_row(tmp_path, catalogue, tiny_weights):
    from artifactnet_core.detector.model import load_model
    from artifactnet_core.scan.local import scan_local

    files = sorted(str(p) for p in catalogue.rglob("song*"))[:2]
    crash = tmp_path / "crash.wav"
    crash.write_bytes(Path(files[0]).read_bytes())
    files.insert(1, str(crash))
    with ShardWriter(tmp_path / "out") as writer:
        stats = scan_local(files, writer, load_model(tiny_weights), model_ref="m", workers=1,
                           progress=False, decode=crash_on_marked_files)
    rows = rows_by_path(tmp_path / "out")
    assert (stats.scored, stats.failed) == (2, 1) and set(rows) == set(files)
    assert "crashed" in rows[str(crash)]["error"]


def test_the_subcommand_is_light_to_register():
    code = ("import sys, argparse; from artifactnet_core.scan.cli import add_scan_command; "
            "add_scan_command(argparse.ArgumentParser().add_subparsers()); "
            "print(sorted(m for m in ('torch', 'pyarrow', 'ray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_ray_engine_gives_the_local_rows(local_rows, catalogue, tiny_weights, tmp_path,
                                        quiet_machine):
    """The Ray Data pipeline on a local 2-CPU Ray: the same rows, P(AI) equal to the bit
    (after the background notebook run, so that Ray's raylet gets the cores to start).

    Where ``auto`` is the int8 UNet (a CPU with VNNI, no AMX) the scores are held to 1e-3 instead:
    a lone chunk runs on all of an engine's torch threads, Ray's workers and the local engine
    have different counts, and oneDNN's int8 kernels round differently with the thread count
    (up to 2.9e-4 in P(AI) on real music, ``benchmarks/README.md``)."""
    pytest.importorskip("ray")
    from artifactnet_core.detector.unet import resolve_precision

    out = tmp_path / "results.parquet"
    code = scan(catalogue, "--out", out, "--weights", tiny_weights, "--engine", "ray",
                "--num-cpus", 2)
    assert code == 2
    ray_rows = rows_by_path(out)
    if resolve_precision("cpu") != "int8":
        assert ray_rows == local_rows
        return
    assert ray_rows.keys() == local_rows.keys()
    scores = {"p_ai": None, "p_calibrated": None}
    for path, row in ray_rows.items():
        local = local_rows[path]
        assert {**row, **scores} == {**local, **scores}
        for column in scores:
            assert (row[column] is None) == (local[column] is None)
            if row[column] is not None:
                assert abs(row[column] - local[column]) <= 1e-3


def test_decoding_never_raises(tmp_path):
    from artifactnet_core.detector.config import CHUNK_SAMPLES

    missing = decode_file(tmp_path / "missing.mp3", sr=SR, chunk_samples=CHUNK_SAMPLES,
                          max_chunks=16)
    assert missing.error and missing.file_sha256 is None
    assert missing.chunks.shape == (0, CHUNK_SAMPLES)
    song = tmp_path / "song.wav"
    import soundfile as sf

    sf.write(song, music_like(9.0, seed=3), SR)
    ok = decode_file(song, sr=SR, chunk_samples=CHUNK_SAMPLES, max_chunks=16)
    assert ok.error is None and ok.samples_read == 9 * SR
    np.testing.assert_array_equal(ok.starts, [0, CHUNK_SAMPLES])  # 1 s tail: no third chunk


def test_ray_local_start_is_retried_after_a_startup_timeout(monkeypatch):
    """A local raylet that misses Ray's fixed 30 s startup window (all cores busy) is retried;
    any other error is not."""
    ray = pytest.importorskip("ray")
    from artifactnet_core.scan import ray_engine

    calls = []

    def flaky_init(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise Exception("The current node timed out during startup. This could happen")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "shutdown", lambda: None)
    monkeypatch.setattr(ray, "init", flaky_init)
    assert ray_engine._connect(None, 2) is True
    assert len(calls) == 2 and calls[-1]["num_cpus"] == 2

    def broken_init(**kwargs):
        calls.append(kwargs)
        raise ValueError("bad option")

    monkeypatch.setattr(ray, "init", broken_init)
    calls.clear()
    with pytest.raises(ValueError, match="bad option"):
        ray_engine._connect(None, 2)
    assert len(calls) == 1
