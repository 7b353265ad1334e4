"""How each model of the experiments is trained and evaluated: plain dataclasses, also cache keys.

A recipe holds everything that shapes one trained artifact (a UNet, a classifier, a baseline), so
a hash of it names the artifact's cache entry. The profile registry
(:mod:`artifactnet_core.profiles`) holds one template of each per profile; the pipeline fills in
the rest (objective, seed, exclusions). Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from artifactnet_core.detector.config import MASK_BOUND, UNET_BASE_WIDTH

#: The two ways of training the UNet (DESIGN.md section 3; see :mod:`~.training`).
UNET_OBJECTIVES = ("paired", "real_only")
#: Split protocols: ``zero_shot`` holds out generator families and a real source,
#: ``track`` holds out tracks only (the paper's protocol).
PROTOCOLS = ("zero_shot", "track")


@dataclass(frozen=True)
class UNetRecipe:
    """How one ArtifactUNet is trained (also its cache key).

    Attributes
    ----------
    objective : {"paired", "real_only"}
        See :mod:`artifactnet_core.experiments.training`.
    mask_bound : float or None
        Mask upper bound (paper 0.5; ``None``: unbounded).
    base_width : int
        UNet width (paper 32).
    steps, batch_size, lr : int, int, float
        AdamW steps (cosine decay), items per step, peak learning rate.
    crop_bins, crop_frames : int
        Random crop of each spectrogram, in frequency bins and frames.
    codec_aware : bool
        Pass half the items through their assigned lossy codec version.
    protocol : {"zero_shot", "track"}
        Which split column defines the training clips.
    exclude_families : tuple of str
        Generator families left out of training (kept for validation on unseen generators).
    seed : int
        Seed of initialisation and sampling.
    val_items : int
        Validation items (whole chunks) behind the loss history's ``val_loss``; it does not
        change the trained weights (the smoke profile scores a few to stay fast).
    """

    objective: str = "paired"
    mask_bound: float | None = MASK_BOUND
    base_width: int = UNET_BASE_WIDTH
    steps: int = 400
    batch_size: int = 8
    lr: float = 1e-3
    crop_bins: int = 256
    crop_frames: int = 64
    codec_aware: bool = True
    protocol: str = "zero_shot"
    exclude_families: tuple[str, ...] = ()
    seed: int = 0
    val_items: int = 16

    def __post_init__(self) -> None:
        if self.objective not in UNET_OBJECTIVES:
            raise ValueError(f"objective must be one of {UNET_OBJECTIVES}, got {self.objective!r}")
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {self.protocol!r}")


@dataclass(frozen=True)
class ClassifierRecipe:
    """How the compact CNN is trained on cached feature maps (also its cache key).

    Attributes
    ----------
    feature_set : str
        ``hpss7`` (paper), ``residual3`` or ``residual1`` (ablations).
    codec_aware : bool
        Train on each clip's WAV and its assigned lossy version (else WAV only).
    epochs, batch_size, lr, weight_decay : int, int, float, float
        AdamW with cosine decay; each batch is half real, half AI.
    crop_frames : int
        Random time crop of the maps during training (evaluation sees whole chunks).
    seed : int
        Seed of initialisation and sampling.
    validate_last : int or None
        Validate (and so choose the kept epoch) only on the last ``validate_last`` epochs;
        ``None`` validates every epoch. Validation touches neither the training nor its random
        stream, so the epochs trained are the same either way; on a CPU a validation pass costs
        about as much as an epoch of training (laptop profile).
    """

    feature_set: str = "hpss7"
    codec_aware: bool = True
    epochs: int = 8
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    crop_frames: int = 128
    seed: int = 0
    validate_last: int | None = None

    def __post_init__(self) -> None:
        if self.validate_last is not None and self.validate_last < 1:
            raise ValueError(f"validate_last must be None or at least 1, not {self.validate_last}")

    def validates(self, epoch: int) -> bool:
        """Whether training validates after ``epoch`` (0-based): a candidate for the kept
        epoch, one of the last ``validate_last`` (every epoch when ``None``)."""
        return self.validate_last is None or epoch >= self.epochs - self.validate_last


@dataclass(frozen=True)
class SpecTTTraBudget:
    """Size and training budget of the SpecTTTra-α baseline.

    Attributes
    ----------
    size : {"tiny", "reduced", "full"}
        ``full`` is SpecTTTra-α as published (16.8M parameters at 4 s; needs a GPU),
        ``reduced`` embed 192 and 6 layers (CPU), ``tiny`` a toy for CI.
    epochs, batch_size : int
        Training epochs and clips per batch.
    """

    size: str = "full"
    epochs: int = 20
    batch_size: int = 32

    def __post_init__(self) -> None:
        if self.size not in ("tiny", "reduced", "full"):
            raise ValueError(f"SpecTTTra size must be tiny, reduced or full, got {self.size!r}")


@dataclass(frozen=True)
class EvalBudget:
    """How much evaluation a profile can afford.

    Attributes
    ----------
    n_boot : int
        Bootstrap replicates for confidence intervals.
    max_eval_clips : int or None
        Cap on the clips of each evaluation over codec versions (notebooks 05 and 06 score every
        version of every clip with several detectors); whole tracks, chosen by seed.
    max_ablation_clips : int or None
        Cap on the clips of notebook 07's ablations and controls; ``None``: the whole zero-shot
        test (and every real test track for the codec control), so that differences between
        variants are measured on every independent track the benchmark has.
    feature_batch : int
        Chunks per UNet forward pass when extracting features.
    seeds : int
        Training seeds of the chosen configuration whose spread notebook 04 reports (the run's
        own seed and the next ``seeds - 1``).
    residual_clips : int
        Clips per group (real, each AI family) that notebook 01 passes through the trained
        detector for its residual-level table.
    """

    n_boot: int = 1000
    max_eval_clips: int | None = None
    max_ablation_clips: int | None = None
    feature_batch: int = 4
    seeds: int = 3
    residual_clips: int = 8
