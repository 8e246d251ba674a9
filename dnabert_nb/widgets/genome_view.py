"""GenomeView: a region of the genome in the notebook, with a scan track, peaks and scored variants, in IGV.

The view is igv.js (the JavaScript of IGV, as the ``igv-notebook`` package bundles it) in a frame of its own, with
the region's sequence and every track written into the page: it works offline, in Jupyter and in Voilà, and needs no
server.
"""

from __future__ import annotations

import base64
import html
import json
import os
from importlib import resources

import ipywidgets as widgets
import pandas as pd

from ..dna.errors import InputFormatError, MissingDependencyError
from ..io.genome import Genome, as_genome

#: The longest region a view holds: its sequence travels in the page (about 1 MB of page per Mb).
MAX_REGION = 2_000_000
#: The track colours: the scan's, the peaks', the variants'.
COLOURS = {"scan": "rgb(31,119,180)", "peaks": "rgb(44,44,120)", "variants": "rgb(200,30,30)"}


def igv_javascript() -> str:
    """igv.js as ``igv-notebook`` ships it (the package is only a carrier: nothing of it runs)."""
    try:
        return (resources.files("igv_notebook") / "js" / "igv.iife.js").read_text()
    except ModuleNotFoundError as error:
        raise MissingDependencyError(
            "GenomeView needs igv.js, which the igv-notebook package carries: pip install igv-notebook."
        ) from error


def _sequence(genome: Genome | dict | str | os.PathLike, chrom: str, start: int, end: int) -> tuple[str, int, str]:
    """The region's sequence, its chromosome's length and the genome's name for it (``22`` and ``chr22`` agree)."""
    if isinstance(genome, dict):
        if chrom not in genome:
            raise InputFormatError(f"The genome has no sequence {chrom!r}; it has {', '.join(map(repr, genome))}.")
        whole = genome[chrom]
        return whole[start:end], len(whole), chrom
    genome = as_genome(genome)
    name = genome.resolve(chrom)
    return genome.fetch(name, start, min(end, genome.lengths[name])), genome.lengths[name], name


def _inside(table: pd.DataFrame, chrom: str, start: int, end: int, what: str, columns: set[str]) -> pd.DataFrame:
    """The rows of ``table`` on ``chrom`` (with or without a ``chr`` prefix) that reach past ``start``."""
    missing = columns - set(table.columns)
    if missing:
        raise InputFormatError(f"{what} needs the columns {sorted(columns)}; it lacks {sorted(missing)}.")
    same = table["chrom"].astype(str).str.removeprefix("chr") == chrom.removeprefix("chr")
    return table[same & (table["end" if "end" in columns else "pos"] > start)]


def view_config(
    genome: Genome | dict | str | os.PathLike,
    region: tuple[str, int, int],
    *,
    scan: pd.DataFrame | None = None,
    value: str | None = None,
    peaks: pd.DataFrame | None = None,
    variants: pd.DataFrame | None = None,
    variant_value: str | None = None,
) -> dict:
    """The igv.js browser configuration of a :class:`GenomeView` (its arguments): the region's sequence as the
    reference, in true coordinates, and one track per table given, cut to the region."""
    chrom, start, end = region
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
        raise InputFormatError(f"region = {region!r}; give (chrom, start, end), 0-based and end-exclusive.")
    if end - start > MAX_REGION:
        raise InputFormatError(
            f"region = {region!r} spans {end - start:,} nt; a view holds at most {MAX_REGION:,} (its sequence "
            "travels in the page). Show a part of it."
        )
    sequence, length, chrom = _sequence(genome, chrom, start, end)
    end = start + len(sequence)
    fasta = f">{chrom}:{start + 1}-{end} @len={length}\n{sequence}\n"  # igv.js reads the offset and the length
    tracks = []
    if scan is not None:
        column = value or [c for c in scan.columns if c.startswith(("prob_", "value"))][-1]
        rows = _inside(scan, chrom, start, end, "scan", {"chrom", "start", "end", column})
        rows = rows[rows["start"] < end]
        features = [{"chr": chrom, "start": int(a), "end": int(b), "value": float(v)} for a, b, v in
                    zip(rows["start"], rows["end"], rows[column])]  # fmt: skip
        tracks.append({"name": column, "type": "wig", "features": features, "color": COLOURS["scan"], "height": 70})
    if peaks is not None:
        rows = _inside(peaks, chrom, start, end, "peaks", {"chrom", "start", "end"})
        rows = rows[rows["start"] < end]
        names = rows["name"].astype(str) if "name" in rows else [f"peak {i + 1}" for i in range(len(rows))]
        features = [{"chr": chrom, "start": int(a), "end": int(b), "name": n} for a, b, n in
                    zip(rows["start"], rows["end"], names)]  # fmt: skip
        tracks.append({"name": "peaks", "type": "annotation", "features": features, "color": COLOURS["peaks"]})
    if variants is not None:
        rows = _inside(variants, chrom, start, end, "variants", {"chrom", "pos", "ref", "alt"})
        rows = rows[rows["pos"] <= end]
        labels = rows["id"].astype(str) if "id" in rows else rows["ref"] + ">" + rows["alt"]
        if variant_value is not None:
            labels = [f"{label} {score:.3g}" for label, score in zip(labels, rows[variant_value])]
        features = [{"chr": chrom, "start": int(p) - 1, "end": int(p) - 1 + len(r), "name": n} for p, r, n in
                    zip(rows["pos"], rows["ref"], labels)]  # fmt: skip
        tracks.append({"name": "variants", "type": "annotation", "features": features, "color": COLOURS["variants"]})
    url = "data:text/plain;base64," + base64.b64encode(fasta.encode()).decode()
    return {
        "reference": {"id": chrom, "name": f"{chrom}:{start + 1:,}-{end:,}", "fastaURL": url, "indexed": False},
        "loadDefaultGenomes": False,  # no genome list from the internet
        "locus": f"{chrom}:{start + 1}-{end}",
        "tracks": tracks,
    }


class GenomeView(widgets.HTML):
    """A region of the genome in IGV, in the notebook: its sequence, a ``scan`` track, ``peaks`` and ``variants``.

    Parameters
    ----------
    genome
        An indexed FASTA (path or :class:`~dnabert_nb.io.Genome`) or a dict of name -> sequence, as ``scan`` takes.
    region
        ``(chrom, start, end)``, 0-based and end-exclusive, at most :data:`MAX_REGION` nt; None: the extent of
        ``scan``.
    scan
        A :func:`dnabert_nb.scan` track; ``value`` names the column drawn (default: its last class probability).
    peaks
        Peaks (``chrom``, ``start``, ``end``, optional ``name``), as :func:`dnabert_nb.io.read_peaks` reads them.
    variants
        Variants (``chrom``, 1-based ``pos``, ``ref``, ``alt``, optional ``id``), e.g. what
        :func:`dnabert_nb.variant_effects` returns; ``variant_value`` names a column shown beside each (``llr``).
    height
        Pixels of the view.

    Examples
    --------
    >>> track = dn.scan(model, genome, region=("chr20", 40_000_000, 40_060_000))
    >>> dn.widgets.GenomeView(genome, scan=track, peaks=dn.io.read_peaks("peaks.bed"))
    """

    def __init__(
        self,
        genome: Genome | dict | str | os.PathLike,
        region: tuple[str, int, int] | None = None,
        *,
        scan: pd.DataFrame | None = None,
        value: str | None = None,
        peaks: pd.DataFrame | None = None,
        variants: pd.DataFrame | None = None,
        variant_value: str | None = None,
        height: int = 420,
    ) -> None:
        if region is None:
            if scan is None or scan.empty:
                raise InputFormatError("Give region=(chrom, start, end), or a scan track whose extent is shown.")
            region = (str(scan["chrom"].iloc[0]), int(scan["start"].min()), int(scan["end"].max()))
        self.config = view_config(
            genome, region, scan=scan, value=value, peaks=peaks, variants=variants, variant_value=variant_value
        )
        page = (
            '<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0">'
            f'<div id="igv"></div><script>{igv_javascript()}</script><script>igv.createBrowser('
            f'document.getElementById("igv"), {json.dumps(self.config)})'
            '.then(() => document.body.dataset.ready = "yes")'
            '.catch(error => document.body.append("The genome view failed: " + error));</script></body></html>'
        )
        frame = (
            f'<iframe class="dn-genome-view" srcdoc="{html.escape(page, quote=True)}" '
            f'style="width:100%;height:{int(height)}px;border:0"></iframe>'
        )
        super().__init__(value=frame, layout=widgets.Layout(width="100%"))
