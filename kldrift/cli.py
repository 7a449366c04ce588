"""The kldrift command line: a thin typer layer over kldrift.compare."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from kldrift import __version__, config
from kldrift.config import FailOn
from kldrift.errors import KldriftError
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
    fmt: Annotated[
        Format | None, typer.Option("--format", "-f", help="Report format.", show_default="table")
    ] = None,
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
        int | None, typer.Option(help="Quantile bins per numeric column.", show_default="10")
    ] = None,
    top_k: Annotated[
        int | None,
        typer.Option(
            help="Categories with a bin of their own; the rest share '(other)'.", show_default="20"
        ),
    ] = None,
    smoothing: Annotated[
        float | None,
        typer.Option(
            help="Pseudocount added to every bin; 0 gives the exact plug-in KL.", show_default="0.5"
        ),
    ] = None,
    base: Annotated[
        float | None, typer.Option(help="Log base of the scores: e (nats) if unset, 2 for bits.")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="KL (nats) at or above this is drift.", show_default="0.1")
    ] = None,
    warn: Annotated[
        float | None,
        typer.Option(help="KL (nats) at or above this is a warning.", show_default="0.05"),
    ] = None,
    column_threshold: Annotated[
        list[str] | None,
        typer.Option(help="Drift threshold for one column, as COLUMN=VALUE (repeatable)."),
    ] = None,
    fail_on: Annotated[
        FailOn | None,
        typer.Option(
            help="Column statuses that fail the dataset: drift, warn or never.",
            show_default="drift",
        ),
    ] = None,
    max_drifted: Annotated[
        int | None, typer.Option(help="Pass with up to N failing columns.", show_default="0")
    ] = None,
    max_drifted_share: Annotated[
        float | None, typer.Option(help="Pass with up to this share (0-1) of columns failing.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write the report to FILE (atomically); summary to stderr."
        ),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config", help="Settings file.", show_default="kldrift.toml or pyproject.toml, upward"
        ),
    ] = None,
    step_summary: Annotated[
        bool | None,
        typer.Option(
            "--step-summary/--no-step-summary",
            help="Also append Markdown to $GITHUB_STEP_SUMMARY when set.",
            show_default="on",
        ),
    ] = None,
) -> None:
    """Compare CURRENT with REFERENCE, column by column.

    Bins are fitted on REFERENCE; each column gets KL = D(reference || current), cross-entropy
    and entropy. Settings come from flags, then kldrift.toml (or [tool.kldrift] in
    pyproject.toml), then defaults. Exit code 0: pass; 1: drift, by the gate in force
    (--fail-on, --max-drifted); 2: bad input, options or config.
    """
    from kldrift import report, settings

    flags = settings.Settings(
        threshold=threshold,
        warn=warn,
        bins=bins,
        top_k=top_k,
        smoothing=smoothing,
        base=base,
        columns=tuple(_split(columns)) or None,
        exclude=tuple(_split(exclude)) or None,
        categorical=tuple(_split(categorical)) or None,
        fail_on=fail_on,
        max_drifted=max_drifted,
        max_drifted_share=max_drifted_share,
        format=fmt,
        step_summary=step_summary,
    )
    try:
        thresholds = config.parse_column_thresholds(column_threshold or [])
        flags = replace(
            flags, column={c: settings.ColumnSettings(t) for c, t in thresholds.items()}
        )
        conf = settings.load(config_file)
        result = settings.compare(reference, current, flags, conf)
        merged = flags.over(conf)
        if output is None:
            report.render(result, merged.format or Format.table)
        else:
            report.write_file(result, merged.format or Format.table, output)
            report.print_message(report.summary_line(result))
        if merged.step_summary is not False:
            report.append_step_summary(result)
    except KldriftError as exc:
        report.print_error(str(exc))
        raise typer.Exit(EXIT_ERROR) from exc
    raise typer.Exit(EXIT_OK if result.verdict.passed else EXIT_DRIFT)


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]
