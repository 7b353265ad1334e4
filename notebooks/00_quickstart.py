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
# # 00 · Quickstart: is this track AI-generated?
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/artifactnet-companion/artifactnet-companion/blob/main/notebooks/00_quickstart.ipynb)
#
# ArtifactNet answers with **P(AI)**, the probability that a piece of music came out of a neural
# generator, from the *physical traces* generators leave in a spectrogram rather than from what
# the music sounds like. This notebook scores a real clip and its regeneration by one of our
# neural generators, lets you listen to both, and shows what the detector looks at: the
# **residual** its UNet pulls out of the spectrogram.
#
# The same thing from a shell: `artifactnet detect song.mp3 --timeline`.

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
audio_path = None  # a file of your own to score, e.g. "my_song.mp3"

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Audio, display

from artifactnet_core.detector.audio import load_audio
from artifactnet_core.detector.detect import detect_file
from artifactnet_core.detector.model import default_weights, load_model
from artifactnet_core.experiments import pipeline
from artifactnet_core.experiments.anatomy import residual_parts, show_spectrogram, to_db
from artifactnet_core.experiments.outputs import save_fig
from artifactnet_core.experiments.runner import report_resources
from artifactnet_core.profiles import get_profile

prof = get_profile(profile)
weights = default_weights()
if weights is not None:
    model = load_model(weights)
    print("shipped model:", weights.name, "| trained on:", model.config.info.get("profile"))
else:  # a fresh checkout before `make reproduce`: train this profile's detector
    model = pipeline.default_detector(pipeline.get_bench(prof, seed=seed), prof,
                                      seed=seed).chosen.model.cpu()
    print("no shipped weights: using the", prof.name, "profile's detector")
print(f"decision threshold: {model.config.threshold:.3f}")

# %% [markdown]
# ## Two clips: real music and its regeneration
#
# ArtifactBench-mini (notebook 02) pairs each real clip with regenerations by small neural
# autoencoders. The regeneration keeps the melody, the rhythm and the loudness; what changes is
# the fine structure a decoder imprints.

# %%
data = pipeline.get_bench(prof, seed=seed)
test = data.rows(split="test")
ai_row = test[test["label"] == "ai"].iloc[0]
real_row = data.df[data.df["path"] == ai_row["real_path"]].iloc[0]
examples = {"real": data.root / real_row["path"],
            f"AI ({ai_row['generator']})": data.root / ai_row["path"]}
if audio_path:
    examples["your file"] = audio_path
for name, path in examples.items():
    det = detect_file(path, model)
    verdict = det.error or f"P(AI) = {det.p_ai:.3f} -> {det.label}"
    print(f"{name:>28}: {verdict}  ({det.duration_s or 0:.1f} s)")
    display(Audio(str(path)))

# %% [markdown]
# ## What the detector sees
#
# Top: the magnitude spectrogram $|X|$ of each clip. Below: the residual $R = M \odot |X|$, and
# its harmonic (steady, horizontal lines: tonal artifacts such as the spectral peaks of an
# up-sampling layer) and percussive (vertical, broadband) parts. On real music the UNet should
# find little; on generated music it should light up where the decoder left its traces.

# %%
chunk_len = model.config.chunk_samples
fig, axes = plt.subplots(4, 2, figsize=(12, 11), sharex=True)
for col, (name, path) in enumerate(list(examples.items())[:2]):
    audio = load_audio(path)[:chunk_len]
    audio = np.pad(audio, (0, chunk_len - len(audio)))
    parts = residual_parts(model, audio)
    ref = parts["magnitude"].max()
    for row, key in enumerate(("magnitude", "residual", "harmonic", "percussive")):
        show_spectrogram(axes[row, col], to_db(parts[key], ref=ref),
                         title=f"{name}: {key}" + (f"  (P(AI) {parts['p_ai']:.2f})"
                                                   if row == 0 else ""))
fig.tight_layout()
save_fig(fig, "fig00_residual")

# %%
report_resources("00_quickstart")
