"""kldrift: per-column KL divergence and cross-entropy between a reference and a current dataset.

The public names are loaded on first use (PEP 562), so `kldrift --help` starts without polars.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> module that defines it.
_EXPORTS = {
    "ColumnDrift": "kldrift.drift",
    "DriftReport": "kldrift.drift",
    "SchemaChange": "kldrift.drift",
    "Verdict": "kldrift.drift",
    "compare": "kldrift.drift",
    "Adjustment": "kldrift.options",
    "Decision": "kldrift.options",
    "FailOn": "kldrift.options",
    "Gate": "kldrift.options",
    "Kind": "kldrift.options",
    "Metric": "kldrift.options",
    "Options": "kldrift.options",
    "Status": "kldrift.options",
    "Thresholds": "kldrift.options",
    "ColumnError": "kldrift.errors",
    "ConfigError": "kldrift.errors",
    "InputError": "kldrift.errors",
    "KldriftError": "kldrift.errors",
    "OptionError": "kldrift.errors",
    "OutputError": "kldrift.errors",
    "ReadOptions": "kldrift.io",
}

__all__ = [
    "Adjustment",
    "ColumnDrift",
    "ColumnError",
    "Decision",
    "ConfigError",
    "DriftReport",
    "FailOn",
    "Gate",
    "InputError",
    "Kind",
    "KldriftError",
    "Metric",
    "OptionError",
    "Options",
    "ReadOptions",
    "OutputError",
    "SchemaChange",
    "Status",
    "Thresholds",
    "Verdict",
    "__version__",
    "compare",
]

if TYPE_CHECKING:
    from kldrift.drift import ColumnDrift, DriftReport, SchemaChange, Verdict, compare
    from kldrift.errors import (
        ColumnError,
        ConfigError,
        InputError,
        KldriftError,
        OptionError,
        OutputError,
    )
    from kldrift.io import ReadOptions
    from kldrift.options import (
        Adjustment,
        Decision,
        FailOn,
        Gate,
        Kind,
        Metric,
        Options,
        Status,
        Thresholds,
    )


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'kldrift' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
