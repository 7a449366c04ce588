"""The kldrift command line: a thin typer layer over the library.

Every comparing command turns its flags into `settings.Settings` (None = not given), lays them
over the config file (kldrift.toml or [tool.kldrift]) and lets the library do the rest. Heavy
modules are imported inside the commands, so `kldrift --help` starts without polars.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from kldrift import __version__
from kldrift.config import (
    DEFAULT_ALPHA,
    DEFAULT_BINS,
    DEFAULT_SMOOTHING,
    DEFAULT_TOP_K,
    Adjustment,
    Decision,
    Engine,
    FailOn,
    Format,
    HistoryFormat,
    Metric,
    Status,
)
from kldrift.errors import KldriftError, OptionError

if TYPE_CHECKING:  # these import polars; the CLI must start without it
    from kldrift.drift import DriftReport
    from kldrift.settings import Settings
    from kldrift.windows import WindowReport

EXIT_OK, EXIT_DRIFT, EXIT_ERROR = 0, 1, 2

app = typer.Typer(
    help="Data-drift monitor: per-column KL divergence between a reference and a current dataset.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# Options shared by several commands, defined once. A default of None means "not given", so the
# config file, then the built-in default, decides (the default is shown in the help).
Reference = Annotated[
    str, typer.Argument(metavar="REFERENCE", help="Data file, glob, directory, or a profile.")
]
Current = Annotated[
    str, typer.Argument(metavar="CURRENT", help="CSV/Parquet/NDJSON/Arrow file, glob or directory.")
]
Columns = Annotated[
    list[str] | None,
    typer.Option("--columns", "-c", metavar="COLS", help="Only these columns (comma-separated)."),
]
Exclude = Annotated[list[str] | None, typer.Option(metavar="COLS", help="Leave these columns out.")]
Categorical = Annotated[
    list[str] | None, typer.Option(metavar="COL", help="Bin this column as categorical.")
]
Bins = Annotated[
    int | None,
    typer.Option(
        metavar="N", help="Quantile bins per numeric column.", show_default=str(DEFAULT_BINS)
    ),
]
TopK = Annotated[
    int | None,
    typer.Option(
        metavar="K", help="Categories with a bin of their own.", show_default=str(DEFAULT_TOP_K)
    ),
]
Smoothing = Annotated[
    float | None,
    typer.Option(
        metavar="A",
        help="Pseudocount per bin; 0: exact plug-in KL.",
        show_default=str(DEFAULT_SMOOTHING),
    ),
]
Base = Annotated[
    float | None,
    typer.Option(metavar="B", help="Log base of the scores (2: bits).", show_default="e"),
]
Threshold = Annotated[
    float | None,
    typer.Option(
        metavar="T", help="Effect (nats) at or above this is drift.", show_default="per metric"
    ),
]
Warn = Annotated[
    float | None,
    typer.Option(
        metavar="W", help="Effect (nats) at or above this warns.", show_default="per metric"
    ),
]
ColumnThreshold = Annotated[
    list[str] | None, typer.Option(metavar="COL=T", help="Drift threshold for one column.")
]
MetricOption = Annotated[
    Metric | None,
    typer.Option("--metric", help="Effect size the thresholds apply to.", show_default="kl"),
]
DecisionOption = Annotated[
    Decision | None,
    typer.Option("--decision", help="Gates a drift needs.", show_default="both"),
]
Alpha = Annotated[
    float | None,
    typer.Option(
        metavar="P", help="Level for the adjusted G-test p-value.", show_default=str(DEFAULT_ALPHA)
    ),
]
AdjustmentOption = Annotated[
    Adjustment | None,
    typer.Option("--adjustment", help="p-value adjustment across columns.", show_default="bh"),
]
Separator = Annotated[
    str | None,
    typer.Option(metavar="S", help="CSV separator, e.g. ';' or 'tab'.", show_default="sniffed"),
]
Encoding = Annotated[
    str | None,
    typer.Option(metavar="E", help="CSV encoding: utf8-lossy, latin-1, ...", show_default="utf8"),
]
TimeColumn = Annotated[
    str | None,
    typer.Option(metavar="COL", help="Date/datetime column that cuts CURRENT into windows."),
]
Every = Annotated[
    str | None, typer.Option(metavar="DURATION", help="Window length: 1d, 6h, 1w, 1mo.")
]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config", help="Settings file.", show_default="kldrift.toml or pyproject.toml, upward"
    ),
]


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
    reference: Reference,
    current: Current,
    fmt: Annotated[
        Format | None,
        typer.Option(
            "--format", "-f", help="table, json, markdown, junit or csv.", show_default="table"
        ),
    ] = None,
    columns: Columns = None,
    exclude: Exclude = None,
    categorical: Categorical = None,
    bins: Bins = None,
    top_k: TopK = None,
    smoothing: Smoothing = None,
    base: Base = None,
    threshold: Threshold = None,
    warn: Warn = None,
    column_threshold: ColumnThreshold = None,
    metric: MetricOption = None,
    decision: DecisionOption = None,
    alpha: Alpha = None,
    adjustment: AdjustmentOption = None,
    fail_on: Annotated[
        FailOn | None,
        typer.Option(help="Column statuses that fail the dataset.", show_default="drift"),
    ] = None,
    max_drifted: Annotated[
        int | None, typer.Option(metavar="N", help="Pass with up to N failing columns.")
    ] = None,
    max_drifted_share: Annotated[
        float | None,
        typer.Option(metavar="S", help="Pass with up to this share of columns failing."),
    ] = None,
    show: Annotated[
        list[str] | None,
        typer.Option(metavar="METRICS", help="Also show these metrics in the table, e.g. psi."),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="After the table, explain each drifted column.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write the report to FILE (atomically); summary to stderr."
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
    time_column: TimeColumn = None,
    every: Every = None,
    separator: Separator = None,
    encoding: Encoding = None,
    streaming: Annotated[
        bool | None,
        typer.Option(
            "--streaming/--no-streaming",
            help="Read in bounded memory with polars' streaming engine.",
            show_default="when the files would fill half the RAM",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    config_file: ConfigFile = None,
) -> None:
    """Compare CURRENT with REFERENCE, column by column.

    Bins are fitted on REFERENCE (data, or a profile made by `kldrift profile`); each column gets
    KL = D(reference || current), its bias-corrected value, a G-test p-value adjusted across
    columns, cross-entropy, JS, PSI and Hellinger. With --time-column and --every, each window
    of CURRENT is compared. Settings come from flags, then kldrift.toml (or [tool.kldrift] in
    pyproject.toml), then defaults. Exit code 0: pass; 1: drift, by the gate in force
    (--fail-on, --max-drifted); 2: bad input, options or config.
    """
    from kldrift import report, settings
    from kldrift.config import parse_metrics
    from kldrift.report.progress import progress

    try:
        flags = _flags(
            columns=columns,
            exclude=exclude,
            categorical=categorical,
            column_threshold=column_threshold,
            bins=bins,
            top_k=top_k,
            smoothing=smoothing,
            base=base,
            threshold=threshold,
            warn=warn,
            metric=metric,
            decision=decision,
            alpha=alpha,
            adjustment=adjustment,
            fail_on=fail_on,
            max_drifted=max_drifted,
            max_drifted_share=max_drifted_share,
            format=fmt,
            step_summary=step_summary,
            separator=separator,
            encoding=encoding,
        )
        conf = settings.load(config_file)
        merged = flags.over(conf)
        chosen = merged.format or Format.table
        if time_column is not None or every is not None:
            for given, flag in [(output, "--output"), (show, "--show"), (explain, "--explain")]:
                if given:
                    raise OptionError(f"{flag} applies to a single comparison, not to windows")
            _compare_windows(reference, current, merged, chosen, time_column, every)
        shown = parse_metrics(_split(show))
        with progress(quiet) as note:
            result = settings.compare(
                reference, current, flags, conf, streaming=streaming, progress=note
            )
        if output is None:
            report.render(result, chosen, show=shown, explain=explain)
        else:
            report.write_file(result, chosen, output, show=shown, explain=explain)
            report.print_message(report.summary_line(result))
        if merged.step_summary is not False:
            report.append_step_summary(result)
    except KldriftError as exc:
        _fail(exc)
    raise typer.Exit(EXIT_OK if result.verdict.passed else EXIT_DRIFT)


@app.command("explain")
def explain_column(
    reference: Reference,
    current: Current,
    column: Annotated[str, typer.Option("--column", help="The column to explain.")],
    top: Annotated[int, typer.Option(help="Bins listed by contribution.")] = 10,
    categorical: Categorical = None,
    bins: Bins = None,
    top_k: TopK = None,
    smoothing: Smoothing = None,
    base: Base = None,
    threshold: Threshold = None,
    warn: Warn = None,
    metric: MetricOption = None,
    decision: DecisionOption = None,
    alpha: Alpha = None,
    adjustment: AdjustmentOption = None,
    separator: Separator = None,
    encoding: Encoding = None,
    config_file: ConfigFile = None,
) -> None:
    """Explain one column: the bins that drive its KL, and both histograms side by side.

    The column is scored within the full comparison, so its p-value is adjusted as in
    `kldrift compare` and the exit code is that column's: 0 ok or warn, 1 drift, 2 error.
    """
    from kldrift import report, settings

    try:
        if top < 1:
            raise OptionError(f"--top must be at least 1, got {top}")
        flags = _flags(
            categorical=categorical,
            bins=bins,
            top_k=top_k,
            smoothing=smoothing,
            base=base,
            threshold=threshold,
            warn=warn,
            metric=metric,
            decision=decision,
            alpha=alpha,
            adjustment=adjustment,
            separator=separator,
            encoding=encoding,
        )
        result = settings.compare(reference, current, flags, settings.load(config_file))
        scored = result.column(column)
    except KldriftError as exc:
        _fail(exc)
    report.render_explanation(result, scored, top=top)
    raise typer.Exit(EXIT_DRIFT if scored.status is Status.drift else EXIT_OK)


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
    columns: Columns = None,
    exclude: Exclude = None,
    categorical: Categorical = None,
    bins: Bins = None,
    top_k: TopK = None,
    separator: Separator = None,
    encoding: Encoding = None,
    config_file: ConfigFile = None,
    engine: Annotated[Engine, typer.Option(help="Count with polars, or on Spark.")] = Engine.polars,
    spark_master: Annotated[
        str | None, typer.Option(help="Spark (or sc:// Connect) URL.", show_default="active")
    ] = None,
) -> None:
    """Write DATA's bins and counts to a profile (-o NAME.kldrift.json), a stand-in reference.

    `kldrift compare PROFILE CURRENT` then gives the same result as comparing with DATA, without
    reading DATA again. Parts of one dataset profiled with --bins-from the same profile can be
    added up with --merge. Exit code 0: written; 2: bad input or options.
    """
    from kldrift import drift, profile, profile_file, settings

    try:
        if merge:
            if bins_from or columns or exclude or categorical:
                raise OptionError("--merge takes profiles only, without column or bin options")
            result = profile.merge([profile_file.load(source) for source in sources])
        else:
            if len(sources) != 1:
                raise OptionError(f"expected one DATA source, got {len(sources)} (or use --merge)")
            if bins_from and (
                columns or exclude or categorical or bins is not None or top_k is not None
            ):
                raise OptionError(
                    "--bins-from takes the columns and bins from the profile; drop column and "
                    "bin options"
                )
            flags = _flags(
                columns=columns,
                exclude=exclude,
                categorical=categorical,
                bins=bins,
                top_k=top_k,
                separator=separator,
                encoding=encoding,
            )
            merged = flags.over(settings.load(config_file))
            profile_data = drift.profile_data
            if engine is Engine.spark:
                from kldrift import spark

                profile_data = spark.profiler(spark_master)
            elif spark_master:
                raise OptionError("--spark-master needs --engine spark")
            result = profile_data(
                sources[0],
                columns=merged.columns or None,
                exclude=merged.exclude or (),
                options=merged.options(),
                bins_from=bins_from,
                read_options=merged.read_options(),
            )
        profile_file.save(result, output)
    except KldriftError as exc:
        _fail(exc)
    typer.echo(f"{output}: {len(result.columns)} columns, {result.rows} rows")
    raise typer.Exit(EXIT_OK)


@app.command()
def monitor(
    current: Current,
    reference: Annotated[str, typer.Option("--reference", "-r", help="Reference profile or data.")],
    history_path: Annotated[
        str, typer.Option("--history", help="SQLite history file (created if missing).")
    ],
    fmt: Annotated[
        Format | None, typer.Option("--format", "-f", help="table or json.", show_default="table")
    ] = None,
    columns: Columns = None,
    exclude: Exclude = None,
    categorical: Categorical = None,
    bins: Bins = None,
    top_k: TopK = None,
    smoothing: Smoothing = None,
    base: Base = None,
    threshold: Threshold = None,
    warn: Warn = None,
    column_threshold: ColumnThreshold = None,
    metric: MetricOption = None,
    decision: DecisionOption = None,
    alpha: Alpha = None,
    adjustment: AdjustmentOption = None,
    time_column: TimeColumn = None,
    every: Every = None,
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
    separator: Separator = None,
    encoding: Encoding = None,
    config_file: ConfigFile = None,
) -> None:
    """Compare CURRENT with REFERENCE and append the run to the --history database.

    Made for cron: overlapping runs queue on the database, a killed run leaves nothing behind,
    and with --webhook a drift alert is posted; a failed alert is reported on stderr and does not
    change the exit code. Exit code 0: no drift; 1: drift; 2: bad input, options or history.
    """
    from kldrift import alerts, history, report, settings
    from kldrift.report import windows as window_report

    results: tuple[DriftReport, ...] | tuple[WindowReport, ...]
    try:
        flags = _flags(
            columns=columns,
            exclude=exclude,
            categorical=categorical,
            column_threshold=column_threshold,
            bins=bins,
            top_k=top_k,
            smoothing=smoothing,
            base=base,
            threshold=threshold,
            warn=warn,
            metric=metric,
            decision=decision,
            alpha=alpha,
            adjustment=adjustment,
            format=fmt,
            separator=separator,
            encoding=encoding,
        )
        conf = settings.load(config_file)
        merged = flags.over(conf)
        chosen = _table_or_json(merged.format)
        if webhook is not None:
            alerts.check_url(webhook)
            if not webhook_timeout > 0:
                raise OptionError(f"--webhook-timeout must be > 0 seconds, got {webhook_timeout}")
        if time_column is not None or every is not None:
            windows = _windows(reference, current, merged, time_column, every)
            drifted = not window_report.passed(windows)
            results = windows
        else:
            single = settings.compare(reference, current, flags, conf)
            drifted = not single.verdict.passed
            results = (single,)
        run_ids = history.record(history_path, results)
    except KldriftError as exc:
        _fail(exc)

    if time_column is not None or every is not None:
        window_report.render(windows, chosen)
    else:
        report.render(single, chosen)
    if drifted and webhook is not None:
        try:
            alerts.post(
                webhook,
                alerts.payload(results, run_ids),
                timeout=webhook_timeout,
                retries=max(webhook_retries, 0),
            )
        except alerts.WebhookError as exc:
            report.print_message(f"warning: {exc} (the run is recorded)")
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
    from kldrift import history
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
        _fail(exc)
    history_report.render(runs, fmt)
    raise typer.Exit(EXIT_OK)


def _flags(
    *,
    columns: list[str] | None = None,
    exclude: list[str] | None = None,
    categorical: list[str] | None = None,
    column_threshold: list[str] | None = None,
    **values: Any,
) -> Settings:
    """The settings the flags give; lists may repeat the option or comma-separate names."""
    from kldrift import config, settings

    levels = config.parse_column_thresholds(column_threshold or [])
    return settings.Settings(
        columns=tuple(_split(columns)) or None,
        exclude=tuple(_split(exclude)) or None,
        categorical=tuple(_split(categorical)) or None,
        column={name: settings.ColumnSettings(level) for name, level in levels.items()},
        **values,
    )


def _compare_windows(
    reference: str,
    current: str,
    merged: Settings,
    fmt: Format,
    time_column: str | None,
    every: str | None,
) -> NoReturn:
    from kldrift.report import windows as window_report

    windows = _windows(reference, current, merged, time_column, every)
    window_report.render(windows, _table_or_json(fmt))
    raise typer.Exit(EXIT_OK if window_report.passed(windows) else EXIT_DRIFT)


def _windows(
    reference: str,
    current: str,
    merged: Settings,
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
        columns=merged.columns or None,
        exclude=merged.exclude or (),
        options=merged.options(),
        thresholds=merged.thresholds(),
        read_options=merged.read_options(),
        gate=merged.gate(),
    )


def _table_or_json(fmt: Format | None) -> Format:
    if fmt not in (None, Format.table, Format.json):
        raise OptionError(f"--format {fmt.value}: time windows and monitor write table or json")
    return fmt or Format.table


def _fail(exc: KldriftError) -> NoReturn:
    from kldrift import report

    report.print_error(str(exc))
    raise typer.Exit(EXIT_ERROR) from exc


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]
