"""Metrics, bootstrap intervals, threshold choice and codec drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from artifactnet_core.experiments.metrics import (
    binary_metrics,
    bootstrap_ci,
    choose_threshold,
    codec_drift,
    metrics_by,
    pr_curve,
    roc_curve,
)


@pytest.fixture(scope="module")
def scores():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(300), np.zeros(100)].astype(int)
    p = np.clip(np.where(y == 1, rng.normal(0.7, 0.2, y.size), rng.normal(0.3, 0.2, y.size)),
                0, 1)
    return y, p


def test_binary_metrics_match_sklearn(scores):
    y, p = scores
    m = binary_metrics(y, p, threshold=0.5)
    pred = p >= 0.5
    assert m["f1"] == pytest.approx(f1_score(y, pred))
    assert m["precision"] == pytest.approx(precision_score(y, pred))
    assert m["recall"] == pytest.approx(recall_score(y, pred))
    assert m["fpr"] == pytest.approx(np.mean(pred[y == 0]))
    assert m["auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["tp"] + m["fp"] + m["tn"] + m["fn"] == len(y)


def test_auc_with_ties_and_one_class():
    assert binary_metrics([0, 1], [0.5, 0.5], threshold=0.5)["auc"] == 0.5
    assert np.isnan(binary_metrics([1, 1], [0.2, 0.9], threshold=0.5)["auc"])


def test_bootstrap_interval_contains_estimate_and_shrinks(scores):
    y, p = scores
    ci = bootstrap_ci(y, p, threshold=0.5, n_boot=300, seed=1)
    m = binary_metrics(y, p, threshold=0.5)
    for key in ("f1", "fpr", "auc"):
        lo, hi = ci[key]
        assert lo <= m[key] <= hi
    big = bootstrap_ci(np.tile(y, 4), np.tile(p, 4), threshold=0.5, n_boot=300, seed=1)
    assert big["f1"][1] - big["f1"][0] < ci["f1"][1] - ci["f1"][0]


def test_grouped_bootstrap_is_wider_for_clustered_data(scores):
    y, p = scores
    groups = np.arange(len(y)) // 10  # ten clips per "track"
    y_grp, p_grp = np.repeat(y[::10], 10), np.repeat(p[::10], 10)
    plain = bootstrap_ci(y_grp, p_grp, threshold=0.5, n_boot=300, seed=2)
    grouped = bootstrap_ci(y_grp, p_grp, threshold=0.5, n_boot=300, seed=2, groups=groups)
    width = lambda ci: ci["auc"][1] - ci["auc"][0]  # noqa: E731
    assert width(grouped) > 1.5 * width(plain)


def test_threshold_respects_fpr_budget(scores):
    y, p = scores
    thr = choose_threshold(y, p, max_fpr=0.01)
    assert binary_metrics(y, p, threshold=thr)["fpr"] <= 0.01
    free = choose_threshold(y, p)
    assert binary_metrics(y, p, threshold=free)["f1"] >= binary_metrics(y, p, threshold=thr)["f1"]


def test_codec_drift_is_max_minus_min():
    df = pd.DataFrame({"path": ["a"] * 4 + ["b"] * 4,
                       "codec": ["wav", "mp3", "aac", "opus"] * 2,
                       "p_ai": [0.9, 0.2, 0.5, 0.6, 0.5, 0.5, 0.5, 0.5]})
    delta = codec_drift(df)
    assert delta["a"] == pytest.approx(0.7) and delta["b"] == 0.0
    with pytest.raises(ValueError, match="no scores"):
        codec_drift(df[df["codec"] != "opus"])


def test_metrics_by_group_adds_real_negatives():
    df = pd.DataFrame({"label": ["ai", "ai", "ai", "real", "real"],
                       "generator": ["g1", "g1", "g2", "none", "none"],
                       "p_ai": [0.9, 0.8, 0.2, 0.1, 0.6], "track_id": list("abcde")})
    out = metrics_by(df, "generator", threshold=0.5, n_boot=0, real_in_every_group=True)
    g1 = out[out["generator"] == "g1"].iloc[0]
    assert g1["recall"] == 1.0 and g1["fpr"] == 0.5 and g1["n"] == 4


def test_curves_end_points(scores):
    y, p = scores
    fpr, tpr = roc_curve(y, p)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc_score(y, p), abs=1e-9)
    rec, prec = pr_curve(y, p)
    assert rec[-1] == 1.0 and prec[-1] == pytest.approx(y.mean())
