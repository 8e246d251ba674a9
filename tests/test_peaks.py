"""Peaks + genome -> labelled windows: read_peaks and from_peaks on small synthetic genomes and peak files."""

import gzip

import numpy as np
import pandas as pd
import pytest

import dnabert_nb as dn
from dnabert_nb.dna.errors import InputFormatError

pytest.importorskip("pysam")


def random_chromosome(rng, length, gc):
    weights = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    return "".join(rng.choice(list("ACGT"), size=length, p=weights))


@pytest.fixture
def genome(tmp_path):
    """Three 60-kb chromosomes whose GC rises along them (so GC matching has something to match), N at chr3's end."""
    rng = np.random.default_rng(1)
    chromosomes = {}
    for name in ("chr1", "chr2", "chr3"):
        chromosomes[name] = "".join(random_chromosome(rng, 10_000, gc) for gc in (0.3, 0.4, 0.5, 0.6, 0.45, 0.35))
    chromosomes["chr3"] = chromosomes["chr3"][:-5_000] + "N" * 5_000
    path = tmp_path / "genome.fa"
    path.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in chromosomes.items()))
    return path, chromosomes


def narrowpeak(path, rows):
    """rows: (chrom, start, end, score, summit)."""
    lines = ["track type=narrowPeak name=test", "# a comment"]
    lines += [f"{c}\t{s}\t{e}\tpeak{i}\t{sc}\t.\t5.0\t10.0\t8.0\t{su}" for i, (c, s, e, sc, su) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def some_peaks(rng, n=60):
    rows = []
    for i in range(n):
        chrom = ("chr1", "chr2", "chr3")[i % 3]
        start = int(rng.integers(1_000, 50_000))
        rows.append((chrom, start, start + 300, int(rng.integers(10, 1000)), int(rng.integers(0, 300))))
    return rows


def test_read_peaks_narrowpeak_bed_and_gzip(tmp_path):
    path = narrowpeak(tmp_path / "p.narrowPeak", [("chr1", 100, 400, 50, 120), ("chr2", 5, 50, 7, -1)])
    peaks = dn.io.read_peaks(path)
    assert peaks[["chrom", "start", "end", "summit"]].values.tolist() == [["chr1", 100, 400, 120], ["chr2", 5, 50, -1]]
    assert peaks["name"].tolist() == ["peak0", "peak1"] and peaks["score"].tolist() == [50.0, 7.0]
    bed = tmp_path / "p.bed.gz"
    with gzip.open(bed, "wt") as handle:
        handle.write("browser position chr1\nchr1 10 20\nchr1\t30\t60\tnamed\n")
    peaks = dn.io.read_peaks(bed)
    assert peaks["name"].tolist() == ["chr1:10-20", "named"] and (peaks["summit"] == -1).all()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("chr1\t10", "line 3: a peak needs chrom, start and end"),
        ("chr1\tten\t20", "line 3: start and end must be whole numbers"),
        ("chr1\t30\t20", r"line 3: needs 0 <= start < end"),
        ("chr1\t10\t20\tp\t5\t.\t1\t1\t1\t50", "line 3: the summit offset 50 lies beyond"),
    ],
)
def test_read_peaks_names_the_bad_line(tmp_path, line, message):
    path = tmp_path / "bad.bed"
    path.write_text(f"track name=x\nchr1\t1\t5\n{line}\n")
    with pytest.raises(InputFormatError, match=message):
        dn.io.read_peaks(path)


def test_from_peaks_windows_are_exact_and_centred_on_summits(genome, tmp_path):
    path, chromosomes = genome
    rows = [("chr1", 2_000, 2_300, 10, 100), ("chr2", 30_000, 30_500, 10, -1), ("chr3", 20_000, 20_400, 10, 399)]
    table = dn.datasets.from_peaks(narrowpeak(tmp_path / "p.np", rows), path, width=100, background="shuffle")
    peaks = table[table["label"] == 1].set_index("name")
    assert peaks.loc["peak0", ["start", "end"]].tolist() == [2_050, 2_150]  # summit 2,100
    assert peaks.loc["peak1", ["start", "end"]].tolist() == [30_200, 30_300]  # no summit: the middle, 30,250
    assert peaks.loc["peak2", ["start", "end"]].tolist() == [20_349, 20_449]
    for _, row in peaks.iterrows():
        assert row["sequence"] == chromosomes[row["chrom"]][row["start"] : row["end"]]


def test_from_peaks_drops_and_counts_what_it_cannot_use(genome, tmp_path):
    path, _ = genome
    rows = [
        ("chr1", 5_000, 5_300, 10, 150),
        ("chr1", 5_010, 5_310, 99, 150),  # overlaps the first, higher score: kept instead
        ("chr1", 5_000, 5_300, 10, 150),  # duplicate of the first
        ("chrUn", 100, 400, 10, 150),  # not in the genome
        ("chr2", 0, 60, 10, 10),  # window runs off the start
        ("chr3", 57_000, 57_300, 10, 150),  # all N
        ("chr2", 40_000, 40_300, 10, 150),
    ]
    with pytest.warns(UserWarning, match="from_peaks left out"):
        table = dn.datasets.from_peaks(narrowpeak(tmp_path / "p.np", rows), path, width=200, background="shuffle")
    dropped = table.attrs["dropped"]
    assert dropped["overlapping or duplicate peaks merged"] == 2
    assert dropped["peaks on chromosomes absent from the genome (chrUn)"] == 1
    assert dropped["peaks whose window runs off a chromosome end"] == 1
    assert dropped["peak windows with too many N"] == 1
    assert sorted(table.loc[table["label"] == 1, "name"]) == ["peak1", "peak6"]


def test_from_peaks_splits_by_chromosome_and_gc_matches(genome, tmp_path):
    path, chromosomes = genome
    table = dn.datasets.from_peaks(narrowpeak(tmp_path / "p.np", some_peaks(np.random.default_rng(2))), path)
    assert table.groupby("chrom")["split"].nunique().max() == 1  # one split per chromosome
    assert set(table["split"]) == {"train", "valid", "test"}
    assert (table.groupby("split")["label"].mean() == 0.5).all()  # one background window per peak, same split
    background = table[table["label"] == 0]
    peaks = table[table["label"] == 1]
    assert len(background) == len(peaks)
    assert abs(background["gc"].mean() - peaks["gc"].mean()) <= 0.02
    peak_gc = peaks.set_index("name")["gc"]
    pairs = background["name"].str.removeprefix("gc_matched for ")
    assert np.abs(background["gc"].to_numpy() - peak_gc[pairs].to_numpy()).max() <= 0.02  # each within tolerance
    for _, row in background.iterrows():  # real genome sequence, clear of every peak window
        assert row["sequence"] == chromosomes[row["chrom"]][row["start"] : row["end"]]
        same = peaks[peaks["chrom"] == row["chrom"]]
        assert not ((same["start"] < row["end"]) & (same["end"] > row["start"])).any()
    summary = table.attrs["summary"]
    assert summary["windows"].sum() == len(table) and list(summary.columns) == ["split", "label", "windows", "mean_gc"]
    pd.testing.assert_frame_equal(dn.datasets.balance(table), summary)


def test_from_peaks_blocks_one_chromosome_and_keeps_splits_apart(genome, tmp_path):
    path, _ = genome
    rng = np.random.default_rng(3)
    rows = [("chr1", s, s + 200, 10, 100) for s in rng.choice(np.arange(500, 59_000, 400), 80, replace=False)]
    table = dn.datasets.from_peaks(narrowpeak(tmp_path / "p.np", rows), path, background="flanks", block_size=5_000)
    blocks = table["start"] // 5_000
    assert ((table["end"] - 1) // 5_000 == blocks).all()
    assert table.groupby(blocks)["split"].nunique().max() == 1
    assert set(table["split"]) == {"train", "valid", "test"}


def test_from_peaks_fixed_test_chromosome_exclusions_and_own_background(genome, tmp_path):
    path, _ = genome
    peaks = narrowpeak(tmp_path / "p.np", some_peaks(np.random.default_rng(4), 30))
    exclude = pd.DataFrame({"chrom": ["chr1"], "start": [0], "end": [60_000]})
    table = dn.datasets.from_peaks(peaks, path, test_chroms=["chr2"], valid_chroms=["3"], exclude=exclude)
    assert table.groupby("split")["chrom"].unique().map(set).to_dict() == {
        "train": {"chr1"},
        "test": {"chr2"},
        "valid": {"chr3"},
    }
    assert not ((table["chrom"] == "chr1") & (table["label"] == 0)).any()  # chr1 excluded: no background there
    own = pd.DataFrame({"chrom": ["chr1", "chr2"], "start": [40_000, 41_000], "end": [40_300, 41_300]})
    mine = dn.datasets.from_peaks(peaks, path, background=own, test_chroms=["chr2"])
    negatives = mine[mine["label"] == 0]
    assert negatives["source"].eq("your background").all() and negatives["split"].tolist() == ["train", "test"]


def test_from_peaks_same_seed_same_table_and_clear_errors(genome, tmp_path):
    path, _ = genome
    peaks = narrowpeak(tmp_path / "p.np", some_peaks(np.random.default_rng(5), 30))
    first, again = dn.datasets.from_peaks(peaks, path, seed=7), dn.datasets.from_peaks(peaks, path, seed=7)
    pd.testing.assert_frame_equal(first, again)
    with pytest.raises(InputFormatError, match="background = 'random'"):
        dn.datasets.from_peaks(peaks, path, background="random")
    with pytest.raises(InputFormatError, match="center"):
        dn.datasets.from_peaks(peaks, path, center="peak")
    with pytest.raises(InputFormatError, match="width"):
        dn.datasets.from_peaks(peaks, path, width=5)
    with pytest.raises(InputFormatError, match="valid_chroms = \\['chr9'\\]: no peak is on that chromosome"):
        dn.datasets.from_peaks(peaks, path, valid_chroms=["chr9"])


def test_scan_tiles_a_region_and_matches_predict(genome, checkpoints, tmp_path):
    path, chromosomes = genome
    model = dn.load(checkpoints(6, num_labels=2))
    table = dn.scan(model, path, region="chr2:1,000-3,000", width=200, step=100, progress=False)
    assert table["window_start"].tolist() == list(range(1_000, 2_801, 100))
    assert (table["start"].iloc[1:].to_numpy() == table["end"].iloc[:-1].to_numpy()).all()  # tiles, no overlap
    assert (table["end"] - table["start"]).eq(100).all() and table["chrom"].eq("chr2").all()
    windows = [chromosomes["chr2"][s : s + 200] for s in table["window_start"]]
    expected = dn.predict(model, windows, progress=False)
    np.testing.assert_allclose(table["prob_1"], expected["prob_1"], rtol=1e-5)
    bedgraph = dn.io.write_bedgraph(table, tmp_path / "scan.bedGraph", value="prob_1")
    lines = bedgraph.read_text().splitlines()
    assert lines[1].split("\t")[:3] == ["chr2", "1050", "1150"]
    peaks = pd.DataFrame(
        {"chrom": ["chr2", "chr2", "chr1"], "start": [1_500, 9_000, 1_500], "end": [1_700, 9_100, 1_700]}
    )
    ax = dn.pl.scan(table, peaks=peaks)
    assert len(ax.lines[0].get_xdata()) == len(table) and len(ax.patches) == 1  # only the peak inside the scan
    with pytest.raises(InputFormatError, match="score columns"):
        dn.pl.scan(table, value="prob_7")


def test_scan_skips_n_windows_reads_dicts_and_says_what_is_wrong(genome, checkpoints):
    path, _ = genome
    model = dn.load(checkpoints(6, num_labels=2))
    table = dn.scan(model, path, region=("chr3", 54_000, 60_000), width=500, step=500, progress=False)
    assert table.attrs["skipped"] == 10 and len(table) == 2  # the last 5 kb are N
    whole = dn.scan(model, path, width=500, step=20_000, progress=False)  # every chromosome, one at a time
    assert whole.groupby("chrom")["window_start"].apply(list).to_dict() == {
        name: [0, 20_000, 40_000] for name in ("chr1", "chr2", "chr3")
    }
    sequences = dn.scan(model, {"a": "ACGT" * 100, "b": "GGCA" * 60}, width=120, progress=False)
    assert sequences.groupby("chrom").size().to_dict() == {"a": 5, "b": 3}
    with pytest.raises(InputFormatError, match="region = 'chr2:9-3'"):
        dn.scan(model, path, region="chr2:9-3")
    with pytest.raises(dn.InvalidSequenceError, match="Sequence 'b' holds 'X' at position 201 \\(1-based\\)"):
        dn.scan(model, {"a": "ACGT" * 100, "b": "ACGT" * 50 + "X" + "ACGT" * 50}, width=120, progress=False)
    with pytest.raises(InputFormatError, match="start and end are whole numbers"):
        dn.scan(model, path, region=("chr1", "a", "b"))
    with pytest.raises(InputFormatError, match="ends past the end of 'a' \\(400 nt\\)"):
        dn.scan(model, {"a": "ACGT" * 100}, region=("a", 0, 500), width=120)
    with pytest.raises(InputFormatError, match="shorter than one window"):
        dn.scan(model, {"a": "ACGT" * 10}, width=100)
    with pytest.raises(dn.ModelTaskError, match="task head"):
        dn.scan(dn.load(checkpoints(6)), path, region="chr1")
