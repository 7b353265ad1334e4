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
# # 01 · Residual physics: why neural decoders leave traces
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/artifactnet-companion/artifactnet-companion/blob/main/notebooks/01_residual_physics.ipynb)
#
# Almost every music generator ends in a **decoder** that turns a latent sequence – tens to a few
# hundred frames per second – into 44,100 samples per second. It has to *up-sample*, and
# up-sampling has physics that learning cannot fully undo (Afchar et al., ISMIR 2025, "A Fourier
# explanation of AI-music artifacts").
#
# **Zero insertion makes images.** Inserting $s-1$ zeros between samples multiplies the rate by
# $s$ and leaves the spectrum unchanged *but periodic*: the baseband $[0, f_s/2s]$ reappears
# mirrored around every multiple of $f_s/s$. A transposed convolution of stride $s$ is exactly
# zero insertion followed by a learned filter; unless that filter is a perfect low-pass (it never
# is), the images survive, and anything constant in the latent (biases, slowly varying
# activations) becomes a **comb of spectral lines at multiples of $f_s/s$** – the "checkerboard"
# artifact of images, heard as a faint buzz.
#
# This notebook shows the mechanism on toy signals, then finds it in the benchmark's generators,
# then shows what ArtifactNet's residual and its HPSS parts make of it.

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
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from artifactnet_core.detector.model import default_weights, load_model
from artifactnet_core.experiments import pipeline
from artifactnet_core.experiments.anatomy import residual_parts
from artifactnet_core.experiments.baselines import fakeprint, fakeprint_frequencies
from artifactnet_core.experiments.outputs import save_fig, save_table
from artifactnet_core.experiments.runner import report_resources
from artifactnet_core.profiles import get_profile

SR = 44_100
rng = np.random.default_rng(seed)


def spectrum_db(x: np.ndarray, n_fft: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Long-term average power spectrum (Welch) in dB, and its frequencies in Hz."""
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[:: n_fft // 2]
    power = (np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=-1)) ** 2).mean(0)
    return np.fft.rfftfreq(n_fft, 1 / SR), 10 * np.log10(power / power.max() + 1e-12)


# %% [markdown]
# ## 1 · Zero insertion and a learned filter
#
# A band-limited signal at a quarter of the rate (content below 5.5 kHz), up-sampled ×4 by zero
# insertion: three mirrored images appear. A short "learned" smoothing filter (a 7-tap window, as
# a small transposed-convolution kernel might learn) attenuates them but cannot remove them.

# %%
low = np.convolve(rng.standard_normal(SR), np.hanning(31) / np.hanning(31).sum(), mode="same")
up = np.zeros(4 * low.size)
up[::4] = low
smoothed = np.convolve(up, np.hanning(7) / np.hanning(7).sum() * 4, mode="same")
fig, ax = plt.subplots(figsize=(10, 3.4))
for sig, name in ((up, "zero insertion ×4"), (smoothed, "…then a 7-tap filter")):
    f, db = spectrum_db(sig)
    ax.plot(f / 1000, db, label=name, lw=1)
for k in range(1, 4):
    ax.axvline(k * SR / 4 / 1000, color="gray", ls=":", lw=1)
ax.set(xlabel="frequency (kHz)", ylabel="dB", ylim=(-90, 3),
       title="Images of the baseband around multiples of fs/4 (dotted)")
ax.legend()
save_fig(fig, "fig01_zero_insertion")

# %% [markdown]
# ## 2 · A transposed convolution prints a comb
#
# A random (untrained) transposed convolution of stride $s$ fed a slowly varying latent: its
# output repeats a pattern of period $s$ samples, so its spectrum has lines at multiples of
# $f_s/s$ – for every stride, regardless of the weights.

# %%
fig, ax = plt.subplots(figsize=(10, 3.4))
latent = torch.from_numpy(np.cumsum(rng.standard_normal((1, 8, SR // 64)), axis=-1)
                          .astype(np.float32)) * 0.05
for stride in (16, 64):
    torch.manual_seed(seed)
    layer = torch.nn.ConvTranspose1d(8, 1, kernel_size=2 * stride, stride=stride)
    n = latent.shape[-1] * 64 // stride
    with torch.no_grad():
        out = layer(latent[..., :n])[0, 0].numpy()
    f, db = spectrum_db(out, n_fft=8192)
    ax.plot(f / 1000, db, lw=0.8, label=f"stride {stride}: lines every {SR / stride:.0f} Hz")
ax.set(xlabel="frequency (kHz)", ylabel="dB", ylim=(-100, 3), xlim=(0, 22.05),
       title="Untrained transposed convolutions")
ax.legend()
save_fig(fig, "fig01_tconv_comb")

# %% [markdown]
# ## 3 · The benchmark's generators
#
# Afchar et al.'s **fakeprint** isolates these peaks: the long-term spectrum between 5 and
# 16 kHz (n_fft 16,384, 2.7 Hz bins) with its lower hull removed, so only what sticks out above
# the spectral envelope remains. Averaged over many clips, real music has no preferred
# frequencies; each decoder family has its own comb.

# %%
prof = get_profile(profile)
data = pipeline.get_bench(prof, seed=seed)
df = data.df
freqs = fakeprint_frequencies()
groups = {"real": df[df["label"] == "real"]}
groups.update({fam: part for fam, part in df[df["label"] == "ai"].groupby("family")})
mean_prints, peakiness = {}, []
for name, part in groups.items():
    rows = pipeline.sample_rows(part, 24, seed=seed)
    prints = np.stack([fakeprint(data.audio(p)) for p in rows["path"]])
    mean_prints[name] = prints.mean(0)
    peakiness.append({"group": name, "clips": len(rows),
                      "mean_fakeprint": float(prints.mean()),
                      "bins_above_0.5": float((prints > 0.5).mean())})
peakiness = pd.DataFrame(peakiness)
save_table(peakiness, "tab01_fakeprint_peakiness")
fig, axes = plt.subplots(len(mean_prints), 1, figsize=(10, 1.3 * len(mean_prints) + 1),
                         sharex=True, sharey=True)
for ax, (name, mp) in zip(np.atleast_1d(axes), mean_prints.items(), strict=True):
    ax.plot(freqs / 1000, mp, lw=0.6, color="tab:blue" if name == "real" else "tab:red")
    ax.set_ylabel(name, rotation=0, ha="right", va="center")
np.atleast_1d(axes)[-1].set_xlabel("frequency (kHz)")
fig.suptitle("Mean fakeprint (peaks above the spectral envelope), 5-16 kHz")
save_fig(fig, "fig01_family_fakeprints")
peakiness

# %% [markdown]
# ## 4 · What ArtifactNet's residual makes of it
#
# The UNet's residual $R = M \odot |X|$ should be near zero on real music (the paired objective
# trains it so) and carry the decoder's traces on generated music. HPSS then separates *steady*
# residual (horizontal lines: the combs above) from *transient* residual (vertical: broadband
# decoder noise at onsets). Below, the mean level of mel(R), mel(H) and mel(P) per group, in dB
# relative to the loudest bin of the input.

# %%
weights = default_weights()
model = (load_model(weights) if weights is not None else
         pipeline.default_detector(data, prof, seed=seed).chosen.model.cpu())
levels = []
for name, part in groups.items():
    for path in pipeline.sample_rows(part, 8, seed=seed)["path"]:
        chunk = data.audio(path)[: model.config.chunk_samples]
        chunk = np.pad(chunk, (0, model.config.chunk_samples - chunk.size))
        feats = residual_parts(model, chunk)["features"]
        levels.append({"group": name, "mel_R": feats[0].mean(), "mel_H": feats[1].mean(),
                       "mel_P": feats[2].mean()})
levels = pd.DataFrame(levels).groupby("group").mean().reset_index()
save_table(levels, "tab01_residual_levels")
fig, ax = plt.subplots(figsize=(9, 3.4))
x = np.arange(len(levels))
for k, col in enumerate(("mel_R", "mel_H", "mel_P")):
    ax.bar(x + 0.27 * (k - 1), levels[col], width=0.27, label=col)
ax.set(xticks=x, xticklabels=levels["group"], ylabel="mean level (dB re input max)",
       title="Residual energy by group: real music should sit lowest")
ax.tick_params(axis="x", rotation=30)
ax.legend()
save_fig(fig, "fig01_residual_levels")
levels

# %% [markdown]
# ## Exercises
#
# 1. **Predict the comb.** A generator runs at 32 kHz with decoder strides (8, 5, 4, 2). At which
#    frequencies (at 32 kHz, then after resampling to 44.1 kHz) do you expect lines from its last
#    stage? From its whole chain? Check with `fakeprint` on that generator's clips
#    (`seanet_rvq_s320` in the paper profile).
# 2. **Kill the comb.** Replace the 7-tap filter of section 1 by a longer windowed-sinc low-pass
#    at $f_s/8$. How many dB of image rejection do you gain per doubling of its length? Why can a
#    small learned kernel not do the same?
# 3. **Why HPSS?** A comb of steady lines is *harmonic* in HPSS's sense. Predict which of mel(H) and
#    mel(P) should differ more between real and AI clips for a `tconv` generator, then check in
#    the table of section 4.
#
# Solutions: `notebooks/solutions/01_residual_physics_solutions.md`.

# %%
assert peakiness["clips"].gt(0).all()
report_resources("01_residual_physics")
