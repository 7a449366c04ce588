"""KldriftError and its subclasses: mistakes a user can act on, carrying the data to word them.

The tree::

    KldriftError                  anything kldrift reports to a user in one line (exit code 2)
    ├── InputError                a data file is missing, unreadable, empty or cannot be parsed
    ├── OptionError               a setting's value breaks a rule (setting, value, rule)
    │   ├── ConfigError           a configuration file cannot be read or holds an unknown key
    │   └── ResolutionError       a window length finer than its time column can tell apart
    ├── ColumnError               a column named by a setting does not exist or cannot be compared
    │   └── LeftOutError          a column named by a setting is left out by columns or exclude
    ├── OutputError               a report or history file cannot be written
    │   └── SameFileError         two settings name one output file, or an output an input
    └── WebhookError              an alert could not be delivered

Errors about a setting name it as the library spells it (`bins`, `max_drifted`); each front end
words it its own way: the command line shows `--bins`, the config reader `kldrift.toml: bins`,
and Python shows `bins` (`str(error)`). No message here names a command-line flag.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable


class KldriftError(Exception):
    """Base class for every error kldrift reports to a user in one line."""

    def worded(self, name: Callable[[str], str]) -> str:
        """The message with each setting named by `name` (a front end's spelling of it)."""
        return str(self)


class InputError(KldriftError):
    """A data file is missing, unreadable, empty or cannot be parsed.

    A setting that would fix it is written in braces in `message` ("choose an {encoding}") and
    listed in `settings`, so each front end spells it (`--encoding`); only those are replaced,
    so a file name with braces stays as it is.
    """

    def __init__(self, message: str, *, settings: tuple[str, ...] = ()):
        self.message, self.settings = message, settings
        super().__init__(self.worded(lambda setting: setting))

    def worded(self, name: Callable[[str], str]) -> str:
        text = self.message
        for setting in self.settings:
            text = text.replace("{" + setting + "}", name(setting))
        return text


class OptionError(KldriftError):
    """Setting `setting` has `value`, which breaks `rule` (e.g. "must be at least 1").

    Another setting named in `rule` is written in braces ("must not be above {threshold}"), so
    each front end spells it too. `shown` is the value as the user typed it, when the library's
    form would mislead.
    """

    def __init__(self, setting: str, value: object, rule: str, *, shown: str | None = None):
        self.setting, self.value, self.rule = setting, value, rule
        self.shown = shown if shown is not None else _shown(value)
        super().__init__(self.worded(lambda setting: setting))

    def worded(self, name: Callable[[str], str]) -> str:
        """E.g. "bins must be at least 1, got 0", with the setting spelled by `name`."""
        rule = re.sub(r"\{(\w+)\}", lambda m: name(m.group(1)), self.rule)
        return f"{name(self.setting)} {rule}" + (f", got {self.shown}" if self.shown else "")


class ConfigError(OptionError):
    """A configuration file cannot be read or holds a key or value kldrift cannot use.

    `source` is the file; `key` the offending key (dotted, as written in the file), if any.
    """

    def __init__(self, source: str, message: str, *, key: str | None = None):
        self.source, self.key, self.message = source, key, message
        text = f"{source}: {key}: {message}" if key else f"{source}: {message}"
        KldriftError.__init__(self, text)
        self.setting, self.value, self.rule, self.shown = key or "", None, message, ""

    def worded(self, name: Callable[[str], str]) -> str:
        return str(self)


class ResolutionError(OptionError):
    """Setting `setting` asks for windows `value` long, finer than `resolution` ("a day"): what
    `column`, a `kind` column ("date"), can tell apart; `hint` says what it takes instead."""

    def __init__(
        self, setting: str, value: str, *, column: str, kind: str, resolution: str, hint: str
    ):
        self.column, self.kind, self.resolution, self.hint = column, kind, resolution, hint
        super().__init__(setting, value, f"is finer than {resolution}", shown="")

    def worded(self, name: Callable[[str], str]) -> str:
        """E.g. "every 6h is finer than a day, the resolution of 'day' (a date column); ..."."""
        return (
            f"{name(self.setting)} {self.value} is finer than {self.resolution}, the resolution"
            f" of {self.column!r} (a {self.kind} column); {self.hint}"
        )


class ColumnError(KldriftError):
    """Column `column`, named by setting `setting` (if any), is not in `source`, or `problem`.

    `source` names where the column was looked for, e.g. "ref.csv or cur.csv"; `known` are the
    columns there, from which the message suggests the closest names.
    """

    def __init__(
        self,
        column: str | None,
        source: str,
        *,
        setting: str | None = None,
        problem: str | None = None,
        known: Iterable[str] = (),
    ):
        self.column, self.source, self.setting, self.problem = column, source, setting, problem
        self.known = tuple(known)
        super().__init__(self.worded(lambda setting: setting))

    @property
    def close(self) -> tuple[str, ...]:
        """The known columns whose names are close to `column` (a typo's likely meaning)."""
        if self.column is None:
            return ()
        return tuple(difflib.get_close_matches(self.column, self.known, n=3, cutoff=0.75))

    def worded(self, name: Callable[[str], str]) -> str:
        """E.g. "columns: no column 'x' in ref.csv or cur.csv", the setting spelled by `name`."""
        if self.problem is not None:
            text = self.problem
        else:
            text = f"no column {self.column!r} in {self.source}"
            if self.close:
                text += f"; did you mean {' or '.join(repr(c) for c in self.close)}?"
        return f"{name(self.setting)}: {text}" if self.setting else text


class LeftOutError(ColumnError):
    """Column `column`, named by setting `setting`, is left out of the comparison by setting
    `by`: "exclude" names it, or "columns" does not."""

    def __init__(self, column: str, *, setting: str, by: str):
        self.by = by
        super().__init__(column, "", setting=setting)

    def worded(self, name: Callable[[str], str]) -> str:
        """E.g. "column: 'income' is left out by exclude", the settings spelled by `name`."""
        how = "is left out by" if self.by == "exclude" else "is not in"
        return f"{name(self.setting or '')}: {self.column!r} {how} {name(self.by)}"


class OutputError(KldriftError):
    """A report file cannot be written."""


class SameFileError(OutputError):
    """Settings `settings` name one file, each by its own spelling in `paths`: the file written
    second would replace the first, or, where the second setting is `read` (an input), the
    output would replace a file the run reads; so nothing is written."""

    def __init__(self, settings: tuple[str, str], paths: tuple[str, str], *, read: bool = False):
        self.settings, self.paths, self.read = settings, paths, read
        super().__init__(self.worded(lambda setting: setting))

    def worded(self, name: Callable[[str], str]) -> str:
        """E.g. "output and html both name r.txt", or "output would replace cur.csv, which
        CURRENT reads", the settings spelled by `name`."""
        (first, second), (a, b) = self.settings, self.paths
        if self.read:
            which = b if a == b else f"{b} (as {a})"
            return f"{name(first)} would replace {which}, which {name(second)} reads"
        where = a if a == b else f"one file ({a} and {b})"
        return f"{name(first)} and {name(second)} both name {where}"


class WebhookError(KldriftError):
    """A webhook alert could not be delivered (the URL is shown without credentials)."""


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value) or "(none)"
    if isinstance(value, str):
        return repr(value)
    return str(value)
