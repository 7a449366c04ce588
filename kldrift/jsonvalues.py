"""Strict JSON, which has no infinity or NaN: such floats become strings, and one dump for all."""

from __future__ import annotations

import json
import math
from typing import Any, TypeVar

V = TypeVar("V")


def json_value(value: V) -> V | str:
    """`value` itself, or "inf", "-inf" or "nan" for a float JSON cannot hold.

    Every JSON writer of kldrift (reports, windows, history, profiles, webhooks) goes through
    this, so none can emit the Infinity/NaN tokens strict parsers reject.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def dumps(value: Any, indent: int | None = None, *, ascii_only: bool = False) -> str:
    """`value` as strict JSON: a NaN or infinity left in it raises ValueError, never a token
    (Infinity, NaN) that strict parsers reject. Every JSON kldrift writes goes through here."""
    return json.dumps(value, indent=indent, allow_nan=False, ensure_ascii=ascii_only)
