"""A spinner on stderr naming the step under way, for long comparisons in a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress(quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """Yield a callback that shows its note beside a spinner; silent off a terminal or if quiet.

    polars runs each step as one opaque query, so this names the step rather than guess a
    percentage.
    """
    if quiet or not sys.stderr.isatty():
        yield lambda _: None
        return
    # Imported here: off a terminal (CI, cron, pipes) nothing of rich is needed for JSON output.
    from rich.console import Console
    from rich.text import Text

    # Notes name files, which are data: Text, since rich reads a str status as markup.
    with Console(stderr=True).status(Text("starting"), spinner="dots") as status:
        yield lambda note: status.update(Text(note))
