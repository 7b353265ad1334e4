"""Fault injection: whatever a user hands ``detect``, each file gets a clear error or a score,
memory and time stay bounded, the batch goes on, and an interrupted batch leaves complete rows.

Covers issue 13 case by case: streamed rows under SIGINT/SIGTERM; any exception on one file;
low-rate, 1-sample and many-channel files under an address-space limit; crafted weights and
configs; truncated WAV/AIFF/FLAC/OGG/Opus/M4A/MP3; argument validation; FIFOs, devices,
symbolic-link loops, macOS ``._*`` files, ``.mkv``; permission errors as an unprivileged user;
stdin; progress for a long file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
import resource
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import SR, music_like
from tiny import fast_model, save_fast_model

from artifactnet_core.checkpoint import CheckpointError
from artifactnet_core.cli import main
from artifactnet_core.detector.audio import AudioError, iter_audio, load_audio, write_audio
from artifactnet_core.detector.chunking import split_chunks
from artifactnet_core.detector.codecs import encode
from artifactnet_core.detector.config import ArtifactNetConfig
from artifactnet_core.detector.detect import detect_file, find_audio_files
from artifactnet_core.detector.model import default_weights, load_model, save_model

CLI = [sys.executable, "-m", "artifactnet_core.cli"]


@pytest.fixture(scope="module")
def model():
    return fast_model()


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return save_fast_model(tmp_path_factory.mktemp("weights") / "fast.safetensors")


# --- streamed rows, signals, one file's exception --------------------------------------------

@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("batch")
    x = music_like(4.0, seed=11)
    for i in range(40):
        write_audio(folder / f"song {i:02d}.wav", x, sr=SR)
    return folder


def parse_rows(text: str, fmt: str) -> list[dict]:
    if fmt == "json":
        return json.loads(text)
    if fmt == "jsonl":
        return [json.loads(line) for line in text.splitlines()]
    return list(csv.DictReader(io.StringIO(text)))


def start_batch(folder: Path, weights: Path, fmt: str) -> subprocess.Popen:
    proc = subprocess.Popen([*CLI, "detect", str(folder), "--weights", str(weights), "--format",
                             fmt, "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    watchdog = threading.Timer(300, proc.kill)  # a hang fails the test instead of blocking it
    watchdog.daemon = True
    watchdog.start()
    return proc


def finish(proc: subprocess.Popen) -> tuple[str, str]:
    """The rest of stdout (through the same buffered reader as the lines read so far) and
    stderr, once the process has ended."""
    rest = proc.stdout.read()
    err = proc.stderr.read()
    proc.wait()
    return rest, err


@pytest.mark.parametrize("fmt,signum,twice", [("json", signal.SIGINT, False),
                                              ("csv", signal.SIGTERM, False),
                                              ("jsonl", signal.SIGINT, True)])
def test_signal_mid_batch_leaves_complete_rows(batch, weights, fmt, signum, twice):
    proc = start_batch(batch, weights, fmt)
    head = proc.stdout.readline() + proc.stdout.readline()  # rows arrive while it runs
    proc.send_signal(signum)
    if twice:
        proc.send_signal(signum)
    rest, err = finish(proc)
    assert proc.returncode == 128 + signum, err
    rows = parse_rows(head + rest, fmt)
    assert f"stopped by {signum.name} after {len(rows)} of 40 files" in err
    assert 1 <= len(rows) < 40  # rows were on stdout while the batch ran: they are streamed
    names = [Path(r["path"]).name for r in rows]
    assert names == sorted(names) and len(set(names)) == len(names)
    for row in rows:
        assert row["error"] in (None, "") and row["label"] in ("ai", "real")
        assert 0.0 <= float(row["p_ai"]) <= 1.0 and float(row["duration_s"]) == 4.0


def test_any_exception_on_one_file_becomes_its_row(tmp_path, weights, monkeypatch, capsys):
    import artifactnet_core.detector.detect as detect

    a = write_audio(tmp_path / "a.wav", music_like(4.0), sr=SR)
    b = write_audio(tmp_path / "b.wav", music_like(4.0, seed=1), sr=SR)
    real = detect.detect_file

    def flaky(path, *args, **kwargs):
        if Path(path).name == "a.wav":
            raise KeyError("a bug nobody foresaw")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(detect, "detect_file", flaky)
    assert main(["detect", str(a), str(b), "--weights", str(weights), "--format", "json",
                 "-q"]) == 2
    rows = json.loads(capsys.readouterr().out)
    assert "internal error (KeyError" in rows[0]["error"] and rows[0]["p_ai"] is None
    assert rows[1]["error"] is None and rows[1]["label"] in ("ai", "real")


def test_scoring_errors_become_error_rows(tmp_path, model, monkeypatch):
    import artifactnet_core.detector.detect as detect

    path = write_audio(tmp_path / "a.wav", music_like(4.0), sr=SR)

    def boom(*args, **kwargs):
        raise RuntimeError("out of device memory")

    monkeypatch.setattr(detect, "predict_chunks", boom)
    det = detect_file(path, model)
    assert det.error == "scoring failed (RuntimeError: out of device memory)"
    assert det.p_ai is None and det.label is None


@pytest.mark.parametrize("part", ["classifier", "unet"])
def test_nan_is_never_a_score(tmp_path, capsys, part):
    """A model that outputs NaN (here: negative batch-norm variances, in the classifier or the
    UNet, whose folded inference paths would turn NaN into 0 in a fused ReLU) gives an error
    row, and the JSON stays valid; loading such weights is refused."""
    broken = fast_model()
    batch_norm = (broken.classifier.body[2] if part == "classifier"
                  else broken.unet.inc.conv_bn_pairs()[0][1])
    with torch.no_grad():
        batch_norm.running_var.fill_(-1.0)
    path = write_audio(tmp_path / "a.wav", music_like(4.0), sr=SR)
    det = detect_file(path, broken)
    assert det.p_ai is None and "non-finite P(AI)" in det.error
    assert json.loads(json.dumps(det.to_dict(), allow_nan=False))["p_ai"] is None
    saved = save_model(broken, tmp_path / "broken.safetensors")
    with pytest.raises(CheckpointError, match="broken.safetensors.*negative variances"):
        load_model(saved)


# --- bounded memory and time ------------------------------------------------------------------

def _limit_address_space() -> None:
    limit = int(1.5 * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_odd_files_fit_in_1_5_gb(tmp_path, weights):
    """Under a 1.5 GB address-space limit (virtual memory, so resident memory is below it too),
    every odd file of at most 10 MB gets its row and the batch ends. Before resampling was
    bounded, the 8 Hz file alone needed 5.4 GB."""
    rng = np.random.default_rng(0)

    def noise(n, channels=1):
        return (0.1 * rng.standard_normal((n, channels))).astype(np.float32)

    sf.write(tmp_path / "8 Hz.wav", noise(140_000), 8, subtype="PCM_16")         # 280 KB
    sf.write(tmp_path / "1 Hz.wav", noise(70_000), 1, subtype="PCM_16")          # 140 KB
    sf.write(tmp_path / "one sample.wav", noise(1), SR, subtype="PCM_16")
    sf.write(tmp_path / "4 kHz.wav", noise(5_000_000), 4_000, subtype="PCM_16")  # 10 MB, 21 min
    sf.write(tmp_path / "256 channels.wav", noise(19_000, 256), 8_000, subtype="PCM_16")
    sizes = [p.stat().st_size for p in tmp_path.iterdir()]
    assert max(sizes) <= 10_000_100
    proc = subprocess.run([*CLI, "detect", str(tmp_path), "--weights", str(weights), "--format",
                           "jsonl", "-q"], capture_output=True, text=True, timeout=300,
                          preexec_fn=_limit_address_space)
    assert proc.returncode == 2, proc.stderr
    rows = {Path(r["path"]).name: r for r in parse_rows(proc.stdout, "jsonl")}
    assert "sample rate 8 Hz is outside" in rows["8 Hz.wav"]["error"]
    assert "sample rate 1 Hz is outside" in rows["1 Hz.wav"]["error"]
    assert rows["one sample.wav"]["error"].startswith("too short: 0.00 s")
    assert rows["one sample.wav"]["label"] is None
    for name, seconds in (("4 kHz.wav", 1250.0), ("256 channels.wav", 2.375)):
        assert rows[name]["error"] is None and rows[name]["label"] in ("ai", "real"), rows[name]
        assert rows[name]["duration_s"] == pytest.approx(seconds, abs=1e-3)


def test_resampling_works_in_bounded_pieces(tmp_path):
    """Upsampling 4 kHz to 44.1 kHz hands out blocks of at most ~65,536 samples, not 11 times
    the decoder's block."""
    path = tmp_path / "low.wav"
    sf.write(path, music_like(30.0, sr=4_000), 4_000)
    sizes = [len(b) for b in iter_audio(path)]
    assert max(sizes) <= 2 * 65_536  # the decoder's 65,536-frame blocks at once: 720,000
    assert sum(sizes) == pytest.approx(30.0 * SR, abs=2)


def test_duration_and_stream_size_guards(tmp_path, monkeypatch):
    import artifactnet_core.detector.audio as audio

    path = write_audio(tmp_path / "x.flac", music_like(10.0), sr=SR)
    monkeypatch.setattr(audio, "MAX_DURATION_S", 5.0)
    with pytest.raises(AudioError, match="10 s of audio, more than the 5 s one file may hold"):
        load_audio(path)
    with pytest.raises(AudioError, match="stopped reading"):
        audio.spool_stream(io.BytesIO(bytes(100)), max_bytes=10)
    spooled = audio.spool_stream(io.BytesIO(path.read_bytes()))
    try:
        assert spooled.read_bytes() == path.read_bytes()
    finally:
        spooled.unlink()


def test_minimum_duration_for_a_verdict(tmp_path, model):
    x = music_like(3.0)
    short = write_audio(tmp_path / "short.wav", x[:int(1.9 * SR)], sr=SR)
    enough = write_audio(tmp_path / "enough.wav", x[:int(2.1 * SR)], sr=SR)
    one = write_audio(tmp_path / "one.wav", x[:1], sr=SR)
    det = detect_file(short, model)
    assert det.error == "too short: 1.90 s of audio, a verdict needs at least 2 s"
    assert det.duration_s == pytest.approx(1.9) and det.p_ai is None
    assert detect_file(enough, model).ok
    assert detect_file(one, model).error.startswith("too short: 0.00 s")
    assert detect_file(one, model, min_seconds=0).ok  # asked for: one zero-padded chunk


def test_long_file_shows_its_own_progress(tmp_path, model, capsys):
    path = write_audio(tmp_path / "long song.flac", np.tile(music_like(6.5), 10), sr=SR)
    det = detect_file(path, model, max_chunks=2, progress=True)
    assert det.ok
    err = capsys.readouterr().err
    assert "long song.flac" in err and "/65" in err
    detect_file(path, model, max_chunks=2, progress=False)
    assert capsys.readouterr().err == ""


# --- weights and configs ----------------------------------------------------------------------

BAD_CONFIGS = [("sample_rate", 0), ("sample_rate", 1e9), ("chunk_seconds", 0),
               ("chunk_seconds", 1e4), ("n_fft", 0), ("hop_length", 0), ("hop_length", 4096),
               ("n_mels", 0), ("n_mels", 5000), ("top_db", -80.0), ("top_db", float("nan")),
               ("hpss_kernel", 100_001), ("hpss_kernel", 8), ("aggregate", "max"),
               ("threshold", 1.5), ("threshold", None), ("unet_base_width", 0),
               ("cnn_widths", []), ("mask_bound", -1.0), ("use_unet", "yes"),
               ("operating_points", {"fpr1": {"threshold": 0.5}}),
               ("calibration", {"method": "isotonic"})]


@pytest.mark.parametrize("key,value", BAD_CONFIGS)
def test_absurd_config_values_are_refused_on_load(tmp_path, key, value):
    path = save_fast_model(tmp_path / "m.safetensors")
    meta = json.loads(path.with_suffix(".json").read_text())
    meta[key] = value
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError) as info:
        load_model(path)
    assert str(path.with_suffix(".json")) in str(info.value) and key in str(info.value)


def _write_checkpoint(folder: Path, name: str, kind: str) -> Path:
    """One crafted checkpoint of the corpus below."""
    path = save_fast_model(folder / f"{name}.safetensors")
    meta_path = path.with_suffix(".json")
    state = fast_model().state_dict()
    if kind == "pickle":
        path.write_bytes(pickle.dumps(state))
    elif kind == "wrong shape":
        state["classifier.head.1.weight"] = torch.zeros(3, 3)
        save_model_state(path, state)
    elif kind == "missing tensor":
        del state["classifier.head.1.weight"]
        save_model_state(path, state)
    elif kind in ("nan", "inf"):
        state["classifier.head.1.weight"][0, 0] = float(kind)
        save_model_state(path, state)
    elif kind == "overflow":
        state["classifier.head.1.weight"] = state["classifier.head.1.weight"].double() * 1e300
        save_model_state(path, state)
    elif kind == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    elif kind == "null config":
        meta_path.write_text("null")
    elif kind == "not json":
        meta_path.write_text("{threshold: 0.5")
    elif kind == "unknown key":
        meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), "evil": 1}))
    elif kind == "no config":
        meta_path.unlink()
    return path


def save_model_state(path: Path, state: dict) -> None:
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in state.items()}, str(path))


CRAFTED = {"pickle": "not a safetensors file", "wrong shape": "has shape (3, 3)",
           "missing tensor": "tensors do not match the config",
           "nan": "holds NaN or infinite values", "inf": "holds NaN or infinite values",
           "overflow": "overflows torch.float32", "truncated": "not a safetensors file",
           "null config": "expected a JSON object", "not json": "not valid JSON",
           "unknown key": "unknown config keys ['evil']", "no config": "config file"}


@pytest.mark.parametrize("kind", list(CRAFTED))
def test_crafted_weights_get_a_clear_error(tmp_path, kind, capsys):
    path = _write_checkpoint(tmp_path, kind.replace(" ", "_"), kind)
    with pytest.raises((CheckpointError, FileNotFoundError)) as info:
        load_model(path)
    assert CRAFTED[kind] in str(info.value) and path.stem in str(info.value)
    song = write_audio(tmp_path / "a.wav", music_like(4.0), sr=SR)
    with pytest.raises(SystemExit) as info:  # the CLI: a message, exit 1, no traceback
        main(["detect", str(song), "--weights", str(path)])
    assert str(info.value.code).startswith("artifactnet: cannot load weights: ")
    assert CRAFTED[kind] in str(info.value.code)
    assert capsys.readouterr().out == ""


def test_the_exact_weights_path_is_loaded(tmp_path):
    save_fast_model(tmp_path / "m.safetensors")
    (tmp_path / "m.pt").write_bytes(pickle.dumps({"not": "weights"}))
    with pytest.raises(CheckpointError) as info:
        load_model(tmp_path / "m.pt")
    assert "m.pt: not a safetensors file" in str(info.value)
    assert "pickles (.pt, .pth, .ckpt) are never loaded" in str(info.value)
    with pytest.raises(CheckpointError, match="give the .safetensors file"):
        load_model(tmp_path / "m.json")
    with pytest.raises(FileNotFoundError, match="is a folder"):
        load_model(tmp_path)


def test_wrong_artifactnet_weights_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACTNET_WEIGHTS", str(tmp_path / "gone.safetensors"))
    with pytest.raises(FileNotFoundError, match=r"ARTIFACTNET_WEIGHTS=.*gone.safetensors: no such"):
        default_weights()
    good = save_fast_model(tmp_path / "here.safetensors")
    monkeypatch.setenv("ARTIFACTNET_WEIGHTS", str(good))
    assert default_weights() == good


def test_config_is_checked_when_made():
    assert ArtifactNetConfig() == ArtifactNetConfig.from_dict(json.loads(ArtifactNetConfig().to_json()))
    with pytest.raises(ValueError, match="hpss_kernel must be an integer in"):
        ArtifactNetConfig(hpss_kernel=100_001)
    with pytest.raises(ValueError, match="a config must be a JSON object"):
        ArtifactNetConfig.from_dict(None)


def test_rms_weighted_aggregate_scores_instead_of_aborting(tmp_path):
    model = fast_model(aggregate="rms_weighted")
    x = music_like(12.0) * np.repeat([1.0, 0.2, 0.6], 4 * SR).astype(np.float32)
    path = write_audio(tmp_path / "x.wav", x, sr=SR, subtype="FLOAT")
    det = detect_file(path, model)
    assert det.ok, det.error
    rms = np.sqrt(np.mean(split_chunks(load_audio(path), 4 * SR).astype(np.float64) ** 2, axis=1))
    assert det.p_ai == pytest.approx(float(np.sum(rms * det.chunk_p_ai) / rms.sum()))


# --- arguments --------------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["--threshold", "nan"], "--threshold: must be a number in [0, 1], got 'nan'"),
    (["--threshold", "1.5"], "--threshold: must be a number in [0, 1], got '1.5'"),
    (["--max-chunks", "-1"], "--max-chunks: must be a whole number >= 0, got '-1'"),
    (["--device", "bogus"], "--device: must be auto, cpu, cuda or cuda:N, got 'bogus'"),
    (["--min-seconds", "-2"], "--min-seconds: must be a number of seconds >= 0"),
    (["--operating-point", "f2"], "--operating-point: invalid choice: 'f2'"),
    (["--operating-point", "f1", "--threshold", "0.3"], "not allowed with argument"),
])
def test_arguments_are_validated(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["detect", "x.wav", *args])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_says_so(capsys):
    with pytest.raises(SystemExit) as info:
        main(["detect", "x.wav", "--device", "cuda"])
    assert info.value.code == 2
    assert "this machine has no CUDA GPU" in capsys.readouterr().err


# --- truncation -------------------------------------------------------------------------------

def _mp4_faststart(path: Path, x: np.ndarray) -> None:
    """An M4A with its index (moov) before the data, so a cut file still opens."""
    import av

    with av.open(str(path), mode="w", format="mp4", options={"movflags": "faststart"}) as c:
        stream = c.add_stream("aac", rate=SR)
        stream.bit_rate, stream.layout, stream.format = 128_000, "mono", "fltp"
        for start in range(0, len(x), 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[None, start:start + 1024]),
                                               format="fltp", layout="mono")
            frame.sample_rate, frame.pts = SR, start
            for packet in stream.encode(frame):
                c.mux(packet)
        for packet in stream.encode(None):
            c.mux(packet)


def _complete_file(folder: Path, kind: str) -> Path:
    x = music_like(6.0, seed=4)
    path = folder / f"full.{kind.split()[0]}"
    if kind in ("wav", "flac"):
        write_audio(path, x, sr=SR)
    elif kind == "aiff":
        sf.write(path, x, SR, format="AIFF")
    elif kind in ("ogg", "opus", "mp3", "m4a"):
        codec = {"ogg": "vorbis", "m4a": "aac"}.get(kind, kind)
        path.write_bytes(encode(x, codec=codec))
    elif kind == "m4a faststart":
        _mp4_faststart(path, x)
    return path


@pytest.mark.parametrize("kind", ["wav", "aiff", "flac", "ogg", "opus", "mp3", "m4a",
                                  "m4a faststart"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncation_is_detected_in_every_container(tmp_path, kind, keep):
    full = _complete_file(tmp_path, kind)
    assert len(load_audio(full)) >= 6 * SR - 1  # the whole file is fine
    cut = tmp_path / f"cut{full.suffix}"
    data = full.read_bytes()
    cut.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(AudioError) as info:
        load_audio(cut)
    assert "truncated" in info.value.reason, info.value


def test_wav_header_claiming_4_gb_is_truncation(tmp_path):
    data = write_audio(tmp_path / "x.wav", music_like(3.0), sr=SR).read_bytes()
    at = data.find(b"data") + 4
    claims = tmp_path / "claims 4 GB.wav"
    claims.write_bytes(data[:at] + struct.pack("<I", 4_000_000_000) + data[at + 4:])
    with pytest.raises(AudioError, match="the WAV header promises 4,000,000,000 bytes"):
        load_audio(claims)
    # A streaming writer's "length unknown" (0xFFFFFFFF) is not a claim: the file is read.
    open_ended = tmp_path / "streamed.wav"
    open_ended.write_bytes(data[:at] + struct.pack("<I", 0xFFFFFFFF) + data[at + 4:])
    assert len(load_audio(open_ended)) == 3 * SR


# --- odd paths --------------------------------------------------------------------------------

def test_odd_paths_get_clear_messages(tmp_path, model):
    song = write_audio(tmp_path / "song.wav", music_like(4.0), sr=SR)
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.wav"
    loop.symlink_to(loop)
    broken = tmp_path / "broken.wav"
    broken.symlink_to(tmp_path / "nowhere.wav")
    apple = tmp_path / "._song.wav"
    apple.write_bytes(b"\x00\x05\x16\x07" + bytes(200))
    expected = {fifo: "a named pipe (FIFO), not a file",
                Path("/dev/null"): "a device, not an audio file",
                loop: "symbolic link loop", broken: "broken symbolic link",
                apple: "a macOS metadata file (AppleDouble", tmp_path / "none.wav": "no such file",
                song.parent: "is a folder"}
    for path, message in expected.items():
        det = detect_file(path, model)
        assert det.error and message in det.error, (path, det.error)
    found = find_audio_files([tmp_path])
    assert apple not in found and song in found and fifo in found  # FIFO: an error row, no hang


def test_mkv_is_searched_and_scored(tmp_path, model):
    import av

    x = (music_like(4.0) * 32767).astype(np.int16)
    path = tmp_path / "clip.mkv"
    with av.open(str(path), "w", format="matroska") as c:
        stream = c.add_stream("flac", rate=SR)
        stream.layout, stream.format = "mono", "s16"
        for start in range(0, len(x), 4096):
            frame = av.AudioFrame.from_ndarray(x[None, start:start + 4096], format="s16",
                                               layout="mono")
            frame.sample_rate, frame.pts = SR, start
            for packet in stream.encode(frame):
                c.mux(packet)
        for packet in stream.encode(None):
            c.mux(packet)
    assert find_audio_files([tmp_path]) == [path]
    assert detect_file(path, model).ok


def test_folder_search_survives_a_link_loop(tmp_path):
    (tmp_path / "a").mkdir()
    write_audio(tmp_path / "a" / "x.wav", music_like(1.0), sr=SR)
    (tmp_path / "a" / "back").symlink_to(tmp_path)
    assert find_audio_files([tmp_path]) == [tmp_path / "a" / "x.wav"]


def test_stdin(weights, monkeypatch, capsys):
    data = io.BytesIO()
    sf.write(data, music_like(4.0), SR, format="FLAC")
    for stream, code in ((data.getvalue(), 0), (b"", 2)):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stream)))
        assert main(["detect", "-", "--weights", str(weights), "--format", "jsonl"]) == code
        row = json.loads(capsys.readouterr().out)
        assert row["path"] == "-"
        if code == 0:
            assert row["duration_s"] == 4.0 and row["label"] in ("ai", "real")
        else:
            assert row["error"] == "empty input (0 bytes)"


# --- permissions, as an unprivileged user -------------------------------------------------------

UNPRIVILEGED = """
import os, sys
from artifactnet_core.cli import main
args = ["detect", *sys.argv[1:], "--format", "jsonl", "-q"]
with open(os.devnull, "w") as sink:  # import everything a run imports while still root
    stdout, sys.stdout = sys.stdout, sink
    main(["detect", sys.argv[1] + "/ok.wav", *args[2:]])
    sys.stdout = stdout
if os.getuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
sys.exit(main(args))
"""


def test_permission_errors_as_unprivileged_user(weights):
    if os.getuid() == 0:
        try:
            import pwd

            pwd.getpwuid(65534)
        except KeyError:
            pytest.skip("no unprivileged user (uid 65534) to drop to")
    root = Path(tempfile.mkdtemp(prefix="artifactnet-perm-"))
    try:
        root.chmod(0o755)
        shutil.copy(weights, root / "w.safetensors")
        shutil.copy(weights.with_suffix(".json"), root / "w.json")
        x = music_like(4.0)
        for name in ("ok.wav", "unreadable.wav", "no x/a.wav", "no rx/b.wav"):
            write_audio(root / name, x, sr=SR)
        (root / "unreadable.wav").chmod(0)
        (root / "no x").chmod(0o644)
        (root / "no rx").chmod(0)
        proc = subprocess.run([sys.executable, "-c", UNPRIVILEGED, str(root), "--weights",
                               str(root / "w.safetensors")], capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        rows = {os.path.relpath(r["path"], root): r for r in parse_rows(proc.stdout, "jsonl")}
        assert rows["ok.wav"]["error"] is None
        assert rows["unreadable.wav"]["error"] == "permission denied: the file cannot be read"
        assert "a folder on its path cannot be entered" in rows["no x/a.wav"]["error"]
        assert rows["no rx"]["error"].startswith("a folder that cannot be read")
    finally:
        for name in ("no x", "no rx", "unreadable.wav"):
            (root / name).chmod(stat.S_IRWXU)
        shutil.rmtree(root, ignore_errors=True)

