"""Score detected beats against reference annotations (ANSI/AAMI EC57 style).

A detection matches a reference beat when they lie within ``tolerance_samples`` of each
other (50 ms is the usual tolerance, i.e. 18 samples at 360 Hz). Matching is one-to-one:
candidate pairs are taken nearest first, so each reference beat matches at most one
detection and vice versa. Unmatched reference beats are false negatives (FN), unmatched
detections false positives (FP).

EC57 does not count detections inside ventricular flutter/fibrillation episodes as false
positives; :func:`vfl_episodes` and :func:`vfl_mask` find those episodes in MIT-BIH rhythm
annotations so a caller can report both the strict and the EC57 figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BEAT_SYMBOLS: frozenset[str] = frozenset("NLRBAaJSVrFejnE/fQ?")
"""MIT-BIH annotation codes that mark a beat (QRS complex); '!', '+', '~', '|' etc. do not."""

VFL_RHYTHM = "(VFL"
"""Aux note of the rhythm annotation ('+') that opens a ventricular flutter episode."""


@dataclass(frozen=True, eq=False)
class Match:
    """One-to-one matching of detected beats to reference beats.

    All arrays are int64 indices into the ``reference`` or ``detected`` arrays given to
    :func:`match_beats` (not sample numbers).
    """

    matched_reference: np.ndarray  # index of the reference beat of each matched pair
    matched_detected: np.ndarray  # index of the detection of each pair, same order
    missed: np.ndarray  # indices of unmatched reference beats (false negatives)
    extra: np.ndarray  # indices of unmatched detections (false positives)

    @property
    def tp(self) -> int:
        """True positives: matched pairs."""
        return int(self.matched_reference.size)

    @property
    def fn(self) -> int:
        """False negatives: reference beats without a detection."""
        return int(self.missed.size)

    @property
    def fp(self) -> int:
        """False positives: detections without a reference beat."""
        return int(self.extra.size)


def match_beats(reference: np.ndarray, detected: np.ndarray, tolerance_samples: int) -> Match:
    """Match detections to reference beats one-to-one within a tolerance, nearest first.

    Parameters
    ----------
    reference : np.ndarray
        Reference beat positions, samples (integers, any order, duplicates allowed).
    detected : np.ndarray
        Detected beat positions, samples, on the same time base.
    tolerance_samples : int
        Largest allowed ``|reference - detected|``, samples (inclusive), >= 0.

    Returns
    -------
    Match
        Matched index pairs (in time order of the reference beats) and unmatched
        indices (ascending). Pairs are chosen greedily in order of increasing distance
        (ties: earlier reference beat, then earlier detection); O(n log n) in the
        number of beats.
    """
    if tolerance_samples < 0:
        raise ValueError(f"tolerance_samples must be >= 0, got {tolerance_samples!r}")
    ref = np.asarray(reference, dtype=np.int64).ravel()
    det = np.asarray(detected, dtype=np.int64).ravel()
    ref_order = np.argsort(ref, kind="stable")
    det_order = np.argsort(det, kind="stable")
    ref_sorted, det_sorted = ref[ref_order], det[det_order]

    # All candidate pairs (i in ref_sorted, j in det_sorted) with |ref - det| <= tolerance.
    lo = np.searchsorted(det_sorted, ref_sorted - tolerance_samples, side="left")
    hi = np.searchsorted(det_sorted, ref_sorted + tolerance_samples, side="right")
    counts = hi - lo
    pair_ref = np.repeat(np.arange(ref_sorted.size), counts)
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    pair_det = starts + np.arange(pair_ref.size)
    distance = np.abs(ref_sorted[pair_ref] - det_sorted[pair_det])
    order = np.lexsort((pair_det, pair_ref, distance))

    ref_used = np.zeros(ref_sorted.size, dtype=bool)
    det_used = np.zeros(det_sorted.size, dtype=bool)
    chosen = np.zeros(pair_ref.size, dtype=bool)
    for k in order.tolist():  # pairs are few: about one per reference beat
        i, j = pair_ref[k], pair_det[k]
        if not (ref_used[i] or det_used[j]):
            ref_used[i] = det_used[j] = chosen[k] = True

    return Match(
        matched_reference=ref_order[pair_ref[chosen]],
        matched_detected=det_order[pair_det[chosen]],
        missed=np.sort(ref_order[~ref_used]),
        extra=np.sort(det_order[~det_used]),
    )


def vfl_episodes(
    ann_samples: np.ndarray, ann_symbols: np.ndarray, aux_notes: np.ndarray, n_samples: int
) -> np.ndarray:
    """Sample ranges of ventricular flutter episodes from MIT-BIH rhythm annotations.

    An episode starts at a rhythm annotation ('+') whose aux note is '(VFL' and ends at
    the next rhythm annotation, or at the end of the record.

    Parameters
    ----------
    ann_samples : np.ndarray
        Annotation positions, samples, ascending.
    ann_symbols, aux_notes : np.ndarray
        Annotation codes and aux notes ('' when absent), one per annotation.
    n_samples : int
        Record length, samples.

    Returns
    -------
    np.ndarray
        int64 array of shape (n_episodes, 2): ``[start, stop)`` samples of each episode.
    """
    samples = np.asarray(ann_samples, dtype=np.int64)
    rhythm = np.flatnonzero(np.asarray(ann_symbols) == "+")
    notes = [str(note).strip("\x00 ") for note in np.asarray(aux_notes)[rhythm]]
    episodes = []
    for k, note in enumerate(notes):
        if note == VFL_RHYTHM:
            stop = samples[rhythm[k + 1]] if k + 1 < rhythm.size else n_samples
            episodes.append((samples[rhythm[k]], stop))
    return np.array(episodes, dtype=np.int64).reshape(-1, 2)


def vfl_mask(samples: np.ndarray, episodes: np.ndarray) -> np.ndarray:
    """Boolean mask: which ``samples`` fall inside one of the ``[start, stop)`` episodes.

    Parameters
    ----------
    samples : np.ndarray
        Positions to test, samples.
    episodes : np.ndarray
        Shape (n_episodes, 2), ``[start, stop)`` samples, non-overlapping, ascending
        (as returned by :func:`vfl_episodes`).

    Returns
    -------
    np.ndarray
        bool array shaped like ``samples``.
    """
    positions = np.asarray(samples, dtype=np.int64)
    if episodes.size == 0:
        return np.zeros(positions.shape, dtype=bool)
    k = np.searchsorted(episodes[:, 0], positions, side="right") - 1
    inside = positions < episodes[np.maximum(k, 0), 1]
    return (k >= 0) & inside
