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
# # 07 · Ablations and the referee's controls
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/artifactnet-companion/artifactnet-companion/blob/main/notebooks/07_ablations_controls.ipynb)
#
# The paper's referee raised three objections the paper did not answer with experiments:
#
# 1. the "unseen" test partition held out **tracks**, not **generators**;
# 2. no control shows that **real music through lossy codecs** is not flagged as AI – a detector
#    of codec traces would look like a detector of neural-codec traces;
# 3. the contribution of **HPSS** to the seven-channel features was not isolated.
#
# This notebook runs all three, plus the ablations of our own design choices: the mask bound,
# the UNet objective, and leave-one-family-out generalisation. Every variant is trained exactly
# like the default detector (same data, codec augmentation, budget and seed) and evaluated on the
# same clips with bootstrap 95 % confidence intervals over source tracks.

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
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from artifactnet_core.bench.versions import CONTROL_VERSIONS
from artifactnet_core.experiments import pipeline
from artifactnet_core.experiments.metrics import binary_metrics, metrics_by
from artifactnet_core.experiments.outputs import save_fig, save_table
from artifactnet_core.experiments.runner import report_resources
from artifactnet_core.profiles import get_profile

prof = get_profile(profile)
data = pipeline.get_bench(prof, seed=seed)
held = pipeline.heldout_families(data)
choice = pipeline.default_detector(data, prof, seed=seed, device=device)
default = choice.chosen
objective = default.unet_recipe.objective
test = data.rows(split="test")
zero_shot = test[(test["label"] == "real") | test["family"].isin(held)]
eval_rows = pipeline.sample_rows(zero_shot, prof.evaluation.max_eval_clips, seed=seed)
print(f"default: {objective} objective; ablations scored on {len(eval_rows)} zero-shot clips")


def evaluate(det: pipeline.DetectorRun, rows: pd.DataFrame, name: str, **extra) -> dict:
    s = det.score(rows, "wav", progress=False)
    m = metrics_by(s, None, threshold=det.threshold, n_boot=prof.evaluation.n_boot, seed=seed).iloc[0]
    keep = ["n", "f1", "f1_lo", "f1_hi", "fpr", "fpr_lo", "fpr_hi", "auc", "auc_lo", "auc_hi"]
    return {"variant": name, **extra, **{k: m[k] for k in keep}}


# %% [markdown]
# ## 1 · Generator-level vs track-level hold-out
#
# The same recipe trained twice: on the zero-shot protocol (held-out families and source never
# seen) and on the paper's track-level protocol (every generator and source seen in training,
# only the tracks differ), each tested on its own protocol's test split.

# %%
track = pipeline.train_detector(data, prof, objective=objective, protocol="track", seed=seed,
                                device=device)
track_test = data.rows(split="test", protocol="track")
protocols = pd.DataFrame([
    evaluate(default, eval_rows, "zero-shot protocol (generator + source held out)"),
    evaluate(track, pipeline.sample_rows(track_test, prof.evaluation.max_eval_clips, seed=seed),
             "track-level protocol (paper)"),
])
save_table(protocols, "tab07_protocols")
protocols[["variant", "n", "f1", "fpr", "auc", "auc_lo", "auc_hi"]]

# %% [markdown]
# ## 2 · Real music through lossy codecs (FPR must not rise)
#
# Every real test clip re-encoded with MP3, AAC, Opus and Vorbis at 64 and 128 kbit/s. Vorbis is
# never used in training, so it is a codec the detector has not seen. Shown for the codec-aware
# default and for the same recipe trained on WAV only.

# %%
plain = pipeline.train_detector(data, prof, objective=objective, codec_aware=False, seed=seed,
                                device=device)
real_test = pipeline.sample_rows(test[test["label"] == "real"],
                                 prof.evaluation.max_eval_clips and prof.evaluation.max_eval_clips // 2, seed=seed)
control = []
for name, det in (("codec-aware", default), ("WAV only", plain)):
    for version in ("wav", *CONTROL_VERSIONS):
        s = det.score(real_test, version, progress=False)
        flagged = s["p_ai"] >= det.threshold
        control.append({"training": name, "version": version, "n_real": len(s),
                        "fpr": flagged.mean(), "mean_p_ai": s["p_ai"].mean()})
control = pd.DataFrame(control)
save_table(control, "tab07_codec_control",
           caption="FPR of real test clips per codec version (threshold from validation).")
fig, ax = plt.subplots(figsize=(10, 3.6))
wide = control.pivot(index="version", columns="training", values="fpr").reindex(
    ["wav", *CONTROL_VERSIONS])
wide.plot.bar(ax=ax)
ax.axhline(0.015, color="gray", ls=":", label="paper FPR 1.49 %")
ax.set(ylabel="FPR on real test clips", title="Codec control: real music re-encoded")
ax.legend()
save_fig(fig, "fig07_codec_control")
wide

# %% [markdown]
# ## 3 · HPSS ablation: what do the seven channels add?
#
# Same UNet residual, same classifier budget: the paper's seven HPSS channels vs the residual
# alone (mel, Δ, Δ²) vs a single mel channel of the residual; and the seven channels computed from
# $|X|$ itself, with no UNet at all.

# %%
variants = [("hpss7: 7 HPSS channels of R (paper)", default)]
for fs, name in (("residual3", "residual3: mel, Δ, Δ² of R"), ("residual1", "residual1: mel of R")):
    variants.append((name, pipeline.train_detector(data, prof, objective=objective,
                                                   feature_set=fs, seed=seed, device=device)))
variants.append(("no UNet: 7 HPSS channels of |X|",
                 pipeline.train_detector(data, prof, use_unet=False, seed=seed, device=device)))
hpss = pd.DataFrame([evaluate(det, eval_rows, name) for name, det in variants])
save_table(hpss, "tab07_hpss")
hpss[["variant", "f1", "fpr", "auc", "auc_lo", "auc_hi"]]

# %% [markdown]
# ## 4 · Mask bound and 5 · UNet objective

# %%
bounds = [("bound 0.5 (paper)", default)]
for bound in (1.0, None):
    bounds.append((f"bound {bound}" if bound else "unbounded (softplus)",
                   pipeline.train_detector(data, prof, objective=objective, mask_bound=bound,
                                           seed=seed, device=device)))
mask = pd.DataFrame([evaluate(det, eval_rows, name) for name, det in bounds])
save_table(mask, "tab07_mask_bound")
objectives = pd.DataFrame([
    evaluate(det, eval_rows, obj, selection_auc=pipeline.selection_score(det),
             chosen=obj == objective)
    for obj, det in choice.candidates.items()])
save_table(objectives, "tab07_objective")
pd.concat([mask, objectives])[["variant", "f1", "fpr", "auc", "auc_lo", "auc_hi"]]

# %% [markdown]
# ## 6 · Leave-one-family-out
#
# For each family seen in training, the classifier is retrained without it and tested on every
# family's test clips. The residual comes from the `real_only` UNet, which never saw any
# generator, so leaving a family out of the classifier leaves it out of the whole detector.

# %%
train_families = sorted(set(data.rows(split="train").query("label == 'ai'")["family"]))
lofo_rows = []
real_scores = None
for left_out in ["(none)", *train_families]:
    exclude = () if left_out == "(none)" else (left_out,)
    if set(train_families) <= set(exclude):
        continue
    det = pipeline.train_detector(data, prof, objective="real_only", exclude_families=exclude,
                                  seed=seed, device=device, progress=False)
    s = det.score(test, "wav", progress=False)
    real = s[s["label"] == "real"]
    for family, part in s[s["label"] == "ai"].groupby("family"):
        y = np.r_[np.ones(len(part)), np.zeros(len(real))]
        p = np.r_[part["p_ai"], real["p_ai"]]
        m = binary_metrics(y, p, threshold=det.threshold)
        lofo_rows.append({"left_out": left_out, "family": family, "tpr": m["recall"],
                          "f1": m["f1"], "fpr": m["fpr"], "test_family_held_out": family in held})
lofo = pd.DataFrame(lofo_rows)
save_table(lofo, "tab07_leave_one_family_out")
heat = lofo.pivot(index="left_out", columns="family", values="tpr")
fig, ax = plt.subplots(figsize=(1.2 * heat.shape[1] + 3, 0.6 * heat.shape[0] + 2))
im = ax.imshow(heat.to_numpy(), vmin=0, vmax=1, cmap="viridis")
for (i, j), v in np.ndenumerate(heat.to_numpy()):
    ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="w" if v < 0.6 else "k")
ax.set(xticks=range(heat.shape[1]), xticklabels=heat.columns, yticks=range(heat.shape[0]),
       yticklabels=heat.index, xlabel="test family", ylabel="family left out of training",
       title="TPR per test family, leave-one-family-out")
ax.tick_params(axis="x", rotation=45)
fig.colorbar(im, ax=ax, label="TPR")
save_fig(fig, "fig07_leave_one_family_out")
heat

# %% [markdown]
# ## What this means for the paper's claims
#
# The next cell turns the tables into statements, each with the interval it rests on. A
# difference counts only when the intervals of the two rows do not overlap; on the smaller
# profiles most do, and the honest reading is then "not resolved by this benchmark".

# %%
def compare(a: pd.Series, b: pd.Series, metric: str = "auc") -> str:
    lo_a, hi_a, lo_b, hi_b = (a[f"{metric}_lo"], a[f"{metric}_hi"], b[f"{metric}_lo"],
                              b[f"{metric}_hi"])
    verdict = ("clearly higher" if lo_a > hi_b else "clearly lower" if hi_a < lo_b
               else "not distinguishable")
    return (f"{a['variant']}: {metric.upper()} {a[metric]:.3f} [{lo_a:.3f}, {hi_a:.3f}] vs "
            f"{b['variant']}: {b[metric]:.3f} [{lo_b:.3f}, {hi_b:.3f}] -> {verdict}")


aware = control[control["training"] == "codec-aware"]
worst = aware.loc[aware["fpr"].idxmax()]
statements = [
    "1. Protocol: " + compare(protocols.iloc[0], protocols.iloc[1], "f1"),
    f"2. Codec control: FPR on real WAV {aware.iloc[0]['fpr']:.3f}; worst lossy version "
    f"{worst['version']} at {worst['fpr']:.3f} "
    + ("(above the paper's 1.49 %: part of what the detector flags is the codec)"
       if worst["fpr"] > 0.0149 else "(within the paper's 1.49 %)"),
    "3a. HPSS: " + compare(hpss.iloc[0], hpss.iloc[1]),
    "3b. UNet residual vs |X|: " + compare(hpss.iloc[0], hpss.iloc[3]),
    "4. Mask bound: " + compare(mask.iloc[0], mask.iloc[2]),
    "5. Objective: " + compare(objectives.iloc[0], objectives.iloc[1]),
]
for line in statements:
    print(line)
summary = pd.DataFrame({"statement": statements, "profile": prof.name})
save_table(summary, "tab07_summary")

# %%
assert len(control) == 2 * (1 + len(CONTROL_VERSIONS))
assert control["fpr"].between(0, 1).all()
report_resources("07_ablations_controls")
