"""Seeded, recorded randomisation of a participant's trials (plain Python, no Django).

A session's plan says which tracks the participant hears, in which order, and in
which order each trial presents its conditions (which condition becomes "A", "B",
...). It is drawn once from a seed with :class:`random.Random`, stored with the
session as JSON, and replayed on every reload, so a resumed session sees exactly
the same pages.

Which tracks: when each participant hears only ``k`` of the study's ``n`` tracks, the
``k`` tracks heard least so far are chosen (ties broken by the seeded generator), so
every track's exposure count stays within one of the others'.

Every trial draws its own condition order, independently of the session's other
trials, so no letter names one version through a session. How (the study's
``balancing``):

* ``random``: the track order and each trial's condition order are uniformly random
  permutations; positions are balanced across sessions in expectation.
* ``balanced``: the track order is row ``participant_index`` of a Williams balanced
  Latin square. Each track's listeners are taken in blocks of ``R`` (the square's
  rows: ``m`` for ``m`` conditions, ``2m`` when ``m`` is odd); a block has its own
  Williams square, relabelled by a random permutation of the track's conditions drawn
  by the block's first listener, and each listener of the block takes one of its rows
  not yet taken, at random. Over every complete block each condition sits in each
  position equally often and follows each other condition equally often (first-order
  carry-over). Each single order is still uniform over all ``m!`` orders (the
  relabelling is uniform and secret), and the rows of a session's trials are drawn
  independently, so spotting one version (an anchor, say) tells nothing about the
  other letters of that trial or about any other trial.

The blocks are read from the earlier sessions' plans (``previous``), which record the
relabelled square and the row of every trial.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

PLAN_VERSION = 2
BALANCED = "balanced"
RANDOM = "random"
BALANCING = (BALANCED, RANDOM)


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


def _shuffled(items: Sequence[Any], rng: random.Random) -> list[Any]:
    shuffled = list(items)
    rng.shuffle(shuffled)
    return shuffled


def _validate(
    track_ids: Sequence[Hashable],
    conditions_by_track: Mapping[Hashable, Sequence[Hashable]],
    k: int | None,
    previous: Sequence[Mapping[str, Any]],
    balancing: str,
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
    if balancing not in BALANCING:
        raise ValueError(f"balancing={balancing!r} must be one of {list(BALANCING)}")
    for plan in previous:
        if not isinstance(plan, Mapping) or not isinstance(plan.get("track_order"), list):
            raise ValueError(f"previous plan {plan!r} has no track_order list")
    return k


Squares = dict[Hashable, list[Mapping[str, Any]]]


def recorded_squares(previous: Sequence[Mapping[str, Any]]) -> Squares:
    """Collect the Williams records of the earlier plans per track (one pass over them)."""
    found: Squares = {}
    for plan in previous:
        squares = plan.get("squares")
        if not isinstance(squares, list):
            continue  # a random plan, or one from before the squares were recorded
        for track, square in zip(plan["track_order"], squares, strict=False):
            if isinstance(square, Mapping):
                found.setdefault(track, []).append(square)
    return found


def _current_block(
    records: Sequence[Mapping[str, Any]], conditions: Sequence[Hashable]
) -> tuple[int, list[Any], set[int]]:
    """The track's current block: its number, its labels and the rows already taken.

    Records made for another set of conditions (the track's versions changed since)
    are ignored. Block -1: there is none yet.
    """
    block, labels, taken = -1, [], set[int]()
    wanted = sorted(map(repr, conditions))
    for square in records:
        entry_labels, number, row = square.get("labels"), square.get("block"), square.get("row")
        if not isinstance(entry_labels, list) or sorted(map(repr, entry_labels)) != wanted:
            continue
        if isinstance(number, bool) or not isinstance(number, int) or not isinstance(row, int):
            continue
        if number > block:
            block, labels, taken = number, entry_labels, set()
        if number == block:
            taken.add(row)
    return block, labels, taken


def balanced_order(
    conditions: Sequence[Hashable],
    records: Sequence[Mapping[str, Any]],
    rng: random.Random,
) -> tuple[list[Any], dict[str, Any]]:
    """Draw one trial's order from its track's current Williams block (see the module doc).

    ``records`` are the track's earlier records (:func:`recorded_squares`). Return the
    order and the record the plan keeps of it (block, labels, row).
    """
    rows = williams_square(len(conditions))
    block, labels, taken = _current_block(records, conditions)
    if block < 0 or len(taken) >= len(rows):
        # A new block: a new secret relabelling of the square by this session's generator.
        block, labels, taken = block + 1, _shuffled(conditions, rng), set()
    row = rng.choice([r for r in range(len(rows)) if r not in taken])
    order = [labels[i] for i in rows[row]]
    return order, {"block": block, "labels": list(labels), "row": row}


def plan_session(
    track_ids: Sequence[Hashable],
    conditions_by_track: Mapping[Hashable, Sequence[Hashable]],
    k: int | None,
    previous: Sequence[Mapping[str, Any]],
    seed: int,
    *,
    balancing: str = BALANCED,
) -> dict[str, Any]:
    """Draw a participant's plan: which tracks, in which order, with which condition orders.

    Parameters are the study's tracks in a stable order (e.g. by primary key), each
    track's conditions in a stable order (opaque ids: stimulus pks), how many tracks
    this participant hears (``None`` for all), the plans of the sessions planned before
    this one (for exposures and the balanced blocks; plan sessions one at a time, as
    ``flow.build_trials`` does under a lock) and the session's seed. ``balancing``
    is ``"balanced"`` (Williams squares) or ``"random"`` (uniform permutations).

    Return a JSON-serialisable dict::

        {"version": 2, "seed": 7, "k": 3, "balancing": "balanced",
         "participant_index": 12,
         "track_order": [4, 1, 9],
         "condition_order": [[12, 10, 11], [3, 1, 2], [30, 31, 32]],
         "squares": [{"block": 3, "labels": [11, 12, 10], "row": 1}, ...]}

    where ``condition_order[i]`` is the presentation order of ``track_order[i]``'s
    conditions (the first gets label "A") and ``squares[i]`` records its Williams
    block (balanced plans only; ``participant_index`` is None in random plans). Ids
    are returned as given, so use JSON-safe ids (ints or strings).
    """
    k = _validate(track_ids, conditions_by_track, k, previous, balancing)
    rng = random.Random(seed)
    chosen = choose_tracks(track_ids, k, count_exposures(previous), rng)
    plan: dict[str, Any] = {"version": PLAN_VERSION, "seed": seed, "k": k, "balancing": balancing}
    if balancing == RANDOM:
        track_order = _shuffled(chosen, rng)
        plan.update(
            participant_index=None,
            track_order=track_order,
            condition_order=[_shuffled(conditions_by_track[t], rng) for t in track_order],
        )
        return plan

    index = len(previous)
    rows = williams_square(len(chosen))
    track_order = [chosen[i] for i in rows[index % len(rows)]]
    records = recorded_squares(previous)
    condition_order, squares = [], []
    for track in track_order:
        order, square = balanced_order(conditions_by_track[track], records.get(track, []), rng)
        condition_order.append(order)
        squares.append(square)
    plan.update(
        participant_index=index,
        track_order=track_order,
        condition_order=condition_order,
        squares=squares,
    )
    return plan


def count_exposures(plans: Sequence[Mapping[str, Any]]) -> dict[Hashable, int]:
    """Count how many of ``plans`` include each track (the exposures of the next plan)."""
    counts: dict[Hashable, int] = {}
    for plan in plans:
        for track in plan["track_order"]:
            counts[track] = counts.get(track, 0) + 1
    return counts
