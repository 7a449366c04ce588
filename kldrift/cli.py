"""The kldrift command line: a thin typer layer over kldrift.compare."""

from __future__ import annotations

import math
from typing import Annotated

import typer

from kldrift import __version__, config
from kldrift.config import Options, Thresholds
from kldrift.errors import KldriftError
from kldrift.report import Format

EXIT_OK, EXIT_DRIFT, EXIT_ERROR = 0, 1, 2

app = typer.Typer(
    help="Data-drift monitor: per-column KL divergence between a reference and a current dataset.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
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
    reference: Annotated[
        str, typer.Argument(metavar="REFERENCE", help="CSV/Parquet file, glob or directory.")
    ],
    current: Annotated[
        str, typer.Argument(metavar="CURRENT", help="CSV/Parquet file, glob or directory.")
    ],
    fmt: Annotated[
        Format, typer.Option("--format", "-f", metavar="FORMAT", help="Report format: table, json.")
    ] = Format.table,
    columns: Annotated[
        list[str] | None,
        typer.Option(
            "--columns",
            "-c",
            metavar="COLS",
            help="Only these columns (repeat, or comma-separate).",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(metavar="COLS", help="Leave these columns out (repeat, or comma-separate)."),
    ] = None,
    categorical: Annotated[
        list[str] | None,
        typer.Option(metavar="COL", help="Bin this column as categorical (repeatable)."),
    ] = None,
    bins: Annotated[
        int, typer.Option(metavar="N", help="Quantile bins per numeric column.")
    ] = config.DEFAULT_BINS,
    top_k: Annotated[
        int,
        typer.Option(
            metavar="K", help="Categories with a bin of their own; the rest share '(other)'."
        ),
    ] = config.DEFAULT_TOP_K,
    smoothing: Annotated[
        float,
        typer.Option(
            metavar="A", help="Pseudocount added to every bin; 0 gives the exact plug-in KL."
        ),
    ] = config.DEFAULT_SMOOTHING,
    base: Annotated[
        float | None,
        typer.Option(metavar="B", help="Log base of the scores: e (nats) if unset, 2 for bits."),
    ] = None,
    threshold: Annotated[
        float, typer.Option(metavar="T", help="KL (nats) at or above this is drift.")
    ] = config.DEFAULT_THRESHOLD,
    warn: Annotated[
        float, typer.Option(metavar="W", help="KL (nats) at or above this is a warning.")
    ] = config.DEFAULT_WARN,
    column_threshold: Annotated[
        list[str] | None,
        typer.Option(
            metavar="COL=T", help="Drift threshold for one column, as COL=T (repeatable)."
        ),
    ] = None,
    streaming: Annotated[
        bool | None,
        typer.Option(
            "--streaming/--no-streaming",
            help="Read in bounded memory with polars' streaming engine "
            "[default: when the files would fill half the RAM].",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress display on stderr.")
    ] = False,
) -> None:
    """Compare CURRENT with REFERENCE, column by column.

    Bins are fitted on REFERENCE; each column gets KL = D(reference || current), cross-entropy
    and entropy. Exit code 0: no drift; 1: drift; 2: bad input or options.
    """
    from kldrift import drift, report
    from kldrift.report.progress import progress

    try:
        with progress(quiet) as note:
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
                streaming=streaming,
                progress=note,
            )
    except KldriftError as exc:
        report.print_error(str(exc))
        raise typer.Exit(EXIT_ERROR) from exc
    report.render(result, fmt)
    raise typer.Exit(EXIT_DRIFT if result.drifted else EXIT_OK)


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]
