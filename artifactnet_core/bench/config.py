"""What shapes a benchmark build: :class:`BenchConfig` and the zoo's :class:`ZooBudget`.

Plain dataclasses (no torch, no pandas): the profile registry (:mod:`artifactnet_core.profiles`)
holds one of each per profile, and a hash of the config names the build's cache folder.
"""

from __future__ import annotations

from dataclasses import dataclass

from artifactnet_core.bench.sources import SOURCE_NAMES

#: The zero-shot real sources: one lossy game score, one lossless render.
DEFAULT_HELDOUT_SOURCES = ("nexuiz", "openmsx_midi")


@dataclass(frozen=True)
class ZooBudget:
    """How much of each generator's recipe a profile trains, and what a build does with a
    generator under the quality floor (the recipe itself lives in each
    :class:`~artifactnet_core.bench.zoo.models.GeneratorSpec`).

    Attributes
    ----------
    step_fraction : float
        Multiplies each spec's ``steps`` (fixed step counts, never wall-clock limits, so that
        training is deterministic).
    enforce_floor : bool
        Stop a build that would use a generator under the quality floor (every profile but
        ``smoke``, whose tiny budget cannot reach it).
    """

    step_fraction: float = 1.0
    enforce_floor: bool = True


@dataclass(frozen=True)
class BenchConfig:
    """Everything that shapes a benchmark build (the cache key); one per profile in
    :mod:`artifactnet_core.profiles`.

    Attributes
    ----------
    profile : str
        Name of the profile the config belongs to (names the build's cache folder).
    clip_s : float
        Clip length in seconds (4-10).
    max_tracks_per_source : int or None
        Benchmark compositions per source (chosen by seed; every version of a chosen
        composition comes along); ``None``: all.
    clips_per_track : int
        Clips cut from each train and validation track.
    test_clips_per_track : int
        Clips cut from each test track (a track's score aggregates its clips' chunks).
    ai_per_real : int
        Generators that regenerate each benchmark track (every clip of it).
    scan_limit_s : float or None
        Read only a track's first ``scan_limit_s`` seconds when cutting clips; ``None``: all.
    val_fraction, test_fraction : float
        Shares of each source's compositions for val and test.
    heldout_sources : tuple of str
        Real sources held out of train/val in the zero-shot protocol.
    heldout_families : tuple of str or None
        Generator families held out; ``None`` picks two
        (:func:`~artifactnet_core.bench.splits.choose_heldout_families`).
    heldout_test_share : float
        Target share of held-out-family clips among zero-shot test AI clips.
    sources : tuple of str
        Which real sources to use (:data:`~artifactnet_core.bench.sources.SOURCE_NAMES`).
    generators : tuple of str or None
        Names of the zoo generators that regenerate clips (``None``: the whole zoo).
    zoo : ZooBudget
        How each generator is trained when no shipped weights fit it.
    """

    profile: str
    clip_s: float = 4.0
    max_tracks_per_source: int | None = None
    clips_per_track: int = 1
    test_clips_per_track: int = 2
    ai_per_real: int = 2
    scan_limit_s: float | None = 240.0
    val_fraction: float = 0.15
    test_fraction: float = 0.4
    heldout_sources: tuple[str, ...] = DEFAULT_HELDOUT_SOURCES
    heldout_families: tuple[str, ...] | None = None
    heldout_test_share: float = 0.5
    sources: tuple[str, ...] = SOURCE_NAMES
    generators: tuple[str, ...] | None = None
    zoo: ZooBudget = ZooBudget()

    def __post_init__(self) -> None:
        if not 4.0 <= self.clip_s <= 10.0:
            raise ValueError(f"clip_s must be 4-10 s, got {self.clip_s}")
        if min(self.clips_per_track, self.test_clips_per_track, self.ai_per_real) < 1:
            raise ValueError("clips_per_track, test_clips_per_track and ai_per_real must be >= 1")
