"""The ``artifactnet`` command.

``artifactnet detect PATH...`` scores audio files (folders are searched recursively) and prints
one row per file; ``artifactnet info`` describes the model; ``artifactnet bench build`` builds
ArtifactBench-mini. Exit codes of ``detect``: 0 when every file was scored, 2 when any file
failed (its row says why), 1 when nothing could run (no weights, bad arguments).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path

#: CSV columns of ``detect --format csv`` (``timeline`` is appended with ``--timeline``).
CSV_COLUMNS = ("path", "p_ai", "label", "duration_s", "error")
EXIT_OK, EXIT_FAILURE, EXIT_SOME_FILES_FAILED = 0, 1, 2


def _load(weights: str | None, device: str):
    from artifactnet_core.detector.model import default_weights, load_model

    path = Path(weights) if weights else default_weights()
    if path is None:
        raise SystemExit(
            "artifactnet: no trained weights found. This installation ships none yet; train "
            "them with `make reproduce` (they are then written into the package) or pass "
            "--weights FILE.safetensors. Scores from an untrained model would mean nothing, "
            "so none are printed.")
    try:
        return load_model(path, device=device)
    except (FileNotFoundError, ValueError, OSError) as err:
        raise SystemExit(f"artifactnet: cannot load weights: {err}") from err


def _fmt(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _timeline_text(det) -> str:
    return ";".join(f"{s:.1f}:{p:.4f}" for s, p in zip(det.chunk_start_s, det.chunk_p_ai,
                                                         strict=True))


def _write_results(results, fmt: str, timeline: bool, out) -> None:
    if fmt == "json":
        rows = []
        for det in results:
            row = {"path": det.path, "p_ai": det.p_ai, "label": det.label,
                   "duration_s": det.duration_s, "error": det.error}
            if timeline:
                row["timeline"] = [{"start_s": s, "p_ai": p}
                                   for s, p in zip(det.chunk_start_s, det.chunk_p_ai,
                                                   strict=True)]
            rows.append(row)
        json.dump(rows, out, indent=2)
        out.write("\n")
        return
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS + (("timeline",) if timeline else ()))
        for det in results:
            row = [det.path, _fmt(det.p_ai, 4), det.label or "", _fmt(det.duration_s, 2),
                   det.error or ""]
            writer.writerow(row + ([_timeline_text(det)] if timeline else []))
        return
    width = max([len("path")] + [len(d.path) for d in results])
    out.write(f"{'path':<{width}}  {'p_ai':>6}  {'label':<5}  {'duration_s':>10}  error\n")
    for det in results:
        out.write(f"{det.path:<{width}}  {_fmt(det.p_ai, 3):>6}  {det.label or '':<5}  "
                  f"{_fmt(det.duration_s, 1):>10}  {det.error or ''}\n")
        if timeline:
            for s, p in zip(det.chunk_start_s, det.chunk_p_ai, strict=True):
                out.write(f"{'':<{width}}  {p:>6.3f}  at {s:7.1f} s\n")


def cmd_detect(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from artifactnet_core.detector.detect import detect_file, find_audio_files

    files = find_audio_files(args.paths)
    if not files:
        print("artifactnet: no audio files found in the given paths", file=sys.stderr)
        return EXIT_FAILURE
    from artifactnet_core.runtime import resolve_device

    try:
        device = resolve_device(args.device)
    except ValueError as err:
        raise SystemExit(f"artifactnet: {err}") from err
    model = _load(args.weights, device)
    if args.max_chunks is None:
        max_chunks = None if args.timeline else 16
    else:
        max_chunks = args.max_chunks or None
    results = []
    bar = tqdm(files, desc="scoring", unit="file", file=sys.stderr,
               disable=args.quiet or len(files) <= 3)
    for path in bar:
        results.append(detect_file(path, model, max_chunks=max_chunks,
                                   threshold=args.threshold))
    _write_results(results, args.format, args.timeline, sys.stdout)
    return EXIT_OK if all(d.ok for d in results) else EXIT_SOME_FILES_FAILED


def cmd_info(args: argparse.Namespace) -> int:
    model = _load(args.weights, "cpu")
    report = {"parameters": model.parameter_counts(), "threshold": model.config.threshold,
              "config": json.loads(model.config.to_json())}
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


def cmd_bench_build(args: argparse.Namespace) -> int:
    from artifactnet_core.bench.build import build_bench
    from artifactnet_core.profiles import PROFILE_NAMES, get_profile

    try:
        profile = get_profile(args.profile or PROFILE_NAMES[0])
    except ValueError as err:
        raise SystemExit(f"artifactnet: {err}") from err
    manifest = build_bench(profile.bench, seed=args.seed,
                           real_dirs=tuple(args.real_dir), progress=not args.quiet)
    print(manifest)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="artifactnet",
                                     description="Detect AI-generated music (ArtifactNet).")
    sub = parser.add_subparsers(dest="command", required=True)

    det = sub.add_parser("detect", help="score audio files or folders",
                         description="Score audio files; folders are searched recursively.")
    det.add_argument("paths", nargs="+", help="audio files or folders")
    det.add_argument("--weights", help="a .safetensors checkpoint (default: the shipped model)")
    det.add_argument("--format", choices=("table", "csv", "json"), default="table")
    det.add_argument("--timeline", action="store_true",
                     help="also report P(AI) per 4 s chunk (scores every chunk unless "
                          "--max-chunks is given)")
    det.add_argument("--max-chunks", type=int, default=None,
                     help="score at most N evenly spread 4 s chunks per file (default 16; "
                          "0 = all)")
    det.add_argument("--threshold", type=float, default=None,
                     help="decision threshold on P(AI) (default: the model's, chosen on "
                          "validation data)")
    det.add_argument("--device", default="auto", help="auto, cpu or cuda")
    det.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    det.set_defaults(func=cmd_detect)

    info = sub.add_parser("info", help="describe the model")
    info.add_argument("--weights")
    info.set_defaults(func=cmd_info)

    bench = sub.add_parser("bench", help="ArtifactBench-mini")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    build = bench_sub.add_parser("build", help="build the benchmark (cached)")
    build.add_argument("--profile", default=None,
                       help="a profile of artifactnet_core.profiles (default: the smallest)")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--real-dir", action="append", default=[],
                       help="a folder of your own music to add as a real source (repeatable)")
    build.add_argument("-q", "--quiet", action="store_true")
    build.set_defaults(func=cmd_bench_build)
    from artifactnet_core.detector.export import add_export_command

    add_export_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
