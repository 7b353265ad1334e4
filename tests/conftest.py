"""Shared fixtures: music-like test signals and a corpus of bad input files."""

from __future__ import annotations

import os

# Before anything imports torch: see artifactnet_core/__init__.py.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import contextlib  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

SR = 44_100


# ----------------------------------------------------------------------------------------------
# The smoke notebook run, in the background
#
# It is the suite's longest piece (about 8 minutes on 2 cores), and much of it is single-threaded
# Python, so it starts as a subprocess as soon as collection ends and the tests that read it run
# last: the rest of the suite runs beside it. Its figures and cards go to a temporary folder, so
# the committed ones (from the paper/laptop profile) are never overwritten by smoke numbers.

NOTEBOOK_FIXTURE = "smoke_run"
_NOTEBOOK_RUN = pytest.StashKey[tuple[Path, subprocess.Popen]]()


#: Tests that start timing-sensitive services (a local Ray cluster: its raylet gets a fixed
#: 30 s to come up, which 2 cores busy with the notebook run do not always give it) ask for
#: this fixture: they run after the notebook run has ended, just before its readers.
QUIET_FIXTURE = "quiet_machine"


def _reads_notebook_run(item: pytest.Item) -> bool:
    return NOTEBOOK_FIXTURE in getattr(item, "fixturenames", ())


def _order(item: pytest.Item) -> int:
    if _reads_notebook_run(item):
        return 2
    return 1 if QUIET_FIXTURE in getattr(item, "fixturenames", ()) else 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_order)  # stable: the quiet tests, then the notebook tests, last


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly or not any(map(_reads_notebook_run, session.items)):
        return
    root = Path(tempfile.mkdtemp(prefix="artifactnet-notebook-run-"))
    env = {**os.environ, "ARTIFACTNET_FIGURES": str(root / "figures"),
           "ARTIFACTNET_CARDS": str(root / "cards")}
    with open(root / "runner.log", "wb") as log:
        runner = subprocess.Popen(
            [sys.executable, "-m", "artifactnet_core.experiments.runner", "run", "--profile",
             "smoke", "--seed", "0", "--jobs", "2", "--output-dir", str(root / "executed")],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    session.config.stash[_NOTEBOOK_RUN] = (root, runner)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    started = session.config.stash.get(_NOTEBOOK_RUN, None)
    if started is None:
        return
    root, runner = started
    if runner.poll() is None:  # interrupted before its tests ran: stop it and its kernels
        with contextlib.suppress(ProcessLookupError):  # it may end between poll and kill
            os.killpg(runner.pid, signal.SIGKILL)
        runner.wait()
    if exitstatus == 0:  # a failed run keeps its folder (the failure names it)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def smoke_run(request) -> tuple[Path, list[dict]]:
    """The background notebook run, waited for: (its folder, the runner's per-notebook summary)."""
    from artifactnet_core.experiments.runner import executed_summary

    root, runner = request.config.stash[_NOTEBOOK_RUN]
    if runner.wait() != 0:
        tail = (root / "runner.log").read_text(errors="replace")[-6000:]
        pytest.fail(f"the smoke notebook run exited with {runner.returncode}; the end of "
                    f"{root / 'runner.log'}:\n{tail}", pytrace=False)
    return root, executed_summary(root / "executed", profile="smoke")


@pytest.fixture
def quiet_machine(request) -> None:
    """Wait for the background notebook run, if this session started one (its result is
    checked by the notebook tests)."""
    started = request.config.stash.get(_NOTEBOOK_RUN, None)
    if started is not None:
        started[1].wait()


def music_like(seconds: float, *, sr: int = SR, seed: int = 0) -> np.ndarray:
    """A few bars of synthetic music: decaying harmonic notes over a noisy drum pattern.

    Every component is a closed-form function of time below 3.9 kHz, so the same ``seed``
    rendered at any rate from 8 kHz up is the same music: resampled copies can be compared
    sample by sample. Broadband enough for one clear cross-correlation peak, with onsets and
    steady partials for HPSS to separate.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    out = np.zeros_like(t)
    note_len = 0.5
    for start in np.arange(0, seconds, note_len):
        f0 = 110 * 2 ** (rng.integers(0, 24) / 12)
        tt = t - start
        ta = np.clip(tt, 0, None)
        env = np.where(tt >= 0, np.exp(-ta * 4) * (1 - np.exp(-ta * 400)), 0)
        for h in range(1, 6):
            if f0 * h < 3900:
                out += 0.08 / h * np.sin(2 * np.pi * f0 * h * tt + rng.uniform(0, 2 * np.pi)) * env
    # "Drums": many random partials (a band-limited noise) gated by a beat envelope.
    noise = np.zeros_like(t)
    for f, phase in zip(rng.uniform(60, 3900, 48), rng.uniform(0, 2 * np.pi, 48), strict=True):
        noise += np.sin(2 * np.pi * f * t + phase) / 5
    out += 0.1 * noise * np.exp(-((t * 2) % 1.0) * 30)
    return (out / np.abs(out).max() * 0.7).astype(np.float32)


@pytest.fixture(scope="session")
def music() -> np.ndarray:
    return music_like(5.0)


@pytest.fixture(scope="session")
def bad_corpus(tmp_path_factory) -> dict[str, Path]:
    """Files that must each get a clear error (``bad``) or a score (``odd``)."""
    from artifactnet_core.detector.codecs import encode

    root = tmp_path_factory.mktemp("bad input")
    x = music_like(10.0, seed=1)
    files: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        path = root / name
        path.write_bytes(data)
        files[name] = path

    put("empty.wav", b"")
    mp3 = encode(x, codec="mp3")
    put("truncated.mp3", mp3[: len(mp3) // 3])
    put("text renamed.wav", b"this is not audio, just text\n" * 20)
    put("header only.mp3", mp3[:400])
    nan = x.copy()
    nan[1000:1010] = np.nan
    sf.write(root / "nan.wav", nan, SR, subtype="FLOAT")
    files["nan.wav"] = root / "nan.wav"
    inf = x.copy()
    inf[5] = np.inf
    sf.write(root / "inf.wav", inf, SR, subtype="FLOAT")
    files["inf.wav"] = root / "inf.wav"
    sf.write(root / "zero length.wav", np.zeros(0, np.float32), SR)
    files["zero length.wav"] = root / "zero length.wav"
    sf.write(root / "silence.wav", np.zeros(SR * 6, np.float32), SR)
    files["silence.wav"] = root / "silence.wav"
    # Readable oddities that must be scored.
    sf.write(root / "8k.wav", music_like(6.0, sr=8000, seed=2), 8000)
    files["8k.wav"] = root / "8k.wav"
    sf.write(root / "192k.flac", music_like(5.0, sr=192_000, seed=3), 192_000, subtype="PCM_24")
    files["192k.flac"] = root / "192k.flac"
    six = np.stack([music_like(5.0, seed=10 + c) for c in range(6)], axis=1)
    sf.write(root / "six channels.wav", six, SR)
    files["six channels.wav"] = root / "six channels.wav"
    sub = root / "dossier with spaces" / "ünïcødé"
    sub.mkdir(parents=True)
    sf.write(sub / "chanson d'été.flac", x, SR)
    files["chanson d'été.flac"] = sub / "chanson d'été.flac"
    return files


BAD = ["empty.wav", "truncated.mp3", "text renamed.wav", "header only.mp3", "nan.wav",
       "inf.wav", "zero length.wav", "silence.wav"]
ODD = ["8k.wav", "192k.flac", "six channels.wav", "chanson d'été.flac"]
