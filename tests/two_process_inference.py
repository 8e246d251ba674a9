"""Run by test_distributed.py under `torchrun --nproc_per_node 2` (and once as one process): scan (fp32 and int8)
and variant_effects of a tiny model, each process writing the tables it got back and the number of windows it ran."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

import dnabert_nb as dn
from dnabert_nb.core import inference
from dnabert_nb.core.processes import Processes
from dnabert_nb.core.runtime import resolve_device
from dnabert_nb.testing import TINY_SIZES, official_config, write_checkpoint

out = Path(sys.argv[1])
rank = Processes(resolve_device("cpu")).rank
windows_run = []
original_pack_inputs = inference.pack_inputs


def counting_pack_inputs(token_ids, starts, counts):
    windows_run.append(len(starts))
    return original_pack_inputs(token_ids, starts, counts)


inference.pack_inputs = counting_pack_inputs
rng = np.random.default_rng(5)
genome = {"chr1": "".join(rng.choice(list("ACGT"), size=4000)), "chr2": "".join(rng.choice(list("ACGT"), size=900))}
model = dn.load(write_checkpoint(out / f"model-{rank}", official_config(4, **TINY_SIZES), num_labels=2))
scanned = dn.scan(model, genome, width=120, step=40, progress=False)
ready = dn.load("mini6-ctcf", precision="int8")  # trained weights: int8 scales activations per batch
scanned_int8 = dn.scan(ready, genome, step=40, batch_size=8, progress=False)
positions = [101, 700, 1500, 2222, 3900]
calls = pd.DataFrame(
    {
        "chrom": "chr1",
        "pos": positions,
        "id": [f"v{p}" for p in positions],
        "ref": [genome["chr1"][p - 1] for p in positions],
        "alt": ["A" if genome["chr1"][p - 1] != "A" else "C" for p in positions],
    }
)
fasta = out / f"genome-{rank}.fa"
fasta.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in genome.items()))
effects = dn.variant_effects(model, calls, genome=fasta, progress=False)
scanned.to_csv(out / f"scan-{rank}.csv", index=False)
scanned_int8.to_csv(out / f"scan_int8-{rank}.csv", index=False)
effects.to_csv(out / f"effects-{rank}.csv", index=False)
(out / f"windows-{rank}.txt").write_text(str(sum(windows_run)))
if dn.is_main_process():
    (out / f"writer-{rank}").touch()
