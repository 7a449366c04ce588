"""Run history -> text: rich tables with KL trend sparklines, JSON, or CSV (formula-safe cells)."""

from __future__ import annotations

import csv
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, TextIO

from rich.console import RenderableType
from rich.text import Text

from kldrift import jsonvalues
from kldrift.__version__ import __version__
from kldrift.historydb import SCORES, Run
from kldrift.jsonvalues import json_value
from kldrift.options import Color, HistoryFormat, Status
from kldrift.report import layout, write_atomic
from kldrift.report.csv import text
from kldrift.report.layout import Cell, Field
from kldrift.report.relationships import name as pair_name
from kldrift.report.table import BARS, STATUS_STYLE, console
from kldrift.report.text import printable, score
from kldrift.result import plural

#: Bumped when a field changes meaning or disappears; adding fields does not bump it.
FORMAT_VERSION = 1
#: The recorded scores (every registered metric, KL's noise floor, the adjusted p-value) follow
#: the fixed fields, so a new metric reaches the CSV with no edit here.
CSV_FIELDS = (
    "run_id", "time", "reference", "current", "window_start", "window_end", "run_status",
    "column", "kind", "dtype", "kl", "cross_entropy", "entropy", "null_share_reference",
    "null_share_current", "warn", "threshold", "status", *SCORES,
)  # fmt: skip


def render(
    runs: Sequence[Run],
    fmt: HistoryFormat,
    out: TextIO | None = None,
    color: Color = Color.auto,
) -> None:
    """Write `runs` (oldest first) to `out` (stdout by default) in format `fmt`."""
    out = out or sys.stdout
    if fmt is HistoryFormat.json:
        out.write(jsonvalues.dumps(document(runs), indent=2))
        out.write("\n")
    elif fmt is HistoryFormat.html:
        from kldrift.report import html

        html.write_history(runs, out)
    elif fmt is HistoryFormat.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_FIELDS)
        writer.writerows(_csv_rows(runs))
    else:
        write_table(runs, out, color)


def write_file(runs: Sequence[Run], fmt: HistoryFormat, path: str | os.PathLike[str]) -> None:
    """Write `runs` to `path` atomically in format `fmt`."""
    write_atomic(path, lambda out: render(runs, fmt, out))


def document(runs: Sequence[Run]) -> dict[str, Any]:
    """The runs as plain JSON-ready data (an infinite score is the string "inf")."""
    return {
        "format": "kldrift-history",
        "format_version": FORMAT_VERSION,
        "kldrift_version": __version__,
        "runs": [
            {
                **{k: v for k, v in asdict(run).items() if k not in ("columns", "pairs")},
                "columns": [{k: json_value(v) for k, v in asdict(c).items()} for c in run.columns],
                "pairs": [{k: json_value(v) for k, v in asdict(p).items()} for p in run.pairs],
            }
            for run in runs
        ],
    }


def trend(values: Sequence[float | None], floor: float = 0.0) -> str:
    """A sparkline of `values`, a full block for the largest finite value or `floor` if higher.

    A missing value leaves a gap; an infinite one is a full block, a negative one (which no
    divergence is, but a history edited by hand may hold) the lowest.
    """
    finite = [v for v in values if v is not None and math.isfinite(v)]
    peak = max([*finite, floor])
    top = len(BARS) - 1
    line = ""
    for v in values:
        if v is None:
            line += " "
        elif math.isinf(v) or (peak > 0 and v >= peak):
            line += BARS[top]
        else:
            line += BARS[max(1, 1 + round(v / peak * (top - 1)))] if peak > 0 else BARS[1]
    return line


def write_table(runs: Sequence[Run], out: TextIO, color: Color = Color.auto) -> None:
    """Print the runs, then one row per column with its KL trend over these runs.

    As the width shrinks the summary, window and input columns of the runs, and the min and max
    of the trends, are the first to move to a second block or drop out.
    """
    printer = console(out, color)
    if not runs:
        printer.print("no runs recorded")
        return
    statuses = [Text(run.status, style=STATUS_STYLE[Status(run.status)]) for run in runs]
    fields = [
        Field("id", [str(run.id) for run in runs], 0),
        Field("time (UTC)", [run.time[:19].replace("T", " ") for run in runs], 1),
        Field("current", [printable(run.current) for run in runs], 3, shorten=True),
        Field("window", [_window(run) for run in runs], 4),
        Field("status", statuses, 0),
        Field("summary", [run.summary for run in runs], 2, wrap=True),
        Field("files", [_files(run) for run in runs], 5, "right"),
    ]
    title = f"last {len(runs)} {plural(len(runs), 'run')}"
    printer.print(layout.tables(fields, printer.width, title=title))
    for run in runs:
        # A glob or directory: which files this run read, so cron runs can be told apart.
        if len(run.current_files) > 1 or run.current_files[:1] not in ((), (run.current,)):
            listed = Text(f"run {run.id} read {_files(run)}: ", style="bold")
            listed.append(", ".join(run.current_files))
            printer.print(listed)

    names = sorted({c.name for run in runs for c in run.columns})
    trend_cells: list[Text] = []
    mins, maxes, latest_kl, latest_status = [], [], [], []
    for name in names:
        results = [next((c for c in run.columns if c.name == name), None) for run in runs]
        values = [r.kl if r else None for r in results]
        present = [v for v in values if v is not None]
        latest = next(r for r in reversed(results) if r is not None)
        style = STATUS_STYLE[Status(latest.status)]
        # Scaled to at least the drift level, so noise well below it stays low.
        trend_cells.append(Text(trend(values, latest.threshold), style=style))
        mins.append(score(min(present)))
        maxes.append(score(max(present)))
        latest_kl.append(score(latest.kl))
        latest_status.append(Text(latest.status, style=style))
    trends = [
        Field("column", [printable(n) for n in names], 0, shorten=True),
        Field("trend", trend_cells, 2),
        Field("min", mins, 4, "right"),
        Field("max", maxes, 3, "right"),
        Field("latest KL", latest_kl, 1, "right"),
        Field("latest status", latest_status, 0),
    ]
    printer.print(
        layout.tables(trends, printer.width, title="KL per column, oldest run -> latest")
    )
    if any(run.pairs for run in runs):
        printer.print(_pair_trends(runs, printer.width))


def _pair_trends(runs: Sequence[Run], width: int) -> RenderableType:
    """One row per column pair scored in these runs: its relationship score over them."""
    names = sorted({p.name for run in runs for p in run.pairs})
    shown_names, trend_cells = [], []
    maxes, latest_scores, moved = [], [], []
    statuses: list[Cell] = []
    for name in names:
        results = [next((p for p in run.pairs if p.name == name), None) for run in runs]
        values = [r.relationship if r else None for r in results]
        latest = next(r for r in reversed(results) if r is not None)
        style = STATUS_STYLE[Status(latest.status)]
        shown_names.append(pair_name((latest.x, latest.y)))
        trend_cells.append(Text(trend(values, latest.threshold), style=style))
        maxes.append(score(max(v for v in values if v is not None)))
        latest_scores.append(score(latest.relationship))
        statuses.append(Text(latest.status, style=style))
        moved.append(
            "\n".join(map(printable, latest.cells)) if latest.status != Status.ok.value else ""
        )
    fields = [
        Field("pair", shown_names, 0, shorten=True),
        Field("trend", trend_cells, 2),
        Field("max", maxes, 3, "right"),
        Field("latest", latest_scores, 1, "right"),
        Field("latest status", statuses, 0),
        Field("latest cells that moved most", moved, 4, wrap=True),
    ]
    title = "relationship per column pair, oldest run -> latest"
    return layout.tables(fields, width, title=title)


def _files(run: Run) -> str:
    """E.g. "3 files, 12000 rows"; empty for runs recorded before files were."""
    n = len(run.current_files)
    if not n:
        return ""
    return f"{n} {plural(n, 'file')}, {run.current_rows} rows"


def _window(run: Run) -> str:
    return f"{run.window_start} .. {run.window_end}" if run.window_start else ""


def _csv_rows(runs: Sequence[Run]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for run in runs:
        head = [
            run.id, run.time, text(run.reference), text(run.current),
            text(run.window_start or ""), text(run.window_end or ""), run.status,
        ]  # fmt: skip
        if not run.columns:
            rows.append(head + [""] * (len(CSV_FIELDS) - len(head)))
        for c in run.columns:
            rows.append(
                head
                + [
                    text(c.name),
                    c.kind,
                    text(c.dtype),
                    repr(c.kl),
                    repr(c.cross_entropy),
                    repr(c.entropy),
                    c.null_share_reference,
                    c.null_share_current,
                    c.warn,
                    c.threshold,
                    c.status,
                ]  # fmt: skip
                # A run recorded before a score existed has none: an empty cell.
                + ["" if v is None else repr(v) for v in (getattr(c, s) for s in SCORES)]
            )
        # A pair's row: kind "pair", its relationship score in kl and its levels (docs/history.md).
        for p in run.pairs:
            rows.append(
                head
                + [
                    text(p.name),
                    "pair",
                    "",
                    repr(p.relationship),
                    "",
                    "",
                    "",
                    "",
                    p.warn,
                    p.threshold,
                    p.status,
                ]  # fmt: skip
            )
    return rows
