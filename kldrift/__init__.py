"""kldrift: per-column KL divergence and cross-entropy between a reference and a current dataset.

The public names are loaded on first use (PEP 562), so `kldrift --help` starts without polars.
Comparing: `compare` (and `compare_windows`, one report per time window) with a `Spec` that
`resolve` builds; profiling: `profile_data`, `save_profile`, `load_profile`; monitoring:
`record_runs` and `read_runs` on a history database.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kldrift.__version__ import __version__

#: Public name -> "module" that defines it under that name, or "module:name".
_EXPORTS = {
    "ColumnDrift": "kldrift.result",
    "DriftReport": "kldrift.result",
    "SchemaChange": "kldrift.result",
    "Verdict": "kldrift.gate",
    "Window": "kldrift.result",
    "compare": "kldrift.drift",
    "profile_data": "kldrift.reference",
    "compare_windows": "kldrift.windows",
    "Profile": "kldrift.profile",
    "load_profile": "kldrift.profile_file:load",
    "save_profile": "kldrift.profile_file:save",
    "Run": "kldrift.historydb",
    "record_runs": "kldrift.historydb:record",
    "read_runs": "kldrift.historydb:read",
    "NOT_GIVEN": "kldrift.spec",
    "ConfigFile": "kldrift.spec",
    "Spec": "kldrift.spec",
    "resolve": "kldrift.spec",
    "load_config": "kldrift.configfile:load",
    "Adjustment": "kldrift.options",
    "Decision": "kldrift.options",
    "FailOn": "kldrift.options",
    "Gate": "kldrift.options",
    "Kind": "kldrift.options",
    "Metric": "kldrift.registry",
    "Options": "kldrift.options",
    "Status": "kldrift.options",
    "Thresholds": "kldrift.options",
    "ColumnError": "kldrift.errors",
    "ConfigError": "kldrift.errors",
    "InputError": "kldrift.errors",
    "KldriftError": "kldrift.errors",
    "OptionError": "kldrift.errors",
    "OutputError": "kldrift.errors",
    "WebhookError": "kldrift.errors",
    "ReadOptions": "kldrift.io",
    "CellShift": "kldrift.pairs",
    "PairDrift": "kldrift.pairs",
    "PairLevels": "kldrift.pairs",
    "PairReport": "kldrift.pairs",
    "compare_pairs": "kldrift.pairs",
}

__all__ = [
    "NOT_GIVEN",
    "Adjustment",
    "CellShift",
    "ColumnDrift",
    "ColumnError",
    "ConfigError",
    "ConfigFile",
    "Decision",
    "DriftReport",
    "FailOn",
    "Gate",
    "InputError",
    "Kind",
    "KldriftError",
    "Metric",
    "OptionError",
    "Options",
    "OutputError",
    "PairDrift",
    "PairLevels",
    "PairReport",
    "Profile",
    "ReadOptions",
    "Run",
    "SchemaChange",
    "Spec",
    "Status",
    "Thresholds",
    "Verdict",
    "WebhookError",
    "Window",
    "__version__",
    "compare",
    "compare_pairs",
    "compare_windows",
    "load_config",
    "load_profile",
    "profile_data",
    "read_runs",
    "record_runs",
    "resolve",
    "save_profile",
]

if TYPE_CHECKING:
    from kldrift.configfile import load as load_config
    from kldrift.drift import compare
    from kldrift.errors import (
        ColumnError,
        ConfigError,
        InputError,
        KldriftError,
        OptionError,
        OutputError,
        WebhookError,
    )
    from kldrift.gate import Verdict
    from kldrift.historydb import Run
    from kldrift.historydb import read as read_runs
    from kldrift.historydb import record as record_runs
    from kldrift.io import ReadOptions
    from kldrift.options import (
        Adjustment,
        Decision,
        FailOn,
        Gate,
        Kind,
        Options,
        Status,
        Thresholds,
    )
    from kldrift.pairs import CellShift, PairDrift, PairLevels, PairReport, compare_pairs
    from kldrift.profile import Profile
    from kldrift.profile_file import load as load_profile
    from kldrift.profile_file import save as save_profile
    from kldrift.reference import profile_data
    from kldrift.registry import Metric
    from kldrift.result import ColumnDrift, DriftReport, SchemaChange, Window
    from kldrift.spec import NOT_GIVEN, ConfigFile, Spec, resolve
    from kldrift.windows import compare_windows


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'kldrift' has no attribute {name!r}")
    module, _, attribute = _EXPORTS[name].partition(":")
    value = getattr(importlib.import_module(module), attribute or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
