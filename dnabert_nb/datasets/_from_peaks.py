"""from_peaks: a peak file and its genome -> a labelled training set with a fair background and locus-disjoint splits.

Rules, in order:

1. Each peak becomes one window of ``width`` nt centred on its summit (narrowPeak) or its middle. Peaks on
   chromosomes the genome lacks, and windows running off a chromosome end, are dropped and counted.
2. Overlapping windows are merged: the peak with the higher score (then the earlier one) is kept; exact
   duplicates are the simplest case.
3. Windows with more than ``max_n`` of N are dropped and counted.
4. Splits are by locus: whole chromosomes when three or more hold peaks (or when ``valid_chroms`` /
   ``test_chroms`` are given), else blocks of ``block_size`` nt along the chromosome. Groups are dealt
   to test and valid (seeded) until each holds at least ``SPLIT_FRACTION`` of the windows; the rest is
   train. Windows that straddle two blocks are dropped, so no locus is in two splits.
5. Background windows (label 0) come from the same group as their peak, so each split keeps the ratio.
"""

from __future__ import annotations

import bisect
import os
import warnings
from collections import Counter

import numpy as np
import pandas as pd

from ..dna.alphabet import gc_content
from ..dna.errors import InputFormatError
from ..dna.shuffle import dinucleotide_shuffle
from ..io.genome import Genome
from ..io.peaks import read_peaks
from ._genome import genome_of

BACKGROUNDS = ("gc_matched", "shuffle", "flanks")
#: Each of valid and test gets at least this share of the windows (by whole groups).
SPLIT_FRACTION = 0.1
#: Random candidate windows drawn per background window needed (and at least MIN_CANDIDATES), for GC matching.
CANDIDATES_PER_WINDOW = 30
MIN_CANDIDATES = 50_000


def from_peaks(
    peaks: str | os.PathLike | pd.DataFrame,
    genome: Genome | str | os.PathLike,
    *,
    width: int = 200,
    center: str = "summit",
    background: str | os.PathLike | pd.DataFrame = "gc_matched",
    ratio: float = 1.0,
    exclude: str | os.PathLike | pd.DataFrame | None = None,
    valid_chroms: list[str] | None = None,
    test_chroms: list[str] | None = None,
    max_n: float = 0.01,
    gc_tolerance: float = 0.02,
    block_size: int = 1_000_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Build a labelled classification set from peaks (ATAC-, DAP-, ChIP-seq) and the genome they were called on.

    Parameters
    ----------
    peaks
        BED, narrowPeak or broadPeak (plain or gzip), or a DataFrame (see :func:`dnabert_nb.io.read_peaks`).
    genome
        An indexed FASTA (plain or bgzip; a :class:`dnabert_nb.io.Genome` or its path), or the name of a genome
        of :func:`dnabert_nb.datasets.genomes`.
    width
        Window length in nucleotides, for peaks and background alike.
    center
        ``"summit"`` (narrowPeak's summit; the middle where a peak has none) or ``"middle"``.
    background
        ``"gc_matched"``: random windows of the same chromosome region outside every peak and ``exclude``
        region, each matched to one peak's GC content (within ``gc_tolerance``) and with no more N than allowed.
        ``"shuffle"``: dinucleotide shuffles of the peaks (easy to tell apart; inflates scores).
        ``"flanks"``: windows beside each peak (``width`` nt away, either side). Or a BED file / DataFrame of
        your own negative regions, centred and sized like the peaks.
    ratio
        Background windows per peak (``"gc_matched"``, ``"shuffle"``, ``"flanks"``).
    exclude
        Regions (BED / DataFrame) that no background window may overlap, e.g. a blacklist.
    valid_chroms, test_chroms
        Chromosomes for validation and test (the rest is train); default: chosen as in the module rules.
    max_n
        Largest fraction of N in a window.
    gc_tolerance
        Largest GC difference between a peak and its matched background window.
    block_size
        Length of the blocks that split a genome of one or two chromosomes.
    seed
        Seeds the splits and the background.

    Returns
    -------
    DataFrame
        ``chrom``, ``start``, ``end`` (0-based, end-exclusive), ``sequence``, ``label`` (1 peak, 0 background),
        ``split``, ``gc``, ``name``, ``score``, ``source`` (peak, or the background kind).
        ``attrs["summary"]`` (:func:`balance`) counts windows per split and label with their mean GC;
        ``attrs["dropped"]`` counts what was left out and why (also warned about).
    """
    if center not in ("summit", "middle"):
        raise InputFormatError(f"center = {center!r}; use 'summit' or 'middle'.")
    if not isinstance(width, (int, np.integer)) or width < 10:
        raise InputFormatError(f"width = {width!r}; use a whole number of nucleotides, 10 or more.")
    if not ratio > 0:
        raise InputFormatError(f"ratio = {ratio!r}; use a positive number of background windows per peak.")
    if isinstance(background, str) and background not in BACKGROUNDS and not os.path.exists(background):
        raise InputFormatError(
            f"background = {background!r}; use {', '.join(map(repr, BACKGROUNDS))} or a BED file of negatives."
        )
    fasta = genome_of(genome)
    rng = np.random.default_rng(seed)
    dropped: Counter = Counter()
    table = read_peaks(peaks)
    windows = _windows(table, fasta, width, center, dropped)
    windows = _merge_overlaps(windows, dropped, "overlapping or duplicate peaks merged")
    windows = _with_sequences(windows, fasta, max_n, dropped, "peak windows with too many N")
    if windows.empty:
        raise InputFormatError(f"No peak is left to train on; dropped: {dict(dropped)}.")
    windows["label"], windows["source"] = 1, "peak"
    groups = _groups(windows, fasta, block_size, valid_chroms, test_chroms)
    windows = _with_groups(windows, groups, dropped)
    split_of = _deal(windows["group"], valid_chroms, test_chroms, rng)
    windows["split"] = windows["group"].map(split_of)
    avoid = _regions_to_avoid([table, windows] + ([read_peaks(exclude)] if exclude is not None else []), fasta)
    if isinstance(background, str) and background in BACKGROUNDS:
        n_wanted = int(round(ratio * len(windows)))
        chosen = windows.sample(n=n_wanted, replace=n_wanted > len(windows), random_state=seed)
        chosen = chosen.sort_values(["chrom", "start"], kind="stable")
        if background == "shuffle":
            negatives = _shuffled(chosen, rng)
        elif background == "flanks":
            negatives = _flanks(chosen, fasta, groups, avoid, max_n, rng, dropped)
        else:
            negatives = _gc_matched(chosen, fasta, groups, avoid, max_n, gc_tolerance, rng, dropped)
    else:
        own = _windows(read_peaks(background), fasta, width, center, dropped, "background")
        own = _with_sequences(own, fasta, max_n, dropped, "background windows with too many N")
        own = _with_groups(own, groups, dropped, "background")
        negatives = own.assign(source="your background", split=own["group"].map(split_of).fillna("train"))
    negatives["label"] = 0
    result = pd.concat([windows, negatives], ignore_index=True)
    columns = ["chrom", "start", "end", "sequence", "label", "split", "gc", "name", "score", "source"]
    result = result[columns].sort_values(["chrom", "start", "label"], kind="stable").reset_index(drop=True)
    result.attrs["summary"] = balance(result)
    result.attrs["dropped"] = dict(dropped)
    if dropped:
        shown = "; ".join(f"{reason}: {count}" for reason, count in dropped.items())
        warnings.warn(f"from_peaks left out {shown}.", UserWarning, stacklevel=2)
    return result


def balance(table: pd.DataFrame) -> pd.DataFrame:
    """Windows per split and label with their mean GC content: the balance of a :func:`from_peaks` table."""
    grouped = table.groupby(["split", "label"])["gc"].agg(windows="size", mean_gc="mean").reset_index()
    grouped["order"] = grouped["split"].map({"train": 0, "valid": 1, "test": 2})
    return grouped.sort_values(["order", "label"]).drop(columns="order").round(3).reset_index(drop=True)


def _windows(
    table: pd.DataFrame, fasta: Genome, width: int, center: str, dropped: Counter, what: str = "peaks"
) -> pd.DataFrame:
    """One window of ``width`` per row, centred as asked, on chromosomes the genome has and within their ends."""
    known = {chrom: _resolved(fasta, chrom) for chrom in table["chrom"].unique()}
    absent = sorted(chrom for chrom, name in known.items() if name is None)
    if absent:
        count = int(table["chrom"].isin(absent).sum())
        dropped[f"{what} on chromosomes absent from the genome ({', '.join(absent[:5])})"] += count
        table = table[~table["chrom"].isin(absent)]
    use_summit = (table["summit"] >= 0) if center == "summit" else pd.Series(False, index=table.index)
    middle = table["start"] + np.where(use_summit, table["summit"], (table["end"] - table["start"]) // 2)
    start = middle - width // 2
    frame = pd.DataFrame(
        {
            "chrom": table["chrom"],
            "fetch_chrom": table["chrom"].map(known),
            "start": start,
            "end": start + width,
            "name": table["name"],
            "score": table["score"],
        }
    )
    length = frame["fetch_chrom"].map(fasta.lengths)
    inside = (frame["start"] >= 0) & (frame["end"] <= length)
    if (~inside).any():
        dropped[f"{what} whose window runs off a chromosome end"] += int((~inside).sum())
    return frame[inside].reset_index(drop=True)


def _resolved(fasta: Genome, chrom: str) -> str | None:
    try:
        return fasta.resolve(chrom)
    except InputFormatError:
        return None


def _merge_overlaps(windows: pd.DataFrame, dropped: Counter, reason: str) -> pd.DataFrame:
    """Keep the best-scoring window of every overlapping set (higher score first, then earlier position).

    Every window is ``width`` long, so a sorted list of kept starts per chromosome answers each overlap test."""
    order = windows.assign(_rank=-windows["score"].fillna(-np.inf)).sort_values(["_rank", "chrom", "start"]).index
    width = int(windows["end"].iloc[0] - windows["start"].iloc[0]) if len(windows) else 0
    kept, taken = [], {}
    for index in order:
        starts = taken.setdefault(windows.at[index, "chrom"], [])
        start = int(windows.at[index, "start"])
        if not _clashes(starts, start, width):
            bisect.insort(starts, start)
            kept.append(index)
    if len(kept) < len(windows):
        dropped[reason] += len(windows) - len(kept)
    return windows.loc[sorted(kept)].reset_index(drop=True)


def _with_sequences(windows: pd.DataFrame, fasta: Genome, max_n: float, dropped: Counter, reason: str) -> pd.DataFrame:
    sequences = [
        fasta.fetch(chrom, start, end)
        for chrom, start, end in zip(windows["fetch_chrom"], windows["start"], windows["end"])
    ]
    windows = windows.assign(sequence=sequences, gc=[gc_content(sequence) for sequence in sequences])
    n_fraction = np.array([sequence.count("N") / len(sequence) for sequence in sequences])
    keep = n_fraction <= max_n
    if (~keep).any():
        dropped[reason] += int((~keep).sum())
    return windows[keep].reset_index(drop=True)


def _groups(windows: pd.DataFrame, fasta: Genome, block_size: int, valid_chroms, test_chroms) -> dict:
    """The split units, ``{name: (genome chromosome, start, end)}``: whole chromosomes or blocks of them."""
    chromosomes = windows["fetch_chrom"].unique()
    if valid_chroms is not None or test_chroms is not None or len(chromosomes) >= 3:
        return {chrom: (chrom, 0, fasta.lengths[chrom]) for chrom in fasta.lengths}
    return {
        f"{chrom}:{first}": (chrom, first, min(first + block_size, fasta.lengths[chrom]))
        for chrom in fasta.lengths
        for first in range(0, fasta.lengths[chrom], block_size)
    }


def _with_groups(windows: pd.DataFrame, groups: dict, dropped: Counter, what: str = "peak") -> pd.DataFrame:
    """Each window's group (column ``group``); windows that straddle two blocks are dropped."""
    first = next(iter(groups.values()))
    whole_chromosomes = all(name == chrom for name, (chrom, _, _) in groups.items())
    if whole_chromosomes:
        return windows.assign(group=windows["fetch_chrom"])
    size = first[2] - first[1]
    block = windows["start"] // size
    inside = block == (windows["end"] - 1) // size
    if (~inside).any():
        dropped[f"{what} windows straddling two split blocks"] += int((~inside).sum())
    windows = windows.assign(group=windows["fetch_chrom"] + ":" + (block * size).astype(str))
    return windows[inside].reset_index(drop=True)


def _deal(group: pd.Series, valid_chroms, test_chroms, rng: np.random.Generator) -> dict[str, str]:
    """``{group: split}``: the chromosomes given, else whole groups dealt (seeded) by their window counts."""
    if valid_chroms is not None or test_chroms is not None:
        fixed = {chrom: "valid" for chrom in valid_chroms or []} | {chrom: "test" for chrom in test_chroms or []}
        split_of = {name: fixed.get(name, fixed.get(name.removeprefix("chr"), "train")) for name in group.unique()}
        for split, chroms in (("valid", valid_chroms), ("test", test_chroms)):
            if chroms and split not in split_of.values():
                raise InputFormatError(
                    f"{split}_chroms = {list(chroms)!r}: no peak is on {'these' if len(chroms) > 1 else 'that'} "
                    f"chromosome{'s' if len(chroms) > 1 else ''}, so {split} would be empty; peaks are on "
                    f"{', '.join(sorted(group.unique())[:8])}."
                )
        return split_of
    counts = group.value_counts().sort_index()
    split_of, filled = {}, {"test": 0, "valid": 0}
    for name in counts.index[rng.permutation(len(counts))]:
        split_of[name] = "train"
        for split in ("test", "valid"):
            if filled[split] < SPLIT_FRACTION * len(group):
                split_of[name], filled[split] = split, filled[split] + counts[name]
                break
    return split_of


def _regions_to_avoid(tables: list[pd.DataFrame], fasta: Genome) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Sorted intervals per genome chromosome, with running maxima of their ends: no background window goes there."""
    regions = pd.concat([table[["chrom", "start", "end"]] for table in tables], ignore_index=True)
    regions["chrom"] = regions["chrom"].map(lambda chrom: _resolved(fasta, chrom))
    avoid = {}
    for chrom, rows in regions.dropna(subset=["chrom"]).groupby("chrom"):
        rows = rows.sort_values("start")
        avoid[chrom] = (rows["start"].to_numpy(), np.maximum.accumulate(rows["end"].to_numpy()))
    return avoid


def _overlaps(avoid: dict, chrom: str, starts: np.ndarray, width: int) -> np.ndarray:
    """Whether each window ``[start, start + width)`` overlaps a region to avoid."""
    if chrom not in avoid:
        return np.zeros(len(starts), dtype=bool)
    region_starts, running_ends = avoid[chrom]
    before = np.searchsorted(region_starts, starts + width, side="left")  # regions starting before the window ends
    return (before > 0) & (running_ends[np.maximum(before - 1, 0)] > starts)


def _background_row(source: pd.Series, chrom_start: int, sequence: str, kind: str) -> dict:
    return {
        "chrom": source["chrom"],
        "fetch_chrom": source["fetch_chrom"],
        "start": chrom_start,
        "end": chrom_start + len(sequence),
        "sequence": sequence,
        "gc": gc_content(sequence),
        "name": f"{kind} for {source['name']}",
        "score": np.nan,
        "split": source["split"],
        "source": kind,
    }


def _shuffled(chosen: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    rows = [
        _background_row(row, row["start"], dinucleotide_shuffle(row["sequence"], rng), "shuffle")
        for _, row in chosen.iterrows()
    ]
    return pd.DataFrame(rows)


def _flanks(chosen, fasta: Genome, groups: dict, avoid, max_n: float, rng, dropped: Counter) -> pd.DataFrame:
    """A window ``width`` nt to the left or right of each peak (random side first) in the peak's split group,
    clear of peaks and N."""
    rows, used = [], set()
    for _, row in chosen.iterrows():
        width = row["end"] - row["start"]
        _, first, last = groups[row["group"]]
        sides = [-1, 1] if rng.random() < 0.5 else [1, -1]
        for side in sides:
            start = row["start"] + side * 2 * width
            if start < first or start + width > last or (row["fetch_chrom"], start) in used:
                continue
            if _overlaps(avoid, row["fetch_chrom"], np.array([start]), width)[0]:
                continue
            sequence = fasta.fetch(row["fetch_chrom"], start, start + width)
            if sequence.count("N") <= max_n * width:
                used.add((row["fetch_chrom"], start))
                rows.append(_background_row(row, start, sequence, "flank"))
                break
        else:
            dropped["peaks with no clear flank on either side"] += 1
    return pd.DataFrame(rows)


def _gc_matched(chosen, fasta: Genome, groups, avoid, max_n, tolerance, rng, dropped: Counter) -> pd.DataFrame:
    """For each chosen peak, an unused random window of its group with the nearest GC, within ``tolerance``."""
    rows = []
    for name, peaks in chosen.groupby("group", sort=True):
        chrom, first, last = groups[name]
        width = int(peaks["end"].iloc[0] - peaks["start"].iloc[0])
        sequence = fasta.fetch(chrom, first, last)
        codes = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)
        gc_prefix = np.concatenate([[0], np.cumsum((codes == ord("G")) | (codes == ord("C")))])
        n_prefix = np.concatenate([[0], np.cumsum(codes == ord("N"))])
        n_draws = max(CANDIDATES_PER_WINDOW * len(peaks), MIN_CANDIDATES)
        starts = np.unique(rng.integers(0, max(1, len(codes) - width), size=n_draws))
        n_count = n_prefix[starts + width] - n_prefix[starts]
        keep = (n_count <= max_n * width) & ~_overlaps(avoid, chrom, starts + first, width)
        starts, n_count = starts[keep], n_count[keep]
        gc = (gc_prefix[starts + width] - gc_prefix[starts]) / np.maximum(width - n_count, 1)
        order = np.argsort(gc)
        starts, gc = starts[order], gc[order]
        free = np.ones(len(starts), dtype=bool)
        taken: list[int] = []  # sorted starts of the windows chosen in this group
        for _, peak in peaks.iterrows():
            pick = _nearest_free(gc, free, peak["gc"], tolerance, starts, taken, width)
            if pick is None:
                dropped["peaks with no GC-matched background window"] += 1
                continue
            begin = int(starts[pick])
            free[pick] = False
            bisect.insort(taken, begin)
            rows.append(_background_row(peak, first + begin, sequence[begin : begin + width], "gc_matched"))
    return pd.DataFrame(rows)


def _nearest_free(gc, free, target, tolerance, starts, taken, width) -> int | None:
    """Index of the free candidate closest in GC to ``target`` that overlaps no window ``taken`` so far."""
    position = int(np.searchsorted(gc, target))
    low, high = position - 1, position
    while low >= 0 or high < len(gc):
        below = target - gc[low] if low >= 0 else np.inf
        above = gc[high] - target if high < len(gc) else np.inf
        if min(below, above) > tolerance:
            return None
        index = low if below <= above else high
        if index == low:
            low -= 1
        else:
            high += 1
        if free[index] and not _clashes(taken, int(starts[index]), width):
            return index
        free[index] = False
    return None


def _clashes(taken: list[int], start: int, width: int) -> bool:
    """Whether a window at ``start`` overlaps one of the sorted window starts ``taken`` (all ``width`` long)."""
    position = bisect.bisect_left(taken, start)
    return (position > 0 and taken[position - 1] + width > start) or (
        position < len(taken) and taken[position] < start + width
    )
