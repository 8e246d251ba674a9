"""write_motifs: JASPAR, MEME and TRANSFAC files read back by a small parser (and by Biopython where installed)."""

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import dnabert_nb as dn

BASES = ["A", "C", "G", "T"]


def motifs() -> dict[str, pd.DataFrame]:
    """One matrix of counts (with a TF name holding a space) and one of probabilities (columns out of order)."""
    counts = pd.DataFrame({"A": [4, 19, 0, 0], "C": [16, 0, 20, 0], "G": [0, 1, 0, 20], "T": [0, 0, 0, 0]})
    counts.attrs = {"id": "MA0004.1", "name": "Arnt like"}
    probabilities = pd.DataFrame(
        {
            "T": [0.1, 0.0, 0.25, 0.97],
            "G": [0.2, 0.0, 0.25, 0.01],
            "C": [0.3, 0.5, 0.25, 0.01],
            "A": [0.4, 0.5, 0.25, 0.01],
        }
    )
    return {"MA0004.1": counts, "motif 2": probabilities}


def expected_probabilities(frame: pd.DataFrame) -> np.ndarray:
    values = frame[BASES].to_numpy(dtype=float)
    return values / values.sum(axis=1, keepdims=True)


def parse_jaspar(text: str) -> dict[str, tuple[str, np.ndarray]]:
    """Id → (name, positions × A C G T)."""
    parsed, current = {}, None
    for line in text.splitlines():
        if line.startswith(">"):
            motif_id, name = line[1:].split()
            current = parsed[motif_id] = (name, {})
        elif line.strip():
            match = re.fullmatch(r"([ACGT])\s+\[(.*)\]", line.strip())
            assert match, line
            current[1][match.group(1)] = [float(v) for v in match.group(2).split()]
    return {key: (name, np.array([rows[b] for b in BASES]).T) for key, (name, rows) in parsed.items()}


def parse_meme(text: str) -> dict[str, tuple[str, int, np.ndarray]]:
    """Id → (name or id, nsites, positions × A C G T probabilities)."""
    lines = text.splitlines()
    assert lines[0] == "MEME version 4"
    assert "ALPHABET= ACGT" in lines
    assert "strands: + -" in lines
    background = lines[lines.index("Background letter frequencies") + 1]
    assert background.split() == ["A", "0.25", "C", "0.25", "G", "0.25", "T", "0.25"]
    parsed = {}
    for index, line in enumerate(lines):
        if line.startswith("MOTIF "):
            words = line.split()
            assert len(words) in (2, 3), line
            header = lines[index + 1]
            match = re.fullmatch(r"letter-probability matrix: alength= 4 w= (\d+) nsites= (\d+) E= 0", header)
            assert match, header
            width = int(match.group(1))
            rows = [[float(v) for v in row.split()] for row in lines[index + 2 : index + 2 + width]]
            assert lines[index + 2 + width] == ""
            parsed[words[1]] = (words[-1], int(match.group(2)), np.array(rows))
    return parsed


def parse_transfac(text: str) -> dict[str, tuple[str, np.ndarray]]:
    """AC → (ID, positions × A C G T), checking the XX lines, the P0 header, the row numbers and the ``//`` ends."""
    parsed = {}
    for block in text.split("//\n"):
        if not block.strip():
            continue
        lines = block.splitlines()
        assert lines[:4:2] == [lines[0], lines[2]] and lines[1] == lines[3] == "XX"
        assert lines[0].startswith("AC  ") and lines[2].startswith("ID  ")
        assert lines[4].split() == ["P0", *BASES]
        assert lines[4].startswith("P0      A")
        rows = lines[5:-1]
        assert lines[-1] == "XX"
        assert [row.split()[0] for row in rows] == [f"{i:02d}" for i in range(1, len(rows) + 1)]
        matrix = np.array([[float(v) for v in row.split()[1:]] for row in rows])
        parsed[lines[0].split()[1]] = (lines[2].split()[1], matrix)
    return parsed


def check_count_matrices(parsed, given):
    """The counts motif comes back exact; the probabilities motif as whole counts of 100 sites."""
    assert list(parsed) == ["MA0004.1", "motif_2"]
    name, counts = parsed["MA0004.1"]
    assert name == "Arnt_like"
    np.testing.assert_array_equal(counts, given["MA0004.1"][BASES].to_numpy())
    name, counts = parsed["motif_2"]
    assert name == "motif_2"
    np.testing.assert_array_equal(counts.sum(axis=1), 100)  # probabilities as counts of 100 sites
    assert np.all(counts == np.round(counts))
    np.testing.assert_allclose(counts / 100, expected_probabilities(given["motif 2"]), atol=1e-3)


def test_jaspar_round_trip(tmp_path):
    given = motifs()
    path = dn.io.write_motifs(given, tmp_path / "m.jaspar")
    assert path == tmp_path / "m.jaspar"
    check_count_matrices(parse_jaspar(path.read_text()), given)


def test_meme_round_trip(tmp_path):
    given = motifs()
    path = dn.io.write_motifs(given, tmp_path / "m.meme", format="MEME")
    parsed = parse_meme(path.read_text())
    assert list(parsed) == ["MA0004.1", "motif_2"]
    name, nsites, probabilities = parsed["MA0004.1"]
    assert (name, nsites) == ("Arnt_like", 20)
    np.testing.assert_allclose(probabilities, expected_probabilities(given["MA0004.1"]), atol=1e-3)
    name, nsites, probabilities = parsed["motif_2"]
    assert (name, nsites) == ("motif_2", 100)
    np.testing.assert_allclose(probabilities, expected_probabilities(given["motif 2"]), atol=1e-3)


def test_transfac_round_trip(tmp_path):
    given = motifs()
    text = dn.io.write_motifs(given, tmp_path / "m.transfac", format="transfac").read_text()
    assert text.endswith("//\n")
    check_count_matrices(parse_transfac(text), given)


def test_probabilities_use_nsites_and_keep_row_sums(tmp_path):
    thirds = pd.DataFrame({"A": [1 / 3, 0.5], "C": [1 / 3, 0.5], "G": [1 / 3, 0.0], "T": [0.0, 0.0]})
    thirds.attrs = {"nsites": 10}
    _, counts = parse_jaspar(dn.io.write_motifs({"m": thirds}, tmp_path / "m.jaspar").read_text())["m"]
    np.testing.assert_array_equal(counts, [[4, 3, 3, 0], [5, 5, 0, 0]])  # rounded, each row summing to 10
    _, nsites, _ = parse_meme(dn.io.write_motifs({"m": thirds}, tmp_path / "m.meme", format="meme").read_text())["m"]
    assert nsites == 10


def test_single_dataframe_and_attention_style_pfms(tmp_path):
    lone = pd.DataFrame({"A": [1.0], "C": [2.0], "G": [3.0], "T": [4.0]})
    parsed = parse_jaspar(dn.io.write_motifs(lone, tmp_path / "a.jaspar").read_text())
    assert list(parsed) == ["motif_1"]
    lone.attrs = {"id": "motif_3", "name": "CCGCGG"}
    parsed = parse_meme(dn.io.write_motifs(lone, tmp_path / "b.meme", format="meme").read_text())
    assert list(parsed) == ["motif_3"] and parsed["motif_3"][0] == "CCGCGG"
    np.testing.assert_allclose(parsed["motif_3"][2], [[0.1, 0.2, 0.3, 0.4]], atol=1e-6)


def test_shipped_jaspar_matrices_round_trip(tmp_path):
    given = dn.datasets.jaspar("CTCF")
    parsed = parse_jaspar(dn.io.write_motifs(given, tmp_path / "ctcf.jaspar").read_text())
    assert list(parsed) == list(given)
    for motif_id, frame in given.items():
        assert parsed[motif_id][0] == "CTCF"
        np.testing.assert_array_equal(parsed[motif_id][1], frame.to_numpy(dtype=float))


def test_biopython_is_not_required(tmp_path):
    script = (
        "import sys; sys.modules['Bio'] = None\n"
        "import pandas as pd, dnabert_nb as dn\n"
        "m = {'x': pd.DataFrame({'A': [1], 'C': [0], 'G': [0], 'T': [0]})}\n"
        "for f in ('jaspar', 'meme', 'transfac'):\n"
        f"    dn.io.write_motifs(m, {str(tmp_path)!r} + '/x.' + f, format=f)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.jaspar", "x.meme", "x.transfac"]


@pytest.mark.parametrize(
    ("pfms", "kwargs", "message"),
    [
        (motifs(), {"format": "homer"}, "'jaspar', 'meme', 'transfac'"),
        ({"noT": pd.DataFrame({"A": [1], "C": [1], "G": [1]})}, {}, "'noT' lacks T"),
        ({"neg": pd.DataFrame({"A": [1], "C": [-1], "G": [1], "T": [1]})}, {}, "'neg', row 0"),
        ({"nan": pd.DataFrame({"A": [1], "C": [np.nan], "G": [1], "T": [1]})}, {}, "'nan', row 0"),
        ({"empty": pd.DataFrame(columns=BASES)}, {}, "'empty' has no rows"),
        ({"extra": pd.DataFrame({"A": [1], "C": [1], "G": [1], "T": [1], "N": [1]})}, {}, "'extra' has columns"),
        ([pd.DataFrame({"A": [1], "C": [1], "G": [1], "T": [1]})], {}, "pfms is a list; give a dict"),
        ({}, {}, "pfms is empty"),
    ],
)
def test_errors(tmp_path, pfms, kwargs, message):
    with pytest.raises(dn.InputFormatError, match=re.escape(message)):
        dn.io.write_motifs(pfms, tmp_path / "m.txt", **kwargs)
    assert not (tmp_path / "m.txt").exists()


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(dn.InputFormatError, match="nowhere.*does not exist"):
        dn.io.write_motifs(motifs(), tmp_path / "nowhere" / "m.jaspar")


def _biopython_reads(tmp_path, format, bio_format):
    motifs_module = pytest.importorskip("Bio.motifs")
    path = dn.io.write_motifs(motifs(), tmp_path / f"m.{format}", format=format)
    with open(path) as handle:
        record = list(motifs_module.parse(handle, bio_format))
    assert len(record) == 2
    for motif, frame in zip(record, motifs().values()):
        matrix = np.array([[motif.counts[base][i] for base in BASES] for i in range(motif.length)], dtype=float)
        np.testing.assert_allclose(matrix / matrix.sum(axis=1, keepdims=True), expected_probabilities(frame), atol=1e-3)
    return record


def test_biopython_reads_jaspar(tmp_path):
    record = _biopython_reads(tmp_path, "jaspar", "jaspar")
    assert [(m.matrix_id, m.name) for m in record] == [("MA0004.1", "Arnt_like"), ("motif_2", "motif_2")]


def test_biopython_reads_meme(tmp_path):
    record = _biopython_reads(tmp_path, "meme", "minimal")
    assert [m.name for m in record] == ["MA0004.1", "motif_2"]


def test_biopython_reads_transfac(tmp_path):
    record = _biopython_reads(tmp_path, "transfac", "transfac")
    assert [(m["AC"], m["ID"]) for m in record] == [("MA0004.1", "Arnt_like"), ("motif_2", "motif_2")]
