"""``python -m dnabert_nb``: see :mod:`dnabert_nb._cli`."""

import sys

from .cli import main

sys.exit(main())
