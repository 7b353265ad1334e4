"""The benchmark manifest: one CSV row per clip, the schema every loader returns, and the checks
that keep the two evaluation protocols honest.

Columns, in this order::

    path,label,source,generator,family,bench_origin,split,codec,duration_s,sha256,
    track_id,split_track,clip_id,start_s,real_path,heldout

- ``path``: the audio file, relative to the bench root (the manifest's folder);
- ``label``: ``real`` or ``ai``;
- ``source``: the real source the clip (or the clip it regenerates) comes from;
- ``generator`` / ``family``: the generator and its decoder family, ``none`` for real clips;
- ``split``: the **zero-shot protocol** - ``train`` / ``val`` / ``test``, or ``excluded`` for AI
  clips of held-out families on train/val tracks (kept for the track-level protocol; never train
  on them in the zero-shot protocol);
- ``bench_origin``: mirrors ArtifactBench's tag - ``train`` for train/val rows, ``test`` for test
  rows, ``excluded`` for excluded rows (so ``bench_origin == "train"`` is always leak-free);
- ``codec``: the lossy round-trip applied before storage, ``wav`` for none (files are FLAC);
- ``duration_s`` (seconds) and ``sha256`` (of the file's bytes);
- ``track_id``: the source track; a real clip and every regeneration of it share its splits;
- ``split_track``: the paper's **track-level protocol** (every source and generator in train);
- ``clip_id``: the real clip a row is, or regenerates; ``start_s``: its start in the track (s);
- ``real_path``: the real clip's file (its own path for real rows) - pairs for residual training;
- ``heldout``: ``none``, ``family``, ``source`` or ``family+source``: why a row is zero-shot.

ArtifactBench-mini adds, after these: ``bandlimit_hz`` (the band limit the clip went through,
22050 for none), ``codec_history`` (the source file's codec, rate, channels and bitrate, or
``lossless``), ``composition`` (the piece; no composition lies in two splits), ``lossless``
and ``reference_path`` (for a regeneration, its real clip through the same post-generation
chain: the pair for residual training).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from artifactnet_core.atomic import atomic_write_bytes, file_sha256
from artifactnet_core.detector.codecs import CODECS

#: The ten columns every manifest starts with, in order (DESIGN.md section 4).
MANIFEST_COLUMNS = ("path", "label", "source", "generator", "family", "bench_origin", "split",
                    "codec", "duration_s", "sha256")
#: Columns the builder adds after them; loaders of external data fill what they can.
EXTRA_COLUMNS = ("track_id", "split_track", "clip_id", "start_s", "real_path", "heldout")
#: Extra columns every manifest must have (the others are optional for external data).
REQUIRED_EXTRA_COLUMNS = ("track_id", "split_track")
LABELS = ("real", "ai")
SPLITS = ("train", "val", "test", "excluded")
TRACK_SPLITS = ("train", "val", "test")
BENCH_ORIGINS = ("train", "test", "excluded")
HELDOUT_VALUES = ("none", "family", "source", "family+source")
#: ``generator`` and ``family`` of real rows.
NONE = "none"
_TEXT_COLUMNS = tuple(c for c in MANIFEST_COLUMNS + EXTRA_COLUMNS
                      if c not in ("duration_s", "start_s"))
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(ValueError):
    """A manifest that breaks the schema or leaks between splits; the message lists why."""


def bench_origin_for(split: str) -> str:
    """Return the ``bench_origin`` tag of a zero-shot ``split`` value.
    """
    return {"train": "train", "val": "train", "test": "test", "excluded": "excluded"}[split]


def make_manifest(rows: Iterable[Mapping[str, object]]) -> pd.DataFrame:
    """Build a manifest DataFrame from row dicts, in canonical column order.

    Missing extra columns get neutral defaults (``""``, ``0.0`` for ``start_s``, ``"none"``
    for ``heldout``); columns beyond the schema are kept after it, sorted.
    """
    df = pd.DataFrame(list(rows))
    for col in MANIFEST_COLUMNS:
        if col not in df.columns:
            df[col] = pd.Series(dtype=float if col == "duration_s" else object)
    defaults = {"start_s": 0.0, "heldout": "none"}
    for col in EXTRA_COLUMNS:
        if col not in df.columns:
            df[col] = defaults.get(col, "")
    others = sorted(c for c in df.columns if c not in MANIFEST_COLUMNS + EXTRA_COLUMNS)
    df = df[list(MANIFEST_COLUMNS + EXTRA_COLUMNS) + others].reset_index(drop=True)
    df["duration_s"] = df["duration_s"].astype(float)
    df["start_s"] = df["start_s"].astype(float)
    return df


def _problems_schema(df: pd.DataFrame, require_hashes: bool) -> list[str]:
    problems = []
    first = list(df.columns[: len(MANIFEST_COLUMNS)])
    if first != list(MANIFEST_COLUMNS):
        return [f"the first columns must be {','.join(MANIFEST_COLUMNS)}; got {','.join(first)}"]
    missing = [c for c in REQUIRED_EXTRA_COLUMNS if c not in df.columns]
    if missing:
        return [f"missing columns: {', '.join(missing)}"]
    text = [c for c in _TEXT_COLUMNS if c in df.columns]
    for col in text:
        bad = df[col].isna() | ~df[col].map(lambda v: isinstance(v, str))
        if bad.any():
            problems.append(f"{col}: {int(bad.sum())} missing or non-text values")
    if problems:
        return problems
    for col, allowed in (("label", LABELS), ("split", SPLITS), ("split_track", TRACK_SPLITS),
                         ("bench_origin", BENCH_ORIGINS), ("codec", CODECS)):
        bad = sorted(set(df[col]) - set(allowed))
        if bad:
            problems.append(f"{col}: unknown values {bad[:5]} (allowed: {', '.join(allowed)})")
    if "heldout" in df.columns:
        bad = sorted(set(df["heldout"]) - set(HELDOUT_VALUES))
        if bad:
            problems.append(f"heldout: unknown values {bad[:5]}")
    if (df["path"] == "").any():
        problems.append("path: empty paths")
    dup = df["path"][df["path"].duplicated()]
    if len(dup):
        problems.append(f"path: {len(dup)} duplicated, e.g. {dup.iloc[0]}")
    for col in ("source", "track_id"):
        if (df[col] == "").any():
            problems.append(f"{col}: empty values")
    real = df["label"] == "real"
    if ((df["generator"] != NONE) | (df["family"] != NONE))[real].any():
        problems.append("real rows must have generator and family 'none'")
    if ((df["generator"].isin([NONE, ""])) | (df["family"] == ""))[~real].any():
        problems.append("ai rows need a generator and a family")
    dur = pd.to_numeric(df["duration_s"], errors="coerce")
    if require_hashes:
        if (dur.isna() | ~(dur > 0)).any():
            problems.append("duration_s: missing or non-positive values")
        bad_sha = ~df["sha256"].map(lambda s: bool(_SHA_RE.match(s)))
        if bad_sha.any():
            problems.append(f"sha256: {int(bad_sha.sum())} values are not 64 hex digits")
    elif (dur <= 0).any():
        problems.append("duration_s: non-positive values")
    if not problems:
        expected = df["split"].map(bench_origin_for)
        if (expected != df["bench_origin"]).any():
            problems.append("bench_origin must be 'train' for train/val rows, 'test' for test "
                            "rows and 'excluded' for excluded rows")
        excluded_real = real & (df["split"] == "excluded")
        if excluded_real.any():
            problems.append("real rows cannot be 'excluded'")
    return problems


def validate_manifest(df: pd.DataFrame, *, require_hashes: bool = True) -> pd.DataFrame:
    """Check a manifest against the schema; raise :class:`ManifestError` listing every problem.

    Checks column order, allowed values of ``label`` / ``split`` / ``split_track`` /
    ``bench_origin`` / ``codec``, unique non-empty paths, ``none`` generator and family on real
    rows, positive durations and 64-hex-digit hashes (``require_hashes=False`` allows unknown
    hashes and durations, as external datasets may lack them). Returns ``df`` unchanged.
    """
    problems = _problems_schema(df, require_hashes)
    if problems:
        raise ManifestError("manifest schema errors:\n- " + "\n- ".join(problems))
    return df


def heldout_sets(df: pd.DataFrame) -> tuple[set[str], set[str]]:
    """Return the (families, sources) that the ``heldout`` column marks as held out.
    """
    if "heldout" not in df.columns:
        return set(), set()
    fam = df["heldout"].str.contains("family")
    src = df["heldout"].str.contains("source")
    return set(df.loc[fam & (df["label"] == "ai"), "family"]), set(df.loc[src, "source"])


def check_split_disjointness(df: pd.DataFrame, *, heldout_families: Sequence[str] = (),
                             heldout_sources: Sequence[str] = (),
                             forbidden_tracks: Iterable[str] = (),
                             require_zero_shot: bool = True) -> pd.DataFrame:
    """Raise :class:`ManifestError` if anything leaks between splits; return ``df`` unchanged.

    Checks that (1) every track lies in exactly one zero-shot split and one track-level split,
    so a real clip and all its regenerations stay together; (2) no held-out family and no
    held-out source appears in train/val (held-out sets are the union of the arguments and what
    the ``heldout`` column marks, and every row of a held-out family or source must be marked);
    when the manifest has a ``composition`` column, no composition lies in two splits either;
    (3) ``excluded`` rows are AI rows of held-out families on train/val tracks; (4) no
    generator-training track (``forbidden_tracks``) is in the manifest; and, with
    ``require_zero_shot``, (5) at least two families and one real source are held out, and
    every held-out family and source has test rows.
    Taught in notebook ``02_artifactbench``.
    """
    problems: list[str] = []
    fam_marked, src_marked = heldout_sets(df)
    families = set(heldout_families) | fam_marked
    sources = set(heldout_sources) | src_marked
    inside = df[df["split"] != "excluded"]
    per_track = inside.groupby("track_id")["split"].nunique()
    if (per_track > 1).any():
        bad = per_track[per_track > 1].index[:3].tolist()
        problems.append(f"tracks in more than one zero-shot split: {bad}")
    per_track = df.groupby("track_id")["split_track"].nunique()
    if (per_track > 1).any():
        bad = per_track[per_track > 1].index[:3].tolist()
        problems.append(f"tracks in more than one track-level split: {bad}")
    if "composition" in df.columns:
        for column, rows in (("split", inside), ("split_track", df)):
            per_piece = rows.groupby("composition")[column].nunique()
            if (per_piece > 1).any():
                bad = per_piece[per_piece > 1].index[:3].tolist()
                problems.append(f"compositions in more than one {column}: {bad}")
    trainval = df["split"].isin(["train", "val"])
    leak_fam = df[trainval & (df["label"] == "ai") & df["family"].isin(families)]
    if len(leak_fam):
        problems.append(f"held-out families in train/val: {sorted(set(leak_fam['family']))} "
                        f"({len(leak_fam)} rows, e.g. {leak_fam['path'].iloc[0]})")
    leak_src = df[trainval & df["source"].isin(sources)]
    if len(leak_src):
        problems.append(f"held-out sources in train/val: {sorted(set(leak_src['source']))} "
                        f"({len(leak_src)} rows, e.g. {leak_src['path'].iloc[0]})")
    if "heldout" in df.columns:
        should_fam = (df["label"] == "ai") & df["family"].isin(families)
        should_src = df["source"].isin(sources)
        marked_fam = df["heldout"].str.contains("family")
        marked_src = df["heldout"].str.contains("source")
        if ((should_fam != marked_fam) | (should_src != marked_src)).any():
            problems.append("the heldout column disagrees with the held-out families/sources")
    excluded = df[df["split"] == "excluded"]
    if len(excluded):
        bad = excluded[(excluded["label"] != "ai") | ~excluded["family"].isin(families)]
        if len(bad):
            problems.append(f"'excluded' rows that are not held-out-family AI clips: "
                            f"{bad['path'].iloc[0]}")
        track_split = inside.drop_duplicates("track_id").set_index("track_id")["split"]
        on_test = excluded["track_id"].map(track_split).eq("test")
        if on_test.any():
            problems.append(f"'excluded' rows on test tracks: {excluded['path'][on_test].iloc[0]}")
    forbidden = set(forbidden_tracks) & set(df["track_id"])
    if forbidden:
        problems.append(f"generator-training tracks in the manifest: {sorted(forbidden)[:3]}")
    if require_zero_shot:
        if len(families) < 2:
            problems.append(f"at least two generator families must be held out; got "
                            f"{sorted(families)}")
        if len(sources) < 1:
            problems.append("at least one real source must be held out")
        test = df[df["split"] == "test"]
        for fam in sorted(families):
            if not ((test["family"] == fam) & (test["label"] == "ai")).any():
                problems.append(f"held-out family {fam!r} has no test rows")
        for src in sorted(sources):
            if not (test["source"] == src).any():
                problems.append(f"held-out source {src!r} has no test rows")
    if problems:
        raise ManifestError("split leakage:\n- " + "\n- ".join(problems))
    return df


def _formatted(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["duration_s"] = out["duration_s"].map(lambda v: f"{float(v):.6f}")
    if "start_s" in out.columns:
        out["start_s"] = out["start_s"].map(lambda v: f"{float(v):.3f}")
    return out


def manifest_bytes(df: pd.DataFrame) -> bytes:
    """Serialise a manifest to CSV bytes deterministically (fixed float format, ``\\n`` ends).
    """
    buf = io.StringIO()
    _formatted(df).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def write_manifest(df: pd.DataFrame, path: str | os.PathLike) -> str:
    """Write a manifest CSV atomically and return its SHA-256 (hex).
    """
    atomic_write_bytes(path, manifest_bytes(df))
    return file_sha256(path)


def load_manifest(path: str | os.PathLike, *, validate: bool = True) -> pd.DataFrame:
    """Read a manifest CSV; ``df.attrs["root"]`` is its folder (paths are relative to it).

    Text columns stay text (an empty field is ``""``, never NaN); ``duration_s`` and
    ``start_s`` are floats. With ``validate`` the schema is checked (hashes may be missing in
    manifests of external data).
    """
    path = Path(path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    for col in ("duration_s", "start_s"):
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="coerce")
    df.attrs["root"] = str(path.resolve().parent)
    if validate:
        validate_manifest(df, require_hashes=False)
    return df


def absolute_paths(df: pd.DataFrame, root: str | os.PathLike | None = None) -> list[Path]:
    """Return every row's audio file as an absolute path (``root`` defaults to
    ``df.attrs["root"]``; absolute ``path`` values are kept as they are).
    """
    base = Path(root if root is not None else df.attrs.get("root", "."))
    return [base / p for p in df["path"]]
