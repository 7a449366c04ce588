"""Help, usage and option values for the kldrift commands.

Typer writes required arguments as `{REFERENCE}`, string defaults as `[default: (table)]` and
types as `<path>`; `Command` writes `REFERENCE`, `[default: table]` and `PATH`, choices as
`[a|b]`, and adds a hint to a usage error that a shell-expanded glob causes. Imports nothing
heavy: `kldrift --help` must stay fast.

typer 0.29 turns every option's value, given or not, into its type through a pydantic
TypeAdapter, built the first time the option is seen: importing pydantic and building the
adapters of one command costs ~0.1 s a run (reading a 1M-row Parquet pair: 0.6-1 s of CPU).
`Command` and `Group` give each of their parameters a `_Coercion` first, which turns the values
a user writes every day (a whole number, a decimal, a choice, a path, text) into the same value
typer's adapter would and hands anything else (a bad value, `1_000`, `inf`) to typer's own
coercion, so what is accepted and every error message stay typer's. With a typer older than
0.29, or one whose internals moved, nothing is seeded and typer coerces as it always does.
"""

from __future__ import annotations

import os
import re
from enum import Enum
from pathlib import Path
from typing import Any

import typer.core

# typer (0.26 to 0.28, as pyproject pins) vendors click as typer._click.
from typer._click.core import Context
from typer._click.exceptions import UsageError
from typer._click.formatting import HelpFormatter
from typer._click.globals import get_current_context

try:  # typer >= 0.29
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_choice, coerce_cli_path
except ImportError:  # pragma: no cover - older typer coerces through click's types
    SEEDS = False
else:
    SEEDS = True

_DEFAULT = re.compile(r"\[default: \((.*)\)\]$", re.DOTALL)
_CHOICES = re.compile(r"<([\w-]+(?:\|[\w-]+)+)>")
_TYPE = re.compile(r"<(\w+)>")
_TYPE_NAMES = {"path": "PATH", "text": "TEXT", "str": "TEXT", "int": "N", "integer": "N"}
_TYPE_NAMES |= {"float": "X", "file": "FILE"}


def _placeholder(opts: str) -> str:
    opts = _CHOICES.sub(r"[\1]", opts)
    return _TYPE.sub(lambda m: _TYPE_NAMES.get(m.group(1), m.group(1).upper()), opts)


#: Strings that pydantic and Python read as the same int or float (no spaces, underscores,
#: inf or nan: those go to typer's own coercion).
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

if SEEDS:

    class _Coercion(RuntimeParam):
        """Coerce the common values of one parameter without pydantic; typer's own
        coercion (built on first need) takes the rest."""

        def _coerce_value(self, value: Any, param: Any, ctx: Context) -> Any:
            if isinstance(value, (list, tuple)):
                leaf = _item_type(self.annotation)
                items = [_plain(leaf, item, self.parameter_info, param, ctx) for item in value]
                if _MISSING not in items:
                    return items
            else:
                plain = _plain(self.annotation, value, self.parameter_info, param, ctx)
                if plain is not _MISSING:
                    return plain
            return _typers(param)._coerce_value(value, param=param, ctx=ctx)


_MISSING = object()


def _item_type(annotation: Any) -> Any:
    """The item type of `list[X]`, else `annotation` itself."""
    args = getattr(annotation, "__args__", None)
    return args[0] if args and len(args) == 1 else annotation


def _plain(annotation: Any, value: Any, info: Any, param: Any, ctx: Context) -> Any:
    """`value` as `annotation`, as typer's adapter would give it, or _MISSING when that takes
    typer's own coercion."""
    if not isinstance(value, str):
        return _MISSING
    if annotation is str:
        return value
    if annotation is int and _INTEGER.fullmatch(value):
        return int(value)
    if annotation is float and _DECIMAL.fullmatch(value):
        return float(value)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        try:
            return coerce_cli_choice(
                value, choices=tuple(annotation), case_sensitive=info.case_sensitive, ctx=ctx
            )
        except ValueError:
            return _MISSING
    if annotation is Path and value and info.path_type is None:
        return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
    return _MISSING


def _typers(param: Any) -> Any:
    """typer's own coercion of `param`, built once, when a value first needs it."""
    theirs = getattr(param, "_kldrift_typer_coercion", None)
    if theirs is None:
        theirs = build_runtime_param(param.type_descriptor)
        param._kldrift_typer_coercion = theirs
    return theirs


def _seed(params: list[Any]) -> None:
    """Give each typer parameter that has no coercion yet a `_Coercion`."""
    if not SEEDS:
        return
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", _MISSING) is not None:
            continue
        if descriptor.file_annotation is not None or descriptor.parameter_info.parser:
            continue
        param._runtime_param = _Coercion(
            parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
        )


class Group(typer.core.TyperGroup):
    """kldrift's top-level group: its options (--version, typer's completion ones) coerced by
    `_Coercion`."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        _seed(self.get_params(ctx))
        return super().parse_args(ctx, args)


class Command(typer.core.TyperCommand):
    """A typer command with kldrift's usage line, option list and usage-error hints, its
    options coerced by `_Coercion`."""

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
        _seed(self.get_params(ctx))
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


def declared_name(name: str) -> str | None:
    """How the running command declares its parameter `name`: an option by its first long
    flag (`--html`), an argument as its usage line shows it (`REFERENCE`); None if it has none."""
    ctx = get_current_context(silent=True)
    for param in ctx.command.params if ctx is not None else ():
        if param.name != name:
            continue
        if param.param_type_name == "argument":
            return (param.metavar or name).upper()
        flags = [opt for opt in param.opts if opt.startswith("--")]
        return flags[0] if flags else None
    return None


def command_options(**kwargs: Any) -> dict[str, Any]:
    """Keyword arguments for `app.command`: kldrift's command class, plus `kwargs`."""
    return {"cls": Command, **kwargs}
