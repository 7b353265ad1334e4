"""Measured numbers into the READMEs: notebook timings and the headline results.

The notebook runner (:func:`artifactnet_core.experiments.runner.run`) writes
``notebooks/executed/summary_<profile>.json``: per notebook its wall time in seconds, the
kernel's peak memory in MiB and the seconds its cached stages cost when they were computed in an
earlier run (:mod:`artifactnet_core.experiments.ledger`). :func:`timings_table` renders those
files as one Markdown table (a column per profile) and :func:`update_readme` rewrites the block
between ``<!-- timings:start -->`` and ``<!-- timings:end -->`` in ``notebooks/README.md``
with it; :func:`costs_table` renders the run ledger by notebook and stage (where the compute
goes) between ``<!-- costs:start -->`` and ``<!-- costs:end -->`` of the same file.
Only measured numbers appear; a notebook or profile without a measurement shows ``–``.
Both tables are rendered from the committed records in ``notebooks/timings/`` (one per profile,
:func:`record_runs` saves a fresh run's summary, run record and ledger there first), so a run
of one profile leaves the other profiles' columns as they were measured.

    python -m artifactnet_core.experiments.report                       # notebooks/executed/summary_*.json
    python -m artifactnet_core.experiments.report a/summary_smoke.json b/summary_paper.json \\
        --machine smoke="2 CPU cores" --machine paper="1 × H100"

Used by the Makefile after a notebook run; the table is read in ``notebooks/README.md``.
:func:`results_block` renders the headline results from the tables the notebooks wrote to
``figures/`` (04 zero-shot per track with the shortcut probe, its 2 x 2, targets and seed
spread; 05 codec drift; 06 baselines) and :func:`update_results`
puts them between ``<!-- results:start -->`` and ``<!-- results:end -->`` of the top-level
README, so every number there comes from a notebook (``--results``).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from artifactnet_core.experiments.runner import EXECUTED_DIR, NOTEBOOK_DIR, notebook_sources
from artifactnet_core.paths import REPO_DIR, figures_dir
from artifactnet_core.profiles import PROFILE_NAMES

if TYPE_CHECKING:
    import pandas as pd

START = "<!-- timings:start -->"
END = "<!-- timings:end -->"
README = NOTEBOOK_DIR / "README.md"
TOP_README = REPO_DIR / "README.md"
RESULTS_START = "<!-- results:start -->"
RESULTS_END = "<!-- results:end -->"
COSTS_START = "<!-- costs:start -->"
COSTS_END = "<!-- costs:end -->"
#: Column order of :func:`costs_table` (the ledger's stages, in the order a run meets them).
STAGES = ("benchmark", "unet", "training features", "classifier", "scoring features",
          "baselines")
_SUMMARY = re.compile(r"summary_(?P<profile>[\w-]+)\.json$")
#: The committed measurements behind ``notebooks/README.md``'s two tables, one
#: ``<profile>.json`` per profile (:func:`save_record`): its notebooks' summary, the record of
#: the run as a whole and its ledger. The tables are rendered from these files, so a run of one
#: profile (``make reproduce``) rewrites its own column and leaves the others standing.
RECORDS_DIR = NOTEBOOK_DIR / "timings"


def load_summaries(paths: Iterable[str | Path] | None = None
                   ) -> dict[str, dict[str, dict[str, float]]]:
    """Read runner summaries into ``{profile: {notebook: {"seconds", "peak_rss_mib",
    "cached_s"}}}``.

    Parameters
    ----------
    paths : iterable of path, optional
        ``summary_<profile>.json`` files (the profile is read from the name). Default: every
        ``notebooks/executed/summary_*.json``. When several files cover the same notebook and
        profile (e.g. a partial rerun with ``--only``), the later file in ``paths`` wins.
    """
    files = sorted(EXECUTED_DIR.glob("summary_*.json")) if paths is None else \
        [Path(p) for p in paths]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for path in files:
        match = _SUMMARY.search(path.name)
        if not match:
            raise ValueError(f"{path}: expected a file named summary_<profile>.json")
        rows = json.loads(Path(path).read_text())
        per_notebook = out.setdefault(match["profile"], {})
        for row in rows:
            per_notebook[row["notebook"]] = {"seconds": float(row["seconds"]),
                                             "peak_rss_mib": float(row["peak_rss_mib"]),
                                             "cached_s": float(row.get("cached_s", 0.0))}
    return out


def format_seconds(seconds: float) -> str:
    """``48.2`` -> ``"48 s"``, ``292`` -> ``"4 min 52 s"``, ``4000`` -> ``"1 h 07 min"``."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def _cell(entry: Mapping[str, float] | None) -> str:
    if not entry:
        return "–"
    peak = entry.get("peak_rss_mib", float("nan"))
    peak_text = f"{peak:.0f} MiB" if math.isfinite(peak) else "? MiB"
    cached = entry.get("cached_s", 0.0)
    time_text = format_seconds(entry["seconds"])
    if cached > 0:
        time_text = (f"{format_seconds(entry['seconds'] + cached)} "
                     f"({time_text} + {format_seconds(cached)} cached)")
    return f"{time_text} · {peak_text}"


def timings_table(summaries: Mapping[str, Mapping[str, Mapping[str, float]]], *,
                  notebooks: list[str] | None = None,
                  machines: Mapping[str, str] | None = None) -> str:
    """A Markdown table of wall time and peak memory per notebook (rows) and profile (columns).

    A notebook whose run found some of its stages cached by an earlier, interrupted run shows
    its cost from an empty cache, then in brackets this run's wall time plus those stages'
    recorded compute time (:mod:`artifactnet_core.experiments.ledger`).

    Parameters
    ----------
    summaries : mapping
        As returned by :func:`load_summaries`.
    notebooks : list of str, optional
        Row order (notebook stems); default: the notebooks in ``notebooks/``, then any other
        measured ones.
    machines : mapping, optional
        ``{profile: "what it ran on"}``, printed under the table.

    Returns
    -------
    str
        The table; the last row sums the seconds and takes the largest peak, for the profiles
        where every listed notebook was measured.
    """
    profiles = [p for p in PROFILE_NAMES if p in summaries]
    profiles += sorted(set(summaries) - set(PROFILE_NAMES))
    if notebooks is None:
        notebooks = [p.stem for p in notebook_sources()]
        measured = {nb for per in summaries.values() for nb in per}
        notebooks += sorted(measured - set(notebooks))
    if not profiles:
        return "_No measured runs yet: run `python -m artifactnet_core.experiments.runner run` first._"
    import pandas as pd

    from artifactnet_core.experiments.outputs import markdown_table

    rows = [[f"`{nb}`", *(_cell(summaries[p].get(nb)) for p in profiles)] for nb in notebooks]
    totals = []
    for p in profiles:
        entries = [summaries[p].get(nb) for nb in notebooks]
        if all(entries):
            totals.append(_cell({"seconds": sum(e["seconds"] for e in entries),
                                 "peak_rss_mib": max(e["peak_rss_mib"] for e in entries),
                                 "cached_s": sum(e.get("cached_s", 0.0) for e in entries)}))
        else:
            totals.append("–")
    rows.append(["**all, in order**", *totals])
    columns = ["notebook", *(f"{p}: time · peak memory" for p in profiles)]
    lines = [markdown_table(pd.DataFrame(rows, columns=columns))]
    notes = [f"- `{p}`: {machines[p]}" for p in profiles if machines and p in machines]
    if notes:
        lines += ["", "Measured on:", *notes]
    return "\n".join(lines)


def replace_block(text: str, block: str, *, start: str = START, end: str = END) -> str:
    """``text`` with everything between the ``start`` and ``end`` markers replaced by ``block``
    (markers kept). Raises ``ValueError`` when the markers are missing or out of order."""
    i, j = text.find(start), text.find(end)
    if i < 0 or j < 0 or j < i:
        raise ValueError(f"markers {start!r} ... {end!r} not found (in that order)")
    return text[:i + len(start)] + "\n" + block.strip("\n") + "\n" + text[j:]


def rewrite_block(path: str | Path, block: str, *, start: str = START, end: str = END) -> bool:
    """Replace the block between ``start`` and ``end`` in the file ``path`` by ``block``
    (:func:`replace_block`); the file is written only when that changes it. Returns whether it
    did."""
    path = Path(path)
    text = path.read_text()
    new = replace_block(text, block, start=start, end=end)
    if new != text:
        path.write_text(new)
    return new != text


def update_readme(readme: str | Path = README,
                  summaries: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None, *,
                  machines: Mapping[str, str] | None = None) -> bool:
    """Rewrite the timings block of ``readme`` from ``summaries`` (default:
    :func:`load_summaries`); return whether the file changed."""
    summaries = load_summaries() if summaries is None else summaries
    return rewrite_block(readme, timings_table(summaries, machines=machines))


def costs_table(ledgers: Mapping[str, pd.DataFrame], *,
                notebooks: list[str] | None = None) -> str:
    """Where a run's compute goes: per profile, a Markdown table of the seconds each cached stage
    cost (columns: benchmark build, UNet training, training features, classifiers, scoring
    features, baselines) charged to each notebook (rows), read from the run ledger
    (:mod:`artifactnet_core.experiments.ledger`). A cell is the summed time and, in brackets,
    how many artifacts (models, feature sets) it computed; every artifact is charged once, to
    the first notebook that needed it, so reuse shows as work that appears only once.

    Parameters
    ----------
    ledgers : mapping
        ``{profile: ledger}``, each as returned by
        :func:`artifactnet_core.experiments.ledger.read_ledger`.
    notebooks : list of str, optional
        Row order (default: the notebooks in ``notebooks/``, then any other charged ones, such
        as ``interactive``).
    """
    import pandas as pd

    from artifactnet_core.experiments.outputs import markdown_table

    def cell(part: pd.DataFrame) -> str:
        return f"{format_seconds(part['seconds'].sum())} ({len(part)})" if len(part) else "–"

    if notebooks is None:
        notebooks = [p.stem for p in notebook_sources()]
    blocks = []
    for profile, ledger in ledgers.items():
        if ledger.empty:
            continue
        rows_order = [nb for nb in notebooks if nb in set(ledger["notebook"])]
        rows_order += sorted(set(ledger["notebook"]) - set(rows_order))
        stages = [s for s in STAGES if s in set(ledger["stage"])]
        stages += sorted(set(ledger["stage"]) - set(stages))
        rows = [[f"`{nb}`", *(cell(ledger[(ledger["notebook"] == nb) & (ledger["stage"] == st)])
                              for st in stages), cell(ledger[ledger["notebook"] == nb])]
                for nb in rows_order]
        rows.append(["**all**", *(cell(ledger[ledger["stage"] == st]) for st in stages),
                     cell(ledger)])
        table = markdown_table(pd.DataFrame(rows, columns=["notebook", *stages, "total"]))
        blocks.append(f"`{profile}`:\n\n{table}")
    if not blocks:
        return "_No run ledger yet: run `python -m artifactnet_core.experiments.runner run` first._"
    return "\n\n".join(blocks)


def save_record(profile: str, notebooks: Mapping[str, Mapping[str, float]], *,
                run: Mapping | None = None, ledger: pd.DataFrame | None = None,
                folder: str | Path = RECORDS_DIR) -> Path:
    """Write ``folder/<profile>.json``, the committed record of a profile's measured run.

    Parameters
    ----------
    profile : str
        The profile it ran.
    notebooks : mapping
        ``{notebook: {"seconds", "peak_rss_mib", "cached_s"}}`` (one profile of
        :func:`load_summaries`); merged over the notebooks already recorded, so a partial rerun
        (``--only``) replaces only its own rows.
    run : mapping, optional
        The whole ``runner run`` call (``run_<profile>.json``,
        :func:`artifactnet_core.experiments.runner.write_run_record`); default: keep the
        recorded one.
    ledger : DataFrame, optional
        The run ledger (:func:`artifactnet_core.experiments.ledger.read_ledger`); default: keep
        the recorded one.
    """
    path = Path(folder) / f"{profile}.json"
    old = load_records(folder).get(profile, {})
    record = {"profile": profile,
              "notebooks": {**old.get("notebooks", {}), **{k: dict(v) for k, v in notebooks.items()}},
              "run": dict(run) if run is not None else old.get("run"),
              "ledger": (ledger.to_dict("records") if ledger is not None
                         else old.get("ledger", []))}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def load_records(folder: str | Path = RECORDS_DIR) -> dict[str, dict]:
    """The records :func:`save_record` wrote, ``{profile: {"notebooks", "run", "ledger"}}``,
    in profile order; a file that does not parse raises ``ValueError`` naming it."""
    out = {}
    for path in sorted(Path(folder).glob("*.json")):
        try:
            record = json.loads(path.read_text())
            out[record["profile"]] = record
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"{path}: not a timings record ({err})") from err
    order = {p: i for i, p in enumerate(PROFILE_NAMES)}
    return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def run_note(run: Mapping, *, overlap: bool = True) -> str:
    """One line on how a profile's run was measured, from its run record: the machine, the
    command, the cache it started from, the notebooks at a time (``overlap``: with what that
    means for the timings table) and the whole call's wall time."""
    cores = run.get("cores")
    # Records from before 2026-12-07 name no GPU, training precision or allocator.
    setup = ", ".join([run.get("cpu", "CPU")] + [
        f"{run[key]}{suffix}" for key, suffix in (("gpu", " GPU"),
                                                   ("training_precision", " training"),
                                                   ("allocator", "")) if run.get(key)])
    machine = f"{cores} CPU cores ({setup})" if cores else setup
    jobs = int(run.get("jobs", 1))
    command = f"`runner run --profile {run['profile']} --seed {run.get('seed', 0)}" + \
        (f" --jobs {jobs}`" if jobs > 1 else "`")
    cache = "an empty cache" if run.get("empty_cache") else "a cache an earlier run had filled"
    n = len(run.get("notebooks", []))
    parts = [f"{machine}, {command} from {cache}, {n} notebook{'s' * (n != 1)}"]
    if jobs > 1:
        parts.append(f"{jobs} at a time" + (
            ", so the rows overlap; 00's cached part is the benchmark and default detector the "
            "runner built before the notebooks, 07's what the free worker computed ahead of it"
            if overlap else ""))
    when = ", ".join(x for x in (run.get("started_utc") and f"{run['started_utc']} UTC",
                               run.get("commit") and f"commit {run['commit']}") if x)
    return (", ".join(parts) + f": the whole run took {format_seconds(run['wall_s'])}"
            + (f" ({when})" if when else ""))


def record_runs(summary_paths: Iterable[str | Path] | None = None, *, seed: int = 0,
                folder: str | Path = RECORDS_DIR) -> list[str]:
    """Save the runs found in ``notebooks/executed/`` (or the given ``summary_<profile>.json``
    files, each with the ``run_<profile>.json`` beside it) as committed records
    (:func:`save_record`), each with the ledger of its profile's benchmark built with ``seed``
    on this machine. Returns the profiles saved."""
    from artifactnet_core.experiments.ledger import profile_ledger_folder, read_ledger

    paths = (sorted(EXECUTED_DIR.glob("summary_*.json")) if summary_paths is None
             else [Path(p) for p in summary_paths])
    saved = []
    for path in paths:
        fresh = load_summaries([path])
        for profile, notebooks in fresh.items():
            run_file = path.parent / f"run_{profile}.json"
            run = json.loads(run_file.read_text()) if run_file.exists() else None
            ledger_folder = profile_ledger_folder(profile, seed=seed)
            ledger = read_ledger(ledger_folder) if ledger_folder is not None else None
            save_record(profile, notebooks, run=run, ledger=ledger, folder=folder)
            saved.append(profile)
    return saved


def update_costs(readme: str | Path, ledgers: Mapping[str, pd.DataFrame]) -> bool:
    """Rewrite the costs block of ``readme`` (:func:`costs_table`) from ``ledgers``
    (``{profile: ledger}``, as the committed records hold them); return whether the file
    changed."""
    return rewrite_block(readme, costs_table(ledgers), start=COSTS_START, end=COSTS_END)


def _with_ci(row: Mapping, metric: str, *, percent: bool = False) -> str:
    scale, unit = (100.0, " %") if percent else (1.0, "")
    value = row.get(metric)
    if value is None or not math.isfinite(float(value)):
        return "–"
    text = f"{scale * float(value):.{2 if percent else 3}f}{unit}"
    lo, hi = row.get(f"{metric}_lo"), row.get(f"{metric}_hi")
    if lo is not None and hi is not None and math.isfinite(float(lo)) and math.isfinite(float(hi)):
        text += f" [{scale * float(lo):.{2 if percent else 3}f}, {scale * float(hi):.{2 if percent else 3}f}]"
    return text


def _count(value) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else (
        f"{int(value):,}")


def results_block(figures: str | Path | None = None, *,
                  records: str | Path = RECORDS_DIR) -> str:
    """Markdown of the headline results, read from the notebooks' tables in ``figures``.

    Parameters
    ----------
    figures : path, optional
        Folder of the notebooks' tables (default :func:`artifactnet_core.paths.figures_dir`):
        ``tab04_zero_shot``, ``tab04_two_by_two``, ``tab04_targets``, ``tab04_seed_variance``,
        ``tab05_targets`` and ``tab06_baselines`` (``.csv``); ``tab07_summary`` when notebook
        07 ran.
    records : path
        Folder of the committed run records (:func:`save_record`): the tables' profile's
        record names the run (machine, commit, wall time) under the first paragraph.

    Returns
    -------
    str
        The zero-shot headline per track with the shortcut probe beside the detector, the 2 x 2,
        the targets with their verdicts, the seed-to-seed spread, the baselines and notebook
        07's statements (computed there from its tables); a note saying so when the notebooks
        have not been run.
    """
    import pandas as pd

    root = Path(figures) if figures else figures_dir()
    needed = ["tab04_zero_shot.csv", "tab04_two_by_two.csv", "tab04_targets.csv",
              "tab04_seed_variance.csv", "tab05_targets.csv", "tab06_baselines.csv"]
    missing = [n for n in needed if not (root / n).exists()]
    if missing:
        return ("_No results yet: run `make reproduce` (missing "
                + ", ".join(f"`figures/{n}`" for n in missing) + ")._")
    head = pd.read_csv(root / "tab04_zero_shot.csv")
    cells = pd.read_csv(root / "tab04_two_by_two.csv")
    targets = pd.concat([pd.read_csv(root / "tab04_targets.csv"),
                         pd.read_csv(root / "tab05_targets.csv")], ignore_index=True)
    spread = pd.read_csv(root / "tab04_seed_variance.csv")
    base = pd.read_csv(root / "tab06_baselines.csv")
    ours = head.iloc[0].to_dict()
    profile = str(targets["profile"].iloc[0])
    lines = [f"Profile **`{profile}`**, seed 0. Zero-shot test, **per track** (a track's score is "
             f"the median over its 4 s chunks, as `artifactnet detect` scores a file): "
             f"{_count(ours['n_real_tracks'])} real test tracks against "
             f"{_count(ours['n_ai_items'])} regenerations of {_count(ours['n_ai_tracks'])} of "
             "those tracks by held-out generator families. ROC-AUC: 95 % bootstrap over source "
             "tracks (a real track and its regenerations move together; at an AUC of exactly 1, "
             "where the bootstrap collapses, a distribution-free lower bound); TPR and FPR: "
             "exact Clopper-Pearson intervals; thresholds chosen on validation only. The "
             "**shortcut probe** (physics-free descriptors: band levels, bandwidth, roll-off, "
             "flatness, level, crest, DC, zero crossings) is scored on the same items: what "
             "the detector adds over it is what residual physics can claim.", "",
             *_run_line(profile, records),
             "| model | ROC-AUC | TPR @ 1 % FPR thr. | FPR @ 1 % FPR thr. | TPR @ 5 % FPR thr. "
             "| FPR @ 5 % FPR thr. |", "|---|---|---|---|---|---|"]
    for _, r in head.iterrows():
        r = r.to_dict()
        lines.append(f"| {r['model']} | {_with_ci(r, 'auc')} | {_with_ci(r, 'tpr_fpr1')} | "
                     f"{_with_ci(r, 'fpr_fpr1', percent=True)} | {_with_ci(r, 'tpr_fpr5')} | "
                     f"{_with_ci(r, 'fpr_fpr5', percent=True)} |")
    lines += ["", "Zero-shot as a 2 × 2 (generator family × real source, seen or unseen in "
              "training; the strict cell is an unseen family on an unseen source):", "",
              "| family | source | real tracks | AI items | ROC-AUC | probe ROC-AUC |",
              "|---|---|---|---|---|---|"]
    for _, r in cells.iterrows():
        r = r.to_dict()
        probe = f"{r['probe_auc']:.3f}" if pd.notna(r.get("probe_auc")) else "–"
        strict = " (strict)" if bool(r.get("strict")) else ""
        lines.append(f"| {r['family']}{strict} | {r['source']} | {_count(r['n_real_tracks'])} | "
                     f"{_count(r['n_ai_items'])} | {_with_ci(r, 'auc')} | {probe} |")
    lines += ["", "| claim | target | measured | verdict |", "|---|---|---|---|"]
    for _, r in targets.iterrows():
        r = r.to_dict()
        value = "–" if pd.isna(r.get("measured")) else _with_ci(
            {"m": r["measured"], "m_lo": r.get("lo"), "m_hi": r.get("hi")}, "m")
        lines.append(f"| {r['claim']} | {r['target']} | {value} | {r['verdict']} |")
    per_seed = spread[pd.to_numeric(spread["seed"], errors="coerce").notna()]
    lines += ["", f"Seed-to-seed spread of the chosen configuration over {len(per_seed)} "
              f"training seeds (same benchmark): ROC-AUC {per_seed['auc'].min():.3f}–"
              f"{per_seed['auc'].max():.3f}, TPR @ 1 % FPR thr. {per_seed['tpr_fpr1'].min():.3f}–"
              f"{per_seed['tpr_fpr1'].max():.3f}, FPR @ 1 % FPR thr. "
              f"{100 * per_seed['fpr_fpr1'].min():.2f}–{100 * per_seed['fpr_fpr1'].max():.2f} %. "
              "Differences smaller than this are training noise "
              "(`figures/tab04_seed_variance.md`).", "",
              "| model | parameters | ROC-AUC | ΔAUC vs ours (paired) | TPR @ 1 % FPR thr. | "
              "FPR @ 1 % FPR thr. | mean codec drift | CPU s / 4 s clip | source |",
              "|---|---|---|---|---|---|---|---|---|"]
    quoted = []
    for _, r in base.iterrows():
        r = r.to_dict()
        if pd.notna(r.get("fpr_quoted")):
            quoted.append(f"{r['model']} ({_count(r.get('parameters'))} parameters, "
                          f"{r.get('parameters_note', '')}): F1 {r['f1_quoted']:.4f}, FPR "
                          f"{100 * r['fpr_quoted']:.2f} %")
            continue
        drift = f"{r['mean_drift']:.3f}" if pd.notna(r.get("mean_drift")) else "–"
        cpu = f"{r['cpu_s_per_4s_clip']:.3f}" if pd.notna(r.get("cpu_s_per_4s_clip")) else "–"
        delta = ("–" if pd.isna(r.get("delta_auc_vs_ours")) else
                 f"{r['delta_auc_vs_ours']:+.3f} [{r['delta_auc_lo']:+.3f}, "
                 f"{r['delta_auc_hi']:+.3f}]")
        lines.append(f"| {r['model']} | {_count(r.get('parameters'))} | {_with_ci(r, 'auc')} | "
                     f"{delta} | {_with_ci(r, 'tpr_fpr1')} | {_with_ci(r, 'fpr_fpr1', percent=True)} | {drift} | {cpu} | "
                     f"{r['source']} |")
    if quoted:
        lines += ["", "Quoted from the paper (its ArtifactBench, its own operating points; not "
                  "comparable sample for sample): " + "; ".join(quoted) + "."]
    controls = root / "tab07_summary.csv"
    if controls.exists():
        lines += ["", "The referee's controls and the ablations (notebook 07, same zero-shot "
                  "tracks; each variant minus the reference, paired bootstrap; "
                  "`figures/tab07_*`):", ""]
        # "1. Protocol: ..." -> "- (1) Protocol: ..." (a bare "1." would open a nested list)
        lines += ["- " + re.sub(r"^(\w+)\. ", r"(\1) ", s)
                  for s in pd.read_csv(controls)["statement"]]
    absent = [src.stem for src in notebook_sources()
              if not list(root.glob(f"[ft][ia][gb]{src.stem[:2]}_*"))]
    if absent:
        lines += ["", "Not run for this profile, so nothing of theirs is in `figures/`: "
                  + ", ".join(f"`{stem}`" for stem in absent) + "."]
    return "\n".join(lines)


def _run_line(profile: str, records: str | Path) -> list[str]:
    run = load_records(records).get(profile, {}).get("run")
    return [f"The last recorded `{profile}` run: {run_note(run, overlap=False)}.", ""] if run \
        else []


def update_results(readme: str | Path = TOP_README, figures: str | Path | None = None, *,
                   records: str | Path = RECORDS_DIR) -> bool:
    """Rewrite the results block of the top-level README from ``figures`` (and the run named
    in ``records``); return whether it changed."""
    return rewrite_block(readme, results_block(figures, records=records), start=RESULTS_START,
                         end=RESULTS_END)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m artifactnet_core.experiments.report",
                                     description="Write measured notebook timings into "
                                                 "notebooks/README.md.")
    parser.add_argument("summaries", nargs="*", type=Path,
                        help="summary_<profile>.json files (default: notebooks/executed/)")
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--machine", action="append", default=[], metavar="PROFILE=TEXT",
                        help="what a profile's run ran on, e.g. smoke='2 CPU cores'")
    parser.add_argument("--seed", type=int, default=0,
                        help="the benchmark seed whose run ledger gives the stage costs")
    parser.add_argument("--records", type=Path, default=RECORDS_DIR,
                        help="folder of the committed per-profile records (default: "
                             "notebooks/timings/)")
    parser.add_argument("--print", action="store_true", help="print the table, change nothing")
    parser.add_argument("--results", action="store_true",
                        help="also rewrite the results block of the top-level README and the "
                             "numbers of notebooks/solutions/ from figures/")
    args = parser.parse_args(argv)
    if not args.print:  # first: the results block names the run it records
        for profile in record_runs(args.summaries or None, seed=args.seed,
                                   folder=args.records):
            print(f"{args.records / (profile + '.json')}: recorded")
    if args.results:
        changed = update_results(records=args.records)
        print(f"{TOP_README}: results {'updated' if changed else 'unchanged'}")
        from artifactnet_core.experiments.solutions import update_solutions

        for path in update_solutions():  # the exercise solutions' numbers, from the same tables
            print(f"{path}: numbers updated")
    extra = dict(m.split("=", 1) for m in args.machine)
    records = load_records(args.records)
    summaries = {p: r["notebooks"] for p, r in records.items()}
    if args.print:  # what the fresh runs would show, nothing written
        summaries.update(load_summaries(args.summaries or None))
    machines = {p: "; ".join(x for x in (r["run"] and run_note(r["run"]), extra.get(p)) if x)
                for p, r in records.items()}
    machines.update({p: t for p, t in extra.items() if p not in machines})
    if args.print:
        print(timings_table(summaries, machines=machines))
        return 0
    changed = update_readme(args.readme, summaries, machines=machines)
    print(f"{args.readme}: {'updated' if changed else 'unchanged'}")
    if COSTS_START in args.readme.read_text():
        import pandas as pd

        from artifactnet_core.experiments.ledger import COLUMNS

        ledgers = {p: pd.DataFrame(r["ledger"], columns=COLUMNS)
                   for p, r in records.items()}
        changed = update_costs(args.readme, ledgers)
        print(f"{args.readme}: stage costs {'updated' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
