"""What each cached computation of a run cost, and which notebook first needed it.

Everything expensive in the protocol (the benchmark build, each UNet, each detector's training
features and classifier, scoring features, baselines) is computed once and cached, so a run that
resumes after an interruption, or in a later session, skips it, and its notebooks' wall times
no longer say what a run from nothing costs. The ledger keeps that cost: one JSON line per cached
artifact in ``<cache>/runs/<bench hash>/ledger.jsonl``, with the seconds its computation took
(measured when it was computed, read back from the artifact's own metadata when an older cache
entry is met) and the notebook that first asked for it (``$ARTIFACTNET_NOTEBOOK``, set by the
notebook runner). An artifact is charged once, to the first notebook that needs it, so the
ledger's sum per notebook plus that notebook's wall time in a fully cached run is what the notebook
costs from an empty cache.

The notebook runner records each notebook's :func:`seconds_not_spent` beside its wall time, and
:func:`artifactnet_core.experiments.report.timings_table` shows both (explained in
``notebooks/README.md``); :func:`artifactnet_core.experiments.report.costs_table` breaks a
run's ledger down by notebook and stage.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

LEDGER_NAME = "ledger.jsonl"
#: Set by the notebook runner for each notebook's kernel.
NOTEBOOK_ENV = "ARTIFACTNET_NOTEBOOK"
#: Set (to 1) by the runner's worker that computes a notebook's stages ahead of it
#: (``runner.AHEAD``): those stages are charged to the notebook, marked ``ahead``.
AHEAD_ENV = "ARTIFACTNET_AHEAD"


def current_notebook() -> str:
    """The notebook this process runs for (``interactive`` outside the runner)."""
    return os.environ.get(NOTEBOOK_ENV) or "interactive"


COLUMNS = ["artifact", "stage", "seconds", "notebook", "computed", "ahead"]


def read_ledger(folder: str | os.PathLike) -> pd.DataFrame:
    """The ledger of ``folder`` as rows ``artifact, stage, seconds, notebook, computed, ahead``
    (empty if none); ``computed`` is False for a cost read back from an older cache entry's
    metadata, ``ahead`` True for a stage another worker computed for the notebook while it ran
    (False in ledgers written before the column existed)."""
    path = Path(folder) / LEDGER_NAME
    if not path.exists():
        return pd.DataFrame(columns=COLUMNS)
    rows = [{"ahead": False, **json.loads(line)}
            for line in path.read_text().splitlines() if line.strip()]
    return pd.DataFrame(rows, columns=COLUMNS)


def charge(folder: str | os.PathLike, artifact: str, stage: str, seconds: float | None, *,
           computed: bool) -> bool:
    """Record that computing ``artifact`` (a cache key) took ``seconds`` of stage ``stage``,
    charged to :func:`current_notebook`. ``computed``: the seconds were spent just now (else
    they are an older cache entry's recorded cost). An artifact already in the ledger is not
    charged again, nor one whose cost is unknown (``None``). Returns whether a line was written.
    """
    if seconds is None:
        return False
    folder = Path(folder)
    if artifact in set(read_ledger(folder)["artifact"]):
        return False
    folder.mkdir(parents=True, exist_ok=True)
    row = {"artifact": artifact, "stage": stage, "seconds": round(float(seconds), 2),
           "notebook": current_notebook(), "computed": bool(computed),
           "ahead": os.environ.get(AHEAD_ENV) == "1"}
    # One short line in append mode: concurrent writers (``runner --jobs``) do not interleave.
    with open(folder / LEDGER_NAME, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    return True


def seconds_not_spent(folder: str | os.PathLike, notebook: str, *,
                      seen_before: set[str]) -> float:
    """Seconds of cached computation charged to ``notebook`` that a run of it did *not* spend,
    given the artifacts the ledger held when that run started (``seen_before``): those charged
    in earlier runs, those it met already computed (``computed`` False), and those another
    worker computed ahead of it (``ahead``). Adding them to the run's wall time gives the
    notebook's cost from an empty cache."""
    ledger = read_ledger(folder)
    mine = ledger[ledger["notebook"] == notebook]
    spent_now = (~mine["artifact"].isin(seen_before) & mine["computed"].astype(bool)
                 & ~mine["ahead"].astype(bool))
    return float(mine.loc[~spent_now, "seconds"].sum())


def profile_ledger_folder(profile: str, *, seed: int = 0) -> Path | None:
    """The ledger folder of a profile's benchmark built with ``seed`` (``None`` before it is
    built); finds it without building anything."""
    from artifactnet_core.bench.build import bench_dir
    from artifactnet_core.paths import runs_root
    from artifactnet_core.profiles import get_profile

    sha_file = bench_dir(get_profile(profile).bench, seed=seed) / "manifest.sha256"
    return runs_root(sha_file.read_text().split()[0]) if sha_file.exists() else None

