"""Questions asked of a model: ``attention`` (attention_scores), ``motifs`` (attention_motifs), ``compare``
(compare_motifs against JASPAR), ``pfm`` (position frequency matrices: probabilities, information, log-odds,
reverse complement, motif scores).
"""
