"""The real music of ArtifactBench-mini: ten sources shipped by Debian packages, plus any folder
of the user's own music (``--real-dir``).

Each source is a list of :class:`Track` objects: a stable track id (``"<source>/<name>"``, the same
on every machine) and where its audio comes from. Five sources are game scores distributed as
lossy files (Vorbis, Opus; the Nexuiz tracks are read from inside their zip archive); five are
rendered losslessly from symbolic music (:mod:`artifactnet_core.bench.render`): two disjoint halves
of music21's bundled score corpus through two General MIDI soundfonts, OpenTTD's and MMA's MIDI
files, and Pingus's tracker modules. :func:`composition_keys` names the piece a track is, so that
variants of one composition (``battle`` / ``battle-epic``, ``track3`` / ``track3_enhanced``,
movements of one cantata) never fall on both sides of a split.

Only these sources may be used to build the benchmark: other game-music packages and soundfonts
are kept back for an independent evaluation of the finished detector.

When a package is not installed, its ``.deb`` is fetched with ``apt-get download`` and unpacked
with ``dpkg-deb -x`` into the cache (no root needed); when that fails too,
:class:`SourceUnavailable` names the packages to install.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from artifactnet_core.atomic import stable_hash
from artifactnet_core.bench.packages import (
    LicenceInfo,
    SourceUnavailable,
    Tool,
    install_hint,
    locate_path,
    locate_tool,
    package_licence,
    summarise_licence,
    unpack_debian_package,
)
from artifactnet_core.bench.render import (
    ScoreRender,
    choose_programs,
    render_midi,
    render_module,
    render_score,
)
from artifactnet_core.detector.audio import AUDIO_EXTENSIONS, audio_info, iter_audio
from artifactnet_core.detector.config import SAMPLE_RATE

#: The soundfonts of the rendered sources (Debian ``fluid-soundfont-gm``, ``csound-soundfont``).
SOUNDFONT_PATH = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
CSOUND_SOUNDFONT_PATH = "/usr/share/sounds/sf2/sf_GMbank.sf2"
#: Endings of the symbolic kinds.
MIDI_EXTENSIONS = (".mid", ".midi")
MODULE_EXTENSIONS = (".it", ".s3m", ".xm", ".mod")
#: Longest stretch of a rendered track used (s); renders are cached per track.
RENDER_MAX_S = 120.0
# Score formats of the music21 corpus that parse to notes (roman-numeral analyses do not).
_SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn", ".abc")
# Corpus folders that are test material, not music.
_SCORE_SKIP_DIRS = ("demos", "theoryExercises", "leadSheet", "choraleAnalyses")
# Files above these sizes take seconds to parse; compressed MusicXML is ~20x denser.
_SCORE_MAX_BYTES = {".mxl": 80_000}
_SCORE_MAX_BYTES_DEFAULT = 1_500_000


@dataclass(frozen=True)
class SourceSpec:
    """A real source: its name, the Debian packages it needs and where its files live.

    Attributes
    ----------
    name : str
        The source's name in the manifest.
    package : str
        The Debian package holding its files.
    path : str
        ``kind`` ``"dir"``, ``"midi"``, ``"module"``: the folder searched (recursively);
        ``"zip"``: the zip archive; ``"score"``: the soundfont the music21 corpus is rendered with.
    kind : str
        ``"dir"`` (audio files), ``"zip"`` (audio files in an archive), ``"score"`` (music21
        corpus), ``"midi"`` (MIDI files rendered with ``soundfont``), ``"module"`` (tracker
        modules rendered by ``openmpt123``).
    description : str
        One line for the data card.
    tools : tuple of str
        Debian packages of the tools it needs (renderers, soundfonts).
    lossless : bool
        Whether its audio never went through a lossy codec.
    soundfont : str
        ``"midi"`` sources: the soundfont they are rendered with.
    corpus_part : int
        ``"score"`` sources: which half of the corpus they render (0 or 1; halves are split by
        composition, so no piece is in both).
    min_bytes : int
        Files smaller than this are not tracks (MMA's examples include one-bar demos).
    """

    name: str
    package: str
    path: str
    kind: str
    description: str
    tools: tuple[str, ...] = ()
    lossless: bool = False
    soundfont: str = ""
    corpus_part: int = 0
    min_bytes: int = 0


#: The real sources, in the order the data card lists them: lossy game scores, then renders.
SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec("wesnoth", "wesnoth-1.16-music", "/usr/share/games/wesnoth/1.16/data/core/music",
               "dir", "orchestral game score (Vorbis, 44.1 kHz stereo, 36-241 kbit/s)"),
    SourceSpec("warzone2100", "warzone2100-music", "/usr/share/games/warzone2100/music", "dir",
               "orchestral / electronic game score (Opus, 48 kHz stereo, 46-52 kbit/s)"),
    SourceSpec("singularity", "singularity-music", "/usr/share/games/singularity/music", "dir",
               "ambient electronic game score (Vorbis, 48 kHz stereo, 85-121 kbit/s)"),
    SourceSpec("nexuiz", "nexuiz-music", "/usr/share/games/nexuiz/data/music.pk3", "zip",
               "electronic / metal game score (Vorbis inside a zip archive)"),
    SourceSpec("planetblupi", "planetblupi-music-ogg", "/usr/share/planetblupi/music", "dir",
               "game score (Vorbis, 44.1 kHz stereo, 63-73 kbit/s)"),
    SourceSpec("fluidr3_corpus", "fluid-soundfont-gm", SOUNDFONT_PATH, "score",
               "half of the music21 score corpus rendered by fluidsynth with FluidR3_GM",
               tools=("fluidsynth",), lossless=True, corpus_part=0),
    SourceSpec("csound_corpus", "csound-soundfont", CSOUND_SOUNDFONT_PATH, "score",
               "the other half of the music21 corpus rendered by fluidsynth with Csound's GM bank",
               tools=("fluidsynth",), lossless=True, corpus_part=1),
    SourceSpec("openmsx_midi", "openttd-openmsx", "/usr/share/games/openttd/baseset", "midi",
               "OpenTTD's OpenMSX MIDI soundtrack rendered by fluidsynth with Csound's GM bank",
               tools=("fluidsynth", "csound-soundfont"), lossless=True,
               soundfont=CSOUND_SOUNDFONT_PATH),
    SourceSpec("mma_midi", "mma", "/usr/share/doc/mma/examples", "midi",
               "MMA's accompaniment examples (MIDI) rendered by fluidsynth with FluidR3_GM",
               tools=("fluidsynth", "fluid-soundfont-gm"), lossless=True,
               soundfont=SOUNDFONT_PATH, min_bytes=5_000),
    SourceSpec("pingus_modules", "pingus-data", "/usr/share/games/pingus/data/music", "module",
               "Pingus's tracker modules (Impulse/Scream Tracker) rendered by openmpt123",
               tools=("openmpt123",), lossless=True),
)
SOURCE_NAMES: tuple[str, ...] = tuple(s.name for s in SOURCES)
#: Commands the symbolic kinds run, and the Debian packages holding each command and its library.
__all__ = ["SOURCES", "SOURCE_NAMES", "CodecHistory", "LicenceInfo", "SourceSpec",
           "SourceUnavailable", "Tool", "Track", "codec_history", "composition_keys",
           "iter_track_audio", "licence_table", "list_folder_tracks", "list_source_tracks",
           "list_zip_tracks", "locate_source", "locate_tool", "locate_tools", "package_licence",
           "required_debian_packages", "source_spec", "summarise_licence", "track_duration",
           "unpack_debian_package"]
KIND_TOOL = {"score": "fluidsynth", "midi": "fluidsynth", "module": "openmpt123"}
SOUNDFONT_PACKAGES = {SOUNDFONT_PATH: "fluid-soundfont-gm",
                      CSOUND_SOUNDFONT_PATH: "csound-soundfont"}


@dataclass(frozen=True)
class Track:
    """One source track: where its audio comes from and its machine-independent id.

    ``kind`` is ``"file"`` (``location`` is an audio file), ``"zip"`` (``member`` of the zip
    archive ``location``), or ``"score"``, ``"midi"``, ``"module"`` (``location`` is a corpus
    score, a MIDI file or a tracker module rendered as ``render`` says). ``lossless`` says
    whether the audio never went through a lossy codec.
    """

    source: str
    track_id: str
    kind: str
    location: str
    member: str = ""
    render: ScoreRender | None = None
    lossless: bool = False

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


def slugify(text: str) -> str:
    """Turn a relative path into a file-name-safe id: ``"a b/c.ogg"`` -> ``"a_b__c.ogg"``.
    """
    text = text.replace("\\", "/").strip("/")
    parts = [re.sub(r"[^A-Za-z0-9._-]+", "_", p).strip("_") or "_" for p in text.split("/")]
    return "__".join(parts)


# --- locating package files -------------------------------------------------------------------

def locate_source(spec: SourceSpec, *, system_root: Path = Path("/"),
                  unpack_root: Path | None = None, allow_download: bool = True) -> Path:
    """Return the path of a source's files: installed, or unpacked into the cache
    (:func:`~artifactnet_core.bench.packages.locate_path`).

    Raises
    ------
    SourceUnavailable
        Naming the Debian package(s) to install.
    """
    return locate_path(spec.path, spec.package, what=f"real source {spec.name!r}",
                       system_root=system_root, unpack_root=unpack_root,
                       allow_download=allow_download,
                       hint=install_hint(required_debian_packages([spec.name])))


def locate_tools(kinds: Sequence[str], *, unpack_root: Path | None = None) -> dict[str, Tool]:
    """The renderer commands that tracks of ``kinds`` need, by command name."""
    return {command: locate_tool(command, unpack_root=unpack_root)
            for command in sorted({KIND_TOOL[k] for k in kinds if k in KIND_TOOL})}


def licence_table(sources: Sequence[str] = SOURCE_NAMES) -> list[LicenceInfo]:
    """Return :class:`LicenceInfo` for every package the given sources use (for the data card).

    Taught in notebook ``02_artifactbench``.
    """
    return [package_licence(pkg) for pkg in required_debian_packages(sources)]


# --- listing tracks ---------------------------------------------------------------------------

def list_folder_tracks(folder: str | os.PathLike, *, source: str = "user",
                       extensions: Sequence[str] = AUDIO_EXTENSIONS, kind: str = "file",
                       render: ScoreRender | None = None, lossless: bool = False,
                       min_bytes: int = 0) -> list[Track]:
    """List every file under ``folder`` (recursively) with one of ``extensions`` as a track.

    Endings are matched case-insensitively; hidden files are ignored. Track ids are
    ``"<source>/<relative path>"`` made file-name safe. Whether a file really decodes (or
    renders) is checked later, file by file.

    Parameters
    ----------
    folder : path
        Where to look.
    source : str
        The source's name.
    extensions : sequence of str
        File endings that are tracks (default: audio files).
    kind, render, lossless
        What the tracks are (``"file"``, or ``"midi"`` / ``"module"`` with how to render them).
    min_bytes : int
        Smaller files are skipped.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder")
    tracks = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if (path.is_file() and path.suffix.lower() in extensions
                and not any(p.startswith(".") for p in rel.parts)
                and path.stat().st_size >= min_bytes):
            tracks.append(Track(source, f"{source}/{slugify(rel.as_posix())}", kind,
                                str(path), render=render, lossless=lossless))
    return tracks


def list_zip_tracks(archive: str | os.PathLike, *, source: str) -> list[Track]:
    """List the audio members of a zip archive (e.g. Nexuiz's ``music.pk3``) as tracks."""
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


def list_corpus_tracks(*, part: int, soundfont: str | os.PathLike = SOUNDFONT_PATH,
                       source: str = "fluidr3_corpus", max_s: float = RENDER_MAX_S) -> list[Track]:
    """List the corpus scores of one half of the corpus as tracks to be rendered.

    The corpus is halved by composition (:func:`composition_keys`, a stable hash), so the two
    corpus sources never share a piece. Each score's General MIDI programs depend on the piece
    only (:func:`~artifactnet_core.bench.render.choose_programs`), so a track sounds the same
    whatever seed a build uses.
    """
    tracks = []
    for rel, path in corpus_candidates():
        track_id = f"{source}/{slugify(rel)}"
        if int(stable_hash("corpus-part", _piece(track_id)[1]), 16) % 2 != part:
            continue
        render = ScoreRender(float(max_s), choose_programs(seed=0, key=rel), str(soundfont))
        tracks.append(Track(source, track_id, "score", str(path), render=render, lossless=True))
    return tracks


def list_source_tracks(name: str, *, system_root: Path = Path("/"),
                       unpack_root: Path | None = None,
                       allow_download: bool = True) -> list[Track]:
    """List every track of one of the real sources, sorted by track id.

    Parameters
    ----------
    name : str
        One of :data:`SOURCE_NAMES`.
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
    if spec.kind == "score":
        return sorted(list_corpus_tracks(part=spec.corpus_part, soundfont=location, source=name),
                      key=lambda t: t.track_id)
    if spec.kind == "midi":
        soundfont = locate_source(SourceSpec(name, SOUNDFONT_PACKAGES[spec.soundfont],
                                             spec.soundfont, "dir", ""),
                                  system_root=system_root, unpack_root=unpack_root,
                                  allow_download=allow_download)
        render = ScoreRender(RENDER_MAX_S, (), str(soundfont))
        return list_folder_tracks(location, source=name, extensions=MIDI_EXTENSIONS, kind="midi",
                                  render=render, lossless=True, min_bytes=spec.min_bytes)
    if spec.kind == "module":
        return list_folder_tracks(location, source=name, extensions=MODULE_EXTENSIONS,
                                  kind="module", render=ScoreRender(RENDER_MAX_S, (), ""),
                                  lossless=True, min_bytes=spec.min_bytes)
    raise ValueError(f"source {name!r}: unknown kind {spec.kind!r}")


# --- compositions -----------------------------------------------------------------------------

# Words that mark another version of the same piece: "battle-epic", "frantic-old",
# "menu_enhanced", "sixtyfour_revisited".
_VARIANT_WORDS = ("old", "epic", "enhanced", "revisited", "remix", "remastered", "remaster",
                  "alt", "alternate", "short", "long", "loop", "edit", "version", "reprise")
_VARIANT_SUFFIX = re.compile(r"[-_ .]+(?:" + "|".join(_VARIANT_WORDS) + r")$", re.I)


def _piece(track_id: str) -> tuple[str, str]:
    """``(source, piece name)`` of a track before version digits are considered."""
    source, _, name = track_id.partition("/")
    piece = name.split("__")[-1].lower()
    piece = re.sub(r"\.(ogg|oga|opus|mp3|flac|wav|mid|midi|it|s3m|xm|mod|mxl|xml|musicxml|krn|abc)$",
                   "", piece)
    if source.endswith("_corpus") and "__" in name:
        piece = f"{name.split('__')[0].lower()}/{piece}"
        piece = re.sub(r"\.\d+$", "", piece)          # movement / verse of one work
    while True:
        stripped = _VARIANT_SUFFIX.sub("", piece).rstrip("-_ .")
        if stripped == piece:
            return source, piece
        piece = stripped


def composition_keys(track_ids: Iterable[str]) -> dict[str, str]:
    """The piece each track is, so that versions of one piece share a split.

    A track's key is ``"<source>/<piece>"``: the last component of its name without file
    ending, without trailing variant words (``-old``, ``-epic``, ``_enhanced``,
    ``_revisited``...) and, for the music21 corpus, without the movement number (``bwv153.5``
    and ``bwv153.9`` are one cantata). A version digit glued to a word (``defeat2``,
    ``victory2``) is dropped when the same source has the piece without it (``defeat``), so
    numbered series (``track2`` ... ``track9``, ``music003``) stay apart. Grouping too much is
    safe (splits only get coarser); too little would leak.
    """
    pieces = {t: _piece(t) for t in track_ids}
    present = set(pieces.values())
    keys = {}
    for track_id, (source, piece) in pieces.items():
        base = re.sub(r"(?<=[a-z])[2-9]$", "", piece)
        if base != piece and (source, base) in present:
            piece = base
        keys[track_id] = f"{source}/{piece}"
    return keys


# --- reading track audio ----------------------------------------------------------------------

def rendered_path(track: Track, *, render_dir: Path) -> Path:
    """Where the rendering of a symbolic track is cached (keyed by piece and render settings)."""
    key = stable_hash(track.track_id, track.render, Path(track.location).stat().st_size)
    return Path(render_dir) / track.source / f"{track.name}-{key}.flac"


_RENDERERS = {"score": render_score, "midi": render_midi, "module": render_module}


def _open_source(track: Track, *, render_dir: Path, tools: dict[str, Tool] | None):
    if track.kind == "file":
        return track.location
    if track.kind == "zip":
        with zipfile.ZipFile(track.location) as z:
            buf = io.BytesIO(z.read(track.member))
        buf.name = f"{track.location}!{track.member}"   # so errors name the member
        return buf
    if track.kind in _RENDERERS:
        out = rendered_path(track, render_dir=render_dir)
        if not out.exists():
            command = KIND_TOOL[track.kind]
            path, env = (tools or {}).get(command) or locate_tool(command)
            keyword = "openmpt" if command == "openmpt123" else "fluidsynth"
            _RENDERERS[track.kind](track.location, out, render=track.render,
                                   **{keyword: path}, env=env)
        return out
    raise ValueError(f"unknown track kind {track.kind!r}")


def track_duration(track: Track, *, render_dir: Path,
                   tools: dict[str, Tool] | None = None) -> float | None:
    """Return a track's duration in seconds from its header (rendering a symbolic track first).

    ``None`` when the container does not state it. Raises
    :class:`~artifactnet_core.detector.audio.AudioError` or
    :class:`~artifactnet_core.bench.render.RenderError` for unusable tracks.
    """
    return audio_info(_open_source(track, render_dir=render_dir, tools=tools)).duration_s


def iter_track_audio(track: Track, *, render_dir: Path, tools: dict[str, Tool] | None = None,
                     sr: int = SAMPLE_RATE) -> Iterator[np.ndarray]:
    """Stream a track as mono float32 blocks at ``sr`` Hz (see
    :func:`artifactnet_core.detector.audio.iter_audio`); symbolic tracks are rendered (and
    cached) first.
    """
    yield from iter_audio(_open_source(track, render_dir=render_dir, tools=tools), sr=sr)


@dataclass(frozen=True)
class CodecHistory:
    """What lossy coding a track's audio went through before we read it.

    ``codec`` is ``"lossless"`` or the lossy codec (``"vorbis"``, ``"opus"``, ``"mp3"``,
    ``"aac"``); ``sample_rate`` (Hz) and ``channels`` are the coded stream's, ``kbps`` its
    average bitrate over the whole file.
    """

    codec: str
    sample_rate: int
    channels: int
    kbps: float

    @property
    def lossless(self) -> bool:
        return self.codec == "lossless"

    def label(self) -> str:
        """Short text for the manifest, e.g. ``"vorbis 44.1 kHz 2 ch 112 kbit/s"``."""
        if self.lossless:
            return "lossless"
        return (f"{self.codec} {self.sample_rate / 1000:g} kHz {self.channels} ch "
                f"{self.kbps:.0f} kbit/s")


_LOSSY = {"vorbis": "vorbis", "opus": "opus", "mp3": "mp3", "mp3float": "mp3", "aac": "aac"}


def codec_history(track: Track) -> CodecHistory:
    """Probe a track's codec history: rendered tracks are lossless; files and archive members
    are opened with FFmpeg for their codec, rate and channels, and the bitrate is their size
    over their duration. Raises :class:`~artifactnet_core.detector.audio.AudioError` for files
    FFmpeg cannot open.
    """
    if track.kind in _RENDERERS or track.lossless:
        return CodecHistory("lossless", SAMPLE_RATE, 1, 0.0)
    import av

    from artifactnet_core.detector.audio import AudioError

    if track.kind == "zip":
        with zipfile.ZipFile(track.location) as z:
            data = z.read(track.member)
        handle, size = io.BytesIO(data), len(data)
    else:
        handle, size = track.location, Path(track.location).stat().st_size
    try:
        with av.open(handle) as container:
            stream = container.streams.audio[0]
            name = stream.codec_context.name
            seconds = (float(stream.duration * stream.time_base) if stream.duration
                       else (container.duration or 0) / 1_000_000)
            rate, channels = int(stream.rate or SAMPLE_RATE), int(stream.channels or 1)
    except (av.error.FFmpegError, IndexError) as err:
        raise AudioError(track.location, f"cannot read its codec ({err})") from err
    if name not in _LOSSY:
        return CodecHistory("lossless", rate, channels, 0.0)
    kbps = size * 8 / seconds / 1000 if seconds > 0 else 0.0
    return CodecHistory(_LOSSY[name], rate, channels, round(kbps, 1))
