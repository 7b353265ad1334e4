"""Detection: streaming chunks, chunk selection, per-file errors, and the CLI as a subprocess."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
import torch
from conftest import BAD, ODD, SR, music_like

from artifactnet_core.detector.audio import write_audio
from artifactnet_core.detector.chunking import ChunkStream
from artifactnet_core.detector.detect import detect_file, find_audio_files
from artifactnet_core.detector.model import ArtifactNet, ArtifactNetConfig, save_model

CHUNK = 176_400


@pytest.fixture(scope="module")
def tiny_model() -> ArtifactNet:
    torch.manual_seed(0)
    return ArtifactNet(ArtifactNetConfig(unet_base_width=4, cnn_widths=(8, 8, 8, 8),
                                         cnn_hidden=8)).eval()


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory, tiny_model) -> str:
    return str(save_model(tiny_model, tmp_path_factory.mktemp("w") / "tiny.safetensors"))


@pytest.mark.parametrize("seconds,starts_s", [(1.0, [0]), (4.0, [0]), (5.9, [0]), (6.0, [0, 2]),
                                              (12.0, [0, 4, 8]), (14.0, [0, 4, 8, 10])])
def test_chunking(tmp_path, seconds, starts_s):
    path = write_audio(tmp_path / "x.wav", music_like(seconds), sr=SR)
    stream = ChunkStream(path, chunk_samples=CHUNK)
    chunks = list(stream)
    assert [start / SR for start, _ in chunks] == starts_s
    assert all(c.shape == (CHUNK,) for _, c in chunks)
    assert stream.samples_read == int(seconds * SR)


def test_max_chunks_spreads_evenly(tmp_path):
    path = write_audio(tmp_path / "x.flac", np.tile(music_like(6.0), 10), sr=SR)  # 15 chunks
    assert [s // CHUNK for s, _ in ChunkStream(path, max_chunks=4)] == [0, 5, 9, 14]
    assert len(list(ChunkStream(path, max_chunks=None))) == 15


def test_chunk_content_is_the_signal(tmp_path):
    x = music_like(10.0, seed=3)
    path = write_audio(tmp_path / "x.wav", x, sr=SR, subtype="FLOAT")
    chunks = dict(ChunkStream(path))
    np.testing.assert_array_equal(chunks[CHUNK], x[CHUNK:2 * CHUNK])
    # The remainder (2 s) becomes the file's last 4 s, not a half-silent chunk.
    np.testing.assert_array_equal(chunks[len(x) - CHUNK], x[-CHUNK:])
    short = write_audio(tmp_path / "short.wav", x[:SR], sr=SR, subtype="FLOAT")
    (start, chunk), = list(ChunkStream(short))
    np.testing.assert_array_equal(chunk[:SR], x[:SR])
    assert start == 0 and not chunk[SR:].any()


def _peak_bytes(path) -> int:
    tracemalloc.start()
    for _ in ChunkStream(path, max_chunks=4):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_streaming_memory_does_not_grow_with_length(tmp_path):
    """A 12x longer file must not need more memory for chunking (beyond a small constant)."""
    one = np.tile(music_like(10.0, seed=5), 6)
    short = write_audio(tmp_path / "short.flac", one, sr=SR)
    long = write_audio(tmp_path / "long.flac", np.tile(one, 12), sr=SR)  # 12 minutes
    peak_short, peak_long = _peak_bytes(short), _peak_bytes(long)
    signal_bytes = 12 * one.size * 4
    assert peak_long < peak_short + 2_000_000, (peak_short, peak_long)
    assert peak_long < signal_bytes / 10


def test_detect_file_scores_and_labels(tmp_path, tiny_model):
    path = write_audio(tmp_path / "x.wav", music_like(10.0), sr=SR)
    det = detect_file(path, tiny_model, threshold=0.0)
    assert det.ok and det.label == "ai" and 0.0 <= det.p_ai <= 1.0
    assert det.duration_s == pytest.approx(10.0)
    assert det.chunk_start_s == [0.0, 4.0, 6.0]
    assert det.p_ai == pytest.approx(float(np.median(det.chunk_p_ai)))
    assert detect_file(path, tiny_model, threshold=1.0).label == "real"


def test_detect_file_is_deterministic(tmp_path, tiny_model):
    path = write_audio(tmp_path / "x.wav", music_like(5.0), sr=SR)
    assert detect_file(path, tiny_model).p_ai == detect_file(path, tiny_model).p_ai


def test_bad_files_get_errors_not_exceptions(bad_corpus, tiny_model):
    for name in BAD:
        det = detect_file(bad_corpus[name], tiny_model)
        assert det.error and det.p_ai is None and det.label is None, name
    for name in ODD:
        det = detect_file(bad_corpus[name], tiny_model)
        assert det.ok and 0.0 <= det.p_ai <= 1.0, (name, det.error)


def test_find_audio_files_recurses(bad_corpus):
    root = bad_corpus["8k.wav"].parent
    found = find_audio_files([root])
    assert bad_corpus["chanson d'été.flac"] in found
    assert len(found) == len(BAD) + len(ODD)


def run_cli(*args, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "artifactnet_core.cli", *args],
                          capture_output=True, text=True, env=env, timeout=600)


def test_cli_csv_on_bad_corpus(bad_corpus, tiny_weights):
    root = bad_corpus["8k.wav"].parent
    proc = run_cli("detect", str(root), "--weights", tiny_weights, "--format", "csv")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("path,p_ai,label,duration_s,error,")
    rows = {os.path.basename(r["path"]): r for r in csv.DictReader(io.StringIO(proc.stdout))}
    assert set(rows) == set(BAD) | set(ODD)
    for name in BAD:
        assert rows[name]["error"] and rows[name]["p_ai"] == "" and rows[name]["label"] == ""
    for name in ODD:
        assert rows[name]["error"] == "" and rows[name]["label"] in ("ai", "real")
        assert 0.0 <= float(rows[name]["p_ai"]) <= 1.0
    assert "scoring" in proc.stderr  # progress bar for a batch


def test_cli_json_timeline_and_exit_zero(tmp_path, tiny_weights):
    a = write_audio(tmp_path / "a.wav", music_like(10.0, seed=1), sr=SR)
    b = write_audio(tmp_path / "b.flac", music_like(4.0, seed=2), sr=SR)
    proc = run_cli("detect", str(a), str(b), "--weights", tiny_weights, "--format", "json",
                   "--timeline")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [len(r["timeline"]) for r in rows] == [3, 1]
    assert rows[0]["timeline"][1]["start_s"] == 4.0
    assert all(r["error"] is None for r in rows)


def test_cli_table(tmp_path, tiny_weights):
    a = write_audio(tmp_path / "a b.wav", music_like(5.0), sr=SR)
    proc = run_cli("detect", str(a), "--weights", tiny_weights)
    assert proc.returncode == 0, proc.stderr
    first, header = proc.stdout.splitlines()[:2]
    assert first == "# operating point config: threshold 0.5000 (the model's threshold)"
    assert header.split()[:4] == ["path", "p_ai", "label", "duration_s"]
    assert str(a) in proc.stdout


def test_cli_without_weights_refuses(tmp_path):
    a = write_audio(tmp_path / "a.wav", music_like(5.0), sr=SR)
    proc = run_cli("detect", str(a),
                   env_extra={"ARTIFACTNET_WEIGHTS": str(tmp_path / "none.safetensors")})
    assert proc.returncode == 1
    assert f"ARTIFACTNET_WEIGHTS={tmp_path / 'none.safetensors'}: no such weights file" \
        in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_cli_no_files(tmp_path, tiny_weights):
    proc = run_cli("detect", str(tmp_path), "--weights", tiny_weights)
    assert proc.returncode == 1 and "no audio files" in proc.stderr


def test_cli_restarts_under_tcmalloc_where_installed(tiny_weights):
    """The command restarts itself under tcmalloc where the library is installed (glibc's
    malloc page-faults every large map in afresh: artifactnet_core/allocator.py), started
    without it; ARTIFACTNET_TCMALLOC=0 keeps glibc's malloc."""
    from artifactnet_core.allocator import tcmalloc_library

    plain = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD",
                                                                "ARTIFACTNET_TCMALLOC")}
    for setting, expected in ((None, "tcmalloc" if tcmalloc_library() else "glibc"),
                              ("0", "glibc")):
        env = dict(plain, **({} if setting is None else {"ARTIFACTNET_TCMALLOC": setting}))
        proc = subprocess.run([sys.executable, "-m", "artifactnet_core.cli", "info",
                               "--weights", tiny_weights], capture_output=True, text=True,
                              env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["allocator"] == expected, setting


def test_allocator_environments(monkeypatch):
    """tcmalloc goes first in LD_PRELOAD, once, beside what was there; the glibc environment
    takes it out again and keeps the rest; ARTIFACTNET_TCMALLOC=0 finds no library."""
    from artifactnet_core import allocator

    monkeypatch.delenv("LD_PRELOAD", raising=False)  # `make test` runs under tcmalloc
    monkeypatch.setattr(allocator, "tcmalloc_library", lambda: "/lib/libtcmalloc_minimal.so.4")
    env = allocator.tcmalloc_environment({"LD_PRELOAD": "/lib/other.so"})
    assert env["LD_PRELOAD"] == "/lib/libtcmalloc_minimal.so.4 /lib/other.so"
    assert allocator.tcmalloc_environment(env)["LD_PRELOAD"] == env["LD_PRELOAD"]
    assert allocator.shell_prefix().startswith("LD_PRELOAD=/lib/libtcmalloc_minimal.so.4 ")
    back = allocator.glibc_environment(env)
    assert back["LD_PRELOAD"] == "/lib/other.so" and back["ARTIFACTNET_TCMALLOC"] == "0"
    assert "LD_PRELOAD" not in allocator.glibc_environment({"LD_PRELOAD": env["LD_PRELOAD"]
                                                            .split()[0]})
    monkeypatch.undo()
    monkeypatch.setenv("ARTIFACTNET_TCMALLOC", "0")
    assert allocator.tcmalloc_library() is None and allocator.shell_prefix() == ""
