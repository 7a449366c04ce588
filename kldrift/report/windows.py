"""Window reports -> text: a windows x columns table for people, or JSON with a row per window."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from rich.text import Text

from kldrift import jsonvalues
from kldrift.__version__ import __version__
from kldrift.gate import passed
from kldrift.jsonvalues import json_value
from kldrift.options import Color, Format, Status
from kldrift.report import json as json_report
from kldrift.report import layout, write_atomic
from kldrift.report.layout import Field
from kldrift.report.table import STATUS_STYLE, console
from kldrift.report.text import printable, score
from kldrift.result import DriftReport, Window, plural

#: Bumped when a field changes meaning or disappears; adding fields does not bump it.
FORMAT_VERSION = 1


def render(
    windows: Sequence[DriftReport],
    fmt: Format,
    out: TextIO | None = None,
    color: Color = Color.auto,
) -> None:
    """Write the per-window comparison to `out` (stdout by default) in format `fmt`."""
    out = out or sys.stdout
    if fmt is Format.json:
        out.write(jsonvalues.dumps(document(windows), indent=2))
        out.write("\n")
    elif fmt is Format.html:
        from kldrift.report import html

        html.write_windows(windows, out)
    else:
        write_table(windows, out, color)


def write_file(windows: Sequence[DriftReport], fmt: Format, path: str | os.PathLike[str]) -> None:
    """Write the per-window comparison to `path` atomically."""
    write_atomic(path, lambda out: render(windows, fmt, out))


def summary(windows: Sequence[DriftReport]) -> str:
    """One line for people, e.g. "2 of 7 windows drifted"."""
    count = sum(w.drifted for w in windows)
    return f"{count} of {len(windows)} {plural(len(windows), 'window')} drifted"


def document(windows: Sequence[DriftReport]) -> dict[str, Any]:
    """The comparison as plain JSON-ready data, one entry per window in `windows`."""
    first = json_report.document(windows[0])
    status = _overall(windows)
    # Null rates and categories change from window to window; the rest of the schema does not.
    per_window = ("null_rate_changed", "categories")
    structural = {k: v for k, v in first["schema"].items() if k not in per_window}
    return {
        "format": "kldrift-windows",
        "format_version": FORMAT_VERSION,
        "kldrift_version": __version__,
        "reference": first["reference"],
        "current": {"source": first["current"]["source"], "files": first["current"]["files"]},
        "config_file": first["config_file"],
        "summary": {
            "status": status.value,
            "drifted": any(w.drifted for w in windows),
            "passed": passed(windows),
            "windows": len(windows),
            "windows_drifted": sum(w.drifted for w in windows),
            "text": summary(windows),
        },
        "options": first["options"],
        "thresholds": first["thresholds"],
        "schema": structural,
        "windows": [
            {
                "start": _window(w).start,
                "end": _window(w).end,
                "rows": w.current_rows,
                "status": w.status.value,
                "drifted": w.drifted,
                "summary": w.summary,
                "schema": {
                    k: v for k, v in json_report.schema(w).items() if k in per_window
                },
                "columns": {
                    c.name: {
                        "kl": json_value(c.kl),
                        "kl_corrected": json_value(c.kl_corrected),
                        "p_adjusted": c.p_adjusted,
                        "cross_entropy": json_value(c.cross_entropy),
                        "entropy": json_value(c.entropy),
                        "null_share": c.null_share_current,
                        "status": c.status.value,
                    }
                    for c in sorted(w.columns, key=lambda c: c.name)
                },
            }
            for w in windows
        ],
    }


def write_table(
    windows: Sequence[DriftReport], out: TextIO, color: Color = Color.auto
) -> None:
    """Print a table with a row per window and a KL cell per column, and a summary line.

    Columns most drifted (in their worst window) come first and are the last to move to the
    second block or drop out as the width shrinks; their names are shortened in the middle to
    the width of their numbers when room is short.
    """
    printer = console(out, color)
    first = windows[0]
    worst: dict[str, float] = {}
    for w in windows:
        for c in w.columns:
            worst[c.name] = max(worst.get(c.name, -1.0), c.kl)
    names = sorted(worst, key=lambda n: (-worst[n], n))
    by_window = [{c.name: c for c in w.columns} for w in windows]
    fields = [
        Field("window start", [_window(w).start for w in windows], 0),
        Field("rows", [str(w.current_rows) for w in windows], 1, "right"),
        Field("status", [Text(w.status.value, style=STATUS_STYLE[w.status]) for w in windows], 0),
    ]
    for rank, name in enumerate(names):
        cells = [
            Text(score(cell.kl), style=STATUS_STYLE[cell.status]) if cell else Text("-")
            for cell in (columns.get(name) for columns in by_window)
        ]
        fields.append(Field(printable(name), cells, 2 + rank, "right", short_header=True))
    sides = f"{printable(first.reference)} -> {printable(first.current)}"
    printer.print(
        layout.tables(
            fields,
            printer.width,
            title=f"kldrift: {sides}, per window",
            caption=f"KL = D(reference || window), in {first.options.unit}",
        )
    )
    printer.print(Text(summary(windows), style=STATUS_STYLE[_overall(windows)]))


def _overall(windows: Sequence[DriftReport]) -> Status:
    statuses = {w.status for w in windows}
    for status in (Status.drift, Status.warn):
        if status in statuses:
            return status
    return Status.ok


def _window(report: DriftReport) -> Window:
    if report.window is None:
        raise ValueError("a report of the whole current data has no window")
    return report.window
