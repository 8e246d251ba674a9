"""scan: slide a fine-tuned model along a genome region (or long sequences) and keep a prediction per window."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..core.inference import DEFAULT_BATCH_SIZE
from ..core.model import DNABERTModel
from ..core.predict import predict
from ..core.processes import is_main_process
from ..datasets._genome import genome_of
from ..dna.alphabet import AMBIGUOUS, NUCLEOTIDES
from ..dna.errors import InputFormatError, InvalidSequenceError, ModelTaskError, require_positive_integers
from ..io.genome import Genome

#: Windows predicted per call of :func:`predict` (bounds memory on a whole chromosome).
CHUNK = 4096
#: A letter no nucleotide code reads (A, C, G, T, U and the IUPAC ambiguity codes are read).
_NOT_DNA = re.compile(f"[^{NUCLEOTIDES}U{AMBIGUOUS}]")
_REGION = re.compile(r"^(?P<chrom>[^:\s]+)(:(?P<start>[\d,_]+)-(?P<end>[\d,_]+))?$")


def scan(
    model: DNABERTModel,
    genome: Genome | str | os.PathLike | dict[str, str],
    *,
    region: str | tuple[str, int, int] | None = None,
    width: int | None = None,
    step: int | None = None,
    max_n: float = 0.1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: str | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Predict along a chromosome or region, one window every ``step`` nucleotides.

    Parameters
    ----------
    model
        A fine-tuned model (classification or regression head).
    genome
        An indexed FASTA (a :class:`dnabert_nb.io.Genome`, its path, or a name of
        :func:`dnabert_nb.datasets.genomes`), or a dict of sequence name -> sequence.
    region
        ``"chr22"``, ``"chr22:20,000,000-20,100,000"`` (0-based start, end-exclusive) or
        ``(chrom, start, end)``; None scans every sequence whole.
    width
        Window length in nucleotides; default the median training length the model was fine-tuned on
        (else one model input).
    step
        Distance between window starts; default ``width // 2``.
    max_n
        Windows with a larger fraction of N are skipped (counted in ``attrs["skipped"]``).
    batch_size, precision, progress
        As in :func:`dnabert_nb.predict`; the bar counts windows. Under several processes (torchrun), each scores
        a share of every chunk of windows and every process returns the whole table.

    Returns
    -------
    DataFrame
        One row per window: ``chrom``, ``start``, ``end`` (the ``step`` nucleotides at the window's centre, so
        consecutive rows tile the region without overlap: ready for :func:`dnabert_nb.io.write_bedgraph`),
        ``window_start``, ``window_end`` (what the model read), then :func:`dnabert_nb.predict`'s ``label``,
        ``score`` and ``prob_<class>`` (or ``value``) columns.
    """
    if model.task is None:
        raise ModelTaskError("scan needs a fine-tuned model with a task head; fine-tune one with dn.finetune.")
    width = width or getattr(model.config, "train_sequence_length", None) or model.tokenizer.max_kmers + model.k - 1
    step = step or max(1, width // 2)
    require_positive_integers(width=width, step=step, batch_size=batch_size)
    if width < model.k:
        raise InputFormatError(f"width = {width} is shorter than one {model.k}-mer.")
    sources = _sources(genome, region)
    total = sum(max(0, (length - width) // step + 1) for _, _, length, _ in sources)
    if total == 0:
        raise InputFormatError(
            f"The region is shorter than one window of {width} nt; give a longer region or a lower width."
        )
    parts, skipped = [], 0
    with tqdm(total=total, desc="scan", unit="window", disable=not (progress and is_main_process())) as bar:
        for chrom, offset, length, fetch in sources:
            text, starts = fetch(), np.arange(0, length - width + 1, step)  # one chromosome in memory at a time
            for first in range(0, len(starts), CHUNK):
                chunk = starts[first : first + CHUNK]
                windows = [text[start : start + width] for start in chunk]
                usable = np.array([window.count("N") <= max_n * width for window in windows], dtype=bool)
                skipped += int((~usable).sum())
                if usable.any():
                    kept = chunk[usable]
                    scores = predict(
                        model,
                        [window for window, ok in zip(windows, usable) if ok],
                        batch_size=batch_size,
                        precision=precision,
                        progress=False,
                    )
                    centre = offset + kept + width // 2
                    coordinates = pd.DataFrame(
                        {
                            "chrom": chrom,
                            "start": centre - step // 2,
                            "end": centre - step // 2 + step,
                            "window_start": offset + kept,
                            "window_end": offset + kept + width,
                        }
                    )
                    parts.append(pd.concat([coordinates, scores.drop(columns=["id", "length"])], axis=1))
                bar.update(len(chunk))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    table.attrs["skipped"] = skipped
    table.attrs["width"], table.attrs["step"] = width, step
    return table


def _sources(genome, region) -> list[tuple[str, int, int, Callable[[], str]]]:
    """``(name, offset, length, fetch)`` of everything to scan; ``fetch()`` reads the sequence when its turn comes."""
    if isinstance(genome, dict):
        named = {str(name): str(sequence).upper() for name, sequence in genome.items()}
        for name, sequence in named.items():
            odd = _NOT_DNA.search(sequence)
            if odd:
                raise InvalidSequenceError(
                    f"Sequence {name!r} holds {odd.group()!r} at position {odd.start() + 1:,} (1-based); a genome to "
                    "scan holds nucleotide codes (A, C, G, T, U, N and the IUPAC ambiguity codes) only.",
                    sequence_id=name,
                    position=odd.start() + 1,
                )
        if region is None:
            return [(name, 0, len(sequence), lambda sequence=sequence: sequence) for name, sequence in named.items()]
        chrom, start, end = _region(region)
        if chrom not in named:
            raise InputFormatError(f"No sequence is called {chrom!r}; there are {', '.join(list(named)[:5])}.")
        if end is not None and end > len(named[chrom]):
            raise InputFormatError(
                f"region = {region!r} ends past the end of {chrom!r} ({len(named[chrom]):,} nt); give an end within it."
            )
        part = named[chrom][start:end]
        return [(chrom, start, len(part), lambda: part)]

    fasta = genome_of(genome)
    if region is None:
        return [
            (chrom, 0, length, lambda chrom=chrom, length=length: fasta.fetch(chrom, 0, length))
            for chrom, length in fasta.lengths.items()
        ]
    chrom, start, end = _region(region)
    name = fasta.resolve(chrom)
    end = fasta.lengths[name] if end is None else end
    return [(chrom, start, end - start, lambda: fasta.fetch(name, start, end))]


def _region(region) -> tuple[str, int, int | None]:
    """``(chrom, start, end)`` of a region given as text or a tuple (``end`` None: to the end of ``chrom``)."""
    if isinstance(region, tuple) and len(region) == 3:
        chrom, *bounds = region
        if not all(isinstance(bound, (int, np.integer)) and not isinstance(bound, bool) for bound in bounds):
            raise InputFormatError(f"region = {region!r}; a tuple's start and end are whole numbers (0-based).")
        start, end = map(int, bounds)
        chrom = str(chrom)
    else:
        match = _REGION.match(str(region).strip())
        if not match:
            raise InputFormatError(f"region = {region!r}; write 'chr22', 'chr22:20,000,000-20,100,000' or a tuple.")
        if match["start"] is None:
            return match["chrom"], 0, None
        chrom = match["chrom"]
        start, end = (int(re.sub(r"[,_]", "", match[name])) for name in ("start", "end"))
    if not 0 <= start < end:
        raise InputFormatError(f"region = {region!r} needs 0 <= start < end.")
    return chrom, start, end
