"""Questions asked of a model: ``attention`` (attention_scores), ``contributions`` (token_contributions, for a
mean-pooled head), ``motifs`` (attention_motifs), ``compare``
(compare_motifs against JASPAR), ``motif_scores`` (a known motif's best match in each sequence), ``scan`` (a
model along a genome), ``mutagenesis``, ``variants``, ``seqlets`` and ``enrichment`` (the motif searches).
"""
