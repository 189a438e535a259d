"""Seeded, recorded randomisation of a participant's trials (plain Python, no Django).

A session's plan says which tracks the participant hears, in which order, and in
which order each trial presents its conditions (which condition becomes "A", "B",
...). It is drawn once from a seed with :class:`random.Random`, stored with the
session as JSON, and replayed on every reload, so a resumed session sees exactly
the same pages.

Balance across participants:

* exposure: when each participant hears only ``k`` of the study's ``n`` tracks, the
  ``k`` tracks heard least so far are chosen (ties broken by the seeded generator),
  so every track's exposure count stays within one of the others';
* positions: by default the track order and each trial's condition order are
  uniformly random permutations (every ordering can occur; positions are balanced
  in expectation). Given the participant's ordinal number, positions follow rows of
  a Williams balanced Latin square instead: the track order takes row
  ``participant_index`` and each trial's condition order takes the row numbered by
  how many earlier participants heard that track, so over every block of ``m``
  listeners of a track (``2m`` for odd ``m``) each of its ``m`` conditions sits in
  each position equally often and each one follows each other one equally often
  (first-order carry-over), whatever subset of tracks each listener hears.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

PLAN_VERSION = 1


def williams_square(n: int) -> list[list[int]]:
    """Return the rows of a Williams balanced Latin square of order ``n``.

    Every item appears once in every position per ``n`` rows (``2n`` rows for odd
    ``n``, the square and its mirror), and every ordered pair of different items is
    adjacent equally often.
    """
    if n < 1:
        raise ValueError(f"n={n!r} must be at least 1")
    first: list[int] = []
    low, high = 0, n - 1
    for j in range(n):
        if j % 2 == 0:
            first.append(low)
            low += 1
        else:
            first.append(high)
            high -= 1
    rows = [[(item + r) % n for item in first] for r in range(n)]
    if n % 2:
        rows += [row[::-1] for row in rows]
    return rows


def choose_tracks(
    track_ids: Sequence[Hashable],
    k: int,
    exposures: Mapping[Hashable, int],
    rng: random.Random,
) -> list[Hashable]:
    """Choose the ``k`` least-exposed tracks, breaking ties with ``rng``.

    Returns them in the study's order (``track_ids``), for the caller to arrange.
    """
    tiebreak = {track: rng.random() for track in track_ids}
    ranked = sorted(track_ids, key=lambda t: (exposures.get(t, 0), tiebreak[t]))
    chosen = set(ranked[:k])
    return [track for track in track_ids if track in chosen]


def _arrange(items: Sequence[Any], rng: random.Random, row: Sequence[int] | None) -> list[Any]:
    """Permute ``items`` uniformly at random, or along one Latin-square row."""
    if row is None:
        shuffled = list(items)
        rng.shuffle(shuffled)
        return shuffled
    return [items[i] for i in row]


def _validate(
    track_ids: Sequence[Hashable],
    conditions_by_track: Mapping[Hashable, Sequence[Hashable]],
    k: int | None,
    exposures: Mapping[Hashable, int],
    participant_index: int | None,
) -> int:
    if not track_ids:
        raise ValueError("track_ids is empty: the study has no tracks")
    if len(set(track_ids)) != len(track_ids):
        raise ValueError(f"track_ids={list(track_ids)!r} holds duplicates")
    n = len(track_ids)
    if k is None:
        k = n
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
        raise ValueError(f"k={k!r} must be an integer in 1..{n} (the number of tracks)")
    for track in track_ids:
        conditions = conditions_by_track.get(track)
        if not conditions:
            raise ValueError(f"track {track!r} has no conditions in conditions_by_track")
        if len(set(conditions)) != len(conditions):
            raise ValueError(f"track {track!r} lists a condition twice: {list(conditions)!r}")
    for track, count in exposures.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"exposures[{track!r}]={count!r} must be a count >= 0")
    if participant_index is not None and (
        isinstance(participant_index, bool)
        or not isinstance(participant_index, int)
        or participant_index < 0
    ):
        raise ValueError(f"participant_index={participant_index!r} must be an integer >= 0")
    return k


def plan_session(
    track_ids: Sequence[Hashable],
    conditions_by_track: Mapping[Hashable, Sequence[Hashable]],
    k: int | None,
    exposures: Mapping[Hashable, int],
    seed: int,
    *,
    participant_index: int | None = None,
) -> dict[str, Any]:
    """Draw a participant's plan: which tracks, in which order, with which condition order.

    Parameters are the study's tracks in a stable order (e.g. by primary key), each
    track's conditions in a stable order (opaque ids: stimulus pks), how many tracks
    this participant hears (``None`` for all), how often each track has been given
    to earlier participants, and the session's seed. ``participant_index`` (the
    number of sessions planned before this one) switches positions from uniformly
    random to Williams balanced Latin-square rows (see the module docstring); the
    exact balance then relies on ``exposures`` and the index being up to date, so
    leave it ``None`` when sessions are planned concurrently without a reliable count.

    Return a JSON-serialisable dict::

        {"version": 1, "seed": 7, "k": 3, "participant_index": None,
         "track_order": [4, 1, 9],
         "condition_order": [[12, 10, 11], [3, 1, 2], [30, 31, 32]]}

    where ``condition_order[i]`` is the presentation order of ``track_order[i]``'s
    conditions (the first gets label "A"). Ids are returned as given, so use JSON-safe
    ids (ints or strings) to store the plan as JSON.
    """
    k = _validate(track_ids, conditions_by_track, k, exposures, participant_index)
    rng = random.Random(seed)
    chosen = choose_tracks(track_ids, k, exposures, rng)

    track_row = None
    if participant_index is not None:
        rows = williams_square(len(chosen))
        track_row = rows[participant_index % len(rows)]
    track_order = _arrange(chosen, rng, track_row)

    condition_order = []
    for track in track_order:
        conditions = list(conditions_by_track[track])
        row = None
        if participant_index is not None:
            rows = williams_square(len(conditions))
            row = rows[exposures.get(track, 0) % len(rows)]
        condition_order.append(_arrange(conditions, rng, row))

    return {
        "version": PLAN_VERSION,
        "seed": seed,
        "k": k,
        "participant_index": participant_index,
        "track_order": track_order,
        "condition_order": condition_order,
    }


def count_exposures(plans: Sequence[Mapping[str, Any]]) -> dict[Hashable, int]:
    """Count how many of ``plans`` include each track (the ``exposures`` of the next plan)."""
    counts: dict[Hashable, int] = {}
    for plan in plans:
        for track in plan["track_order"]:
            counts[track] = counts.get(track, 0) + 1
    return counts
