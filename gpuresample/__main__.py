"""``python -m gpuresample``: the command line (see gpuresample.cli)."""

import sys

from .cli import main

sys.exit(main())
