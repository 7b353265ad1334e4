"""Same seed, same bytes? Rebuild a profile's benchmark and retrain its chosen detector in an
empty cache, then compare with the cache of an earlier run.

The README's "Same seed, same numbers" paragraph rests on this check. It builds the profile's
ArtifactBench-mini for ``--seed`` in ``$ARTIFACTNET_CACHE`` (which must not be the reference
cache), trains the detector that ``--objective`` and ``--width`` name (the shipped one by
default: ``real_only``, the profile's UNet width), and prints, for the manifest and for every
trained weight file, whether its SHA-256 equals the reference run's. Exit status 1 when one
differs or the reference lacks it. Run it from a fresh clone with its own virtualenv (an
editable install of another checkout would run that checkout's code). The detector trains on
``--threads`` torch threads, by default those of a candidate worker of ``make reproduce``
(two at once on the cores): float reductions, and so the bytes, depend on the thread count.
The laptop profile took 16 min on 2 cores on 2026-12-06 (benchmark 7 min, detector 9 min).

    ARTIFACTNET_CACHE=$(mktemp -d) python benchmarks/same_seed.py --profile laptop \\
        --reference ~/.cache/artifactnet
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    from artifactnet_core.atomic import file_sha256
    from artifactnet_core.experiments import pipeline
    from artifactnet_core.experiments.runner import worker_threads
    from artifactnet_core.paths import cache_dir, runs_root
    from artifactnet_core.profiles import get_profile

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="laptop")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--objective", default="real_only")
    parser.add_argument("--width", type=int, default=None,
                        help="UNet base width (default: the profile's)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for training the detector (default: those of a "
                             "candidate worker of `make reproduce`, cores // 2; the float "
                             "reductions, so the bytes, depend on it)")
    parser.add_argument("--reference", type=Path, required=True,
                        help="the cache root of the run to compare with")
    args = parser.parse_args(argv)
    fresh_root = cache_dir().resolve()
    if fresh_root == args.reference.resolve():
        parser.error(f"ARTIFACTNET_CACHE ({fresh_root}) is the reference cache: point it at an "
                     "empty folder")
    profile = get_profile(args.profile)
    t0 = time.perf_counter()
    data = pipeline.get_bench(profile, seed=args.seed, progress=False)
    print(f"benchmark {time.perf_counter() - t0:.0f} s", flush=True)
    import torch

    # The runner builds the benchmark in its main process on every core, then trains each
    # candidate in a worker on its share (runner._candidates_side_by_side, jobs=2).
    torch.set_num_threads(args.threads or worker_threads(2))
    t0 = time.perf_counter()
    pipeline.train_detector(data, profile, objective=args.objective, unet_base_width=args.width,
                            seed=args.seed, progress=False)
    print(f"detector {time.perf_counter() - t0:.0f} s", flush=True)

    ref_runs = args.reference / runs_root(data.sha256).relative_to(cache_dir())
    ok = ref_runs.is_dir()
    print(f"manifest {data.sha256[:16]}: " + ("the reference has the same" if ok else
                                              "DIFFERENT (no such benchmark in the reference)"))
    for path in sorted(runs_root(data.sha256).glob("*.safetensors")):
        ref = ref_runs / path.name
        same = ref.is_file() and file_sha256(ref) == file_sha256(path)
        ok &= same
        verdict = "identical" if same else "DIFFERENT" if ref.is_file() else "not in the reference"
        print(f"{path.name}: {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
