"""The ``artifactnet`` command.

``artifactnet detect PATH...`` scores audio files (folders are searched recursively, ``-`` reads
stdin) and writes one row per file as soon as it is scored; ``artifactnet info`` describes the
model; ``artifactnet bench build`` builds ArtifactBench-mini. Exit codes of ``detect``: 0 when
every file was scored, 2 when any file failed (its row says why), 1 when nothing could run (no
weights, bad arguments), 130 / 143 when SIGINT / SIGTERM stopped it (the rows of the files
finished before are complete; a JSON array is closed).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import re
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from artifactnet_core.allocator import malloc_in_use, restart_under_tcmalloc

#: The first CSV columns of ``detect --format csv``, always in this order; ``threshold`` and
#: ``operating_point`` follow, then ``p_calibrated`` (weights with a calibration), the codec
#: check's columns (``--codec-check``) and ``timeline`` (``--timeline``).
CSV_COLUMNS = ("path", "p_ai", "label", "duration_s", "error")
EXIT_OK, EXIT_FAILURE, EXIT_SOME_FILES_FAILED = 0, 1, 2

_CALIBRATED_HELP = (
    "p_calibrated (shown when the weights carry a calibration) is P(AI) after Platt scaling "
    "fitted on the validation tracks: among validation tracks that scored like this file, the "
    "fraction that were AI. It assumes AI and real music as common as in validation "
    "(n_ai / n) and music like the benchmark's; p_ai itself is a ranking score, not a "
    "probability.")


def _load(weights: str | None, device: str):
    from artifactnet_core.detector.model import default_weights, load_model

    try:
        path = Path(weights) if weights else default_weights()
    except FileNotFoundError as err:
        raise SystemExit(f"artifactnet: {err}") from err
    if path is None:
        raise SystemExit(
            "artifactnet: no trained weights found. This installation ships none yet; train "
            "them with `make reproduce` (they are then written into the package) or pass "
            "--weights FILE.safetensors. Scores from an untrained model would mean nothing, "
            "so none are printed.")
    try:
        return load_model(path, device=device)
    except (FileNotFoundError, ValueError, OSError, RuntimeError) as err:  # RuntimeError: device
        raise SystemExit(f"artifactnet: cannot load weights: {err}") from err


def _fmt(value: float | None, digits: int) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


class _Rows:
    """Writes one row per file, flushed at once, in the chosen format; :meth:`close` ends the
    output validly (the JSON array's bracket) whenever it is called."""

    def __init__(self, fmt: str, columns: list[str], out, *, width: int, preamble: str):
        self.fmt, self.columns, self.out, self.width = fmt, columns, out, width
        self.count = 0
        if fmt == "csv":
            self.csv = csv.writer(out, lineterminator="\n")
            self.csv.writerow(columns)
        elif fmt == "json":
            out.write("[")
        elif fmt == "table":
            out.write(f"# {preamble}\n")
            extra = "".join(f"  {self._short(c):>8}" for c in self.columns[7:]
                            if c != "timeline")
            out.write(f"{'path':<{width}}  {'p_ai':>6}  {'label':<5}  {'duration_s':>10}"
                      f"{extra}  error\n")
        out.flush()

    @staticmethod
    def _short(column: str) -> str:
        return {"p_calibrated": "p_cal", "codec_delta": "delta",
                "codec_unstable": "unstable"}.get(column, column)

    def write(self, det) -> None:
        row = det.to_dict(timeline="timeline" in self.columns)
        if self.fmt == "csv":
            values = [_csv_value(row.get(c), c) for c in self.columns]
            self.csv.writerow(values)
        elif self.fmt in ("json", "jsonl"):
            text = json.dumps({c: row.get(c) for c in self.columns}, allow_nan=False,
                              ensure_ascii=False)
            if self.fmt == "json":
                text = ("\n  " if self.count == 0 else ",\n  ") + text
            else:
                text += "\n"
            self.out.write(text)
        else:
            self._table_row(det, row)
        self.count += 1
        self.out.flush()

    def _table_row(self, det, row: dict) -> None:
        extra = ""
        for c in self.columns[7:]:
            if c == "timeline":
                continue
            value = row.get(c)
            text = "" if value is None else str(value).lower() if isinstance(value, bool) \
                else _fmt(value, 3)
            extra += f"  {text:>8}"
        self.out.write(f"{det.path:<{self.width}}  {_fmt(det.p_ai, 3):>6}  {det.label or '':<5}  "
                       f"{_fmt(det.duration_s, 1):>10}{extra}  {det.error or ''}\n")
        if "timeline" in self.columns:
            for s, p in det.timeline:
                self.out.write(f"{'':<{self.width}}  {p:>6.3f}  at {s:7.1f} s\n")

    def close(self) -> None:
        if self.fmt == "json":
            self.out.write("\n]\n" if self.count else "]\n")
        self.out.flush()


def _csv_value(value, column: str) -> str:
    if value is None:
        return ""
    if column == "timeline":
        return ";".join(f"{e['start_s']:.1f}:{_fmt(e['p_ai'], 4)}" for e in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _fmt(value, 2 if column == "duration_s" else 4)
    return str(value)


@contextlib.contextmanager
def _graceful_stop() -> Iterator[dict]:
    """SIGINT/SIGTERM: the first asks the batch to stop after the current file (``state
    ["signal"]`` is set); a second stops at once (KeyboardInterrupt). Handlers are restored on
    exit."""
    state: dict = {"signal": None}

    def handler(signum, frame):
        if state["signal"] is not None:
            raise KeyboardInterrupt
        state["signal"] = signum
        print(f"\nartifactnet: {signal.Signals(signum).name}: finishing the current file, then "
              "stopping (send it again to stop now)", file=sys.stderr, flush=True)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield state
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM while a row is written, so a row is never cut in half."""
    held = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def _score_one(path: Path, model, args, point, max_chunks):
    from artifactnet_core.detector.audio import spool_stream
    from artifactnet_core.detector.detect import STDIN, Detection, detect_file

    options = dict(max_chunks=max_chunks, operating_point=point, codec_check=args.codec_check,
                   min_seconds=args.min_seconds, progress=not args.quiet,
                   precision=args.precision)
    if os.fspath(path) != STDIN:
        return detect_file(path, model, **options)
    try:
        spooled = spool_stream(sys.stdin.buffer, name=STDIN)
    except Exception as err:  # noqa: BLE001 - any stdin problem becomes the row's error
        return Detection(path=STDIN, error=getattr(err, "reason", None) or str(err),
                         threshold=point.threshold, operating_point=point.name)
    try:
        return detect_file(spooled, model, name=STDIN, **options)
    finally:
        spooled.unlink(missing_ok=True)


def cmd_detect(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from artifactnet_core.detector.calibration import resolve_operating_point
    from artifactnet_core.detector.codec_check import DRIFT_VERSIONS
    from artifactnet_core.detector.detect import Detection, find_audio_files

    files = find_audio_files(args.paths)
    if not files:
        print("artifactnet: no audio files found in the given paths", file=sys.stderr)
        return EXIT_FAILURE
    if args.precision == "int8":
        from artifactnet_core.detector.int8 import int8_available

        if not args.device.startswith("cpu"):
            print(f"artifactnet: --precision int8 runs on the CPU only (not {args.device}); add "
                  "--device cpu", file=sys.stderr)
            return EXIT_FAILURE
        if not int8_available():
            print("artifactnet: --precision int8 needs oneDNN's int8 convolutions on a CPU with "
                  "VNNI or AMX, and this one has none that are accurate: use fp32 or bf16",
                  file=sys.stderr)
            return EXIT_FAILURE
    model = _load(args.weights, args.device)
    point = resolve_operating_point(model.config, args.operating_point, args.threshold)
    if point.note:
        print(f"artifactnet: {point.note}", file=sys.stderr)
    if args.max_chunks is None:
        max_chunks = None if args.timeline else 16
    else:
        max_chunks = args.max_chunks or None
    columns = list(CSV_COLUMNS) + ["threshold", "operating_point"]
    if model.config.calibration:
        columns.append("p_calibrated")
    if args.codec_check:
        columns += [f"p_{v}" for v in DRIFT_VERSIONS] + ["codec_delta", "codec_unstable"]
    if args.timeline:
        columns.append("timeline")
    rows = _Rows(args.format, columns, sys.stdout, preamble=point.describe(),
                 width=max([len("path")] + [len(os.fspath(f)) for f in files]))
    bar = tqdm(total=len(files), desc="scoring", unit="file", file=sys.stderr,
               disable=args.quiet or len(files) <= 3)
    failed = stopped = False
    with _graceful_stop() as state:
        try:
            for path in files:
                if state["signal"] is not None:
                    break
                try:
                    det = _score_one(path, model, args, point, max_chunks)
                except Exception as err:  # noqa: BLE001 - never let one file end the batch
                    det = Detection(path=os.fspath(path), threshold=point.threshold,
                                    operating_point=point.name,
                                    error=f"internal error ({type(err).__name__}: {err})")
                with _signals_held():
                    rows.write(det)
                failed |= not det.ok
                bar.update()
        except KeyboardInterrupt:
            stopped = True
        finally:
            with _signals_held():
                rows.close()
            bar.close()
    signum = state["signal"] or (signal.SIGINT if stopped else None)
    if signum is not None:
        print(f"artifactnet: stopped by {signal.Signals(signum).name} after {rows.count} of "
              f"{len(files)} files", file=sys.stderr)
        return 128 + int(signum)
    return EXIT_SOME_FILES_FAILED if failed else EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    model = _load(args.weights, "cpu")
    report = {"parameters": model.parameter_counts(), "threshold": model.config.threshold,
              "config": json.loads(model.config.to_json()), "allocator": malloc_in_use()}
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
    manifest = build_bench(profile.bench, seed=args.seed, real_dirs=tuple(args.real_dir),
                           progress=not args.quiet, retrain_zoo=args.retrain_zoo)
    print(manifest)
    return EXIT_OK


def _number_arg(*, lo: float, hi: float, integer: bool, what: str):
    """An argparse type: a number (an integer if ``integer``) in [``lo``, ``hi``]; NaN,
    infinities and anything else are refused with ``what`` it must be."""
    def parse(text: str) -> float:
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            value = math.nan
        if not lo <= value <= hi:  # NaN fails this too
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    return parse


_probability = _number_arg(lo=0.0, hi=1.0, integer=False, what="a number in [0, 1]")
_non_negative_int = _number_arg(lo=0, hi=math.inf, integer=True, what="a whole number >= 0")
_seconds = _number_arg(lo=0.0, hi=1e9, integer=False, what="a number of seconds >= 0")


def _device(text: str) -> str:
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"must be auto, cpu, cuda or cuda:N, got {text!r}")
    from artifactnet_core.runtime import resolve_device

    try:
        return str(resolve_device(text))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def build_parser() -> argparse.ArgumentParser:
    from artifactnet_core.detector.calibration import DEFAULT_OPERATING_POINT, MAX_FPR
    from artifactnet_core.detector.codec_check import CODEC_UNSTABLE_DELTA, DRIFT_VERSIONS
    from artifactnet_core.detector.config import OPERATING_POINTS
    from artifactnet_core.detector.unet import PRECISIONS

    parser = argparse.ArgumentParser(prog="artifactnet",
                                     description="Detect AI-generated music (ArtifactNet).")
    sub = parser.add_subparsers(dest="command", required=True)

    det = sub.add_parser(
        "detect", help="score audio files or folders",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Score audio files; folders are searched recursively, - reads stdin.\n"
                    "One row per file is written as soon as it is scored. p_ai is the "
                    "detector's score in [0, 1]\n(median P(AI) of its 4 s chunks): it ranks "
                    "files, it is not a calibrated probability.",
        epilog=f"{_CALIBRATED_HELP}\n\nExit codes: 0 every file scored, 2 some file failed "
               "(its row says why), 1 nothing could run, 130/143 stopped by SIGINT/SIGTERM "
               "(rows of the files finished are complete).")
    det.add_argument("paths", nargs="+", help="audio files or folders; - reads one file from stdin")
    det.add_argument("--weights", help="a .safetensors checkpoint, read exactly as named, with its "
                                       ".json beside it (default: $ARTIFACTNET_WEIGHTS, else the "
                                       "shipped model)")
    det.add_argument("--format", choices=("table", "csv", "json", "jsonl"), default="table",
                     help="table (default), csv, json (an array) or jsonl (one JSON object per "
                          "line)")
    det.add_argument("--timeline", action="store_true",
                     help="also report P(AI) per 4 s chunk (scores every chunk unless "
                          "--max-chunks is given)")
    det.add_argument("--max-chunks", type=_non_negative_int, default=None,
                     help="score at most N evenly spread 4 s chunks per file (default 16; "
                          "0 = all)")
    threshold = det.add_mutually_exclusive_group()
    threshold.add_argument(
        "--operating-point", choices=OPERATING_POINTS, default=DEFAULT_OPERATING_POINT,
        help=f"which validation threshold labels files: fpr1 flags at most "
             f"{100 * MAX_FPR['fpr1']:g} %% of the real validation tracks, fpr5 at most "
             f"{100 * MAX_FPR['fpr5']:g} %%, f1 maximises F1 (default: "
             f"{DEFAULT_OPERATING_POINT}; weights without operating points use their config's "
             "threshold, and say so)")
    threshold.add_argument("--threshold", type=_probability, default=None,
                           help="a decision threshold of your own on p_ai, in [0, 1]")
    det.add_argument("--codec-check", action="store_true",
                     help="also score each file's MP3, AAC and Opus 128 kbit/s round trips (in "
                          "memory): columns p_" + ", p_".join(DRIFT_VERSIONS) + ", codec_delta "
                          "(max - min of those, the paper's codec drift) and codec_unstable "
                          f"(delta > {CODEC_UNSTABLE_DELTA}); four times the work")
    det.add_argument("--min-seconds", type=_seconds, default=None,
                     help="shortest audio that gets a verdict (default: half a chunk, 2 s)")
    det.add_argument("--device", type=_device, default="auto",
                     help="auto (CUDA when present), cpu, cuda or cuda:N")
    det.add_argument("--precision", choices=PRECISIONS, default="auto",
                     help="the UNet's arithmetic: auto (bfloat16 on a GPU or a CPU with AMX, "
                          "int8 on another CPU with VNNI, else float32), fp32, bf16, or int8 "
                          "(CPU only, about twice as fast as float32 and lossier: a chunk's "
                          "P(AI) moved by up to 0.03 on the laptop benchmark)")
    det.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    det.set_defaults(func=cmd_detect)

    info = sub.add_parser("info", help="describe the model (and the memory allocator in use)")
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
    build.add_argument("--retrain-zoo", action="store_true",
                       help="train the generators here instead of using the shipped weights")
    build.add_argument("-q", "--quiet", action="store_true")
    build.set_defaults(func=cmd_bench_build)

    from artifactnet_core.scan.cli import add_scan_command

    add_scan_command(sub)
    from artifactnet_core.detector.export import add_export_command

    add_export_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the command line, not a call from Python: under tcmalloc where it exists
        restart_under_tcmalloc("artifactnet_core.cli", sys.argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as shell tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
