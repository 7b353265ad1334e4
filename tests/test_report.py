"""The timings table of notebooks/README.md, rendered from the runner's summary files."""

from __future__ import annotations

import json

import pytest

from artifactnet_core.report import (
    END,
    START,
    format_seconds,
    load_summaries,
    replace_block,
    timings_table,
    update_readme,
)


def write_summary(folder, profile, rows):
    path = folder / f"summary_{profile}.json"
    path.write_text(json.dumps(rows))
    return path


def test_format_seconds():
    assert format_seconds(48.2) == "48 s"
    assert format_seconds(292) == "4 min 52 s"
    assert format_seconds(4000) == "1 h 06 min"
    assert format_seconds(float("nan")) == "–"


def test_table_merges_partial_runs_and_totals(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    full = write_summary(tmp_path / "a", "smoke", [
        {"notebook": "00_quickstart", "seconds": 292.0, "peak_rss_mib": 1549.0},
        {"notebook": "01_residual_physics", "seconds": 48.0, "peak_rss_mib": 820.0}])
    rerun = write_summary(tmp_path / "b", "smoke", [
        {"notebook": "01_residual_physics", "seconds": 50.0, "peak_rss_mib": 830.0}])
    paper = write_summary(tmp_path / "a", "paper", [
        {"notebook": "00_quickstart", "seconds": 30.0, "peak_rss_mib": 3000.0}])
    summaries = load_summaries([full, rerun, paper])
    assert summaries["smoke"]["01_residual_physics"]["seconds"] == 50.0
    table = timings_table(summaries, notebooks=["00_quickstart", "01_residual_physics"],
                          machines={"smoke": "2 CPU cores"})
    lines = table.splitlines()
    assert lines[0].index("smoke") < lines[0].index("paper")
    assert "| `00_quickstart` | 4 min 52 s · 1549 MiB | 30 s · 3000 MiB |" in lines
    assert "| `01_residual_physics` | 50 s · 830 MiB | – |" in lines
    # smoke: both measured -> total; paper: one missing -> no total.
    assert "| **all, in order** | 5 min 42 s · 1549 MiB | – |" in lines
    assert "- `smoke`: 2 CPU cores" in lines


def test_update_readme_rewrites_only_the_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{START}\nold table\n{END}\noutro\n")
    summary = write_summary(tmp_path, "smoke", [
        {"notebook": "08_explorer", "seconds": 12.0, "peak_rss_mib": 700.0}])
    assert update_readme(readme, load_summaries([summary]))
    text = readme.read_text()
    assert text.startswith(f"intro\n{START}\n| notebook |") and text.endswith(f"{END}\noutro\n")
    assert "old table" not in text and "| `08_explorer` | 12 s · 700 MiB |" in text
    assert not update_readme(readme, load_summaries([summary]))  # idempotent


def test_missing_markers_and_bad_names(tmp_path):
    with pytest.raises(ValueError):
        replace_block("no markers here", "x")
    bad = tmp_path / "timings.json"
    bad.write_text("[]")
    with pytest.raises(ValueError):
        load_summaries([bad])


def test_readme_has_the_markers():
    from artifactnet_core.report import README

    text = README.read_text()
    assert text.index(START) < text.index(END)
