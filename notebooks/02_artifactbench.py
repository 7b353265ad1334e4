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
# # 02 · ArtifactBench-mini: the benchmark card
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/artifactnet-companion/artifactnet-companion/blob/main/notebooks/02_artifactbench.ipynb)
#
# The paper's ArtifactBench (6,183 tracks from 22 generators and 6 real sources) cannot be
# downloaded here, and neither can any commercial music generator. Following Afchar et al.
# (ICASSP 2025), we build the benchmark ourselves: **AI tracks are real tracks passed through
# neural autoencoders**. The real music comes from six Debian packages (five game soundtracks and
# music21's score corpus rendered with the FluidR3 soundfont); the generators are a zoo of small
# autoencoders with the decoder families real generators use, trained here on tracks that are
# never used anywhere else.
#
# Two split protocols live side by side in one manifest:
#
# * `split` – the **zero-shot** protocol: two whole generator families and one whole real source
#   appear only in `test`;
# * `split_track` – the paper's **track-level** protocol: tracks are split at random, every
#   generator and source is seen in training.
#
# In both, a real clip and every regeneration of it share their track's split.

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

# %%
import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from artifactnet_core.bench import check_split_disjointness
from artifactnet_core.bench.sources import licence_table
from artifactnet_core.detector.spectral import magnitude
from artifactnet_core.experiments import pipeline
from artifactnet_core.experiments.anatomy import show_spectrogram, to_db
from artifactnet_core.experiments.cards import write_bench_card
from artifactnet_core.experiments.outputs import save_fig, save_table
from artifactnet_core.experiments.runner import report_resources
from artifactnet_core.profiles import get_profile

prof = get_profile(profile)
data = pipeline.get_bench(prof, seed=seed)
meta = json.loads((data.root / "bench_config.json").read_text())
build = json.loads((data.root / "build_info.json").read_text())
generators = pd.read_csv(data.root / "generators.csv")
df = data.df
print(data)
print("manifest sha256:", data.sha256)
print("held-out families:", meta["heldout_families"], "| held-out sources:", meta["heldout_sources"])
print("build time (s):", build["timings"])

# %% [markdown]
# ## Composition

# %%
counts = (df.groupby(["source", "split", "label"]).size().unstack(["split", "label"], fill_value=0)
          .sort_index(axis=1))
counts.columns = [f"{s}_{lab}" for s, lab in counts.columns]
counts = counts.reset_index()
counts["hours"] = df.groupby("source")["duration_s"].sum().reindex(counts["source"]).to_numpy() / 3600
save_table(counts, "tab02_counts_by_source", floatfmt=".3f")
counts

# %%
by_gen = (df[df["label"] == "ai"].groupby(["generator", "family", "split"]).size()
          .unstack("split", fill_value=0).reset_index())
save_table(by_gen, "tab02_counts_by_generator")
by_gen

# %% [markdown]
# ## The generators and their reconstruction quality
#
# Every generator must reproduce the music recognisably – otherwise "AI" would just mean
# "noise". We measure on held-out clips: the correlation of the loudness envelopes, the
# correlation of log-mel spectrograms after removing each band's mean (plain log-mel correlation
# is inflated by the shared spectral tilt of all music), the log-mel distance and SI-SDR. The
# `chance_*` columns are the same metrics between *unrelated* clips: the floor each generator
# must clear.

# %%
quality_cols = ["name", "family", "bottleneck", "total_stride", "internal_sr", "params", "steps",
                "train_seconds", "envelope_corr", "chance_envelope_corr", "logmel_corr_centred",
                "chance_logmel_corr_centred", "logmel_distance_db", "si_sdr_db", "passes_floor"]
quality = generators[[c for c in quality_cols if c in generators.columns]]
save_table(quality, "tab02_generators", floatfmt=".3f")
quality

# %% [markdown]
# ## Loudness: no shortcut
#
# Each regeneration is scaled to the RMS level of its real clip, so loudness alone cannot tell
# AI from real.

# %%
def rms_dbfs(path: str) -> float:
    x = data.audio(path)
    return 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12)

sample = pipeline.sample_rows(df, 400, seed=seed)
sample = sample.assign(rms_dbfs=[rms_dbfs(p) for p in sample["path"]])
fig, ax = plt.subplots(figsize=(6, 3.2))
for label, part in sample.groupby("label"):
    ax.hist(part["rms_dbfs"], bins=30, alpha=0.6, label=label)
ax.set(xlabel="clip RMS (dBFS)", ylabel="clips", title="Loudness of real and AI clips")
ax.legend()
save_fig(fig, "fig02_loudness")

# %% [markdown]
# ## One clip, every family
#
# The same four seconds of real music and their regenerations. Look at the top of each
# spectrogram: band limits of generators running at 22–32 kHz internally, and horizontal lines
# at multiples of the decoder's up-sampling rate (notebook 01 explains them).

# %%
ai = df[df["label"] == "ai"]
clip_id = ai.groupby("clip_id")["family"].nunique().idxmax()
shown = pd.concat([df[(df["clip_id"] == clip_id) & (df["label"] == "real")],
                   ai[ai["clip_id"] == clip_id].drop_duplicates("family")])
fig, axes = plt.subplots(1, len(shown), figsize=(3.2 * len(shown), 3.2), sharey=True)
for ax, (_, row) in zip(np.atleast_1d(axes), shown.iterrows(), strict=True):
    mag = magnitude(torch.from_numpy(data.audio(row["path"]))).numpy()
    show_spectrogram(ax, to_db(mag), title="real" if row["label"] == "real" else row["generator"])
fig.tight_layout()
save_fig(fig, "fig02_examples")

# %% [markdown]
# ## The data card
#
# `data_cards/artifactbench_mini.md` is written from these tables (Hugging Face dataset-card
# front matter and the sections of *Datasheets for Datasets*).

# %%
licences = pd.DataFrame([vars(li) for li in licence_table()])
card = write_bench_card(profile=prof.name, seed=seed, meta=meta, build=build, counts=counts,
                        by_generator=by_gen, quality=quality, licences=licences,
                        n_real=int((df["label"] == "real").sum()),
                        n_ai=int((df["label"] == "ai").sum()))
print("wrote", card)

# %%
check_split_disjointness(df, heldout_families=meta["heldout_families"],
                         heldout_sources=meta["heldout_sources"])
report_resources("02_artifactbench")
