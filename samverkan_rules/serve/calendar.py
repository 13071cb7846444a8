"""Calendar feeds: each role's or unit's open obligations as an iCalendar file (RFC 5545).

``GET /routines/{routine}/calendar/{who}.ics`` lists every obligation that still asks
``who`` to act (a role, e.g. ``hemvard.driftsplanerare``, or a unit, e.g. ``hemvard``, for
all of its roles) as an event at its deadline, so staff see their deadlines in Outlook or
Thunderbird by subscribing to a link, with no integration work.

Calendar programs cannot send a bearer token, so a feed is also readable with a key in its
link (``?key=...``): the key opens that one feed and nothing else, is derived from the
service's token (a new token gives new links) and is handed out by
``GET /routines/{routine}/calendar/{who}`` to a client that has the token.

A feed names no case: each event carries the case's pseudonym (the same one in every feed
and after every restart, as long as the token stays) and the obligation's explain route,
which a client with the token can follow. Personal data stays in the service.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from urllib.parse import quote

from icalendar import Calendar, Event

from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.diagnostics import mask_personal_numbers
from samverkan_rules.engine.result import Evaluation
from samverkan_rules.i18n import Translator
from samverkan_rules.records import Obligation
from samverkan_rules.status import status_label

PRODID = "-//samverkan-rules//calendar feed//SV"


def addressees(versions: Iterable[CompiledRoutine]) -> list[str]:
    """Every role and unit a feed may be asked for: the roles of the routine's versions
    and their units, sorted."""
    found: set[str] = set()
    for r in versions:
        for name, role in r.routine.roles.items():
            found.add(name)
            found.add(role.unit)
        found.update(r.routine.units)
    return sorted(found)


def concerns(responsible: str, who: str) -> bool:
    """Whether an obligation of ``responsible`` belongs in ``who``'s feed: the role itself,
    or any role of the unit ``who``.

    Examples:
        >>> concerns("hemvard.driftsplanerare", "hemvard"), concerns("hemvard", "hemvard")
        (True, True)
        >>> concerns("hemvard.driftsplanerare", "hemvard.kontaktperson")
        False
    """
    return responsible == who or responsible.startswith(who + ".")


def _digest(secret: bytes, *parts: str) -> str:
    message = "\0".join(parts).encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class FeedKeys:
    """The keys of feed links and the feeds' stable names, all derived from one secret
    (the service's token), so they survive a restart and change with the token.

    Examples:
        >>> keys = FeedKeys(b"s" * 32)
        >>> k = keys.key("r", "hemvard")
        >>> keys.opens(k, "r", "hemvard"), keys.opens(k, "r", "dagverksamhet")
        (True, False)
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def key(self, routine: str, who: str) -> str:
        """The key of one feed's link."""
        return _digest(self._secret, "calendar-feed", routine, who)[:32]

    def opens(self, key: str, routine: str, who: str) -> bool:
        """Whether ``key`` opens the feed of ``who`` in ``routine`` (constant time)."""
        return hmac.compare_digest(key.encode("utf-8"), self.key(routine, who).encode("utf-8"))

    def case(self, case: str) -> str:
        """A case's pseudonym in feeds."""
        return "p-" + _digest(self._secret, "calendar-case", case)[:12]

    def uid(self, routine: str, obligation: str) -> str:
        """An obligation's UID: the same in every poll, so a calendar updates the event
        instead of adding a new one, and names neither the case nor the obligation."""
        return _digest(self._secret, "calendar-uid", routine, obligation)[:32] + "@samverkan"


def feed(
    result: Evaluation,
    versions: Sequence[CompiledRoutine],
    who: str,
    *,
    keys: FeedKeys,
    t: Translator,
) -> bytes:
    """The iCalendar text of ``who``'s open obligations in ``result``: an event at each
    deadline (a whole day when the deadline is the end of a day), its summary the rule's
    title and the status, its description the one-line explanation, the case's pseudonym
    and the explain route."""
    routine = versions[-1]
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{routine.routine.title}: {_label(versions, who)}")
    cal.add("x-wr-timezone", routine.tz.key)
    stamp = datetime.fromisoformat(result.as_of)
    for case in result.cases:
        for o in case.actions:
            if o.deadline is None or not concerns(o.responsible, who):
                continue
            cal.add_component(_event(result, o, stamp, keys=keys, t=t))
    return bytes(cal.to_ical())


def _label(versions: Sequence[CompiledRoutine], who: str) -> str:
    for r in reversed(versions):
        role = r.routine.roles.get(who)
        if role is not None:
            return role.label
        unit = r.routine.units.get(who)
        if unit is not None:
            return unit.label
    return who


def _event(
    result: Evaluation, o: Obligation, stamp: datetime, *, keys: FeedKeys, t: Translator
) -> Event:
    assert o.deadline is not None
    deadline = datetime.fromisoformat(o.deadline)
    title = result.rule_text(o).title
    event = Event()
    event.add("uid", keys.uid(o.routine.id, o.obligation))
    event.add("dtstamp", stamp)
    if deadline.time() >= time(23, 59):
        # A deadline at the end of a day is that day, not an appointment at 23:59.
        event.add("dtstart", deadline.date())
        event.add("dtend", deadline.date() + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
    else:
        event.add("dtstart", deadline)
        event.add("dtend", deadline + timedelta(minutes=15))
    event.add("summary", mask_personal_numbers(f"{title} ({status_label(o.status, t)})"))
    route = f"/routines/{quote(o.routine.id)}/obligations/{quote(o.obligation, safe='')}/explain"
    case = keys.case(o.case)
    # An event id in the explanation may hold a personal identity number: never written.
    text = f"{o.explanation}\n\n{t.gettext('Case')}: {case}\n{route}"
    event.add("description", mask_personal_numbers(text))
    event.add("categories", [status_label(o.status, t)])
    return event
