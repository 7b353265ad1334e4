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
