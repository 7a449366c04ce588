"""kldrift: per-column KL divergence and cross-entropy between a reference and a current dataset."""

__version__ = "0.1.0"

from kldrift.config import Adjustment, Decision, Kind, Metric, Options, Status, Thresholds
from kldrift.drift import ColumnDrift, DriftReport, SchemaChange, compare
from kldrift.errors import ColumnError, InputError, KldriftError, OptionError

__all__ = [
    "Adjustment",
    "ColumnDrift",
    "ColumnError",
    "Decision",
    "DriftReport",
    "InputError",
    "Kind",
    "KldriftError",
    "Metric",
    "OptionError",
    "Options",
    "SchemaChange",
    "Status",
    "Thresholds",
    "__version__",
    "compare",
]
