"""Help and usage for the kldrift commands: clean usage lines, one placeholder style, hints.

Typer writes required arguments as `{REFERENCE}`, string defaults as `[default: (table)]` and
types as `<path>`; `Command` writes `REFERENCE`, `[default: table]` and `PATH`, choices as
`[a|b]`, and adds a hint to a usage error that a shell-expanded glob causes. Imports nothing
heavy: `kldrift --help` must stay fast.
"""

from __future__ import annotations

import os
import re
from typing import Any

import typer.core

# typer (0.26 to 0.28, as pyproject pins) vendors click as typer._click.
from typer._click.core import Context
from typer._click.exceptions import UsageError
from typer._click.formatting import HelpFormatter

_DEFAULT = re.compile(r"\[default: \((.*)\)\]$", re.DOTALL)
_CHOICES = re.compile(r"<([\w-]+(?:\|[\w-]+)+)>")
_TYPE = re.compile(r"<(\w+)>")
_TYPE_NAMES = {"path": "PATH", "text": "TEXT", "str": "TEXT", "int": "N", "integer": "N"}
_TYPE_NAMES |= {"float": "X", "file": "FILE"}


def _placeholder(opts: str) -> str:
    opts = _CHOICES.sub(r"[\1]", opts)
    return _TYPE.sub(lambda m: _TYPE_NAMES.get(m.group(1), m.group(1).upper()), opts)


class Command(typer.core.TyperCommand):
    """A typer command with kldrift's usage line, option list and usage-error hints."""

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        pieces = ["[OPTIONS]"]
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = (param.metavar or param.name or "").upper()
                pieces.append(f"{name}..." if param.nargs != 1 else name)
        return pieces

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        args, opts = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            names, text = record
            text = _DEFAULT.sub(r"[default: \1]", text)
            if param.param_type_name == "argument":
                args.append(((param.metavar or names).upper(), text))
            else:
                opts.append((_placeholder(names), text))
        if args:
            with formatter.section("Arguments"):
                formatter.write_dl(args)
        if opts:
            with formatter.section("Options"):
                formatter.write_dl(opts)

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        given = list(args)  # the parser consumes `args`
        try:
            return super().parse_args(ctx, args)
        except UsageError as exc:
            if "unexpected extra argument" in exc.message and _looks_expanded(given):
                exc.message += (
                    "; several paths were given where one was expected: if the shell expanded "
                    "a glob, quote it, e.g. 'data/*.csv'"
                )
            raise


def _looks_expanded(args: list[str]) -> bool:
    """Whether `args` hold two or more existing paths: what an unquoted glob leaves."""
    return sum(1 for a in args if not a.startswith("-") and os.path.exists(a)) >= 2


def command_options(**kwargs: Any) -> dict[str, Any]:
    """Keyword arguments for `app.command`: kldrift's command class, plus `kwargs`."""
    return {"cls": Command, **kwargs}
