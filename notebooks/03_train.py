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
# # 03 · Training ArtifactNet
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/artifactnet-companion/artifactnet-companion/blob/main/notebooks/03_train.ipynb)
#
# ArtifactNet has two trainable parts. The **ArtifactUNet** looks at a magnitude spectrogram
# $|X|$ and predicts a mask $M \in [0, 0.5]$; the **residual** $R = M \odot |X|$ is the part of
# the spectrogram it considers *not music*. HPSS splits $R$ into harmonic and percussive parts,
# seven mel-dB channels are derived from them, and a **compact CNN** reads those channels.
#
# The paper does not say how the UNet is trained, so we implement two objectives and ask
# validation on an *unseen generator family* to choose between them (DESIGN.md §3). Validation
# can only choose when the two differ by more than a small margin; when they tie, the paper's
# own description wins (the human-music-only objective), and the table says which happened:
#
# * **paired** – supervised residual regression. For a real clip $x$ and its regeneration
#   $G(x)$ the target residual is $\min(\,||G| - |X||,\ 0.5\,|G|\,)$: exactly what the generator
#   changed, within the mask's bound. Real music (and real music through a lossy codec) has
#   target zero.
# * **real_only** – human music only. Real clips get synthetic artifacts added (the periodic
#   spectral peaks of an up-sampler, zero-insertion images, envelope-shaped noise) and the UNet
#   learns to pull them out; it never sees a generator's output.
#
# Both are trained *codec-aware*: half of the items go through their clip's assigned lossy codec
# (MP3, AAC or Opus, 64–192 kbit/s) first, with the same codec for input and reference, so a codec
# alone never produces a residual. The classifier then learns on cached feature maps with
# class-balanced batches; its decision threshold is chosen on validation data, never on test.

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
device = None  # None: CUDA when present, else CPU
export_weights = False  # write the chosen model into the package (make reproduce)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from artifactnet_core.experiments import pipeline
from artifactnet_core.experiments.outputs import save_fig, save_table
from artifactnet_core.experiments.runner import report_resources
from artifactnet_core.profiles import get_profile

prof = get_profile(profile)
data = pipeline.get_bench(prof, seed=seed)
print(data, "| profile:", prof.name, "| UNet base width:", prof.unet.base_width)
print("validation family (unseen in training, used for model choice):",
      pipeline.validation_family(data))
print("held-out test families:", pipeline.heldout_families(data))

# %% [markdown]
# ## Both UNet objectives, each with its classifier
#
# `default_detector` trains (or loads from the cache) the two configurations and compares them
# per track on validation tracks: the real validation tracks against the regenerations by the
# generator family that was kept out of training. The `reason` column says why the chosen row
# was chosen.

# %%
choice = pipeline.default_detector(data, prof, seed=seed, device=device)
detector, selection = choice.chosen, choice.table
save_table(selection, "tab03_objective_selection",
           caption="UNet objective chosen on validation (unseen generator family), never on "
                   f"test; a margin under {pipeline.SELECTION_TIE} is a tie.")
selection

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
for key, det in choice.candidates.items():
    name = ", width ".join(map(str, key)) if isinstance(key, tuple) else key
    hist = det.unet_history
    axes[0].plot(hist["step"], hist["train_loss"].rolling(10, min_periods=1).mean(),
                 label=f"{name} (train, smoothed)")
    val = hist.dropna(subset=["val_loss"])
    axes[0].plot(val["step"], val["val_loss"], "o--", label=f"{name} (validation)")
    # Validated epochs only: the kept one is chosen among the profile's last `validate_last`.
    ch = det.classifier_history.dropna(subset=["val_auc"])
    axes[1].plot(ch["epoch"], ch["val_auc"], "o-", label=f"{name}")
axes[0].set(xlabel="step", ylabel="log-residual L1", title="ArtifactUNet")
axes[1].set(xlabel="epoch", ylabel="validation ROC-AUC (per clip)",
            title="Compact CNN (validation, candidate epochs)")
for ax in axes:
    ax.legend(fontsize=8)
save_fig(fig, "fig03_training_curves")

# %% [markdown]
# ## The chosen detector
#
# Parameter counts match the paper's architecture (UNet ≈ 3.6M at base width 32, CNN ≈ 0.4M);
# smaller profiles use a narrower UNet to fit two CPU cores, which the table states.

# %%
counts = detector.model.parameter_counts()
summary = pd.DataFrame([{
    "profile": prof.name, "objective": detector.unet_recipe.objective,
    "unet_base_width": detector.model.config.unet_base_width, "unet_params": counts["unet"],
    "cnn_params": counts["classifier"], "total_params": counts["total"],
    "threshold": detector.threshold, **{k: round(v, 1) for k, v in detector.timings.items()},
}])
save_table(summary, "tab03_model")
summary

# %% [markdown]
# ## What the numbers say
#
# Computed from the selection table above.

# %%
tie = pipeline.SELECTION_TIE
chosen = selection[selection["chosen"]].iloc[0]
same_width = selection[selection["unet_base_width"] == selection["unet_base_width"].iloc[0]]
auc = same_width.set_index("objective")["selection_auc"]
n_val = int(chosen["n_val_tracks"]) if "n_val_tracks" in selection else None
margin = float(abs(auc.get("paired", np.nan) - auc.get("real_only", np.nan)))
lines = [f"- Selection ROC-AUC per track on {n_val} validation tracks: "
         + ", ".join(f"{obj} {v:.4f}" for obj, v in auc.items()) + f"; margin {margin:.4f}."]
if not np.isfinite(margin):
    lines.append("- Only one objective was trained: nothing was chosen.")
elif margin <= tie:
    saturated = " Both saturate near 1: this validation set is too easy to rank them." \
        if auc.min() >= 0.99 else ""
    lines.append(f"- That is within the tie margin {tie}: validation could not choose, so the "
                 f"objective is the paper's default, not a finding.{saturated}")
else:
    lines.append(f"- The margin exceeds the tie margin {tie}; no interval is computed for it, "
                 f"so with {n_val} tracks read it as a preference, not a resolved difference.")
lines.append(f"- Chosen: {chosen['objective']} at UNet width {int(chosen['unet_base_width'])} "
             f"({chosen.get('reason', '')}); threshold {detector.threshold:.3f}, chosen on "
             "validation, never on test.")
print("\n".join(lines))

# %% [markdown]
# ## Further reading
#
# * O. Ronneberger, P. Fischer, T. Brox, "U-Net: Convolutional networks for biomedical image
#   segmentation", MICCAI 2015 – the architecture of the mask network.
# * A. Jansson et al., "Singing voice separation with deep U-Net convolutional networks",
#   ISMIR 2017 – a U-Net predicting a spectrogram mask for music, the separation-style model the
#   paper describes.
# * J. Platt, "Probabilistic outputs for support vector machines", 1999 – the calibration the
#   detector fits on validation scores (README, "Operating points").

# %%
assert 0.0 <= detector.threshold <= 1.0
assert selection["chosen"].sum() == 1
if export_weights and prof.name == "smoke":
    print("not exporting: a smoke-profile detector is no model to ship")
elif export_weights:
    path = pipeline.export_weights(detector)
    print("exported", path, "| trained on the", prof.name, "profile")

# %%
report_resources("03_train")
