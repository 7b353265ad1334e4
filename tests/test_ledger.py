"""The run ledger: each cached computation charged once, to the first notebook that needs it."""

from __future__ import annotations

import pytest

from artifactnet_core.experiments import ledger


def test_an_artifact_is_charged_once_to_the_first_notebook(tmp_path, monkeypatch):
    monkeypatch.setenv(ledger.NOTEBOOK_ENV, "03_train")
    assert ledger.charge(tmp_path, "unet-a", "unet", 700.0, computed=True)
    assert ledger.charge(tmp_path, "det-a:classifier", "classifier", 250.0, computed=False)
    assert not ledger.charge(tmp_path, "spectttra-x", "baselines", None, computed=False)
    monkeypatch.setenv(ledger.NOTEBOOK_ENV, "07_ablations_controls")
    assert not ledger.charge(tmp_path, "unet-a", "unet", 1.0, computed=False)  # loaded again
    assert ledger.charge(tmp_path, "unet-b", "unet", 300.0, computed=True)
    rows = ledger.read_ledger(tmp_path)
    assert rows["artifact"].tolist() == ["unet-a", "det-a:classifier", "unet-b"]
    assert rows["notebook"].tolist() == ["03_train", "03_train", "07_ablations_controls"]
    assert rows["seconds"].tolist() == [700.0, 250.0, 300.0]


def test_seconds_not_spent_counts_earlier_runs_and_older_cache_entries(tmp_path, monkeypatch):
    monkeypatch.setenv(ledger.NOTEBOOK_ENV, "03_train")
    ledger.charge(tmp_path, "unet-a", "unet", 700.0, computed=True)   # an earlier, killed run
    seen = set(ledger.read_ledger(tmp_path)["artifact"])
    # This run: one UNet trained now (in its wall time), one detector met in an old cache.
    ledger.charge(tmp_path, "unet-b", "unet", 650.0, computed=True)
    ledger.charge(tmp_path, "det-c:classifier", "classifier", 200.0, computed=False)
    assert ledger.seconds_not_spent(tmp_path, "03_train", seen_before=seen) == \
        pytest.approx(900.0)
    assert ledger.seconds_not_spent(tmp_path, "04_zero_shot", seen_before=seen) == 0.0
    assert ledger.read_ledger(tmp_path / "none").empty
    assert ledger.current_notebook() == "03_train"
    monkeypatch.delenv(ledger.NOTEBOOK_ENV)
    assert ledger.current_notebook() == "interactive"


def test_stages_computed_ahead_count_as_not_spent_by_the_notebook(tmp_path, monkeypatch):
    # runner.AHEAD: another worker trains 07's last detectors while 07 runs; they are 07's
    # cost from an empty cache but not part of 07's own wall time.
    monkeypatch.setenv(ledger.NOTEBOOK_ENV, "07_ablations_controls")
    seen = set(ledger.read_ledger(tmp_path)["artifact"])
    ledger.charge(tmp_path, "unet-a", "unet", 300.0, computed=True)       # 07 itself
    monkeypatch.setenv(ledger.AHEAD_ENV, "1")
    ledger.charge(tmp_path, "det-b:classifier", "classifier", 250.0, computed=True)
    monkeypatch.delenv(ledger.AHEAD_ENV)
    rows = ledger.read_ledger(tmp_path)
    assert rows["ahead"].tolist() == [False, True]
    assert rows["notebook"].tolist() == ["07_ablations_controls"] * 2
    assert ledger.seconds_not_spent(tmp_path, "07_ablations_controls", seen_before=seen) == \
        pytest.approx(250.0)


def test_ledgers_written_before_the_ahead_column_read_as_not_ahead(tmp_path):
    (tmp_path / ledger.LEDGER_NAME).write_text(
        '{"artifact": "unet-a", "stage": "unet", "seconds": 5.0, "notebook": "00_quickstart", '
        '"computed": true}\n')
    assert ledger.read_ledger(tmp_path)["ahead"].tolist() == [False]
    assert ledger.seconds_not_spent(tmp_path, "00_quickstart", seen_before=set()) == 0.0
