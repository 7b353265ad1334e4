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


def describe_axes(fig) -> list[dict]:
    """What each axes of a figure shows: its title and labels, how many images (``imshow``,
    ``pcolormesh``) it holds, and whether those images have a colour bar. Saved beside every
    figure, so a test can check that every image that encodes magnitude has its scale."""
    out = []
    colorbar_axes = {id(getattr(m, "colorbar", None).ax) for ax in fig.axes
                     for m in [*ax.images, *ax.collections]
                     if getattr(m, "colorbar", None) is not None}
    for ax in fig.axes:
        images = [m for m in [*ax.images, *ax.collections]
                  if m.__class__.__name__ in ("AxesImage", "QuadMesh")]
        out.append({"title": ax.get_title(), "xlabel": ax.get_xlabel(),
                    "ylabel": ax.get_ylabel(), "images": len(images),
                    "colorbar": any(getattr(m, "colorbar", None) is not None for m in images),
                    "is_colorbar": id(ax) in colorbar_axes})
    return out


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
