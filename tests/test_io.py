"""Readers: FASTA, DNABERT TSV and GUE folders, with file and line named on malformed input."""

from pathlib import Path

import pytest

import dnabert_nb as dn
from dnabert_nb import InputFormatError

GUE = Path(__file__).resolve().parents[1].parent / "shared" / "gue"


def test_read_fasta_joins_lines_and_keeps_descriptions(tmp_path):
    path = tmp_path / "x.fa"
    path.write_text(">a first one\nACGT\nac gt\n\n>b\nNNNN\n")
    frame = dn.read_fasta(path)
    assert frame.to_dict("list") == {
        "id": ["a", "b"],
        "description": ["first one", ""],
        "sequence": ["ACGTacgt", "NNNN"],
    }


@pytest.mark.parametrize(("text", "line"), [("ACGT\n>a\nACGT\n", 1), (">a\nACGT\n>\nACGT\n", 3)])
def test_malformed_fasta_names_the_line(tmp_path, text, line):
    path = tmp_path / "bad.fa"
    path.write_text(text)
    with pytest.raises(InputFormatError, match=f"bad.fa'?, line {line}"):
        dn.read_fasta(path)


def test_read_dnabert_tsv_rebuilds_sequences(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("sequence\tlabel\nACGTAC CGTACG GTACGT\t1\nTTTTTT TTTTTA\t0\n")
    frame = dn.read_dnabert_tsv(path)
    assert frame["sequence"].tolist() == ["ACGTACGT", "TTTTTTA"] and frame["label"].tolist() == [1, 0]
    for header in ("seq\ttarget\n", "dna\tclass\n", ""):  # any header, or none
        path.write_text(header + "ACGTAC CGTACG GTACGT\t1\nTTTTTT TTTTTA\t0\n")
        assert dn.read_dnabert_tsv(path).equals(frame)


@pytest.mark.parametrize(
    ("body", "fragment"), [("ACGTAC CGTACG\n", "line 3"), ("ACGTAC TTTTTT\t1\n", "line 3: k-mer 2")]
)
def test_malformed_dnabert_tsv_names_the_line(tmp_path, body, fragment):
    path = tmp_path / "dev.tsv"
    path.write_text("sequence\tlabel\nACGTAC CGTACG\t1\n" + body)
    with pytest.raises(InputFormatError, match=fragment):
        dn.read_dnabert_tsv(path)


@pytest.mark.skipif(not GUE.is_dir(), reason="../shared/gue is not available")
def test_read_gue_on_the_shared_promoter_tasks():
    sizes = {"prom_core_tata": (4904, 613, 613, 70), "prom_300_tata": (4904, 613, 613, 300)}
    for task, (train, valid, test, length) in sizes.items():
        frame = dn.read_gue(GUE / task)
        assert frame["split"].value_counts().to_dict() == {"train": train, "valid": valid, "test": test}
        assert set(frame["label"]) == {0, 1} and (frame["sequence"].str.len() == length).all()


def test_malformed_gue_names_the_file_and_line(tmp_path):
    for name in ("train.csv", "dev.csv", "test.csv"):
        (tmp_path / name).write_text("sequence,label\nACGT,1\n")
    (tmp_path / "dev.csv").write_text("sequence,label\nACGT,1\nACGT\n")
    with pytest.raises(InputFormatError, match="dev.csv'?, line 3"):
        dn.read_gue(tmp_path)
    (tmp_path / "test.csv").unlink()
    with pytest.raises(InputFormatError, match="no test.csv"):
        dn.read_gue(tmp_path)
