"""Run the kldrift command line: python -m kldrift."""

from kldrift.cli import run

run()
