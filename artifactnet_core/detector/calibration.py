"""Operating points and calibration: what a score means, chosen on validation tracks.

A trained detector gives each track a score in [0, 1] (the median of its chunks' P(AI)). The
score ranks tracks; on its own it is not the probability that a track is AI. This module turns
validation scores into

- **operating points**: thresholds with a stated validation error rate. ``fpr1`` and ``fpr5``
  flag the most AI tracks (largest TPR) while flagging at most 1 % / 5 % of the real validation
  tracks (:func:`threshold_at_fpr`); ``f1`` maximises F1 (:func:`f1_threshold`). A track is
  flagged AI when its score is ``>=`` the threshold, the rule ``detect`` applies;
- **a calibration**: Platt scaling (:func:`fit_platt`), a logistic curve on the logit of the
  score, fitted to the validation labels, so that :func:`apply_platt` gives the fraction of AI
  tracks among validation tracks with that score, at the validation set's mix of real and AI;
- measures of calibration (:func:`brier_score`, :func:`reliability_table`,
  :func:`expected_calibration_error`).

Everything is plain NumPy; the training pipeline stores the results in the model's config
(:class:`~artifactnet_core.detector.config.ArtifactNetConfig` ``operating_points`` and
``calibration``) and ``detect`` reads them (:func:`resolve_operating_point`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from artifactnet_core.detector.config import OPERATING_POINTS, ArtifactNetConfig

#: The operating point ``detect`` and :func:`~artifactnet_core.detector.api.load_detector` use
#: unless told otherwise: at most 1 % of real validation tracks flagged.
DEFAULT_OPERATING_POINT = "fpr1"
#: Largest validation false-positive rate of each FPR operating point.
MAX_FPR = {"fpr1": 0.01, "fpr5": 0.05}
# Scores are clipped this far from 0 and 1 before their logit is taken.
_EPS = 1e-6


def _validation_arrays(y_true: Sequence | np.ndarray,
                       scores: Sequence | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels as 0/1 (``"real"``/``"ai"``, booleans or 0/1) and scores as float64, checked."""
    y = np.asarray(y_true)
    if y.dtype.kind in "OUS":
        bad = set(np.unique(y).tolist()) - {"ai", "real"}
        if bad:
            raise ValueError(f"labels must be 'ai' or 'real', found {sorted(bad)}")
        y = (y == "ai").astype(int)
    else:
        if not np.isin(y, (0, 1)).all():
            raise ValueError("labels must be 0 (real) or 1 (AI)")
        y = y.astype(int)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1 or s.shape != y.shape:
        raise ValueError(f"labels {y.shape} and scores {s.shape} must be 1-D of one length")
    if not np.isfinite(s).all() or (s < 0).any() or (s > 1).any():
        raise ValueError("scores must be finite and in [0, 1]")
    if y.sum() == 0 or y.sum() == y.size:
        raise ValueError("validation scores need both real and AI tracks")
    return y, s


def _candidates(scores: np.ndarray) -> np.ndarray:
    """Thresholds worth trying: the lowest score (flags all), midpoints between consecutive
    distinct scores, and the smallest number above the highest score (flags none)."""
    u = np.unique(scores)
    return np.concatenate([[u[0]], (u[:-1] + u[1:]) / 2, [np.nextafter(u[-1], np.inf)]])


def _rates(y: np.ndarray, s: np.ndarray,
           thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(FPR, TPR, F1) at each threshold, flagging ``score >= threshold``."""
    real, ai = np.sort(s[y == 0]), np.sort(s[y == 1])
    fp = real.size - np.searchsorted(real, thresholds, side="left")
    tp = ai.size - np.searchsorted(ai, thresholds, side="left")
    fn = ai.size - tp
    f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    return fp / real.size, tp / ai.size, f1


def rates_at(y_true: Sequence | np.ndarray, scores: Sequence | np.ndarray,
             threshold: float) -> tuple[float, float]:
    """Validation (FPR, TPR) when tracks with ``score >= threshold`` are flagged AI."""
    y, s = _validation_arrays(y_true, scores)
    fpr, tpr, _ = _rates(y, s, np.array([threshold], dtype=np.float64))
    return float(fpr[0]), float(tpr[0])


def _best(thresholds: np.ndarray, keys: list[np.ndarray]) -> float:
    """The threshold that maximises ``keys`` in order (lexicographically)."""
    order = np.lexsort(keys[::-1])
    return float(thresholds[order[-1]])


def threshold_at_fpr(y_true: Sequence | np.ndarray, scores: Sequence | np.ndarray,
                     max_fpr: float) -> float:
    """The threshold with the largest validation TPR among those whose validation FPR is at
    most ``max_fpr``.

    Parameters
    ----------
    y_true : sequence
        Validation labels: 1 or ``"ai"`` for AI, 0 or ``"real"`` for real.
    scores : sequence of float
        Validation track scores in [0, 1].
    max_fpr : float
        Largest fraction of real validation tracks that may be flagged, in [0, 1].

    Returns
    -------
    float
        A threshold in [0, :data:`~artifactnet_core.detector.config.MAX_THRESHOLD`]; ties in TPR
        go to the lower FPR. Above every score (flags nothing) when no other threshold keeps
        the FPR low enough.
    """
    if not 0.0 <= max_fpr <= 1.0:
        raise ValueError(f"max_fpr must be in [0, 1], got {max_fpr}")
    y, s = _validation_arrays(y_true, scores)
    c = _candidates(s)
    fpr, tpr, _ = _rates(y, s, c)
    feasible = fpr <= max_fpr + 1e-12
    return _best(c, [feasible, np.where(feasible, tpr, -1.0), -fpr, c])


def f1_threshold(y_true: Sequence | np.ndarray, scores: Sequence | np.ndarray) -> float:
    """The threshold maximising F1 on validation scores (ties go to the lower FPR).

    Parameters are those of :func:`threshold_at_fpr` without ``max_fpr``.
    """
    y, s = _validation_arrays(y_true, scores)
    c = _candidates(s)
    fpr, _, f1 = _rates(y, s, c)
    return _best(c, [f1, -fpr, c])


def operating_points(y_true: Sequence | np.ndarray,
                     scores: Sequence | np.ndarray) -> dict[str, dict[str, float]]:
    """The operating points of :data:`~artifactnet_core.detector.config.OPERATING_POINTS`,
    chosen on validation scores, as stored in a model's config.

    Parameters
    ----------
    y_true, scores
        Validation labels and track scores (see :func:`threshold_at_fpr`).

    Returns
    -------
    dict
        ``{"fpr1": {...}, "fpr5": {...}, "f1": {...}}``, each with ``threshold``, ``val_fpr``,
        ``val_tpr`` (rates at the threshold on these scores), ``n_val_real`` and ``n_val_ai``.
    """
    y, s = _validation_arrays(y_true, scores)
    thresholds = {name: threshold_at_fpr(y, s, MAX_FPR[name]) if name in MAX_FPR
                  else f1_threshold(y, s) for name in OPERATING_POINTS}
    out = {}
    for name, threshold in thresholds.items():
        fpr, tpr = rates_at(y, s, threshold)
        out[name] = {"threshold": threshold, "val_fpr": fpr, "val_tpr": tpr,
                     "n_val_real": int((y == 0).sum()), "n_val_ai": int(y.sum())}
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1.0 - _EPS)
    return np.log(p) - np.log1p(-p)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def fit_platt(y_true: Sequence | np.ndarray, scores: Sequence | np.ndarray, *,
              max_iter: int = 100) -> dict[str, Any]:
    """Fit Platt scaling ``P(AI | score) = sigmoid(a * logit(score) + b)`` on validation tracks.

    The fit is Platt's (1999): maximum likelihood with the targets pulled in from 0 and 1 to
    ``1 / (n_real + 2)`` and ``(n_ai + 1) / (n_ai + 2)``, so a validation set the detector
    separates perfectly still gives a finite curve. Newton's method with step halving.

    Parameters
    ----------
    y_true, scores
        Validation labels and track scores (see :func:`threshold_at_fpr`).
    max_iter : int
        Newton steps at most.

    Returns
    -------
    dict
        ``{"method": "platt", "a", "b", "n", "n_real", "n_ai"}``, as stored in a model's config
        (``calibration``); the calibrated value holds at the validation mix of real and AI.
    """
    y, s = _validation_arrays(y_true, scores)
    z = _logit(s)
    n_ai, n_real = int(y.sum()), int((y == 0).sum())
    t = np.where(y == 1, (n_ai + 1) / (n_ai + 2), 1 / (n_real + 2))

    def loss(a: float, b: float) -> float:
        u = a * z + b
        return float(np.sum(np.logaddexp(0.0, u) - t * u))

    a, b = 1.0, math.log((n_ai + 1) / (n_real + 1))
    current = loss(a, b)
    for _ in range(max_iter):
        p = _sigmoid(a * z + b)
        g = np.array([np.sum((p - t) * z), np.sum(p - t)])
        w = p * (1 - p)
        h = np.array([[np.sum(w * z * z), np.sum(w * z)], [np.sum(w * z), np.sum(w)]])
        h += 1e-12 * np.eye(2)
        step = np.linalg.solve(h, g)
        scale = 1.0
        while scale > 1e-10:
            a_new, b_new = a - scale * step[0], b - scale * step[1]
            new = loss(a_new, b_new)
            if new <= current:
                break
            scale /= 2
        else:
            break
        done = abs(current - new) < 1e-12 * max(1.0, abs(current))
        a, b, current = a_new, b_new, new
        if done:
            break
    return {"method": "platt", "a": float(a), "b": float(b), "n": int(y.size),
            "n_real": n_real, "n_ai": n_ai}


def apply_platt(scores: float | Sequence | np.ndarray,
                calibration: Mapping[str, Any]) -> float | np.ndarray:
    """Calibrated P(AI) of ``scores`` by a fit of :func:`fit_platt` (a float for a float)."""
    if calibration.get("method") != "platt":
        raise ValueError(f"unknown calibration method {calibration.get('method')!r}")
    s = np.asarray(scores, dtype=np.float64)
    out = _sigmoid(float(calibration["a"]) * _logit(s) + float(calibration["b"]))
    return float(out) if out.ndim == 0 else out


def brier_score(y_true: Sequence | np.ndarray, p: Sequence | np.ndarray) -> float:
    """Mean squared difference between probabilities ``p`` and the 0/1 labels (lower is
    better; 0.25 for a constant 0.5)."""
    y, s = _validation_arrays(y_true, p)
    return float(np.mean((s - y) ** 2))


def reliability_table(y_true: Sequence | np.ndarray, p: Sequence | np.ndarray, *,
                      n_bins: int = 10) -> dict[str, np.ndarray]:
    """Probabilities ``p`` in ``n_bins`` equal-width bins over [0, 1]: per bin the mean ``p``,
    the observed fraction of AI and the count (empty bins left out), for a reliability
    diagram."""
    y, s = _validation_arrays(y_true, p)
    index = np.minimum((s * n_bins).astype(int), n_bins - 1)
    count = np.bincount(index, minlength=n_bins)
    keep = count > 0
    mean_p = np.bincount(index, weights=s, minlength=n_bins)[keep] / count[keep]
    frac_ai = np.bincount(index, weights=y, minlength=n_bins)[keep] / count[keep]
    return {"mean_p": mean_p, "fraction_ai": frac_ai, "count": count[keep]}


def expected_calibration_error(y_true: Sequence | np.ndarray, p: Sequence | np.ndarray, *,
                               n_bins: int = 10) -> float:
    """Expected calibration error: the count-weighted mean of ``|mean p - fraction AI|`` over
    the bins of :func:`reliability_table`."""
    table = reliability_table(y_true, p, n_bins=n_bins)
    gap = np.abs(table["mean_p"] - table["fraction_ai"])
    return float(np.sum(gap * table["count"]) / np.sum(table["count"]))


@dataclass(frozen=True)
class OperatingPoint:
    """The threshold ``detect`` applies and where it comes from.

    ``name`` is an operating point of the model (``fpr1``, ``fpr5``, ``f1``), ``"config"`` (the
    config's single ``threshold``) or ``"custom"`` (given by the user); the validation fields
    are ``None`` where unknown. ``note`` says why a requested point was not used.
    """

    name: str
    threshold: float
    val_fpr: float | None = None
    val_tpr: float | None = None
    n_val_real: int | None = None
    n_val_ai: int | None = None
    note: str | None = None

    def describe(self) -> str:
        """One line for people: the point, its threshold and its validation rates."""
        text = f"operating point {self.name}: threshold {self.threshold:.4f}"
        if self.val_fpr is not None:
            text += (f" (validation FPR {100 * self.val_fpr:.1f} %, TPR "
                     f"{100 * self.val_tpr:.1f} %, on {self.n_val_real} real and "
                     f"{self.n_val_ai} AI tracks)")
        elif self.name == "config":
            text += " (the model's threshold)"
        return text


def resolve_operating_point(config: ArtifactNetConfig, name: str | None = None,
                            threshold: float | None = None) -> OperatingPoint:
    """The threshold to apply: ``threshold`` if given, else the operating point ``name`` of
    the model, else the config's ``threshold``.

    A ``name`` the model does not carry (weights trained before operating points existed)
    falls back to the config's threshold, with a ``note`` saying so.

    Raises
    ------
    ValueError
        ``threshold`` not a number in [0, 1], or ``name`` not one of
        :data:`~artifactnet_core.detector.config.OPERATING_POINTS`.
    """
    if threshold is not None:
        if not (isinstance(threshold, int | float) and 0.0 <= threshold <= 1.0):
            raise ValueError(f"threshold must be a number in [0, 1], got {threshold!r}")
        return OperatingPoint("custom", float(threshold))
    fallback = OperatingPoint("config", float(config.threshold))
    if name is None:
        return fallback
    if name not in OPERATING_POINTS:
        raise ValueError(f"unknown operating point {name!r}; one of {OPERATING_POINTS}")
    point = config.operating_points.get(name)
    if point is None:
        return OperatingPoint("config", float(config.threshold), note=(
            f"these weights carry no operating point {name!r}; using the threshold of their "
            f"config, {config.threshold:.4f}"))
    return OperatingPoint(name, float(point["threshold"]), float(point["val_fpr"]),
                          float(point["val_tpr"]), int(point["n_val_real"]),
                          int(point["n_val_ai"]))

