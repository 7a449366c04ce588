"""What the library tells a progress display: a note per step, with a count when one is known."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Called as each step starts: `note` names it; `done` of `total` when the work is counted."""

    def __call__(self, note: str, done: int | None = None, total: int | None = None) -> None:
        """Show that step `note` is under way (`done` of `total` items, if counted)."""


def silent(note: str, done: int | None = None, total: int | None = None) -> None:
    """A Progress that shows nothing."""
