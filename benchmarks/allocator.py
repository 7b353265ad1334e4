"""tcmalloc against glibc's malloc on this machine: the same work in two child processes.

Prints numbers; asserts nothing. An allocator is fixed when a process starts (``LD_PRELOAD``),
so each measurement runs once in a child under tcmalloc and once in a child under glibc's
malloc (``artifactnet_core/allocator.py``), the two taking turns for ``--rounds`` rounds, each
keeping its fastest; the ratio comes first:

* ``fresh 90 MB map``: ``y = 2 * x`` on a map of the UNet's first-level size (64 x 1040 x 352
  float32), a new ``y`` each time: what every large temporary of a forward pass costs;
* ``predict auto``: audio -> P(AI) per 4 s chunk, the default path (``artifactnet detect``), for
  the shipped model's size (UNet width 16) and the paper's (width 32), random weights;
* ``classifier step``: one training step of the compact CNN at the laptop recipe's batch and
  crop (32 x 7 x 128 x 128 features);
* ``UNet step``: one UNet training step at the laptop recipe's batch and crop;
* ``classifier loop``: the whole training loop (``training.train_classifier``: batches drawn
  from float16 maps, crops featurized, validation) for 2 epochs on 320 synthetic chunks of the
  laptop shape, on 1 thread (as the runner's workers train) and on 2, and two such loops at
  once on 1 thread each (as the laptop run trains two detectors side by side); one timed loop
  per child after a warm-up one, whatever ``--repeat`` says.

The arithmetic is the same under both (same outputs, bit for bit: the last column compares the
P(AI) of the two children).

    python benchmarks/allocator.py             # every task, 3 rounds (~6 min on 2 cores)
    python benchmarks/allocator.py --rounds 1  # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from artifactnet_core.allocator import (  # noqa: E402
    glibc_environment,
    malloc_in_use,
    tcmalloc_environment,
)

#: Run as two children at once (as the laptop run trains two detectors side by side, one
#: thread each): the mean of the two children's times.
SIDE_BY_SIDE = "classifier loop, two at once on 1 thread each"
TASKS = ("fresh 90 MB map", "predict auto, width 16", "predict auto, width 32",
         "classifier step", "UNet step", "classifier loop, 1 thread", "classifier loop, 2 threads",
         SIDE_BY_SIDE)


def best_of(fn, repeat: int) -> float:
    """Shortest wall time of ``repeat`` calls (after one warm-up call), in seconds; the
    benchmarks' one timer (``speed.py`` and ``wait_policy.py`` use it too)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(task: str, repeat: int) -> dict:
    """Time ``task`` in this process: seconds per call (per chunk for ``predict``), and P(AI)
    where there is one."""
    import numpy as np
    import torch
    from torch.nn import functional as F

    torch.manual_seed(0)
    if task == "fresh 90 MB map":
        x = torch.rand(1, 64, 1040, 352)
        return {"s": best_of(lambda: x * 2.0, repeat)}
    if task.startswith("predict auto"):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from gpu import music

        from artifactnet_core.detector.chunking import split_chunks
        from artifactnet_core.detector.model import (
            ArtifactNet,
            ArtifactNetConfig,
            predict_chunks,
        )

        model = ArtifactNet(ArtifactNetConfig(unet_base_width=int(task.split()[-1]))).eval()
        chunks = torch.from_numpy(split_chunks(music(16.0, seed=0), model.config.chunk_samples))
        p = predict_chunks(model, chunks)
        return {"s": best_of(lambda: predict_chunks(model, chunks), repeat) / len(chunks),
                "p": np.asarray(p, dtype=float).tolist()}
    if task == "classifier step":
        from artifactnet_core.detector.classifier import CompactCNN
        from artifactnet_core.profiles import get_profile

        recipe = get_profile("laptop").classifier
        net = CompactCNN(in_channels=7).train()
        opt = torch.optim.AdamW(net.parameters(), lr=recipe.lr)
        feats = torch.randn(recipe.batch_size, 7, 128, recipe.crop_frames).contiguous(
            memory_format=torch.channels_last)
        labels = torch.rand(recipe.batch_size).round()

        def step() -> None:
            loss = F.binary_cross_entropy_with_logits(net(feats), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        return {"s": best_of(step, repeat)}
    if task == "UNet step":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from gpu import training_step

        from artifactnet_core.detector.model import ArtifactNetConfig

        seconds = training_step(ArtifactNetConfig(unet_base_width=16), torch.device("cpu"),
                                argparse.Namespace(quick=False, repeat=repeat),
                                profile="laptop", label="allocator child:")
        return {"s": seconds}
    if task.startswith("classifier loop"):
        import dataclasses

        from artifactnet_core.detector.model import ArtifactNet, ArtifactNetConfig
        from artifactnet_core.experiments.training import train_classifier
        from artifactnet_core.profiles import get_profile

        torch.set_num_threads(int(task.split()[2]))
        config = ArtifactNetConfig(unet_base_width=16)
        featurizer = ArtifactNet(config).featurizer
        rng = np.random.default_rng(0)
        maps = rng.random((320, 3, config.n_mels, 345), dtype=np.float32).astype(np.float16)
        labels = rng.integers(0, 2, len(maps))
        recipe = dataclasses.replace(get_profile("laptop").classifier, epochs=2,
                                     validate_last=1)

        def loop() -> None:
            train_classifier(maps, labels, maps[:64], labels[:64], recipe,
                             featurizer=featurizer, config=config, device="cpu",
                             progress=False)

        return {"s": best_of(loop, 1)}
    raise ValueError(f"unknown task {task!r}")


def in_child(task: str, allocator: str, repeat: int) -> dict:
    """:func:`measure` of ``task`` in a child process under ``allocator`` (two children at
    once for :data:`SIDE_BY_SIDE`, their mean time)."""
    env = tcmalloc_environment() if allocator == "tcmalloc" else glibc_environment()
    measured = "classifier loop, 1 thread" if task == SIDE_BY_SIDE else task
    children = [subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", measured,
                                  "--repeat", str(repeat)], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
                for _ in range(2 if task == SIDE_BY_SIDE else 1)]
    results = []
    for child in children:
        out, _ = child.communicate()
        if child.returncode:
            raise RuntimeError(f"the child for {measured!r} under {allocator} failed")
        results.append(json.loads(out.strip().splitlines()[-1]))
    if any(result["allocator"] != allocator for result in results):
        raise RuntimeError(f"a child meant for {allocator} ran under another allocator")
    return {**results[0], "s": sum(result["s"] for result in results) / len(results)}


def compare(task: str, *, rounds: int, repeat: int) -> dict[str, dict]:
    """The fastest of ``rounds`` turns of ``task`` under each allocator."""
    best: dict[str, dict] = {}
    for _ in range(rounds):
        for allocator in ("glibc", "tcmalloc"):
            result = in_child(task, allocator, repeat)
            if allocator not in best or result["s"] < best[allocator]["s"]:
                best[allocator] = result
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="turns of each allocator")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls in each child")
    parser.add_argument("--only", nargs="*", choices=TASKS, default=list(TASKS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = measure(args.child, args.repeat)
        print(json.dumps({"allocator": malloc_in_use(), **result}))
        return
    if tcmalloc_environment() is None:
        print("no tcmalloc on this machine (apt-get install libtcmalloc-minimal4): nothing to "
              "compare")
        return
    import torch

    print(f"{os.cpu_count()} CPUs, torch {torch.__version__}; fastest of {args.rounds} turns "
          f"per allocator, each the fastest of {args.repeat} calls in a child process")
    width = max(len(task) for task in args.only)
    print(f"{'work':<{width}} {'gain':>6} {'tcmalloc s':>11} {'glibc s':>9} {'max |dP|':>9}")
    for task in args.only:
        best = compare(task, rounds=args.rounds, repeat=args.repeat)
        glibc, tcmalloc = best["glibc"], best["tcmalloc"]
        diff = ""
        if "p" in glibc:
            diff = f"{max(abs(a - b) for a, b in zip(glibc['p'], tcmalloc['p'], strict=True)):.1e}"
        print(f"{task:<{width}} {glibc['s'] / tcmalloc['s']:>5.2f}x {tcmalloc['s']:>11.4f} "
              f"{glibc['s']:>9.4f} {diff:>9}")


if __name__ == "__main__":
    main()
