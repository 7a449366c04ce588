"""KldriftError and its subclasses: mistakes a user can act on."""

from __future__ import annotations


class KldriftError(Exception):
    """Base class for every error kldrift reports to a user in one line."""


class InputError(KldriftError):
    """A data file is missing, unreadable, empty or cannot be parsed."""


class ColumnError(KldriftError):
    """A column named by the user does not exist or cannot be compared."""


class OptionError(KldriftError):
    """An option has a value kldrift cannot work with."""


class ConfigError(OptionError):
    """A configuration file cannot be read or holds a key or value kldrift cannot use."""


class OutputError(KldriftError):
    """A report file cannot be written."""
