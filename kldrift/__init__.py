"""kldrift: per-column KL divergence and cross-entropy between a reference and a current dataset."""

__version__ = "0.1.0"

from kldrift.config import Kind, Options, Status, Thresholds
from kldrift.drift import ColumnDrift, DriftReport, SchemaChange, compare
from kldrift.errors import ColumnError, InputError, KldriftError, OptionError
from kldrift.io import ReadOptions

__all__ = [
    "ColumnDrift",
    "ColumnError",
    "DriftReport",
    "InputError",
    "Kind",
    "KldriftError",
    "OptionError",
    "Options",
    "ReadOptions",
    "SchemaChange",
    "Status",
    "Thresholds",
    "__version__",
    "compare",
]
