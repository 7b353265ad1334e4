"""Does a rerun land inside the committed run's intervals? Compare two ``figures/`` folders.

Same seed gives the same bytes only on the same kind of machine, thread count and precision
(README, "Same seed, same numbers"); elsewhere a rerun is read against the committed run's
uncertainty. For every table (``tab*.csv``) in both folders this pairs rows by their text
columns (model, training, version, claim, ...) and, for every number that has an interval
beside it (columns ``x``, ``x_lo``, ``x_hi``; ``measured``, ``lo``, ``hi``), prints the committed value and interval, the
rerun's value, and whether the rerun lies inside the committed interval. Verdict columns that
changed are listed too, and so are the verdicts of summary statements (``tab07_summary``:
"... -> verdict"). Nothing else is read, so timings (which measure the machine) never count.
Those intervals are sampling intervals of one trained model; a rerun on another machine is
another model, so tables with a ``seed`` column (``tab04_seed_variance``) are also read the
way the README says to: each rerun seed's number against the committed seeds' range.

    python benchmarks/compare_figures.py figures /tmp/rerun/figures

Exit status 0; with ``--strict``, 1 when a value leaves its interval or a verdict changes.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

# Text columns that describe the run rather than name a row (a note may quote numbers).
IGNORED_COLUMNS = {"profile", "note"}


def interval_columns(table: pd.DataFrame) -> list[tuple[str, str, str]]:
    """``(x, x_lo, x_hi)`` for every column ``x`` of ``table`` with both bounds beside it, and
    ``("measured", "lo", "hi")`` in the target tables (``tab04_targets``)."""
    triples = [(c, f"{c}_lo", f"{c}_hi") for c in table.columns
               if f"{c}_lo" in table.columns and f"{c}_hi" in table.columns
               and c not in IGNORED_COLUMNS]
    if {"measured", "lo", "hi"} <= set(table.columns):
        triples.append(("measured", "lo", "hi"))
    return triples


def row_keys(table: pd.DataFrame) -> list[str]:
    """The text columns that name a row (everything non-numeric but run descriptors)."""
    return [c for c in table.columns
            if c not in IGNORED_COLUMNS and c != "verdict"
            and not pd.api.types.is_numeric_dtype(table[c])]


def statement_verdicts(statement: str) -> tuple[str, list[str]]:
    """``("3b. residual1", ["lower"])`` from a summary statement such as ``"3b. residual1:
    mel of R: AUC 0.998; minus hpss7: ... -> lower"``: its label (up to the first colon) and
    the verdict after each ``->``."""
    label = statement.split(":", 1)[0]
    verdicts = [part.split(";", 1)[0].strip() for part in statement.split("->")[1:]]
    return label, verdicts


def compare_statements(reference: pd.DataFrame, rerun: pd.DataFrame) -> list[dict]:
    """Verdict records for summary tables of text statements (``tab07_summary``), paired by
    label: the numbers are in the text, the verdicts after its arrows."""
    rerun_verdicts = dict(statement_verdicts(s) for s in rerun["statement"].astype(str))
    records = []
    for statement in reference["statement"].astype(str):
        label, verdicts = statement_verdicts(statement)
        new = rerun_verdicts.get(label)
        if new is None:
            records.append({"row": (label,), "column": "(row)", "missing": True})
        else:
            records.append({"row": (label,), "column": "verdict", "reference": verdicts,
                            "rerun": new, "inside": new == verdicts})
    return records


def compare_tables(reference: pd.DataFrame, rerun: pd.DataFrame) -> list[dict]:
    """One record per (row, interval column) and per verdict.

    Each record has ``row`` (the row's key), ``column``, ``reference``, ``lo``, ``hi``,
    ``rerun`` and ``inside`` (rerun within [lo, hi]; None where either value is missing);
    verdict records have ``column="verdict"``, the two verdicts and ``inside`` when they are
    the same. Summary statements go to :func:`compare_statements`.
    """
    if "statement" in reference.columns:
        return compare_statements(reference, rerun)
    keys = row_keys(reference)
    records: list[dict] = []
    if not interval_columns(reference) and "verdict" not in reference.columns:
        return records  # nothing to read against

    def key_of(row: pd.Series) -> tuple:
        return tuple(str(row[k]) for k in keys)

    rerun_rows = {key_of(row): row for _, row in rerun.iterrows()}
    for _, ref in reference.iterrows():
        key = key_of(ref)
        new = rerun_rows.get(key)
        if new is None:
            records.append({"row": key, "column": "(row)", "missing": True})
            continue
        for column, lo_column, hi_column in interval_columns(reference):
            value, lo, hi = float(ref[column]), float(ref[lo_column]), float(ref[hi_column])
            other = float(new[column]) if column in new.index else math.nan
            inside = None if math.isnan(other) or math.isnan(lo) else lo <= other <= hi
            records.append({"row": key, "column": column, "reference": value, "lo": lo,
                            "hi": hi, "rerun": other, "inside": inside})
        if "verdict" in reference.columns and "verdict" in new.index:
            records.append({"row": key, "column": "verdict", "reference": ref["verdict"],
                            "rerun": new["verdict"],
                            "inside": str(ref["verdict"]) == str(new["verdict"])})
    return records


def seed_spread(reference: pd.DataFrame, rerun: pd.DataFrame) -> list[dict]:
    """Per metric of a table with a ``seed`` column: the committed seeds' [min, max] and each
    rerun seed's value, ``inside`` that range or not. Summary rows (mean, min, max) are left
    out on both sides."""
    reference, rerun = (t[pd.to_numeric(t["seed"], errors="coerce").notna()]
                        for t in (reference, rerun))
    metrics = [c for c in reference.columns if c not in IGNORED_COLUMNS and c != "seed"
               and pd.api.types.is_numeric_dtype(reference[c])]
    records = []
    for column in metrics:
        lo, hi = float(reference[column].min()), float(reference[column].max())
        for seed, value in zip(rerun["seed"].astype(str), rerun[column].astype(float),
                               strict=True):
            records.append({"row": (f"seed {seed}",), "column": column, "reference": None,
                            "lo": lo, "hi": hi, "rerun": value, "inside": lo <= value <= hi})
    return records


def describe(record: dict) -> str:
    """One line for a record of :func:`compare_tables` or :func:`seed_spread`."""
    name = " · ".join(record["row"])
    if record["column"] == "verdict":
        return f"{name}: verdict {record['reference']!r} -> {record['rerun']!r}"
    mark = "inside" if record["inside"] else "OUTSIDE"
    committed = ("committed seeds" if record["reference"] is None
                 else f"{record['reference']:.5f}")
    return (f"{name} {record['column']}: {committed} [{record['lo']:.5f}, {record['hi']:.5f}] "
            f"-> {record['rerun']:.5f} {mark}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reference", type=Path, help="committed figures/ folder")
    parser.add_argument("rerun", type=Path, help="the rerun's figures/ folder")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when a value leaves its interval or a verdict changes")
    parser.add_argument("--all", action="store_true", help="print values inside too")
    args = parser.parse_args(argv)

    inside = outside = missing = 0
    for path in sorted(args.reference.glob("tab*.csv")):
        other = args.rerun / path.name
        if not other.exists():
            print(f"{path.name}: not in the rerun")
            missing += 1
            continue
        reference, rerun = pd.read_csv(path), pd.read_csv(other)
        # A table of seeds is read against the committed seeds' range, the others against
        # their intervals and verdicts.
        records = (seed_spread(reference, rerun) if "seed" in reference.columns
                   else compare_tables(reference, rerun))
        for record in records:
            if record.get("missing"):
                print(f"{path.name} {record['row']}: row not in the rerun")
                missing += 1
            elif record["inside"] is not None:
                inside += bool(record["inside"])
                outside += not record["inside"]
                if args.all or not record["inside"]:
                    print(f"{path.name} {describe(record)}")
    print(f"\n{inside} inside the committed interval or unchanged, {outside} outside or changed, "
          f"{missing} tables or rows missing")
    return 1 if args.strict and (outside or missing) else 0


if __name__ == "__main__":
    raise SystemExit(main())
