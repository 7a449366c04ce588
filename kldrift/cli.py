"""The kldrift command line: a thin typer layer over kldrift.compare."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Annotated, NamedTuple, NoReturn

import typer

from kldrift import __version__, config
from kldrift.config import Options, Thresholds
from kldrift.errors import KldriftError, OptionError
from kldrift.report import Format, HistoryFormat

if TYPE_CHECKING:  # both import polars; the CLI must start without it
    from kldrift.drift import DriftReport
    from kldrift.io import ReadOptions
    from kldrift.windows import WindowReport

EXIT_OK, EXIT_DRIFT, EXIT_ERROR = 0, 1, 2

MetricOption = Annotated[
    config.Metric, typer.Option(help="Metric the thresholds apply to (KL: bias-corrected).")
]
DecisionOption = Annotated[
    config.Decision,
    typer.Option(help="Drift needs the threshold, the significance test, or both."),
]
AlphaOption = Annotated[
    float, typer.Option(help="Significance level for the adjusted G-test p-value.")
]
AdjustmentOption = Annotated[
    config.Adjustment,
    typer.Option(help="Multiple-testing adjustment across columns: bh (FDR) or bonferroni."),
]
ThresholdOption = Annotated[
    float | None,
    typer.Option(
        metavar="T", help="Metric value (nats) at or above this is drift [default: per metric]."
    ),
]
WarnOption = Annotated[
    float | None,
    typer.Option(
        metavar="W", help="Metric value (nats) at or above this is a warning [default: per metric]."
    ),
]
SeparatorOption = Annotated[
    str | None,
    typer.Option(help="CSV field separator, e.g. ';' or 'tab'; sniffed from the header if unset."),
]
EncodingOption = Annotated[
    str, typer.Option(help="Text encoding of CSV files: utf8, utf8-lossy, latin-1, cp1252, ...")
]

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
    threshold: ThresholdOption = None,
    warn: WarnOption = None,
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
    time_column: Annotated[
        str | None, typer.Option(help="Date/datetime column that cuts CURRENT into windows.")
    ] = None,
    every: Annotated[
        str | None, typer.Option(help="Window length, a polars duration: 1d, 6h, 1w, 1mo.")
    ] = None,
    separator: SeparatorOption = None,
    encoding: EncodingOption = "utf8",
    metric: MetricOption = config.Metric.kl,
    decision: DecisionOption = config.Decision.both,
    alpha: AlphaOption = config.DEFAULT_ALPHA,
    adjustment: AdjustmentOption = config.Adjustment.bh,
    show: Annotated[
        list[str] | None,
        typer.Option(help="Also show these metrics in the table, e.g. psi,hellinger (repeatable)."),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="After the table, explain each drifted column.")
    ] = False,
) -> None:
    """Compare CURRENT with REFERENCE, column by column.

    Bins are fitted on REFERENCE (data, or a profile made by `kldrift profile`); each column gets
    KL = D(reference || current), cross-entropy and entropy. With --time-column and --every,
    each window of CURRENT is compared. Exit code 0: no drift; 1: drift; 2: bad input or options.
    """
    from kldrift import drift, report
    from kldrift.report.progress import progress

    choices = _Choices(
        columns, exclude, categorical, bins, top_k, smoothing, base, separator, encoding
    )
    levels = _Levels(threshold, warn, column_threshold, metric, decision, alpha, adjustment)
    if time_column is not None or every is not None:
        _compare_windows(reference, current, fmt, choices, levels, time_column, every)
    try:
        shown = config.parse_metrics(_split(show))
        with progress(quiet) as note:
            result = drift.compare(
                reference,
                current,
                columns=_split(columns) or None,
                exclude=_split(exclude),
                options=choices.options(),
                thresholds=levels.thresholds(),
                streaming=streaming,
                progress=note,
                read_options=choices.read_options(),
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
    threshold: ThresholdOption = None,
    warn: WarnOption = None,
    metric: MetricOption = config.Metric.kl,
    decision: DecisionOption = config.Decision.both,
    alpha: AlphaOption = config.DEFAULT_ALPHA,
    adjustment: AdjustmentOption = config.Adjustment.bh,
    separator: SeparatorOption = None,
    encoding: EncodingOption = "utf8",
) -> None:
    """Explain one column: the bins that drive its KL, and both histograms side by side.

    The column is scored within the full comparison, so its p-value is adjusted as in
    `kldrift compare` and the exit code is that column's: 0 ok or warn, 1 drift, 2 error.
    """
    from kldrift import drift, report

    choices = _Choices(None, None, categorical, bins, top_k, smoothing, base, separator, encoding)
    levels = _Levels(threshold, warn, None, metric, decision, alpha, adjustment)
    try:
        result = drift.compare(
            reference,
            current,
            options=choices.options(),
            thresholds=levels.thresholds(),
            read_options=choices.read_options(),
        )
        scored = result.column(column)
    except KldriftError as exc:
        report.print_error(str(exc))
        raise typer.Exit(EXIT_ERROR) from exc
    report.render_explanation(result, scored, top=top)
    raise typer.Exit(EXIT_DRIFT if scored.status is config.Status.drift else EXIT_OK)


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


class _Choices(NamedTuple):
    """Column and histogram options as the command line gives them."""

    columns: list[str] | None
    exclude: list[str] | None
    categorical: list[str] | None
    bins: int
    top_k: int
    smoothing: float
    base: float | None
    separator: str | None
    encoding: str

    def read_options(self) -> ReadOptions:
        from kldrift.io import ReadOptions

        # A tab is awkward to type in a shell, so "tab" and "\t" stand for it.
        separator = "\t" if self.separator in ("tab", "\\t") else self.separator
        return ReadOptions(separator=separator, encoding=self.encoding)

    def options(self) -> Options:
        return Options(
            bins=self.bins,
            top_k=self.top_k,
            smoothing=self.smoothing,
            base=math.e if self.base is None else self.base,
            categorical=tuple(_split(self.categorical)),
        )


class _Levels(NamedTuple):
    """Thresholds and the decision rule as the command line gives them."""

    threshold: float | None
    warn: float | None
    column_threshold: list[str] | None
    metric: config.Metric = config.Metric.kl
    decision: config.Decision = config.Decision.both
    alpha: float = config.DEFAULT_ALPHA
    adjustment: config.Adjustment = config.Adjustment.bh

    def thresholds(self) -> Thresholds:
        return Thresholds(
            drift=config.UNSET if self.threshold is None else self.threshold,
            warn=config.UNSET if self.warn is None else self.warn,
            columns=config.parse_column_thresholds(self.column_threshold or []),
            metric=self.metric,
            alpha=self.alpha,
            decision=self.decision,
            adjustment=self.adjustment,
        )


def _compare_windows(
    reference: str,
    current: str,
    fmt: Format,
    choices: _Choices,
    levels: _Levels,
    time_column: str | None,
    every: str | None,
) -> NoReturn:
    from kldrift import report
    from kldrift.report import windows as window_report

    try:
        result = _windows(reference, current, choices, levels, time_column, every)
    except KldriftError as exc:
        report.print_error(str(exc))
        raise typer.Exit(EXIT_ERROR) from exc
    window_report.render(result, fmt)
    raise typer.Exit(EXIT_DRIFT if window_report.drifted(result) else EXIT_OK)


def _windows(
    reference: str,
    current: str,
    choices: _Choices,
    levels: _Levels,
    time_column: str | None,
    every: str | None,
) -> tuple[WindowReport, ...]:
    from kldrift import windows

    if time_column is None or every is None:
        raise OptionError("--time-column and --every go together: give both or neither")
    return windows.compare_windows(
        reference,
        current,
        time_column=time_column,
        every=every,
        columns=_split(choices.columns) or None,
        exclude=_split(choices.exclude),
        options=choices.options(),
        thresholds=levels.thresholds(),
        read_options=choices.read_options(),
    )


@app.command("profile")
def profile_command(
    sources: Annotated[
        list[str],
        typer.Argument(help="DATA: a file, glob or directory; with --merge, the profiles."),
    ],
    output: Annotated[str, typer.Option("--output", "-o", help="Profile file to write.")],
    merge: Annotated[
        bool, typer.Option("--merge", help="Add up the counts of profiles made on the same bins.")
    ] = False,
    bins_from: Annotated[
        str | None, typer.Option(help="Count DATA on this profile's bins instead of fitting.")
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
        int, typer.Option(help="Quantile bins per numeric column.")
    ] = config.DEFAULT_BINS,
    top_k: Annotated[
        int, typer.Option(help="Categories with a bin of their own; the rest share '(other)'.")
    ] = config.DEFAULT_TOP_K,
) -> None:
    """Write DATA's bins and counts to a profile (-o NAME.kldrift.json), a stand-in reference.

    `kldrift compare PROFILE CURRENT` then gives the same result as comparing with DATA, without
    reading DATA again. Parts of one dataset profiled with --bins-from the same profile can be
    added up with --merge. Exit code 0: written; 2: bad input or options.
    """
    from kldrift import drift, profile, profile_file, report

    try:
        choices = _Choices(columns, exclude, categorical, bins, top_k, 0.0, None, None, "utf8")
        if merge:
            if bins_from or columns or exclude or categorical:
                raise OptionError("--merge takes profiles only, without column or bin options")
            result = profile.merge([profile_file.load(source) for source in sources])
        else:
            if len(sources) != 1:
                raise OptionError(f"expected one DATA source, got {len(sources)} (or use --merge)")
            if bins_from and (
                categorical or bins != config.DEFAULT_BINS or top_k != config.DEFAULT_TOP_K
            ):
                raise OptionError("--bins-from takes the bins from the profile; drop bin options")
            result = drift.profile_data(
                sources[0],
                columns=_split(columns) or None,
                exclude=_split(exclude),
                options=choices.options(),
                bins_from=bins_from,
            )
        profile_file.save(result, output)
    except KldriftError as exc:
        report.print_error(str(exc))
        raise typer.Exit(EXIT_ERROR) from exc
    typer.echo(f"{output}: {len(result.columns)} columns, {result.rows} rows")
    raise typer.Exit(EXIT_OK)


@app.command()
def monitor(
    current: Annotated[str, typer.Argument(help="CSV/Parquet file, glob or directory.")],
    reference: Annotated[str, typer.Option("--reference", "-r", help="Reference profile or data.")],
    history_path: Annotated[
        str, typer.Option("--history", help="SQLite history file (created if missing).")
    ],
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
    threshold: ThresholdOption = None,
    warn: WarnOption = None,
    column_threshold: Annotated[
        list[str] | None,
        typer.Option(help="Drift threshold for one column, as COLUMN=VALUE (repeatable)."),
    ] = None,
    time_column: Annotated[
        str | None, typer.Option(help="Date/datetime column that cuts CURRENT into windows.")
    ] = None,
    every: Annotated[
        str | None, typer.Option(help="Window length, a polars duration: 1d, 6h, 1w, 1mo.")
    ] = None,
    webhook: Annotated[
        str | None,
        typer.Option(
            help="POST a JSON summary here when drift is found (token: $KLDRIFT_WEBHOOK_TOKEN)."
        ),
    ] = None,
    webhook_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the webhook, per attempt.")
    ] = 10.0,
    webhook_retries: Annotated[
        int, typer.Option(help="Attempts after the first; waits double from 1 s.")
    ] = 3,
    separator: SeparatorOption = None,
    encoding: EncodingOption = "utf8",
    metric: MetricOption = config.Metric.kl,
    decision: DecisionOption = config.Decision.both,
    alpha: AlphaOption = config.DEFAULT_ALPHA,
    adjustment: AdjustmentOption = config.Adjustment.bh,
) -> None:
    """Compare CURRENT with REFERENCE and append the run to the --history database.

    Made for cron: overlapping runs queue on the database, a killed run leaves nothing behind,
    and with --webhook a drift alert is posted; a failed alert is reported on stderr and does not
    change the exit code. Exit code 0: no drift; 1: drift; 2: bad input, options or history.
    """
    from kldrift import alerts, drift, history, report
    from kldrift.drift import DriftReport
    from kldrift.report import windows as window_report
    from kldrift.windows import WindowReport

    choices = _Choices(
        columns, exclude, categorical, bins, top_k, smoothing, base, separator, encoding
    )
    levels = _Levels(threshold, warn, column_threshold, metric, decision, alpha, adjustment)
    results: tuple[DriftReport, ...] | tuple[WindowReport, ...]
    try:
        if webhook is not None:
            alerts.check_url(webhook)
        if time_column is not None or every is not None:
            results = _windows(reference, current, choices, levels, time_column, every)
        else:
            results = (
                drift.compare(
                    reference,
                    current,
                    columns=_split(columns) or None,
                    exclude=_split(exclude),
                    options=choices.options(),
                    thresholds=levels.thresholds(),
                    read_options=choices.read_options(),
                ),
            )
        run_ids = history.record(history_path, results)
    except KldriftError as exc:
        report.print_error(str(exc))
        raise typer.Exit(EXIT_ERROR) from exc

    if isinstance(results[0], DriftReport):
        report.render(results[0], fmt)
    else:
        window_report.render([r for r in results if isinstance(r, WindowReport)], fmt)
    drifted = any(r.drifted for r in results if isinstance(r, DriftReport)) or any(
        r.report.drifted for r in results if isinstance(r, WindowReport)
    )
    if drifted and webhook is not None:
        try:
            alerts.post(
                webhook,
                alerts.payload(results, run_ids),
                timeout=webhook_timeout,
                retries=max(webhook_retries, 0),
            )
        except alerts.WebhookError as exc:
            typer.echo(f"kldrift: warning: {exc} (the run is recorded)", err=True)
    raise typer.Exit(EXIT_DRIFT if drifted else EXIT_OK)


@app.command("history")
def history_command(
    database: Annotated[str, typer.Argument(help="SQLite history file written by monitor.")],
    column: Annotated[
        list[str] | None,
        typer.Option("--column", "-c", help="Only these columns (repeat, or comma-separate)."),
    ] = None,
    last: Annotated[int, typer.Option(help="Show the last N runs.")] = 20,
    since: Annotated[
        str | None, typer.Option(help="Only runs recorded at or after DATE (ISO; UTC if no zone).")
    ] = None,
    fmt: Annotated[
        HistoryFormat, typer.Option("--format", "-f", help="Output format.")
    ] = HistoryFormat.table,
) -> None:
    """Show the last runs recorded in DATABASE, with each column's KL trend and latest status.

    Exit code 0: shown; 2: bad input or options.
    """
    from kldrift import history, report
    from kldrift.report import history as history_report

    try:
        if last < 1:
            raise OptionError(f"--last must be at least 1, got {last}")
        try:
            start = dt.datetime.fromisoformat(since) if since is not None else None
        except ValueError:
            raise OptionError(
                f"--since {since!r}: expected an ISO date such as 2026-01-31"
            ) from None
        runs = history.read(database, last=last, since=start, columns=_split(column))
    except KldriftError as exc:
        report.print_error(str(exc))
        raise typer.Exit(EXIT_ERROR) from exc
    history_report.render(runs, fmt)
    raise typer.Exit(EXIT_OK)
