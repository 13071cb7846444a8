"""Files a command writes: complete and in place, or not written at all.

``render --out`` and ``schema --write`` write their file under a temporary name in the same
directory and rename it into place (:func:`write_file_atomic`), so a reader never sees half a
file and a failed write leaves the old file as it was. Only the commands that write files
import this module: ``tempfile`` (and what it pulls in) is no cost of ``--help`` or ``due``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from samverkan_rules.cli._streams import _write_fd


def write_file_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` under a temporary name, then rename it into place.

    The temporary file sits in the same directory (a rename across file systems would not
    be atomic). It gets the permissions a newly created file would get, is synced to disk,
    and replaces ``path`` in one step; on any failure it is removed and ``path`` is left as
    it was.

    Raises:
        OSError: When the directory is not writable, the disk is full, and the like.
    """
    target = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    temporary = Path(name)
    is_open = True
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        _write_fd(fd, data)
        os.fsync(fd)
        is_open = False
        os.close(fd)
        os.replace(temporary, target)
    except BaseException:
        if is_open:
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
