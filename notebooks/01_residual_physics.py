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
# hundred frames per second – into tens of thousands of samples per second. It has to
# *up-sample*, and up-sampling has physics that learning cannot fully undo (Afchar et al.,
# ISMIR 2025, "A Fourier explanation of AI-music artifacts").
#
# **Zero insertion makes images.** Up-sampling by $s$ inserts $s-1$ zeros after every sample:
# $y[n] = x[n/s]$ when $s$ divides $n$, else $0$. Its spectrum is the input's, compressed:
#
# $$Y(\omega) = X(s\,\omega),$$
#
# which repeats every $2\pi/s$: the baseband $[0, f_s/2s]$ reappears mirrored around every
# multiple of $f_s/s$ (the new rate is $f_s$). These copies are **images**. A *transposed
# convolution* of stride $s$ is exactly zero insertion followed by a learned filter $h$, so
#
# $$Y(\omega) = H(\omega)\,X(s\,\omega),$$
#
# and unless $H$ is a perfect low-pass with cut-off $f_s/2s$ (it never is), the images survive.
# Anything constant in the latent (biases, slowly varying activations) becomes a **comb of
# spectral lines at multiples of $f_s/s$**: the output repeats a pattern once per latent frame.
# In image generators the same effect draws a grid, the **checkerboard artifact** (Odena,
# Dumoulin and Olah, 2016): where the kernel length is not a multiple of the stride, neighbouring
# output pixels receive different numbers of kernel taps, so the output has a period-$s$ pattern.
# In audio it is heard as a faint buzz at the frame rate.
#
# **Aliasing** is the mirror image of this for *down*-sampling: an encoder that strides by $s$
# folds everything above its new Nyquist frequency $f_s/2s$ back into the baseband. Images are
# what up-sampling adds; aliasing is what down-sampling scrambles.
#
# This notebook shows the mechanism on toy signals and lets you hear it, finds it in the
# benchmark's generators, teaches harmonic–percussive separation (HPSS) on a toy signal, and then
# shows what ArtifactNet's residual and its HPSS parts make of real and generated music.

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
import seaborn as sns
import torch

from artifactnet_core.detector.config import HOP_LENGTH, HPSS_KERNEL, N_FFT, SAMPLE_RATE
from artifactnet_core.detector.model import default_weights, load_model
from artifactnet_core.detector.spectral import hpss, magnitude, median_filter, softmask
from artifactnet_core.experiments import evaluation as ev
from artifactnet_core.experiments import pipeline
from artifactnet_core.experiments.anatomy import residual_parts, show_spectrogram, to_db
from artifactnet_core.experiments.combs import comb_contrast, comb_lines, peak_residue_db
from artifactnet_core.experiments.listening import (
    part_sounds,
    periodic_pattern,
    players,
    toy_mixture,
    with_phase,
)
from artifactnet_core.experiments.outputs import CLASS_COLOURS, save_fig, save_table
from artifactnet_core.experiments.runner import report_resources
from artifactnet_core.profiles import get_profile

SR = SAMPLE_RATE
rng = np.random.default_rng(seed)


def spectrum_db(x: np.ndarray, n_fft: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Long-term average power spectrum (Welch) in dB re its maximum, and its frequencies in Hz
    (the signal is taken to be at ``SR``)."""
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[:: n_fft // 2]
    power = (np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=-1)) ** 2).mean(0)
    return np.fft.rfftfreq(n_fft, 1 / SR), 10 * np.log10(power / power.max() + 1e-12)


# %% [markdown]
# ## 1 · Zero insertion and a learned filter
#
# A band-limited signal at a quarter of the rate (content below $f_s/8$), up-sampled ×4 by zero
# insertion: three images fill the band up to the Nyquist frequency $f_s/2$, mirrored around the
# multiples of $f_s/4$ (dotted). A short "learned" smoothing filter (a 7-tap window, as a small
# transposed-convolution kernel might learn) attenuates them but cannot remove them.

# %%
low = np.convolve(rng.standard_normal(SR), np.hanning(31) / np.hanning(31).sum(), mode="same")
up = np.zeros(4 * low.size)
up[::4] = low
smoothed = np.convolve(up, np.hanning(7) / np.hanning(7).sum() * 4, mode="same")
fig, ax = plt.subplots(figsize=(10, 3.4))
for sig, name in ((up, "zero insertion ×4"), (smoothed, "…then a 7-tap filter")):
    f, db = spectrum_db(sig)
    ax.plot(f / 1000, db, label=name, lw=1)
for k in range(1, 3):  # multiples of fs/4 up to the Nyquist frequency fs/2
    ax.axvline(k * SR / 4 / 1000, color="gray", ls=":", lw=1)
ax.set(xlabel="frequency (kHz)", ylabel="power (dB re max)", ylim=(-90, 3), xlim=(0, SR / 2000),
       title="Images of the baseband around multiples of fs/4 (dotted)")
ax.legend()
save_fig(fig, "fig01_zero_insertion")
image_band = (f > SR / 8) & (f < 3 * SR / 8)
rejection_db = float(spectrum_db(up)[1][image_band].mean() - spectrum_db(smoothed)[1][image_band].mean())
print(f"the 7-tap filter lowers the images between fs/8 and 3fs/8 by {rejection_db:.1f} dB on average")

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
ax.set(xlabel="frequency (kHz)", ylabel="power (dB re max)", ylim=(-100, 3), xlim=(0, SR / 2000),
       title="Untrained transposed convolutions")
ax.legend()
save_fig(fig, "fig01_tconv_comb")

# %% [markdown]
# **Listen.** A comb is a pattern that repeats once per latent frame. Below: such a pattern
# alone (a random 256-sample pattern repeated, as a decoder of total stride 256 at 44.1 kHz
# would print: lines every $f_s/256$ Hz), a harmonic tone, and the tone with the comb added
# 30 dB below it. Players are normalised, so the comb alone sounds loud; the level printed
# beside each is its RMS relative to the tone.

# %%
toy = toy_mixture(seed=seed)
comb_rate = SR / 256
print(f"comb lines every {comb_rate:.2f} Hz")
_ = players({"comb alone (normalised)": toy["comb"], "tone": toy["tone"],
             "tone + comb at -30 dB": toy["tone"] + toy["comb"]}, reference=toy["tone"],
            reference_name="the tone")

# %% [markdown]
# ## 3 · The benchmark's generators
#
# Each zoo generator (notebook 02) decodes latent frames at a **frame rate**
# $f_	ext{frame} = f_	ext{internal} / 	ext{total stride}$, so its output may carry lines at
# multiples of $f_	ext{frame}$. Afchar et al.'s **fakeprint** isolates such peaks: the long-term
# spectrum between 5 and 16 kHz (n_fft 16,384, 2.7 Hz bins) minus its lower hull, so only what
# sticks out above the spectral envelope remains. The fakeprint then clips and max-normalises
# each clip, which makes a mean over clips measure the *floor* between peaks rather than the
# peaks; so here we keep the residue in dB, before that step, and measure the comb directly:
# `comb_contrast` is the mean height of the residue on the lines $k\,f_	ext{frame}$ minus its
# mean between them. The same measure on each AI clip's real original, at the same frequencies,
# is the chance level: music has harmonics of its own, but no preferred spacing.
#
# A decoder of several stages prints lines at multiples of each stage's *input* rate. The first
# stage's input rate is the frame rate and every later one is a multiple of it, so the whole
# chain's comb sits at multiples of $f_\text{frame}$, and the lines at multiples of a later
# stage's input rate may stand out above the rest (for strides (4, 4, 4, 4) at 44.1 kHz: every
# 172 Hz, with candidates for stronger lines every 689 Hz, 2.76 kHz and 11.0 kHz).

# %%
prof = get_profile(profile)
data = pipeline.get_bench(prof, seed=seed)
df = data.df
generators = pd.read_csv(data.root / "generators.csv").set_index("name")
frame_rate = generators["internal_sr"] / generators["total_stride"]
ai_rows = df[df["label"] == "ai"]
contrast_rows, residues = [], {}
for gen, part in ai_rows.groupby("generator"):
    rows = pipeline.sample_rows(part, 24, seed=seed)
    curves = []
    for _, row in rows.iterrows():
        ai_audio, real_audio = data.audio(row["path"]), data.audio(row["real_path"])
        ai_c = comb_contrast(ai_audio, frame_rate[gen])
        real_c = comb_contrast(real_audio, frame_rate[gen])
        contrast_rows.append({"generator": gen, "family": row["family"],
                              "track_id": row["track_id"], "label": "ai",
                              "frame_rate_hz": frame_rate[gen],
                              "ai_contrast_db": ai_c["contrast_db"],
                              "real_contrast_db": real_c["contrast_db"]})
        freqs, residue = peak_residue_db(ai_audio)
        curves.append(residue)
    residues[gen] = np.mean(curves, axis=0)
real_rows = pipeline.sample_rows(df[df["label"] == "real"], 24, seed=seed)
residues["real"] = np.mean([peak_residue_db(data.audio(p))[1] for p in real_rows["path"]], axis=0)
per_clip = pd.DataFrame(contrast_rows).assign(
    excess_db=lambda d: d["ai_contrast_db"] - d["real_contrast_db"])
summary = []
for gen, part in per_clip.groupby("generator"):
    excess = ev.statistic_with_ci(part, lambda d: float(d["excess_db"].mean()),
                                  n_boot=prof.evaluation.n_boot, seed=seed)
    summary.append({"generator": gen, "family": part["family"].iloc[0],
                    "frame_rate_hz": part["frame_rate_hz"].iloc[0], "clips": len(part),
                    "tracks": excess["n_tracks"],
                    "ai_contrast_db": part["ai_contrast_db"].mean(),
                    "real_contrast_db": part["real_contrast_db"].mean(),
                    "excess_db": excess["value"], "excess_lo": excess["lo"],
                    "excess_hi": excess["hi"]})
combs = pd.DataFrame(summary).sort_values("excess_db", ascending=False).reset_index(drop=True)
save_table(combs, "tab01_comb_contrast",
           caption="Comb contrast (dB): mean height of the 5-16 kHz peak residue on the lines "
                   "k x frame rate minus its mean between them, on AI clips and on their real "
                   "originals at the same frequencies; excess = AI - real, 95 % bootstrap over "
                   "source tracks (none under 10 tracks).")
combs

# %%
order = ["real", *combs["generator"]]
fig, axes = plt.subplots(len(order), 2, figsize=(13, 1.25 * len(order) + 1), sharex="col",
                         sharey=True, gridspec_kw={"width_ratios": [3, 1]}, layout="constrained")
axes = np.atleast_2d(axes)
zoom = (freqs > 8000) & (freqs < 8000 + 6 * frame_rate.max())
for (ax, ax_zoom), name in zip(axes, order, strict=True):
    colour = CLASS_COLOURS["real" if name == "real" else "ai"]
    for a, band in ((ax, slice(None)), (ax_zoom, zoom)):
        a.plot(freqs[band] / 1000, residues[name][band], lw=0.6, color=colour)
    if name != "real":
        for k in comb_lines(frame_rate[name], freqs[zoom]):
            ax_zoom.axvline(freqs[zoom][k] / 1000, color="gray", ls=":", lw=0.8)
    label = name if name == "real" else f"{name}\n({frame_rate[name]:.1f} Hz)"
    ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
axes[-1, 0].set_xlabel("frequency (kHz)")
axes[-1, 1].set_xlabel("frequency (kHz), zoom; dotted: k × frame rate")
fig.suptitle("Mean peak residue above the spectral envelope (dB), 5-16 kHz")
fig.supylabel("dB above the lower hull", x=0.0)
save_fig(fig, "fig01_generator_residue")

# %% [markdown]
# **Listen.** One real clip of the benchmark and its regenerations by every generator that
# made one. The regeneration keeps melody, rhythm and loudness; what changes is mostly what
# this notebook measures. Headphones help.

# %%
clip_id = ai_rows.groupby("clip_id")["generator"].nunique().idxmax()
pair_rows = ai_rows[ai_rows["clip_id"] == clip_id]
clip_audio = data.audio(pair_rows["real_path"].iloc[0])
_ = players({"real": clip_audio,
             **{f"{r.generator} ({r.family})": data.audio(r.path) for r in pair_rows.itertuples()}},
            reference=clip_audio, normalize=False)

# %% [markdown]
# ## 4 · Harmonic–percussive separation (HPSS)
#
# ArtifactNet does not feed its residual to the classifier as it is: it first splits it into a
# **harmonic** part $H$ and a **percussive** part $P$ with the median-filtering method of
# FitzGerald (2010). In a spectrogram a steady tone is a *horizontal* line (constant along time,
# narrow along frequency) and a click is a *vertical* line (short in time, broadband). So:
#
# 1. a median filter **along time** (over `HPSS_KERNEL` frames) keeps horizontal lines and
#    removes clicks: the harmonic enhancement $	ilde H$;
# 2. a median filter **along frequency** (over `HPSS_KERNEL` bins) keeps vertical lines and
#    removes tones: the percussive enhancement $	ilde P$;
# 3. soft masks $M_H = 	ilde H^2 / (	ilde H^2 + 	ilde P^2)$ and $M_P = 1 - M_H$ share every
#    bin between the two, and $H = M_H \odot |X|$, $P = M_P \odot |X|$.
#
# A median, unlike a mean, ignores outliers that fill less than half of its window: that is why
# a click vanishes from the time median and a partial from the frequency median. The window
# lengths in physical units follow from the detector's STFT:

# %%
frame_s = HOP_LENGTH / SR
bin_hz = SR / N_FFT
kernel = pd.DataFrame([
    {"filter": "harmonic (along time)", "length": f"{HPSS_KERNEL} frames",
     "physical": f"{HPSS_KERNEL * frame_s:.2f} s", "unit": f"hop {HOP_LENGTH} samples = {1000 * frame_s:.1f} ms"},
    {"filter": "percussive (along frequency)", "length": f"{HPSS_KERNEL} bins",
     "physical": f"{HPSS_KERNEL * bin_hz:.0f} Hz", "unit": f"bin = {SR} / {N_FFT} = {bin_hz:.2f} Hz"},
])
kernel

# %% [markdown]
# ### On a toy signal: a tone, clicks and a comb
#
# The toy signal of section 2 again: a harmonic tone (horizontal lines), clicks every half
# second (vertical lines), and the comb 30 dB down (many horizontal lines, closely spaced).
# Below: $|X|$, the two median-filtered spectrograms, the harmonic mask, and the two parts.

# %%
mix = torch.from_numpy(toy["mixture"])
mag = magnitude(mix)
harm_med = median_filter(mag, kernel_size=HPSS_KERNEL, dim=-1)
perc_med = median_filter(mag, kernel_size=HPSS_KERNEL, dim=-2)
mask_h = softmask(harm_med, perc_med)
toy_h, toy_p = hpss(mag)
assert torch.allclose(toy_h, mag * mask_h, atol=1e-6)  # hpss() is exactly these three steps
ref = float(mag.max())
panels = {"|X|": mag, "time median (harmonic enhancement)": harm_med,
          "frequency median (percussive enhancement)": perc_med,
          "harmonic mask M_H": mask_h, "H = M_H · |X|": toy_h, "P = (1 - M_H) · |X|": toy_p}
fig, axes = plt.subplots(2, 3, figsize=(15, 6.5), sharex=True, sharey=True,
                         layout="constrained")
for ax, (title, m) in zip(axes.ravel(), panels.items(), strict=True):
    if title.startswith("harmonic mask"):
        mask_im = ax.imshow(m.numpy(), origin="lower", aspect="auto", cmap="viridis", vmin=0,
                            vmax=1, extent=[0, m.shape[-1] * frame_s, 0, SR / 2000],
                            interpolation="nearest")
        ax.set(title=title, xlabel="time (s)", ylabel="frequency (kHz)")
    else:
        db_im = show_spectrogram(ax, to_db(m.numpy(), ref=ref), title=title)
    ax.set_ylim(0, 8)
    if ax not in axes[:, 0]:
        ax.set_ylabel("")
fig.colorbar(db_im, ax=axes[:, 2], label="level (dB re max |X|)", fraction=0.05)
fig.colorbar(mask_im, ax=axes[1, 0], label="mask value", fraction=0.05)
fig.suptitle("HPSS of a tone + clicks + comb (0-8 kHz)")
save_fig(fig, "fig01_hpss_toy")
_ = players({"mixture": toy["mixture"], "H (with the mixture's phase)": with_phase(
    toy_h.numpy(), toy["mixture"]), "P (with the mixture's phase)": with_phase(
    toy_p.numpy(), toy["mixture"])}, reference=toy["mixture"])

# %% [markdown]
# **Where does a comb go?** A comb's lines are steady, so the time median keeps them. But the
# frequency median is not blind to them: if the lines are closer than a few bins, a 31-bin
# window is mostly *on* a line, the frequency median rises, and part of the comb is sent to $P$.
# The table measures it on combs alone, one per frame rate of this benchmark's generators plus
# a few reference rates: the share of the comb's energy that HPSS puts into $H$.

# %%
rates = {f"{name} ({generators.loc[name, 'family']})": rate for name, rate in frame_rate.items()}
rates.update({f"reference {r} Hz": float(r) for r in (50, 100, 400)})
share_rows = []
for name, rate in rates.items():
    period = int(round(SR / rate))
    comb_mag = magnitude(torch.from_numpy(periodic_pattern(period, 3 * SR, seed=seed)))
    comb_h, comb_p = hpss(comb_mag)
    e_h, e_p = float((comb_h ** 2).sum()), float((comb_p ** 2).sum())
    share_rows.append({"comb": name, "frame_rate_hz": SR / period,
                       "line_spacing_bins": SR / period / bin_hz, "share_in_H": e_h / (e_h + e_p)})
comb_share = pd.DataFrame(share_rows).sort_values("frame_rate_hz").reset_index(drop=True)
save_table(comb_share, "tab01_hpss_comb_share",
           caption=f"Share of a comb's energy that HPSS (kernel {HPSS_KERNEL}) puts into H, by "
                   f"line spacing (bins of {bin_hz:.2f} Hz).")
comb_share

# %% [markdown]
# ### On a real and an AI residual
#
# Now the same split on what the detector actually separates: the UNet residual
# $R = M \odot |X|$ of a real clip and of its regeneration (the pair drawn above; the
# detector is the shipped one, or this profile's when none is shipped). Listen to $R$, $H$
# and $P$ of each: they are the masked spectrograms given the clip's own phase and inverted.

# %%
weights = default_weights()
model = (load_model(weights) if weights is not None else
         pipeline.default_detector(data, prof, seed=seed).chosen.model.cpu())
n_chunk = model.config.chunk_samples
# A transposed-convolution regeneration where this clip has one: the comb of sections 2-3.
pair = pair_rows.assign(tconv=pair_rows["family"] != "tconv").sort_values(["tconv", "generator"]).iloc[0]
shown = {"real": clip_audio, f"AI ({pair['generator']})": data.audio(pair["path"])}
fig, axes = plt.subplots(2, 3, figsize=(15, 6.5), sharex=True, sharey=True,
                         layout="constrained")
for r, (name, audio) in enumerate(shown.items()):
    chunk = np.pad(audio[:n_chunk], (0, max(0, n_chunk - audio.size)))
    parts = residual_parts(model, chunk)
    ref = float(parts["magnitude"].max())
    for ax, key in zip(axes[r], ("residual", "harmonic", "percussive"), strict=True):
        im = show_spectrogram(ax, to_db(parts[key], ref=ref), title=key if r == 0 else "")
        ax.set_ylabel("")
    axes[r, 0].set_ylabel(f"{name}\nP(AI) {float(parts['p_ai']):.2f}\nfrequency (kHz)")
    print(name)
    _ = players(part_sounds(parts, chunk), reference=chunk)
fig.colorbar(im, ax=axes.ravel().tolist(), label="level (dB re the clip's max |X|)",
             fraction=0.02)
save_fig(fig, "fig01_hpss_residuals")

# %% [markdown]
# ## 5 · Residual levels by group
#
# The UNet's residual should be near zero on real music and carry the decoder's traces on
# generated music. Below, the mean level of mel(R), mel(H) and mel(P) (the first three of the
# classifier's seven channels) per group, in dB relative to the loudest mel bin of the input
# (the floor is −80 dB).

# %%
groups = {"real": df[df["label"] == "real"]}
groups.update({fam: part for fam, part in ai_rows.groupby("family")})
levels = []
for name, part in groups.items():
    for path in pipeline.sample_rows(part, prof.evaluation.residual_clips, seed=seed)["path"]:
        chunk = data.audio(path)[:n_chunk]
        chunk = np.pad(chunk, (0, n_chunk - chunk.size))
        feats = residual_parts(model, chunk)["features"]
        levels.append({"group": name, "mel_R": feats[0].mean(), "mel_H": feats[1].mean(),
                       "mel_P": feats[2].mean()})
levels = pd.DataFrame(levels)
levels = (levels.groupby("group")[["mel_R", "mel_H", "mel_P"]].mean()
          .join(levels.groupby("group").size().rename("clips")).reset_index())
save_table(levels, "tab01_residual_levels")
long = levels.drop(columns="clips").melt(id_vars="group", var_name="channel",
                                         value_name="level_db")
fig, ax = plt.subplots(figsize=(9, 3.4))
sns.barplot(long, x="group", y="level_db", hue="channel", ax=ax)
ax.set(xlabel="", ylabel="mean level (dB re input max)",
       title="Residual energy by group: real music should sit lowest")
ax.tick_params(axis="x", rotation=30)
save_fig(fig, "fig01_residual_levels")
levels

# %% [markdown]
# ## What the numbers say
#
# Every sentence below is computed from the tables of this run.

# %%
def resolved_above(row) -> bool:
    return bool(np.isfinite(row["excess_lo"]) and row["excess_lo"] > 0)


lines = []
for _, r in combs.iterrows():
    interval = (f" [{r['excess_lo']:+.1f}, {r['excess_hi']:+.1f}]"
                if np.isfinite(r["excess_lo"]) else f" (no interval: {int(r['tracks'])} tracks)")
    verdict = ("a comb the real originals do not have" if resolved_above(r) else
               "no comb resolved above the real originals' level" if np.isfinite(r["excess_lo"])
               else "too few tracks to tell")
    lines.append(f"- {r['generator']} ({r['family']}, lines every {r['frame_rate_hz']:.1f} Hz): "
                 f"comb contrast {r['ai_contrast_db']:.2f} dB vs {r['real_contrast_db']:.2f} dB on "
                 f"its real originals, excess {r['excess_db']:+.2f} dB{interval}: {verdict}.")
by_rate = comb_share.drop_duplicates("frame_rate_hz")
dense = by_rate[by_rate["share_in_H"] < 0.9]
lines.append("- Share of a comb's energy that HPSS puts into H, by line spacing: "
             + ", ".join(f"{r.frame_rate_hz:.0f} Hz ({r.line_spacing_bins:.1f} bins) → "
                         f"{r.share_in_H:.0%}" for r in by_rate.itertuples())
             + (f"; combs with lines {dense['frame_rate_hz'].max():.0f} Hz apart or closer lose "
                "more than a tenth of their energy to P." if len(dense) else
                "; every comb here keeps more than 90 % in H."))
lv = levels.set_index("group")
ai_groups = lv.drop(index="real")
lower = ai_groups[ai_groups["mel_R"] > lv.loc["real", "mel_R"]].index.tolist()
lines.append(f"- Residual level mel(R): real {lv.loc['real', 'mel_R']:.1f} dB; "
             f"{len(lower)} of {len(ai_groups)} AI families sit above it"
             + (f" ({', '.join(lower)})" if lower else "")
             + (". The expected ordering holds for every family." if len(lower) == len(ai_groups)
                else ". The expectation 'real music sits lowest' fails for "
                     + ", ".join(sorted(set(ai_groups.index) - set(lower))) + "."))
n_levels = sorted({int(levels["clips"].min()), int(levels["clips"].max())})
lines.append(f"- Sample sizes ({prof.name} profile): {int(combs['clips'].sum())} AI clips in the comb "
             f"table, {'-'.join(map(str, n_levels))} clips per group in the level table, which has "
             "no intervals: read a difference of a dB or two there as unresolved.")
print("\n".join(lines))

# %% [markdown]
# ## Further reading
#
# * D. Afchar, G. Meseguer-Brocal, K. Akesbi, R. Hennequin, "A Fourier explanation of AI-music
#   artifacts", ISMIR 2025 – the comb, the fakeprint, and why it generalises across decoders.
# * A. Odena, V. Dumoulin, C. Olah, "Deconvolution and checkerboard artifacts", *Distill*, 2016
#   – transposed convolutions, their uneven overlap, and resize-convolution as the cure.
# * D. FitzGerald, "Harmonic/percussive separation using median filtering", DAFx 2010 – the HPSS
#   of section 4.
# * M. Müller, *Fundamentals of Music Processing*, 2nd ed., Springer 2021, and its FMP notebook
#   "Harmonic–Percussive Separation (HPS)" (C8/C8S1_HPS) – the same method with players beside
#   every component.
# * A. V. Oppenheim, R. W. Schafer, *Discrete-Time Signal Processing*, ch. 4 – up-sampling,
#   images and aliasing.
#
# ## Exercises
#
# 1. **Predict the comb.** The paper profile's `tconv_rvq_s320` runs at 32 kHz with decoder
#    strides (8, 5, 4, 2). Each stage multiplies the rate by its stride: at which frequencies do
#    you expect lines from each stage, and from the whole chain? What changes after resampling
#    the output to 44.1 kHz? Do the same for `tconv_cont_s256` (44.1 kHz, strides (4, 4, 4, 4)),
#    which every profile has, and check against its row of section 3 (`comb_contrast`,
#    `peak_residue_db`).
# 2. **Kill the comb.** Replace the 7-tap filter of section 1 by a longer windowed-sinc low-pass
#    at $f_s/8$. How many dB of image rejection do you gain per doubling of its length? Why can a
#    small learned kernel not do the same?
# 3. **Why HPSS?** A comb of steady lines is *harmonic* in HPSS's sense – up to a point. Using the
#    kernel table and `tab01_hpss_comb_share`, predict for which line spacings a comb ends up in
#    H and for which it leaks into P, then compare mel(H) and mel(P) of real and AI clips in the
#    table of section 5.
#
# Solutions: `notebooks/solutions/01_residual_physics_solutions.md`.

# %%
assert combs["clips"].gt(0).all()
assert comb_share["share_in_H"].between(0, 1).all()
report_resources("01_residual_physics")
