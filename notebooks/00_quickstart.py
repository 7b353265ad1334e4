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
# ArtifactNet answers with a **score** in [0, 1], its P(AI): how strongly a piece of music shows
# the *physical traces* neural generators leave in a spectrogram, rather than what the music
# sounds like. The score ranks files; a **label** comes from a threshold chosen on validation
# data (an *operating point*), and on its own the score is not the probability that a file is AI
# (the top-level README explains why). This notebook scores a real clip and its regeneration by
# one of our neural generators, lets you listen to both, and shows what the detector looks at:
# the **residual** its UNet pulls out of the spectrogram, and its harmonic and percussive parts,
# which you can listen to as well.
#
# The same thing from a shell: `artifactnet detect song.mp3 --timeline`; from Python,
# `load_detector()` as below.

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
import pandas as pd

from artifactnet_core import load_detector
from artifactnet_core.detector.audio import load_audio
from artifactnet_core.experiments import pipeline
from artifactnet_core.experiments.anatomy import residual_parts, show_spectrogram, to_db
from artifactnet_core.experiments.listening import part_sounds, players
from artifactnet_core.experiments.outputs import save_fig
from artifactnet_core.experiments.runner import report_resources
from artifactnet_core.profiles import get_profile

prof = get_profile(profile)
data = pipeline.get_bench(prof, seed=seed)
try:
    detector = load_detector()  # the shipped weights (or $ARTIFACTNET_WEIGHTS)
    print("shipped weights, trained on the", detector.model.config.info.get("profile"),
          "profile")
except FileNotFoundError:  # a fresh checkout before `make reproduce`: this profile's detector
    detector = load_detector(pipeline.default_detector(data, prof, seed=seed).chosen.model.cpu())
    print("no shipped weights: using the", prof.name, "profile's detector")
print(detector.operating_point.describe())

# %% [markdown]
# ## Two clips: real music and its regeneration
#
# ArtifactBench-mini (notebook 02) pairs each real clip with regenerations by small neural
# autoencoders. The regeneration keeps the melody, the rhythm and the loudness. What else changes
# depends on the generator: the fine structure its decoder imprints (notebook 01), and often the
# bandwidth too – a generator running at a lower internal rate cannot produce anything above
# half that rate. The table gives each clip's bandwidth (the highest frequency within 60 dB of
# its spectral peak, from the benchmark's descriptors) beside its score.

# %%
test = data.rows(split="test")
ai_row = test[test["label"] == "ai"].iloc[0]
real_row = data.df[data.df["path"] == ai_row["real_path"]].iloc[0]
examples = {"real": data.root / real_row["path"],
            f"AI ({ai_row['generator']})": data.root / ai_row["path"]}
if audio_path:
    examples["your file"] = audio_path
bandwidth = pd.read_csv(data.root / "descriptors.csv").set_index("path")["bandwidth_hz"]
scored = []
for name, path in examples.items():
    result = detector(str(path))
    rel = str(path.relative_to(data.root)) if name != "your file" else None
    scored.append({"clip": name, "score P(AI)": result.p_ai, "label": result.label,
                   "duration_s": result.duration_s, "error": result.error,
                   "bandwidth_khz": bandwidth.get(rel, np.nan) / 1000 if rel else np.nan})
    players({name: load_audio(path)}, normalize=False)
scored = pd.DataFrame(scored)
scored

# %% [markdown]
# ## What the detector sees
#
# Top: the magnitude spectrogram $|X|$ of each clip. Below: the residual $R = M \odot |X|$, and
# its harmonic part $H$ (steady, horizontal lines: tonal artifacts such as the spectral lines of
# an up-sampling layer) and percussive part $P$ (vertical, broadband). On real music the UNet
# should find little; on generated music it should light up where the decoder left its traces.
# All panels of a column share one colour scale: dB relative to the loudest bin of that clip's
# $|X|$.

# %%
model = detector.model
chunk_len = model.config.chunk_samples
fig, axes = plt.subplots(4, 2, figsize=(12, 11), sharex=True, sharey=True,
                         layout="constrained")
chunks, parts_of = {}, {}
for col, (name, path) in enumerate(list(examples.items())[:2]):
    audio = load_audio(path)[:chunk_len]
    chunks[name] = np.pad(audio, (0, chunk_len - len(audio)))
    parts_of[name] = parts = residual_parts(model, chunks[name])
    ref = parts["magnitude"].max()
    for row, key in enumerate(("magnitude", "residual", "harmonic", "percussive")):
        image = show_spectrogram(axes[row, col], to_db(parts[key], ref=ref),
                                 title=f"{name}: {key}" + (f"  (P(AI) {parts['p_ai']:.2f})"
                                                           if row == 0 else ""))
        axes[row, col].set(xlabel="time (s)" if row == 3 else "",
                           ylabel="frequency (kHz)" if col == 0 else "")
fig.colorbar(image, ax=axes.ravel().tolist(), label="level (dB re the clip's max |X|)",
             fraction=0.025)
save_fig(fig, "fig00_residual")

# %% [markdown]
# ## Listen to the residual
#
# $R$, $H$ and $P$ are masked copies of the clip's spectrogram, so they can be heard: give them
# the clip's own phase and invert the STFT. The players are normalised (a residual is far quieter
# than the music); the level printed above each says how much quieter it really is.

# %%
for name, chunk in chunks.items():
    print(f"== {name}")
    players(part_sounds(parts_of[name], chunk), reference=chunk)

# %% [markdown]
# ## What the numbers say
#
# Computed from the scores and parts above – for one pair of clips, which proves nothing on its
# own: notebook 04 measures the detector on every held-out clip, with intervals.

# %%
def residual_db(parts: dict) -> float:
    """Energy of R relative to |X|, in dB."""
    return float(10 * np.log10((parts["residual"] ** 2).sum() / (parts["magnitude"] ** 2).sum()))


thr = detector.threshold
real_name, ai_name = list(chunks)
lines = []
for _, r in scored.iterrows():
    if r["error"]:
        lines.append(f"- {r['clip']}: no score ({r['error']}).")
        continue
    right = (r["label"] == "real") == (r["clip"] == "real") if r["clip"] != "your file" else None
    lines.append(f"- {r['clip']}: score {r['score P(AI)']:.3f} "
                 f"{'≥' if r['score P(AI)'] >= thr else '<'} threshold {thr:.3f}, labelled "
                 f"{r['label']}" + ("" if right is None else
                                    " (right)" if right else " (wrong)") + ".")
bw = scored.set_index("clip")["bandwidth_khz"]
gap = bw[real_name] - bw[ai_name]
if abs(gap) <= 1.0:
    band = "the same band within 1 kHz, so what the detector sees is not the band edge."
elif gap > 0:
    band = ("the regeneration lost the top of the band: a visible difference that is not decoder "
            "fine structure (notebook 02 checks that the benchmark band-limits real clips as "
            "often, so that the band edge alone cannot tell the classes apart).")
else:
    band = ("the regeneration has energy above the real clip's band edge: the generator did not "
            "reproduce its input's band limit, again a difference that is not decoder fine "
            "structure (notebook 02 compares the band limits of the two classes).")
lines.append(f"- Bandwidth: real {bw[real_name]:.1f} kHz, AI {bw[ai_name]:.1f} kHz: {band}")
r_real, r_ai = residual_db(parts_of[real_name]), residual_db(parts_of[ai_name])
lines.append(f"- Residual energy relative to the clip: real {r_real:.1f} dB, AI {r_ai:.1f} dB "
             + ("(the UNet takes more out of the regeneration, as trained)." if r_ai > r_real
                else "(the UNet does *not* take more out of the regeneration here)."))
print("\n".join(lines))

# %% [markdown]
# ## Further reading
#
# * The paper: *ArtifactNet: Detecting AI-Generated Music via Forensic Residual Physics*; and
#   the top-level README's "What the score does not tell you" before acting on a score.
# * Notebook 01 for why decoders leave traces; 04 for how well the detector does on generators it
#   has never seen; 08 to explore any pair yourself.
# * D. Afchar, G. Meseguer-Brocal, R. Hennequin, "Detecting music deepfakes is easy but
#   actually hard", ICASSP 2025 – the autoencoder-regeneration protocol this benchmark follows,
#   and how easily such detectors break.

# %%
report_resources("00_quickstart")
