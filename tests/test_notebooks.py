"""The notebooks: paired sources, and a headless papermill run of all of them (smoke profile).

The run itself is the ``smoke_run`` fixture of ``conftest.py``: it starts in the background when
collection ends, into temporary folders, and these tests run last.
"""

from __future__ import annotations

import json

import pytest

from artifactnet_core.experiments.runner import notebook_sources, out_of_sync

#: Files each notebook must write (figures/ and data_cards/ of the run).
EXPECTED = {
    "00_quickstart": ["fig00_residual.png"],
    "01_residual_physics": ["fig01_zero_insertion.png"],
    "02_artifactbench": ["tab02_counts_by_source.csv", "tab02_generators.md",
                         "fig02_examples.png", "cards/artifactbench_mini.md"],
    "03_train": ["tab03_objective_selection.csv", "fig03_training_curves.png", "tab03_model.md"],
    "04_zero_shot": ["tab04_zero_shot.csv", "tab04_lossless.csv", "tab04_two_by_two.csv",
                     "tab04_per_family.md", "tab04_per_source.csv", "tab04_per_clip.csv",
                     "tab04_seed_variance.csv", "tab04_targets.md", "tab04_calibration.csv",
                     "fig04_per_family.png", "fig04_roc.png", "fig04_reliability.png",
                     "cards/model_card.md"],
    "05_codec_drift": ["tab05_codec_drift.csv", "fig05_codec_drift.png", "tab05_targets.md"],
    "06_baselines": ["tab06_baselines.csv", "fig06_baselines.png"],
    "07_ablations_controls": ["tab07_protocols.csv", "tab07_codec_control.csv", "tab07_hpss.csv",
                              "tab07_mask_bound.csv", "tab07_objective.csv",
                              "tab07_leave_one_family_out.csv", "tab07_summary.md",
                              "fig07_codec_control.png", "fig07_leave_one_family_out.png"],
    "08_explorer": ["fig08_explorer.png"],
}
BINDER_MEMORY_MIB = 2048


def test_every_notebook_is_paired_and_clean():
    assert len(notebook_sources()) >= 6
    assert out_of_sync() == []


@pytest.mark.slow
def test_all_notebooks_ran(smoke_run):
    root, summary = smoke_run
    assert [r["notebook"] for r in summary] == [p.stem for p in notebook_sources()]
    for row in summary:
        executed = json.loads((root / "executed" / f"{row['notebook']}.ipynb").read_text())
        errors = [o for c in executed["cells"] for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors, row["notebook"]


@pytest.mark.slow
@pytest.mark.parametrize("notebook", sorted(EXPECTED))
def test_notebook_wrote_its_results(smoke_run, notebook):
    root, _ = smoke_run
    for name in EXPECTED[notebook]:
        path = root / (name if name.startswith("cards/") else f"figures/{name}")
        assert path.exists() and path.stat().st_size > 0, f"{notebook} did not write {name}"


@pytest.mark.slow
def test_every_image_plot_has_its_colour_scale(smoke_run):
    from artifactnet_core.experiments.outputs import colour_scale_problems

    root, _ = smoke_run
    assert colour_scale_problems(root / "figures") == []


@pytest.mark.slow
def test_solution_numbers_point_at_tables_the_run_writes(smoke_run):
    from artifactnet_core.experiments.solutions import unresolved

    root, _ = smoke_run
    assert unresolved(root / "figures") == []


@pytest.mark.slow
def test_model_card_has_hugging_face_front_matter(smoke_run):
    """Notebook 04 writes the model card with Hugging Face metadata, its metrics as ``model-index``."""
    from test_api import front_matter

    root, _ = smoke_run
    meta = front_matter("model_card.md", folder=root / "cards")
    for key in ("license", "tags", "pipeline_tag", "model-index"):
        assert meta.get(key), key
    assert meta["pipeline_tag"] == "audio-classification"
    for model in meta["model-index"]:
        assert model["name"] and model["results"]
        for result in model["results"]:
            assert result["task"]["type"] == "audio-classification"
            assert result["dataset"]["name"] and result["dataset"]["type"]
            for metric in result["metrics"]:
                assert metric["type"] and isinstance(metric["value"], int | float)


@pytest.mark.slow
def test_peak_memory_fits_binder(smoke_run):
    _, summary = smoke_run
    for row in summary:
        assert row["peak_rss_mib"] < BINDER_MEMORY_MIB, row


def test_extra_parameters_go_only_where_declared():
    import jupytext

    from artifactnet_core.experiments.runner import declared_parameters

    sources = {p.stem: jupytext.read(p) for p in notebook_sources()}
    assert {"profile", "seed"} <= declared_parameters(sources["00_quickstart"])
    assert "export_weights" in declared_parameters(sources["03_train"])
    assert "export_weights" not in declared_parameters(sources["04_zero_shot"])


def test_executed_summary_keeps_finished_notebooks_of_the_profile(tmp_path):
    from artifactnet_core.experiments.runner import executed_summary

    stems = [p.stem for p in notebook_sources()][:4]
    (tmp_path / "records").mkdir()
    runs = [("laptop", 12.3, None), ("laptop", 40.0, "RuntimeError"), ("smoke", 5.0, None),
            ("laptop", None, None)]  # finished, failed, other profile, unfinished
    for stem, (profile, duration, exception) in zip(stems, runs, strict=True):
        meta = {"papermill": {"parameters": {"profile": profile, "seed": 0},
                              "duration": duration, "exception": exception}}
        (tmp_path / f"{stem}.ipynb").write_text(json.dumps({"metadata": meta, "cells": []}))
        (tmp_path / "records" / f"{stem}.json").write_text(
            json.dumps({"notebook": stem, "peak_rss_mib": 321.0, "cached_s": 7.5}))
    rows = executed_summary(tmp_path, profile="laptop")
    assert rows == [{"notebook": stems[0], "profile": "laptop", "seconds": 12.3,
                     "peak_rss_mib": 321.0, "cached_s": 7.5}]
    assert [r["notebook"] for r in executed_summary(tmp_path)] == [stems[0], stems[2]]


def test_resume_skips_only_a_finished_run_of_the_same_sources(tmp_path):
    from artifactnet_core.experiments.runner import fingerprint, up_to_date

    src = tmp_path / "nb.py"
    src.write_text("# %%\nx = 1\n")
    digest = fingerprint(src)
    assert fingerprint(src) == digest  # the same sources, the same digest
    params = {"profile": "laptop", "seed": 0}

    def executed(**papermill):
        target = tmp_path / "nb.ipynb"
        meta = {"papermill": {"parameters": params, "duration": 9.0, "exception": None,
                              **papermill}, "artifactnet": {"fingerprint": digest}}
        target.write_text(json.dumps({"metadata": meta, "cells": []}))
        return target

    assert up_to_date(executed(), params, digest)
    assert not up_to_date(executed(duration=None), params, digest)  # interrupted
    assert not up_to_date(executed(exception=True), params, digest)  # failed
    assert not up_to_date(executed(), {**params, "seed": 1}, digest)
    assert not up_to_date(tmp_path / "missing.ipynb", params, digest)
    src.write_text("# %%\nx = 2\n")  # the notebook was edited
    assert not up_to_date(executed(), params, fingerprint(src))


@pytest.mark.slow
def test_a_resumed_smoke_run_would_run_nothing_again(smoke_run):
    # Every notebook the run executed carries the fingerprint its sources have now: what
    # run(resume=True) compares before it skips one.
    from artifactnet_core.experiments.runner import fingerprint, up_to_date

    root, summary = smoke_run
    for src in notebook_sources():
        assert up_to_date(root / "executed" / f"{src.stem}.ipynb",
                          {"profile": "smoke", "seed": 0}, fingerprint(src)), src.stem
