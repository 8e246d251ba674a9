"""Masked-token accuracy of a DNABERT model on held-out human DNA, beside a k-mer-frequency predictor.

Both are scored on the same masked windows of the held-out last 5% of chr22 (hg19; Debian
maffilter-examples), masked the DNABERT way (k-spans, ~15% of tokens, 80/10/10).
The k-mer-frequency predictor fills each masked k-mer with the k-mer most frequent on the
training part of chr22 among those agreeing with every nucleotide that unmasked neighbouring
k-mers reveal (an order-(k-1) Markov predictor using both sides); it does not see the masked
positions' inputs, while the model sees them as [MASK], a random k-mer or (10%) the original.

Usage: python benchmarks/bench_pretrain.py [--model PATH] [--windows 1024] [--max-length CONTEXT] [--by-position 64]
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import torch

import dnabert_nb as dn
from dnabert_nb.core.tokenizer import SPECIAL_TOKENS, UNK_ID
from dnabert_nb.training.corpus import Corpus
from dnabert_nb.training.masking import mask_tokens


def corpus(tokenizer: dn.KmerTokenizer, split: str) -> Corpus:
    records = list(dn.datasets.genome("hg19_chr22", split=split))
    return Corpus(tokenizer, [r.sequence for r in records], [r.id for r in records])


def kmer_frequency_predictions(kmer_ids: np.ndarray, masked: np.ndarray, counts: np.ndarray, k: int) -> np.ndarray:
    """Predict every masked token from the nucleotides its unmasked neighbours reveal."""
    codes_of = np.array(list(itertools.product(range(4), repeat=k)))  # vocabulary order: product("ATCG")
    batch, length = kmer_ids.shape
    known = np.full((batch, length + k - 1), -1)
    visible = ~masked & (kmer_ids != UNK_ID)
    for offset in range(k):  # each visible k-mer reveals its k nucleotides
        rows, columns = np.nonzero(visible)
        known[rows, columns + offset] = codes_of[kmer_ids[rows, columns] - len(SPECIAL_TOKENS), offset]
    rows, columns = np.nonzero(masked)
    patterns = np.stack([known[rows, columns + offset] for offset in range(k)], axis=1)
    predictions = np.empty(len(rows), dtype=np.int64)
    for first in range(0, len(rows), 1024):
        chunk = patterns[first : first + 1024, None, :]
        agrees = ((codes_of[None] == chunk) | (chunk == -1)).all(axis=2)
        predictions[first : first + 1024] = np.where(agrees, counts[None], -1).argmax(axis=1)
    full = np.zeros_like(kmer_ids)
    full[rows, columns] = predictions + len(SPECIAL_TOKENS)
    return full


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="checkpoint folder; default the embedded model")
    parser.add_argument("--windows", type=int, default=1024)
    parser.add_argument("--max-length", type=int, default=None, help="tokens per window; default the model's context")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--by-position", type=int, default=0, help="also the model's accuracy in blocks of this many positions"
    )
    args = parser.parse_args()
    model = dn.load(args.model)
    args.max_length = args.max_length or model.tokenizer.max_kmers + 2
    tokenizer, k = model.tokenizer, model.k
    rng = np.random.default_rng(args.seed)
    held_out = corpus(tokenizer, "valid")
    kmer_ids = held_out.sample(rng, args.windows, args.max_length - 2)
    inputs, labels = mask_tokens(kmer_ids, rng, k, tokenizer.vocab_size)
    targets = labels[:, 1:-1] != -100

    hits = np.zeros(args.max_length)  # by position, [CLS] and [SEP] included (never masked)
    network = model.network.eval()
    with torch.inference_mode():
        for first in range(0, args.windows, 16):
            batch = torch.from_numpy(inputs[first : first + 16]).to(model.device)
            predicted = network(input_ids=batch, attention_mask=torch.ones_like(batch)).logits.argmax(-1).cpu().numpy()
            hits += ((predicted == labels[first : first + 16]) & (labels[first : first + 16] != -100)).sum(0)
    masked_by_position = (labels != -100).sum(0)
    correct, total = int(hits.sum()), int(masked_by_position.sum())
    model_accuracy = correct / total

    training = corpus(tokenizer, "train").token_ids
    counts = np.bincount(training[training >= len(SPECIAL_TOKENS)] - len(SPECIAL_TOKENS), minlength=4**k)
    masked = (inputs[:, 1:-1] != kmer_ids) | targets
    predicted = kmer_frequency_predictions(kmer_ids, masked, counts, k)
    baseline_accuracy = float((predicted[targets] == kmer_ids[targets]).mean())
    print(f"held-out chr22: {args.windows} windows x {args.max_length} tokens, {total} masked targets")
    print(f"  {model.source}: masked-token accuracy {model_accuracy:.4f}")
    print(f"  k-mer-frequency predictor: masked-token accuracy {baseline_accuracy:.4f}")
    if args.by_position:
        print(f"  {model.source} by position (token index, [CLS] = 0):")
        for start in range(0, args.max_length, args.by_position):
            block = slice(start, start + args.by_position)
            print(
                f"    {start:4d}-{min(start + args.by_position, args.max_length) - 1:4d}: "
                f"{hits[block].sum() / max(masked_by_position[block].sum(), 1):.4f}"
            )


if __name__ == "__main__":
    main()
