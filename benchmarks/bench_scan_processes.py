"""Throughput of ``scan`` and ``variant_effects`` on one process and on several (torchrun), fp32 and int8.

``scan``: the ready CTCF model along a region of human chr20 (hg19, Debian ``vt-examples``) at its default width
and step. ``variant_effects``: the ready splice model on the 1000 Genomes chr22 calls shipped with the package,
against hg19 chr22 (Debian ``maffilter-examples``). Each configuration runs in a fresh process group: one process
with all the threads, or ``--processes`` processes launched by ``torch.distributed.run`` with the threads split
between them; the first process times the call (every process returns the whole table) and checks it against
the one-process rows. From windows and variants a second, the time for the whole of chr20 and for a million
variants follows.

Usage: python benchmarks/bench_scan_processes.py [--region chr20:40000000-40300000] [--variants 2000]
       [--processes 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def work(args: argparse.Namespace) -> None:
    """One configuration, in this process (one of several under torchrun): time scan and variant_effects."""
    import torch

    import dnabert_nb as dn

    warnings.simplefilter("ignore")
    scanner = dn.load("mini6-ctcf", precision=args.precision)
    chr20 = dn.io.Genome(dn.datasets.genome_fasta("hg19_chr20"))
    dn.scan(scanner, chr20, region="20:1000000-1002000", progress=False)  # warm-up: int8 copy, process group
    started = time.perf_counter()
    scanned = dn.scan(scanner, chr20, region=args.region, progress=False)
    scan_seconds = time.perf_counter() - started
    splice = dn.load("mini6-splice", precision=args.precision)
    chr22 = dn.io.Genome(dn.datasets.genome_fasta("hg19_chr22"))
    calls = dn.io.read_vcf(dn.datasets.variants("1000g_chr22"))
    calls = calls[(calls.ref.str.len() <= 20) & (calls.alt.str.len() <= 20)].head(args.variants)
    started = time.perf_counter()
    effects = dn.variant_effects(splice, calls, genome=chr22, on_mismatch="skip", progress=False)
    variant_seconds = time.perf_counter() - started
    if dn.is_main_process():
        scanned.to_csv(Path(args.output) / "scan.csv", index=False)
        effects.to_csv(Path(args.output) / "effects.csv", index=False)
        timing = {"scan_seconds": scan_seconds, "windows": len(scanned), "variant_seconds": variant_seconds}
        timing.update(variants=len(effects), threads=torch.get_num_threads(), chr20=chr20.lengths[chr20.resolve("20")])
        (Path(args.output) / "timing.json").write_text(json.dumps(timing))


def run(args: argparse.Namespace, processes: int, precision: str, output: Path) -> dict:
    """Run :func:`work` in ``processes`` fresh processes; return the first one's timing."""
    output.mkdir(parents=True)
    threads = max(1, args.threads // processes)
    options = ["--worker", "--region", args.region, "--variants", str(args.variants), "--precision", precision]
    options += ["--output", str(output)]
    launcher = [sys.executable] if processes == 1 else [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    launcher += [] if processes == 1 else ["--nproc_per_node", str(processes)]
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run([*launcher, __file__, *options], env=environment, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads((output / "timing.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="chr20:40000000-40300000")
    parser.add_argument("--variants", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="torch threads in all, split between the processes")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        work(args)
        return
    print(f"{platform.processor() or platform.machine()}, {args.threads} threads in all, region {args.region}")
    folder = Path(tempfile.mkdtemp(prefix="bench-scan-"))
    print("\n| precision | processes x threads | scan windows/s | whole chr20 | variants/s | a million variants |")
    print("|---|---|---|---|---|---|")
    for precision in ("fp32", "int8"):
        single = None
        for processes in (1, args.processes):
            output = folder / f"{precision}-{processes}"
            timing = run(args, processes, precision, output)
            tables = {name: pd.read_csv(output / f"{name}.csv") for name in ("scan", "effects")}
            if single is None:
                single = tables
            else:
                for name, table in tables.items():  # several processes give one process's rows
                    pd.testing.assert_frame_equal(table, single[name], atol=1e-5)
            windows_per_second = timing["windows"] / timing["scan_seconds"]
            step = np.median(np.diff(tables["scan"]["start"]))
            chromosome_hours = timing["chr20"] / step / windows_per_second / 3600
            variants_per_second = timing["variants"] / timing["variant_seconds"]
            print(
                f"| {precision} | {processes} x {max(1, args.threads // processes)} | {windows_per_second:.0f} | "
                f"{chromosome_hours:.1f} h | {variants_per_second:.0f} | {1e6 / variants_per_second / 3600:.1f} h |",
                flush=True,
            )


if __name__ == "__main__":
    main()
