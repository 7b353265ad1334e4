"""Who goes where: generator-training tracks, the two split protocols, clip counts per track and
which generators regenerate which clip. Everything is a pure function of its inputs and the seed.

- **Generator-training partition**: a few tracks of every source train the neural generators and
  are used nowhere else (never in the manifest).
- **Zero-shot protocol** (``split``): the tracks of the held-out real source(s) all go to
  ``test``; the other sources' tracks are split train/val/test per source. AI clips of held-out
  generator families that fall on train/val tracks are marked ``excluded``.
- **Track-level protocol** (``split_track``, the paper's): every benchmark track is split
  train/val/test per source, independently; every source and generator appears in train.
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
    """The role of every track: ``gentrain`` tracks, and ``split`` / ``split_track`` of the rest."""

    gentrain: tuple[str, ...]
    split: Mapping[str, str]            # zero-shot protocol: track id -> train|val|test
    split_track: Mapping[str, str]      # track-level protocol: track id -> train|val|test


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


def _split_tracks(track_ids: Sequence[str], *, rng: random.Random, val_fraction: float,
                  test_fraction: float) -> dict[str, str]:
    ids = sorted(track_ids)
    rng.shuffle(ids)
    n_train, n_val, _ = split_counts(len(ids), val_fraction=val_fraction,
                                     test_fraction=test_fraction)
    return {t: ("train" if i < n_train else "val" if i < n_train + n_val else "test")
            for i, t in enumerate(ids)}


def plan_tracks(tracks_by_source: Mapping[str, Sequence[str]], *, seed: int,
                gentrain_fraction: float, heldout_sources: Sequence[str],
                val_fraction: float, test_fraction: float,
                min_tracks_for_gentrain: int = 4) -> TrackPlan:
    """Partition every source's tracks into generator-training and benchmark tracks and split
    the benchmark tracks under both protocols.

    Parameters
    ----------
    tracks_by_source : mapping source -> track ids
        The usable tracks (long enough for at least one clip).
    seed : int
        Drives every shuffle.
    gentrain_fraction : float
        Share of each source's tracks reserved for training the generators (at least one when
        the source has ``min_tracks_for_gentrain`` tracks or more, none otherwise).
    heldout_sources : sequence of str
        Real sources whose benchmark tracks are all ``test`` in the zero-shot protocol.
    val_fraction, test_fraction : float
        Shares of each source's benchmark tracks for val and test.
    """
    gentrain: list[str] = []
    split: dict[str, str] = {}
    split_track: dict[str, str] = {}
    for source in sorted(tracks_by_source):
        ids = sorted(set(tracks_by_source[source]))
        _rng("gentrain", seed, source).shuffle(ids)
        n_gen = 0
        if len(ids) >= min_tracks_for_gentrain:
            n_gen = max(1, round(len(ids) * gentrain_fraction))
        gentrain.extend(ids[:n_gen])
        bench = ids[n_gen:]
        if source in heldout_sources:
            split.update(dict.fromkeys(bench, "test"))
        else:
            split.update(_split_tracks(bench, rng=_rng("split", seed, source),
                                       val_fraction=val_fraction, test_fraction=test_fraction))
        split_track.update(_split_tracks(bench, rng=_rng("split_track", seed, source),
                                         val_fraction=val_fraction, test_fraction=test_fraction))
    return TrackPlan(tuple(sorted(gentrain)), split, split_track)


def allocate_clips(capacity: Mapping[str, int], *, total: int) -> dict[str, int]:
    """Spread ``total`` clips over tracks as evenly as their capacities allow (water-filling).

    ``capacity[track]`` is how many clips the track can give (its length in clips, capped by
    the profile). Tracks are served round-robin in sorted order, one clip at a time.
    """
    counts = dict.fromkeys(sorted(capacity), 0)
    remaining = total
    while remaining > 0:
        open_tracks = [t for t in counts if counts[t] < capacity[t]]
        if not open_tracks:
            break
        for t in open_tracks:
            if remaining == 0:
                break
            counts[t] += 1
            remaining -= 1
    return counts


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


def assign_generators(clips: Sequence[tuple[str, str, str]],
                      generators: Sequence[tuple[str, str]], *, per_clip: int, seed: int,
                      heldout_families: Sequence[str] = (),
                      heldout_test_share: float = 0.5) -> dict[str, tuple[str, ...]]:
    """Choose which generators regenerate each benchmark clip, keeping the shares balanced.

    Clips are visited per stratum (zero-shot split group, then source) in a seeded order; each
    gets the ``per_clip`` distinct generators furthest below their target share so far (ties
    broken by a seeded draw), so every generator gets a fair share of every split and source.
    On zero-shot test tracks the held-out generators together target ``heldout_test_share`` of
    the AI clips, so the held-out families get enough test clips; on train/val tracks all
    generators share equally (held-out ones become ``excluded`` rows there, used by the
    track-level protocol).

    Parameters
    ----------
    clips : sequence of (clip id, source, zero-shot split)
        The benchmark real clips.
    generators : sequence of (name, family)
        The zoo.
    per_clip : int
        Regenerations per real clip (capped at the number of generators).
    seed : int
        Drives the order and tie-breaks.
    heldout_families : sequence of str
        Families held out of train/val.
    heldout_test_share : float
        Target share of held-out generators among test AI clips (0-1).

    Returns
    -------
    dict clip id -> tuple of generator names (sorted)
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
        members = [c for c in clips if (c[2] == "test") == (group == "test")]
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
