"""Shipped datasets: sizes, labels, splits, provenance, and one biological sanity check each."""

import collections
import hashlib
import json
import re
from importlib import resources

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import dnabert_nb as dn
from dnabert_nb import InputFormatError
from dnabert_nb.datasets import _genome
from dnabert_nb.dna.shuffle import dinucleotide_shuffle

EXPECTED = {  # name: (rows, length, classes)
    "splice": (3186, 60, {"donor", "acceptor", "neither"}),
    "ecoli_promoters": (106, 57, {0, 1}),
    "ctcf_peaks": (1000, 200, {0, 1}),
    "oct4_peaks": (7994, 200, {0, 1}),
    "mafk_peaks": (8000, 200, {0, 1}),
    "fly_core_promoters": (34390, 100, {0, 1}),
}


def test_list_shows_every_dataset_with_provenance():
    listing = dn.datasets.catalog()
    with pytest.warns(DeprecationWarning, match="dn.datasets.catalog"):
        assert dn.datasets.list().equals(listing)  # the old name still works
    assert set(listing["name"]) == set(EXPECTED)
    assert list(listing.columns) == ["name", "task", "classes", "n", "length", "source", "license"]
    assert listing["source"].str.len().min() > 20 and listing["license"].str.len().min() > 5
    for name in EXPECTED:
        info = dn.datasets.info(name)
        assert info["citation"] and info["package_version"] and len(info["package_sha256"]) == 64


@pytest.mark.parametrize("name", list(EXPECTED))
def test_sizes_labels_and_splits(name):
    rows, length, classes = EXPECTED[name]
    frame = dn.datasets.load(name)
    assert len(frame) == rows and set(frame["label"]) == classes
    assert (frame["sequence"].str.len() == length).all()
    assert frame["sequence"].str.fullmatch("[ACGTN]+").all()
    assert frame["id"].is_unique
    shares = frame["split"].value_counts(normalize=True)
    assert set(shares.index) == {"train", "valid", "test"}
    assert shares["train"] == pytest.approx(0.8, abs=0.02) and shares["test"] == pytest.approx(0.1, abs=0.02)
    for _, part in frame.groupby("split"):  # every split holds every class
        assert set(part["label"]) == classes
    # no sequence sits in two parts: a test row that is a training row scores memory, not learning
    parts_of_each_sequence = frame.groupby(frame["sequence"].str.upper())["split"].nunique()
    assert parts_of_each_sequence.max() == 1, parts_of_each_sequence[parts_of_each_sequence > 1].index[:3].tolist()


@pytest.mark.parametrize("name", [n for n in EXPECTED if n.endswith("_peaks")])
def test_shuffled_negatives_keep_dinucleotides_and_their_peaks_split(name):
    frame = dn.datasets.load(name)
    assert frame.groupby("peak")["split"].nunique().max() == 1
    peaks = frame[frame["label"] == 1].set_index("peak")["sequence"]
    shuffles = frame[frame["label"] == 0].set_index("peak")["sequence"]
    pairs = collections.Counter
    for peak in peaks.index[:50]:
        a, b = peaks[peak], shuffles[peak]
        assert a != b and pairs(zip(a, a[1:])) == pairs(zip(b, b[1:]))


def test_splice_donors_carry_gt_and_acceptors_ag_at_the_boundary():
    frame = dn.datasets.load("splice")
    gt = frame["sequence"].str[30:32] == "GT"  # first two intron bases after an exon→intron boundary
    ag = frame["sequence"].str[28:30] == "AG"  # last two intron bases before an intron→exon boundary
    by = frame.groupby("label")
    assert by.get_group("donor").index.isin(frame.index[gt]).mean() > 0.95
    assert by.get_group("acceptor").index.isin(frame.index[ag]).mean() > 0.95
    assert gt[frame["label"] == "neither"].mean() < 0.2 and ag[frame["label"] == "neither"].mean() < 0.2


def _best_hamming_match(sequence, motif, first, last):
    return max(sum(a == b for a, b in zip(sequence[i : i + len(motif)], motif)) for i in range(first, last))


def test_ecoli_promoters_have_a_minus_10_box():
    frame = dn.datasets.load("ecoli_promoters")  # position p is index p + 50
    has_box = frame["sequence"].map(lambda s: _best_hamming_match(s, "TATAAT", 30, 47) >= 5)
    assert has_box[frame["label"] == 1].mean() > 0.4 > 0.1 > has_box[frame["label"] == 0].mean()


def test_fly_core_promoters_have_tata_boxes_near_minus_30():
    frame = dn.datasets.load("fly_core_promoters")  # index i is position i - 100 relative to the TSS
    starts = {label: np.zeros(100) for label in (0, 1)}
    for sequence, label in zip(frame["sequence"], frame["label"]):
        for match in re.finditer(r"(?=TATA[AT]A[AT])", sequence):
            starts[label][match.start()] += 1
    near = {label: counts[65:81].sum() / (frame["label"] == label).sum() for label, counts in starts.items()}
    assert near[1] > 2 * near[0]
    assert -35 <= int(np.argmax(starts[1])) - 100 <= -25


@pytest.mark.parametrize(
    ("name", "tf", "min_auc"),
    [("ctcf_peaks", "CTCF", 0.9), ("oct4_peaks", "Pou5f1::Sox2", 0.8), ("mafk_peaks", "MAFK", 0.75)],
)
def test_known_motif_scores_higher_in_peaks_than_in_shuffles(name, tf, min_auc):
    frame = dn.datasets.load(name)
    matrices = dn.datasets.jaspar(tf)
    pfm = matrices[sorted(matrices)[0]]
    scores = dn.motif_scores(frame, pfm)
    assert roc_auc_score(frame["label"], scores) > min_auc
    assert scores[frame["label"] == 1].mean() > scores[frame["label"] == 0].mean() + 2


def test_jaspar_matrices():
    everything = dn.datasets.jaspar()
    assert len(everything) == dn.datasets.jaspar_info()["n"] > 800
    ctcf = dn.datasets.jaspar("ctcf")
    assert "MA0139.2" in ctcf and ctcf["MA0139.2"].attrs == {"id": "MA0139.2", "name": "CTCF"}
    assert list(ctcf["MA0139.2"].columns) == ["A", "C", "G", "T"] and len(ctcf["MA0139.2"]) == 15
    assert "CC BY 4.0" in dn.datasets.jaspar_info()["license"]
    with pytest.raises(InputFormatError, match="No JASPAR"):
        dn.datasets.jaspar("NOT_A_TF")


def test_shipped_files_match_the_manifest_checksums():
    data = resources.files("dnabert_nb.datasets") / "data"
    for name in EXPECTED:
        info = dn.datasets.info(name)
        assert hashlib.sha256((data / info["file"]).read_bytes()).hexdigest() == info["sha256"]
    jaspar = dn.datasets.jaspar_info()
    assert hashlib.sha256((data / jaspar["file"]).read_bytes()).hexdigest() == jaspar["sha256"]
    for name, entry in json.loads((data / "manifest.json").read_text())["variants"].items():
        assert hashlib.sha256(dn.datasets.variants(name).read_bytes()).hexdigest() == entry["sha256"]


def test_unknown_dataset_names_the_choices():
    with pytest.raises(InputFormatError, match="splice"):
        dn.datasets.load("splcie")


def test_dinucleotide_shuffle_is_seeded_and_preserves_counts():
    sequence = "ACGTTGCANNGGCTTACGATCGATCGGGATCCAGT" * 4
    one = dinucleotide_shuffle(sequence, np.random.default_rng(1))
    again = dinucleotide_shuffle(sequence, np.random.default_rng(1))
    other = dinucleotide_shuffle(sequence, np.random.default_rng(2))
    assert one == again != other and one != sequence
    count = collections.Counter
    assert count(zip(one, one[1:])) == count(zip(sequence, sequence[1:]))
    assert one[0] == sequence[0] and one[-1] == sequence[-1]


def test_missing_genome_package_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(_genome, "SEARCH_ROOT", tmp_path)
    with pytest.raises(dn.datasets.MissingGenomeError, match="apt-get install maffilter-examples"):
        dn.datasets.genome("hg19_chr22")
    assert not dn.datasets.genomes()["installed"].any()
    with pytest.raises(InputFormatError, match="hg19_chr22"):
        dn.datasets.genome("hg38")


def test_genome_split_holds_out_the_last_5_percent(tmp_path, monkeypatch):
    path = tmp_path / _genome.GENOMES["ecoli_k12"]["path"]
    path.parent.mkdir(parents=True)
    import gzip

    with gzip.open(path, "wt") as handle:
        handle.write(">one\n" + "ACGT" * 250 + "\n>two\n" + "ggcc" * 250 + "\n")
    monkeypatch.setattr(_genome, "SEARCH_ROOT", tmp_path)
    train = list(dn.datasets.genome("ecoli_k12"))
    valid = list(dn.datasets.genome("ecoli_k12", split="valid"))
    assert [r.id for r in train] == ["one", "two"] and [r.id for r in valid] == ["two[900:]"]
    assert sum(len(r.sequence) for r in train) == 1900 and valid[0].sequence == "GGCC" * 25
    path.write_text(">plain\nacgt\nACGT\n")  # an uncompressed FASTA reads the same way
    assert list(dn.datasets.genome("ecoli_k12", split="all")) == [("plain", "ACGTACGT")]


@pytest.mark.skipif(
    not (_genome.SEARCH_ROOT / _genome.GENOMES["hg19_chr22"]["path"]).is_file(),
    reason="maffilter-examples is not installed",
)
def test_hg19_chr22_from_the_debian_package():
    train = list(dn.datasets.genome("hg19_chr22"))
    valid = list(dn.datasets.genome("hg19_chr22", split="valid"))
    total = sum(len(r.sequence) for r in train) + sum(len(r.sequence) for r in valid)
    assert total > 20_000_000
    assert all(set(r.sequence) <= set("ACGTN") for r in train[:100])
    assert train[0].id.startswith("chr22:")
