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


def test_table_adds_what_an_earlier_run_computed(tmp_path):
    # A resumed run: 03 found 1,500 s of its training cached; the cell shows the cost from an
    # empty cache, then this run's wall time and the cached seconds; the total sums both.
    summary = write_summary(tmp_path, "laptop", [
        {"notebook": "00_quickstart", "seconds": 20.0, "peak_rss_mib": 900.0},
        {"notebook": "03_train", "seconds": 60.0, "peak_rss_mib": 1500.0, "cached_s": 1500.0}])
    table = timings_table(load_summaries([summary]), notebooks=["00_quickstart", "03_train"])
    lines = table.splitlines()
    assert "| `00_quickstart` | 20 s · 900 MiB |" in lines
    assert "| `03_train` | 26 min 00 s (1 min 00 s + 25 min 00 s cached) · 1500 MiB |" in lines
    assert "| **all, in order** | 26 min 20 s (1 min 20 s + 25 min 00 s cached) · 1500 MiB |" in lines


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
    from artifactnet_core.experiments.report import COSTS_END, COSTS_START, README

    text = README.read_text()
    assert text.index(START) < text.index(END) < text.index(COSTS_START) < text.index(COSTS_END)


def test_costs_table_sums_the_ledger_by_notebook_and_stage(tmp_path, monkeypatch):
    from artifactnet_core.experiments.ledger import NOTEBOOK_ENV, charge, read_ledger
    from artifactnet_core.experiments.report import COSTS_END, COSTS_START, update_costs

    # Two UNets and a classifier charged to 03, a feature set found cached (an older entry's
    # recorded cost) charged to 04, the benchmark to 00; a second charge of a UNet is ignored.
    for notebook, artifact, stage, seconds, computed in [
            ("00_quickstart", "bench", "benchmark", 300.0, True),
            ("03_train", "unet-a", "unet", 600.0, True),
            ("03_train", "unet-b", "unet", 120.0, True),
            ("03_train", "det-a:classifier", "classifier", 30.0, True),
            ("04_zero_shot", "maps-a", "scoring features", 45.0, False),
            ("04_zero_shot", "unet-a", "unet", 999.0, True)]:
        monkeypatch.setenv(NOTEBOOK_ENV, notebook)
        charge(tmp_path, artifact, stage, seconds, computed=computed)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{COSTS_START}\nold\n{COSTS_END}\n")
    assert update_costs(readme, {"laptop": read_ledger(tmp_path)})
    lines = readme.read_text().splitlines()
    assert lines[2] == "`laptop`:"
    header = lines[4]
    assert header == ("| notebook | benchmark | unet | classifier | scoring features | total |")
    assert "| `00_quickstart` | 5 min 00 s (1) | – | – | – | 5 min 00 s (1) |" in lines
    assert "| `03_train` | – | 12 min 00 s (2) | 30 s (1) | – | 12 min 30 s (3) |" in lines
    assert "| `04_zero_shot` | – | – | – | 45 s (1) | 45 s (1) |" in lines
    assert "| **all** | 5 min 00 s (1) | 12 min 00 s (2) | 30 s (1) | 45 s (1) | 18 min 15 s (5) |" \
        in lines
    assert "old" not in lines and not update_costs(readme, {"laptop": read_ledger(tmp_path)})


def write_result_tables(tmp_path):
    import pandas as pd

    stats = {"n_real_tracks": 150, "n_ai_items": 300, "n_ai_tracks": 150, "n_tracks": 150,
             "auc": 0.97, "auc_lo": 0.95, "auc_hi": 0.99, "tpr_fpr1": 0.8, "tpr_fpr1_lo": 0.75,
             "tpr_fpr1_hi": 0.85, "fpr_fpr1": 0.0, "fpr_fpr1_lo": 0.0, "fpr_fpr1_hi": 0.0244,
             "tpr_fpr5": 0.9, "tpr_fpr5_lo": 0.85, "tpr_fpr5_hi": 0.94, "fpr_fpr5": 0.04,
             "fpr_fpr5_lo": 0.015, "fpr_fpr5_hi": 0.085, "f1": 0.88}
    pd.DataFrame([{"model": "ArtifactNet", **stats, "profile": "laptop"},
                  {"model": "shortcut probe (physics-free)", **stats, "auc": 0.61,
                   "auc_lo": 0.55, "auc_hi": 0.67, "profile": "laptop"}]
                 ).to_csv(tmp_path / "tab04_zero_shot.csv", index=False)
    pd.DataFrame([{"family": "unseen", "source": "unseen", "strict": True, **stats,
                   "n_real_tracks": 12, "auc_lo": None, "auc_hi": None, "probe_auc": 0.5}]
                 ).to_csv(tmp_path / "tab04_two_by_two.csv", index=False)
    pd.DataFrame([{"claim": "ROC-AUC (zero-shot, per track)", "target": ">= 0.98",
                   "measured": 0.97, "lo": 0.95, "hi": 0.99,
                   "verdict": "not resolvable at n = 150", "profile": "laptop"}]
                 ).to_csv(tmp_path / "tab04_targets.csv", index=False)
    pd.DataFrame([{"claim": "mean Δ (codec-aware)", "paper": 0.16, "target": "<= 0.15",
                   "measured": 0.012, "lo": 0.01, "hi": 0.014, "verdict": "met",
                   "profile": "laptop"}]).to_csv(tmp_path / "tab05_targets.csv", index=False)
    pd.DataFrame([{"seed": "0", "auc": 0.97, "tpr_fpr1": 0.8, "fpr_fpr1": 0.0},
                  {"seed": "1", "auc": 0.95, "tpr_fpr1": 0.7, "fpr_fpr1": 0.01},
                  {"seed": "mean", "auc": 0.96, "tpr_fpr1": 0.75, "fpr_fpr1": 0.005}]
                 ).to_csv(tmp_path / "tab04_seed_variance.csv", index=False)
    pd.DataFrame([{"model": "ArtifactNet (ours)", "parameters": 1000, **stats,
                   "mean_drift": 0.12, "cpu_s_per_4s_clip": 0.5,
                   "source": "measured (laptop profile)"},
                  {"model": "Fakeprint", "parameters": 40, **stats, "auc": 0.9,
                   "delta_auc_vs_ours": -0.07, "delta_auc_lo": -0.1, "delta_auc_hi": -0.04,
                   "source": "measured (laptop profile)"},
                  {"model": "ArtifactNet (paper)", "parameters": 4_000_000, "fpr_quoted": 0.0149,
                   "f1_quoted": 0.9829, "parameters_note": "quoted", "source": "quoted"}]
                 ).to_csv(tmp_path / "tab06_baselines.csv", index=False)


def test_results_block_reads_the_notebook_tables(tmp_path):
    import pandas as pd

    from artifactnet_core.experiments.report import (
        RESULTS_END,
        RESULTS_START,
        results_block,
        update_results,
    )

    assert "No results yet" in results_block(tmp_path)
    write_result_tables(tmp_path)
    block = results_block(tmp_path, records=tmp_path / "no_records")
    assert "last recorded" not in block
    assert "Profile **`laptop`**" in block and "150 real test tracks against 300" in block
    assert ("| ArtifactNet | 0.970 [0.950, 0.990] | 0.800 [0.750, 0.850] | "
            "0.00 % [0.00, 2.44] |") in block
    assert "| shortcut probe (physics-free) | 0.610 [0.550, 0.670] |" in block
    assert "| unseen (strict) | unseen | 12 | 300 | 0.970 | 0.500 |" in block
    assert ("| ROC-AUC (zero-shot, per track) | >= 0.98 | 0.970 [0.950, 0.990] | "
            "not resolvable at n = 150 |") in block
    assert "| mean Δ (codec-aware) | <= 0.15 | 0.012 [0.010, 0.014] | met |" in block
    assert "over 2 training seeds (same benchmark): ROC-AUC 0.950–0.970" in block
    assert "| Fakeprint | 40 | 0.900 [0.950, 0.990] | -0.070 [-0.100, -0.040] |" in block
    assert ("ArtifactNet (paper) (4,000,000 parameters, quoted): F1 0.9829, FPR 1.49 %"
            in block)
    assert "| ArtifactNet (paper) |" not in block
    assert "referee's controls" not in block
    pd.DataFrame([{"statement": "1. Protocol: zero-shot AUC 0.999 -> not resolved",
                   "profile": "laptop"}]).to_csv(tmp_path / "tab07_summary.csv", index=False)
    assert "\n- (1) Protocol: zero-shot AUC 0.999 -> not resolved" in results_block(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"top\n{RESULTS_START}\nstale block\n{RESULTS_END}\n")
    assert update_results(readme, tmp_path) and "stale block" not in readme.read_text()
    # The run that wrote the tables, named from its profile's record.
    from artifactnet_core.experiments.report import save_record

    save_record("laptop", {}, folder=tmp_path / "records",
                run={"profile": "laptop", "jobs": 2, "wall_s": 5000.0, "empty_cache": True,
                     "commit": "abc1234", "cpu": "Xeon", "cores": 2, "notebooks": ["04"]})
    block = results_block(tmp_path, records=tmp_path / "records")
    assert ("The last recorded `laptop` run: 2 CPU cores (Xeon), `runner run --profile laptop "
            "--seed 0 --jobs 2` from an empty cache, 1 notebook, 2 at a time: the whole run "
            "took 1 h 23 min (commit abc1234).") in block


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


def test_records_keep_each_profiles_column(tmp_path, monkeypatch):
    # A laptop run recorded earlier, then a smoke run: the report renders both columns, and the
    # laptop's run note (machine, command, wall time) comes from its run record.
    import pandas as pd

    from artifactnet_core.experiments import report

    monkeypatch.setattr(report, "EXECUTED_DIR", tmp_path / "executed")  # no fresh runs
    records = tmp_path / "timings"
    laptop_run = {"profile": "laptop", "seed": 0, "jobs": 2, "wall_s": 5400.0,
                  "started_utc": "2026-12-06 04:36", "notebooks": ["00_quickstart"],
                  "empty_cache": True, "commit": "abc1234", "cpu": "Xeon", "cores": 2}
    ledger = pd.DataFrame([{"artifact": "bench", "stage": "benchmark", "seconds": 450.0,
                            "notebook": "00_quickstart", "computed": True, "ahead": False}])
    report.save_record("laptop", {"00_quickstart": {"seconds": 20.0, "peak_rss_mib": 900.0,
                                                    "cached_s": 450.0}},
                       run=laptop_run, ledger=ledger, folder=records)
    report.save_record("smoke", {"00_quickstart": {"seconds": 15.0, "peak_rss_mib": 800.0}},
                       folder=records)
    # A partial rerun replaces only its own rows and keeps the recorded run and ledger.
    report.save_record("laptop", {"08_explorer": {"seconds": 24.0, "peak_rss_mib": 1000.0}},
                       folder=records)
    loaded = report.load_records(records)
    assert list(loaded) == ["smoke", "laptop"]
    assert set(loaded["laptop"]["notebooks"]) == {"00_quickstart", "08_explorer"}
    assert loaded["laptop"]["run"] == laptop_run and loaded["laptop"]["ledger"][0]["seconds"] == 450
    assert loaded["smoke"]["run"] is None
    note = report.run_note(laptop_run)
    assert note.startswith("2 CPU cores (Xeon), `runner run --profile laptop --seed 0 --jobs 2` "
                           "from an empty cache, 1 notebook, 2 at a time")
    assert note.endswith("the whole run took 1 h 30 min (2026-12-06 04:36 UTC, commit abc1234)")
    # A newer record also names its training precision and allocator; an older one (above)
    # reads as it always did.
    assert report.run_note({**laptop_run, "training_precision": "bf16", "allocator": "tcmalloc"}
                           ).startswith("2 CPU cores (Xeon, bf16 training, tcmalloc), `runner run")
    assert report.run_note({**laptop_run, "gpu": "NVIDIA H100", "training_precision": "bf16"}
                           ).startswith("2 CPU cores (Xeon, NVIDIA H100 GPU, bf16 training), ")

    readme = tmp_path / "README.md"
    readme.write_text(f"{START}\nold\n{END}\n{report.COSTS_START}\nold\n{report.COSTS_END}\n")
    assert report.main(["--readme", str(readme), "--records", str(records)]) == 0
    text = readme.read_text()
    assert "| notebook | smoke: time · peak memory | laptop: time · peak memory |" in text
    assert "| `00_quickstart` | 15 s · 800 MiB | 7 min 50 s (20 s + 7 min 30 s cached) · 900 MiB |" \
        in text
    assert f"- `laptop`: {note}" in text and "`smoke`" in text
    assert "| `00_quickstart` | 7 min 30 s (1) | 7 min 30 s (1) |" in text  # laptop's costs


def test_a_broken_record_names_its_file(tmp_path):
    from artifactnet_core.experiments.report import load_records

    (tmp_path / "laptop.json").write_text("{not json")
    with pytest.raises(ValueError, match="laptop.json"):
        load_records(tmp_path)


def test_run_record_names_the_machine_and_the_commit(tmp_path):
    import os

    from artifactnet_core.experiments.runner import write_run_record

    record = write_run_record(tmp_path, "smoke", seed=0, jobs=2, wall_s=12.34,
                              started_utc="2026-12-06 04:36", notebooks=["00_quickstart"],
                              empty_cache=True)
    assert json.loads((tmp_path / "run_smoke.json").read_text()) == record
    assert record["wall_s"] == 12.3 and record["cores"] == os.cpu_count() and record["cpu"]
    assert record["commit"]  # the tests run in a git checkout
    # What sets a run's pace beside the CPU model: the precision it trains in (bfloat16 only
    # where fast) and the allocator of its processes; both as this process sees them.
    from artifactnet_core.allocator import malloc_in_use
    from artifactnet_core.runtime import resolve_device, training_precision

    assert record["training_precision"] == training_precision(resolve_device(None))
    assert record["training_precision"] in ("fp32", "bf16")
    assert record["allocator"] == malloc_in_use()
    assert ("gpu" in record) == (resolve_device(None).type == "cuda")


def test_compare_figures_flags_what_leaves_the_committed_interval(tmp_path, capsys):
    # benchmarks/compare_figures.py reads a rerun against the committed run: values against
    # the committed intervals, verdicts, and each seed against the committed seeds' range.
    import importlib.util
    from pathlib import Path

    import pandas as pd

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_figures.py"
    spec = importlib.util.spec_from_file_location("compare_figures", script)
    compare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare)

    committed, rerun = tmp_path / "committed", tmp_path / "rerun"
    committed.mkdir()
    rerun.mkdir()
    header = {"model": ["ours", "probe"], "auc_lo": [0.97, 0.60], "auc_hi": [1.0, 0.70],
              "profile": ["laptop", "laptop"]}
    pd.DataFrame({**header, "auc": [0.99, 0.65]}).to_csv(committed / "tab_a.csv", index=False)
    pd.DataFrame({**header, "auc": [0.98, 0.75]}).to_csv(rerun / "tab_a.csv", index=False)
    targets = {"claim": ["AUC"], "measured": [0.99], "lo": [0.97], "hi": [1.0]}
    pd.DataFrame({**targets, "verdict": ["met"]}).to_csv(committed / "tab_t.csv", index=False)
    pd.DataFrame({**targets, "measured": [0.96], "verdict": ["missed"]}).to_csv(
        rerun / "tab_t.csv", index=False)
    pd.DataFrame({"seed": ["0", "1", "mean"], "auc": [0.990, 0.995, 0.9925]}).to_csv(
        committed / "tab_seeds.csv", index=False)
    pd.DataFrame({"seed": ["0", "1", "mean"], "auc": [0.992, 0.980, 0.986]}).to_csv(
        rerun / "tab_seeds.csv", index=False)

    statements = ["1. Protocol: AUC 0.99 [0.97, 1.00] -> not resolved",
                  "3b. residual1: AUC 0.98; minus hpss7: -0.01 [-0.02, -0.001] -> lower"]
    pd.DataFrame({"statement": statements}).to_csv(committed / "tab_s.csv", index=False)
    pd.DataFrame({"statement": [statements[0].replace("0.99", "0.98"),
                                statements[1].replace("-> lower", "-> no resolvable difference")]}
                 ).to_csv(rerun / "tab_s.csv", index=False)
    records = compare.compare_tables(pd.read_csv(committed / "tab_a.csv"),
                                     pd.read_csv(rerun / "tab_a.csv"))
    inside = {record["row"]: record["inside"] for record in records}
    assert inside == {("ours",): True, ("probe",): False}

    assert compare.main([str(committed), str(rerun)]) == 0
    out = capsys.readouterr().out
    assert "probe auc: 0.65000 [0.60000, 0.70000] -> 0.75000 OUTSIDE" in out
    assert "verdict 'met' -> 'missed'" in out
    assert "AUC measured: 0.99000 [0.97000, 1.00000] -> 0.96000 OUTSIDE" in out
    assert "3b. residual1: verdict ['lower'] -> ['no resolvable difference']" in out
    assert "1. Protocol" not in out  # numbers moved, the verdict did not
    assert "seed 0 auc" not in out  # inside: printed only with --all
    assert "seed 1 auc: committed seeds [0.99000, 0.99500] -> 0.98000 OUTSIDE" in out
    assert "mean" not in out  # summary rows are not seeds
    assert compare.main([str(committed), str(rerun), "--strict"]) == 1
    capsys.readouterr()
    assert compare.main([str(committed), str(rerun), "--all"]) == 0
    assert "seed 0 auc: committed seeds [0.99000, 0.99500] -> 0.99200 inside" in capsys.readouterr().out
    pd.DataFrame({**header, "auc": [0.99, 0.65]}).to_csv(rerun / "tab_a.csv", index=False)
    pd.DataFrame({**targets, "verdict": ["met"]}).to_csv(rerun / "tab_t.csv", index=False)
    pd.DataFrame({"statement": statements}).to_csv(rerun / "tab_s.csv", index=False)
    pd.DataFrame({"seed": ["0", "1"], "auc": [0.990, 0.995]}).to_csv(rerun / "tab_seeds.csv",
                                                                     index=False)
    assert compare.main([str(committed), str(rerun), "--strict"]) == 0
