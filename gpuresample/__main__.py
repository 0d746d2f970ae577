"""``python -m gpuresample``: the command line (see gpuresample.cli)."""

from .cli import run_command

run_command()
