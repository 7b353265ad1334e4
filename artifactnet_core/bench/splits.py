"""Who goes where: the two split protocols by composition, and which generators regenerate which
track. Everything is a pure function of its inputs and the seed.

- **Zero-shot protocol** (``split``): the tracks of the held-out real source(s) all go to
  ``test``; the other sources' compositions are split train/val/test per source. AI clips of
  held-out generator families that fall on train/val tracks are marked ``excluded``.
- **Track-level protocol** (``split_track``, the paper's): every benchmark composition is split
  train/val/test per source, independently; every source and generator appears in train.

The unit of both splits is the *composition* (:func:`~artifactnet_core.bench.sources.composition_keys`):
every version of a piece (``battle`` / ``battle-epic``) and every clip and regeneration of it
share one split. The generator-training partition is chosen before, in
:mod:`~artifactnet_core.bench.plan`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from artifactnet_core.atomic import stable_hash

#: Families held out for zero-shot testing when the config names none, most preferred first:
#: decoders whose upsampling physics differ most from the transposed-conv codecs that dominate
#: training (matched as substrings of the zoo's family names).
HELDOUT_FAMILY_PREFERENCE = ("istft", "vocoder", "mel", "subpixel", "pixel", "resize")


@dataclass(frozen=True)
class TrackPlan:
    """The role of every track: ``gentrain`` tracks, and ``split`` / ``split_track`` (and the
    ``composition``) of every benchmark track."""

    gentrain: tuple[str, ...]
    split: Mapping[str, str]            # zero-shot protocol: track id -> train|val|test
    split_track: Mapping[str, str]      # track-level protocol: track id -> train|val|test
    composition: Mapping[str, str]      # track id -> composition key


def _rng(*parts: object) -> random.Random:
    return random.Random(int(stable_hash(*parts), 16))


def split_counts(n: int, *, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """Return ``(n_train, n_val, n_test)`` for ``n`` tracks of one source.

    With three tracks or more every split gets at least one; two tracks give train + test; one
    track goes to train.
    """
    if n <= 0:
        return 0, 0, 0
    if n == 1:
        return 1, 0, 0
    if n == 2:
        return 1, 0, 1
    n_test = max(1, round(n * test_fraction))
    n_val = max(1, round(n * val_fraction))
    while n - n_test - n_val < 1:
        if n_val > 1:
            n_val -= 1
        else:
            n_test -= 1
    return n - n_test - n_val, n_val, n_test


def _split_units(units: Sequence[str], *, rng: random.Random, val_fraction: float,
                 test_fraction: float) -> dict[str, str]:
    ids = sorted(units)
    rng.shuffle(ids)
    n_train, n_val, _ = split_counts(len(ids), val_fraction=val_fraction,
                                     test_fraction=test_fraction)
    return {t: ("train" if i < n_train else "val" if i < n_train + n_val else "test")
            for i, t in enumerate(ids)}


def plan_splits(compositions: Mapping[str, Mapping[str, str]], *, seed: int,
                heldout_sources: Sequence[str], val_fraction: float,
                test_fraction: float) -> TrackPlan:
    """Split every source's benchmark compositions under both protocols.

    Parameters
    ----------
    compositions : mapping source -> {track id: composition key}
        The benchmark tracks of each source.
    seed : int
        Drives every shuffle.
    heldout_sources : sequence of str
        Real sources whose tracks are all ``test`` in the zero-shot protocol.
    val_fraction, test_fraction : float
        Shares of each source's compositions for val and test.

    Returns
    -------
    TrackPlan
        With an empty ``gentrain`` (that partition is chosen in :mod:`~.plan`).
    """
    split: dict[str, str] = {}
    split_track: dict[str, str] = {}
    composition: dict[str, str] = {}
    for source in sorted(compositions):
        tracks = compositions[source]
        composition.update(tracks)
        units = sorted(set(tracks.values()))
        if source in heldout_sources:
            by_unit = dict.fromkeys(units, "test")
        else:
            by_unit = _split_units(units, rng=_rng("split", seed, source),
                                   val_fraction=val_fraction, test_fraction=test_fraction)
        by_unit_track = _split_units(units, rng=_rng("split_track", seed, source),
                                     val_fraction=val_fraction, test_fraction=test_fraction)
        for track_id, key in tracks.items():
            split[track_id] = by_unit[key]
            split_track[track_id] = by_unit_track[key]
    return TrackPlan((), split, split_track, composition)


def choose_heldout_families(families: Sequence[str], *, n: int = 2,
                            preferred: Sequence[str] = HELDOUT_FAMILY_PREFERENCE,
                            seed: int = 0) -> tuple[str, ...]:
    """Pick ``n`` generator families to hold out of train/val, leaving at least one to train on.

    Families matching :data:`HELDOUT_FAMILY_PREFERENCE` (case-insensitive substrings) come
    first, in preference order; the rest are filled by a seeded draw.
    """
    pool = sorted(set(families))
    if len(pool) < n + 1:
        raise ValueError(f"need at least {n + 1} generator families to hold out {n} "
                         f"and train on one; got {pool}")
    chosen: list[str] = []
    for pattern in preferred:
        for family in pool:
            if pattern.lower() in family.lower() and family not in chosen and len(chosen) < n:
                chosen.append(family)
    rest = [f for f in pool if f not in chosen]
    _rng("heldout-families", seed).shuffle(rest)
    chosen.extend(rest[: n - len(chosen)])
    return tuple(sorted(chosen))


def assign_generators(tracks: Sequence[tuple[str, str, str]],
                      generators: Sequence[tuple[str, str]], *, per_clip: int, seed: int,
                      heldout_families: Sequence[str] = (),
                      heldout_test_share: float = 0.5) -> dict[str, tuple[str, ...]]:
    """Choose which generators regenerate each benchmark track, keeping the shares balanced.

    Every clip of a track is regenerated by the track's generators, so an AI version of a track
    is one generator's output throughout (and can be scored per track, as the real one is).
    Tracks are visited per stratum (zero-shot split group, then source) in a seeded order; each
    gets the ``per_clip`` distinct generators furthest below their target share so far (ties
    broken by a seeded draw), so every generator gets a fair share of every split and source.
    On zero-shot test tracks the held-out generators together target ``heldout_test_share`` of
    the AI clips, so the held-out families get enough test clips; on train/val tracks all
    generators share equally (held-out ones become ``excluded`` rows there, used by the
    track-level protocol).

    Parameters
    ----------
    tracks : sequence of (track id, source, zero-shot split)
        The benchmark tracks.
    generators : sequence of (name, family)
        The zoo.
    per_clip : int
        Regenerations of each real clip (capped at the number of generators).
    seed : int
        Drives the order and tie-breaks.
    heldout_families : sequence of str
        Families held out of train/val.
    heldout_test_share : float
        Target share of held-out generators among test AI clips (0-1).

    Returns
    -------
    dict track id -> tuple of generator names (sorted)
    """
    names = sorted(name for name, _ in generators)
    family = dict(generators)
    k = min(per_clip, len(names))
    held = [g for g in names if family[g] in set(heldout_families)]
    seen = [g for g in names if g not in held]
    weights_by_group: dict[str, dict[str, float]] = {"trainval": dict.fromkeys(names, 1.0)}
    if held and seen:
        test_w = {g: heldout_test_share / len(held) for g in held}
        test_w.update({g: (1.0 - heldout_test_share) / len(seen) for g in seen})
        weights_by_group["test"] = test_w
    else:
        weights_by_group["test"] = dict.fromkeys(names, 1.0)
    out: dict[str, tuple[str, ...]] = {}
    for group in ("trainval", "test"):
        weights = weights_by_group[group]
        total_w = sum(weights.values())
        counts = dict.fromkeys(names, 0)
        assigned = 0
        members = [c for c in tracks if (c[2] == "test") == (group == "test")]
        by_source: dict[str, list[str]] = {}
        for clip_id, source, _ in members:
            by_source.setdefault(source, []).append(clip_id)
        for source in sorted(by_source):
            ids = sorted(by_source[source])
            _rng("assign-order", seed, group, source).shuffle(ids)
            for clip_id in ids:
                tie = _rng("assign-tie", seed, clip_id)
                jitter = {g: tie.random() for g in names}
                target = assigned + k
                deficit = {g: weights[g] / total_w * target - counts[g] for g in names}
                pick = sorted(names, key=lambda g: (-deficit[g], jitter[g]))[:k]
                for g in pick:
                    counts[g] += 1
                assigned += k
                out[clip_id] = tuple(sorted(pick))
    return out


def validation_family(df, heldout_families: Sequence[str]) -> str | None:
    """A seen family kept out of *training* so that validation has an unseen generator family.

    Model choices (the UNet objective, thresholds) are made on it, never on the test families;
    the shortcut probe and the baselines leave it out of training too. It is the least
    represented seen family among the zero-shot train AI clips (leaving it out costs the least
    training data; ties by name); ``None`` when fewer than two seen families are left.

    Parameters
    ----------
    df : pandas.DataFrame
        The manifest.
    heldout_families : sequence of str
        Families held out of train/val.
    """
    train_ai = df[(df["split"] == "train") & (df["label"] == "ai")]
    families = sorted(set(train_ai["family"]) - set(heldout_families))
    if len(families) < 2:
        return None
    counts = train_ai["family"].value_counts()
    return min(families, key=lambda f: (counts.get(f, 0), f))
