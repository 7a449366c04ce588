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
    "Adjustment": "kldrift.config",
    "Decision": "kldrift.config",
    "FailOn": "kldrift.config",
    "Gate": "kldrift.config",
    "Kind": "kldrift.config",
    "Metric": "kldrift.config",
    "Options": "kldrift.config",
    "Status": "kldrift.config",
    "Thresholds": "kldrift.config",
    "ColumnError": "kldrift.errors",
    "ConfigError": "kldrift.errors",
    "InputError": "kldrift.errors",
    "KldriftError": "kldrift.errors",
    "OptionError": "kldrift.errors",
    "OutputError": "kldrift.errors",
    "ReadOptions": "kldrift.io",
    "CellShift": "kldrift.pairs",
    "PairDrift": "kldrift.pairs",
    "PairLevels": "kldrift.pairs",
    "PairReport": "kldrift.pairs",
    "compare_pairs": "kldrift.pairs",
}

__all__ = [
    "Adjustment",
    "CellShift",
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
    "PairDrift",
    "PairLevels",
    "PairReport",
    "SchemaChange",
    "Status",
    "Thresholds",
    "Verdict",
    "__version__",
    "compare",
    "compare_pairs",
]

if TYPE_CHECKING:
    from kldrift.config import (
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
    from kldrift.pairs import CellShift, PairDrift, PairLevels, PairReport, compare_pairs


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'kldrift' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
