"""What shapes a benchmark build: :class:`BenchConfig` and the zoo's :class:`ZooBudget`.

Plain dataclasses (no torch, no pandas): the profile registry (:mod:`artifactnet_core.profiles`)
holds one of each per profile, and a hash of the config names the build's cache folder.
"""

from __future__ import annotations

from dataclasses import dataclass

from artifactnet_core.bench.sources import SOURCE_NAMES

#: The zero-shot real source when the config names none that is available.
DEFAULT_HELDOUT_SOURCES = ("nexuiz",)


@dataclass(frozen=True)
class ZooBudget:
    """How long and on what each zoo generator trains.

    Attributes
    ----------
    step_fraction : float
        Multiplies each spec's ``steps`` (fixed step counts, never wall-clock limits, so that
        training is deterministic).
    batch : int
        Crops per step.
    crop_s : float
        Crop length in seconds.
    lr : float
        Peak Adam learning rate.
    envelope_weight : float
        Weight of the loudness-envelope term of the loss.
    warn_floor : bool
        Warn about every generator under the quality floor.
    """

    step_fraction: float = 1.0
    batch: int = 8
    crop_s: float = 0.5
    lr: float = 3e-3
    envelope_weight: float = 3.0
    warn_floor: bool = False


@dataclass(frozen=True)
class BenchConfig:
    """Everything that shapes a benchmark build (the cache key); see :data:`PROFILES`.

    Attributes
    ----------
    profile : str
        Name of the profile the config belongs to (names the build's cache folder).
    clip_s : float
        Clip length in seconds (4-10).
    real_clips_per_source : int
        Benchmark real clips wanted per source (spread evenly over its benchmark tracks).
    max_clips_per_track : int
        Most clips one track may give.
    gentrain_clips_per_source : int
        Generator-training clips wanted per source.
    ai_per_real : int
        Generators that regenerate each benchmark real clip.
    corpus_pieces, corpus_max_s : int, float
        Scores rendered for ``fluidr3_corpus`` and their maximum duration (s).
    max_tracks_per_source : int or None
        Use at most this many tracks per source (chosen by seed); ``None``: all.
    scan_limit_s : float or None
        Read only a track's first ``scan_limit_s`` seconds when cutting clips; ``None``: all.
    gentrain_fraction, val_fraction, test_fraction : float
        Track shares of the generator-training partition, and of val and test per source.
    heldout_sources : tuple of str
        Real sources held out of train/val in the zero-shot protocol.
    heldout_families : tuple of str or None
        Generator families held out; ``None`` picks two
        (:func:`~artifactnet_core.bench.splits.choose_heldout_families`).
    heldout_test_share : float
        Target share of held-out-family clips among zero-shot test AI clips.
    sources : tuple of str
        Which of the six real sources to use.
    match_loudness : bool
        Scale each regeneration to the RMS level of its real clip (peak kept below 0.999), so
        loudness alone never tells AI from real.
    generators : tuple of str or None
        Names of the zoo generators that regenerate clips (``None``: the whole zoo).
    zoo : ZooBudget
        How each generator is trained.
    """

    profile: str
    clip_s: float
    real_clips_per_source: int
    max_clips_per_track: int
    gentrain_clips_per_source: int
    ai_per_real: int
    corpus_pieces: int
    corpus_max_s: float
    max_tracks_per_source: int | None = None
    scan_limit_s: float | None = None
    gentrain_fraction: float = 0.15
    val_fraction: float = 0.15
    test_fraction: float = 0.25
    heldout_sources: tuple[str, ...] = DEFAULT_HELDOUT_SOURCES
    heldout_families: tuple[str, ...] | None = None
    heldout_test_share: float = 0.5
    sources: tuple[str, ...] = SOURCE_NAMES
    match_loudness: bool = True
    generators: tuple[str, ...] | None = None
    zoo: ZooBudget = ZooBudget()

    def __post_init__(self) -> None:
        if not 4.0 <= self.clip_s <= 10.0:
            raise ValueError(f"clip_s must be 4-10 s, got {self.clip_s}")
        unknown = set(self.sources) - set(SOURCE_NAMES)
        if unknown:
            raise ValueError(f"unknown sources {sorted(unknown)}; known: {SOURCE_NAMES}")
