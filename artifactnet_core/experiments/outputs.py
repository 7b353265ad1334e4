"""One place where figures and tables are written, with stable names.

``save_fig(fig, "fig04_roc")`` writes ``figures/fig04_roc.png``; ``save_table(df, "tab04_zero_shot")``
writes ``figures/tab04_zero_shot.csv`` and ``.md``. Notebooks call nothing else to write results,
so every file in ``figures/`` can be traced to the notebook whose number it carries.
"""

from __future__ import annotations

import numbers
from pathlib import Path

import pandas as pd

from artifactnet_core.paths import figures_dir

#: One colour per class in every figure: red is AI, blue is real.
CLASS_COLOURS = {"ai": "tab:red", "real": "tab:blue"}


def _clim(m) -> tuple[str, float | None, float | None]:
    vmin, vmax = m.get_clim()
    return (m.get_cmap().name, None if vmin is None else round(float(vmin), 6),
            None if vmax is None else round(float(vmax), 6))


def describe_axes(fig) -> list[dict]:
    """What each axes of a figure shows: its title and labels, how many images (``imshow``,
    ``pcolormesh``) it holds, and whether every one of them has a colour scale. Saved beside
    every figure, so a test can check that every image that encodes magnitude has its scale.

    An image has a colour scale when a colour bar is attached to it, or when it shares the
    colour map and limits of an image that has one (one colour bar for a row of panels).
    """
    out = []
    mappables = [m for ax in fig.axes for m in [*ax.images, *ax.collections]]
    with_bar = [m for m in mappables if getattr(m, "colorbar", None) is not None]
    colorbar_axes = {id(m.colorbar.ax) for m in with_bar}
    scales = {_clim(m) for m in with_bar}
    for ax in fig.axes:
        images = [m for m in [*ax.images, *ax.collections]
                  if m.__class__.__name__ in ("AxesImage", "QuadMesh")]
        scaled = [getattr(m, "colorbar", None) is not None or _clim(m) in scales
                  for m in images]
        out.append({"title": ax.get_title(), "xlabel": ax.get_xlabel(),
                    "ylabel": ax.get_ylabel(), "images": len(images),
                    "colorbar": bool(images) and all(scaled),
                    "is_colorbar": id(ax) in colorbar_axes})
    return out


def colour_scale_problems(folder: str | Path | None = None) -> list[str]:
    """Figures in ``folder`` (default ``figures/``) whose images lack a colour scale.

    Reads the axes descriptions :func:`save_fig` writes to ``<folder>/_axes/<name>.json``; a
    figure without one is reported too (it was not written by :func:`save_fig`, or predates
    it). Returns one line per problem, empty when every image has its colour bar.
    """
    import json

    root = Path(folder) if folder is not None else figures_dir()
    problems = []
    for png in sorted(root.glob("*.png")):
        sidecar = root / "_axes" / f"{png.stem}.json"
        if not sidecar.exists():
            problems.append(f"{png.name}: no axes description ({sidecar.name} missing)")
            continue
        for k, ax in enumerate(json.loads(sidecar.read_text())):
            if ax["images"] and not ax["is_colorbar"] and not ax["colorbar"]:
                problems.append(f"{png.name}: axes {k} ({ax['title']!r}) shows "
                                f"{ax['images']} image(s) without a colour bar")
    return problems


def save_fig(fig, name: str, *, dpi: int = 120, formats: tuple[str, ...] = ("png",)) -> Path:
    """Save a matplotlib figure as ``figures/<name>.<fmt>`` and return the first path.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    name : str
        Stable file stem, ``figNN_topic`` with NN the notebook number.
    dpi : int
        Resolution of raster formats.
    formats : tuple of str
        File formats (``"png"``, ``"svg"``).
    """
    import json

    paths = []
    sidecar = figures_dir() / "_axes" / f"{name}.json"
    sidecar.parent.mkdir(exist_ok=True)
    sidecar.write_text(json.dumps(describe_axes(fig), indent=1) + "\n")
    for fmt in formats:
        path = figures_dir() / f"{name}.{fmt}"
        # A fixed creation date keeps re-runs byte-identical where the backend allows it.
        metadata = {"Software": None} if fmt == "png" else {"Date": None}
        fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata=metadata)
        paths.append(path)
    return paths[0]


def save_table(df: pd.DataFrame, name: str, *, floatfmt: str = ".4f",
               caption: str | None = None) -> Path:
    """Save a table as ``figures/<name>.csv`` and ``figures/<name>.md``; return the CSV path.

    Parameters
    ----------
    df : pandas.DataFrame
        The table (its index is dropped; put labels in columns).
    name : str
        Stable file stem, ``tabNN_topic``.
    floatfmt : str
        Format of floats in the Markdown copy (the CSV keeps full precision).
    caption : str, optional
        A line written above the Markdown table.
    """
    root = figures_dir()
    csv_path = root / f"{name}.csv"
    df.to_csv(csv_path, index=False)
    md = markdown_table(df, floatfmt=floatfmt)
    if caption:
        md = f"{caption}\n\n{md}"
    (root / f"{name}.md").write_text(md + "\n")
    return csv_path


def markdown_table(df: pd.DataFrame, *, floatfmt: str = ".4f") -> str:
    """Render a DataFrame as a GitHub Markdown table (no extra dependency)."""
    def cell(v) -> str:
        if v is pd.NA:  # a missing count in a nullable integer column
            return ""
        if isinstance(v, float):
            if pd.isna(v):
                return ""
            # Counts that became floats beside missing values (parameters, clips) read as counts.
            if v.is_integer() and abs(v) >= 1000:
                return f"{int(v):,}"
            return format(v, floatfmt)
        if isinstance(v, numbers.Integral) and not isinstance(v, bool) and abs(v) >= 1000:
            return f"{v:,}"
        return str(v).replace("|", "\\|")

    header = "| " + " | ".join(str(c) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, sep, *rows])
