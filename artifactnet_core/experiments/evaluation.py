"""Evaluation that can resolve its claims: per track, with intervals fit for the sample size.

The unit is the **track**, as the paper reports and as ``artifactnet detect`` scores: a test
track's score is the model's aggregation (median) over the chunks of its clips, for the real
version and, separately, for each generator's regeneration of it (an *AI item*). Statistics:

- ROC-AUC with a **cluster bootstrap over source tracks across both classes**
  (:func:`cluster_bootstrap`): a real track and all its regenerations are resampled together, so
  the interval says how many independent pieces of music were tested; at exactly 1 (or 0),
  where every resample separates the classes too and the percentile interval collapses, the
  distribution-free :func:`separation_bound` gives the other end;
- proportions (TPR, FPR) with **exact Clopper-Pearson** intervals on the effective number of
  independent tracks (:func:`proportion_ci`): at 0/n and n/n they stay honest where a percentile
  bootstrap collapses to a point;
- thresholds come from validation only (:func:`operating_thresholds`);
- a target is *met* or *missed* only when the interval lies on one side of it, else *not
  resolvable at n = ...* (:func:`verdict`); groups with fewer than :data:`MIN_GROUP_TRACKS`
  tracks get no interval;
- differences between models or recipes use a **paired** bootstrap on the same resampled tracks
  (:func:`paired_difference`; for ROC-AUC :func:`paired_auc_difference`, which widens the
  collapsed interval of two perfect separations).

Taught in notebook ``04_zero_shot``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from artifactnet_core.experiments.metrics import roc_auc

#: Groups with fewer independent tracks than this get their n, not an interval.
MIN_GROUP_TRACKS = 10
#: Columns that identify an item: a real track, or one generator's regeneration of it.
ITEM_KEYS = ("track_id", "label", "generator")


def track_scores(clip_scores: pd.DataFrame, *, aggregate: str = "median",
                 score_col: str = "p_ai") -> pd.DataFrame:
    """Per-item scores from per-clip scores: one row per (track, label, generator).

    Parameters
    ----------
    clip_scores : pandas.DataFrame
        One row per scored clip (manifest columns and ``score_col``; a clip's score is already
        its chunks' median, see :meth:`~artifactnet_core.experiments.pipeline.DetectorRun.score`).
    aggregate : {"median", "mean"}
        How a track's clips combine (the detector's rule: median).

    Returns
    -------
    pandas.DataFrame
        ``track_id, label, generator`` plus the first value of every other column shared by
        the item's clips (``source``, ``family``, ``heldout``...), ``n_clips`` and the score.
    """
    keys = [k for k in ITEM_KEYS if k in clip_scores.columns]
    reduce = {"median": "median", "mean": "mean"}[aggregate]
    scores = clip_scores.groupby(keys, sort=True)[score_col].agg(reduce)
    n_clips = clip_scores.groupby(keys, sort=True).size().rename("n_clips")
    shared = [c for c in ("source", "family", "heldout", "split", "split_track", "composition",
                          "lossless", "codec", "version") if c in clip_scores.columns]
    first = clip_scores.groupby(keys, sort=True)[shared].first()
    return pd.concat([first, n_clips, scores], axis=1).reset_index()


def _labels(df: pd.DataFrame) -> np.ndarray:
    return (df["label"] == "ai").to_numpy().astype(int)


def clopper_pearson(k: float, n: float, *, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a proportion ``k / n``; ``k`` may be fractional
    (an effective count). Equals ``scipy.stats.binomtest(k, n).proportion_ci()`` for integers.
    """
    from scipy.stats import beta

    if n <= 0:
        return float("nan"), float("nan")
    lo = 0.0 if k <= 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k >= n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def proportion_ci(hits: np.ndarray, clusters: np.ndarray | None = None, *,
                  alpha: float = 0.05) -> dict[str, float]:
    """A proportion with its exact interval on the effective number of independent units.

    Parameters
    ----------
    hits : numpy.ndarray of bool
        One value per item (e.g. "flagged AI" for each real track).
    clusters : numpy.ndarray, optional
        Cluster of each item (source track); items of one cluster are not independent, so the
        interval uses ``n_eff`` = number of clusters (with ``k_eff = p * n_eff``).

    Returns
    -------
    dict
        ``value, lo, hi, n`` (items), ``n_eff`` (independent units), ``k`` (hits).
    """
    hits = np.asarray(hits, dtype=bool)
    n = len(hits)
    n_eff = len(np.unique(clusters)) if clusters is not None and n else n
    value = float(hits.mean()) if n else float("nan")
    lo, hi = clopper_pearson(value * n_eff, n_eff, alpha=alpha) if n else (np.nan, np.nan)
    return {"value": value, "lo": lo, "hi": hi, "n": n, "n_eff": n_eff, "k": int(hits.sum())}


def cluster_bootstrap(df: pd.DataFrame, statistic: Callable[[pd.DataFrame], float], *,
                      n_boot: int = 1000, seed: int = 0, cluster_col: str = "track_id"
                      ) -> np.ndarray:
    """Bootstrap replicates of ``statistic`` resampling whole clusters (source tracks) with
    replacement, across both classes: a real track and its regenerations move together.

    Returns the ``n_boot`` replicate values (NaN where a replicate lacks a class).
    """
    rng = np.random.default_rng(seed)
    clusters = df[cluster_col].to_numpy()
    ids, inverse = np.unique(clusters, return_inverse=True)
    members = [np.flatnonzero(inverse == i) for i in range(len(ids))]
    out = np.full(n_boot, np.nan)
    for b in range(n_boot):
        pick = rng.integers(0, len(ids), len(ids))
        idx = np.concatenate([members[i] for i in pick])
        out[b] = statistic(df.iloc[idx])
    return out


def _interval(values: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if not values.size:
        return float("nan"), float("nan")
    return float(np.quantile(values, alpha / 2)), float(np.quantile(values, 1 - alpha / 2))


def statistic_with_ci(items: pd.DataFrame, statistic: Callable[[pd.DataFrame], float], *,
                      n_boot: int = 1000, seed: int = 0) -> dict[str, float]:
    """Any statistic of items with a cluster-bootstrap interval over source tracks (none when
    fewer than :data:`MIN_GROUP_TRACKS` tracks): ``value, lo, hi, n_tracks``."""
    value = statistic(items)
    n_tracks = items["track_id"].nunique()
    lo = hi = float("nan")
    if n_boot and n_tracks >= MIN_GROUP_TRACKS and np.isfinite(value):
        lo, hi = _interval(cluster_bootstrap(items, statistic, n_boot=n_boot, seed=seed))
    return {"value": value, "lo": lo, "hi": hi, "n_tracks": n_tracks}


def auc_with_ci(items: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0,
                score_col: str = "p_ai") -> dict[str, float]:
    """ROC-AUC of items with a cluster-bootstrap interval over source tracks (none when fewer
    than :data:`MIN_GROUP_TRACKS` tracks); ``n_tracks`` is the number of clusters."""
    def auc(d: pd.DataFrame) -> float:
        return roc_auc(_labels(d), d[score_col].to_numpy())

    res = statistic_with_ci(items, auc, n_boot=n_boot, seed=seed)
    if np.isfinite(res["lo"]) and res["value"] in (0.0, 1.0):
        # Perfect separation: every resample separates too and the percentile interval
        # collapses to a point; the distribution-free bound says how far from perfect the
        # population can be at this n.
        bound = _items_separation_bound(items)
        res["lo"], res["hi"] = (bound, 1.0) if res["value"] == 1.0 else (0.0, 1.0 - bound)
    return {"auc": res["value"], "auc_lo": res["lo"], "auc_hi": res["hi"],
            "n_tracks": res["n_tracks"]}


def separation_bound(n_ai: int, n_real: int, *, alpha: float = 0.05) -> float:
    """Lower end of the 95 % interval of a ROC-AUC observed at exactly 1 (every AI item scored
    above every real one), from ``n_ai`` and ``n_real`` independent tracks.

    Take the threshold ``t`` = the highest real score. A fresh real track scores at most ``t``
    with probability ``F(t) >= beta ** (1 / n_real)`` (the maximum of ``n_real`` draws), and,
    given ``t``, none of ``n_ai`` AI tracks fell at or below it, so a fresh AI track scores
    above it with probability ``>= beta ** (1 / n_ai)`` (the exact binomial bound at 0 / n).
    With ``beta = alpha / 4`` both hold with probability ``>= 1 - alpha / 2`` (the interval's
    lower tail), and ``AUC = P(AI > real) >= P(AI > t) * P(real <= t)``: the bound is
    ``beta ** (1 / n_ai + 1 / n_real)``. E.g. 41 AI against 122 real tracks: 0.867.
    """
    if n_ai <= 0 or n_real <= 0:
        return float("nan")
    return float((alpha / 4) ** (1 / n_ai + 1 / n_real))


def _items_separation_bound(items: pd.DataFrame) -> float:
    """:func:`separation_bound` for items, counting each class's independent tracks."""
    is_ai = _labels(items).astype(bool)
    return separation_bound(items.loc[is_ai, "track_id"].nunique(),
                            items.loc[~is_ai, "track_id"].nunique())


def operating_thresholds(val_items: pd.DataFrame, *, score_col: str = "p_ai"
                         ) -> dict[str, float]:
    """Thresholds chosen on *validation* items: ``fpr1`` and ``fpr5`` (largest TPR with
    validation FPR at most 1 % / 5 %) and ``f1`` (F1-optimal)."""
    from artifactnet_core.detector.calibration import operating_points

    points = operating_points(_labels(val_items), val_items[score_col].to_numpy())
    return {name: float(p["threshold"]) for name, p in points.items()}


def counts_as_integers(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its count columns (``n_*``, ``parameters``) as nullable integers, so that
    rows without them (quoted rows) do not turn the counts into floats."""
    counts = [c for c in table.columns if c.startswith("n_") or c == "parameters"]
    return table.astype({c: "Int64" for c in counts})


def headline(items: pd.DataFrame, thresholds: Mapping[str, float], *, n_boot: int = 1000,
             seed: int = 0, score_col: str = "p_ai") -> dict[str, float]:
    """The headline metrics of a test set of items (real tracks and AI items).

    ROC-AUC (cluster bootstrap), and for each validation threshold ``name`` in
    ``thresholds``: TPR (``tpr_<name>``) and FPR (``fpr_<name>``) with exact intervals on the
    number of independent tracks; F1 at the ``f1`` threshold with the prevalence it depends on.
    """
    real = items[items["label"] == "real"]
    ai = items[items["label"] == "ai"]
    out: dict[str, float] = {"n_real_tracks": len(real), "n_ai_items": len(ai),
                             "n_ai_tracks": ai["track_id"].nunique(),
                             "prevalence": len(ai) / max(len(items), 1)}
    out.update(auc_with_ci(items, n_boot=n_boot, seed=seed, score_col=score_col))
    for name, thr in thresholds.items():
        tpr = proportion_ci(ai[score_col].to_numpy() >= thr, ai["track_id"].to_numpy())
        fpr = proportion_ci(real[score_col].to_numpy() >= thr, real["track_id"].to_numpy())
        out.update({f"threshold_{name}": thr, f"tpr_{name}": tpr["value"],
                    f"tpr_{name}_lo": tpr["lo"], f"tpr_{name}_hi": tpr["hi"],
                    f"fpr_{name}": fpr["value"], f"fpr_{name}_lo": fpr["lo"],
                    f"fpr_{name}_hi": fpr["hi"]})
    if "f1" in thresholds:
        flagged = items[score_col].to_numpy() >= thresholds["f1"]
        y = _labels(items).astype(bool)
        tp, fp, fn = int((flagged & y).sum()), int((flagged & ~y).sum()), int((~flagged & y).sum())
        out["f1"] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    return out


def verdict(lo: float, hi: float, target: float, *, at_least: bool, n: int) -> str:
    """``"met"`` / ``"missed"`` when the interval ``[lo, hi]`` lies on one side of ``target``,
    else ``"not resolvable at n = <n>"``. ``at_least``: the target is a lower bound (AUC >= x);
    otherwise an upper bound (FPR <= x)."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"not resolvable at n = {n}"
    if at_least:
        return "met" if lo >= target else "missed" if hi < target else \
            f"not resolvable at n = {n}"
    return "met" if hi <= target else "missed" if lo > target else f"not resolvable at n = {n}"


def zero_shot_cells(items: pd.DataFrame, *, heldout_families: Sequence[str],
                    heldout_sources: Sequence[str], validation_family: str | None
                    ) -> pd.DataFrame:
    """Label every test item with its cell of the zero-shot 2 x 2.

    ``family``: ``unseen`` (held-out families), ``seen``, or ``validation only`` (the family
    kept out of training for model choice); ``source``: ``unseen`` (held-out real sources) or
    ``seen``. Real tracks have family ``-`` and belong to every family row of their source
    column.
    """
    out = items.copy()
    out["source_cell"] = np.where(out["source"].isin(heldout_sources), "unseen", "seen")
    fam = np.where(out["family"].isin(heldout_families), "unseen", "seen")
    fam = np.where(out["family"] == (validation_family or "\0"), "validation only", fam)
    out["family_cell"] = np.where(out["label"] == "real", "-", fam)
    return out


def two_by_two(items: pd.DataFrame, thresholds: Mapping[str, float], *, n_boot: int = 1000,
               seed: int = 0) -> pd.DataFrame:
    """The zero-shot 2 x 2 (family seen / unseen / validation only x source seen / unseen):
    each cell's AI items against the real test tracks of the same source column, with
    :func:`headline` metrics. Items need the cells of :func:`zero_shot_cells`."""
    rows = []
    for source_cell in ("seen", "unseen"):
        real = items[(items["label"] == "real") & (items["source_cell"] == source_cell)]
        for family_cell in ("seen", "validation only", "unseen"):
            ai = items[(items["label"] == "ai") & (items["source_cell"] == source_cell)
                       & (items["family_cell"] == family_cell)]
            if ai.empty or real.empty:
                continue
            row = headline(pd.concat([real, ai]), thresholds, n_boot=n_boot, seed=seed)
            rows.append({"family": family_cell, "source": source_cell,
                         "strict": family_cell == "unseen" and source_cell == "unseen", **row})
    return pd.DataFrame(rows)


def paired_difference(a: pd.DataFrame, b: pd.DataFrame,
                      statistic: Callable[[pd.DataFrame], float], *, n_boot: int = 1000,
                      seed: int = 0, score_cols: tuple[str, str] = ("p_a", "p_b")
                      ) -> dict[str, float]:
    """``statistic(a) - statistic(b)`` with a paired cluster-bootstrap interval.

    ``a`` and ``b`` score the same items (joined on :data:`ITEM_KEYS`), so every replicate
    resamples the same source tracks for both: the interval reflects the difference between the
    models, not the luck of the draw of tracks.
    """
    keys = [k for k in ITEM_KEYS if k in a.columns]
    joined = a.merge(b[keys + ["p_ai"]], on=keys, suffixes=("", "_b")).rename(
        columns={"p_ai": score_cols[0], "p_ai_b": score_cols[1]})

    def delta(d: pd.DataFrame) -> float:
        return (statistic(d.rename(columns={score_cols[0]: "p_ai"}))
                - statistic(d.rename(columns={score_cols[1]: "p_ai"})))

    res = statistic_with_ci(joined, delta, n_boot=n_boot, seed=seed)
    return {"delta": res["value"], "lo": res["lo"], "hi": res["hi"],
            "n_tracks": res["n_tracks"]}


def paired_auc_difference(a: pd.DataFrame, b: pd.DataFrame, *, n_boot: int = 1000,
                          seed: int = 0) -> dict[str, float]:
    """ROC-AUC of ``a`` minus that of ``b`` (two models' scores of the same items) with the
    paired cluster-bootstrap interval of :func:`paired_difference`.

    When both separate the classes perfectly, every replicate's difference is 0 and the
    bootstrap interval collapses to [0, 0]; each AUC is then only known to lie in
    [:func:`separation_bound`, 1], so the difference gets ``±(1 - bound)``.
    """
    def auc(d: pd.DataFrame) -> float:
        return roc_auc(_labels(d), d["p_ai"].to_numpy())

    res = paired_difference(a, b, auc, n_boot=n_boot, seed=seed)
    if np.isfinite(res["lo"]) and auc(a) == 1.0 and auc(b) == 1.0:
        slack = 1.0 - _items_separation_bound(a)
        res["lo"], res["hi"] = -slack, slack
    return res
