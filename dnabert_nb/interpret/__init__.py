"""Questions asked of a model: ``attention`` (attention_scores), ``contributions`` (token_contributions, for a
mean-pooled head), ``motifs`` (attention_motifs), ``compare``
(compare_motifs against JASPAR), ``pfm`` (position frequency matrices: probabilities, information, log-odds,
reverse complement, motif scores).
"""
