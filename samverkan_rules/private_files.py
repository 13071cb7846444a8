"""Files that hold a secret (a token, a signing secret, a pseudonymisation key): read only
when no other user can read or write them, the same way everywhere they are read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from samverkan_rules.errors import SamverkanError


class PrivateFileError(SamverkanError):
    """A secret's file cannot be used: missing, unreadable, or open to other users. The
    message names the file and what to do."""


def read_private(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a secret's file, a final line break dropped.

    On POSIX systems the file must be private: a file that other users (group or others)
    may read or write is refused, since anyone who can read it can act with the secret.

    Raises:
        PrivateFileError: naming the file and what to do (``chmod 600``, check the path).

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     secret = Path(folder) / "key"
        ...     _ = secret.write_bytes(b"a-long-enough-secret\\n")
        ...     secret.chmod(0o600)
        ...     private = read_private(secret)
        ...     secret.chmod(0o644)
        ...     try:
        ...         read_private(secret)
        ...     except PrivateFileError as exc:
        ...         refused = str(exc).endswith("make it private: chmod 600 " + str(secret))
        >>> private, refused
        (b'a-long-enough-secret', True)
    """
    try:
        mode = os.stat(path).st_mode
        if os.name == "posix" and mode & 0o077:
            raise PrivateFileError(
                f"{path}: other users can read or write it (mode {stat.S_IMODE(mode):04o}); "
                f"make it private: chmod 600 {path}"
            )
        return Path(path).read_bytes().rstrip(b"\r\n")
    except OSError as exc:
        raise PrivateFileError(f"{path}: {exc.strerror or exc}; check the path") from None
