"""GenomeView: igv.js in a frame, the region's sequence and the tracks written into the page, true coordinates."""

import base64
import html

import numpy as np
import pandas as pd
import pytest

import dnabert_nb as dn
from dnabert_nb import InputFormatError
from dnabert_nb.widgets.genome_view import MAX_REGION, view_config

pytest.importorskip("igv_notebook")

GENOME = {"chr2": "".join(np.random.default_rng(0).choice(list("ACGT"), size=5000))}


def scan_track():
    starts = np.arange(0, 5000, 100)
    return pd.DataFrame({"chrom": "chr2", "start": starts, "end": starts + 100, "prob_bound": starts / 5000})


def test_the_view_holds_the_region_in_true_coordinates_and_every_track_cut_to_it():
    peaks = pd.DataFrame({"chrom": ["chr2", "chr2", "chr9"], "start": [1200, 4900, 1300], "end": [1300, 4990, 1400]})
    variants = pd.DataFrame(
        {"chrom": ["chr2"], "pos": [1501], "ref": ["A"], "alt": ["G"], "id": ["rs1"], "llr": [-1.5]}
    )
    config = view_config(
        GENOME, ("chr2", 1000, 2000), scan=scan_track(), peaks=peaks, variants=variants, variant_value="llr"
    )
    fasta = base64.b64decode(config["reference"]["fastaURL"].split(",", 1)[1]).decode()
    assert fasta == f">chr2:1001-2000 @len=5000\n{GENOME['chr2'][1000:2000]}\n"
    assert config["locus"] == "chr2:1001-2000" and config["loadDefaultGenomes"] is False
    scan, shown_peaks, shown_variants = config["tracks"]
    assert scan["name"] == "prob_bound" and [f["start"] for f in scan["features"]] == list(range(1000, 2000, 100))
    assert [(f["start"], f["end"]) for f in shown_peaks["features"]] == [(1200, 1300)]  # not chr9's, not past the end
    assert shown_variants["features"] == [{"chr": "chr2", "start": 1500, "end": 1501, "name": "rs1 -1.5"}]


def test_the_widget_is_a_frame_running_igv_on_the_scan_s_extent_and_refuses_what_it_cannot_show():
    view = dn.widgets.GenomeView(GENOME, scan=scan_track())
    assert view.config["locus"] == "chr2:1-5000"
    assert view.value.startswith('<iframe class="dn-genome-view" srcdoc="')
    page = html.unescape(view.value.split('srcdoc="', 1)[1].split('" style=', 1)[0])
    assert "igv.createBrowser" in page and '"loadDefaultGenomes": false' in page
    with pytest.raises(InputFormatError, match="no sequence 'chr7'"):
        dn.widgets.GenomeView(GENOME, ("chr7", 0, 100))
    with pytest.raises(InputFormatError, match=f"at most {MAX_REGION:,}"):
        dn.widgets.GenomeView(GENOME, ("chr2", 0, MAX_REGION + 1))
    with pytest.raises(InputFormatError, match="region="):
        dn.widgets.GenomeView(GENOME)
    with pytest.raises(InputFormatError, match="peaks needs the columns"):
        dn.widgets.GenomeView(GENOME, ("chr2", 0, 100), peaks=pd.DataFrame({"chrom": ["chr2"], "begin": [1]}))
