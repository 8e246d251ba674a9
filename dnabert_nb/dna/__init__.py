"""The ground floor, on which everything else stands: ``errors`` (the one error hierarchy), ``alphabet``
(nucleotide codes), ``shuffle`` (composition-keeping shuffles), ``pfm`` (position frequency matrices:
probabilities, information, log-odds, reverse complement) and ``folders`` (writing results whole or not at all).
"""
