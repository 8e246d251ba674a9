"""variant_effects: a VCF row and the same edit given locally agree, windows are centred and indels handled as
documented, both strands average, a wrong REF is caught; VCF and indexed FASTA read through pysam."""

import numpy as np
import pandas as pd
import pytest
import torch

import dnabert_nb as dn
from dnabert_nb import InputFormatError
from dnabert_nb.dna.alphabet import reverse_complement
from dnabert_nb.interpret.variants import variant_windows

pysam = pytest.importorskip("pysam")

CHR1 = "".join(np.random.default_rng(11).choice(list("ACGT"), size=1500))
CHR2 = "".join(np.random.default_rng(12).choice(list("ACGT"), size=300))


@pytest.fixture(scope="module")
def classifier(checkpoints):
    return dn.load(checkpoints(4, num_labels=2), precision="fp32")


@pytest.fixture
def genome(tmp_path):
    path = tmp_path / "genome.fa"
    path.write_text(f">chr1\n{CHR1}\n>chr2 second\n{CHR2}\n")
    return path


def vcf(tmp_path, rows):
    header = (
        "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n##contig=<ID=chr2>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    )
    path = tmp_path / "calls.vcf"
    path.write_text(header + "".join(f"{c}\t{p}\t{i}\t{r}\t{a}\t.\t.\t.\n" for c, p, i, r, a in rows))
    return path


def test_a_vcf_row_and_the_same_edit_given_locally_agree(classifier, genome, tmp_path):
    rows = [
        ("chr1", 700, "snv", CHR1[699], "A" if CHR1[699] != "A" else "C"),
        ("chr1", 20, "near_start", CHR1[19], "G" if CHR1[19] != "G" else "T"),
        ("chr1", 900, "deletion", CHR1[899:905], CHR1[899]),
        ("chr1", 1490, "insertion", CHR1[1489], CHR1[1489] + "GATTACA"),
        ("chr2", 150, "mnv,multi", CHR2[149:151], "AA,CC" if CHR2[149:151] not in ("AA", "CC") else "GG,TT"),
        ("chr1", 300, "symbolic", CHR1[299], "<DEL>"),
    ]
    with pytest.warns(UserWarning, match="1 symbolic or structural alleles skipped"):
        genomic = dn.variant_effects(classifier, vcf(tmp_path, rows), genome=genome, progress=False)
    assert genomic.attrs["skipped"] == 1 and len(genomic) == 6  # the multi-allelic record gave two rows
    assert genomic["ref_matches"].all() and np.allclose(genomic["ref_0"] + genomic["ref_1"], 1)
    local = genomic[["id", "pos", "ref", "alt"]].assign(
        pos=genomic["pos"] - 1, sequence=[CHR1 if c == "chr1" else CHR2 for c in genomic["chrom"]]
    )
    scored_locally = dn.variant_effects(classifier, local, progress=False)
    for column in ("ref_1", "alt_1", "diff_1", "log_odds_1", "window_start", "window_end"):
        np.testing.assert_allclose(scored_locally[column], genomic[column], atol=1e-6)
    size = classifier.tokenizer.max_nucleotides
    snv = genomic.iloc[0]
    assert snv["window_end"] - snv["window_start"] == size and abs((snv["window_start"] + size // 2) - 699) <= 1
    assert genomic.iloc[1]["window_start"] == 0  # shifted inwards at the chromosome's start
    window = CHR1[snv["window_start"] : snv["window_end"]]
    at = 699 - snv["window_start"]
    mutant = window[:at] + snv["alt"] + window[at + 1 :]
    expected = dn.predict(classifier, [window, mutant], progress=False)["prob_1"].to_numpy()
    np.testing.assert_allclose([snv["ref_1"], snv["alt_1"]], expected, atol=1e-6)
    assert snv["diff_1"] == pytest.approx(expected[1] - expected[0], abs=1e-6)


def test_indels_keep_the_window_start_and_length():
    text = "AAAACCCCGGGGTTTTACGT"
    fetch = lambda start, end: text[start:end]  # noqa: E731
    deletion = variant_windows(fetch, len(text), 6, "CCGG", "C", size=12)
    assert (
        deletion.reference == text[2:14] and deletion.alternative == "AACC" + "C" + "GGTT" + "TTA"
    )  # right flank taken in
    insertion = variant_windows(fetch, len(text), 6, "C", "CTTT", size=12)
    assert insertion.alternative == "AAAACC" + "CTTT" + "CG"  # the right end dropped
    at_the_end = variant_windows(fetch, len(text), 17, "CGT", "C", size=12)
    assert at_the_end.start == 8 and at_the_end.alternative == text[8:17] + "C"  # nothing left to take in
    assert not variant_windows(fetch, len(text), 6, "GG", "A", size=12).ref_matches


def test_both_strands_is_the_mean_of_the_two_strands(classifier):
    sequence = CHR2[:200]
    edit = pd.DataFrame({"sequence": [sequence], "pos": [100], "ref": [sequence[100]], "alt": ["N"]})
    edit.loc[0, "alt"] = "A" if sequence[100] != "A" else "C"
    both = dn.variant_effects(classifier, edit, both_strands=True, progress=False).iloc[0]
    mutant = sequence[:100] + edit.alt[0] + sequence[101:]
    forward = dn.predict(classifier, [sequence, mutant], progress=False)["prob_1"].to_numpy()
    reverse = dn.predict(classifier, [reverse_complement(sequence), reverse_complement(mutant)], progress=False)
    expected = (forward + reverse["prob_1"].to_numpy()) / 2
    np.testing.assert_allclose([both["ref_1"], both["alt_1"]], expected, atol=1e-6)


def test_the_alleles_of_one_site_each_get_their_own_numbers(checkpoints, genome, tmp_path):
    classifier = dn.load(checkpoints(4, num_labels=2), precision="fp32")
    torch.manual_seed(0)
    with torch.no_grad():  # weights large enough that every base matters
        for parameter in classifier.network.parameters():
            parameter.normal_(0, 0.3)
    ref = CHR1[699]
    alts = [base for base in "ACGT" if base != ref]
    path = vcf(tmp_path, [("chr1", 700, "multi", ref, ",".join(alts))])
    together = dn.variant_effects(classifier, path, genome=genome, progress=False)
    one_by_one = pd.concat(
        [dn.variant_effects(classifier, vcf(tmp_path, [("chr1", 700, "one", ref, alt)]), genome=genome,
                            progress=False) for alt in alts]
    )  # fmt: skip
    assert list(together.alt) == alts
    np.testing.assert_allclose(together[["ref_1", "alt_1"]], one_by_one[["ref_1", "alt_1"]], atol=2e-6)
    assert together.ref_1.nunique() == 1 and together.diff_1.abs().min() > 2e-5
    assert together.alt_1.round(6).nunique() == 3


def test_a_ref_that_the_genome_does_not_hold_is_caught(classifier, genome):
    wrong = "A" if CHR1[99] != "A" else "C"
    variants = pd.DataFrame(
        {"chrom": ["chr1", "chr1"], "pos": [100, 200], "ref": [wrong, CHR1[199]], "alt": ["G", "N"]}
    )
    variants.loc[1, "alt"] = "A" if CHR1[199] != "A" else "T"
    with pytest.raises(InputFormatError, match=f"row 0 \\(chr1:100\\): ref '{wrong}' but the genome has '{CHR1[99]}'"):
        dn.variant_effects(classifier, variants, genome=genome, progress=False)
    kept = dn.variant_effects(classifier, variants, genome=genome, on_mismatch="skip", progress=False)
    assert kept["ref_matches"].tolist() == [False, True]
    assert np.isnan(kept.loc[0, "diff_1"]) and np.isfinite(kept.loc[1, "diff_1"])


def test_a_bgzip_genome_and_ids_with_sequences(classifier, genome, tmp_path):
    pysam.tabix_compress(str(genome), str(tmp_path / "genome.fa.gz"))  # bgzip
    reader = dn.io.Genome(tmp_path / "genome.fa.gz")
    assert reader.lengths == {"chr1": 1500, "chr2": 300} and reader.fetch("chr2", 5, 15) == CHR2[5:15]
    by_id = pd.DataFrame({"id": ["b"], "pos": [10], "ref": [CHR2[10]], "alt": ["A" if CHR2[10] != "A" else "C"]})
    result = dn.variant_effects(classifier, by_id, sequences=pd.Series({"a": CHR1, "b": CHR2}), progress=False)
    assert result["ref_matches"].all()


@pytest.mark.parametrize(
    ("variants", "options", "message"),
    [
        (pd.DataFrame({"chrom": ["chr1"], "pos": [5], "ref": ["A"], "alt": ["C"]}), {}, "need genome="),
        (
            pd.DataFrame({"chrom": ["chr9"], "pos": [5], "ref": ["A"], "alt": ["C"]}),
            {"genome": True},
            "Chromosome 'chr9' is not in",
        ),
        (pd.DataFrame({"sequence": ["ACGTACGT"], "pos": [2], "ref": ["G"], "alt": ["<DEL>"]}), {}, "symbolic alleles"),
        (pd.DataFrame({"sequence": ["ACGTACGT"], "pos": [9], "ref": ["G"], "alt": ["A"]}), {}, "outside its 8-nt"),
        (pd.DataFrame({"pos": [2], "ref": ["G"], "alt": ["A"]}), {}, "need a 'sequence' column"),
        (
            pd.DataFrame({"chrom": ["chr1", "chr1"], "pos": [5, 6], "ref": ["A", "C"], "alt": ["C", np.nan]}),
            {"genome": True},
            "Variant rows 1: no alt",
        ),
        (
            pd.DataFrame({"chrom": [np.nan], "pos": [5], "ref": ["A"], "alt": ["C"]}),
            {"genome": True},
            "Variant rows 0: no chrom",
        ),
        (pd.DataFrame({"sequence": ["ACGTACGT"], "pos": [2], "ref": ["C"], "alt": [None]}), {}, "rows 0: no alt"),
        (pd.DataFrame({"sequence": ["ACGTACGT"], "pos": [2], "ref": [np.nan], "alt": ["A"]}), {}, "rows 0: no ref"),
        (
            pd.DataFrame({"sequence": ["ACGTACGT"], "pos": [2], "ref": ["G"], "alt": ["A"]}),
            {"on_mismatch": "x"},
            "on_mismatch",
        ),
    ],
)
def test_bad_variants(classifier, genome, variants, options, message):
    options = {**options, "genome": genome} if options.get("genome") else options
    with pytest.raises(InputFormatError, match=message):
        dn.variant_effects(classifier, variants, progress=False, **options)


def test_tracks_for_genome_browsers(classifier, genome, tmp_path):
    variants = pd.DataFrame(
        {
            "chrom": ["chr1", "chr2"],
            "pos": [700, 10],
            "id": ["rs1", None],
            "ref": [CHR1[699], CHR2[9:11]],
            "alt": ["N", "A"],
        }
    )
    variants.loc[0, "alt"] = "A" if CHR1[699] != "A" else "C"
    effects = dn.variant_effects(classifier, variants, genome=genome, progress=False)
    bedgraph = dn.io.write_bedgraph(effects, tmp_path / "effects.bedgraph", value="diff_1")
    lines = bedgraph.read_text().splitlines()
    assert lines[0] == 'track type=bedGraph name="effects"'
    assert lines[1].split("\t")[:3] == ["chr1", "699", "700"] and lines[2].split("\t")[:3] == ["chr2", "9", "11"]
    assert float(lines[1].split("\t")[3]) == pytest.approx(effects.diff_1[0], rel=1e-5)
    bed = dn.io.write_bed(effects, tmp_path / "effects.bed", score="diff_1").read_text().splitlines()
    assert [line.split("\t")[3] for line in bed[1:]] == ["rs1", "."] and {
        bed[1].split("\t")[4],
        bed[2].split("\t")[4],
    } == {"0", "1000"}
    per_base = dn.io.write_bedgraph(np.array([0.5, 0.25]), tmp_path / "attention.bedgraph", chrom="chr2", start=100)
    assert per_base.read_text().splitlines()[1:] == ["chr2\t100\t101\t0.5", "chr2\t101\t102\t0.25"]
    with pytest.raises(InputFormatError, match="need chrom="):
        dn.io.write_bedgraph(np.ones(3), tmp_path / "x.bedgraph")
    with pytest.raises(InputFormatError, match="value = 'nope'"):
        dn.io.write_bedgraph(effects, tmp_path / "x.bedgraph", value="nope")


def test_genome_fasta_lays_out_a_genome_package_and_names_a_missing_one(tmp_path, monkeypatch):
    import gzip

    from dnabert_nb.datasets import _genome

    spec = _genome.GENOMES["ecoli_k12"]
    packaged = tmp_path / "root" / spec["path"]
    packaged.parent.mkdir(parents=True)
    packaged.write_bytes(gzip.compress(f">NC_000913 E. coli\n{CHR2[:100]}\n{CHR2[100:]}\n".encode()))
    monkeypatch.setattr(_genome, "SEARCH_ROOT", tmp_path / "root")
    fasta = dn.datasets.genome_fasta("ecoli_k12", folder=tmp_path / "cache")
    assert dn.io.Genome(fasta).fetch("NC_000913", 0, 300) == CHR2
    assert dn.datasets.genome_fasta("ecoli_k12", folder=tmp_path / "cache") == fasta  # built once, then reused
    with pytest.raises(dn.datasets.MissingGenomeError, match="apt-get install maffilter-examples"):
        dn.datasets.genome_fasta("hg19_chr22", folder=tmp_path / "cache")
    shipped = dn.io.read_vcf(dn.datasets.variants("1000g_chr22"))  # the calls ship with the package, no apt needed
    assert len(shipped) == dn.datasets.variant_files().set_index("name").n["1000g_chr22"] == 10_376
    assert set(shipped.chrom) == {"22"} and shipped.pos.is_monotonic_increasing


def test_a_vcf_reads_the_same_plain_gzip_and_bgzip(tmp_path):
    import gzip

    plain = vcf(tmp_path, [("chr1", 700, "snv", CHR1[699], "A"), ("chr2", 10, "two", CHR2[9], "<DEL>")])
    gzipped = tmp_path / "calls_gzip.vcf.gz"
    gzipped.write_bytes(gzip.compress(plain.read_bytes()))
    bgzipped = tmp_path / "calls_bgzip.vcf.gz"
    pysam.tabix_compress(str(plain), str(bgzipped))
    with pytest.warns(UserWarning, match="1 symbolic"):
        tables = [dn.io.read_vcf(path) for path in (plain, gzipped, bgzipped)]
    assert all(table.equals(tables[0]) for table in tables) and tables[0].id.tolist() == ["snv"]
    broken = tmp_path / "broken.vcf.gz"
    broken.write_bytes(gzip.compress(plain.read_bytes())[:40])
    with pytest.raises(InputFormatError, match="not a readable gzip file"):
        dn.io.read_vcf(broken)


def test_real_chr22_calls_match_the_hg19_layout_wherever_it_has_sequence(tmp_path):
    from dnabert_nb.datasets import _genome

    if not (_genome.SEARCH_ROOT / _genome.GENOMES["hg19_chr22"]["path"]).is_file():
        pytest.skip("maffilter-examples is not installed")
    calls = dn.io.read_vcf(dn.datasets.variants("1000g_chr22"))
    genome = dn.io.Genome(dn.datasets.genome_fasta("hg19_chr22", folder=tmp_path))
    assert genome.lengths == {"chr22": 51_304_566} and len(calls) > 10_000
    found = [
        genome.fetch(chrom, pos - 1, pos - 1 + len(ref)) for chrom, pos, ref in zip(calls.chrom, calls.pos, calls.ref)
    ]
    covered = np.array(["N" not in text for text in found])
    assert covered.mean() > 0.5  # the alignment rows cover most of the region
    assert all(text == ref for text, ref, ok in zip(found, calls.ref, covered) if ok)  # and agree with every call
