"""``python -m dnabert_nb``: see :mod:`dnabert_nb.cli`."""

import sys

from .cli import main

if __name__ == "__main__":  # not when a tool imports the module to read it (the docs build)
    sys.exit(main())
