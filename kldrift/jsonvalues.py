"""Values for strict JSON, which has no infinity or NaN: such floats become strings."""

from __future__ import annotations

import math
from typing import TypeVar

V = TypeVar("V")


def json_value(value: V) -> V | str:
    """`value` itself, or "inf", "-inf" or "nan" for a float JSON cannot hold.

    Every JSON writer of kldrift (reports, windows, history, profiles, webhooks) goes through
    this, so none can emit the Infinity/NaN tokens strict parsers reject.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value
