"""Could a profile train its classifiers for fewer epochs? Validation only, per selection candidate.

Issue 15 asks for the laptop ``make reproduce`` in 90 minutes on 2 CPU cores. On a 2-core CPU
without AMX (float32 training) the run takes about 2 hours, and its classifiers are the largest
stage of its ledger. Fewer epochs is the obvious cut; this script measures what it costs on the
evidence the protocol is allowed to choose on (never the test split): for each UNet objective
:func:`~artifactnet_core.experiments.pipeline.default_detector` chooses between, the profile's
classifier recipe and the same recipe at each ``--epochs`` (validating the same share of the last
epochs, rounded up), trained or loaded from the cache with everything else unchanged. It prints,
per candidate and epoch count: the selection AUC (per track, unseen generators:
:func:`~artifactnet_core.experiments.pipeline.selection_items`) with the number of validation
tracks, the paired difference to the profile's recipe with its cluster-bootstrap interval (the
same resampled tracks for both), the classifier's training seconds, and the run ledger's
classifier CPU time (the notebooks' classifiers) scaled by the measured ratio. The verdict
line of each epoch count is computed from the table (:func:`cut_verdict`): a cut must be shown
not to cost validation AUC beyond :data:`~artifactnet_core.experiments.pipeline.SELECTION_TIE`.

    python benchmarks/classifier_epochs.py --profile laptop            # ~15 min beside the cache
    python benchmarks/classifier_epochs.py --profile laptop --epochs 6
    python benchmarks/classifier_epochs.py --timings notebooks/timings/laptop.json

Needs the profile's benchmark, UNets and training maps in ``ARTIFACTNET_CACHE`` (``make
reproduce`` builds them; without them this trains them first, about an hour for laptop on one
thread).
The shorter recipes' classifiers are cached beside the run's under their own keys and charged to
the ledger as ``classifier_epochs``, not to a notebook. ``--threads 1`` (the default) trains as
each of the laptop run's two workers does.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
from pathlib import Path

import pandas as pd
import torch

from artifactnet_core.experiments import evaluation as ev
from artifactnet_core.experiments import pipeline
from artifactnet_core.experiments.ledger import NOTEBOOK_ENV, read_ledger
from artifactnet_core.experiments.outputs import markdown_table
from artifactnet_core.experiments.runner import notebook_sources
from artifactnet_core.profiles import Profile, get_profile


def with_epochs(profile: Profile, epochs: int) -> Profile:
    """``profile`` with its classifier trained for ``epochs`` epochs, validating the same share
    of the last ones (rounded up; all when the profile validates all)."""
    recipe = profile.classifier
    last = recipe.validate_last
    if last is not None:
        last = max(1, math.ceil(epochs * last / recipe.epochs))
    return dataclasses.replace(profile, classifier=dataclasses.replace(
        recipe, epochs=epochs, validate_last=last))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="laptop")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, nargs="+", default=[4, 6, 8],
                        help="classifier epochs to compare with the profile's")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--timings", type=Path,
                        help="the run's notebooks/timings/<profile>.json: each cut's wall time "
                             "is then bounded below by the run's minus the CPU time saved over "
                             "its cores")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ[NOTEBOOK_ENV] = "classifier_epochs"
    profile = get_profile(args.profile)
    data = pipeline.get_bench(profile, seed=args.seed, progress=False)
    full = profile.classifier.epochs
    ledger = read_ledger(pipeline.runs_dir(data))
    notebooks = [path.stem for path in notebook_sources()]
    run_classifiers = ledger[(ledger["stage"] == "classifier")
                             & ledger["notebook"].isin(notebooks)]
    run_classifier_min = float(run_classifiers["seconds"].sum()) / 60

    rows = []
    for objective in pipeline.SELECTION_OBJECTIVES:
        ref_items = ref_seconds = None  # the profile's recipe: the first of the loop
        for epochs in [full, *sorted(set(args.epochs) - {full}, reverse=True)]:
            det = pipeline.train_detector(data, with_epochs(profile, epochs),
                                          objective=objective, seed=args.seed, progress=False)
            items = pipeline.selection_items(det)
            score = pipeline.selection_score(det)
            if ref_items is None:
                ref_items, ref_seconds = items, det.timings["classifier_s"]
            diff = ev.paired_auc_difference(items, ref_items, n_boot=args.n_boot,
                                            seed=args.seed)
            ratio = det.timings["classifier_s"] / ref_seconds
            rows.append({"objective": objective, "epochs": epochs,
                         "validate_last": det.classifier_recipe.validate_last,
                         "selection_auc": score["selection_auc"],
                         "n_val_tracks": score["n_val_tracks"],
                         "delta": diff["delta"], "lo": diff["lo"], "hi": diff["hi"],
                         "classifier_s": det.timings["classifier_s"], "time_ratio": ratio})
    table = pd.DataFrame(rows)
    print(f"{profile.name} profile, seed {args.seed}, {args.threads} thread(s); the run's ledger "
          f"charges its {len(run_classifiers)} classifiers {run_classifier_min:.1f} CPU-min "
          f"at {full} epochs")
    shown = pd.DataFrame({
        "objective": table["objective"], "epochs": table["epochs"],
        "validate_last": table["validate_last"],
        "selection AUC": table["selection_auc"].map("{:.4f}".format),
        "val tracks": table["n_val_tracks"],
        f"minus {full} epochs [95% CI]": [interval(row) for _, row in table.iterrows()],
        "classifier s": table["classifier_s"].map("{:.0f}".format),
        "time ratio": table["time_ratio"].map("{:.2f}".format),
        "run's classifiers, CPU-min": (table["time_ratio"] * run_classifier_min).map(
            "{:.1f}".format)})
    print(markdown_table(shown))
    run = json.loads(args.timings.read_text())["run"] if args.timings else None
    if run:
        print(f"the run: {run['wall_s'] / 60:.1f} min on {run['cores']} cores "
              f"({run.get('cpu', '?')}, commit {run.get('commit', '?')})")
    for epochs in sorted(set(table["epochs"]) - {full}):
        cut = table[table["epochs"] == epochs]
        saved = run_classifier_min * (1 - float(cut["time_ratio"].max()))
        wall = (f"; the run would still take at least "
                f"{run['wall_s'] / 60 - saved / run['cores']:.0f} min" if run else "")
        print(f"{epochs} epochs (~{saved:.0f} CPU-min less classifier training{wall}): "
              f"{cut_verdict(cut, n_tracks=int(cut['n_val_tracks'].min()))}")


def interval(row: pd.Series) -> str:
    """A paired difference and its interval, ``+d [lo, hi]``."""
    return f"{row['delta']:+.4f} [{row['lo']:+.4f}, {row['hi']:+.4f}]"


def cut_verdict(cut: pd.DataFrame, *, n_tracks: int) -> str:
    """Whether a cheaper recipe may replace the profile's, from its paired selection-AUC
    differences ``delta, lo, hi`` (one row per candidate). A cut must be shown not to cost
    validation AUC: it is a candidate only where every interval's lower end is within the tie
    margin, rejected where any interval lies wholly below 0, and otherwise not resolvable."""
    worst = cut.loc[cut["lo"].idxmin()]
    where = f"{worst['objective']} {interval(worst)}"
    if (cut["hi"] < 0).any():
        low = cut.loc[cut["hi"].idxmin()]
        return (f"rejected: worse on validation for {low['objective']} ({interval(low)}, "
                "interval below 0)")
    if (cut["lo"] >= -pipeline.SELECTION_TIE).all():
        return (f"a candidate cut: every interval within the tie margin "
                f"{pipeline.SELECTION_TIE} (worst {where})")
    return (f"not resolvable at n = {n_tracks} validation tracks (worst {where}): the profile's "
            f"recipe stays")


if __name__ == "__main__":
    main()
