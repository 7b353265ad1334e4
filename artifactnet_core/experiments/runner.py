"""Run, pair and check the numbered notebooks.

The jupytext percent scripts ``notebooks/NN_topic.py`` are the source of truth; the paired
``.ipynb`` files are generated from them without outputs (``sync``). ``run`` executes every
notebook with papermill (in order, or ``jobs`` at a time), injecting ``profile`` and ``seed``
into the cell tagged ``parameters``, and writes the executed copies to ``notebooks/executed/``
(not committed). Each notebook ends by calling :func:`report_resources`, so the runner can print
a table of wall time and peak memory per notebook.

``python -m artifactnet_core.experiments.runner run --profile smoke --jobs 2`` is what
``make test`` runs, in the background beside the other tests (``tests/conftest.py``; its figures
go to a temporary folder; run by hand, to ``notebooks/executed/smoke/``, never to ``figures/``);
``make reproduce`` runs the same with the ``paper`` (GPU) or ``laptop`` profile, writing
``figures/`` and ``data_cards/``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import time
from pathlib import Path

from artifactnet_core.allocator import restart_under_tcmalloc
from artifactnet_core.atomic import file_sha256, stable_hash
from artifactnet_core.paths import REPO_DIR, figures_dir
from artifactnet_core.profiles import PROFILE_NAMES, get_profile

NOTEBOOK_DIR = REPO_DIR / "notebooks"
EXECUTED_DIR = NOTEBOOK_DIR / "executed"
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def notebook_sources(notebook_dir: Path = NOTEBOOK_DIR) -> list[Path]:
    """The jupytext sources ``NN_*.py``, in order."""
    return sorted(p for p in notebook_dir.glob("[0-9][0-9]_*.py"))


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


#: The Colab install cell every notebook starts with; :func:`sync` writes it into each source.
COLAB_CELL = REPO_DIR / "binder" / "colab_cell.py"
_COLAB_CELL_IN_SOURCE = re.compile(r"(# %%\n)(# Colab only:.*?)(\n\n# %%)", re.S)


def colab_cell_source() -> str:
    """The canonical Colab install cell (``binder/colab_cell.py``), without its final newline."""
    return COLAB_CELL.read_text().rstrip("\n")


def write_colab_cell(src: Path) -> bool:
    """Put the canonical Colab install cell into a notebook's ``.py`` source (replacing the one
    there); return whether the file changed."""
    text = src.read_text()
    new, n = _COLAB_CELL_IN_SOURCE.subn(lambda m: m[1] + colab_cell_source() + m[3], text,
                                        count=1)
    if n != 1:
        raise ValueError(f"{src}: no Colab install cell (a cell starting '# Colab only:')")
    if new != text:
        src.write_text(new)
    return new != text


def sync(notebook_dir: Path = NOTEBOOK_DIR) -> list[Path]:
    """Write the canonical Colab cell into each ``.py`` source, then regenerate each ``.ipynb``
    from its ``.py``, without outputs; return the ``.ipynb`` paths."""
    import jupytext

    written = []
    for src in notebook_sources(notebook_dir):
        write_colab_cell(src)
        nb = jupytext.read(src)
        for i, cell in enumerate(nb.cells):
            # Stable ids keep the paired .ipynb diffs to what really changed.
            cell["id"] = f"{src.stem[:2]}-{i:03d}"
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        target = src.with_suffix(".ipynb")
        jupytext.write(nb, target, fmt="ipynb")
        written.append(target)
    return written


def out_of_sync(notebook_dir: Path = NOTEBOOK_DIR) -> list[str]:
    """Names of notebooks whose ``.ipynb`` is missing, differs from its ``.py``, or has outputs."""
    import jupytext

    problems = []
    for src in notebook_sources(notebook_dir):
        paired = src.with_suffix(".ipynb")
        if not paired.exists():
            problems.append(f"{paired.name}: missing")
            continue
        nb_py, nb_ipynb = jupytext.read(src), jupytext.read(paired)
        if _cells(nb_py) != _cells(nb_ipynb):
            problems.append(f"{paired.name}: cells differ from {src.name}")
        if any(c.get("outputs") for c in nb_ipynb.cells if c.cell_type == "code"):
            problems.append(f"{paired.name}: carries outputs")
    return problems


def peak_memory_mib() -> float:
    """This process's peak resident memory in MiB.

    Linux's ``VmHWM`` (high-water mark of this process's own memory map) first: ``ru_maxrss``
    survives ``exec``, so a kernel started by a large parent (pytest) would report the parent's
    size instead of its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report_resources(name: str) -> dict[str, float]:
    """Print and record this process's peak memory (MiB) for the notebook runner.

    Called in the last cell of every notebook; the record goes to
    ``$ARTIFACTNET_NOTEBOOK_RECORDS/<name>.json`` when the runner set that variable.
    """
    peak_mib = peak_memory_mib()
    record = {"notebook": name, "peak_rss_mib": round(peak_mib, 1)}
    print(f"{name}: peak memory {peak_mib:.0f} MiB")
    folder = os.environ.get("ARTIFACTNET_NOTEBOOK_RECORDS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{name}.json").write_text(json.dumps(record))
    return record


def executed_summary(output_dir: Path = EXECUTED_DIR, *, profile: str | None = None
                     ) -> list[dict]:
    """Wall time and peak memory of the notebooks executed in ``output_dir``, in notebook order.

    Read from what the runs left: papermill's ``duration`` in each executed notebook's metadata,
    the peak memory :func:`report_resources` recorded and ``cached_s``, the seconds of the
    notebook's cached computations that this run did not spend because they were cached already
    (:func:`artifactnet_core.experiments.ledger.seconds_not_spent`; 0 for a run from an empty
    cache). Notebooks that failed or did not finish are left out, so a partial run (``--only``,
    or one interrupted) still reports what it measured.

    Parameters
    ----------
    output_dir : path
        Folder of executed notebooks (``notebooks/executed/``).
    profile : str, optional
        Keep only the notebooks executed with this profile.
    """
    rows = []
    for src in notebook_sources():
        path = output_dir / f"{src.stem}.ipynb"
        if not path.exists():
            continue
        meta = json.loads(path.read_text()).get("metadata", {}).get("papermill", {})
        ran_with = meta.get("parameters", {}).get("profile")
        if meta.get("exception") or meta.get("duration") is None or \
                (profile is not None and ran_with != profile):
            continue
        record = output_dir / "records" / f"{src.stem}.json"
        entry = json.loads(record.read_text()) if record.exists() else {}
        rows.append({"notebook": src.stem, "profile": ran_with,
                     "seconds": round(float(meta["duration"]), 1),
                     "peak_rss_mib": entry.get("peak_rss_mib", float("nan")),
                     "cached_s": entry.get("cached_s", 0.0)})
    return rows


def write_summary(output_dir: Path, profile: str) -> list[dict]:
    """Rewrite ``output_dir/summary_<profile>.json`` from :func:`executed_summary`; return it."""
    rows = executed_summary(output_dir, profile=profile)
    (output_dir / f"summary_{profile}.json").write_text(json.dumps(rows, indent=1))
    return rows


def host() -> dict:
    """The machine a run measures: CPU model (``/proc/cpuinfo``, else :mod:`platform`),
    logical cores, the GPU where training runs on one, the precision training runs in on the
    run's device (:func:`~artifactnet_core.runtime.training_precision`: bfloat16 on an x86 CPU
    with AMX, float32 on most others; the laptop run took 76 min on 2 cores of the one and
    126 min on 2 of the other, ``benchmarks/README.md``) and the allocator
    (:func:`~artifactnet_core.allocator.malloc_in_use`)."""
    import platform

    from artifactnet_core.allocator import malloc_in_use
    from artifactnet_core.runtime import resolve_device, training_precision

    cpu = platform.processor() or platform.machine()
    info = Path("/proc/cpuinfo")
    if info.exists():
        names = [line.split(":", 1)[1].strip() for line in info.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    device = resolve_device(None)
    gpu = {}
    if device.type == "cuda":
        import torch

        gpu = {"gpu": torch.cuda.get_device_name(device)}
    return {"cpu": cpu, "cores": os.cpu_count(), **gpu,
            "training_precision": training_precision(device), "allocator": malloc_in_use()}


def source_commit() -> str | None:
    """``git describe --always --dirty`` of the checkout (``None`` outside a git clone)."""
    import subprocess

    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO_DIR,
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    return out.stdout.strip()


def write_run_record(output_dir: Path, profile: str, *, seed: int, jobs: int, wall_s: float,
                     started_utc: str, notebooks: list[str], empty_cache: bool,
                     commit: str | None = None) -> dict:
    """Write ``output_dir/run_<profile>.json``: what one ``runner run`` call measured as a
    whole (its wall time, the notebooks it executed, whether the profile's benchmark was
    unbuilt when it started) and where (:func:`host`; ``commit``, default
    :func:`source_commit` now, is best taken when the run starts); the report shows
    it under the timings table (:func:`artifactnet_core.experiments.report.record_runs`)."""
    record = {"profile": profile, "seed": seed, "jobs": jobs, "wall_s": round(wall_s, 1),
              "started_utc": started_utc, "notebooks": notebooks, "empty_cache": empty_cache,
              "commit": commit or source_commit(), **host()}
    (output_dir / f"run_{profile}.json").write_text(json.dumps(record, indent=1))
    return record


def _print_summary(rows: list[dict]) -> None:
    for row in rows:
        print(f"{row['notebook']:<28} {row['seconds']:>8.1f} s  {row['peak_rss_mib']:>8.0f} MiB")


def declared_parameters(nb) -> set[str]:
    """Names assigned in the notebook's cell tagged ``parameters`` (``name = value`` lines)."""
    names = set()
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            for line in cell.source.splitlines():
                name, eq, _ = line.partition("=")
                if eq and name.strip().isidentifier():
                    names.add(name.strip())
    return names


def worker_threads(jobs: int) -> int:
    """Torch threads of each of ``jobs`` workers sharing this machine's cores (at least 1): what
    a notebook kernel and a candidate detector's training get in a parallel :func:`run`."""
    return max(1, (os.cpu_count() or 1) // jobs)


def _kernel_threads(threads: int) -> None:
    """Worker initializer of :func:`run`: the kernels this process starts inherit the thread
    count (a value the user set is kept)."""
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))


#: Notebooks whose detectors and scores a free worker of a parallel :func:`run` computes ahead,
#: last first, so that the longest notebook does not keep one core busy long after the other
#: went idle (laptop run of 2026-12-05: 07 alone for its last 22 minutes, its leave-one-family-out
#: detectors computed ahead, then the other core idle for 12).
AHEAD = ("07_ablations_controls",)


def _compute_ahead(profile: str, seed: int, threads: int) -> None:
    """Worker job of a parallel :func:`run`, queued after every notebook: runs notebook 07's
    jobs (:func:`~artifactnet_core.experiments.pipeline.ablation_jobs`: each detector it trains
    and the base maps it scores), the last first, into the cache that 07 loads from; where both
    reach one, its file lock makes one of the two wait and load. Torch runs on the kernels'
    thread count, so the bytes are those 07 would compute itself; the stages are charged to 07
    in the run ledger. A failure only prints: 07 then computes what is missing."""
    import torch

    from artifactnet_core.experiments import pipeline
    from artifactnet_core.experiments.ledger import AHEAD_ENV, NOTEBOOK_ENV

    torch.set_num_threads(threads)
    before = {name: os.environ.get(name) for name in (NOTEBOOK_ENV, AHEAD_ENV)}
    os.environ[NOTEBOOK_ENV], os.environ[AHEAD_ENV] = AHEAD[0], "1"
    try:
        prof = get_profile(profile)
        data = pipeline.get_bench(prof, seed=seed, progress=False)
        choice = pipeline.default_detector(data, prof, seed=seed, progress=False)
        for label, job in reversed(pipeline.ablation_jobs(choice, data, prof, seed=seed)):
            t0 = time.perf_counter()
            job()
            print(f"== ahead for {AHEAD[0]}: {label} ({time.perf_counter() - t0:.0f} s)",
                  file=sys.stderr, flush=True)
    except Exception as exc:  # noqa: BLE001 - the notebook computes what is missing
        print(f"== ahead for {AHEAD[0]} stopped: {exc!r}", file=sys.stderr, flush=True)
    finally:
        # A kernel this worker might start later must not be charged as ahead.
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _train_candidate(profile: str, seed: int, objective: str, threads: int) -> None:
    """Worker job of :func:`_candidates_side_by_side`: one objective's candidate."""
    import torch

    from artifactnet_core.experiments import pipeline

    torch.set_num_threads(threads)
    prof = get_profile(profile)
    data = pipeline.get_bench(prof, seed=seed, progress=False)
    pipeline.selection_candidate(data, prof, objective, prof.unet.base_width, seed=seed,
                                 progress=False)


def _candidates_side_by_side(profile: str, seed: int, jobs: int) -> None:
    """Train the default detector's objective candidates (:data:`~artifactnet_core.experiments.
    pipeline.SELECTION_OBJECTIVES`) side by side, one per worker on its share of the cores,
    before :func:`~artifactnet_core.experiments.pipeline.default_detector` loads them. On the
    2-core CPU this gains little over training them one after the other on both threads (12 min
    07 s against 12 min 30 s the day before, on a faster host; benchmarks/README.md,
    2026-12-06)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from artifactnet_core.experiments.pipeline import SELECTION_OBJECTIVES

    workers = min(jobs, len(SELECTION_OBJECTIVES))
    threads = worker_threads(workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_kernel_threads, initargs=(threads,)) as pool:
        for future in [pool.submit(_train_candidate, profile, seed, objective, threads)
                       for objective in SELECTION_OBJECTIVES]:
            future.result()


def fingerprint(src: str | os.PathLike) -> str:
    """Digest of what an executed notebook's outputs depend on beyond its parameters and the
    cache: its jupytext source ``src`` (not the staged ``.ipynb``: jupytext gives its cells
    fresh random ids every time) and every Python source file of the package (the package's
    exported weights are left out: a run writes them itself). Any edit to either changes it."""
    sources = sorted(PACKAGE_DIR.rglob("*.py"))
    return stable_hash(file_sha256(src),
                       *[(p.relative_to(PACKAGE_DIR).as_posix(), file_sha256(p)) for p in sources])


def up_to_date(target: str | os.PathLike, parameters: dict, digest: str) -> bool:
    """Whether ``target`` is a finished execution (no exception) with these ``parameters``
    whose :func:`fingerprint` was ``digest``: what ``run(resume=True)`` skips."""
    try:
        meta = json.loads(Path(target).read_text()).get("metadata", {})
    except (OSError, ValueError):
        return False
    ran = meta.get("papermill", {})
    return (ran.get("duration") is not None and not ran.get("exception")
            and ran.get("parameters") == parameters
            and meta.get("artifactnet", {}).get("fingerprint") == digest)


def _execute(staged: str, target: str, parameters: dict, kernel_name: str,
             progress: bool, digest: str) -> None:
    """Execute one staged notebook with papermill (a function of its own so that a worker
    process of :func:`run` can call it), and stamp the executed copy with ``digest``, its
    source's :func:`fingerprint` taken before it ran."""
    import nbformat
    import papermill

    from artifactnet_core.experiments import ledger

    name = Path(target).stem
    folder = ledger.profile_ledger_folder(parameters["profile"], seed=parameters["seed"])
    seen = set() if folder is None else set(ledger.read_ledger(folder)["artifact"])
    # The kernel inherits it: cached computations are charged to this notebook (ledger.py).
    os.environ[ledger.NOTEBOOK_ENV] = name
    papermill.execute_notebook(staged, target, parameters=parameters, kernel_name=kernel_name,
                               cwd=str(NOTEBOOK_DIR), progress_bar=progress)
    Path(staged).unlink()
    executed = nbformat.read(target, as_version=4)
    executed.metadata["artifactnet"] = {"fingerprint": digest}
    nbformat.write(executed, target)
    # What this notebook's cached stages cost when they were computed, beyond this run's wall
    # time (an interrupted run resumed, or a later session): recorded beside its peak memory.
    folder = folder or ledger.profile_ledger_folder(parameters["profile"],
                                                    seed=parameters["seed"])
    record = Path(os.environ["ARTIFACTNET_NOTEBOOK_RECORDS"]) / f"{name}.json"
    if folder is not None and record.exists():
        entry = json.loads(record.read_text())
        entry["cached_s"] = round(ledger.seconds_not_spent(folder, name, seen_before=seen), 1)
        record.write_text(json.dumps(entry))


def run(*, profile: str = PROFILE_NAMES[0], seed: int = 0, only: list[str] | None = None,
        output_dir: Path = EXECUTED_DIR, kernel_name: str | None = None,
        progress: bool = True, extra: dict | None = None, jobs: int = 1,
        resume: bool = False) -> list[dict]:
    """Execute the notebooks with papermill; stop at the first failure.

    Parameters
    ----------
    profile : str
        ``smoke``, ``laptop``, ``paper`` or ``auto`` (paper with a CUDA GPU, else laptop).
    seed : int
        Seed passed to every notebook.
    only : list of str, optional
        Notebook name prefixes to run (e.g. ``["00", "03"]``); default all.
    output_dir : path
        Where executed copies go.
    kernel_name : str, optional
        Jupyter kernel; default: the kernel of this Python (``python3`` in its environment).
    extra : dict, optional
        More parameters (e.g. ``{"export_weights": True}``), passed only to the notebooks whose
        ``parameters`` cell declares them.
    jobs : int
        Notebooks executed at once. With 1 they run in order. With more, the benchmark and the
        default detector (what every notebook reads from the cache) are built or loaded here
        first, then the notebooks run side by side in that many processes, started from the
        last one back (the later notebooks — ablations, drift, evaluation — are the long ones,
        so none of them starts last); their wall times are under contention. Each kernel runs
        torch on ``cores // jobs`` threads (``OMP_NUM_THREADS``, unless set), so its floats may
        differ in the last bits from a serial run's. A notebook kernel spends much of its time
        in single-threaded Python, so on 2 cores ``jobs=2`` shortens the smoke run
        (``make test`` uses it).
    resume : bool
        Skip the notebooks whose executed copy in ``output_dir`` is :func:`up_to_date`: it
        finished, with the same parameters, from the same notebook and package sources. What
        the others compute comes from the cache, so an interrupted long run (``make
        reproduce``) picks up where it stopped; an edit to the package reruns every notebook.

    Returns
    -------
    list of dict
        Per notebook run now: name, seconds, peak memory (MiB). ``summary_<profile>.json`` in
        ``output_dir`` is rewritten after every notebook from :func:`executed_summary`, so it also
        keeps the notebooks of earlier partial runs of the same profile; ``run_<profile>.json``
        (:func:`write_run_record`) holds the whole call's wall time.
    """
    import jupytext

    from artifactnet_core.experiments.ledger import profile_ledger_folder

    t_start = time.perf_counter()
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    profile = get_profile(profile).name
    empty_cache = profile_ledger_folder(profile, seed=seed) is None
    commit = source_commit()  # before the run writes weights and figures into the tree
    output_dir.mkdir(parents=True, exist_ok=True)
    if not get_profile(profile).publishes:
        # Numbers that mean nothing never overwrite the committed figures and cards.
        for var, sub in (("ARTIFACTNET_FIGURES", "figures"), ("ARTIFACTNET_CARDS", "cards")):
            os.environ.setdefault(var, str(output_dir / profile / sub))
    records_dir = output_dir / "records"
    records_dir.mkdir(exist_ok=True)
    os.environ["ARTIFACTNET_NOTEBOOK_RECORDS"] = str(records_dir)
    todo = []
    for src in notebook_sources():
        if only and not any(src.name.startswith(prefix) for prefix in only):
            continue
        nb = jupytext.read(src)
        declared = declared_parameters(nb)
        parameters = {"profile": profile, "seed": seed,
                      **{k: v for k, v in (extra or {}).items() if k in declared}}
        target = output_dir / f"{src.stem}.ipynb"
        digest = fingerprint(src)
        if resume and up_to_date(target, parameters, digest):
            print(f"== {src.stem}: up to date in {target}, not run again (resume)",
                  file=sys.stderr, flush=True)
            continue
        staged = output_dir / f"{src.stem}.input.ipynb"
        jupytext.write(nb, staged, fmt="ipynb")
        todo.append((src.stem, (str(staged), str(target), parameters,
                                kernel_name or "python3", progress, digest)))
    ran = []
    prof = get_profile(profile)
    parallel = jobs > 1 and len(todo) > 1
    export = bool((extra or {}).get("export_weights")) and prof.publishes
    if todo and (parallel or export):
        from artifactnet_core.experiments import pipeline
        from artifactnet_core.experiments.ledger import NOTEBOOK_ENV

        # Charged to the first notebook, which builds them in a serial run (ledger.py).
        os.environ[NOTEBOOK_ENV] = todo[0][0]
        print(f"== benchmark and default detector ({profile}, seed {seed})", file=sys.stderr,
              flush=True)
        data = pipeline.get_bench(prof, seed=seed)
        if parallel:
            _candidates_side_by_side(profile, seed, jobs)
        choice = pipeline.default_detector(data, prof, seed=seed, progress=progress)
        if export:
            # 03 exports it too; exported before any notebook runs, so that 00, 01 and 08 (they
            # score with the package's weights) show the detector this run trains.
            print("exported", pipeline.export_weights(choice.chosen), file=sys.stderr)
    if not parallel:
        for name, job in todo:
            t0 = time.perf_counter()
            print(f"== {name} ({profile}, seed {seed})", file=sys.stderr, flush=True)
            _execute(*job)
            ran.append(name)
            write_summary(output_dir, profile)
            print(f"   {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    else:
        import multiprocessing
        from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

        # Each kernel gets its share of the cores (unless the user set OMP_NUM_THREADS) rather than
        # oversubscribing them. Measured on the 2-core CI machine (smoke, jobs=2): 485 s against
        # 494 and 505 s with two threads per kernel, one run each: within run-to-run noise.
        threads = worker_threads(jobs)
        with ProcessPoolExecutor(max_workers=jobs,
                                 mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_kernel_threads, initargs=(threads,)) as pool:
            futures = {pool.submit(_execute, *job): name for name, job in reversed(todo)}
            print(f"== {', '.join(futures.values())} ({profile}, seed {seed}; {jobs} at once)",
                  file=sys.stderr, flush=True)
            if any(name in AHEAD for name, _ in todo):
                futures[pool.submit(_compute_ahead, profile, seed, threads)] = "ahead"
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            if failed:
                pool.shutdown(cancel_futures=True)
                raise failed[0].exception()
        ran = [name for name, _ in todo]
        write_summary(output_dir, profile)
    if ran:
        write_run_record(output_dir, profile, seed=seed, jobs=jobs if parallel else 1,
                         wall_s=time.perf_counter() - t_start, started_utc=started,
                         notebooks=ran, empty_cache=empty_cache, commit=commit)
    return [row for row in executed_summary(output_dir, profile=profile)
            if row["notebook"] in ran]


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the command line: its kernels and workers inherit the allocator
        restart_under_tcmalloc("artifactnet_core.experiments.runner", sys.argv[1:])
    parser = argparse.ArgumentParser(prog="python -m artifactnet_core.experiments.runner")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="execute the notebooks with papermill")
    p_run.add_argument("--profile", default=PROFILE_NAMES[0],
                       help=f"one of {', '.join(PROFILE_NAMES)} or auto")
    p_run.add_argument("--seed", type=int, default=0)
    p_run.add_argument("--only", nargs="*", help="notebook number prefixes, e.g. 00 03")
    p_run.add_argument("--output-dir", type=Path, default=EXECUTED_DIR)
    p_run.add_argument("--jobs", type=int, default=1,
                       help="notebooks executed at once (default 1: in order)")
    p_run.add_argument("--export-weights", action="store_true",
                       help="write the chosen detector into the package "
                            "(artifactnet_core/weights/) before the notebooks run (03 writes "
                            "it again)")
    p_run.add_argument("--resume", action="store_true",
                       help="skip notebooks already executed to the end with the same "
                            "parameters and sources (an interrupted run picks up)")
    p_sum = sub.add_parser("summary", help="rewrite summary_<profile>.json from the executed "
                                           "notebooks (e.g. after an interrupted run)")
    p_sum.add_argument("--profile", required=True)
    p_sum.add_argument("--output-dir", type=Path, default=EXECUTED_DIR)
    sub.add_parser("sync", help="regenerate the .ipynb files from the .py sources")
    sub.add_parser("check", help="fail if any .ipynb is out of sync with its .py")
    args = parser.parse_args(argv)
    if args.command == "sync":
        for path in sync():
            print(path.relative_to(REPO_DIR))
        return 0
    if args.command == "summary":
        _print_summary(write_summary(args.output_dir, args.profile))
        return 0
    if args.command == "check":
        problems = out_of_sync()
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    summary = run(profile=args.profile, seed=args.seed, only=args.only,
                  output_dir=args.output_dir, jobs=args.jobs, resume=args.resume,
                  extra={"export_weights": True} if args.export_weights else None)
    print(f"figures and tables in {os.environ.get('ARTIFACTNET_FIGURES') or figures_dir()}")
    _print_summary(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
