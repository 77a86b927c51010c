"""Every file hlmshell writes goes through here, so that a failed write never destroys a file.

The new contents are written to a temporary file in the target's folder, flushed to disk (fsync)
and renamed over the target only when complete: until then the old file is untouched, and a
failure (a full disk, a file-size limit, Ctrl-C, a killed process) leaves it as it was.  ``save``,
``export delimited`` and ``graph export``/``graph save`` write through :func:`replacing`; a log
(``log using``) is an :class:`AtomicFile` kept open, renamed into place when it is closed.

A target that exists but is no regular file (a FIFO, a device, a folder) is refused with r(603)
rather than opened: opening a FIFO for writing would wait for a reader for ever.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from hlmshell.errors import StataError

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def write_error(exc: OSError, shown: str) -> StataError:
    """Stata's error for a write that failed part-way ([P] error r(699), r(693))."""
    if exc.errno in _DISK_FULL:
        return StataError("insufficient disk space", 699)
    return StataError(f"file {shown} could not be written: file I/O error on write", 693)


def _not_opened(shown: str) -> StataError:
    return StataError(f"file {shown} could not be opened", 603)


def _destination(target: Path, shown: str) -> Path:
    """The file a write replaces: a symbolic link's own target; r(603) for what is no file."""
    try:
        path = Path(os.path.realpath(target)) if os.path.islink(target) else target
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return path
    except OSError:
        raise _not_opened(shown) from None
    if not stat.S_ISREG(mode):
        raise _not_opened(shown)
    return path


def _new_mode(path: Path) -> int:
    """The permissions of the file being replaced, else those a new file gets under the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


class AtomicFile:
    """A file being written beside its target: :meth:`commit` renames it into place, :meth:`discard`
    removes it.  ``append`` starts from a copy of the target's contents (``log using, append``);
    ``claim`` creates the target, empty, when there is none, so that the name is taken from the
    start (a log's file exists once it is opened, as in Stata).

    Text files are UTF-8; a character that cannot be encoded (a lone surrogate from undecodable
    input) is written as a backslash escape rather than failing the write.
    """

    def __init__(self, target: Path, shown: str, *, binary: bool = False,
                 append: bool = False, claim: bool = False) -> None:
        self.target = _destination(target, shown)
        self.shown = shown
        self.name = str(target)
        try:
            fd, temp = tempfile.mkstemp(dir=self.target.parent, suffix=".tmp",
                                        prefix=f".{self.target.name[:64]}.")
        except OSError:
            raise _not_opened(shown) from None
        self._temp = temp
        self._mode = _new_mode(self.target)
        try:
            if binary:
                self.handle: IO = os.fdopen(fd, "wb")
            else:
                self.handle = os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace",
                                        newline="")
            if append and self.target.exists():
                with open(self.target, "rb") as old:
                    self.handle.flush()
                    shutil.copyfileobj(old, self.handle.buffer if not binary else self.handle)
            if claim:
                os.close(os.open(self.target, os.O_WRONLY | os.O_CREAT, self._mode))
        except OSError as exc:
            self.discard()
            raise write_error(exc, shown) from None

    def write(self, data: str | bytes) -> None:
        """Write; an OSError (a full disk, a size limit) goes to the caller as it is."""
        self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()

    def commit(self) -> None:
        """Flush to disk and rename over the target (r(693)/r(699) and the target unchanged if
        that fails)."""
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            os.chmod(self._temp, self._mode)
            os.replace(self._temp, self.target)
        except OSError as exc:
            self.discard()
            raise write_error(exc, self.shown) from None
        _sync_folder(self.target.parent)

    close = commit

    def discard(self) -> None:
        """Forget what was written: the target stays as it was."""
        try:
            self.handle.close()
        except (OSError, AttributeError):
            pass
        try:
            os.remove(self._temp)
        except OSError:
            pass


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (where the system lets a folder be synced)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def replacing(target: Path, shown: str, *, binary: bool = True) -> Iterator[IO]:
    """``with replacing(path, "x.dta") as handle: write(handle)``: the target is replaced only if
    the block completes; on any failure (an exception, Ctrl-C) it is left as it was.  An OSError in
    the block becomes Stata's r(693)/r(699)."""
    file = AtomicFile(target, shown, binary=binary)
    try:
        yield file.handle
    except OSError as exc:
        file.discard()
        raise write_error(exc, shown) from None
    except BaseException:
        file.discard()
        raise
    file.commit()
