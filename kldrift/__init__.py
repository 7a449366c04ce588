"""kldrift: per-column KL divergence and cross-entropy between a reference and a current dataset."""

__version__ = "0.1.0"

from kldrift.config import FailOn, Gate, Kind, Options, Status, Thresholds
from kldrift.drift import ColumnDrift, DriftReport, SchemaChange, Verdict, compare
from kldrift.errors import (
    ColumnError,
    ConfigError,
    InputError,
    KldriftError,
    OptionError,
    OutputError,
)

__all__ = [
    "ColumnDrift",
    "ColumnError",
    "ConfigError",
    "DriftReport",
    "FailOn",
    "Gate",
    "InputError",
    "Kind",
    "KldriftError",
    "OptionError",
    "Options",
    "OutputError",
    "SchemaChange",
    "Status",
    "Thresholds",
    "Verdict",
    "__version__",
    "compare",
]
