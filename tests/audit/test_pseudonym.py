"""Keyed pseudonyms, the key's fingerprint, and personnummer checks."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules.audit.pseudonym import (
    KEY_ENV,
    AuditKeyError,
    Pseudonymiser,
    _pseudonym,
    forget_ids,
    load_key,
    looks_like_personnummer,
    mask,
    valid_personnummer,
)

KEY = b"0123456789abcdef"


def test_pseudonym_is_hmac_sha256_of_the_case_id() -> None:
    expected = hmac.new(KEY, b"19121212-1212", hashlib.sha256).hexdigest()[:20]
    assert Pseudonymiser(KEY).case("19121212-1212") == "p-" + expected
    assert Pseudonymiser(b"another key 0123").case("19121212-1212") != "p-" + expected


def test_fingerprint_names_the_key_without_revealing_it() -> None:
    fingerprint = Pseudonymiser(KEY).fingerprint()
    assert fingerprint is not None and fingerprint.startswith("hmac-sha256:")
    assert KEY.hex() not in fingerprint and hashlib.sha256(KEY).hexdigest()[:16] not in fingerprint
    assert Pseudonymiser(None).fingerprint() is None


def test_key_from_file_or_environment(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    path.write_bytes(b"a key from a file, long enough\n")
    path.chmod(0o600)  # a key file others can read is refused (test_audit.py)
    assert load_key(str(path), {}) == b"a key from a file, long enough"
    assert load_key(None, {KEY_ENV: "from the environment!"}) == b"from the environment!"
    assert load_key(str(path), {KEY_ENV: "the file wins over this"}).startswith(b"a key")
    with pytest.raises(AuditKeyError, match="at least 16"):
        load_key(None, {KEY_ENV: "short"})
    with pytest.raises(AuditKeyError, match="no/such"):
        load_key(str(tmp_path / "no/such"), {})


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("19121212-1212", True),
        ("191212121212", True),
        ("121212-1212", True),
        ("121212+1212", True),  # a centenarian's separator
        ("701063-2391", True),  # samordningsnummer: day 3 + 60
        ("19701063-2391", True),
        ("19121212-1213", False),  # check digit
        ("20240298-1234", False),  # no such day
        ("20240229-1237", True),  # a leap day
        ("20230229-1238", False),  # 2023 has no 29 February, whatever the check digit
        ("000229-1235", True),  # born 2000, a leap year
        ("000229+1235", False),  # "+": born 1900, which had no 29 February
    ],
)
def test_personnummer_checks(text: str, valid: bool) -> None:
    assert looks_like_personnummer(text)
    assert valid_personnummer(text) is valid


def _luhn_digit(digits: str) -> str:
    total = sum(
        int(d) * (2 - i % 2) - (9 if int(d) * (2 - i % 2) > 9 else 0) for i, d in enumerate(digits)
    )
    return str((10 - total % 10) % 10)


@st.composite
def _numbers(draw: st.DrawFn) -> str:
    """Ids of the personnummer forms, mostly with the right check digit: leap days in
    centuries that have one or not, days past a month's end, samordningsnummer (day + 60),
    serial 000, either separator or none; now and then another shape."""
    century = draw(st.sampled_from(["", "", "19", "20", "18", "00"]))
    year = f"{draw(st.sampled_from([0, 24, 23, 0, draw(st.integers(0, 99))])):02d}"
    edges = [(2, 29), (2, 89), (2, 30), (4, 31), (4, 91), (1, 61), (1, 60), (12, 31), (0, 1)]
    month, day = draw(
        st.sampled_from([*edges, (draw(st.integers(1, 12)), draw(st.integers(0, 95)))])
    )
    serial = f"{draw(st.sampled_from([0, 1, 999, draw(st.integers(0, 999))])):03d}"
    digits = f"{year}{month:02d}{day:02d}{serial}"
    check = _luhn_digit(digits)
    if draw(st.integers(0, 5)) == 0:
        check = draw(st.sampled_from(["0", "5", "9", "", "12"]))
    separator = draw(st.sampled_from(["", "-", "+", "-", "+", " ", "--"]))
    text = century + digits[:6] + separator + digits[6:] + check
    shape = draw(st.integers(0, 9))
    if shape == 0:
        return f" {text}\t"
    if shape == 1:
        return text.replace("1", "\u0661")  # an Arabic-Indic digit: the package takes it
    if shape == 2:
        return text + "x"
    return text


@settings(max_examples=1000)
@given(_numbers())
def test_personnummer_checked_as_the_package_checks_it(text: str) -> None:
    """The common forms are checked here, every other by the ``personnummer`` package: the
    same verdict either way (the package is the reference)."""
    from personnummer import personnummer

    try:
        expected = bool(personnummer.valid(text.strip()))
    except Exception:
        expected = False
    assert valid_personnummer.__wrapped__(text) is expected


def test_mask_removes_anything_shaped_like_a_personnummer() -> None:
    text = "case 19121212-1212, 701063-2391 and 191212121212 at line 12"
    assert mask(text) == "case [personnummer], [personnummer] and [personnummer] at line 12"
    assert not looks_like_personnummer("c-17")


_ID_PARTS = st.lists(
    st.sampled_from(
        [
            *("19121212-1212", "701063-2391", "191212121212"),  # personnummer
            "p-0123456789abcdef0123",  # a pseudonym
            *("p-", "1", "12", "-", "+", ":", "e", " "),
        ]
    ),
    max_size=8,
).map("".join)


@given(rule=_ID_PARTS, trigger=_ID_PARTS)
def test_an_obligation_id_masks_as_its_two_parts(rule: str, trigger: str) -> None:
    """The audit masks a rule id and a trigger event's id once each and joins them: the
    same as masking ``<rule>:<trigger>``, since nothing shaped like a personnummer or a
    pseudonym holds a colon."""
    assert mask(f"{rule}:{trigger}") == f"{mask(rule)}:{mask(trigger)}"


def test_forgetting_the_ids_keeps_none_and_changes_no_answer() -> None:
    """A worker that has read its files drops the case ids it kept to save work."""
    before = Pseudonymiser(KEY).case("19121212-1212"), valid_personnummer("19121212-1212")
    assert _pseudonym.cache_info().currsize and valid_personnummer.cache_info().currsize
    forget_ids()
    assert _pseudonym.cache_info().currsize == valid_personnummer.cache_info().currsize == 0
    assert (Pseudonymiser(KEY).case("19121212-1212"), valid_personnummer("19121212-1212")) == before
