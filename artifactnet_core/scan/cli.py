"""``artifactnet scan ROOT... --out results.parquet``: score a catalogue, resumably.

Registered by :func:`add_scan_command`; importing this module imports only argparse, so the rest
of the ``artifactnet`` command does not pay for pyarrow, torch or Ray. Exit codes as ``detect``:
0 when every file of this run was scored, 2 when any got an error row, 1 when nothing could run.
"""

from __future__ import annotations

import argparse
import os
import sys

EXIT_OK, EXIT_FAILURE, EXIT_SOME_FILES_FAILED = 0, 1, 2


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _default_workers() -> int:
    # One core is left to the model: decoding a 4 s chunk costs far less than scoring it.
    return max(1, (os.cpu_count() or 2) - 1)


def add_scan_command(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``scan`` to the ``artifactnet`` subcommands ``sub``; returns its parser."""
    scan = sub.add_parser(
        "scan", help="score a catalogue into resumable Parquet shards",
        description="Score every audio file under the roots (as `detect` does) into a folder of "
                    "Parquet shards. Rerunning the same command skips files already in --out, "
                    "so a stopped scan resumes where it stopped.")
    scan.add_argument("roots", nargs="+", help="audio files or folders (searched recursively)")
    scan.add_argument("--out", required=True,
                      help="output folder of Parquet shards, e.g. results.parquet")
    scan.add_argument("--engine", choices=("local", "ray"), default="local",
                      help="local: decoder processes + the model here; ray: Ray Data")
    scan.add_argument("--weights", help="a .safetensors checkpoint (default: the shipped model)")
    from artifactnet_core.detector.calibration import DEFAULT_OPERATING_POINT
    from artifactnet_core.detector.config import OPERATING_POINTS

    labels = scan.add_mutually_exclusive_group()
    labels.add_argument("--operating-point", choices=OPERATING_POINTS,
                        default=DEFAULT_OPERATING_POINT,
                        help="which validation threshold labels files, as for detect "
                             f"(default {DEFAULT_OPERATING_POINT})")
    labels.add_argument("--threshold", type=float, default=None,
                        help="a decision threshold of your own on p_ai, in [0, 1]")
    scan.add_argument("--max-chunks", type=_positive, default=16,
                      help="score at most N evenly spread 4 s chunks per file (default 16)")
    scan.add_argument("--batch-size", type=_positive, default=2,
                      help="chunks per forward pass (default 2, as detect)")
    scan.add_argument("--limit", type=int, default=None,
                      help="score at most N files this run (after skipping those done)")
    scan.add_argument("--shard", default="0/1",
                      help="i/n: score only the files whose path hashes to i of n (default 0/1)")
    scan.add_argument("--rows-per-shard", type=_positive, default=256,
                      help="rows per Parquet file (a kill loses at most this many; default 256)")
    scan.add_argument("--flush-seconds", type=float, default=60.0,
                      help="write a shard at least this often, in seconds (default 60)")
    scan.add_argument("--device", default="auto", help="local engine: auto, cpu or cuda")
    scan.add_argument("--workers", type=int, default=None,
                      help="local engine: decoder processes (default: CPUs - 1; 0 = decode "
                           "inline, no overlap)")
    scan.add_argument("--address", default=None,
                      help="ray engine: a running cluster (default: start a local one)")
    scan.add_argument("--num-cpus", type=_positive, default=None,
                      help="ray engine: CPUs of the local cluster (default: all)")
    scan.add_argument("--actors", type=_positive, default=None,
                      help="ray engine: model actors (default: one per GPU, else 1)")
    scan.add_argument("--actor-cpus", type=_positive, default=1,
                      help="ray engine without GPUs: CPUs and torch threads per actor")
    scan.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    scan.set_defaults(func=cmd_scan)
    return scan


def cmd_scan(args: argparse.Namespace) -> int:
    """Run ``artifactnet scan``."""
    try:
        import pyarrow  # noqa: F401
        if args.engine == "ray":
            import ray  # noqa: F401
    except ImportError as err:
        raise SystemExit(f"artifactnet scan: {err.name} is not installed; install the scan "
                         "extra: pip install 'artifactnet-core[scan]'") from err
    from pathlib import Path

    from artifactnet_core.cli import _load
    from artifactnet_core.detector.calibration import resolve_operating_point
    from artifactnet_core.detector.model import default_weights
    from artifactnet_core.runtime import resolve_device
    from artifactnet_core.scan.plan import parse_shard, plan_scan
    from artifactnet_core.scan.score import model_id
    from artifactnet_core.scan.shards import ShardWriter, claim_output

    try:
        shard = parse_shard(args.shard)
        device = resolve_device(args.device) if args.engine == "local" else "cpu"
    except ValueError as err:
        raise SystemExit(f"artifactnet scan: {err}") from err
    model = _load(args.weights, device)
    weights = Path(args.weights) if args.weights else default_weights()
    model_ref = model_id(weights)
    try:
        point = resolve_operating_point(model.config, args.operating_point, args.threshold)
        claim_output(args.out, {"model_id": model_ref, "threshold": point.threshold,
                                "operating_point": point.name, "max_chunks": args.max_chunks})
    except ValueError as err:  # ScanOutputError included
        raise SystemExit(f"artifactnet scan: {err}") from err
    if point.note:
        print(f"artifactnet scan: {point.note}", file=sys.stderr)
    plan = plan_scan(args.roots, args.out, shard=shard, limit=args.limit)
    if not plan.found:
        print("artifactnet scan: no audio files found in the given paths", file=sys.stderr)
        return EXIT_FAILURE
    log = sys.stderr
    print(f"scan: {plan.found} files found; {plan.other_shards} in other shards, "
          f"{plan.already_done} already in {args.out}, {plan.over_limit} over --limit; "
          f"scoring {len(plan.todo)} with {model_ref} ({args.engine} engine)", file=log)
    with ShardWriter(args.out, rows_per_shard=args.rows_per_shard,
                     seconds_per_shard=args.flush_seconds) as writer:
        common = {"model_ref": model_ref, "max_chunks": args.max_chunks,
                  "batch_size": args.batch_size, "operating_point": point,
                  "progress": not args.quiet}
        if args.engine == "local":
            from artifactnet_core.scan.local import scan_local

            workers = _default_workers() if args.workers is None else max(args.workers, 0)
            stats = scan_local(plan.todo, writer, model, workers=workers, **common)
        else:
            from artifactnet_core.scan.ray_engine import scan_ray

            try:
                stats = scan_ray(plan.todo, writer, weights,
                                 chunk_samples=model.config.chunk_samples,
                                 sample_rate=model.config.sample_rate, address=args.address,
                                 num_cpus=args.num_cpus, actors=args.actors,
                                 actor_cpus=args.actor_cpus, **common)
            except ValueError as err:
                raise SystemExit(f"artifactnet scan: {err}") from err
    print(f"scan: {stats.scored} scored, {stats.failed} failed in {stats.seconds:.1f} s "
          f"({stats.files_per_s:.2f} files/s); rows in {args.out}", file=log)
    return EXIT_OK if stats.failed == 0 else EXIT_SOME_FILES_FAILED
