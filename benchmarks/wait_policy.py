"""Why the package keeps OpenMP threads from spin-waiting, and why HPSS runs single-threaded parts.

torch's OpenMP threads can wait for the next parallel region by spinning (fast on an idle
machine) or by sleeping (``OMP_WAIT_POLICY=PASSIVE``, which ``artifactnet_core`` sets: a
spinning thread steals a core that another busy process needs). This script times, per
``GOMP_SPINCOUNT`` (how long libgomp spins before sleeping; 0 = passive), one chunk's HPSS on
torch's intra-op threads, the same HPSS as the package runs it
(``runtime.map_batch_single_threaded``) and the default ``predict_proba`` path per 4 s chunk
(paper-size model, random weights), in three situations: the machine idle, two busy-loop
processes beside it, and two copies of the measurement at once (what ``make test`` and
``runner --jobs 2`` do). Each measurement is a fresh process, since libgomp reads the
variables when torch loads.

    python benchmarks/wait_policy.py                  # about 3 minutes on 2 cores
    python benchmarks/wait_policy.py --spins 0 10000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

SITUATIONS = ("idle", "two busy loops beside it", "two copies at once")


def measure() -> None:
    """One line: HPSS on intra-op threads, HPSS as the package runs it, predict per chunk."""
    import torch  # first: libgomp reads the wait policy when torch loads it
    from allocator import best_of

    from artifactnet_core.detector.model import ArtifactNet, ArtifactNetConfig, predict_chunks
    from artifactnet_core.detector.spectral import _hpss, hpss

    def best_ms(fn) -> float:
        return 1e3 * best_of(fn, 3)

    torch.manual_seed(0)
    model = ArtifactNet(ArtifactNetConfig()).eval()
    chunks = 0.1 * torch.randn(4, model.config.chunk_samples)
    with torch.inference_mode():
        residual = model.residual(model.spectrogram(chunks[:1]))
        threads = best_ms(lambda: _hpss(residual, kernel_size=31, power=2.0))
        split = best_ms(lambda: hpss(residual))
        predict = best_ms(lambda: predict_chunks(model, chunks, batch=1)) / len(chunks)
    print(f"{threads:.1f} {split:.1f} {predict:.1f}", flush=True)


def run(spins: int, copies: int) -> list[list[float]]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["GOMP_SPINCOUNT"] = str(spins)
    if spins == 0:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    procs = [subprocess.Popen([sys.executable, __file__, "--measure"], env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(copies)]
    return [[float(v) for v in p.communicate()[0].split()] for p in procs]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spins", type=int, nargs="*", default=[0, 1000, 10000, 300000],
                        help="GOMP_SPINCOUNT values (0: OMP_WAIT_POLICY=PASSIVE)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure()
        return 0
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}. Per row: HPSS of one "
          "chunk on torch's intra-op threads / as the package runs it (ms), predict_proba per "
          "chunk (ms, real-time factor); two copies: both shown")
    print(f"{'situation':<26} {'spin count':>10} {'HPSS threads':>13} {'HPSS split':>11} "
          f"{'predict':>8} {'RTF':>6}")
    for situation in SITUATIONS:
        for spins in args.spins:
            busy = []
            if situation == SITUATIONS[1]:
                busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                        for _ in range(2)]
            try:
                rows = run(spins, 2 if situation == SITUATIONS[2] else 1)
            finally:
                for proc in busy:
                    proc.kill()
                    proc.wait()
            for threads, split, predict in rows:
                print(f"{situation:<26} {spins:>10} {threads:>13.1f} {split:>11.1f} "
                      f"{predict:>8.1f} {4000 / predict:>5.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
