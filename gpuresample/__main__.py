"""``python -m gpuresample``: the command line (see gpuresample.cli)."""

from .cli import main

main()
