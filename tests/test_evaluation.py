"""Per-track evaluation statistics: clusters move together, exact intervals, verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, norm

from artifactnet_core.experiments import evaluation as ev


def _items(n_tracks: int = 30, *, seed: int = 0, separation: float = 1.0) -> pd.DataFrame:
    """Each track: one real item and two AI items (two generators), scores ~ label."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_tracks):
        rows.append({"track_id": f"s/t{t}", "label": "real", "generator": "none",
                     "family": "none", "source": "s", "p_ai": rng.normal(0, 1)})
        for g in ("g1", "g2"):
            rows.append({"track_id": f"s/t{t}", "label": "ai", "generator": g, "family": g,
                         "source": "s", "p_ai": rng.normal(separation, 1)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("k, n", [(0, 12), (12, 12), (3, 61), (0, 200), (7, 7)])
def test_clopper_pearson_matches_scipy(k, n):
    lo, hi = ev.clopper_pearson(k, n)
    ref = binomtest(k, n).proportion_ci(method="exact")
    assert lo == pytest.approx(ref.low, abs=1e-12) and hi == pytest.approx(ref.high, abs=1e-12)


def test_proportion_uses_the_number_of_independent_tracks():
    hits = np.ones(24, dtype=bool)               # 24 items ...
    clusters = np.repeat(np.arange(12), 2)       # ... from 12 tracks
    p = ev.proportion_ci(hits, clusters)
    assert p["value"] == 1.0 and p["n_eff"] == 12 and p["hi"] == 1.0
    assert p["lo"] == pytest.approx(binomtest(12, 12).proportion_ci().low)   # 0.735, not 1.0
    zero = ev.proportion_ci(np.zeros(61, dtype=bool))
    assert zero["lo"] == 0.0 and zero["hi"] == pytest.approx(0.0587, abs=1e-3)  # FPR 0/61


def test_cluster_bootstrap_moves_a_track_and_its_regenerations_together():
    items = _items(15)
    seen = []

    def statistic(d: pd.DataFrame) -> float:
        counts = d.groupby(["track_id", "label"]).size().unstack(fill_value=0)
        # Every drawn track brings its real item and both AI items, the same number of times.
        assert (counts["ai"] == 2 * counts["real"]).all()
        seen.append(d["track_id"].nunique())
        return 0.0

    ev.cluster_bootstrap(items, statistic, n_boot=50, seed=1)
    assert len(seen) == 50 and max(seen) <= 15 and min(seen) < 15   # drawn with replacement


def test_auc_interval_and_small_groups():
    items = _items(40, separation=1.5)
    res = ev.auc_with_ci(items, n_boot=200, seed=0)
    assert res["auc_lo"] < res["auc"] < res["auc_hi"] and res["n_tracks"] == 40
    small = ev.auc_with_ci(_items(5), n_boot=200)
    assert np.isnan(small["auc_lo"]) and small["n_tracks"] == 5   # n instead of an interval


def test_auc_at_perfect_separation_gets_the_distribution_free_bound():
    items = _items(40, separation=50.0)        # every AI item far above every real one
    res = ev.auc_with_ci(items, n_boot=200, seed=0)
    # The bootstrap alone would say [1.000, 1.000]; 40 AI tracks against 40 real ones cannot.
    assert res["auc"] == 1.0 and res["auc_hi"] == 1.0
    assert res["auc_lo"] == pytest.approx((0.05 / 4) ** (2 / 40)) and res["auc_lo"] < 0.81
    flipped = items.assign(p_ai=-items["p_ai"])
    res = ev.auc_with_ci(flipped, n_boot=200, seed=0)
    assert res["auc"] == 0.0 and res["auc_lo"] == 0.0
    assert res["auc_hi"] == pytest.approx(1 - (0.05 / 4) ** (2 / 40))
    # The bound holds where it claims to: among populations with AUC at the bound or below,
    # perfect separation at this n is rarer than the interval's lower tail (2.5 %).
    rng = np.random.default_rng(0)
    n_ai, n_real = 12, 12
    bound = ev.separation_bound(n_ai, n_real)
    shift = np.sqrt(2) * norm.ppf(bound)  # the normal shift whose AUC is the bound
    separated = np.mean([rng.normal(shift, 1, n_ai).min() > rng.normal(0, 1, n_real).max()
                         for _ in range(4000)])
    assert separated < 0.025


def test_track_scores_take_the_median_of_a_tracks_clips():
    clips = pd.DataFrame({"track_id": ["a", "a", "a", "a", "b"],
                          "label": ["real", "real", "real", "ai", "real"],
                          "generator": ["none", "none", "none", "g", "none"],
                          "source": "s", "p_ai": [0.1, 0.9, 0.2, 0.7, 0.4]})
    tracks = ev.track_scores(clips)
    assert len(tracks) == 3
    row = tracks[(tracks["track_id"] == "a") & (tracks["label"] == "real")].iloc[0]
    assert row["p_ai"] == pytest.approx(0.2) and row["n_clips"] == 3


@pytest.mark.parametrize("lo, hi, target, at_least, expected", [
    (0.985, 0.999, 0.98, True, "met"), (0.90, 0.97, 0.98, True, "missed"),
    (0.95, 0.99, 0.98, True, "not resolvable at n = 40"),
    (0.0, 0.012, 0.015, False, "met"), (0.02, 0.05, 0.015, False, "missed"),
    (0.0, 0.059, 0.015, False, "not resolvable at n = 40")])
def test_verdict(lo, hi, target, at_least, expected):
    assert ev.verdict(lo, hi, target, at_least=at_least, n=40) == expected


def test_headline_and_two_by_two():
    items = _items(30, separation=3.0)
    items.loc[items["generator"] == "g2", "family"] = "held"
    items.loc[items["track_id"].isin([f"s/t{i}" for i in range(15)]), "source"] = "h"
    thresholds = {"fpr1": 2.0, "fpr5": 1.5, "f1": 1.0}
    head = ev.headline(items, thresholds, n_boot=100)
    assert head["n_real_tracks"] == 30 and head["n_ai_items"] == 60
    assert head["prevalence"] == pytest.approx(2 / 3)
    assert head["tpr_fpr1_lo"] <= head["tpr_fpr1"] <= head["tpr_fpr1_hi"]
    cells = ev.zero_shot_cells(items, heldout_families=["held"], heldout_sources=["h"],
                               validation_family=None)
    table = ev.two_by_two(cells, thresholds, n_boot=50)
    assert set(zip(table["family"], table["source"], strict=True)) == {
        ("seen", "seen"), ("unseen", "seen"), ("seen", "unseen"), ("unseen", "unseen")}
    strict = table[table["strict"]].iloc[0]
    assert strict["n_real_tracks"] == 15 and strict["n_ai_items"] == 15


def test_paired_difference_of_a_model_with_itself_is_zero():
    items = _items(20, separation=1.0)
    other = items.assign(p_ai=items["p_ai"] + np.where(items["label"] == "ai", 0.5, 0.0))
    same = ev.paired_difference(items, items, lambda d: ev.auc_with_ci(d, n_boot=0)["auc"],
                                n_boot=50)
    assert same["delta"] == 0 and same["lo"] == 0 and same["hi"] == 0
    better = ev.paired_difference(other, items, lambda d: ev.auc_with_ci(d, n_boot=0)["auc"],
                                  n_boot=100)
    assert better["delta"] > 0 and better["lo"] > 0          # a real improvement resolves


def test_paired_auc_difference_widens_the_collapse_of_two_perfect_separations():
    items = _items(20, separation=1.0)
    other = items.assign(p_ai=items["p_ai"] + np.where(items["label"] == "ai", 0.5, 0.0))
    # Below the ceiling it is the paired bootstrap of the AUC difference.
    plain = ev.paired_difference(other, items, lambda d: ev.auc_with_ci(d, n_boot=0)["auc"],
                                 n_boot=100, seed=3)
    assert ev.paired_auc_difference(other, items, n_boot=100, seed=3) == plain
    # Two perfect separations: [0, 0] from the bootstrap, but each AUC is only known to be
    # above the separation bound for 20 AI against 20 real tracks.
    perfect = _items(20, separation=50.0)
    shifted = perfect.assign(p_ai=perfect["p_ai"] + 1.0)
    res = ev.paired_auc_difference(perfect, shifted, n_boot=100)
    slack = 1 - ev.separation_bound(20, 20)
    assert res["delta"] == 0 and res["lo"] == pytest.approx(-slack)
    assert res["hi"] == pytest.approx(slack) and slack > 0.3
