# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Zero-shot evaluation, per track
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/artifactnet-companion/artifactnet-companion/blob/main/notebooks/04_zero_shot.ipynb)
#
# The referee's first objection to the paper was that its "unseen" test partition held out
# *tracks*, not *generators*: a detector can then recognise the generators it was trained on
# rather than the physics they share. ArtifactBench-mini's zero-shot protocol holds out whole
# generator **families** and whole real **sources**: none of their clips is used for training,
# validation or choosing a threshold.
#
# How we count, and why:
#
# * **The unit is the track.** `artifactnet detect` scores a file by the median P(AI) over its
#   chunks, and the paper reports per track; so a test track's score is the median over its
#   clips' chunks, once for the real version and once for each generator's regeneration of it
#   (an *AI item*). The per-clip table is kept as a secondary result.
# * **Intervals over independent music.** ROC-AUC gets a bootstrap that resamples whole source
#   tracks *across both classes* (a real track and its regenerations move together);
#   proportions (TPR, FPR) get exact Clopper–Pearson intervals on the number of independent
#   tracks, which stay honest at 0/n and n/n where a percentile bootstrap collapses to a point.
#   An AUC of exactly 1 collapses the bootstrap too (every resample separates the classes), so
#   its lower end is a distribution-free bound (`ev.separation_bound`): with the highest real
#   score as a threshold, neither class can be far on the wrong side of it at this n.
# * **Thresholds from validation only**: the threshold with the best TPR at validation FPR ≤ 1 %
#   (`fpr1`) and ≤ 5 % (`fpr5`), and the F1-optimal one (`f1`, whose F1 depends on the
#   prevalence, stated beside it).
# * **Verdicts only where the interval resolves them**: *met*, *missed*, or *not resolvable at
#   n = …*.
# * **A control beside every headline number**: the physics-free shortcut probe of notebook 02,
#   scored the same way on the same tracks.

# %%
# Colab only: fetch the companion and install it with its Debian packages (a few minutes; Colab's
# own torch is kept). Anywhere else this cell does nothing: install with `make test` first.
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    if not os.path.isdir("/content/artifactnet"):
        subprocess.run(["git", "clone", "--depth", "1",
                        "https://github.com/artifactnet-companion/artifactnet-companion", "/content/artifactnet"],
                       check=True)
        subprocess.run(["bash", "/content/artifactnet/binder/colab_setup.sh"], check=True)
    sys.path.insert(0, "/content/artifactnet")

# %% tags=["parameters"]
profile = "smoke"
seed = 0
device = None

# %%
import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from artifactnet_core.bench.shortcuts import fit_probe, probe_scores, zero_shot_sets
from artifactnet_core.detector.calibration import (
    apply_platt,
    brier_score,
    expected_calibration_error,
    reliability_table,
)
from artifactnet_core.experiments import evaluation as ev
from artifactnet_core.experiments import pipeline
from artifactnet_core.experiments.cards import write_model_card
from artifactnet_core.experiments.metrics import roc_curve
from artifactnet_core.experiments.outputs import CLASS_COLOURS, save_fig, save_table
from artifactnet_core.experiments.runner import report_resources
from artifactnet_core.profiles import get_profile

prof = get_profile(profile)
n_boot = prof.evaluation.n_boot
data = pipeline.get_bench(prof, seed=seed)
meta = json.loads((data.root / "bench_config.json").read_text())
choice = pipeline.default_detector(data, prof, seed=seed, device=device)
detector = choice.chosen
held_families, held_sources = tuple(meta["heldout_families"]), tuple(meta["heldout_sources"])
val_family = pipeline.validation_family(data)
print("detector:", detector.key)
print("held-out families:", held_families, "| held-out sources:", held_sources,
      "| validation family:", val_family)

# %% [markdown]
# ## Scores per track, thresholds from validation
#
# Every test clip is scored (WAV), then aggregated per item. Thresholds are chosen on the
# validation items (WAV, all validation families) and only then applied to the test items.

# %%
val_family_args = dict(heldout_families=held_families, heldout_sources=held_sources,
                       validation_family=val_family)


def scored_items(det: pipeline.DetectorRun
                 ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Test clip scores of ``det`` (WAV), its test items (per track, with their 2 x 2 cell) and
    its validation thresholds."""
    clips = det.score(data.rows(split="test"), "wav")
    items = ev.zero_shot_cells(ev.track_scores(clips), **val_family_args)
    val = ev.track_scores(det.val_scores[det.val_scores["version"] == "wav"])
    return clips, items, ev.operating_thresholds(val)


test_clips, test_items, thresholds = scored_items(detector)
print("thresholds:", {k: round(v, 4) for k, v in thresholds.items()})
zero_shot = test_items[(test_items["label"] == "real") | (test_items["family_cell"] == "unseen")]
print(f"zero-shot test: {int((zero_shot['label'] == 'real').sum())} real tracks, "
      f"{int((zero_shot['label'] == 'ai').sum())} AI items of held-out families")

# %% [markdown]
# ## The shortcut probe on the same tracks
#
# The logistic regression on physics-free descriptors (notebook 02), trained on the same
# training clips as the detector (without the validation family), its thresholds chosen on the
# same validation items, scored per track on the same test items.

# %%
descriptors = pd.read_csv(data.root / "descriptors.csv")
table = data.df.merge(descriptors, on="path")
probe_train, _ = zero_shot_sets(table, exclude_families=(val_family,) if val_family else ())
probe = fit_probe(probe_train)


def probe_items(rows: pd.DataFrame) -> pd.DataFrame:
    scored = rows.merge(descriptors, on="path")
    return ev.track_scores(scored.assign(p_ai=probe_scores(probe, scored)))


probe_test = ev.zero_shot_cells(probe_items(data.rows(split="test")), **val_family_args)
probe_thresholds = ev.operating_thresholds(probe_items(data.rows(split="val")))
probe_zero_shot = probe_test[(probe_test["label"] == "real")
                             | (probe_test["family_cell"] == "unseen")]

# %% [markdown]
# ## Headline: zero-shot, per track
#
# Real test tracks of every source against the regenerations by the held-out families.

# %%
rows = []
for model, items, thr in (("ArtifactNet", zero_shot, thresholds),
                          ("shortcut probe (physics-free)", probe_zero_shot, probe_thresholds)):
    rows.append({"model": model, **ev.headline(items, thr, n_boot=n_boot, seed=seed)})
headline = pd.DataFrame(rows)
headline["profile"] = prof.name
save_table(headline, "tab04_zero_shot",
           caption=f"Zero-shot test per track ({prof.name} profile): ArtifactNet and the "
                   "shortcut probe on the same items. AUC: 95 % bootstrap over source tracks; "
                   "TPR/FPR: exact intervals on independent tracks; thresholds from validation.")
headline[["model", "n_real_tracks", "n_ai_items", "auc", "auc_lo", "auc_hi", "tpr_fpr1",
          "tpr_fpr1_lo", "tpr_fpr1_hi", "fpr_fpr1", "fpr_fpr1_hi", "tpr_fpr5", "fpr_fpr5",
          "f1", "prevalence"]]

# %% [markdown]
# ## Lossless sources only
#
# Half the real sources reach us as Vorbis or Opus files, and the chain re-encodes their
# regenerations the same way. The tracks of the *lossless* sources (symbolic music rendered
# here, never lossy) are free of that history on both sides: the same zero-shot test on them
# alone.

# %%
def lossless_only(items: pd.DataFrame) -> pd.DataFrame:
    return items[items["lossless"].astype(str) == "True"]


lossless = pd.DataFrame([
    {"model": model, **ev.headline(lossless_only(items), thr, n_boot=n_boot, seed=seed)}
    for model, items, thr in (("ArtifactNet", zero_shot, thresholds),
                              ("shortcut probe (physics-free)", probe_zero_shot,
                               probe_thresholds))])
save_table(ev.counts_as_integers(lossless), "tab04_lossless",
           caption="Zero-shot per track, lossless real sources only (their regenerations "
                   "included), thresholds from validation as above.")
lossless[["model", "n_real_tracks", "n_ai_items", "auc", "auc_lo", "auc_hi", "tpr_fpr1",
          "fpr_fpr1", "fpr_fpr1_hi"]]

# %% [markdown]
# ## The zero-shot 2 × 2
#
# Which part of "unseen" is hard: an unseen generator family, an unseen real source, or both
# (the **strict** cell)? The validation family was never trained on but chose the model, so it
# is shown apart ("validation only").

# %%
cells = ev.two_by_two(test_items, thresholds, n_boot=n_boot, seed=seed)
probe_cells = ev.two_by_two(probe_test, probe_thresholds, n_boot=n_boot, seed=seed)
cells = cells.merge(probe_cells[["family", "source", "auc"]].rename(
    columns={"auc": "probe_auc"}), on=["family", "source"], how="left")
save_table(cells, "tab04_two_by_two",
           caption="Zero-shot 2 x 2 per track (family seen / unseen x real source seen / "
                   "unseen), with the shortcut probe's AUC in the same cell.")
cells[["family", "source", "strict", "n_real_tracks", "n_ai_items", "auc", "auc_lo", "auc_hi",
       "tpr_fpr1", "tpr_fpr1_lo", "probe_auc"]]

# %% [markdown]
# ## Per family and per real source
#
# Per family: that family's AI items against all real test tracks. Per source: the source's own
# real tracks and AI items. Groups with fewer than 10 tracks get their n, not an interval.

# %%
real_test = test_items[test_items["label"] == "real"]
per_family = pd.DataFrame([
    {"family": fam, "cell": part["family_cell"].iloc[0],
     **ev.headline(pd.concat([real_test, part]), thresholds, n_boot=n_boot, seed=seed)}
    for fam, part in test_items[test_items["label"] == "ai"].groupby("family")])
per_source = pd.DataFrame([
    {"source": src, **ev.headline(part, thresholds, n_boot=n_boot, seed=seed)}
    for src, part in test_items.groupby("source") if part["label"].nunique() == 2])
save_table(per_family, "tab04_per_family")
save_table(per_source, "tab04_per_source")
per_family[["family", "cell", "n_ai_items", "tpr_fpr1", "tpr_fpr1_lo", "tpr_fpr1_hi", "auc",
            "auc_lo", "auc_hi"]]

# %%
fig, ax = plt.subplots(figsize=(9, 3.8))
order = per_family.sort_values(["cell", "tpr_fpr5"])
colors = {"unseen": "tab:red", "seen": "tab:gray", "validation only": "tab:orange"}
err = np.vstack([order["tpr_fpr5"] - order["tpr_fpr5_lo"], order["tpr_fpr5_hi"] - order["tpr_fpr5"]])
ax.bar(order["family"], order["tpr_fpr5"], yerr=np.nan_to_num(err), capsize=3,
       color=[colors[c] for c in order["cell"]])
ax.set(ylabel="TPR at the fpr5 threshold", ylim=(0, 1.05),
       title="Detection rate per family, per track (red: held out; orange: validation only)")
ax.tick_params(axis="x", rotation=30)
save_fig(fig, "fig04_per_family")

# %% [markdown]
# ## ROC curves: detector and probe

# %%
fig, ax = plt.subplots(figsize=(5.2, 4.6))
for name, items, style in (("ArtifactNet", zero_shot, "-"),
                           ("shortcut probe", probe_zero_shot, "--")):
    fpr, tpr = roc_curve((items["label"] == "ai").to_numpy(), items["p_ai"].to_numpy())
    ax.plot(fpr, tpr, style, color=CLASS_COLOURS["ai"] if style == "-" else "gray", label=name)
ax.plot([0, 1], [0, 1], ":", color="gray")
ax.axvline(0.01, color="k", lw=0.6, ls=":")
ax.set(xlabel="FPR (real tracks flagged)", ylabel="TPR (AI items flagged)",
       title="Zero-shot ROC, per track")
ax.legend()
save_fig(fig, "fig04_roc")

# %% [markdown]
# ## Per clip (secondary)
#
# The same zero-shot test with every 4 s clip as an item (what earlier versions reported).

# %%
clip_items = ev.zero_shot_cells(test_clips, **val_family_args)
clip_zero_shot = clip_items[(clip_items["label"] == "real")
                            | (clip_items["family_cell"] == "unseen")]
per_clip = pd.DataFrame([{"unit": "clip", **ev.headline(clip_zero_shot, thresholds,
                                                        n_boot=n_boot, seed=seed)}])
save_table(per_clip, "tab04_per_clip")
per_clip[["n_real_tracks", "n_ai_items", "auc", "auc_lo", "auc_hi", "tpr_fpr1", "fpr_fpr1"]]

# %% [markdown]
# ## Seed-to-seed spread
#
# How much of a difference is noise? The chosen configuration retrained with other seeds (same
# benchmark, same rules: thresholds from each run's own validation), scored on the same zero-shot
# items. A difference between two models smaller than this spread is not a finding.

# %%
spread_rows = []
for s in range(seed, seed + prof.evaluation.seeds):
    det = detector if s == seed else pipeline.train_variant(detector, data, prof, seed=s,
                                                            device=device)
    _, items, thr = (None, zero_shot, thresholds) if s == seed else scored_items(det)
    items = items[(items["label"] == "real") | (items["family_cell"] == "unseen")]
    spread_rows.append({"seed": s, **ev.headline(items, thr, n_boot=0, seed=s)})
spread = pd.DataFrame(spread_rows)
SPREAD_COLUMNS = ["auc", "tpr_fpr1", "fpr_fpr1", "tpr_fpr5", "fpr_fpr5", "f1"]
summary_rows = [{"seed": stat, **getattr(spread[SPREAD_COLUMNS], stat)().to_dict()}
                for stat in ("mean", "min", "max")]
seed_spread = pd.concat([spread[["seed", *SPREAD_COLUMNS]], pd.DataFrame(summary_rows)],
                        ignore_index=True)
seed_spread["profile"] = prof.name
save_table(seed_spread, "tab04_seed_variance",
           caption=f"Zero-shot per-track metrics of the chosen configuration over "
                   f"{len(spread)} training seeds (benchmark fixed at seed {seed}).")
seed_spread

# %% [markdown]
# ## Against the paper's and this project's targets
#
# The paper reports F1 = 0.9829 and FPR = 1.49 % on its unseen partition; this project's laptop
# targets are zero-shot ROC-AUC ≥ 0.98 and TPR ≥ 0.90 at the 1 %-FPR validation threshold. A
# verdict is given only where the interval lies on one side of the target.

# %%
h = headline.iloc[0]
targets = pd.DataFrame([
    {"claim": "ROC-AUC (zero-shot, per track)", "target": ">= 0.98", "measured": h["auc"],
     "lo": h["auc_lo"], "hi": h["auc_hi"],
     "verdict": ev.verdict(h["auc_lo"], h["auc_hi"], 0.98, at_least=True,
                           n=int(h["n_tracks"]))},
    {"claim": "TPR at the fpr1 threshold", "target": ">= 0.90", "measured": h["tpr_fpr1"],
     "lo": h["tpr_fpr1_lo"], "hi": h["tpr_fpr1_hi"],
     "verdict": ev.verdict(h["tpr_fpr1_lo"], h["tpr_fpr1_hi"], 0.90, at_least=True,
                           n=int(h["n_ai_tracks"]))},
    {"claim": "FPR at the fpr1 threshold (paper: 1.49 %)", "target": "<= 0.015",
     "measured": h["fpr_fpr1"], "lo": h["fpr_fpr1_lo"], "hi": h["fpr_fpr1_hi"],
     "verdict": ev.verdict(h["fpr_fpr1_lo"], h["fpr_fpr1_hi"], 0.015, at_least=False,
                           n=int(h["n_real_tracks"]))},
    {"claim": f"F1 at the f1 threshold (paper: 0.9829; prevalence {h['prevalence']:.2f})",
     "target": ">= 0.98", "measured": h["f1"], "lo": np.nan, "hi": np.nan,
     "verdict": f"not resolvable at n = {int(h['n_tracks'])} (no interval for F1)"},
])
targets["profile"] = prof.name
save_table(targets, "tab04_targets")
targets

# %% [markdown]
# ## What the score means: calibration
#
# A track's score is the median of its chunks' P(AI). It ranks tracks, but nothing forces a
# score of 0.8 to mean "80 % of such tracks are AI". Training fits **Platt scaling** (Platt 1999)
# on the *validation* tracks — a logistic curve on the logit of the score, stored in the model's
# config (`calibration`) and reported by `detect` as `p_calibrated` — so that the calibrated
# value is the fraction of AI tracks among validation tracks with that score, *at the validation
# mix of real and AI*. Here we check both numbers on the zero-shot test tracks, which the fit
# never saw:
#
# - the **Brier score** is the mean squared gap between the probability and the 0/1 label
#   (0 is perfect; a constant forecast of the prevalence scores prevalence × (1 − prevalence));
# - the **expected calibration error** (ECE, Guo et al. 2017) bins the probabilities into ten
#   equal-width bins and averages |mean probability − fraction AI| weighted by the bin counts;
# - the **reliability diagram** plots the fraction AI against the mean probability per bin: a
#   calibrated score lies on the diagonal.
#
# The control is the forecast that knows nothing about the track: the validation prevalence for
# every test item. Its ECE is near 0 whenever the two prevalences agree although it separates
# nothing — which is why the Brier score, not the ECE, is the number to compare. With a few dozen
# test tracks a bin holds a handful of items, so read the diagram's counts before its shape.

# %%
platt = detector.model.config.calibration
y_zero_shot = zero_shot["label"].to_numpy()
val_prevalence = (platt["n_ai"] / platt["n"]) if platt else float("nan")
forecasts = {"raw score (median chunk P(AI))": zero_shot["p_ai"].to_numpy()}
if platt:
    forecasts["Platt-calibrated (fit on validation)"] = apply_platt(zero_shot["p_ai"], platt)
    forecasts["validation prevalence (control)"] = np.full(len(zero_shot), val_prevalence)
calibration = pd.DataFrame([
    {"score": name, "n_items": len(zero_shot), "n_ai": int((y_zero_shot == "ai").sum()),
     "prevalence": float((y_zero_shot == "ai").mean()), "brier": brier_score(y_zero_shot, p),
     "ece": expected_calibration_error(y_zero_shot, p)}
    for name, p in forecasts.items()])
calibration["n_val"] = platt.get("n", 0)
calibration["profile"] = prof.name
save_table(calibration, "tab04_calibration",
           caption="Calibration on the zero-shot test items (per track): Brier score and ECE "
                   "(10 bins) of the raw score, the Platt calibration fitted on validation, and "
                   "the validation prevalence as a constant forecast.")
calibration

# %%
fig, axes = plt.subplots(1, 2, figsize=(9.6, 4.2), gridspec_kw={"width_ratios": [1.4, 1]})
ax = axes[0]
ax.plot([0, 1], [0, 1], ":", color="gray", label="calibrated")
for (name, p), style in zip(list(forecasts.items())[:2], ("o-", "s--"), strict=False):
    bins = reliability_table(y_zero_shot, p)
    ax.plot(bins["mean_p"], bins["fraction_ai"], style, label=name)
    for x, y, n in zip(bins["mean_p"], bins["fraction_ai"], bins["count"], strict=True):
        ax.annotate(str(int(n)), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
ax.set(xlabel="mean probability in the bin", ylabel="fraction of AI items in the bin",
       xlim=(0, 1), ylim=(-0.02, 1.02), title="Reliability, zero-shot tracks (numbers: items)")
ax.legend(fontsize=8, loc="upper left")
ax = axes[1]
edges = np.linspace(0, 1, 21)
for label in ("real", "ai"):
    ax.hist(forecasts["raw score (median chunk P(AI))"][y_zero_shot == label], bins=edges,
            alpha=0.6, color=CLASS_COLOURS[label], label=label)
ax.set(xlabel="raw score", ylabel="tracks / items", title="Raw scores by class")
ax.legend()
fig.tight_layout()
save_fig(fig, "fig04_reliability")

# %% [markdown]
# ## What the numbers say
#
# Computed from the tables above.

# %%
p = headline.iloc[1]
strict = cells[cells["strict"]]
lines = [f"- Zero-shot per track: ROC-AUC {h['auc']:.3f} [{h['auc_lo']:.3f}, {h['auc_hi']:.3f}] "
         f"over {int(h['n_tracks'])} source tracks; the shortcut probe reaches "
         f"{p['auc']:.3f} [{p['auc_lo']:.3f}, {p['auc_hi']:.3f}] on the same items."]
margin = ev.paired_auc_difference(
    zero_shot, zero_shot.drop(columns="p_ai").merge(
        probe_zero_shot[list(ev.ITEM_KEYS) + ["p_ai"]], on=list(ev.ITEM_KEYS)),
    n_boot=n_boot, seed=seed)
lines.append(f"- Detector minus probe: ΔAUC {margin['delta']:+.3f} [{margin['lo']:+.3f}, "
             f"{margin['hi']:+.3f}] (paired bootstrap): "
             + ("the residual physics adds a margin the probe cannot explain."
                if margin["lo"] > 0 else "the margin over physics-free cues is not resolved."))
if len(strict):
    s = strict.iloc[0]
    lines.append(f"- Strict cell (unseen family on an unseen source): AUC {s['auc']:.3f} with "
                 f"{int(s['n_real_tracks'])} real tracks and {int(s['n_ai_items'])} AI items.")
lines.append(f"- Over {len(spread)} training seeds the zero-shot AUC spans "
             f"{spread['auc'].min():.3f}–{spread['auc'].max():.3f} and TPR at the fpr1 threshold "
             f"{spread['tpr_fpr1'].min():.3f}–{spread['tpr_fpr1'].max():.3f}: differences "
             "smaller than that are training noise.")
if platt:
    raw, cal, const = (calibration.iloc[k] for k in range(3))
    lines.append(f"- Calibration on {int(raw['n_items'])} zero-shot items (prevalence "
                 f"{raw['prevalence']:.2f}; Platt fitted on {int(raw['n_val'])} validation "
                 f"tracks, prevalence {val_prevalence:.2f}): Brier {raw['brier']:.3f} raw, "
                 f"{cal['brier']:.3f} calibrated, {const['brier']:.3f} for the constant "
                 f"forecast; ECE {raw['ece']:.3f} raw, {cal['ece']:.3f} calibrated. "
                 + ("Platt scaling improves the Brier score here."
                    if cal["brier"] < raw["brier"] else
                    "Platt scaling does not improve the Brier score here: the validation "
                    "tracks do not represent the test mix well enough to recalibrate on."))
for _, t in targets.iterrows():
    lines.append(f"- {t['claim']}: {t['measured']:.3f} → {t['verdict']}.")
print("\n".join(lines))

# %% [markdown]
# ## The model card
#
# `data_cards/model_card.md` is written from these tables.

# %%
card = write_model_card(profile=prof.name, seed=seed,
                        config=json.loads(detector.model.config.to_json()),
                        parameters=detector.model.parameter_counts(), headline=headline,
                        cells=cells, per_family=per_family, targets=targets,
                        heldout_families=held_families, heldout_sources=held_sources)
print("wrote", card)

# %% [markdown]
# ## Exercises
#
# 1. **The hardest family.** Which generator family has the lowest TPR in the per-family table?
#    Look up its decoder in notebook 02 (up-sampling layer, stride, quantiser) and explain from
#    notebook 01's physics why its residual is the least telling. Check your explanation in the
#    explorer (notebook 08) on one of its clips.
# 2. **How wide is "95 %"?** Recompute the headline AUC interval resampling *items* instead of
#    source tracks (`ev.cluster_bootstrap(..., cluster_col=...)` with a column that is unique
#    per row). Are the intervals narrower? Which one answers "would this hold on new music?"
# 3. **Whose threshold?** Choose the threshold that maximises F1 on the *test* items and compare
#    its F1 with the reported one. Why is that number not a result, and what does the gap say
#    about how well validation represents the test set?
#
# Solutions: `notebooks/solutions/04_zero_shot_solutions.md`.
#
# ## Further reading
#
# - T. Fawcett, "An introduction to ROC analysis", *Pattern Recognition Letters* 27 (2006) —
#   ROC curves, AUC and operating points.
# - J. A. Hanley and B. J. McNeil, "The meaning and use of the area under a ROC curve",
#   *Radiology* 143 (1982) — AUC as the probability that an AI item outscores a real one.
# - C. J. Clopper and E. S. Pearson, "The use of confidence or fiducial limits illustrated in the
#   case of the binomial", *Biometrika* 26 (1934) — the exact intervals used at 0 % and 100 %.
# - B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap* (1993) — the bootstrap;
#   here resampled by source track, the unit that makes the test items independent.
# - J. Platt, "Probabilistic outputs for support vector machines and comparisons to regularized
#   likelihood methods", *Advances in Large Margin Classifiers* (1999) — Platt scaling.
# - C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On calibration of modern neural networks",
#   ICML 2017 — reliability diagrams and the expected calibration error.

# %%
assert set(zero_shot["label"]) == {"ai", "real"}
assert test_items["p_ai"].between(0, 1).all()
assert not set(held_families) & set(data.rows(split=("train", "val"))
                                    .query("label == 'ai'")["family"])
report_resources("04_zero_shot")
