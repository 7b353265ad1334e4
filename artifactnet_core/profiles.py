"""The profile registry: every stage's size for each named profile, in one table.

A profile names one consistent size of the whole protocol (DESIGN.md section 6):

- ``smoke``: the whole notebook chain in minutes on 2 CPU cores; what CI and ``make test`` run;
  its numbers mean nothing and say so;
- ``laptop``: the whole protocol on 2 CPU cores, on a smaller benchmark;
- ``paper``: the full ArtifactBench-mini and the paper's UNet, sized for one CUDA GPU.

Each :class:`Profile` has a section per stage: the benchmark and its generator zoo
(:class:`~artifactnet_core.bench.config.BenchConfig`), the UNet and classifier recipes
(:mod:`artifactnet_core.experiments.recipes`), the SpecTTTra baseline and the evaluation
budget. The command line, the notebook runner, the pipeline and the report all read profile
names from :data:`PROFILE_NAMES`. Importing this module is cheap (no torch, no pandas).

Taught in notebook ``03_train``.
"""

from __future__ import annotations

from dataclasses import dataclass

from artifactnet_core.bench.config import BenchConfig, ZooBudget
from artifactnet_core.experiments.recipes import (
    ClassifierRecipe,
    EvalBudget,
    SpecTTTraBudget,
    UNetRecipe,
)


@dataclass(frozen=True)
class Profile:
    """One named size of the protocol; see the module docstring.

    Attributes
    ----------
    name : str
        The profile's name.
    bench : BenchConfig
        Benchmark build, its generators and their training budget.
    unet : UNetRecipe
        Template of every UNet trained in this profile.
    classifier : ClassifierRecipe
        Template of every classifier.
    spectttra : SpecTTTraBudget
        Size and budget of the SpecTTTra baseline.
    evaluation : EvalBudget
        Bootstrap replicates, evaluation caps, feature batch size.
    publishes : bool
        Whether its notebook runs write the committed ``figures/`` and ``data_cards/``
        (``smoke`` does not: its numbers mean nothing).
    compare_widths : tuple of int
        Other UNet widths the chosen objective is also trained at; one replaces
        ``unet.base_width`` only if it validates better
        (:func:`artifactnet_core.experiments.pipeline.default_detector`).
    ablation_width : int or None
        UNet width of notebook 07's reference and variants (``None``: the chosen detector's).
    """

    name: str
    bench: BenchConfig
    unet: UNetRecipe
    classifier: ClassifierRecipe
    spectttra: SpecTTTraBudget
    evaluation: EvalBudget
    publishes: bool = True
    compare_widths: tuple[int, ...] = ()
    ablation_width: int | None = None


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        bench=BenchConfig(profile="smoke", max_tracks_per_source=3, clips_per_track=1,
                          test_clips_per_track=1, ai_per_real=2, scan_limit_s=60.0,
                          generators=("tconv_cont_s256", "subpixel_cont_s256",
                                      "istft_fsq_s256", "melvoc_melphase_fsq_s256"),
                          zoo=ZooBudget(step_fraction=0.02, enforce_floor=False)),
        # Width 4: its numbers mean nothing, and width 8 cost CI 5 CPU-min of UNet passes (the
        # smoke notebook run: 25.6 -> 20.6 CPU-min on the 2-core AMD EPYC).
        unet=UNetRecipe(base_width=4, steps=16, batch_size=4, crop_bins=128, crop_frames=48,
                        val_items=4),
        classifier=ClassifierRecipe(epochs=2, batch_size=16, crop_frames=96,
                                    validate_last=1),
        spectttra=SpecTTTraBudget(size="tiny", epochs=3, batch_size=16),
        evaluation=EvalBudget(n_boot=100, max_eval_clips=8, max_ablation_clips=8,
                              feature_batch=4, seeds=2, residual_clips=2),
        publishes=False),
    "laptop": Profile(
        name="laptop",
        bench=BenchConfig(profile="laptop", max_tracks_per_source=90, clips_per_track=1,
                          test_clips_per_track=2, ai_per_real=2,
                          # One shipped 44.1 kHz generator of each of the seven families, all
                          # over the quality floor (ZOO's comment; zoo_table in notebook 02).
                          generators=("tconv_cont_s256", "snake_rvq_s512",
                                      "resize_nearest_cont_s256", "subpixel_cont_s256",
                                      "istft_fsq_s256", "mrf_cont_s256",
                                      "melvoc_melphase_fsq_s256"),
                          zoo=ZooBudget()),
        # UNet width 16, not the paper's 32: a width-32 detector costs 2-4x the UNet compute of
        # its whole life (training, training maps, every clip version scored), which kept the
        # run far over 90 minutes on 2 cores; the paper profile trains the paper's width.
        unet=UNetRecipe(base_width=16, steps=400, batch_size=8, crop_bins=256, crop_frames=64),
        # The kept epoch is one of the last 4 (13 of the 15 classifiers of the laptop run
        # validated on all 12 kept one of those anyway): a third of the validation passes.
        # Fewer epochs: 4 and 6 lost validation AUC, 8 was not resolvable at 72 validation
        # tracks (benchmarks/classifier_epochs.py), so 12 stays.
        classifier=ClassifierRecipe(epochs=12, batch_size=32, crop_frames=128,
                                    validate_last=4),
        spectttra=SpecTTTraBudget(size="reduced", epochs=12, batch_size=32),
        evaluation=EvalBudget(n_boot=1000, max_eval_clips=120, feature_batch=4),
        ablation_width=16),
    "paper": Profile(
        name="paper",
        bench=BenchConfig(profile="paper", max_tracks_per_source=None, clips_per_track=3,
                          test_clips_per_track=3, ai_per_real=3, generators=None,
                          zoo=ZooBudget()),
        unet=UNetRecipe(base_width=32, steps=3000, batch_size=16, crop_bins=512, crop_frames=128,
                        lr=5e-4),
        classifier=ClassifierRecipe(epochs=20, batch_size=64, crop_frames=192),
        spectttra=SpecTTTraBudget(size="full", epochs=20, batch_size=32),
        evaluation=EvalBudget(n_boot=1000, max_eval_clips=None, feature_batch=16)),
}
#: The profile names, smallest first.
PROFILE_NAMES: tuple[str, ...] = tuple(PROFILES)


def get_profile(name: str | Profile) -> Profile:
    """The profile called ``name`` (a :class:`Profile` is returned as it is); ``"auto"`` is
    ``paper`` on a machine with a CUDA GPU, else ``laptop``."""
    if isinstance(name, Profile):
        return name
    if name == "auto":
        import torch

        name = "paper" if torch.cuda.is_available() else "laptop"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {', '.join(PROFILE_NAMES)} "
                         "or 'auto'")
    return PROFILES[name]
