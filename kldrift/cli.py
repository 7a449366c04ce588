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
        float | None,
        typer.Option(help="Metric value (nats) at or above this is drift [default: per metric]."),
    ] = None,
    warn: Annotated[
        float | None,
        typer.Option(
            help="Metric value (nats) at or above this is a warning [default: per metric]."
        ),
    ] = None,
    column_threshold: Annotated[
        list[str] | None,
        typer.Option(help="Drift threshold for one column, as COLUMN=VALUE (repeatable)."),
    ] = None,
    metric: Annotated[
        config.Metric, typer.Option(help="Metric the thresholds apply to (KL: bias-corrected).")
    ] = config.Metric.kl,
    decision: Annotated[
        config.Decision,
        typer.Option(help="Drift needs the threshold, the significance test, or both."),
    ] = config.Decision.both,
    alpha: Annotated[
        float, typer.Option(help="Significance level for the adjusted G-test p-value.")
    ] = config.DEFAULT_ALPHA,
    adjustment: Annotated[
        config.Adjustment,
        typer.Option(help="Multiple-testing adjustment across columns: bh (FDR) or bonferroni."),
    ] = config.Adjustment.bh,
    show: Annotated[
        list[str] | None,
        typer.Option(help="Also show these metrics in the table, e.g. psi,hellinger (repeatable)."),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="After the table, explain each drifted column.")
    ] = False,
) -> None:
    """Compare CURRENT with REFERENCE, column by column.

    Bins are fitted on REFERENCE; each column gets KL = D(reference || current), its
    bias-corrected value, a G-test p-value adjusted across columns, JS, PSI and Hellinger.
    Exit code 0: no drift; 1: drift; 2: bad input or options.
    """
    from kldrift import drift, report

    try:
        shown = config.parse_metrics(_split(show))
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
                drift=config.UNSET if threshold is None else threshold,
                warn=config.UNSET if warn is None else warn,
                columns=config.parse_column_thresholds(column_threshold or []),
                metric=metric,
                alpha=alpha,
                decision=decision,
                adjustment=adjustment,
            ),
        )
    except KldriftError as exc:
        report.print_error(str(exc))
        raise typer.Exit(EXIT_ERROR) from exc
    report.render(result, fmt, show=shown, explain=explain)
    raise typer.Exit(EXIT_DRIFT if result.drifted else EXIT_OK)


@app.command("explain")
def explain_column(
    reference: Annotated[str, typer.Argument(help="CSV/Parquet file, glob or directory.")],
    current: Annotated[str, typer.Argument(help="CSV/Parquet file, glob or directory.")],
    column: Annotated[str, typer.Option("--column", help="The column to explain.")],
    top: Annotated[int, typer.Option(help="Bins listed by contribution.")] = 10,
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
        float | None,
        typer.Option(help="Metric value (nats) at or above this is drift [default: per metric]."),
    ] = None,
    warn: Annotated[
        float | None,
        typer.Option(
            help="Metric value (nats) at or above this is a warning [default: per metric]."
        ),
    ] = None,
    metric: Annotated[
        config.Metric, typer.Option(help="Metric the thresholds apply to (KL: bias-corrected).")
    ] = config.Metric.kl,
    decision: Annotated[
        config.Decision,
        typer.Option(help="Drift needs the threshold, the significance test, or both."),
    ] = config.Decision.both,
    alpha: Annotated[
        float, typer.Option(help="Significance level for the adjusted G-test p-value.")
    ] = config.DEFAULT_ALPHA,
    adjustment: Annotated[
        config.Adjustment,
        typer.Option(help="Multiple-testing adjustment across columns: bh (FDR) or bonferroni."),
    ] = config.Adjustment.bh,
) -> None:
    """Explain one column: the bins that drive its KL, and both histograms side by side.

    The column is scored within the full comparison, so its p-value is adjusted as in
    `kldrift compare` and the exit code is that column's: 0 ok or warn, 1 drift, 2 error.
    """
    from kldrift import drift, report

    try:
        options = Options(
            bins=bins,
            top_k=top_k,
            smoothing=smoothing,
            base=math.e if base is None else base,
            categorical=tuple(_split(categorical)),
        )
        result = drift.compare(
            reference,
            current,
            options=options,
            thresholds=Thresholds(
                drift=config.UNSET if threshold is None else threshold,
                warn=config.UNSET if warn is None else warn,
                metric=metric,
                alpha=alpha,
                decision=decision,
                adjustment=adjustment,
            ),
        )
        scored = result.column(column)
    except KldriftError as exc:
        report.print_error(str(exc))
        raise typer.Exit(EXIT_ERROR) from exc
    report.render_explanation(result, scored, top=top)
    raise typer.Exit(EXIT_DRIFT if scored.status is config.Status.drift else EXIT_OK)


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]
