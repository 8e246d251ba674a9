"""Dinucleotide-preserving shuffles (Altschul & Erickson, 1985) for background sequences."""

from __future__ import annotations

import numpy as np


def _last_edges(sequence: str, rng: np.random.Generator) -> dict[str, str] | None:
    """Pick a random last exit of every letter so that they form a tree into the final letter, or None."""
    successors: dict[str, list[str]] = {}
    for a, b in zip(sequence, sequence[1:]):
        successors.setdefault(a, []).append(b)
    final = sequence[-1]
    last = {letter: options[rng.integers(len(options))] for letter, options in successors.items() if letter != final}
    for letter in last:  # every letter must reach the final letter through last exits
        seen, current = set(), letter
        while current != final:
            if current in seen:
                return None
            seen.add(current)
            current = last[current]
    return last


def dinucleotide_shuffle(sequence: str, rng: np.random.Generator) -> str:
    """Shuffle ``sequence`` keeping its first letter, last letter and every dinucleotide count.

    A uniformly random Eulerian walk through the sequence's dinucleotide graph
    (Altschul & Erickson, 1985), as used for DNABERT-style shuffled negatives.

    Parameters
    ----------
    sequence
        Any string (letters are not interpreted; case is kept).
    rng
        A NumPy random Generator; the same seed gives the same shuffle.
    """
    if len(sequence) < 3:
        return sequence
    last = None
    while last is None:
        last = _last_edges(sequence, rng)
    exits: dict[str, list[str]] = {}
    for a, b in zip(sequence, sequence[1:]):
        exits.setdefault(a, []).append(b)
    for letter, options in exits.items():
        if letter in last:
            options.remove(last[letter])
            order = rng.permutation(len(options))
            exits[letter] = [options[i] for i in order] + [last[letter]]
        else:
            exits[letter] = [options[i] for i in rng.permutation(len(options))]
    walk, used = [sequence[0]], {letter: 0 for letter in exits}
    for _ in range(len(sequence) - 1):
        current = walk[-1]
        walk.append(exits[current][used[current]])
        used[current] += 1
    return "".join(walk)
