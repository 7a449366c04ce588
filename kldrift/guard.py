"""The process's last line of defence: guarded standard streams and a last-resort handler.

`run(app)` is the console entry point's body (docs/output.md):

- any exception the commands did not turn into a one-line error becomes one, with exit code 2
  (never 1, which means drift); KLDRIFT_DEBUG=1 adds the traceback;
- stdout that cannot be written (a full disk, /dev/full, a closed descriptor) is a one-line
  error with exit code 2, once the command is done;
- a reader that went away (`kldrift compare ... | head -1`) ends the output quietly, and the exit
  code stays the verdict's: the rest of the report is discarded, not turned into an error.
"""

from __future__ import annotations

import errno
import io
import os
import sys
import traceback
from collections.abc import Callable
from typing import NoReturn, TextIO

EXIT_ERROR = 2
DEBUG_ENV = "KLDRIFT_DEBUG"


class _Guarded(io.RawIOBase):
    """A standard descriptor whose write errors are kept, not raised; later writes are dropped."""

    def __init__(self, fd: int, gone: bool) -> None:
        super().__init__()
        self.fd, self.gone = fd, gone
        self.problem: OSError | None = None

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        return not self.gone and os.isatty(self.fd)

    def write(self, data: object) -> int:
        view = memoryview(data)  # type: ignore[arg-type]  # bytes-like, as RawIOBase promises
        if self.gone and self.problem is None:
            self.problem = OSError(errno.EBADF, "it is closed")
        if self.problem is None:
            try:
                rest = view
                while rest:
                    rest = rest[os.write(self.fd, rest) :]
            except OSError as exc:
                self.problem = exc
        return len(view)


def run(app: Callable[..., object], prog_name: str = "kldrift") -> NoReturn:
    """Run the typer `app` and exit with its code, by the rules in this module's docstring."""
    saved = sys.stdout, sys.stderr
    out = _guard(1, sys.stdout)
    _guard(2, sys.stderr)
    code = EXIT_ERROR
    try:
        app(prog_name=prog_name)
        code = 0
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else EXIT_ERROR
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the last resort: whatever escaped the commands' own handling
        # BaseException, not Exception: a panic in polars' native code reaches Python as
        # pyo3's PanicException, which derives from BaseException so that `except Exception`
        # lets it through; it would end the run with a traceback and exit code 1 (drift).
        if os.environ.get(DEBUG_ENV) == "1":
            traceback.print_exc()
        from kldrift.report import one_line

        detail = one_line(str(exc)) or "no details"
        _say(f"kldrift: error: unexpected {type(exc).__name__}: {detail}")
        code = EXIT_ERROR
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        sys.stdout, sys.stderr = saved
    problem = out.problem if out is not None else None
    if problem is not None and problem.errno != errno.EPIPE:
        _say(f"kldrift: error: cannot write to stdout: {problem.strerror or problem}")
        code = EXIT_ERROR
    sys.exit(code)


def _guard(fd: int, stream: TextIO | None) -> _Guarded | None:
    """Put a guarded text stream on descriptor `fd` in place of `stream`; the raw guard."""
    if stream is not None:
        try:
            if stream.fileno() != fd:
                return None  # redirected inside Python (a test harness): leave it alone
        except (OSError, ValueError, AttributeError):
            return None
        stream.flush()
    try:
        os.fstat(fd)
        gone = False
    except OSError:
        # A closed descriptor would be reused by the next file opened (the history, a report):
        # hold it with /dev/null so nothing meant for stdout can land in that file.
        null = os.open(os.devnull, os.O_WRONLY)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        gone = True
    raw = _Guarded(fd, gone)
    text = io.TextIOWrapper(
        io.BufferedWriter(raw),
        encoding=getattr(stream, "encoding", None) or "utf-8",
        errors=getattr(stream, "errors", None) or ("backslashreplace" if fd == 2 else "strict"),
        line_buffering=fd == 2 or bool(getattr(stream, "line_buffering", False)),
    )
    if fd == 1:
        sys.stdout = text
    else:
        sys.stderr = text
    return raw


def _say(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass  # stderr is gone too: the exit code is all that is left
