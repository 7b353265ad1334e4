"""The real music of ArtifactBench-mini: six sources shipped by Debian packages, plus any folder of
the user's own music (``--real-dir``).

Each source is a list of :class:`Track` objects: a stable track id (``"<source>/<name>"``, the same
on every machine) and where its audio comes from. Audio files are decoded by
:func:`artifactnet_core.detector.audio.iter_audio`; the Nexuiz tracks are read from inside their zip archive
(no extraction); the ``fluidr3_corpus`` tracks are pieces of music21's bundled score corpus,
rendered by ``fluidsynth`` with the FluidR3_GM soundfont (:mod:`artifactnet_core.bench.render`).

Only these six sources may be used to build the benchmark: other game-music packages and
soundfonts are kept back for an independent evaluation of the finished detector.

When a package is not installed, its ``.deb`` is fetched with ``apt-get download`` and unpacked
with ``dpkg-deb -x`` into the cache (no root needed); when that fails too,
:class:`SourceUnavailable` names the packages to install. Taught in notebook ``02_artifactbench``.
"""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from artifactnet_core.atomic import stable_hash
from artifactnet_core.bench.render import ScoreRender, choose_programs, render_score
from artifactnet_core.detector.audio import AUDIO_EXTENSIONS, audio_info, iter_audio
from artifactnet_core.detector.config import SAMPLE_RATE
from artifactnet_core.paths import cache_dir

#: The soundfont of the ``fluidr3_corpus`` source (Debian ``fluid-soundfont-gm``).
SOUNDFONT_PATH = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
# Score formats of the music21 corpus that parse to notes (roman-numeral analyses do not).
_SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn", ".abc")
# Corpus folders that are test material, not music.
_SCORE_SKIP_DIRS = ("demos", "theoryExercises", "leadSheet", "choraleAnalyses")
# Files above these sizes take seconds to parse; compressed MusicXML is ~20x denser.
_SCORE_MAX_BYTES = {".mxl": 80_000}
_SCORE_MAX_BYTES_DEFAULT = 1_500_000


class SourceUnavailable(RuntimeError):
    """A real source whose files are neither installed nor obtainable; names the packages."""


@dataclass(frozen=True)
class SourceSpec:
    """A real source: its name, the Debian packages it needs and where its files live.

    ``kind`` is ``"dir"`` (audio files under ``path``), ``"zip"`` (audio files inside the zip
    archive ``path``) or ``"score"`` (music21 corpus rendered with the soundfont at ``path``).
    """

    name: str
    package: str
    path: str
    kind: str
    description: str
    tools: tuple[str, ...] = ()


#: The six real sources, in the order the data card lists them.
SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec("wesnoth", "wesnoth-1.16-music", "/usr/share/games/wesnoth/1.16/data/core/music",
               "dir", "orchestral game score (Vorbis, 44.1 kHz)"),
    SourceSpec("warzone2100", "warzone2100-music", "/usr/share/games/warzone2100/music", "dir",
               "orchestral / electronic game score (Opus, 48 kHz)"),
    SourceSpec("singularity", "singularity-music", "/usr/share/games/singularity/music", "dir",
               "ambient electronic game score (Vorbis)"),
    SourceSpec("nexuiz", "nexuiz-music", "/usr/share/games/nexuiz/data/music.pk3", "zip",
               "electronic / metal game score (Vorbis inside a zip archive)"),
    SourceSpec("planetblupi", "planetblupi-music-ogg", "/usr/share/planetblupi/music", "dir",
               "game score (Vorbis)"),
    SourceSpec("fluidr3_corpus", "fluid-soundfont-gm", SOUNDFONT_PATH, "score",
               "music21 score corpus rendered by fluidsynth with FluidR3_GM (lossless)",
               tools=("fluidsynth",)),
)
SOURCE_NAMES: tuple[str, ...] = tuple(s.name for s in SOURCES)


@dataclass(frozen=True)
class Track:
    """One source track: where its audio comes from and its machine-independent id.

    ``kind`` is ``"file"`` (``location`` is an audio file), ``"zip"`` (``member`` of the zip
    archive ``location``) or ``"score"`` (``location`` is a corpus score rendered as ``render``
    says).
    """

    source: str
    track_id: str
    kind: str
    location: str
    member: str = ""
    render: ScoreRender | None = None

    @property
    def name(self) -> str:
        """The track id without its ``"<source>/"`` prefix (safe as a file name)."""
        return self.track_id.split("/", 1)[1]


def source_spec(name: str) -> SourceSpec:
    """Return the :class:`SourceSpec` called ``name`` (see :data:`SOURCES`).
    """
    for spec in SOURCES:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown real source {name!r}; known: {', '.join(SOURCE_NAMES)}")


def required_debian_packages(sources: Sequence[str] = SOURCE_NAMES) -> tuple[str, ...]:
    """Return the Debian packages the given real sources need (data and tools), in order.

    The Makefile installs these with ``apt-get install``.
    """
    packages: list[str] = []
    for name in sources:
        spec = source_spec(name)
        for pkg in (spec.package, *spec.tools):
            if pkg not in packages:
                packages.append(pkg)
    return tuple(packages)


def _install_hint(packages: Sequence[str]) -> str:
    return f"install them with: sudo apt-get install -y {' '.join(packages)}"


def slugify(text: str) -> str:
    """Turn a relative path into a file-name-safe id: ``"a b/c.ogg"`` -> ``"a_b__c.ogg"``.
    """
    text = text.replace("\\", "/").strip("/")
    parts = [re.sub(r"[^A-Za-z0-9._-]+", "_", p).strip("_") or "_" for p in text.split("/")]
    return "__".join(parts)


# --- locating package files -------------------------------------------------------------------

def unpack_debian_package(package: str, *, unpack_root: Path | None = None,
                          timeout_s: float = 900.0) -> Path:
    """Fetch ``package`` with ``apt-get download`` and unpack it with ``dpkg-deb -x``.

    Works without root. The files land under ``unpack_root/package/`` (default
    ``cache_dir()/debs``), mirroring the system tree (``usr/share/...``); an already unpacked
    package is reused. Raises :class:`SourceUnavailable` when either tool fails.
    """
    unpack_root = Path(unpack_root) if unpack_root is not None else cache_dir() / "debs"
    dest = unpack_root / package
    if (dest / ".complete").exists():
        return dest
    unpack_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{package}-", dir=unpack_root) as tmp:
        try:
            subprocess.run(["apt-get", "download", package], cwd=tmp, check=True,
                           capture_output=True, timeout=timeout_s)
            debs = sorted(Path(tmp).glob("*.deb"))
            if not debs:
                raise SourceUnavailable(f"apt-get download {package} produced no .deb")
            staging = Path(tmp) / "root"
            subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(staging)], check=True,
                           capture_output=True, timeout=timeout_s)
        except (OSError, subprocess.SubprocessError) as err:
            detail = getattr(err, "stderr", b"") or b""
            raise SourceUnavailable(
                f"Debian package {package} is not installed and could not be downloaded "
                f"({type(err).__name__}: {detail.decode(errors='replace').strip()[:200]}); "
                f"{_install_hint([package])}") from err
        (staging / ".complete").touch()
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staging, dest)
    return dest


def locate_source(spec: SourceSpec, *, system_root: Path = Path("/"),
                  unpack_root: Path | None = None, allow_download: bool = True) -> Path:
    """Return the path of a source's files: installed, or unpacked into the cache.

    Parameters
    ----------
    spec : SourceSpec
        The source.
    system_root : Path
        Where installed packages are looked for (``/``; tests point it elsewhere).
    unpack_root : Path, optional
        Where :func:`unpack_debian_package` unpacks (default ``cache_dir()/debs``).
    allow_download : bool
        Try ``apt-get download`` + ``dpkg-deb -x`` when the package is not installed.

    Raises
    ------
    SourceUnavailable
        Naming the Debian package(s) to install.
    """
    rel = spec.path.lstrip("/")
    installed = Path(system_root) / rel
    if installed.exists():
        return installed
    if allow_download:
        unpacked = unpack_debian_package(spec.package, unpack_root=unpack_root) / rel
        if unpacked.exists():
            return unpacked
    raise SourceUnavailable(f"real source {spec.name!r} needs Debian package {spec.package} "
                            f"({spec.path} not found); "
                            f"{_install_hint(required_debian_packages([spec.name]))}")


def locate_fluidsynth(*, unpack_root: Path | None = None,
                      allow_download: bool = True) -> tuple[str, dict[str, str] | None]:
    """Return the ``fluidsynth`` command to run and the environment it needs.

    The installed command when there is one; otherwise the binary of the unpacked ``fluidsynth``
    and ``libfluidsynth3`` packages with ``LD_LIBRARY_PATH`` pointing at the unpacked library.
    Raises :class:`SourceUnavailable` when neither runs.
    """
    found = shutil.which("fluidsynth")
    if found:
        return found, None
    if allow_download:
        try:
            binary = unpack_debian_package("fluidsynth", unpack_root=unpack_root) / "usr/bin/fluidsynth"
            lib = unpack_debian_package("libfluidsynth3", unpack_root=unpack_root)
            libdirs = [str(p) for p in sorted((lib / "usr/lib").glob("*")) if p.is_dir()]
            env = dict(os.environ)
            env["LD_LIBRARY_PATH"] = os.pathsep.join(
                [*libdirs, str(lib / "usr/lib"), env.get("LD_LIBRARY_PATH", "")])
            subprocess.run([str(binary), "--version"], check=True, capture_output=True,
                           env=env, timeout=30)
            return str(binary), env
        except (OSError, subprocess.SubprocessError, SourceUnavailable):
            pass
    raise SourceUnavailable("the fluidr3_corpus source needs the fluidsynth command; "
                            f"{_install_hint(['fluidsynth', 'fluid-soundfont-gm'])}")


# --- licences ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class LicenceInfo:
    """A package's licence as its Debian copyright file states it."""

    package: str
    summary: str
    evidence: str
    copyright_path: str


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def summarise_licence(copyright_text: str, readme_text: str = "") -> tuple[str, str]:
    """Return ``(SPDX-like summary, quoted evidence)`` for a Debian copyright file's text.

    Machine-readable (DEP-5) files give the ``License:`` of their ``Files: *`` stanza; free-form
    files are matched against Creative Commons BY-SA, MIT and GNU GPL wording (the version of a
    CC licence is taken from the package README when the copyright file only holds the legal
    code). Returns ``("unknown", "")`` when nothing matches.
    """
    stanza = re.search(r"^Files:[ \t]*\*[ \t]*\n(?:(?!Files:).*\n)*?License:[ \t]*([^\n]+)",
                       copyright_text, flags=re.MULTILINE)
    if stanza:
        return stanza.group(1).strip(), _squash(stanza.group(0))[:200]
    text = _squash(copyright_text)
    if re.search(r"creative commons", text, re.I) and re.search(r"share ?alike", text, re.I):
        version = re.search(r"BY-SA\s*(\d\.\d)", _squash(readme_text))
        evidence = re.search(r"[^.]*BY-SA[^.]*\.", _squash(readme_text))
        summary = f"CC-BY-SA-{version.group(1)}" if version else "CC-BY-SA"
        quote = evidence.group(0).strip() if evidence else "Creative Commons Attribution-ShareAlike"
        return summary, quote
    mit = re.search(r"[^.\"]*under the MIT license[^.\"]*", text, re.I)
    if mit:
        return "MIT", mit.group(0).strip()
    gpl = re.search(r"GNU (?:Library )?General Public License[^.]{0,200}", text)
    if gpl:
        clause = gpl.group(0)
        version = re.search(r"version (\d)", clause)
        later = re.search(r"later version", clause)
        summary = "GPL" + (f"-{version.group(1)}" if version else "") + ("+" if later else "")
        return summary, clause.strip()
    return "unknown", ""


def package_licence(package: str, *, doc_roots: Sequence[Path] | None = None) -> LicenceInfo:
    """Read ``/usr/share/doc/PACKAGE/copyright`` (or its unpacked copy) and summarise it.

    Parameters
    ----------
    package : str
        Debian package name.
    doc_roots : sequence of Path, optional
        Folders holding ``PACKAGE/copyright``; default ``/usr/share/doc`` and the unpacked copy
        under ``cache_dir()/debs/PACKAGE/usr/share/doc``.
    """
    if doc_roots is None:
        doc_roots = (Path("/usr/share/doc"), cache_dir() / "debs" / package / "usr/share/doc")
    for root in doc_roots:
        path = Path(root) / package / "copyright"
        if path.exists():
            readme = Path(root) / package / "README"
            summary, evidence = summarise_licence(
                path.read_text(errors="replace"),
                readme.read_text(errors="replace") if readme.exists() else "")
            return LicenceInfo(package, summary, evidence, str(path))
    return LicenceInfo(package, "unknown (copyright file not found)", "", "")


def licence_table(sources: Sequence[str] = SOURCE_NAMES) -> list[LicenceInfo]:
    """Return :class:`LicenceInfo` for every package the given sources use (for the data card).

    Taught in notebook ``02_artifactbench``.
    """
    return [package_licence(pkg) for pkg in required_debian_packages(sources)]


# --- listing tracks ---------------------------------------------------------------------------

def list_folder_tracks(folder: str | os.PathLike, *, source: str = "user") -> list[Track]:
    """List every audio file under ``folder`` (recursively) as a track of source ``source``.

    Files are recognised by their ending (:data:`artifactnet_core.detector.audio.AUDIO_EXTENSIONS`,
    case-insensitive); hidden files are ignored. Track ids are ``"<source>/<relative path>"``
    made file-name safe. Whether a file really decodes is checked later, file by file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"--real-dir {folder}: not a folder")
    tracks = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if (path.is_file() and path.suffix.lower() in AUDIO_EXTENSIONS
                and not any(p.startswith(".") for p in rel.parts)):
            tracks.append(Track(source, f"{source}/{slugify(rel.as_posix())}", "file",
                                str(path)))
    return tracks


def list_zip_tracks(archive: str | os.PathLike, *, source: str) -> list[Track]:
    """List the audio members of a zip archive (e.g. Nexuiz's ``music.pk3``) as tracks.
    """
    with zipfile.ZipFile(archive) as z:
        members = sorted(n for n in z.namelist()
                         if not n.endswith("/") and Path(n).suffix.lower() in AUDIO_EXTENSIONS)
    return [Track(source, f"{source}/{slugify(Path(m).name)}", "zip", str(archive), member=m)
            for m in members]


def corpus_candidates() -> list[tuple[str, Path]]:
    """Return ``(relative path, absolute path)`` of every usable music21 core-corpus score.

    Kept: MusicXML, Humdrum and ABC files, outside test folders, small enough to parse in about
    a second; when a piece exists in two formats only one is kept.
    """
    from music21 import corpus

    paths = corpus.getCorePaths()
    if not paths:
        return []
    root = Path(paths[0])
    while root.name != "corpus" and root != root.parent:
        root = root.parent
    seen: set[str] = set()
    out = []
    for path in sorted(Path(p) for p in paths):
        rel = path.relative_to(root).as_posix()
        stem = rel.rsplit(".", 1)[0]
        if (path.suffix not in _SCORE_SUFFIXES or rel.split("/")[0] in _SCORE_SKIP_DIRS
                or stem in seen
                or path.stat().st_size > _SCORE_MAX_BYTES.get(path.suffix,
                                                              _SCORE_MAX_BYTES_DEFAULT)):
            continue
        seen.add(stem)
        out.append((rel, path))
    return out


def select_corpus_pieces(n: int, *, seed: int) -> list[tuple[str, Path]]:
    """Choose ``n`` corpus scores deterministically: shuffled within each collection, then taken
    round-robin across collections (Bach, Palestrina, folk tunes...), so no collection dominates.
    """
    groups: dict[str, list[tuple[str, Path]]] = {}
    for rel, path in corpus_candidates():
        groups.setdefault(rel.split("/")[0], []).append((rel, path))
    rng = random.Random(int(stable_hash("corpus", seed), 16))
    order = sorted(groups)
    rng.shuffle(order)
    for name in order:
        rng.shuffle(groups[name])
    picked: list[tuple[str, Path]] = []
    depth = 0
    while len(picked) < n and any(depth < len(g) for g in groups.values()):
        for name in order:
            if depth < len(groups[name]) and len(picked) < n:
                picked.append(groups[name][depth])
        depth += 1
    return picked


def list_corpus_tracks(*, n_pieces: int, max_s: float, seed: int,
                       soundfont: str | os.PathLike = SOUNDFONT_PATH,
                       source: str = "fluidr3_corpus") -> list[Track]:
    """List ``n_pieces`` corpus scores as tracks to be rendered (at most ``max_s`` s each).
    """
    tracks = []
    for rel, path in select_corpus_pieces(n_pieces, seed=seed):
        render = ScoreRender(float(max_s), choose_programs(seed=seed, key=rel), str(soundfont))
        tracks.append(Track(source, f"{source}/{slugify(rel)}", "score", str(path),
                            render=render))
    return sorted(tracks, key=lambda t: t.track_id)


def list_source_tracks(name: str, *, seed: int, corpus_pieces: int = 24,
                       corpus_max_s: float = 60.0, system_root: Path = Path("/"),
                       unpack_root: Path | None = None,
                       allow_download: bool = True) -> list[Track]:
    """List the tracks of one of the six real sources, sorted by track id.

    Parameters
    ----------
    name : str
        One of :data:`SOURCE_NAMES`.
    seed : int
        Chooses the corpus pieces and their instruments (``fluidr3_corpus`` only).
    corpus_pieces, corpus_max_s : int, float
        How many corpus scores, and their maximum rendered duration in seconds.
    system_root, unpack_root, allow_download
        See :func:`locate_source`.

    Raises
    ------
    SourceUnavailable
        When the package is neither installed nor obtainable.
    """
    spec = source_spec(name)
    location = locate_source(spec, system_root=system_root, unpack_root=unpack_root,
                             allow_download=allow_download)
    if spec.kind == "dir":
        return list_folder_tracks(location, source=name)
    if spec.kind == "zip":
        return list_zip_tracks(location, source=name)
    return list_corpus_tracks(n_pieces=corpus_pieces, max_s=corpus_max_s, seed=seed,
                              soundfont=location, source=name)


# --- reading track audio ----------------------------------------------------------------------

def rendered_path(track: Track, *, render_dir: Path) -> Path:
    """Where the rendering of a score track is cached (keyed by piece and render settings).
    """
    key = stable_hash(track.track_id, track.render, Path(track.location).stat().st_size)
    return Path(render_dir) / track.source / f"{track.name}-{key}.flac"


def _open_source(track: Track, *, render_dir: Path, fluidsynth: tuple[str, dict | None] | None):
    if track.kind == "file":
        return track.location
    if track.kind == "zip":
        with zipfile.ZipFile(track.location) as z:
            buf = io.BytesIO(z.read(track.member))
        buf.name = f"{track.location}!{track.member}"   # so errors name the member
        return buf
    if track.kind == "score":
        out = rendered_path(track, render_dir=render_dir)
        if not out.exists():
            command, env = fluidsynth or locate_fluidsynth()
            render_score(track.location, out, render=track.render, fluidsynth=command, env=env)
        return out
    raise ValueError(f"unknown track kind {track.kind!r}")


def track_duration(track: Track, *, render_dir: Path,
                   fluidsynth: tuple[str, dict | None] | None = None) -> float | None:
    """Return a track's duration in seconds from its header (rendering a score first).

    ``None`` when the container does not state it. Raises
    :class:`~artifactnet_core.detector.audio.AudioError` or
    :class:`~artifactnet_core.bench.render.RenderError` for unusable tracks.
    """
    return audio_info(_open_source(track, render_dir=render_dir, fluidsynth=fluidsynth)).duration_s


def iter_track_audio(track: Track, *, render_dir: Path,
                     fluidsynth: tuple[str, dict | None] | None = None,
                     sr: int = SAMPLE_RATE) -> Iterator[np.ndarray]:
    """Stream a track as mono float32 blocks at ``sr`` Hz (see
    :func:`artifactnet_core.detector.audio.iter_audio`); scores are rendered (and cached) first.
    """
    yield from iter_audio(_open_source(track, render_dir=render_dir, fluidsynth=fluidsynth), sr=sr)
