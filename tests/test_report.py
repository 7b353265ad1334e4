"""The timings table of notebooks/README.md, rendered from the runner's summary files."""

from __future__ import annotations

import json

import pytest

from artifactnet_core.experiments.report import (
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
    from artifactnet_core.experiments.report import README

    text = README.read_text()
    assert text.index(START) < text.index(END)


def write_result_tables(tmp_path):
    import pandas as pd

    pd.DataFrame([{"subset": "zero-shot", "n": 30, "n_ai": 20, "n_real": 10, "f1": 0.9,
                   "f1_lo": 0.8, "f1_hi": 0.95, "fpr": 0.1, "fpr_lo": 0.0, "fpr_hi": 0.3}]
                 ).to_csv(tmp_path / "tab04_zero_shot.csv", index=False)
    pd.DataFrame([{"metric": "F1", "paper": 0.9829, "target": ">= 0.98", "measured": 0.9,
                   "met": False, "profile": "laptop"},
                  {"metric": "FPR", "paper": 0.0149, "target": "<= 0.015", "measured": 0.1,
                   "met": False, "profile": "laptop"}]).to_csv(tmp_path / "tab04_targets.csv",
                                                               index=False)
    pd.DataFrame([{"metric": "mean Δ (codec-aware)", "paper": 0.16, "target": "<= 0.15",
                   "measured": 0.12, "met": True, "profile": "laptop"}]
                 ).to_csv(tmp_path / "tab05_targets.csv", index=False)
    pd.DataFrame([{"model": "ArtifactNet (ours)", "parameters": 1000, "f1": 0.9, "fpr": 0.1,
                   "auc": 0.97, "mean_drift": 0.12, "cpu_s_per_4s_clip": 0.5,
                   "source": "measured (laptop profile)"}]
                 ).to_csv(tmp_path / "tab06_baselines.csv", index=False)


def test_results_block_reads_the_notebook_tables(tmp_path):
    from artifactnet_core.experiments.report import (
        RESULTS_END,
        RESULTS_START,
        results_block,
        update_results,
    )

    assert "No results yet" in results_block(tmp_path)
    write_result_tables(tmp_path)
    block = results_block(tmp_path)
    assert "Profile **`laptop`**" in block and "20 AI and 10 real" in block
    assert "| F1 | 0.9829 | >= 0.98 | 0.900 [0.800, 0.950] | **no** |" in block
    assert "| FPR | 0.0149 | <= 0.015 | 10.00 % [0.00, 30.00] | **no** |" in block
    assert "| mean Δ (codec-aware) | 0.16 | <= 0.15 | 0.120 | yes |" in block
    assert "| ArtifactNet (ours) | 1,000 | 0.900 |" in block
    readme = tmp_path / "README.md"
    readme.write_text(f"top\n{RESULTS_START}\nold\n{RESULTS_END}\n")
    assert update_results(readme, tmp_path) and "old" not in readme.read_text()



def test_results_block_names_notebooks_that_wrote_nothing(tmp_path):
    from artifactnet_core.experiments.report import results_block
    from artifactnet_core.experiments.runner import notebook_sources

    write_result_tables(tmp_path)
    for src in notebook_sources():
        if not src.stem.startswith(("04", "05", "06")):
            (tmp_path / f"fig{src.stem[:2]}_x.png").write_bytes(b"png")
    assert "Not run for this profile" not in results_block(tmp_path)
    (tmp_path / "fig07_x.png").unlink()
    assert "nothing of theirs is in `figures/`: `07_ablations_controls`." in results_block(tmp_path)
