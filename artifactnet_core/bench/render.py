"""Symbolic music to audio: scores, MIDI files and tracker modules, rendered losslessly.

- a music21 corpus score is truncated, voiced with General MIDI programs and rendered by the
  ``fluidsynth`` command with a soundfont (:func:`render_score`);
- a MIDI file keeps its own instruments and is rendered by ``fluidsynth`` (:func:`render_midi`);
- a tracker module (Impulse Tracker, Scream Tracker, FastTracker, ProTracker) is rendered by
  ``openmpt123`` (libopenmpt), without dither so the render is the same every time
  (:func:`render_module`).

Renderers always run in a subprocess with a wall-clock timeout and a cap on the size of the file
they write, and the output is cut to a maximum duration, so one odd piece can neither hang the
build nor fill the disk. Every render is mixed to mono and peak-normalised to
:data:`RENDER_PEAK`.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from artifactnet_core.atomic import atomic_write_audio, stable_hash
from artifactnet_core.detector.audio import load_audio
from artifactnet_core.detector.config import SAMPLE_RATE

#: One score is parsed and written as MIDI at a time (music21 is not thread-safe).
_MUSIC21 = threading.Lock()

# General MIDI programs (0-based) of acoustic instruments: one scheme per piece keeps the result
# musically plausible while spreading timbres over the source.
ENSEMBLE_PROGRAMS = (0, 6, 19, 46, 48, 52)          # piano, harpsichord, organ, harp, strings, choir
# Solo instruments whose FluidR3 samples cover MIDI notes 24-96 at least (contrabass, sax and
# bassoon stop sounding around notes 57-84, which silenced whole melodies).
SOLO_PROGRAMS = (0, 24, 32, 40, 41, 42, 56, 57, 60, 68, 71, 73)   # piano, guitar ... flute
#: The peak (linear) a rendered piece is normalised to; fluidsynth's own gain is arbitrary.
RENDER_PEAK = 0.9
# What a truncated part keeps: notes and what MIDI export uses (tempo, metre, key, dynamics).
_KEPT_CLASSES = ("Note", "Chord", "Rest", "MetronomeMark", "TimeSignature", "KeySignature",
                 "Dynamic")
_TAIL_S = 10.0          # fluidsynth keeps rendering release and reverb tails after the last note


class RenderError(RuntimeError):
    """A corpus piece that could not be parsed, converted or rendered."""


@dataclass(frozen=True)
class ScoreRender:
    """How a symbolic track becomes audio: its first ``max_s`` seconds, with General MIDI
    ``programs`` cycled over a score's parts (``()`` keeps a MIDI file's own instruments), through
    ``soundfont`` (``""`` for tracker modules, which carry their own samples)."""

    max_s: float
    programs: tuple[int, ...]
    soundfont: str


def choose_programs(*, seed: int, key: str, n: int = 8) -> tuple[int, ...]:
    """Pick ``n`` General MIDI programs (cycled over a score's parts) for one piece.

    Half the pieces get one ensemble instrument for every part (piano, organ, strings...), the
    others one solo instrument per part, drawn with ``random.Random`` seeded by ``seed`` and the
    piece's ``key`` so the choice is the same on every machine.
    """
    rng = random.Random(int(stable_hash("programs", seed, key), 16))
    if rng.random() < 0.5:
        return (rng.choice(ENSEMBLE_PROGRAMS),) * n
    return tuple(rng.choice(SOLO_PROGRAMS) for _ in range(n))


def _truncated_score(parsed, *, max_s: float, programs: tuple[int, ...]):
    """Return (new score of the first ``max_s`` seconds, tempo in qpm, number of notes)."""
    from music21 import instrument, note, stream

    parts = list(parsed.parts) if hasattr(parsed, "parts") and len(parsed.parts) else [parsed]
    boundaries = parsed.metronomeMarkBoundaries()
    qpm = float(boundaries[0][2].getQuarterBPM()) if boundaries else 120.0
    qpm = qpm if np.isfinite(qpm) and qpm > 0 else 120.0
    max_quarters = max_s * qpm / 60.0
    out = stream.Score()
    n_notes = 0
    for i, part in enumerate(parts):
        kept = part.flatten().getElementsByOffset(
            0.0, max_quarters, includeEndBoundary=False, mustFinishInSpan=False,
            includeElementsThatEndAtStart=False).getElementsByClass(_KEPT_CLASSES)
        new_part = stream.Part()
        new_part.insert(0.0, instrument.instrumentFromMidiProgram(programs[i % len(programs)]))
        seen: set[int] = set()
        for element in kept:
            if id(element) in seen:       # some scores list one object twice
                continue
            seen.add(id(element))
            offset = float(element.offset)
            # A long final note (fermata, tie) would otherwise ring far past max_s.
            if element.duration.quarterLength > max_quarters - offset:
                element.duration.quarterLength = max_quarters - offset
            new_part.insert(offset, element)
            n_notes += int(isinstance(element, note.NotRest))
        # fluidsynth stops its player at the end-of-track event and drops note-offs that share
        # its tick; a sustained voice (organ, strings) then rings forever in fast-render mode.
        # A trailing rest puts the end of the track safely after the last note-off.
        new_part.insert(float(new_part.highestTime), note.Rest(quarterLength=2.0))
        out.insert(0.0, new_part)
    return out, qpm, n_notes


def score_to_midi(score_path: str | os.PathLike, midi_path: str | os.PathLike, *,
                  max_s: float, programs: tuple[int, ...]) -> float:
    """Parse a score, keep its first ``max_s`` seconds, set instruments and write a MIDI file.

    An ABC file holding several tunes is parsed for its first tune only (:func:`first_abc_tune`).

    Parameters
    ----------
    score_path : path
        A music21 corpus file (MusicXML, Humdrum, ABC...); an opus keeps its first score.
    midi_path : path
        Where the MIDI file is written.
    max_s : float
        Duration to keep in seconds, converted to quarter notes with the first tempo mark
        (120 quarter notes per minute when the score has none).
    programs : tuple of int
        General MIDI programs; part ``i`` gets ``programs[i % len(programs)]``.

    Returns
    -------
    float
        The tempo used, in quarter notes per minute.
    """
    with _MUSIC21:   # music21 keeps global state; renders may run on several threads
        return _score_to_midi(score_path, midi_path, max_s=max_s, programs=programs)


def _score_to_midi(score_path: str | os.PathLike, midi_path: str | os.PathLike, *,
                   max_s: float, programs: tuple[int, ...]) -> float:
    from music21 import converter, midi, stream

    parsed = None
    first = first_abc_tune(score_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # music21 warns about odd but usable notation
        if first is not None:
            # Only the first tune of an ABC collection is used: parse that one alone (a
            # 720-tune collection took 23 s to parse whole). If it does not parse on its own,
            # the whole collection is parsed as before and its first usable score taken.
            try:
                parsed = converter.parse(str(score_path), number=first)
            except Exception:  # noqa: BLE001 - music21 raises many error types
                parsed = None
        if parsed is None:
            try:
                parsed = converter.parse(str(score_path))
            except Exception as err:  # noqa: BLE001 - music21 raises many error types
                raise RenderError(f"{score_path}: cannot parse score ({err})") from err
    if isinstance(parsed, stream.Opus):
        if not parsed.scores:
            raise RenderError(f"{score_path}: empty opus")
        parsed = parsed.scores[0]
    try:
        out, qpm, n_notes = _truncated_score(parsed, max_s=max_s, programs=programs)
    except Exception as err:  # noqa: BLE001 - music21 raises many error types
        raise RenderError(f"{score_path}: cannot truncate score ({err})") from err
    if n_notes == 0:
        raise RenderError(f"{score_path}: no notes in the first {max_s:g} s")
    try:
        mf = midi.translate.streamToMidiFile(out)
        _silence_at_end(mf)
        mf.open(str(midi_path), "wb")
        try:
            mf.write()
        finally:
            mf.close()
    except Exception as err:  # noqa: BLE001
        raise RenderError(f"{score_path}: cannot write MIDI ({err})") from err
    return qpm


_ABC_REFERENCE = re.compile(r"^\s*X:\s*(\d+)\s*$", re.M)


def first_abc_tune(score_path: str | os.PathLike) -> int | None:
    """The reference number (``X:``) of the tune music21 puts first when it parses an ABC file
    holding several tunes (it sorts them by number), or ``None`` for any other file."""
    if Path(score_path).suffix.lower() != ".abc":
        return None
    numbers = {int(n) for n in _ABC_REFERENCE.findall(
        Path(score_path).read_text(encoding="utf-8", errors="replace"))}
    return min(numbers) if len(numbers) > 1 else None


def _silence_at_end(mf) -> None:
    """Append "all sound off" (controller 120) on every channel before each track's end.

    Overlapping notes of the same pitch can leave a voice without its note-off; a sustained
    instrument then rings forever and fluidsynth's fast render never finishes.
    """
    from music21 import midi

    for track in mf.tracks:
        channels = sorted({e.channel for e in track.events
                           if isinstance(e, midi.MidiEvent) and e.isNoteOn()})
        if not channels or not track.events or track.events[-1].type != midi.MetaEvents.END_OF_TRACK:
            continue
        end = track.events.pop()
        for channel in channels:
            event = midi.MidiEvent(track, type=midi.ChannelVoiceMessages.CONTROLLER_CHANGE,
                                   channel=channel)
            event.parameter1, event.parameter2 = 120, 0
            track.events.extend([event, midi.DeltaTime(track, time=0, channel=channel)])
        track.events.append(end)


def _run_capped(cmd: list[str], wav_path: Path, *, what: str, source: str | os.PathLike,
                env: dict[str, str] | None, timeout_s: float, max_bytes: int) -> None:
    """Run a renderer writing ``wav_path``; kill it past ``timeout_s`` or ``max_bytes``."""
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=env)
    except OSError as err:
        raise RenderError(f"cannot start {cmd[0]}: {err}") from err
    start = time.monotonic()
    reason = None
    while proc.poll() is None:
        if time.monotonic() - start > timeout_s:
            reason = f"timed out after {timeout_s:g} s"
        elif wav_path.exists() and wav_path.stat().st_size > max_bytes:
            reason = f"output exceeded {max_bytes} bytes"
        if reason:
            proc.kill()
            proc.wait()
            raise RenderError(f"{what} {reason} on {source}")
        time.sleep(0.05)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0 or not wav_path.exists():
        raise RenderError(f"{what} failed (exit {proc.returncode}) on {source}: "
                          f"{stderr.strip()[:300]}")


def run_fluidsynth(midi_path: str | os.PathLike, wav_path: str | os.PathLike, *,
                   soundfont: str | os.PathLike, fluidsynth: str = "fluidsynth",
                   env: dict[str, str] | None = None, timeout_s: float = 120.0,
                   max_bytes: int = 64 << 20, sr: int = SAMPLE_RATE) -> None:
    """Render a MIDI file to a 16-bit stereo WAV with the ``fluidsynth`` command.

    The process is killed when it runs longer than ``timeout_s`` seconds or its output grows
    beyond ``max_bytes`` bytes; either raises :class:`RenderError`.
    """
    cmd = [fluidsynth, "-n", "-i", "-q", "-r", str(sr), "-T", "wav", "-O", "s16",
           "-F", str(wav_path), str(soundfont), str(midi_path)]
    _run_capped(cmd, Path(wav_path), what="fluidsynth", source=midi_path, env=env,
                timeout_s=timeout_s, max_bytes=max_bytes)


def render_score(score_path: str | os.PathLike, out_path: str | os.PathLike, *,
                 render: ScoreRender, fluidsynth: str = "fluidsynth",
                 env: dict[str, str] | None = None, timeout_s: float = 120.0) -> Path:
    """Render one score to a mono 44.1 kHz FLAC of at most ``render.max_s`` seconds.

    The score is truncated (:func:`score_to_midi`), rendered (:func:`run_fluidsynth`, output
    capped at twice the expected size), mixed to mono, cut to ``render.max_s`` seconds and
    peak-normalised to :data:`RENDER_PEAK`. The FLAC is written atomically; an existing one is
    kept.
    """
    out_path = Path(out_path)
    if out_path.exists():
        return out_path
    expected = int((render.max_s + _TAIL_S) * SAMPLE_RATE * 2 * 2)   # stereo, 16 bit
    with tempfile.TemporaryDirectory(prefix="artifactnet-render-") as tmp:
        midi_path = Path(tmp) / "piece.mid"
        wav_path = Path(tmp) / "piece.wav"
        score_to_midi(score_path, midi_path, max_s=render.max_s, programs=render.programs)
        run_fluidsynth(midi_path, wav_path, soundfont=render.soundfont, fluidsynth=fluidsynth,
                       env=env, timeout_s=timeout_s, max_bytes=2 * expected + 4096)
        audio = load_audio(wav_path)
    return _finish(audio, out_path, max_s=render.max_s, source=score_path)


def _finish(audio: np.ndarray, out_path: Path, *, max_s: float,
            source: str | os.PathLike) -> Path:
    """Cut a mono render to ``max_s`` s, peak-normalise it and write it atomically."""
    audio = audio[: int(max_s * SAMPLE_RATE)]
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak < 1e-4:
        raise RenderError(f"{source}: rendered audio is silent")
    return atomic_write_audio(out_path, audio * (RENDER_PEAK / peak))


def render_midi(midi_path: str | os.PathLike, out_path: str | os.PathLike, *,
                render: ScoreRender, fluidsynth: str = "fluidsynth",
                env: dict[str, str] | None = None, timeout_s: float = 120.0,
                max_bytes: int = 96 << 20) -> Path:
    """Render a MIDI file (its own instruments) to a mono 44.1 kHz FLAC of at most
    ``render.max_s`` seconds with ``fluidsynth`` and ``render.soundfont``; an existing output is
    kept. The whole file is rendered (a render longer than ``max_bytes`` of stereo WAV, about
    9 minutes, is refused), then cut and peak-normalised to :data:`RENDER_PEAK`."""
    out_path = Path(out_path)
    if out_path.exists():
        return out_path
    with tempfile.TemporaryDirectory(prefix="artifactnet-render-") as tmp:
        wav_path = Path(tmp) / "piece.wav"
        run_fluidsynth(midi_path, wav_path, soundfont=render.soundfont, fluidsynth=fluidsynth,
                       env=env, timeout_s=timeout_s, max_bytes=max_bytes)
        audio = load_audio(wav_path)
    return _finish(audio, out_path, max_s=render.max_s, source=midi_path)


def render_module(module_path: str | os.PathLike, out_path: str | os.PathLike, *,
                  render: ScoreRender, openmpt: str = "openmpt123",
                  env: dict[str, str] | None = None, timeout_s: float = 120.0) -> Path:
    """Render a tracker module to a mono 44.1 kHz FLAC of at most ``render.max_s`` seconds with
    ``openmpt123`` (no dither, so the same every time); an existing output is kept."""
    out_path = Path(out_path)
    if out_path.exists():
        return out_path
    with tempfile.TemporaryDirectory(prefix="artifactnet-render-") as tmp:
        # openmpt123 writes <input>.wav beside its input: render a private copy.
        local = Path(tmp) / f"piece{Path(module_path).suffix.lower()}"
        shutil.copyfile(module_path, local)
        cmd = [openmpt, "--render", "--quiet", "--force", "--samplerate", str(SAMPLE_RATE),
               "--channels", "1", "--no-float", "--dither", "0", "--repeat", "0",
               "--end-time", str(int(np.ceil(render.max_s))), str(local)]
        wav_path = Path(f"{local}.wav")
        expected = int((render.max_s + 1) * SAMPLE_RATE * 2)
        _run_capped(cmd, wav_path, what="openmpt123", source=module_path, env=env,
                    timeout_s=timeout_s, max_bytes=2 * expected + 4096)
        audio = load_audio(wav_path)
    return _finish(audio, out_path, max_s=render.max_s, source=module_path)
