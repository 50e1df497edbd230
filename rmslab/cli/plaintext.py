"""Where ``rmslab open -o OUT`` writes decrypted content: a file that has no name until
the open succeeded.

Decrypted bytes are written into an anonymous file in OUT's directory (Linux
``O_TMPFILE``): it is on the disk, but no name leads to it, and it vanishes when it is
closed — whatever ends the open: a refusal, a decryption that fails at the last block,
a full disk, an interrupt. Only when everything succeeded is it given a name: linked
under a hidden temporary name in the same directory (``linkat`` with ``AT_EMPTY_PATH``,
else through ``/proc/self/fd``, else by copying the finished content), then renamed onto
OUT in one step. Where the system has no anonymous files, a hidden temporary file is used
instead and removed on every failure path. The file is readable by its owner only
(0600): it holds what the protection kept from everyone else.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

__all__ = ["plaintext_output"]

_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000
#: Errors that say "this directory's file system has no anonymous files".
_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL}


def _hidden_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")


def _linkat_empty_path(fd: int, name: Path) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        linkat = libc.linkat
    except (OSError, AttributeError):
        return False
    return bool(linkat(fd, b"", _AT_FDCWD, os.fsencode(name), _AT_EMPTY_PATH) == 0)


def _give_name(handle: BinaryIO, target: Path) -> None:
    """Name the anonymous file ``handle`` as ``target`` (atomically replacing it)."""
    handle.flush()
    fd = handle.fileno()
    name = _hidden_name(target)
    if not _linkat_empty_path(fd, name):
        try:
            os.link(f"/proc/self/fd/{fd}", name, follow_symlinks=True)
        except OSError:
            # no way to link an open file here: copy the finished content (the open has
            # succeeded, so a name may now hold it)
            handle.seek(0)
            with open(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                      "wb") as copy:
                shutil.copyfileobj(handle, copy)
    try:
        os.replace(name, target)
    except BaseException:
        name.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def plaintext_output(target: Path) -> Iterator[BinaryIO]:
    """A file to write decrypted content into. It is named ``target`` when the block ends
    without an exception, and leaves nothing behind when it raises."""
    directory = target.parent
    fd: int | None = None
    named: Path | None = None
    try:
        fd = os.open(directory, getattr(os, "O_TMPFILE") | os.O_RDWR, 0o600)
    except AttributeError:
        pass  # no O_TMPFILE on this system
    except OSError as exc:
        if exc.errno not in _NO_TMPFILE:
            raise OSError(exc.errno, exc.strerror, str(target)) from None
    if fd is None:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.",
                                         suffix=".part")
        named = Path(temporary)
    handle = os.fdopen(fd, "w+b")
    try:
        with handle:
            yield handle
            if named is None:
                _give_name(handle, target)
            else:
                handle.flush()
                os.replace(named, target)
                named = None
    finally:
        if named is not None:
            named.unlink(missing_ok=True)
