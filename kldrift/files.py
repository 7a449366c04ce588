"""Writing files safely: whole or not at all, never through a planted link, with the umask's mode.

Every file kldrift writes goes through `write_text` (replace) or `append_text` (append); see
docs/output.md. A regular target is replaced atomically: the text goes to a temporary file with
an unpredictable name, created exclusively next to the target, which is flushed to disk, given
the mode a plain `open(path, "w")` would give, and renamed over the target. A FIFO or character
device (`/dev/null`, `/dev/stdout`) is written through, as a shell redirection would; any
other symbolic link, a directory, a block device or a socket is refused, so a link planted at
the target (or at any name kldrift would use) never redirects the write to a file.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from kldrift.errors import OptionError, OutputError, SameFileError

#: Targets written through instead of replaced: a pipe and a terminal-like device keep their role.
_STREAMS = (stat.S_ISFIFO, stat.S_ISCHR)


def check_path(setting: str, path: str | os.PathLike[str]) -> None:
    """Raise OptionError if `path`, given for `setting`, is empty or only blanks.

    `Path("")` is the working directory, so an empty path would otherwise be read (every data
    file in it) or written (refused as a directory) in its place.
    """
    name = os.fspath(path)
    if not name.strip():
        shown = repr(name) if name else ""
        raise OptionError(setting, name, "must not be an empty path", shown=shown)


def check_target(path: str | os.PathLike[str]) -> None:
    """Raise OutputError if `write_text` would refuse `path`, before any work is done for it.

    Refused: an existing target that is neither a regular file nor a stream, and a new or
    regular target whose directory does not exist or is not a directory.
    """
    target = _target(path)
    existing = _existing(target)
    if existing is not None and _is_stream(target, existing):
        return
    parent = target.parent
    try:
        is_directory = stat.S_ISDIR(os.stat(parent).st_mode)
    except FileNotFoundError:
        raise OutputError(f"{target}: cannot write: no directory {str(parent)!r}") from None
    except OSError as exc:
        raise _error(target, exc) from None
    if not is_directory:
        raise OutputError(f"{target}: cannot write: {str(parent)!r} is not a directory")


def check_distinct(
    targets: Mapping[str, str | os.PathLike[str]],
    reads: Mapping[str, Sequence[str | os.PathLike[str]]] | None = None,
) -> None:
    """Raise SameFileError if two of `targets` (paths by setting) name one file, or one of them
    names a file the run reads (`reads`: the local files each input setting reads).

    Paths are compared resolved (`./r.txt` and `r.txt`, a link in a directory on the way) and,
    where the files exist, as files (a hard link). A FIFO or device (`/dev/null`) may take any
    number of outputs, as a shell redirection would.
    """
    seen: list[tuple[str, str, str, os.stat_result | None]] = []
    for setting, path in targets.items():
        name, real, existing = _identity(path)
        if existing is not None and any(test(existing.st_mode) for test in _STREAMS):
            continue
        for other, other_name, other_real, other_existing in seen:
            if _same(real, existing, other_real, other_existing):
                raise SameFileError((other, setting), (other_name, name))
        seen.append((setting, name, real, existing))
    for setting, paths in (reads or {}).items():
        for path in paths:
            read_name, read_real, read_existing = _identity(path)
            for target, name, real, existing in seen:
                if _same(real, existing, read_real, read_existing):
                    raise SameFileError((target, setting), (name, read_name), read=True)


def repeated(paths: Sequence[str | os.PathLike[str]]) -> tuple[str, str] | None:
    """The first two of `paths` (as given) that name one file, resolved or as files (a hard
    link); None if they are all different."""
    seen: list[tuple[str, str, os.stat_result | None]] = []
    for path in paths:
        name, real, existing = _identity(path)
        for other_name, other_real, other_existing in seen:
            if _same(real, existing, other_real, other_existing):
                return other_name, name
        seen.append((name, real, existing))
    return None


def _identity(path: str | os.PathLike[str]) -> tuple[str, str, os.stat_result | None]:
    """`path` as given, resolved, and its stat if the file exists."""
    name = os.fspath(path)
    try:
        existing: os.stat_result | None = os.stat(name)
    except OSError:
        existing = None
    return name, os.path.realpath(name), existing


def _same(
    real: str, existing: os.stat_result | None, other: str, other_existing: os.stat_result | None
) -> bool:
    if real == other:
        return True
    return (
        existing is not None
        and other_existing is not None
        and os.path.samestat(existing, other_existing)
    )


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Replace `path` with `text` (UTF-8) atomically, or write it through to a FIFO or device."""
    target = _target(path)
    data = text.encode("utf-8")
    existing = _existing(target)
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        _write_through(target, data, append=False, follow=stat.S_ISLNK(existing.st_mode))
        return
    # Keep an existing file's permissions, as open(path, "w") would; a new file gets the umask's.
    mode = existing.st_mode & 0o777 if existing else 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{target}: cannot write here: {exc.strerror or exc}") from None
    try:
        try:
            _write_all(fd, data)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        # os.replace renames over the directory entry: a link that appeared meanwhile is replaced,
        # never followed.
        os.replace(tmp, target)
    except OSError as exc:
        raise _error(target, exc) from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    _sync_directory(target.parent)


def append_text(path: str | os.PathLike[str], text: str) -> None:
    """Append `text` (UTF-8) to `path`, creating it with the umask's mode; never through a link."""
    target = _target(path)
    try:
        follow = _is_stream(target, os.lstat(target))
    except OSError:
        follow = False
    _write_through(target, text.encode("utf-8"), append=True, follow=follow)


def _target(path: str | os.PathLike[str]) -> Path:
    """`path` as a file to write; OutputError if its name can only be a directory's.

    `Path` drops a final "/" or "/." ("out.txt/" is "out.txt"), so without this check
    `-o reports/` would create, or replace, a file named `reports`.
    """
    name = os.fspath(path)
    for ending in (os.sep, os.sep + "."):
        if name.endswith(ending):
            raise OutputError(f"{name}: cannot write: a name ending in {ending!r} is a directory's")
    return Path(path)


def _existing(target: Path) -> os.stat_result | None:
    """What is at `target` (not following a link), None if nothing; refused unless a regular
    file or a stream (a FIFO or character device, itself or behind a link)."""
    try:
        existing = os.lstat(target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _error(target, exc) from None
    if not stat.S_ISREG(existing.st_mode) and not _is_stream(target, existing):
        raise OutputError(f"{target}: cannot write: {kind(existing.st_mode)}, not a regular file")
    return existing


def _is_stream(target: Path, existing: os.stat_result) -> bool:
    """Whether `target` is a FIFO or character device, itself or as a link's final target.

    A link is followed only to such a file (`/dev/stdout`, `/proc/self/fd/2`): the danger of a
    planted link, overwriting the file it points to, needs a regular file there.
    """
    mode = existing.st_mode
    if stat.S_ISLNK(mode):
        try:
            mode = os.stat(target).st_mode
        except OSError:
            return False
    return any(test(mode) for test in _STREAMS)


def _write_through(target: Path, data: bytes, *, append: bool, follow: bool) -> None:
    # O_NONBLOCK: a FIFO nobody reads is an error now rather than a hang; cleared once open.
    flags = os.O_WRONLY | _flag("O_NONBLOCK") | _flag("O_CLOEXEC")
    if not follow:
        flags |= _flag("O_NOFOLLOW")
    if append:
        flags |= os.O_APPEND | (0 if follow else os.O_CREAT)
    try:
        fd = os.open(target, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputError(f"{target}: cannot write: a FIFO with no reader") from None
        raise _error(target, exc) from None
    try:
        mode = os.fstat(fd).st_mode
        # Checked on what was opened, so a file swapped in since the lstat is never written.
        regular_ok = append and not follow
        if not (stat.S_ISREG(mode) and regular_ok) and not any(test(mode) for test in _STREAMS):
            raise OutputError(f"{target}: cannot write: {kind(mode)}, not a regular file")
        os.set_blocking(fd, True)
        _write_all(fd, data)
    except OSError as exc:
        raise _error(target, exc) from None
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _sync_directory(directory: Path) -> None:
    # The rename is durable once the directory is on disk too; some filesystems cannot say.
    try:
        fd = os.open(directory, os.O_RDONLY | _flag("O_DIRECTORY"))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _flag(name: str) -> int:
    return int(getattr(os, name, 0))  # POSIX flags that some platforms lack


def _umask() -> int:
    """The process's umask, read without changing it where Linux tells it (no race with threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def kind(mode: int) -> str:
    """What a file of `mode` is, for a message: "a directory", "a socket", ..."""
    for test, name in [
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISREG, "a regular file"),
    ]:
        if test(mode):
            return name
    return "a special file"


def _error(target: Path, exc: OSError) -> OutputError:
    if exc.errno == errno.ELOOP:
        return OutputError(f"{target}: cannot write: a symbolic link, not a regular file")
    return OutputError(f"{target}: cannot write: {exc.strerror or exc}")
