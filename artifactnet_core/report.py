"""Measured notebook timings into ``notebooks/README.md``.

The notebook runner (:func:`artifactnet_core.notebooks.run`) writes
``notebooks/executed/summary_<profile>.json``: per notebook its wall time in seconds and the
kernel's peak memory in MiB. :func:`timings_table` renders those files as one Markdown table
(a column per profile) and :func:`update_readme` rewrites the block between
``<!-- timings:start -->`` and ``<!-- timings:end -->`` in ``notebooks/README.md`` with it.
Only measured numbers appear; a notebook or profile without a measurement shows ``–``.

    python -m artifactnet_core.report                       # notebooks/executed/summary_*.json
    python -m artifactnet_core.report a/summary_smoke.json b/summary_paper.json \\
        --machine smoke="2 CPU cores" --machine paper="1 × H100"

Used by the Makefile after a notebook run; the table is read in ``notebooks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from .notebooks import EXECUTED_DIR, NOTEBOOK_DIR, notebook_sources

START = "<!-- timings:start -->"
END = "<!-- timings:end -->"
#: Profiles in the order of the table's columns (others follow, sorted).
PROFILE_ORDER = ("smoke", "laptop", "paper")
README = NOTEBOOK_DIR / "README.md"
_SUMMARY = re.compile(r"summary_(?P<profile>[\w-]+)\.json$")


def load_summaries(paths: Iterable[str | Path] | None = None
                   ) -> dict[str, dict[str, dict[str, float]]]:
    """Read runner summaries into ``{profile: {notebook: {"seconds", "peak_rss_mib"}}}``.

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
                                             "peak_rss_mib": float(row["peak_rss_mib"])}
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
    return f"{format_seconds(entry['seconds'])} · {peak_text}"


def timings_table(summaries: Mapping[str, Mapping[str, Mapping[str, float]]], *,
                  notebooks: list[str] | None = None,
                  machines: Mapping[str, str] | None = None) -> str:
    """A Markdown table of wall time and peak memory per notebook (rows) and profile (columns).

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
    profiles = [p for p in PROFILE_ORDER if p in summaries]
    profiles += sorted(set(summaries) - set(PROFILE_ORDER))
    if notebooks is None:
        notebooks = [p.stem for p in notebook_sources()]
        measured = {nb for per in summaries.values() for nb in per}
        notebooks += sorted(measured - set(notebooks))
    if not profiles:
        return "_No measured runs yet: run `python -m artifactnet_core.notebooks run` first._"
    lines = ["| notebook | " + " | ".join(f"{p}: time · peak memory" for p in profiles) + " |",
             "|---|" + "---|" * len(profiles)]
    for nb in notebooks:
        lines.append(f"| `{nb}` | " + " | ".join(_cell(summaries[p].get(nb)) for p in profiles)
                     + " |")
    totals = []
    for p in profiles:
        entries = [summaries[p].get(nb) for nb in notebooks]
        if all(entries):
            totals.append(_cell({"seconds": sum(e["seconds"] for e in entries),
                                 "peak_rss_mib": max(e["peak_rss_mib"] for e in entries)}))
        else:
            totals.append("–")
    lines.append("| **all, in order** | " + " | ".join(totals) + " |")
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


def update_readme(readme: str | Path = README,
                  summaries: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None, *,
                  machines: Mapping[str, str] | None = None) -> bool:
    """Rewrite the timings block of ``readme`` from ``summaries`` (default:
    :func:`load_summaries`); return whether the file changed."""
    readme = Path(readme)
    summaries = load_summaries() if summaries is None else summaries
    text = readme.read_text()
    new = replace_block(text, timings_table(summaries, machines=machines))
    if new != text:
        readme.write_text(new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m artifactnet_core.report",
                                     description="Write measured notebook timings into "
                                                 "notebooks/README.md.")
    parser.add_argument("summaries", nargs="*", type=Path,
                        help="summary_<profile>.json files (default: notebooks/executed/)")
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--machine", action="append", default=[], metavar="PROFILE=TEXT",
                        help="what a profile's run ran on, e.g. smoke='2 CPU cores'")
    parser.add_argument("--print", action="store_true", help="print the table, change nothing")
    args = parser.parse_args(argv)
    machines = dict(m.split("=", 1) for m in args.machine)
    summaries = load_summaries(args.summaries or None)
    if args.print:
        print(timings_table(summaries, machines=machines))
        return 0
    changed = update_readme(args.readme, summaries, machines=machines)
    print(f"{args.readme}: {'updated' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
