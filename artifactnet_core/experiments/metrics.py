"""Rank metrics of a score against binary labels: ROC-AUC and the ROC curve.

Conventions: label 1 = AI (positive), 0 = real; a score grows with "AI-ness". Everything about
intervals, tracks, thresholds and verdicts lives in :mod:`artifactnet_core.experiments.evaluation`
and operating points in :mod:`artifactnet_core.detector.calibration`.

Taught in notebook ``04_zero_shot``.
"""

from __future__ import annotations

import numpy as np


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with ties counted half); NaN with one class."""
    y_true = np.asarray(y_true).astype(bool)
    score = np.asarray(score, dtype=np.float64)
    n_pos, n_neg = int(y_true.sum()), int((~y_true).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(score)
    return float((ranks[y_true].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_curve(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC points ``(fpr, tpr)`` over all thresholds, from (0, 0) to (1, 1)."""
    y_true = np.asarray(y_true).astype(int)
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="stable")
    y = y_true[order]
    tps = np.concatenate([[0], np.cumsum(y)])
    fps = np.concatenate([[0], np.cumsum(1 - y)])
    return fps / max(fps[-1], 1), tps / max(tps[-1], 1)
