"""Who may call the service, and for what: clients with their own tokens and scopes.

A clients file (``samverkan serve --clients FILE``, YAML) names each client, the SHA-256 of
its token (the token itself is never stored) and its scopes::

    clients:
      - name: verksamhetssystem
        token_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
        scopes: [read, write]
      - name: uppfoljning
        token_sha256: ...
        scopes: [read]

``read`` asks (due, explain, changes, calendars, routines); ``write`` posts events;
``admin`` erases and reopens cases, reads the access log, the webhooks and the metrics. A
token is compared with every client's in constant time. The file is read again when it
changes (its modification time), so a token is rotated without a restart. A single
``--token-file`` is the one-admin shortcut.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from samverkan_rules.errors import SamverkanError
from samverkan_rules.serve.config_files import ConfigFileError, read_list

Scope = Literal["read", "write", "admin"]
SCOPES: frozenset[str] = frozenset({"read", "write", "admin"})


class ClientsError(SamverkanError):
    """A clients file that cannot be used (the message names the file and the entry)."""


@dataclass(frozen=True, slots=True)
class Client:
    """A caller of the service: its name (in the access log) and what it may do."""

    name: str
    scopes: frozenset[str]
    digest: bytes

    def may(self, scope: str) -> bool:
        """Whether the client holds ``scope`` (``admin`` holds every scope)."""
        return scope in self.scopes or "admin" in self.scopes


def digest(token: str | bytes) -> bytes:
    """The SHA-256 of a token, as the clients file gives it (in hex)."""
    return hashlib.sha256(token if isinstance(token, bytes) else token.encode("utf-8")).digest()


def required_scope(method: str, template: str) -> Scope:
    """The scope a request needs, by its method and route template."""
    if template.startswith("/webhooks") or template in ("/metrics", "/access"):
        return "admin"
    if method == "DELETE" or template.endswith("/reopen"):
        return "admin"
    if method in ("POST", "PUT", "PATCH"):
        return "write"
    return "read"


class Clients:
    """The clients the service knows: from a file (read again when it changes) or one admin
    token.

    Examples:
        >>> clients = Clients.single("a-long-admin-token-0123")
        >>> clients.identify(b"a-long-admin-token-0123").name
        'admin'
        >>> clients.identify(b"wrong") is None
        True
    """

    def __init__(self, clients: Iterable[Client], file: Path | None = None) -> None:
        self._clients = tuple(clients)
        self._file = file
        self._stamp = _stamp(file) if file is not None else None
        self._lock = threading.Lock()

    @classmethod
    def single(cls, token: str) -> Clients:
        """One client, ``admin``, holding every scope."""
        return cls([Client("admin", frozenset(SCOPES), digest(token))])

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Clients:
        """The clients of a YAML file.

        Raises:
            ClientsError: naming the file and the entry for every problem.
        """
        file = Path(path)
        return cls(_read(file), file)

    def identify(self, token: bytes) -> Client | None:
        """The client whose token this is, or None; compared with every client's in
        constant time. A changed file is read first (a bad one keeps the clients as they
        were, and says so in the log)."""
        self._reload()
        given = digest(token)
        found = None
        for client in self._clients:
            if hmac.compare_digest(given, client.digest):
                found = client
        return found

    def _reload(self) -> None:
        if self._file is None:
            return
        stamp = _stamp(self._file)
        if stamp == self._stamp:
            return
        with self._lock:
            if stamp == self._stamp:
                return
            self._stamp = stamp
            try:
                self._clients = tuple(_read(self._file))
            except ClientsError as exc:
                logging.getLogger("samverkan.serve").error(
                    "the clients file was not reloaded: %s", str(exc).splitlines()[0]
                )


def _stamp(file: Path) -> tuple[int, int] | None:
    try:
        found = file.stat()
    except OSError:
        return None
    return (found.st_mtime_ns, found.st_size)


def _read(file: Path) -> list[Client]:
    try:
        items = read_list(file, "clients")
    except ConfigFileError as exc:
        raise ClientsError(str(exc)) from None
    out: list[Client] = []
    problems: list[str] = []
    for index, item in enumerate(items):
        where = f"{file}: clients[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        unknown = sorted(set(item) - {"name", "token_sha256", "scopes"})
        name, hexed, scopes = item.get("name"), item.get("token_sha256"), item.get("scopes")
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(unknown)}")
        if not isinstance(name, str) or not name:
            problems.append(f"{where}.name: give the client's name")
        if not isinstance(hexed, str) or len(hexed) != 64 or not _hex(hexed):
            problems.append(
                f"{where}.token_sha256: give the token's SHA-256 in hex (64 characters), "
                "e.g. printf %s TOKEN | sha256sum"
            )
        if not isinstance(scopes, list) or not scopes or not set(scopes) <= SCOPES:
            problems.append(f"{where}.scopes: give a list of read, write, admin")
        if not problems:
            assert isinstance(hexed, str) and isinstance(name, str) and isinstance(scopes, list)
            out.append(Client(name, frozenset(scopes), bytes.fromhex(hexed)))
    names = [c.name for c in out]
    problems.extend(
        f"{file}: client {n!r} is named twice" for n in set(names) if names.count(n) > 1
    )
    digests = [c.digest for c in out]
    if len(set(digests)) != len(digests):
        problems.append(f"{file}: two clients share a token")
    if problems:
        raise ClientsError("\n".join(problems))
    return out


def _hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True
