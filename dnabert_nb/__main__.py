"""``python -m dnabert_nb``: see :mod:`dnabert_nb._cli`."""

import sys

from ._cli import main

sys.exit(main())
