"""One-to-one beat matching, beat codes and ventricular flutter episodes, on hand-made arrays."""

from __future__ import annotations

import numpy as np
import pytest

from beatwatch.beat_matching import BEAT_SYMBOLS, match_beats, vfl_episodes, vfl_mask


def _pairs(match) -> set[tuple[int, int]]:
    return set(zip(match.matched_reference.tolist(), match.matched_detected.tolist(), strict=True))


def test_counts_hits_misses_and_extras() -> None:
    reference = np.array([100, 200, 300])
    detected = np.array([102, 250, 299, 306])
    match = match_beats(reference, detected, tolerance_samples=5)
    assert (match.tp, match.fp, match.fn) == (2, 2, 1)
    assert _pairs(match) == {(0, 0), (2, 2)}
    assert match.missed.tolist() == [1]  # 200: nothing within 5 samples
    assert match.extra.tolist() == [1, 3]  # 250 and 306 (300 is taken by 299)


def test_tolerance_is_inclusive() -> None:
    match = match_beats(np.array([100, 200]), np.array([105, 206]), tolerance_samples=5)
    assert (match.tp, match.fp, match.fn) == (1, 1, 1)
    assert _pairs(match) == {(0, 0)}


def test_each_beat_matches_at_most_one_detection_and_vice_versa() -> None:
    doubled = match_beats(np.array([100]), np.array([99, 101]), tolerance_samples=5)
    assert (doubled.tp, doubled.fp, doubled.fn) == (1, 1, 0)
    shared = match_beats(np.array([98, 102]), np.array([100]), tolerance_samples=5)
    assert (shared.tp, shared.fp, shared.fn) == (1, 0, 1)


def test_nearest_pair_is_matched_first() -> None:
    match = match_beats(np.array([100, 110]), np.array([106]), tolerance_samples=10)
    assert _pairs(match) == {(1, 0)}  # 110 is 4 samples away, 100 is 6
    chain = match_beats(np.array([0, 10, 20]), np.array([4, 15]), tolerance_samples=6)
    # distances: (0,4)=4, (10,4)=6, (10,15)=5, (20,15)=5 -> 0-4 first, then 10-15 (tie
    # with 20-15, earlier reference first); 20 is left without a detection.
    assert _pairs(chain) == {(0, 0), (1, 1)}
    assert chain.missed.tolist() == [2]


def test_indices_refer_to_unsorted_inputs() -> None:
    reference = np.array([300, 100, 200])
    detected = np.array([201, 99, 500])
    match = match_beats(reference, detected, tolerance_samples=3)
    assert _pairs(match) == {(1, 1), (2, 0)}
    assert match.missed.tolist() == [0]
    assert match.extra.tolist() == [2]


@pytest.mark.parametrize(
    ("reference", "detected", "counts"),
    [
        ([], [], (0, 0, 0)),
        ([], [5, 10], (0, 2, 0)),
        ([5, 10, 15], [], (0, 0, 3)),
    ],
)
def test_empty_inputs(reference: list[int], detected: list[int], counts: tuple) -> None:
    match = match_beats(np.array(reference, dtype=np.int64), np.array(detected), 18)
    assert (match.tp, match.fp, match.fn) == counts
    assert match.matched_reference.dtype == np.int64


def test_zero_tolerance_needs_exact_positions() -> None:
    match = match_beats(np.array([10, 20, 30]), np.array([10, 21, 30]), tolerance_samples=0)
    assert (match.tp, match.fp, match.fn) == (2, 1, 1)


def test_negative_tolerance_is_rejected() -> None:
    with pytest.raises(ValueError, match="tolerance_samples"):
        match_beats(np.array([1]), np.array([1]), tolerance_samples=-1)


def _greedy_reference(reference: np.ndarray, detected: np.ndarray, tol: int) -> set:
    """Plain O(n^2) nearest-first matching (ties: earlier beat, then earlier detection)."""
    pairs = sorted(
        (abs(int(r) - int(d)), int(r), int(d), i, j)
        for i, r in enumerate(reference)
        for j, d in enumerate(detected)
        if abs(int(r) - int(d)) <= tol
    )
    used_r, used_d, chosen = set(), set(), set()
    for *_, i, j in pairs:
        if i not in used_r and j not in used_d:
            used_r.add(i)
            used_d.add(j)
            chosen.add((i, j))
    return chosen


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_brute_force_nearest_first_matching(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = np.sort(rng.choice(2000, size=80, replace=False))
    detected = np.concatenate((reference + rng.integers(-12, 13, 80), rng.integers(0, 2000, 20)))
    rng.shuffle(detected)
    match = match_beats(reference, detected, tolerance_samples=10)
    assert _pairs(match) == _greedy_reference(reference, detected, 10)
    assert match.tp + match.fn == reference.size
    assert match.tp + match.fp == detected.size


def test_beat_symbols_are_the_mitbih_beat_codes() -> None:
    assert len(BEAT_SYMBOLS) == 19
    assert {"N", "L", "R", "V", "A", "/", "f", "Q", "E", "!"} - BEAT_SYMBOLS == {"!"}
    assert not {"+", "~", "|", "x", '"', "["} & BEAT_SYMBOLS


def test_vfl_episodes_run_from_vfl_rhythm_to_next_rhythm_change() -> None:
    samples = np.array([10, 100, 120, 150, 400, 500, 700, 900])
    symbols = np.array(["N", "+", "!", "!", "+", "N", "+", "!"])
    aux = np.array(["", "(VFL", "", "", "(N", "", "(VFL\x00", ""])
    episodes = vfl_episodes(samples, symbols, aux, n_samples=1000)
    assert episodes.tolist() == [[100, 400], [700, 1000]]  # the last runs to the end
    mask = vfl_mask(np.array([50, 100, 399, 400, 650, 700, 999]), episodes)
    assert mask.tolist() == [False, True, True, False, False, True, True]


def test_no_vfl_rhythm_means_no_episodes() -> None:
    episodes = vfl_episodes(np.array([5, 50]), np.array(["+", "N"]), np.array(["(N", ""]), 100)
    assert episodes.shape == (0, 2)
    assert not vfl_mask(np.array([5, 50]), episodes).any()
