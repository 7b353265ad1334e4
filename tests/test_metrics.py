"""Rank metrics: ROC-AUC and the ROC curve against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from artifactnet_core.experiments.metrics import roc_auc, roc_curve


@pytest.fixture(scope="module")
def scores():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(300), np.zeros(100)].astype(int)
    p = np.clip(np.where(y == 1, rng.normal(0.7, 0.2, y.size), rng.normal(0.3, 0.2, y.size)),
                0, 1)
    return y, p


def test_auc_matches_sklearn(scores):
    y, p = scores
    assert roc_auc(y, p) == pytest.approx(roc_auc_score(y, p))
    # Rounded scores have many ties: counted half, as scikit-learn does.
    assert roc_auc(y, np.round(p, 1)) == pytest.approx(roc_auc_score(y, np.round(p, 1)))


def test_auc_with_ties_and_one_class():
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    assert np.isnan(roc_auc([1, 1], [0.2, 0.9]))


def test_curves_end_points(scores):
    y, p = scores
    fpr, tpr = roc_curve(y, p)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc_score(y, p), abs=1e-9)
