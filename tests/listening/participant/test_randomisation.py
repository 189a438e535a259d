"""Seeded plans of trial and condition order (no database needed)."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter

import pytest
from scipy import stats

from listening.participant.randomisation import (
    choose_tracks,
    count_exposures,
    plan_session,
    williams_square,
)

TRACKS = list(range(1, 11))
CONDITIONS = {t: [t * 100 + c for c in range(5)] for t in TRACKS}


def simulate(participants, k, *, latin=False, tracks=TRACKS, conditions=CONDITIONS):
    """Plan sessions one after another, each seeing the plans made before it."""
    plans = []
    for i in range(participants):
        plans.append(
            plan_session(
                tracks,
                conditions,
                k,
                plans,
                seed=10_000 + i,
                balancing="balanced" if latin else "random",
            )
        )
    return plans


def earlier(exposures):
    """Earlier random plans that give each track the exposure ``exposures`` names."""
    return [
        {"track_order": [t for t, n in exposures.items() if n > i]}
        for i in range(max(exposures.values(), default=0))
    ]


def test_it_is_reproducible_from_the_seed_and_json_safe():
    before = earlier({1: 4, 2: 4})
    assert count_exposures(before) == {1: 4, 2: 4}
    plan = plan_session(TRACKS, CONDITIONS, 3, before, seed=7)
    assert plan == plan_session(TRACKS, CONDITIONS, 3, before, seed=7)
    assert not {1, 2} & set(plan["track_order"])  # the least heard are chosen
    assert json.loads(json.dumps(plan)) == plan
    assert plan["seed"] == 7
    assert plan["k"] == 3
    assert len(plan["track_order"]) == 3
    for track, order in zip(plan["track_order"], plan["condition_order"], strict=True):
        assert sorted(order) == CONDITIONS[track]
    others = [plan_session(TRACKS, CONDITIONS, 3, [], seed=s) for s in range(20)]
    assert len({json.dumps(p["condition_order"]) for p in others}) > 1


def test_string_ids_and_all_tracks_by_default():
    conditions = {"x": ["k1", "k2"], "y": ["k3", "k4"]}
    plan = plan_session(["x", "y"], conditions, None, [], seed=1)
    assert sorted(plan["track_order"]) == ["x", "y"]
    assert plan["k"] == 2


@pytest.mark.parametrize("balancing", ["random", "balanced"])
def test_every_permutation_is_reachable(balancing):
    tracks = ["t1", "t2", "t3"]
    conditions = {t: [f"{t}-{c}" for c in "abcd"] for t in tracks}
    track_orders, condition_orders = set(), set()
    for seed in range(1500):
        plan = plan_session(tracks, conditions, 3, [], seed, balancing=balancing)
        track_orders.add(tuple(plan["track_order"]))
        index = plan["track_order"].index("t1")
        condition_orders.add(tuple(plan["condition_order"][index]))
    if balancing == "random":
        assert track_orders == set(itertools.permutations(tracks))
    # Balanced: a block's square is relabelled by a uniform permutation, so any order
    # of the versions can come up, not only the 4 rows of one fixed square.
    assert condition_orders == set(itertools.permutations(conditions["t1"]))


def test_exposure_stays_within_one_over_600_participants():
    plans = simulate(600, 3)
    exposure = Counter()
    for plan in plans:
        exposure.update(plan["track_order"])
        assert max(exposure.values()) - min(exposure[t] for t in TRACKS) <= 1
    assert exposure == dict.fromkeys(TRACKS, 180)


def test_ties_are_broken_by_the_seed():
    first_picks = Counter(
        t
        for seed in range(1000)
        for t in plan_session(TRACKS, CONDITIONS, 3, [], seed)["track_order"]
    )
    assert set(first_picks) == set(TRACKS)
    assert stats.chisquare([first_picks[t] for t in TRACKS]).pvalue > 0.01
    chosen = choose_tracks(TRACKS, 2, {t: 5 for t in TRACKS if t not in (4, 8)}, random.Random(0))
    assert chosen == [4, 8]


@pytest.mark.parametrize("latin", [False, True])
def test_condition_and_track_positions_are_balanced(latin):
    plans = simulate(600, 3, latin=latin)
    track_positions = {t: Counter() for t in TRACKS}
    condition_positions = {c: Counter() for cs in CONDITIONS.values() for c in cs}
    for plan in plans:
        for position, (track, order) in enumerate(
            zip(plan["track_order"], plan["condition_order"], strict=True)
        ):
            track_positions[track][position] += 1
            for slot, condition in enumerate(order):
                condition_positions[condition][slot] += 1
    # Each condition's positions are an exact multinomial sample (one uniform position
    # per listener). Pool one condition per track (independent across tracks) into a
    # single test, and bound every row with Bonferroni, so 50 tests do not add false
    # alarms; a contingency test would be wrong here, as each listener fills all slots.
    firsts = [
        stats.chisquare([condition_positions[CONDITIONS[t][0]][p] for p in range(5)])
        for t in TRACKS
    ]
    assert stats.chi2.sf(sum(r.statistic for r in firsts), 4 * len(TRACKS)) > 0.01
    for counts in condition_positions.values():
        assert stats.chisquare([counts[p] for p in range(5)]).pvalue > 0.01 / len(
            condition_positions
        )
    for counts in track_positions.values():
        assert stats.chisquare([counts[p] for p in range(3)]).pvalue > 0.01 / len(TRACKS)
    if latin:  # 180 listeners per track, 5 conditions: rows cycle every 10 listeners
        for counts in condition_positions.values():
            assert set(counts.values()) == {36}


@pytest.mark.parametrize("n", range(1, 8))
def test_williams_square_is_balanced(n):
    rows = williams_square(n)
    assert len(rows) == (2 * n if n % 2 else n)
    for row in rows:
        assert sorted(row) == list(range(n))
    per_position = [Counter(row[p] for row in rows) for p in range(n)]
    assert all(set(c.values()) == {len(rows) // n} for c in per_position)
    if n > 1:
        pairs = Counter((a, b) for row in rows for a, b in itertools.pairwise(row))
        assert len(pairs) == n * (n - 1)
        assert len(set(pairs.values())) == 1  # each ordered pair adjacent equally often


def test_latin_mode_balances_carry_over_per_track():
    plans = simulate(100, 3, latin=True)  # 30 listeners of each track: 3 blocks of 10
    pairs = Counter()
    for plan in plans:
        for track, order in zip(plan["track_order"], plan["condition_order"], strict=True):
            if track == 1:
                pairs.update(itertools.pairwise(order))
    assert len(pairs) == 20  # every ordered pair of the 5 conditions of track 1
    assert len(set(pairs.values())) == 1


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([], {}, 1, [], 0), "no tracks"),
        (([1, 1], {1: [1]}, 1, [], 0), "duplicates"),
        (([1, 2], {1: [1], 2: [2]}, 3, [], 0), "k=3"),
        (([1, 2], {1: [1], 2: [2]}, 0, [], 0), "k=0"),
        (([1, 2], {1: [1]}, 1, [], 0), "track 2 has no conditions"),
        (([1], {1: [5, 5]}, 1, [], 0), "twice"),
        (([1], {1: [5]}, 1, [{"seed": 3}], 0), "no track_order"),
    ],
)
def test_it_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        plan_session(*args)
    with pytest.raises(ValueError, match="balancing='latin'"):
        plan_session([1], {1: [5]}, 1, [], 0, balancing="latin")


def test_balanced_blocks_survive_changed_versions_and_older_plans():
    conditions = {1: [10, 11, 12, 13]}
    old = {"version": 1, "track_order": [1], "condition_order": [[10, 11, 12, 13]]}
    plans = [old]
    for seed in range(8):
        plans.append(plan_session([1], conditions, None, plans, seed))
    squares = [p["squares"][0] for p in plans[1:]]
    assert [s["block"] for s in squares] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert sorted(s["row"] for s in squares[:4]) == [0, 1, 2, 3]
    assert len({tuple(s["labels"]) for s in squares[:4]}) == 1
    # The track's versions changed (one re-prepared under a new id): a new block begins.
    changed = {1: [10, 11, 12, 14]}
    plan = plan_session([1], changed, None, plans, 99)
    assert plan["squares"][0]["block"] == 0
    assert sorted(plan["squares"][0]["labels"]) == [10, 11, 12, 14]
