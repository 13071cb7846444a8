"""Case ids kept out of reports: keyed pseudonyms and personal identity number checks.

A case id becomes ``p-`` and the first 20 hex digits of HMAC-SHA256(key, case id): the
same key gives the same pseudonym in every run (so two reports can be compared), and
without the key nobody can compute a pseudonym from a guessed personnummer. The report
names the key by its fingerprint, an HMAC of a fixed text, never by the key itself.

Case ids that look like a personnummer or samordningsnummer (YYMMDD-NNNC, YYYYMMDDNNNC,
with ``-`` or ``+``) are checked: a real date (samordningsnummer: day + 60) and the Luhn
check digit. The checking is the ``personnummer`` package's, with the package itself for
any but the common ASCII forms; :func:`mask` removes anything of that shape from text that
leaves the program.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from samverkan_rules.private_files import PrivateFileError, read_private

KEY_ENV = "SAMVERKAN_AUDIT_KEY"
"""The environment variable that may hold the pseudonymisation key."""

MIN_KEY_BYTES = 16
"""Shorter keys are refused: a short key can be guessed, and with it every pseudonym."""

_PREFIX = "p-"
_DIGITS = 20
_FINGERPRINT_TEXT = b"samverkan-rules audit key fingerprint v1"

_SHAPE = re.compile(r"(\d{2})?(\d{2})(\d{2})(\d{2})([-+]?)(\d{3})(\d)", re.ASCII)
"""A personnummer's or samordningsnummer's shape, whole (``YYYYMMDD-NNNC``, ``YYMMDD+NNNC``,
``YYYYMMDDNNNC``...): century, year, month, day, separator, serial and check digit."""
_ANYWHERE = re.compile(
    rf"(p-[0-9a-f]{{{_DIGITS}}})|(?<!\d)(?:\d{{2}})?\d{{6}}[-+]?\d{{4}}(?!\d)", re.ASCII
)
"""A pseudonym (kept: its hex digits may hold ten decimal ones in a row), or anything
shaped like a personnummer."""


class AuditKeyError(Exception):
    """The key cannot be used (missing file, too short); the message says what to do."""


def load_key(key_file: str | None, environ: dict[str, str] | None = None) -> bytes | None:
    """The key from ``key_file`` (its bytes, a final newline dropped) or :data:`KEY_ENV`.

    Returns:
        The key, or None when neither is given.

    Raises:
        AuditKeyError: for an unreadable file or a key shorter than :data:`MIN_KEY_BYTES`.

    Examples:
        >>> load_key(None, {KEY_ENV: "a-long-enough-secret-key"})
        b'a-long-enough-secret-key'
        >>> load_key(None, {}) is None
        True
    """
    env = os.environ if environ is None else environ
    if key_file is not None:
        try:
            key = read_private(key_file)
        except PrivateFileError as exc:
            raise AuditKeyError(f"--key-file {exc}") from None
        where = f"--key-file {key_file}"
    elif env.get(KEY_ENV):
        key = env[KEY_ENV].encode("utf-8")
        where = KEY_ENV
    else:
        return None
    if len(key) < MIN_KEY_BYTES:
        raise AuditKeyError(
            f"the key in {where} has {len(key)} bytes; use at least {MIN_KEY_BYTES} random "
            "bytes, e.g. `head -c 32 /dev/urandom | base64 > audit.key`"
        )
    return key


@dataclass(frozen=True)
class Pseudonymiser:
    """Turns case ids into keyed pseudonyms (or keeps them, when identifying on purpose).

    Examples:
        >>> p = Pseudonymiser(b"0123456789abcdef")
        >>> p.case("c1")
        'p-e13ed6f9e1b47fabad93'
        >>> p.case("c1") == Pseudonymiser(b"0123456789abcdef").case("c1")
        True
        >>> Pseudonymiser(None).case("c1")
        'c1'
    """

    key: bytes | None

    @property
    def active(self) -> bool:
        """True when case ids are replaced by pseudonyms."""
        return self.key is not None

    def case(self, case_id: str) -> str:
        """The pseudonym of ``case_id`` (the id itself without a key)."""
        if self.key is None:
            return case_id
        return _pseudonym(self.key, case_id)

    def fingerprint(self) -> str | None:
        """``hmac-sha256:`` and 16 hex digits that name the key without revealing it."""
        if self.key is None:
            return None
        digest = hmac.new(self.key, _FINGERPRINT_TEXT, hashlib.sha256).hexdigest()
        return "hmac-sha256:" + digest[:16]


@lru_cache(maxsize=8)
def _keyed(key: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 with ``key`` and nothing yet: copied for each id, which saves setting
    up the key's pads every time."""
    return hmac.new(key, digestmod=hashlib.sha256)


@lru_cache(maxsize=65536)
def _pseudonym(key: bytes, case_id: str) -> str:
    # A case's events come in runs: the cache saves most HMACs and stays small.
    mac = _keyed(key).copy()
    mac.update(case_id.encode("utf-8"))
    return _PREFIX + mac.hexdigest()[:_DIGITS]


def forget_ids() -> None:
    """Drop the case ids kept to save work (their pseudonyms, their checks): a worker
    process that has read its files keeps no personnummer it no longer needs, nor the
    memory (about 30 MB of a worker's peak at 1M events)."""
    _pseudonym.cache_clear()
    valid_personnummer.cache_clear()


def looks_like_personnummer(text: str) -> bool:
    """True when ``text`` has the shape of a personnummer or samordningsnummer.

    Examples:
        >>> looks_like_personnummer("19121212-1212"), looks_like_personnummer("c-17")
        (True, False)
    """
    return _SHAPE.fullmatch(text.strip()) is not None


@lru_cache(maxsize=65536)
def valid_personnummer(text: str) -> bool:
    """True for a valid personnummer or samordningsnummer (date, day + 60, check digit).

    Examples:
        >>> valid_personnummer("19121212-1212")
        True
        >>> valid_personnummer("19121212-1213")  # wrong check digit
        False
        >>> valid_personnummer("701063-2391")  # samordningsnummer: day 3 + 60
        True
        >>> valid_personnummer("20240298-1234")  # no such date
        False
    """
    # The package's check (its Personnummer._validate) for the ASCII forms of _SHAPE, in a
    # third of the time (the audit checks the id at every change of case in a file); every
    # other form, the package's.
    text = text.strip()
    common = _SHAPE.fullmatch(text)
    if common is None:
        return _valid_by_the_package(text)
    century, year, month, day, separator, serial, check = common.groups()
    if serial == "000":
        return False
    digits = year + month + day + serial
    # Luhn over the nine: every other digit from the first doubled (its digits summed), then
    # all summed (as bytes, less nine times the code of "0").
    total = sum((digits[0::2].translate(_DOUBLED) + digits[1::2]).encode()) - 9 * ord("0")
    if (10 - total % 10) % 10 != int(check):
        return False
    if century is not None:
        full_year = int(century + year)
    else:  # the century that makes the person younger than 100 (``+``: at least 100)
        base = date.today().year - (100 if separator == "+" else 0)
        full_year = base - (base - int(year)) % 100
    day_of_month = int(day) - 60 if int(day) > 60 else int(day)
    try:
        date(full_year, int(month), day_of_month)
    except ValueError:
        return False
    return True


_DOUBLED = str.maketrans("0123456789", "0246813579")
"""A digit to the digit sum of its double (7: 14, 1 + 4 = 5)."""


def _valid_by_the_package(text: str) -> bool:
    """The ``personnummer`` package's check, for every other form (digits of other
    scripts, which it takes too, or what it refuses)."""
    from personnummer import personnummer

    try:
        return bool(personnummer.valid(text))
    except Exception:  # the library raises on some malformed input; that is "not valid"
        return False


def mask(text: str) -> str:
    """``text`` with everything shaped like a personnummer replaced by ``[personnummer]``.

    Examples:
        >>> mask("case 19121212-1212 and 701063-2391, event e12")
        'case [personnummer] and [personnummer], event e12'
        >>> mask("case p-b469224641394cc57bde")  # a pseudonym stays as it is
        'case p-b469224641394cc57bde'
    """
    return _ANYWHERE.sub(lambda m: m.group(1) or "[personnummer]", text)
