"""The kldrift command line: a thin typer layer over kldrift.compare."""

from __future__ import annotations

import math
from typing import Annotated

import typer

from kldrift import __version__, config
from kldrift.config import Options, Thresholds
from kldrift.errors import KldriftError
from kldrift.io import ReadOptions
from kldrift.report import Format

EXIT_OK, EXIT_DRIFT, EXIT_ERROR = 0, 1, 2

app = typer.Typer(
    help="Data-drift monitor: per-column KL divergence between a reference and a current dataset.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"kldrift {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Compare datasets column by column. Exit codes: 0 no drift, 1 drift, 2 error."""


@app.command()
def compare(
    reference: Annotated[str, typer.Argument(help="CSV/Parquet file, glob or directory.")],
    current: Annotated[str, typer.Argument(help="CSV/Parquet file, glob or directory.")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Report format.")] = Format.table,
    columns: Annotated[
        list[str] | None,
        typer.Option("--columns", "-c", help="Only these columns (repeat, or comma-separate)."),
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="Leave these columns out (repeat, or comma-separate).")
    ] = None,
    categorical: Annotated[
        list[str] | None, typer.Option(help="Bin this column as categorical (repeatable).")
    ] = None,
    bins: Annotated[
        int, typer.Option(help="Quantile bins per numeric column.")
    ] = config.DEFAULT_BINS,
    top_k: Annotated[
        int, typer.Option(help="Categories with a bin of their own; the rest share '(other)'.")
    ] = config.DEFAULT_TOP_K,
    smoothing: Annotated[
        float, typer.Option(help="Pseudocount added to every bin; 0 gives the exact plug-in KL.")
    ] = config.DEFAULT_SMOOTHING,
    base: Annotated[
        float | None, typer.Option(help="Log base of the scores: e (nats) if unset, 2 for bits.")
    ] = None,
    threshold: Annotated[
        float, typer.Option(help="KL (nats) at or above this is drift.")
    ] = config.DEFAULT_THRESHOLD,
    warn: Annotated[
        float, typer.Option(help="KL (nats) at or above this is a warning.")
    ] = config.DEFAULT_WARN,
    column_threshold: Annotated[
        list[str] | None,
        typer.Option(help="Drift threshold for one column, as COLUMN=VALUE (repeatable)."),
    ] = None,
    separator: Annotated[
        str | None,
        typer.Option(
            help="CSV field separator, e.g. ';' or 'tab'; sniffed from the header if unset."
        ),
    ] = None,
    encoding: Annotated[
        str,
        typer.Option(help="Text encoding of CSV files: utf8, utf8-lossy, latin-1, cp1252, ..."),
    ] = "utf8",
) -> None:
    """Compare CURRENT with REFERENCE, column by column.

    Bins are fitted on REFERENCE; each column gets KL = D(reference || current), cross-entropy
    and entropy. Exit code 0: no drift; 1: drift; 2: bad input or options.
    """
    from kldrift import drift, report

    try:
        result = drift.compare(
            reference,
            current,
            columns=_split(columns) or None,
            exclude=_split(exclude),
            options=Options(
                bins=bins,
                top_k=top_k,
                smoothing=smoothing,
                base=math.e if base is None else base,
                categorical=tuple(_split(categorical)),
            ),
            thresholds=Thresholds(
                drift=threshold,
                warn=warn,
                columns=config.parse_column_thresholds(column_threshold or []),
            ),
            read_options=ReadOptions(separator=_separator(separator), encoding=encoding),
        )
    except KldriftError as exc:
        report.print_error(str(exc))
        raise typer.Exit(EXIT_ERROR) from exc
    report.render(result, fmt)
    raise typer.Exit(EXIT_DRIFT if result.drifted else EXIT_OK)


def _separator(value: str | None) -> str | None:
    # A tab is awkward to type in a shell, so "tab" and "\t" stand for it.
    return "\t" if value in ("tab", "\\t") else value


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]
