"""Training in bfloat16 autocast against float32 on this machine: time and quality, ratio first.

Where the CPU has fast bfloat16 the UNet and the classifier train their forward passes in
bfloat16 autocast (:func:`artifactnet_core.runtime.training_autocast`); the laptop
``make reproduce`` spent 1 h 38 min training UNets and 1 h 17 min training classifiers in
float32 (``notebooks/README.md``). This script measures both ways on the profile's own benchmark
and recipes, for the paper's configuration (objective ``paired``, codec-aware):

1. **Speed, measured now**: the real training loops (data drawing, spectrograms, validation
   included), float32 and bfloat16 interleaved so a change in the machine's load hits both:
   ``--steps`` UNet steps and one classifier epoch each, best of ``--repeat``.
2. **UNet quality**: the full recipe trained in float32 and in bfloat16 for each of ``--seeds``,
   final validation loss of each, so the precision's effect reads against the seed's.
3. **Classifier quality**: trained in float32 and in bfloat16 on the same cached maps (the
   bfloat16 UNet's, on this machine's inference path): best validation AUC and the zero-shot
   test ROC-AUC per track (the median of a track's clips, as ``detect`` scores a file) with its
   bootstrap interval over source tracks.

Trained models are cached like the pipeline's (keys name the precision), so the bfloat16 ones
are what a later notebook run reuses and a second run of this script skips their training.
Each full run's wall time is printed as recorded when it was trained (the load then is not
controlled: read section 1 for the ratio). On a CPU without fast bfloat16 there is nothing to
compare and the script says so.

    python benchmarks/training_precision.py --profile laptop   # ~1 h on 2 cores, bench built
    python benchmarks/training_precision.py --profile smoke --seeds 0 --steps 4   # the script
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artifactnet_core.experiments import evaluation as ev  # noqa: E402
from artifactnet_core.experiments import pipeline  # noqa: E402
from artifactnet_core.experiments.data import item_labels, training_items  # noqa: E402
from artifactnet_core.experiments.featurestore import per_clip  # noqa: E402
from artifactnet_core.experiments.training import (  # noqa: E402
    UNetItems,
    predict_maps,
    train_classifier,
    train_unet,
)
from artifactnet_core.profiles import get_profile  # noqa: E402
from artifactnet_core.runtime import fast_bf16, training_precision  # noqa: E402


@contextlib.contextmanager
def float32_training(on: bool) -> Iterator[None]:
    """``ARTIFACTNET_BF16=0`` inside (training and inference in float32) when ``on``."""
    old = os.environ.get("ARTIFACTNET_BF16")
    if on:
        os.environ["ARTIFACTNET_BF16"] = "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("ARTIFACTNET_BF16", None)
        else:
            os.environ["ARTIFACTNET_BF16"] = old


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="laptop")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--steps", type=int, default=30, help="UNet steps per timing")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    profile = get_profile(args.profile)
    if not fast_bf16("cpu"):
        print("this CPU has no fast bfloat16 (no AMX): training is float32 either way; nothing to "
              "compare (ARTIFACTNET_BF16=1 compares anyway)")
        return
    seed = args.seeds[0]
    data = pipeline.get_bench(profile, seed=seed)
    det = pipeline.train_detector(data, profile, objective="paired", seed=seed, device="cpu")
    assert det.unet_recipe is not None
    config, recipe = det.model.config, det.classifier_recipe

    # Every map is fetched before float32 is switched on, so none comes from the float32 path.
    # The paired UNet and the classifier both leave the validation family out of training.
    exclude = tuple(det.unet_recipe.exclude_families)
    train_rows = data.rows(split="train", protocol="zero_shot", exclude_families=exclude)
    val_rows = data.rows(split="val", protocol="zero_shot")
    test = data.rows(split="test")
    test_rows = test[(test["label"] == "real")
                     | test["family"].isin(pipeline.heldout_families(data))]
    train_items = training_items(train_rows, codec_aware=recipe.codec_aware, seed=seed)
    val_items = training_items(val_rows, codec_aware=recipe.codec_aware, seed=seed)
    train_maps, train_owner = det.store.maps(train_items, desc="train features")
    val_maps, val_owner = det.store.maps(val_items, desc="val features")
    test_maps, test_owner = det.store.maps([(p, "wav") for p in test_rows["path"]],
                                           desc="test features")
    chunk_labels = item_labels(train_rows, codec_aware=recipe.codec_aware)[train_owner]
    val_labels = item_labels(val_rows, codec_aware=recipe.codec_aware)

    def reduce(p: np.ndarray) -> np.ndarray:
        return per_clip(p, val_owner, len(val_items))

    def classifier(epochs: int):
        return train_classifier(train_maps, chunk_labels, val_maps, val_labels,
                                dataclasses.replace(recipe, epochs=epochs),
                                featurizer=det.model.featurizer, config=config, device="cpu",
                                progress=False, val_reduce=reduce)

    short = dataclasses.replace(det.unet_recipe, steps=args.steps)
    arrays = data.load(UNetItems.needed(train_rows, short) + UNetItems.needed(
        val_rows, dataclasses.replace(short, codec_aware=False)), progress=False)

    def unet_loop() -> None:
        train_unet(train_rows, val_rows, arrays, short, config=config, progress=False,
                   val_every=50)

    best = {("unet", p): float("inf") for p in ("fp32", "bf16")}
    best.update({("classifier", p): float("inf") for p in ("fp32", "bf16")})
    for _ in range(args.repeat):
        for precision in ("fp32", "bf16"):
            with float32_training(precision == "fp32"):
                for part, run in (("unet", unet_loop), ("classifier", lambda: classifier(1))):
                    t0 = time.perf_counter()
                    run()
                    best[part, precision] = min(best[part, precision], time.perf_counter() - t0)
    print(f"machine: {os.cpu_count()} cores, {torch.get_num_threads()} threads; bench "
          f"{data.sha256[:12]}; profile {profile.name}")
    print(f"\n1. Speed of the training loops (best of {args.repeat}, interleaved):")
    for part, what in (("unet", f"UNet, {args.steps} steps of batch "
                                f"{short.batch_size}, width {short.base_width}"),
                       ("classifier", f"classifier, one epoch of {len(train_owner)} chunks")):
        fp32, bf16 = best[part, "fp32"], best[part, "bf16"]
        print(f"   {what}: bf16 {fp32 / bf16:.2f}x faster ({bf16:.1f} s vs {fp32:.1f} s)")

    print(f"\n2. UNet, full recipe ({det.unet_recipe.steps} steps): final validation loss "
          "(wall time as recorded)")
    for s in args.seeds:
        row = []
        for precision in ("bf16", "fp32"):
            with float32_training(precision == "fp32"):
                _, hist, _, seconds = pipeline.get_unet(
                    data, dataclasses.replace(det.unet_recipe, seed=s), config=config,
                    device="cpu")
            row.append(f"{precision} {hist['val_loss'].dropna().iloc[-1]:.4f} ({seconds:.0f} s)")
        print(f"   seed {s}: " + ", ".join(row))

    with float32_training(True):
        classifier32, history32 = classifier(recipe.epochs)

    def test_auc(classify_base) -> str:
        scored = test_rows.copy()
        scored["version"] = "wav"
        scored["p_ai"] = per_clip(predict_maps(classify_base, test_maps, device="cpu"),
                                  test_owner, len(test_rows))
        res = ev.auc_with_ci(ev.track_scores(scored), n_boot=profile.evaluation.n_boot,
                             seed=seed)
        return (f"{res['auc']:.3f} [{res['auc_lo']:.3f}, {res['auc_hi']:.3f}] "
                f"(n = {res['n_tracks']} source tracks)")

    def classify32(base):
        return classifier32(det.model.featurizer.channels_from_base(base))

    print(f"\n3. Classifier, full recipe ({recipe.epochs} epochs), seed {seed}, on the same maps:")
    print(f"   best validation AUC: bf16 {det.classifier_history['val_auc'].max():.4f}, "
          f"float32 {history32['val_auc'].max():.4f}")
    print(f"   zero-shot test ROC-AUC per track: bf16 {test_auc(det.model.classify_base)}")
    print(f"                                     float32 {test_auc(classify32)}")
    print(f"\n(training precision here: {training_precision('cpu')}; the UNet's maps come from "
          "its bf16 inference path in both rows)")


if __name__ == "__main__":
    main()
