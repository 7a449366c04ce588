"""Columns that only count or tick: event times of a later batch and strictly increasing keys.

Such a column carries no drift information (a later batch has later timestamps and higher IDs by
construction) but would top the drift list, so `compare` reports it as a schema entry of its own
and leaves it out of the score unless the user names it.

* event time: a date or datetime column whose current values all lie at or after the latest
  reference value, and not all on it (the timestamps of a later batch);
* increasing ID: an integer column without nulls whose values strictly increase, row by row, on
  both sides, with the current starting above the reference's start (a surrogate key that keeps
  growing). A file compared with itself has none.

A profile (`kldrift profile`) stores each such column's range (profile.ValueRange), so a profile
reference (or current) is checked the same way as its data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from kldrift import profile
from kldrift.io import Table

Sequential = Literal["event_time", "increasing_id"]


@dataclass(frozen=True)
class Sequence:
    """A column found to be an event time or an increasing ID, with each side's range."""

    column: str
    kind: Sequential
    reference: tuple[str, str]
    current: tuple[str, str]

    @property
    def detail(self) -> str:
        """One line for people, e.g. "current 2026-11-01 … 2026-11-30 vs reference …"."""
        return (
            f"current {self.current[0]} … {self.current[1]} "
            f"vs reference {self.reference[0]} … {self.reference[1]}"
        )


def detect(
    reference: Table | profile.Profile,
    current: Table | profile.Profile,
    columns: Mapping[str, object],
) -> list[Sequence]:
    """The event-time and increasing-ID columns among `columns`, in their order.

    One select per data side; a profile side gives the ranges it stored. Only date, datetime and
    integer columns are looked at, and on the current side only those the reference leaves in
    question: every date and datetime, but an integer only if it increases in the reference.
    """
    candidates = [
        name for name in columns if _candidate(reference, name) and _candidate(current, name)
    ]
    if not candidates:
        return []
    asked = {
        name: r
        for name, r in side_ranges(reference, candidates).items()
        if r is not None and (_temporal(reference, name) or r.increasing)
    }
    cur = side_ranges(current, list(asked)) if asked else {}
    found: list[Sequence] = []
    for name, r in asked.items():
        if (c := cur[name]) is None:
            continue
        if _temporal(reference, name):
            later = c.low >= r.high and c.high > r.high
            kind: Sequential | None = "event_time" if later else None
        else:
            growing = r.increasing and c.increasing and c.low > r.low
            kind = "increasing_id" if growing else None
        if kind is not None:
            found.append(Sequence(name, kind, (r.low_text, r.high_text), (c.low_text, c.high_text)))
    return found


def side_ranges(
    side: Table | profile.Profile, names: list[str]
) -> dict[str, profile.ValueRange | None]:
    """Each column's range: read from data, or as a profile stored it (None if unknown)."""
    if isinstance(side, profile.Profile):
        return {n: side.columns[n].range if n in side.columns else None for n in names}
    return profile.value_ranges(side, names)


def _candidate(side: Table | profile.Profile, name: str) -> bool:
    if isinstance(side, profile.Profile):
        column = side.columns.get(name)
        return column is not None and column.range is not None
    return name in side.schema and profile.has_range(side.schema[name])


def _temporal(side: Table | profile.Profile, name: str) -> bool:
    if isinstance(side, profile.Profile):  # "Date" or "Datetime(...)", however it is binned
        return side.columns[name].dtype.startswith("Date")
    return side.schema[name].is_temporal()
