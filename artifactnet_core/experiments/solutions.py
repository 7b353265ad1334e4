"""Numbers in the exercise solutions, read from the tables the notebooks wrote.

A solution in ``notebooks/solutions/*.md`` never types a measured number. It writes a marker
that names the table cell, followed by the value and a closing marker::

    the hardest family is <!--n tab04_per_family | min:tpr_fpr5 | family | s-->istft<!--/n-->

Between ``<!--n`` and ``-->`` are four fields separated by ``|``: the table (a CSV in
``figures/`` without its suffix); the row, as comma-separated ``column=value`` (or
``column!=value``) filters optionally followed by ``min:column`` / ``max:column`` (of the rows
left, the one where that column is smallest / largest), or ``row:N`` (the N-th row, from 0, for
tables in a meaningful order), or nothing (a one-row table); the column; a Python format spec
(``.3f``, ``.1%``, ``d``, ``s``). Rendered Markdown shows only the value.
:func:`update_solutions` rewrites every value from the tables (``–`` where the table, row or
column does not exist), :func:`stale_numbers` lists values that disagree with the tables (a test
runs it on the committed files) and :func:`unresolved` lists markers that point at nothing (a
test runs it on the tables of a smoke run).

    python -m artifactnet_core.experiments.solutions            # rewrite from figures/
    python -m artifactnet_core.experiments.solutions --check    # exit 1 on stale numbers
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from artifactnet_core.paths import REPO_DIR, figures_dir

SOLUTIONS_DIR = REPO_DIR / "notebooks" / "solutions"
#: A number marker: the spec between ``<!--n`` and ``-->``, the value, ``<!--/n-->``.
MARKER = re.compile(r"<!--n (?P<spec>[^>]*?)-->(?P<value>(?:(?!<!--).)*?)<!--/n-->", re.S)
#: What a marker shows when its table, row or column does not exist.
MISSING = "–"


class EmptyCell(LookupError):
    """The cell exists but holds no value (e.g. an interval not computed at this sample size)."""


def _select(df: pd.DataFrame, selector: str) -> pd.Series:
    selector = selector.strip()
    if selector.startswith("row:"):
        index = int(selector[4:])
        if not -len(df) <= index < len(df):
            raise LookupError(f"no row {index} in a table of {len(df)} rows")
        return df.iloc[index]
    rows, extreme = df, None
    for condition in filter(None, (c.strip() for c in selector.split(","))):
        if condition.startswith(("min:", "max:")):
            extreme = tuple(part.strip() for part in condition.split(":", 1))
            continue
        negate = "!=" in condition  # "version!=wav": every row but those
        col, _, want = (s.strip() for s in condition.replace("!=", "=", 1).partition("="))
        if col not in rows.columns:
            raise LookupError(f"no column {col!r}")
        match = rows[col].astype(str) == want
        try:  # 256 matches 256.0: numbers compare as numbers
            match |= pd.to_numeric(rows[col], errors="coerce") == float(want)
        except ValueError:
            pass
        rows = rows[~match if negate else match]
    if extreme is not None:  # filters first, then the row where a column is smallest/largest
        how, col = extreme
        if col not in rows.columns:
            raise LookupError(f"no column {col!r}")
        values = pd.to_numeric(rows[col], errors="coerce")
        if values.notna().sum() == 0:
            raise LookupError(f"no numbers in column {col!r} of the rows {selector!r}")
        return rows.loc[values.idxmin() if how == "min" else values.idxmax()]
    if len(rows) != 1:
        raise LookupError(f"{len(rows)} rows match {selector!r} (need exactly one)")
    return rows.iloc[0]


def resolve(spec: str, figures: str | Path | None = None) -> str:
    """The text a marker's ``spec`` stands for, formatted; ``LookupError`` names what is
    missing (table, row or column)."""
    fields = [f.strip() for f in spec.split("|")]
    if len(fields) != 4:
        raise ValueError(f"marker {spec!r}: need 'table | row | column | format'")
    table, selector, column, fmt = fields
    path = (Path(figures) if figures is not None else figures_dir()) / f"{table}.csv"
    if not path.exists():
        raise LookupError(f"no table {path.name}")
    df = pd.read_csv(path)
    if column not in df.columns:
        raise LookupError(f"{path.name} has no column {column!r}")
    value = _select(df, selector)[column]
    if pd.isna(value):
        raise EmptyCell(f"{path.name}: {column!r} is empty in the row {selector!r}")
    if fmt == "s":
        return str(value)
    if fmt == "d":
        return f"{int(round(float(value))):d}"
    text = format(float(value), fmt)
    # A zero (-0.0 included) prints unsigned or "+"; a tiny negative keeps its "-0.000", as the
    # notebooks print it: the sign of an interval's end is what its verdict reads.
    if text.startswith("-") and float(value) == 0:
        text = ("+" if fmt.startswith("+") else "") + text[1:]
    return text


def fill(text: str, figures: str | Path | None = None) -> tuple[str, list[str]]:
    """``text`` with every marker's value rewritten from the tables; and the markers that
    point at no table, row or column, each with the reason. Those, and cells that exist but
    are empty, show :data:`MISSING`."""
    problems = []

    def one(match: re.Match) -> str:
        try:
            value = resolve(match["spec"], figures)
        except EmptyCell:
            value = MISSING
        except LookupError as err:
            problems.append(f"{match['spec'].strip()}: {err}")
            value = MISSING
        return f"<!--n {match['spec']}-->{value}<!--/n-->"

    return MARKER.sub(one, text), problems


def solution_files(folder: str | Path = SOLUTIONS_DIR) -> list[Path]:
    """The solution files, in order."""
    return sorted(Path(folder).glob("*.md"))


def update_solutions(figures: str | Path | None = None,
                     folder: str | Path = SOLUTIONS_DIR) -> list[Path]:
    """Rewrite the numbers of every solution file from the tables in ``figures``; return the
    files that changed."""
    changed = []
    for path in solution_files(folder):
        text = path.read_text()
        new, _ = fill(text, figures)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def stale_numbers(figures: str | Path | None = None,
                  folder: str | Path = SOLUTIONS_DIR) -> list[str]:
    """Markers whose written value is not what the tables in ``figures`` say (``–`` is right
    exactly when the cell does not exist); one line each, empty when all agree."""
    out = []
    for path in solution_files(folder):
        for match in MARKER.finditer(path.read_text()):
            try:
                want = resolve(match["spec"], figures)
            except LookupError:
                want = MISSING
            if match["value"] != want:
                out.append(f"{path.name}: {match['spec'].strip()}: written {match['value']!r}, "
                           f"the tables say {want!r}")
    return out


def unresolved(figures: str | Path | None = None,
               folder: str | Path = SOLUTIONS_DIR) -> list[str]:
    """Markers that point at no table, row or column in ``figures`` (an empty cell is no
    problem: a small run computes no interval); one line each."""
    out = []
    for path in solution_files(folder):
        _, problems = fill(path.read_text(), figures)
        out += [f"{path.name}: {p}" for p in problems]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m artifactnet_core.experiments.solutions",
                                     description="Write the numbers of the exercise solutions "
                                                 "from the notebooks' tables.")
    parser.add_argument("--figures", type=Path, default=None,
                        help="folder of the tables (default: figures/)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when a written number is stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_numbers(args.figures)
        print("\n".join(stale) or "every number agrees with the tables")
        return 1 if stale else 0
    for path in update_solutions(args.figures):
        print("updated", path.relative_to(REPO_DIR))
    for line in unresolved(args.figures):
        print("not in the tables:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
