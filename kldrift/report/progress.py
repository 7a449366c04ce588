"""Progress on stderr for long steps in a terminal: a spinner, or a bar when the work is counted."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from kldrift.steps import Progress, silent


@contextmanager
def progress(quiet: bool = False) -> Iterator[Progress]:
    """Yield a Progress that shows each step on stderr; silent off a terminal or if quiet.

    polars runs most steps as one opaque query, so those get a spinner and their name; steps
    that count items (windows, files) get a bar with "done/total".
    """
    if quiet or not sys.stderr.isatty():
        yield silent
        return
    # Imported here: off a terminal (CI, cron, pipes) nothing of rich is needed for JSON output.
    from rich.console import Console
    from rich.progress import BarColumn, SpinnerColumn, TextColumn
    from rich.progress import Progress as Bars

    bars = Bars(
        SpinnerColumn("dots"),
        # Notes name files, which are data: rendered as Text, never read as markup.
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        TextColumn("{task.fields[count]}"),
        console=Console(stderr=True),
        transient=True,
    )
    task = bars.add_task("starting", total=None, count="")

    def show(note: str, done: int | None = None, total: int | None = None) -> None:
        counted = done is not None and total is not None
        bars.update(
            task,
            description=note,
            completed=done if counted else 0,
            total=total if counted else None,
            count=f"{done}/{total}" if counted else "",
        )

    with bars:
        yield show
