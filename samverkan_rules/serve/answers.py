"""What the service's routes take and answer, as typed records: the OpenAPI document
(:mod:`samverkan_rules.serve.openapi`) is generated from these, so the contract clients
compile against is the one the code declares.

The evaluation's own records (:mod:`samverkan_rules.records`) and the input event
(:class:`samverkan_rules.schemas.EventRecord`) are reused as they are published in
``schemas/``; the records here are the service's envelopes around them, its error model and
its request parameters (a struct per group of query, header or path parameters, each field
one parameter, described by its ``msgspec.Meta``).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import msgspec
from msgspec import Meta

from samverkan_rules.records import CaseResult, Obligation
from samverkan_rules.serve.queries import MAX_LIMIT
from samverkan_rules.status import Status


class _Answer(msgspec.Struct, frozen=True, kw_only=True):
    """An answer's JSON object; later versions may add fields."""


# ------------------------------------------------------------------------ the error model


class ErrorDetail(_Answer, frozen=True, kw_only=True):
    """One problem of an error answer: with a post's events, the event's ``index`` (from 0),
    ``line`` (from 1) and ``field``."""

    level: Literal["error", "warning", "info"]
    code: str
    message: str
    index: int | None = None
    line: int | None = None
    field: str | None = None
    file: str | None = None
    column: int | None = None
    path: str | None = None
    hint: str | None = None


class ErrorBody(_Answer, frozen=True, kw_only=True):
    """What went wrong: a code and message as the command line gives them."""

    code: Annotated[str, Meta(examples=["event.invalid", "auth.unauthorized"])]
    message: str
    hint: str | None
    diagnostics: list[ErrorDetail]
    """The first 100 problems (the message counts them all)."""
    request_id: str | None = None
    """The request's id (its ``X-Request-ID``), as the service's log lines name it."""


class ErrorAnswer(_Answer, frozen=True, kw_only=True):
    """Every error answer: ``{"error": {"code", "message", "hint", "diagnostics",
    "request_id"}}``."""

    error: ErrorBody


# ------------------------------------------------------------------------------ answers


class Health(_Answer, frozen=True, kw_only=True):
    """The process answers."""

    ok: bool


class Readiness(_Answer, frozen=True, kw_only=True):
    """Whether every routine's store can be read."""

    ready: bool
    routines: int
    problems: list[str]
    """Each routine that cannot serve, with the kind of error."""


class RoutineVersion(_Answer, frozen=True, kw_only=True):
    """One version of a routine served."""

    version: str
    valid_from: str
    valid_to: str | None
    file: str | None
    sha256: str | None


class RoutineListing(_Answer, frozen=True, kw_only=True):
    """A routine served: its versions, the one in force and the event types it uses."""

    id: str
    title: str
    in_force: str | None
    versions: list[RoutineVersion]
    event_types: list[str]


class RoutineList(_Answer, frozen=True, kw_only=True):
    """The routines served, at the service's clock."""

    as_of: str
    routines: list[RoutineListing]


class PostedChange(_Answer, frozen=True, kw_only=True):
    """An obligation that arose, changed (status or deadline) or ended."""

    seq: int
    """Its number in the routine's change log: resume after the last one seen."""
    kind: Literal["arose", "changed", "ended"]
    case: str
    obligation: str
    rule: str
    before: Status | None
    after: Status | None
    cause: str | None
    """The posted event it names, if any."""
    record: Obligation | None
    """The obligation as it stands now, in the evaluation's form (null when it ended)."""


class Posted(_Answer, frozen=True, kw_only=True):
    """The events are on disk; what they changed."""

    accepted: int
    """How many posted events were new (repeats of stored events are no-ops)."""
    as_of: str
    changes: list[PostedChange]


class LoggedChange(PostedChange, frozen=True, kw_only=True):
    """A change of the change log, with when it was judged."""

    at: str


class ChangePage(_Answer, frozen=True, kw_only=True):
    """Logged changes after a sequence number."""

    changes: list[LoggedChange]
    next_after: int
    """Ask with after= this number for the next page."""
    more: bool


class Erased(_Answer, frozen=True, kw_only=True):
    """A case erased: how many events left the store, and when."""

    erased_events: int
    erased_at: str


class Reopened(_Answer, frozen=True, kw_only=True):
    """Whether an erased case was reopened (false: it was not erased)."""

    reopened: bool


class Explained(_Answer, frozen=True, kw_only=True):
    """An obligation with its steps, as ``samverkan explain --format json`` writes it."""

    as_of: str
    obligations: list[Obligation]
    unknown: list[str]


class Trailer(_Answer, frozen=True, kw_only=True):
    """The end of a due listing: a stream without it was cut."""

    count: int
    as_of: str
    next_cursor: str | None
    """The cursor of the next page; null on the last page."""


class TrailerLine(_Answer, frozen=True, kw_only=True):
    """The last line of a due listing."""

    trailer: Trailer


DUE_LINE = (CaseResult, TrailerLine)
"""What one line of a due listing is: a case's result, or the trailer."""


class CalendarLink(_Answer, frozen=True, kw_only=True):
    """The keyed link of a role's or unit's calendar feed."""

    routine: str
    for_: str = msgspec.field(name="for")
    path: str


class Delivery(_Answer, frozen=True, kw_only=True):
    """How far a subscription delivered a routine's changes."""

    delivered_through: int | None
    """The last sequence number delivered; null before the first delivery."""


class SubscriptionListing(_Answer, frozen=True, kw_only=True):
    """A webhook subscription."""

    name: str
    routines: dict[str, Delivery]
    dead_letters: int


class SubscriptionList(_Answer, frozen=True, kw_only=True):
    """The webhook subscriptions."""

    subscriptions: list[SubscriptionListing]


class DeadLetter(_Answer, frozen=True, kw_only=True):
    """A change a subscription set aside after failing to deliver it."""

    routine: str
    seq: int
    attempts: int
    error: str
    at: str


class DeadLetterList(_Answer, frozen=True, kw_only=True):
    """A subscription's dead letters."""

    subscription: str
    dead_letters: list[DeadLetter]


class Replayed(_Answer, frozen=True, kw_only=True):
    """A dead letter delivered again."""

    replayed: bool


class Access(_Answer, frozen=True, kw_only=True):
    """One request that named a case."""

    at: str
    client: str
    method: str
    route: str
    routine: str | None
    status: int


class AccessList(_Answer, frozen=True, kw_only=True):
    """Who accessed a case, oldest first."""

    accesses: list[Access]


# ----------------------------------------------------------------------------- parameters

Where = Literal["path", "query", "header"]


class Parameters(msgspec.Struct, frozen=True, kw_only=True):
    """A group of request parameters: each field one, named by its encoded name."""

    where: ClassVar[Where] = "query"


_DATE_TIME = {"format": "date-time"}


_UNPRINTABLE = (
    r"\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    r"\u2066-\u206f\ufeff"
)
"""The control and format characters met in practice (the service refuses every one in an
id), as a regular expression's character range."""

PRINTABLE_ID = f"^[^{_UNPRINTABLE}]+$"
"""An id as the service takes it: printable text."""

_PATH_ID = f"^[^{_UNPRINTABLE}/]+$"
"""An id in a path: printable text without a slash."""


def _path_id(description: str) -> Meta:
    return Meta(min_length=1, pattern=_PATH_ID, description=description)


class PathIds(Parameters, frozen=True, kw_only=True):
    """Every path parameter a route may name (each route names some)."""

    where: ClassVar[Where] = "path"
    routine: Annotated[str, _path_id("a routine id (GET /routines)")]
    case: Annotated[str, _path_id("the case id of the case system")]
    obligation: Annotated[str, _path_id("an obligation id")]
    who: Annotated[str, _path_id("a role (e.g. hemvard.driftsplanerare) or a unit")]
    name: Annotated[str, _path_id("a webhook subscription's name")]
    seq: Annotated[int, Meta(ge=0, description="a change's sequence number")]


class AsOf(Parameters, frozen=True, kw_only=True):
    """The instant to judge at."""

    as_of: (
        Annotated[
            str,
            Meta(
                description="RFC 3339 instant with its offset, e.g. 2026-12-15T12:00:00+01:00; "
                "default: the service's clock (now)",
                extra_json_schema=_DATE_TIME,
            ),
        ]
        | None
    ) = None


class Output(Parameters, frozen=True, kw_only=True):
    """What an evaluation writes beyond the actions."""

    ledger: Annotated[
        bool,
        Meta(description="also each case's full ledger (fulfilled and cancelled obligations)"),
    ] = False
    trace: Annotated[
        bool, Meta(description="each obligation's trace: the calendar steps of its deadline")
    ] = False


class DueFilters(Parameters, frozen=True, kw_only=True):
    """The filters and pages of a due listing."""

    status: Annotated[
        list[Status], Meta(description="only obligations with this status (repeat for several)")
    ] = []
    responsible: Annotated[str, Meta(description="only obligations of this role")] | None = None
    deadline_before: (
        Annotated[
            str,
            Meta(
                description="only obligations whose deadline is earlier; RFC 3339",
                extra_json_schema=_DATE_TIME,
            ),
        ]
        | None
    ) = None
    deadline_after: (
        Annotated[
            str,
            Meta(
                description="only obligations whose deadline is at or after; RFC 3339",
                extra_json_schema=_DATE_TIME,
            ),
        ]
        | None
    ) = None
    limit: (
        Annotated[int, Meta(ge=1, le=MAX_LIMIT, description="at most this many cases")] | None
    ) = None
    cursor: (
        Annotated[str, Meta(description="the trailer's next_cursor of the page before")] | None
    ) = None


class ChangesQuery(Parameters, frozen=True, kw_only=True):
    """Which logged changes to answer with."""

    after: Annotated[
        int, Meta(ge=0, le=2**63 - 1, description="the last sequence number seen (0: all)")
    ] = 0
    limit: Annotated[
        int, Meta(ge=1, le=10_000, description="at most this many changes (default 1000)")
    ] = 1000
    case: Annotated[str, Meta(description="only this case's changes")] | None = None


class StreamQuery(Parameters, frozen=True, kw_only=True):
    """Where a change stream starts."""

    after: Annotated[
        int, Meta(ge=0, le=2**63 - 1, description="resume after this sequence number")
    ] = 0
    case: Annotated[str, Meta(description="only this case's changes")] | None = None


class StreamResume(Parameters, frozen=True, kw_only=True):
    """A reconnecting EventSource's resume point."""

    where: ClassVar[Where] = "header"
    last_event_id: (
        Annotated[
            str,
            Meta(
                pattern=r"^[0-9]{1,19}$",
                description="resume after this sequence number (an EventSource sends it when it "
                "reconnects); wins over after",
            ),
        ]
        | None
    ) = msgspec.field(default=None, name="Last-Event-ID")


class Idempotency(Parameters, frozen=True, kw_only=True):
    """A key that makes a post safe to retry."""

    where: ClassVar[Where] = "header"
    idempotency_key: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=255,
                description="a key made for this request (e.g. a UUID): a retry with the same key "
                "and body gets the first answer again (header Idempotent-Replayed: true), for 24 "
                "hours; the same key with another body is 422",
            ),
        ]
        | None
    ) = msgspec.field(default=None, name="Idempotency-Key")


class RequestId(Parameters, frozen=True, kw_only=True):
    """The request's id, taken by every route."""

    where: ClassVar[Where] = "header"
    x_request_id: (
        Annotated[
            str,
            Meta(
                pattern="^[A-Za-z0-9._:-]{1,64}$",
                description="an id for this request, echoed in the answer's X-Request-ID and "
                "named in every log line about it; one is made when it is missing, not of "
                "this form, or shaped like a personnummer",
            ),
        ]
        | None
    ) = msgspec.field(default=None, name="X-Request-ID")


class CaseQuery(Parameters, frozen=True, kw_only=True):
    """The case asked about."""

    case: Annotated[str, Meta(min_length=1, description="the case id")]
