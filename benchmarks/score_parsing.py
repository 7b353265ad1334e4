"""Parsing ABC tune collections in the benchmark build, before and after 2026-12-05: ratio first.

A fresh build renders every corpus score it probes: music21 parses the score, the build keeps
its first ``RENDER_MAX_S`` seconds and writes a MIDI file
(:func:`artifactnet_core.bench.render.score_to_midi`), then fluidsynth renders it. 86 of the
corpus's 1,146 ABC files are collections of tunes (up to 720), of which the build uses the
first. music21 used to parse the whole collection (23 s for the largest, on one core, while
the build's other threads wait on music21's lock); it now parses the first tune alone
(:func:`~artifactnet_core.bench.render.first_abc_tune`).

Both sides write the MIDI file of the same ``--files`` collections from a cold music21 cache
(each side gets its own empty temporary folder, where music21 keeps its pickled parses), as a
fresh build does, and the two MIDI files of each collection must be the same bytes (printed;
exit status 1 otherwise). ``--files 0`` takes every collection (~15 min on one core).

    python benchmarks/score_parsing.py              # 12 collections, ~2-3 min on one core
    python benchmarks/score_parsing.py --files 0
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artifactnet_core.bench import render  # noqa: E402
from artifactnet_core.bench.render import RenderError, choose_programs  # noqa: E402
from artifactnet_core.bench.sources import RENDER_MAX_S, corpus_candidates  # noqa: E402


def fresh_scratch(root: Path, name: str) -> None:
    """Point this process's temporary folder (music21's parse cache lives under it) at an
    empty folder."""
    folder = root / name
    folder.mkdir()
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = None   # tempfile caches gettempdir(): make it read TMPDIR again


def midi_of(score: Path, key: str, out: Path, *, whole: bool) -> tuple[bytes | str, float]:
    """The MIDI bytes the build writes for ``score`` (or its RenderError's text) and the
    seconds it took; ``whole`` parses an ABC collection whole (the code before)."""
    first_tune = render.first_abc_tune
    if whole:
        render.first_abc_tune = lambda path: None
    t0 = time.perf_counter()
    try:
        render.score_to_midi(score, out, max_s=RENDER_MAX_S,
                             programs=choose_programs(seed=0, key=key))
        result: bytes | str = out.read_bytes()
    except RenderError as err:
        result = f"RenderError: {err}"
    finally:
        render.first_abc_tune = first_tune
    return result, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=12,
                        help="ABC collections to parse (a seeded sample; 0: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    collections = [(rel, path) for rel, path in corpus_candidates()
                   if render.first_abc_tune(path) is not None]
    n_all = len(collections)
    if args.files:
        random.Random(args.seed).shuffle(collections)
        collections = sorted(collections[: args.files])
    print(f"machine: {os.cpu_count()} CPUs, load average "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}; {len(collections)} of the "
          f"corpus's {n_all} ABC collections, first {RENDER_MAX_S:g} s of the first tune")
    t_whole = t_first = 0.0
    different = []
    with tempfile.TemporaryDirectory(prefix="score-parsing-") as tmp:
        root = Path(tmp)
        for i, (rel, path) in enumerate(collections):
            fresh_scratch(root, f"scratch-whole-{i}")
            whole, dt_whole = midi_of(path, rel, root / f"whole-{i}.mid", whole=True)
            fresh_scratch(root, f"scratch-first-{i}")
            first, dt_first = midi_of(path, rel, root / f"first-{i}.mid", whole=False)
            t_whole += dt_whole
            t_first += dt_first
            if whole != first:
                different.append(rel)
            print(f"  {rel}: whole {dt_whole:.2f} s, first tune {dt_first:.2f} s, "
                  f"{'the same' if whole == first else 'DIFFERENT'}", flush=True)
    print(f"first tune alone: {t_whole / t_first:.1f}x faster than the whole collection "
          f"({t_first:.1f} s vs {t_whole:.1f} s for {len(collections)} collections); MIDI "
          f"files the same bytes for {len(collections) - len(different)} of "
          f"{len(collections)}" + (f"; DIFFERENT: {', '.join(different)}" if different else ""))
    if different:
        sys.exit(1)


if __name__ == "__main__":
    main()
