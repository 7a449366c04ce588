"""DriftReport -> text: one module per format behind render(report, fmt)."""

from __future__ import annotations

import importlib
import io
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, TextIO, cast

from kldrift import files
from kldrift.errors import OutputError
from kldrift.options import Color, Format

if TYPE_CHECKING:  # rendering modules import polars via drift; the CLI imports this one at startup
    from kldrift.registry import Metric
    from kldrift.result import ColumnDrift, DriftReport, PairDrift

#: Set by GitHub Actions: a Markdown file shown on the run's summary page.
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


class Renderer(Protocol):
    """What every format module offers: adding a format is a module with `write` and a name."""

    def write(self, report: DriftReport, out: TextIO) -> None:
        """Write `report` to `out`."""


def renderer(fmt: Format) -> Renderer:
    """The module that renders `fmt`, imported on first use so rich loads only for tables."""
    return cast(Renderer, importlib.import_module(f"kldrift.report.{fmt.value}"))


def render(
    report: DriftReport,
    fmt: Format,
    out: TextIO | None = None,
    show: Sequence[Metric] = (),
    explain: bool = False,
    color: Color = Color.auto,
) -> None:
    """Write `report` to `out` (stdout by default) in format `fmt`.

    `show` (extra metric columns), `explain` (the bins behind drifted columns) and `color`
    apply to the table; the other formats always carry every metric.
    """
    out = out or sys.stdout
    if fmt is Format.table:
        from kldrift.report import table

        table.write(report, out, show, explain, color)
    else:
        renderer(fmt).write(report, out)


def render_explanation(
    report: DriftReport,
    column: ColumnDrift,
    out: TextIO | None = None,
    top: int = 10,
    color: Color = Color.auto,
) -> None:
    """Write the bins behind `column`'s score and both histograms to `out` (stdout by default)."""
    from kldrift.report import explain

    explain.write(report, column, out or sys.stdout, top, color)


def render_pair_explanation(
    report: DriftReport,
    pair: PairDrift,
    out: TextIO | None = None,
    top: int = 10,
    color: Color = Color.auto,
) -> None:
    """Write both joint tables of `pair` and the cells behind its score (stdout by default)."""
    from kldrift.report import pair_explain

    pair_explain.write(report, pair, out or sys.stdout, top, color)


def write_file(
    report: DriftReport,
    fmt: Format,
    path: str | os.PathLike[str],
    show: Sequence[Metric] = (),
    explain: bool = False,
) -> None:
    """Write `report` to `path` atomically: readers see the old file or the whole new one."""
    write_atomic(path, lambda out: render(report, fmt, out, show, explain))


def write_atomic(path: str | os.PathLike[str], write: Callable[[TextIO], None]) -> None:
    """Call `write` on a buffer, then put it at `path` whole or not at all (`files.write_text`)."""
    _refuse_uri(path)
    files.write_text(path, rendered(write))


def check_target(path: str | os.PathLike[str]) -> None:
    """Raise OutputError now if a report could not be written to `path` (`files.check_target`),
    or if it is a URI: reports are local files (a Path would make "s3://b/x" a local "s3:/b/x")."""
    _refuse_uri(path)
    files.check_target(path)


def _refuse_uri(path: str | os.PathLike[str]) -> None:
    name = os.fspath(path)
    if "://" not in name:
        return
    from kldrift import remote  # imports polars, which the CLI must start without

    if remote.is_remote(name):
        raise OutputError(
            f"{remote.redact(name)}: reports are written to local files; write one here and"
            " upload it"
        )


def rendered(write: Callable[[TextIO], None]) -> str:
    """What `write` writes, as a string (to be written once nothing else can fail)."""
    out = io.StringIO(newline="")
    write(out)
    return out.getvalue()


def append_step_summary(report: DriftReport) -> bool:
    """Append the Markdown report to $GITHUB_STEP_SUMMARY when it is set; True if written."""
    path = os.environ.get(STEP_SUMMARY_ENV)
    if not path:
        return False
    from kldrift.report import markdown

    try:
        files.append_text(path, markdown.dumps(report))
    except OutputError as exc:
        raise OutputError(f"{exc} (${STEP_SUMMARY_ENV})") from None
    return True


def summary_line(report: DriftReport) -> str:
    """The summary and the gate's verdict, e.g. "3 of 10 columns drifted; fail: ..."."""
    verdict = report.verdict
    return f"{report.summary}; {'pass' if verdict.passed else 'fail'}: {verdict.reason}"


def print_message(message: str) -> None:
    """One line on stderr, for people: the report itself goes to stdout or a file."""
    sys.stderr.write(f"kldrift: {one_line(message)}\n")


def print_error(message: str) -> None:
    """One line on stderr, whatever the message holds."""
    sys.stderr.write(f"kldrift: error: {one_line(message)}\n")


def one_line(message: str) -> str:
    """`message` as one line that is safe to print: runs of white space (the lines of a
    polars error) become one space, and any other character that does not print is escaped.

    A message names files as they are, and a file or directory name may hold an escape
    sequence (`\\x1b]0;title\\x07`), which must not reach the terminal.
    """
    text = " ".join(message.split())
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
