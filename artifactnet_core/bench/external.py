"""External datasets through the manifest interface: ArtifactBench's JSON manifest, SONICS's two
CSV files, and a plain folder with ``real/`` and ``ai/`` subfolders.

Every loader returns the same DataFrame as :func:`artifactnet_core.bench.manifest.load_manifest`
(schema in :mod:`artifactnet_core.bench.manifest`) with ``df.attrs["root"]`` set to the folder the
paths are relative to. Hashes are left empty unless ``hash_files=True`` (reading every file of a
large dataset takes a while); durations come from the files' headers when the files are present.
None of these datasets hold out generator families, so they carry ``heldout == "none"``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from artifactnet_core.atomic import file_sha256
from artifactnet_core.bench.manifest import NONE, make_manifest, validate_manifest
from artifactnet_core.bench.sources import slugify
from artifactnet_core.detector.audio import AUDIO_EXTENSIONS, AudioError, audio_info

_CODEC_BY_SUFFIX = {".mp3": "mp3", ".m4a": "aac", ".aac": "aac", ".mp4": "aac",
                    ".opus": "opus", ".ogg": "vorbis", ".oga": "vorbis"}


def codec_from_suffix(path: str | os.PathLike) -> str:
    """Guess the lossy codec a file carries from its ending (``wav`` when lossless/unknown).
    """
    return _CODEC_BY_SUFFIX.get(Path(path).suffix.lower(), "wav")


def _relative(path: str, root: Path) -> str:
    p = Path(path)
    if p.is_absolute():
        try:
            return p.relative_to(root).as_posix()
        except ValueError:
            return p.as_posix()
    return p.as_posix()


def _fill_files(df: pd.DataFrame, root: Path, *, hash_files: bool,
                durations: bool = True) -> pd.DataFrame:
    """Fill ``duration_s`` (from headers, when missing) and ``sha256`` of files that exist."""
    for i, rel in enumerate(df["path"]):
        path = root / rel
        if not path.is_file():
            continue
        if durations and not (df.at[i, "duration_s"] > 0):
            try:
                df.at[i, "duration_s"] = audio_info(path).duration_s or float("nan")
            except AudioError as err:
                warnings.warn(f"{path}: {err.reason}; duration unknown", stacklevel=3)
        if hash_files:
            df.at[i, "sha256"] = file_sha256(path)
    return df


def _finish(rows: list[dict], root: Path, *, hash_files: bool) -> pd.DataFrame:
    df = make_manifest(rows)
    df = _fill_files(df, root, hash_files=hash_files)
    df.attrs["root"] = str(root)
    return validate_manifest(df, require_hashes=False)


def _label(value: object, where: str) -> str:
    text = str(value).strip().lower()
    if text in ("ai", "fake", "generated", "synthetic", "1", "true"):
        return "ai"
    if text in ("real", "human", "bonafide", "bona-fide", "0", "false"):
        return "real"
    raise ValueError(f"{where}: unknown label {value!r} (expected 'ai' or 'real')")


def load_artifactbench_json(path: str | os.PathLike, *, root: str | os.PathLike | None = None,
                            family_map: Mapping[str, str] | None = None,
                            hash_files: bool = False) -> pd.DataFrame:
    """Load ArtifactBench's JSON manifest (``{"bench": [{path, label, source, track_id,
    bench_origin, generator}, ...], ...}``) as a manifest DataFrame.

    Parameters
    ----------
    path : path
        The JSON file. Other top-level keys and extra per-entry keys are ignored, except
        ``duration``/``duration_s``, ``codec`` and ``family`` when present.
    root : path, optional
        Folder the entries' paths are relative to (default: the JSON's folder).
    family_map : mapping generator -> family, optional
        Decoder family of each generator (the JSON does not state it; default ``"unknown"``).
    hash_files : bool
        Compute ``sha256`` of every file present (slow on the full benchmark).

    Notes
    -----
    ArtifactBench has one protocol: ``bench_origin`` ``"train"`` / ``"test"`` becomes both
    ``split`` and ``split_track`` (there is no val split; carve one from train by track).
    """
    path = Path(path)
    root = Path(root) if root is not None else path.parent
    data = json.loads(path.read_text())
    entries = data.get("bench") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a JSON object with a 'bench' list")
    family_map = dict(family_map or {})
    rows = []
    for i, entry in enumerate(entries):
        where = f"{path} bench[{i}]"
        try:
            label = _label(entry["label"], where)
            origin = str(entry["bench_origin"]).strip().lower()
            rel = _relative(str(entry["path"]), root)
        except KeyError as err:
            raise ValueError(f"{where}: missing key {err}") from err
        if origin not in ("train", "test"):
            raise ValueError(f"{where}: bench_origin must be 'train' or 'test', got {origin!r}")
        generator = str(entry.get("generator") or "").strip()
        if label == "real" or generator.lower() in ("", "real", "none", "human"):
            generator = NONE if label == "real" else (generator or "unknown")
        family = NONE if label == "real" else str(
            entry.get("family") or family_map.get(generator, "unknown"))
        source = str(entry.get("source") or "artifactbench")
        track = str(entry.get("track_id") or Path(rel).stem)
        rows.append({
            "path": rel, "label": label, "source": source, "generator": generator,
            "family": family, "bench_origin": origin, "split": origin,
            "codec": str(entry.get("codec") or codec_from_suffix(rel)),
            "duration_s": float(entry.get("duration_s") or entry.get("duration") or "nan"),
            "sha256": "", "track_id": f"{source}/{track}", "split_track": origin,
            "clip_id": f"{source}/{track}", "start_s": 0.0, "real_path": "",
            "heldout": "none"})
    return _finish(rows, root, hash_files=hash_files)


def _sonics_family(algorithm: str) -> str:
    text = algorithm.lower()
    if "udio" in text:
        return "udio"
    if "suno" in text or "chirp" in text:
        return "suno"
    return text or "unknown"


def _sonics_file(folder: Path, row: Mapping[str, object]) -> str:
    """The audio file of a SONICS row: ``filepath``/``path`` when given, else ``filename``
    (which the SONICS scripts store without its ending) plus whichever ending exists."""
    for key in ("filepath", "path", "file_path"):
        value = str(row.get(key) or "").strip()
        if value:
            return value
    name = str(row.get("filename") or row.get("file") or "").strip()
    if not name:
        raise ValueError(f"SONICS row without a filename: {dict(row)}")
    if Path(name).suffix.lower() in AUDIO_EXTENSIONS:
        return f"{folder.name}/{name}"
    for ext in (".mp3", ".wav", ".flac", ".ogg", ".m4a"):
        if (folder / f"{name}{ext}").exists():
            return f"{folder.name}/{name}{ext}"
    return f"{folder.name}/{name}.mp3"


def load_sonics(root: str | os.PathLike, *, hash_files: bool = False) -> pd.DataFrame:
    """Load SONICS (``fake_songs.csv`` + ``real_songs.csv`` with ``fake_songs/`` and
    ``real_songs/`` folders) as a manifest DataFrame.

    Column assumptions, from the SONICS code (``data_split.py``): each CSV has ``filename``
    (the file name without its ending; ``.mp3`` for fake songs, ``.mp3`` or ``.wav`` for real
    ones - whichever exists is used; a ``filepath``/``path`` column wins when present),
    ``split`` (``train`` / ``valid`` / ``test``; ``valid`` becomes ``val``; missing -> ``test``)
    and, optionally, ``duration`` (s) and ``id``. Fake songs have ``algorithm`` (e.g.
    ``chirp-v3.5``, ``udio-120s``), which becomes ``generator``; its platform (``suno`` for
    ``chirp-*``, ``udio``) becomes ``family``. ``source`` is ``"sonics"``.
    """
    root = Path(root)
    rows = []
    for csv_name, folder_name, label in (("real_songs.csv", "real_songs", "real"),
                                         ("fake_songs.csv", "fake_songs", "ai")):
        csv_path = root / csv_name
        if not csv_path.exists():
            raise FileNotFoundError(f"SONICS: {csv_path} not found")
        table = pd.read_csv(csv_path, dtype=str, keep_default_na=False, low_memory=False)
        table.columns = [c.strip().lower() for c in table.columns]
        folder = root / folder_name
        for record in table.to_dict("records"):
            rel = _relative(_sonics_file(folder, record), root)
            split = str(record.get("split") or "test").strip().lower()
            split = {"valid": "val", "validation": "val", "dev": "val"}.get(split, split)
            if split not in ("train", "val", "test"):
                raise ValueError(f"{csv_path}: unknown split {split!r} for {rel}")
            algorithm = str(record.get("algorithm") or record.get("source") or "").strip()
            generator = NONE if label == "real" else (algorithm or "unknown")
            family = NONE if label == "real" else _sonics_family(algorithm)
            track = str(record.get("id") or Path(rel).stem)
            duration = pd.to_numeric(record.get("duration", ""), errors="coerce")
            rows.append({
                "path": rel, "label": label, "source": "sonics", "generator": generator,
                "family": family, "bench_origin": "test" if split == "test" else "train",
                "split": split, "codec": codec_from_suffix(rel), "duration_s": float(duration),
                "sha256": "", "track_id": f"sonics/{label}/{slugify(track)}",
                "split_track": split, "clip_id": f"sonics/{label}/{slugify(Path(rel).stem)}",
                "start_s": 0.0, "real_path": rel if label == "real" else "",
                "heldout": "none"})
    return _finish(rows, root, hash_files=hash_files)


def load_folder(root: str | os.PathLike, *, split: str = "test", hash_files: bool = False
                ) -> pd.DataFrame:
    """Load a plain folder with ``real/`` and ``ai/`` subfolders as a manifest DataFrame.

    Every audio file under ``real/`` is a real row and every one under ``ai/`` an AI row. A
    file in a subfolder of ``ai/`` takes that subfolder's name as its generator (e.g.
    ``ai/musicgen/x.wav``; ``unknown`` otherwise), and one in a subfolder of ``real/`` that
    name as its source (the root folder's name otherwise). All rows get ``split`` (default
    ``test``: a folder is usually an evaluation set); unreadable files are skipped with a
    warning.
    """
    root = Path(root)
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be train, val or test, not {split!r}")
    rows = []
    for label, sub in (("real", "real"), ("ai", "ai")):
        folder = root / sub
        if not folder.is_dir():
            raise FileNotFoundError(f"{root}: expected a '{sub}/' subfolder")
        for path in sorted(folder.rglob("*")):
            rel_in = path.relative_to(folder)
            if (not path.is_file() or path.suffix.lower() not in AUDIO_EXTENSIONS
                    or any(p.startswith(".") for p in rel_in.parts)):
                continue
            try:
                duration = audio_info(path).duration_s
            except AudioError as err:
                warnings.warn(f"skipping {path}: {err.reason}", stacklevel=2)
                continue
            nested = rel_in.parts[0] if len(rel_in.parts) > 1 else ""
            generator = NONE if label == "real" else (nested or "unknown")
            source = (nested or root.name) if label == "real" else root.name
            rel = path.relative_to(root).as_posix()
            track = slugify(rel_in.with_suffix("").as_posix())
            rows.append({
                "path": rel, "label": label, "source": source, "generator": generator,
                "family": NONE if label == "real" else generator,
                "bench_origin": "test" if split == "test" else "train", "split": split,
                "codec": codec_from_suffix(rel),
                "duration_s": float(duration) if duration else float("nan"), "sha256": "",
                "track_id": f"{sub}/{track}", "split_track": split,
                "clip_id": f"{sub}/{track}", "start_s": 0.0,
                "real_path": rel if label == "real" else "", "heldout": "none"})
    return _finish(rows, root, hash_files=hash_files)
