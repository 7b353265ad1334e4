"""An explorer for teaching: a real clip beside its regeneration, through the detector's eyes.

Pick a real clip of the benchmark, one of the generators that regenerated it and a codec version
(``"wav"``, ``"mp3_128"``...). :func:`explore` draws, for both clips, the magnitude spectrogram
|X|, the UNet residual R = M ⊙ |X|, its harmonic and percussive parts H and P, the seven feature
channels the classifier reads, and the detector's P(AI) for every 4 s chunk of the track the clip
was cut from. :func:`listen` plays both. :func:`interactive_explorer` wires the same into
ipywidgets dropdowns for a live notebook; under papermill or CI (:func:`in_live_kernel` is false)
notebook ``08_explorer`` only draws the static figure, so no widget state is needed to run it.

Taught in notebook ``08_explorer``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from artifactnet_core.bench.versions import DRIFT_VERSIONS
from artifactnet_core.detector.chunking import chunk_starts, split_chunks
from artifactnet_core.detector.features import CHANNEL_NAMES
from artifactnet_core.detector.model import ArtifactNet
from artifactnet_core.detector.model import predict_chunks as chunk_probabilities
from artifactnet_core.experiments.anatomy import residual_parts, show_spectrogram, to_db
from artifactnet_core.experiments.data import BenchData

#: Versions offered by the interactive explorer: WAV, the drift codecs, and the unseen Vorbis.
EXPLORER_VERSIONS = (*DRIFT_VERSIONS, "mp3_64", "opus_64", "vorbis_128")
#: The four spectrogram panels per clip, in the order drawn.
SPECTRA = ("magnitude", "residual", "harmonic", "percussive")
_SPECTRUM_TITLES = {"magnitude": "|X|", "residual": "residual R", "harmonic": "harmonic H",
                    "percussive": "percussive P"}
#: Feature channels shown on a signed colour scale (differences of dB values).
_SIGNED = {"delta_R", "delta2_R", "H_minus_P"}
#: Colour-bar labels of the feature channels that are not plain mel dB levels.
_CHANNEL_UNITS = {"delta_R": "Δ dB", "delta2_R": "Δ² dB", "H_minus_P": "dB (H − P)",
                  "abs_delta_R": "|Δ| dB"}


def clip_choices(data: BenchData, *, split: str | tuple[str, ...] | None = "test"
                 ) -> pd.DataFrame:
    """Every (real clip, generator) pair the benchmark holds, one row each.

    Parameters
    ----------
    data : BenchData
        The benchmark.
    split : str, tuple of str or None
        Keep pairs whose AI clip is in this split (``None``: all splits).

    Returns
    -------
    pandas.DataFrame
        Columns ``clip_id, generator, family, source, split, track_id, real_path, ai_path``,
        sorted by clip and generator.
    """
    df = data.df
    ai = df[df["label"] == "ai"]
    if split is not None:
        ai = ai[ai["split"].isin((split,) if isinstance(split, str) else split)]
    real_paths = set(df.loc[df["label"] == "real", "path"])
    ai = ai[ai["real_path"].isin(real_paths)]
    out = pd.DataFrame({"clip_id": ai["clip_id"], "generator": ai["generator"],
                        "family": ai["family"], "source": ai["source"], "split": ai["split"],
                        "track_id": ai["track_id"], "real_path": ai["real_path"],
                        "ai_path": ai["path"]})
    return out.sort_values(["clip_id", "generator"]).reset_index(drop=True)


def default_choice(data: BenchData, *, seed: int = 0, split: str | None = "test"
                   ) -> tuple[str, str]:
    """A reproducible ``(clip_id, generator)`` pair, drawn with ``seed`` among
    :func:`clip_choices` (from all splits when ``split`` has none)."""
    pairs = clip_choices(data, split=split)
    if pairs.empty:
        pairs = clip_choices(data, split=None)
    if pairs.empty:
        raise ValueError("the benchmark holds no real clip with a regeneration")
    row = pairs.iloc[int(np.random.default_rng(seed).integers(len(pairs)))]
    return str(row["clip_id"]), str(row["generator"])


def _pair_rows(data: BenchData, clip_id: str, generator: str) -> tuple[pd.Series, pd.Series]:
    df = data.df
    ai = df[(df["label"] == "ai") & (df["clip_id"] == clip_id) & (df["generator"] == generator)]
    if ai.empty:
        have = sorted(df.loc[(df["label"] == "ai") & (df["clip_id"] == clip_id), "generator"])
        raise ValueError(f"no regeneration of clip {clip_id!r} by {generator!r}; "
                         f"generators of this clip: {have or 'none (unknown clip id?)'}")
    ai_row = ai.iloc[0]
    real = df[df["path"] == ai_row["real_path"]]
    if real.empty:
        raise ValueError(f"the real clip {ai_row['real_path']!r} is not in the manifest")
    return real.iloc[0], ai_row


def _fit_chunk(audio: np.ndarray, chunk_samples: int, index: int) -> np.ndarray:
    """Chunk ``index`` of ``audio`` by the detector's tiling rule, zero-padded to full length."""
    chunks = split_chunks(audio, chunk_samples)
    return chunks[min(max(index, 0), len(chunks) - 1)]


def track_timeline(data: BenchData, model: ArtifactNet, row: pd.Series, version: str = "wav"
                   ) -> pd.DataFrame:
    """P(AI) of every chunk of every clip cut from the same track as ``row``, in time order.

    For an AI clip only the clips regenerated by the same generator count. Columns
    ``clip_id, start_s`` (chunk start in the source track, s) and ``p_ai``.
    """
    df = data.df
    same = df[(df["track_id"] == row["track_id"]) & (df["label"] == row["label"])
              & (df["generator"] == row["generator"])].sort_values("start_s")
    n = model.config.chunk_samples
    records, chunks = [], []
    for _, clip in same.iterrows():
        audio = data.audio(clip["path"], version)
        for start in chunk_starts(audio.shape[0], n):
            records.append({"clip_id": clip["clip_id"],
                            "start_s": float(clip["start_s"]) + start / model.config.sample_rate})
        chunks.append(split_chunks(audio, n))
    timeline = pd.DataFrame(records, columns=["clip_id", "start_s"])
    timeline["p_ai"] = chunk_probabilities(model, np.concatenate(chunks)) if chunks else []
    return timeline


@dataclass
class Exploration:
    """Everything :func:`explore` shows for one choice (see :func:`analyse`)."""

    real_row: pd.Series
    ai_row: pd.Series
    version: str
    chunk: int
    sr: int
    chunk_samples: int
    threshold: float
    real_audio: np.ndarray
    ai_audio: np.ndarray
    real_parts: dict[str, np.ndarray]
    ai_parts: dict[str, np.ndarray]
    real_timeline: pd.DataFrame
    ai_timeline: pd.DataFrame

    @property
    def generator(self) -> str:
        return str(self.ai_row["generator"])


def analyse(data: BenchData, model: ArtifactNet, clip_id: str, generator: str,
            version: str = "wav", *, chunk: int = 0, timeline: bool = True) -> Exploration:
    """Run the detector on a real clip and its regeneration by ``generator``.

    Parameters
    ----------
    data : BenchData
        The benchmark (:func:`artifactnet_core.experiments.pipeline.get_bench`).
    model : ArtifactNet
        The detector.
    clip_id : str
        The ``clip_id`` of a real clip (shared by its regenerations), e.g. from
        :func:`clip_choices`.
    generator : str
        A generator that regenerated this clip.
    version : str
        ``"wav"`` or a codec version such as ``"mp3_128"``, applied to both clips.
    chunk : int
        Which 4 s chunk of the clips to look inside (benchmark clips are one chunk long).
    timeline : bool
        Also score every chunk of the source track (a few more forward passes).
    """
    real_row, ai_row = _pair_rows(data, clip_id, generator)
    n = model.config.chunk_samples
    real_audio = data.audio(real_row["path"], version)
    ai_audio = data.audio(ai_row["path"], version)
    real_parts = residual_parts(model, _fit_chunk(real_audio, n, chunk))
    ai_parts = residual_parts(model, _fit_chunk(ai_audio, n, chunk))
    empty = pd.DataFrame(columns=["clip_id", "start_s", "p_ai"])
    return Exploration(
        real_row=real_row, ai_row=ai_row, version=version, chunk=chunk,
        sr=model.config.sample_rate, chunk_samples=n, threshold=float(model.config.threshold),
        real_audio=real_audio, ai_audio=ai_audio, real_parts=real_parts, ai_parts=ai_parts,
        real_timeline=track_timeline(data, model, real_row, version) if timeline else empty,
        ai_timeline=track_timeline(data, model, ai_row, version) if timeline else empty)


def _feature_limits(exp: Exploration) -> dict[str, tuple[float, float, str]]:
    """One colour scale per feature channel, shared by the real and the AI clip."""
    limits = {}
    for k, name in enumerate(CHANNEL_NAMES):
        if k >= exp.real_parts["features"].shape[0]:
            break
        both = np.concatenate([exp.real_parts["features"][k].ravel(),
                               exp.ai_parts["features"][k].ravel()])
        if name in _SIGNED:
            top = float(np.percentile(np.abs(both), 99)) or 1.0
            limits[name] = (-top, top, "coolwarm")
        elif name == "abs_delta_R":
            limits[name] = (0.0, float(np.percentile(both, 99)) or 1.0, "magma")
        else:
            limits[name] = (-80.0, 0.0, "magma")
    return limits


def plot_exploration(exp: Exploration, *, figsize: tuple[float, float] = (17, 13)):
    """Draw an :class:`Exploration`; returns the matplotlib ``Figure``.

    Rows: |X|, R, H, P of the real clip, then of the AI clip (dB re the clip's loudest |X| bin,
    80 dB range); the seven feature channels of each (one colour scale per channel, shared by
    both clips, so they can be compared); P(AI) per 4 s chunk of the source track, with the
    detector's threshold.
    """
    fig = plt.figure(figsize=figsize)
    grid = fig.add_gridspec(5, 28, height_ratios=[1, 1, 1, 1, 0.8], hspace=0.55, wspace=2.2,
                            top=0.92)
    clips = (("real", exp.real_parts, f"real ({exp.real_row['source']})"),
             ("AI", exp.ai_parts, f"AI ({exp.generator}, {exp.ai_row['family']})"))
    for r, (_, parts, label) in enumerate(clips):
        ref = float(parts["magnitude"].max())
        row_axes = []
        for c, key in enumerate(SPECTRA):
            ax = fig.add_subplot(grid[r, 7 * c:7 * c + 7])
            row_axes.append(ax)
            title = _SPECTRUM_TITLES[key]
            if c == 0:
                title = f"{label} · {exp.version}\n{title}   P(AI) {float(parts['p_ai']):.2f}"
            im = show_spectrogram(ax, to_db(parts[key], ref=ref), sr=exp.sr, title=title)
            if c:
                ax.set_ylabel("")
            if r == 0:
                ax.set_xlabel("")
        fig.colorbar(im, ax=row_axes, fraction=0.015, pad=0.01, label="dB")
    limits = _feature_limits(exp)
    channel_axes: dict[str, list] = {name: [] for name in limits}
    for r, (kind, parts, _) in enumerate(clips):
        feats = parts["features"]
        for c, name in enumerate(limits):
            ax = fig.add_subplot(grid[2 + r, 4 * c:4 * c + 4])
            vmin, vmax, cmap = limits[name]
            im = ax.imshow(feats[c], origin="lower", aspect="auto", cmap=cmap, vmin=vmin,
                           vmax=vmax, interpolation="nearest")
            channel_axes[name].append((ax, im))
            ax.set_title(f"{kind}: {name}", fontsize=9)
            ax.set_xticks([])
            if c:
                ax.set_yticks([])
            else:
                ax.set_ylabel("mel band")
    for name, pairs in channel_axes.items():  # one scale per channel, shared by both clips
        bar = fig.colorbar(pairs[-1][1], ax=[ax for ax, _ in pairs], location="bottom",
                           fraction=0.04, pad=0.02, aspect=12)
        bar.ax.tick_params(labelsize=7)
        bar.set_label(_CHANNEL_UNITS.get(name, "dB"), fontsize=7)
    ax = fig.add_subplot(grid[4, :])
    _plot_timeline(ax, exp)
    fig.suptitle(f"clip {exp.real_row['clip_id']}: what the detector sees", fontsize=13)
    return fig


def _plot_timeline(ax, exp: Exploration) -> None:
    starts = chunk_starts(exp.real_audio.shape[0], exp.chunk_samples)
    index = min(max(exp.chunk, 0), len(starts) - 1)
    shown = float(exp.real_row["start_s"]) + starts[index] / exp.sr
    width = exp.chunk_samples / exp.sr
    ax.axvspan(shown, shown + width, color="gold", alpha=0.3, label="chunk shown above")
    for tl, offset, color, name in ((exp.real_timeline, 0.27, "tab:blue", "real"),
                                    (exp.ai_timeline, 0.73, "tab:red", f"AI ({exp.generator})")):
        if len(tl):
            x = tl["start_s"] + offset * width
            ax.bar(x, tl["p_ai"], width=0.42 * width, color=color, alpha=0.5)
            # A marker on every bar: a chunk scored near 0 has no visible bar.
            ax.plot(x, tl["p_ai"], "o", color=color, ms=4, label=name)
    ax.axhline(exp.threshold, ls="--", color="gray", lw=1,
               label=f"threshold {exp.threshold:.2f}")
    ax.set(ylim=(-0.04, 1.04), xlabel="time in the source track (s)", ylabel="P(AI)",
           title="Detector output per 4 s chunk of the source track")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)


def explore(data: BenchData, model: ArtifactNet, clip_id: str, generator: str,
            version: str = "wav", *, chunk: int = 0):
    """The explorer's figure for one choice (see :func:`analyse` and :func:`plot_exploration`).

    Returns a matplotlib ``Figure``; this is the static form notebook ``08_explorer`` saves.
    """
    return plot_exploration(analyse(data, model, clip_id, generator, version, chunk=chunk))


def listen(exp: Exploration) -> list:
    """Display an audio player for the real and the AI clip (in the explored version) and
    return the ``IPython.display.Audio`` objects."""
    from IPython.display import Audio, display

    players = []
    for name, audio in ((f"real ({exp.version})", exp.real_audio),
                        (f"AI: {exp.generator} ({exp.version})", exp.ai_audio)):
        player = Audio(np.clip(audio, -1, 1), rate=exp.sr, normalize=False)
        print(name)
        display(player)
        players.append(player)
    return players


def in_live_kernel() -> bool:
    """True when a person is looking at a Jupyter frontend that can show widgets.

    False outside IPython, without ipywidgets, when ``ARTIFACTNET_HEADLESS`` or ``CI`` is set,
    under the notebook runner (:mod:`artifactnet_core.experiments.runner`, which sets
    ``ARTIFACTNET_NOTEBOOK_RECORDS``), and when the kernel was started by papermill, nbclient or
    nbconvert (read from the parent process's command line, where ``/proc`` has it).
    """
    if any(os.environ.get(k) for k in ("ARTIFACTNET_HEADLESS", "CI",
                                       "ARTIFACTNET_NOTEBOOK_RECORDS")):
        return False
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False
    cmdline = Path(f"/proc/{os.getppid()}/cmdline")
    try:
        parent = cmdline.read_bytes().replace(b"\0", b" ").lower()
    except OSError:
        return True
    return not any(tool in parent for tool in (b"papermill", b"nbclient", b"nbconvert"))


def interactive_explorer(data: BenchData, model: ArtifactNet, *,
                         split: str | None = "test",
                         versions: tuple[str, ...] = EXPLORER_VERSIONS, seed: int = 0):
    """An ipywidgets UI around :func:`analyse`: dropdowns for the real clip, the generator and
    the codec version; players for both clips and the explorer figure below them.

    Each change reruns the detector on two chunks plus the track's chunks (about a second on a
    CPU with the smoke model, a few with the paper-size UNet). Returns the widget to display.
    """
    import ipywidgets as widgets
    from IPython.display import display

    if "google.colab" in sys.modules and int(widgets.__version__.split(".")[0]) >= 8:
        from google.colab import output  # Colab bundles ipywidgets 7; 8 needs this manager

        output.enable_custom_widget_manager()
    pairs = clip_choices(data, split=split)
    if pairs.empty:
        pairs = clip_choices(data, split=None)
    clip0, gen0 = default_choice(data, seed=seed, split=split)
    labels = pairs.drop_duplicates("clip_id")
    clip_dd = widgets.Dropdown(
        options=[(f"{r.source}: {r.clip_id.split('/')[-1]} ({r.split})", r.clip_id)
                 for r in labels.itertuples()],
        value=clip0, description="real clip", layout=widgets.Layout(width="420px"))
    gen_dd = widgets.Dropdown(description="generator", layout=widgets.Layout(width="300px"))
    ver_dd = widgets.Dropdown(options=list(versions), value=versions[0], description="version")
    out = widgets.Output()
    busy = {"updating": False}

    def generators_of(clip_id: str) -> list[tuple[str, str]]:
        part = pairs[pairs["clip_id"] == clip_id]
        return [(f"{r.generator} ({r.family})", r.generator) for r in part.itertuples()]

    def render(*_):
        if busy["updating"] or gen_dd.value is None:
            return
        with out:
            out.clear_output(wait=True)
            exp = analyse(data, model, clip_dd.value, gen_dd.value, ver_dd.value)
            listen(exp)
            fig = plot_exploration(exp)
            display(fig)
            plt.close(fig)

    def on_clip(change):
        busy["updating"] = True
        options = generators_of(change["new"])
        current = gen_dd.value
        gen_dd.options = options
        gen_dd.value = current if current in [v for _, v in options] else options[0][1]
        busy["updating"] = False
        render()

    busy["updating"] = True
    gen_dd.options = generators_of(clip0)
    gen_dd.value = gen0
    busy["updating"] = False
    clip_dd.observe(on_clip, names="value")
    gen_dd.observe(render, names="value")
    ver_dd.observe(render, names="value")
    render()
    return widgets.VBox([widgets.HBox([clip_dd, gen_dd, ver_dd]), out])
