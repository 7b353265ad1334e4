"""Detection metrics with bootstrap confidence intervals, threshold choice and codec drift.

Conventions: label 1 = AI (positive), 0 = real. ``p_ai`` are probabilities (or any score that
grows with "AI-ness"). FPR is the share of real tracks called AI; it is what a practitioner pays
for every false accusation, so every table reports it beside F1.

Taught in notebooks ``04_zero_shot`` and ``05_codec_drift``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

METRICS = ("f1", "precision", "recall", "fpr", "auc")


def confusion(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[int, int, int, int]:
    """Return ``(tp, fp, tn, fn)`` for binary labels and predictions."""
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_pred).astype(bool)
    tp = int(np.sum(y_true & y_pred))
    fp = int(np.sum(~y_true & y_pred))
    tn = int(np.sum(~y_true & ~y_pred))
    fn = int(np.sum(y_true & ~y_pred))
    return tp, fp, tn, fn


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


def binary_metrics(y_true: np.ndarray, p_ai: np.ndarray, *, threshold: float) -> dict[str, float]:
    """F1, precision, recall (TPR), FPR and ROC-AUC of scores ``p_ai`` at ``threshold``.

    Parameters
    ----------
    y_true : numpy.ndarray
        1 for AI, 0 for real.
    p_ai : numpy.ndarray
        Scores; predicted AI where ``p_ai >= threshold``.
    threshold : float
        Decision threshold (choose it on validation data, see :func:`choose_threshold`).

    Returns
    -------
    dict
        ``f1, precision, recall, fpr, auc`` plus counts ``n, n_ai, n_real, tp, fp, tn, fn``.
        A metric with an empty denominator is NaN.
    """
    y_true = np.asarray(y_true).astype(int)
    p_ai = np.asarray(p_ai, dtype=np.float64)
    tp, fp, tn, fn = confusion(y_true, p_ai >= threshold)
    nan = float("nan")
    precision = tp / (tp + fp) if tp + fp else nan
    recall = tp / (tp + fn) if tp + fn else nan
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else nan
    fpr = fp / (fp + tn) if fp + tn else nan
    return {"f1": f1, "precision": precision, "recall": recall, "fpr": fpr,
            "auc": roc_auc(y_true, p_ai), "n": len(y_true), "n_ai": int(y_true.sum()),
            "n_real": int((1 - y_true).sum()), "tp": tp, "fp": fp, "tn": tn, "fn": fn}


def bootstrap_ci(y_true: np.ndarray, p_ai: np.ndarray, *, threshold: float,
                 n_boot: int = 1000, alpha: float = 0.05, seed: int = 0,
                 groups: np.ndarray | None = None) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap confidence intervals of :func:`binary_metrics`.

    Resampling is stratified by class (real and AI counts stay fixed), and by ``groups`` when
    given (e.g. source track ids: clips of one track move together, so the interval reflects
    how many *tracks* were tested, not how many clips were cut from them).

    Parameters
    ----------
    y_true, p_ai, threshold
        As in :func:`binary_metrics`.
    n_boot : int
        Bootstrap replicates.
    alpha : float
        1 - confidence level (0.05: 95 % intervals).
    seed : int
        Seed of the resampling.
    groups : numpy.ndarray, optional
        Cluster id per item; whole clusters are resampled.

    Returns
    -------
    dict
        ``metric -> (low, high)`` for each of :data:`METRICS`.
    """
    y_true = np.asarray(y_true).astype(int)
    p_ai = np.asarray(p_ai, dtype=np.float64)
    rng = np.random.default_rng(seed)
    groups = np.arange(len(y_true)) if groups is None else np.asarray(groups)
    strata = []
    for cls in (0, 1):
        ids = np.unique(groups[y_true == cls])
        members = {g: np.flatnonzero((groups == g) & (y_true == cls)) for g in ids}
        strata.append((ids, members))
    draws = {m: [] for m in METRICS}
    for _ in range(n_boot):
        idx = []
        for ids, members in strata:
            if len(ids):
                idx.extend(members[g] for g in rng.choice(ids, size=len(ids), replace=True))
        idx = np.concatenate(idx) if idx else np.zeros(0, dtype=int)
        res = binary_metrics(y_true[idx], p_ai[idx], threshold=threshold)
        for m in METRICS:
            draws[m].append(res[m])
    out = {}
    for m in METRICS:
        vals = np.asarray(draws[m], dtype=np.float64)
        vals = vals[np.isfinite(vals)]
        out[m] = ((float(np.quantile(vals, alpha / 2)), float(np.quantile(vals, 1 - alpha / 2)))
                  if vals.size else (float("nan"), float("nan")))
    return out


def metrics_with_ci(y_true: np.ndarray, p_ai: np.ndarray, *, threshold: float,
                    n_boot: int = 1000, seed: int = 0,
                    groups: np.ndarray | None = None) -> dict[str, float]:
    """:func:`binary_metrics` plus ``<metric>_lo`` / ``<metric>_hi`` 95 % bootstrap bounds."""
    row = binary_metrics(y_true, p_ai, threshold=threshold)
    if n_boot:
        for m, (lo, hi) in bootstrap_ci(y_true, p_ai, threshold=threshold, n_boot=n_boot,
                                        seed=seed, groups=groups).items():
            row[f"{m}_lo"], row[f"{m}_hi"] = lo, hi
    return row


def metrics_by(df: pd.DataFrame, by: str | None, *, threshold: float, n_boot: int = 1000,
               seed: int = 0, label_col: str = "label", score_col: str = "p_ai",
               group_col: str | None = "track_id",
               real_in_every_group: bool = False) -> pd.DataFrame:
    """Metrics with CIs overall (``by=None``) or per value of a column.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per scored clip with ``label`` ("ai"/"real" or 1/0) and ``p_ai``.
    by : str or None
        Column to group by (e.g. ``"generator"``, ``"family"``, ``"source"``).
    real_in_every_group : bool
        When grouping by a column that only AI rows carry (generator, family), add all real rows
        to every group so that F1, FPR and AUC stay defined; the FPR is then the same in each.
    """
    y = _labels(df[label_col])
    frames = []
    if by is None:
        parts = [("all", df)]
    elif real_in_every_group:
        real = df[y == 0]
        parts = [(key, pd.concat([part, real])) for key, part in df[y == 1].groupby(by)]
    else:
        parts = list(df.groupby(by))
    for key, part in parts:
        groups = part[group_col].to_numpy() if group_col and group_col in part else None
        row = metrics_with_ci(_labels(part[label_col]), part[score_col].to_numpy(),
                              threshold=threshold, n_boot=n_boot, seed=seed, groups=groups)
        row = {(by or "subset"): key, **row}
        frames.append(row)
    return pd.DataFrame(frames)


def _labels(values: Sequence | pd.Series) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind in "OUS":
        bad = set(np.unique(arr)) - {"ai", "real"}
        if bad:
            raise ValueError(f"labels must be 'ai' or 'real', found {sorted(bad)}")
        return (arr == "ai").astype(int)
    return arr.astype(int)


def choose_threshold(y_true: np.ndarray, p_ai: np.ndarray, *, max_fpr: float | None = None,
                     objective: Callable[[dict], float] | None = None) -> float:
    """Pick a decision threshold on *validation* scores (never on test).

    By default the threshold maximising F1; with ``max_fpr``, the one maximising F1 among those
    whose validation FPR is at most ``max_fpr`` (falling back to the lowest-FPR threshold).
    Candidate thresholds are midpoints between consecutive distinct scores.
    """
    y_true = np.asarray(y_true).astype(int)
    p = np.unique(np.asarray(p_ai, dtype=np.float64))
    candidates = np.concatenate([[p[0] - 1e-6], (p[:-1] + p[1:]) / 2, [p[-1] + 1e-6]])
    objective = objective or (lambda m: m["f1"])
    best, best_key = 0.5, None
    for thr in candidates:
        m = binary_metrics(y_true, p_ai, threshold=float(thr))
        ok = max_fpr is None or (np.isfinite(m["fpr"]) and m["fpr"] <= max_fpr)
        val = objective(m)
        key = (ok, np.nan_to_num(val, nan=-1.0), -m["fpr"] if np.isfinite(m["fpr"]) else 0)
        if best_key is None or key > best_key:
            best, best_key = float(thr), key
    return float(np.clip(best, 0.0, 1.0))


def codec_drift(scores: pd.DataFrame, *, codecs: Sequence[str] = ("wav", "mp3", "aac", "opus"),
                track_col: str = "path", codec_col: str = "codec",
                score_col: str = "p_ai") -> pd.Series:
    """Codec drift per track: ``max - min`` of P(AI) over its versions (paper's Δ).

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per (track, codec version) with the track's id (default: its manifest ``path``,
        unique per real or AI clip), codec name and P(AI).
    codecs : sequence of str
        Versions that must all be present for a track to count (paper: WAV, MP3 128k,
        AAC 128k, Opus 128k).

    Returns
    -------
    pandas.Series
        Δ per track (index: track id); its mean is the paper's reported drift.
    """
    sub = scores[scores[codec_col].isin(codecs)]
    wide = sub.pivot_table(index=track_col, columns=codec_col, values=score_col, aggfunc="mean")
    wide = wide.dropna(subset=[c for c in codecs if c in wide.columns])
    missing = set(codecs) - set(wide.columns)
    if missing:
        raise ValueError(f"no scores for codec versions {sorted(missing)}")
    return (wide[list(codecs)].max(axis=1) - wide[list(codecs)].min(axis=1)).rename("delta")


def roc_curve(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC points ``(fpr, tpr)`` over all thresholds, from (0, 0) to (1, 1)."""
    y_true = np.asarray(y_true).astype(int)
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="stable")
    y = y_true[order]
    tps = np.concatenate([[0], np.cumsum(y)])
    fps = np.concatenate([[0], np.cumsum(1 - y)])
    return fps / max(fps[-1], 1), tps / max(tps[-1], 1)


def pr_curve(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision-recall points ``(recall, precision)`` as the threshold falls."""
    y_true = np.asarray(y_true).astype(int)
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="stable")
    y = y_true[order]
    tps = np.cumsum(y)
    fps = np.cumsum(1 - y)
    precision = tps / np.maximum(tps + fps, 1)
    recall = tps / max(tps[-1], 1)
    return np.concatenate([[0], recall]), np.concatenate([[1], precision])
