"""Run the kldrift command line: python -m kldrift."""

from kldrift.cli import app

app(prog_name="kldrift")
