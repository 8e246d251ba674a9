"""Speed of tokenisation and predict against the reference DNABERT pipeline, in the same run.

Reference: space-separated k-mers → transformers.BertTokenizer(do_lower_case=False) →
BertForSequenceClassification, fp32, transformers defaults, fixed-size batches.
Model: DNABERT-6 size (hidden 768, 12 layers, 12 heads, vocab 4101), random weights.

int8 (``precision="int8"``) is timed beside them; its agreement with fp32 needs trained weights (bench_int8.py).

Usage: python benchmarks/bench_predict.py [--n-predict 256] [--n-tokenize 2000] [--length 300]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
import warnings

import numpy as np
import torch
from transformers import BertTokenizerFast

import dnabert_nb as dn
from dnabert_nb.core.runtime import resolve_precision
from dnabert_nb.testing import (
    official_config,
    reference_kmer_text,
    reference_predict,
    reference_tokenizer,
    write_checkpoint,
)


def timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-predict", type=int, default=256)
    parser.add_argument("--n-tokenize", type=int, default=2000)
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    sequences = [
        "".join(rng.choice(list("ACGT"), size=args.length)) for _ in range(max(args.n_tokenize, args.n_predict))
    ]
    folder = tempfile.mkdtemp(prefix="dnabert6-bench-")
    write_checkpoint(folder, official_config(6), num_labels=2, weights="model.safetensors")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")

    # Tokenizer: 2,000 x 300 bp by default
    batch = sequences[: args.n_tokenize]
    ours_tok = dn.KmerTokenizer(6)
    slow, fast = reference_tokenizer(folder), BertTokenizerFast(f"{folder}/vocab.txt", do_lower_case=False)
    ours_ids, t_ours = timed(lambda: ours_tok.encode(batch)["input_ids"])
    slow_ids, t_slow = timed(lambda: slow([reference_kmer_text(s, 6) for s in batch], padding=True)["input_ids"])
    fast_ids, t_fast = timed(lambda: fast([reference_kmer_text(s, 6) for s in batch], padding=True)["input_ids"])
    assert np.array_equal(ours_ids, np.array(slow_ids)) and np.array_equal(ours_ids, np.array(fast_ids))
    print(f"\ntokenize {len(batch)} x {args.length} bp (identical ids):")
    print(f"  KmerTokenizer.encode   {t_ours * 1e3:9.1f} ms")
    print(f"  BertTokenizer          {t_slow * 1e3:9.1f} ms   ratio {t_slow / t_ours:6.1f}x")
    print(f"  BertTokenizerFast      {t_fast * 1e3:9.1f} ms   ratio {t_fast / t_ours:6.1f}x")

    # predict: DNABERT-6 size model
    batch = sequences[: args.n_predict]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = dn.load(folder)
    dn.predict(model, batch[: args.batch_size], progress=False)  # warm-up (builds the bf16 copy)
    auto, t_auto = timed(lambda: dn.predict(model, batch, batch_size=args.batch_size, progress=False))
    exact, t_exact = timed(
        lambda: dn.predict(model, batch, batch_size=args.batch_size, precision="fp32", progress=False)
    )
    dn.predict(model, batch[: args.batch_size], precision="int8", progress=False)  # warm-up (builds the int8 copy)
    quantised, t_int8 = timed(
        lambda: dn.predict(model, batch, batch_size=args.batch_size, precision="int8", progress=False)
    )
    reference, t_ref = timed(lambda: reference_predict(folder, batch, 6, batch_size=args.batch_size))
    agreement = (auto["label"].astype(int).to_numpy() == reference.argmax(axis=1)).mean()
    max_diff = np.abs(exact[["prob_0", "prob_1"]].to_numpy() - reference).max()
    dtype = resolve_precision("auto", model.device)
    print(f"\npredict {len(batch)} x {args.length} bp, batch {args.batch_size}, DNABERT-6 size (768 x 12 layers):")
    print(f"  reference (fp32)       {len(batch) / t_ref:7.2f} seq/s")
    print(
        f"  predict fp32           {len(batch) / t_exact:7.2f} seq/s   ratio {t_ref / t_exact:5.2f}x   "
        f"max |dprob| {max_diff:.1e}"
    )
    print(
        f"  predict auto ({str(dtype).split('.')[-1]})  {len(batch) / t_auto:7.2f} seq/s   "
        f"ratio {t_ref / t_auto:5.2f}x   "
        f"argmax agreement {agreement:.3f}"
    )
    print(
        f"  predict int8           {len(batch) / t_int8:7.2f} seq/s   ratio {t_ref / t_int8:5.2f}x   "
        f"{t_exact / t_int8:.2f}x predict fp32 (random weights: agreement is measured by bench_int8.py)"
    )


if __name__ == "__main__":
    main()
