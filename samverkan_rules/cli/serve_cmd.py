"""``samverkan serve``: the live sessions of every routine of a directory behind HTTP.

One process serves every routine (all versions) under ``--routines``; each route names the
routine the case follows (``/routines/{routine}/...``). ``--id`` serves only one of them.
The service binds to 127.0.0.1 unless told otherwise, refuses every request without the
bearer token (from ``--token-file`` or ``SAMVERKAN_TOKEN``) except ``/healthz``, and writes
each posted event to its routine's SQLite store (``--store DIR``: ``DIR/<routine-id>.db``)
before it answers, so nothing acknowledged is lost when the process is killed. Its clock is
the wall clock. Put it behind a reverse proxy that terminates TLS before exposing it beyond
the machine (see docs/how-to/service-tls-postgresql.md).

Limits: a request body of at most ``--max-body`` bytes holding at most ``--max-events``
events; at most ``--max-connections`` connections and requests at once (more get 503);
request line and headers of at most 16 KiB; idle keep-alive connections closed after 5 s.

Every option can also be set by an environment variable, ``SAMVERKAN_`` and the option's
name in capitals with ``_`` for ``-`` (``--port`` is ``SAMVERKAN_PORT``, ``--cors-origin``
takes a comma-separated list, a flag ``true`` or ``false``); the command line wins.

Exit 0 after a clean shutdown, 2 for bad usage (no token, a missing extra, an unreadable
routine or store, a routine version whose content changed after it judged events).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import ipaddress
import logging
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from samverkan_rules.cli import COMMANDS, EXIT_OK
from samverkan_rules.cli._common import CommandError, guarded
from samverkan_rules.cli._environment import apply_environment, from_environment
from samverkan_rules.cli.due_cmd import load_routines, select_routine
from samverkan_rules.errors import SamverkanError
from samverkan_rules.live import RoutineSessions
from samverkan_rules.live.routed import (
    DEFAULT_FUTURE_TOLERANCE,
    DEFAULT_KEPT_CASES,
    DEFAULT_MAX_CASE_EVENTS,
    RoutineChangedError,
)
from samverkan_rules.live.stores import is_database_url
from samverkan_rules.private_files import PrivateFileError, read_private
from samverkan_rules.serve.access import AccessLog
from samverkan_rules.serve.clients import Clients, ClientsError
from samverkan_rules.serve.heap import Heap
from samverkan_rules.serve.judging import JudgingProcess
from samverkan_rules.serve.logs import configure_logging, default_format

NAME = "serve"
TOKEN_ENV = "SAMVERKAN_TOKEN"
LOG_KEY_ENV = "SAMVERKAN_LOG_KEY"


KEEP_ALIVE_SECONDS = 5
"""An idle keep-alive connection is closed after this long, so idle clients cannot hold
connections (and --max-connections' slots) for long."""

MAX_HEAD_BYTES = 16 * 1024
"""The longest request line and headers taken (with the h11 parser, which the service
asks for): an endless header is cut off."""

GRACEFUL_SECONDS = 10
"""On SIGTERM, requests in flight get this long to finish before the process ends."""

SWITCH_SECONDS = 0.001
"""How long a thread may hold the interpreter while another waits for it (the service's
process only; Python's default is 5 ms)."""


def add_parser(subparsers: Any) -> None:
    """Register ``serve`` with the command line's subparsers."""
    parser = subparsers.add_parser(
        NAME,
        help=COMMANDS[NAME],
        description=(
            "Run the HTTP service: post case events as they happen and ask what is due, for "
            "every routine in --routines; each route names the routine "
            "(/routines/{routine}/cases/{case}/events, .../due, /routines/{routine}/due, "
            "/routines/{routine}/obligations/{id}/explain, /routines). Every route but "
            "/healthz needs 'Authorization: Bearer <token>', the token read from --token-file "
            f"or the {TOKEN_ENV} environment variable. Each routine's events are stored in "
            "its own SQLite file under --store (or in a PostgreSQL database) before each "
            "answer. Answers are judged at the wall clock unless a request gives as_of. Every "
            "option can also be set by its environment variable (SAMVERKAN_ and the option in "
            "capitals, shown with each option; a list comma-separated, a flag true or false); "
            "the command line wins."
        ),
    )
    parser.add_argument(
        "--routines",
        required=True,
        metavar="DIR",
        help="a directory of routine files (every routine and version is served), or one file",
    )
    parser.add_argument(
        "--id",
        dest="routine_id",
        metavar="ROUTINE_ID",
        help="serve only this routine of DIR (all its versions)",
    )
    _add_store(parser)
    parser.add_argument(
        "--future-tolerance",
        type=_duration,
        default=DEFAULT_FUTURE_TOLERANCE,
        metavar="DURATION",
        help=(
            "how far after the wall clock an event may be (clock drift of the posting "
            "systems): seconds, or a number with s, m, h or d; default 5m. Later events are "
            "refused (422)"
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)"
    )
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument(
        "--token-file", metavar="FILE", help=f"file holding the bearer token (else ${TOKEN_ENV})"
    )
    parser.add_argument(
        "--backend",
        choices=("reference", "durable"),
        default="reference",
        help="the live engine (durable needs the 'live' extra, Python < 3.13)",
    )
    _add_limits(parser)
    _add_work(parser)
    _add_logging(parser)
    from_environment(parser)
    parser.set_defaults(run=run)


def _add_store(parser: argparse.ArgumentParser) -> None:
    """Where the events are kept, and how."""
    parser.add_argument(
        "--store",
        required=True,
        metavar="DIR|URL",
        help=(
            "directory of the event stores, one SQLite file per routine (<routine-id>.db), "
            "created 0700; with a single routine, a file name (e.g. events.db) is that "
            "routine's store. Or a PostgreSQL database, postgresql://user@host/db (the "
            "'postgres' extra), which several replicas may serve at once"
        ),
    )
    parser.add_argument(
        "--synchronous",
        choices=("full", "normal"),
        default="full",
        help=(
            "full (default): each post is synced to disk before its answer, safe against a "
            "power cut; normal: faster, safe against a killed process but not a power cut"
        ),
    )


def _add_limits(parser: argparse.ArgumentParser) -> None:
    """The options that bound what one request may cost, the clients and the webhooks."""
    parser.add_argument(
        "--max-body",
        type=int,
        default=1024 * 1024,
        metavar="BYTES",
        help="largest request body accepted (default 1 MiB)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=200,
        metavar="N",
        help=(
            "most connections and requests at once (default 200); beyond it the service "
            "answers 503 at once rather than queueing without bound"
        ),
    )
    parser.add_argument(
        "--allow-personal-case-ids",
        action="store_true",
        help=(
            "take posts for case ids that are a personnummer or samordningsnummer (refused "
            "by default with 422: a case id should not name the person)"
        ),
    )
    parser.add_argument(
        "--max-case-events",
        type=int,
        default=DEFAULT_MAX_CASE_EVENTS,
        metavar="N",
        help=f"most events one case may hold (default {DEFAULT_MAX_CASE_EVENTS}; more: 422)",
    )
    parser.add_argument(
        "--max-events",
        type=int,
        default=1000,
        metavar="N",
        help="most events one post may hold (default 1000; more: 413)",
    )
    parser.add_argument(
        "--clients",
        metavar="FILE",
        help=(
            "YAML file of clients: each a name, the SHA-256 of its token and its scopes "
            "(read, write, admin); read again when it changes. Instead of --token-file"
        ),
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="an origin whose browser pages may call the service (repeatable; default: none)",
    )
    parser.add_argument(
        "--webhooks",
        metavar="FILE",
        help=(
            "YAML file of webhook subscriptions: each change is POSTed, signed, to each "
            "subscriber that wants it (see the HTTP service reference, section Webhooks)"
        ),
    )


def _add_work(parser: argparse.ArgumentParser) -> None:
    """How the service spends memory and processes: the cases whose evaluation state it
    keeps, and where a listing's cases are judged."""
    parser.add_argument(
        "--kept-cases",
        type=int,
        default=DEFAULT_KEPT_CASES,
        metavar="N",
        help=(
            f"per routine, how many recently judged cases keep their evaluation state between "
            f"posts (default {DEFAULT_KEPT_CASES}); another case is replayed from its events "
            "when posted to, so this bounds memory, not what is answered"
        ),
    )
    parser.add_argument(
        "--listings",
        choices=("process", "here"),
        default="process",
        help=(
            "where a listing's cases are judged: in a process of the service's own at a "
            "lower priority, so posts beside a long listing do not wait for it (the "
            "default), or in the service's process"
        ),
    )


def _add_logging(parser: argparse.ArgumentParser) -> None:
    """The options of the log: its level, its format and the key of its pseudonyms."""
    parser.add_argument(
        "--log-level", choices=("warning", "info", "error"), default="info", help="log level"
    )
    parser.add_argument(
        "--log-format",
        choices=("json", "text"),
        default=None,
        help=(
            "json: one JSON object a line (time, level, logger, message, request_id) for the "
            "service's and the server's lines alike; text: one readable line each. Default: "
            "text on a terminal, json otherwise"
        ),
    )
    parser.add_argument(
        "--log-key-file",
        metavar="FILE",
        help=(
            f"file holding the key of the log's case pseudonyms (else ${LOG_KEY_ENV}; else a "
            "random key, so a case gets a new pseudonym after each restart)"
        ),
    )


def _duration(text: str) -> timedelta:
    """``300``, ``90s``, ``5m``, ``2h`` or ``1d`` as a duration (argparse type)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    if not number.isdigit() or len(number) > 9:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give seconds or a whole number with s, m, h or d, e.g. 5m"
        )
    return timedelta(seconds=int(number) * units[unit])


def _private_text(option: str, file: str) -> str:
    """The stripped text of a secret's file, refused when others can read or write it."""
    try:
        return read_private(file).decode("utf-8").strip()
    except PrivateFileError as exc:
        raise CommandError(f"{option} {exc}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{option} {file}: not UTF-8 text") from None


def _log_key(args: argparse.Namespace) -> bytes | None:
    """The key of the log's pseudonyms, from ``--log-key-file`` or the environment: the same
    key keeps a case's pseudonym across restarts, so its log lines can be followed."""
    if args.log_key_file:
        key = _private_text("--log-key-file", args.log_key_file)
    else:
        key = os.environ.get(LOG_KEY_ENV, "").strip()
        if not key:
            return None
    if len(key) < 16:
        raise CommandError("the log key is shorter than 16 characters; use a long random one")
    return hashlib.sha256(b"samverkan log pseudonyms\0" + key.encode("utf-8")).digest()


def _token(args: argparse.Namespace) -> str:
    if args.token_file:
        token = _private_text("--token-file", args.token_file)
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise CommandError(
            f"no token: give --token-file FILE or set {TOKEN_ENV}; the service refuses to run "
            "without one (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    if len(token) < 16:
        raise CommandError("the token is shorter than 16 characters; use a long random one")
    return token


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _log_start(args: argparse.Namespace, sessions: RoutineSessions) -> None:
    """Say what is served, where, and from which store."""
    if not _loopback(args.host):
        logging.getLogger("samverkan.serve").warning(
            "binding %s: reachable from other machines; put a TLS-terminating reverse proxy "
            "in front and keep the token secret",
            args.host,
        )
    for rid in sessions.ids():
        described = sessions.session(rid).describe()
        logging.getLogger("samverkan.serve").info(
            "serving %s (%d events, %d cases in %s)",
            ", ".join(f"{r['id']} {r['version']}" for r in described["routines"]),
            described["events"],
            described["cases"],
            described["store"] or "memory",
        )
    for rid, version in sessions.retired:
        logging.getLogger("samverkan.serve").warning(
            "%s version %s judged events in its store and is no longer given: its cases are "
            "judged by the versions given now",
            rid,
            version,
        )
    logging.getLogger("samverkan.serve").info(
        "on http://%s:%d, backend %s", args.host, args.port, args.backend
    )


@guarded(NAME)
def run(args: argparse.Namespace) -> int:
    """Load the routine, open the store and serve until interrupted."""
    sources = apply_environment(args, os.environ)

    def named(dest: str) -> str:  # the option or variable a value came from, with it
        source = sources.get(dest, dest)
        value = getattr(args, dest)
        return f"{source}={value}" if source.startswith("SAMVERKAN_") else f"{source} {value}"

    configure_logging(args.log_level, args.log_format or default_format(sys.stderr))
    missing = [m for m in ("starlette", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise CommandError(
            f"samverkan serve needs the 'serve' extra ({', '.join(missing)} missing); install "
            "it with: pip install 'samverkan-rules[serve]'"
        )
    if args.backend == "durable" and importlib.util.find_spec("durable") is None:
        raise CommandError(
            "--backend durable needs the 'live' extra (durable-rules, Python < 3.13); install "
            "it with: pip install 'samverkan-rules[live]', or use --backend reference"
        )
    if not 0 <= args.port <= 65535:
        raise CommandError(f"{named('port')}: give a port from 0 to 65535")
    token = _token(args) if not args.clients else None
    routines = load_routines(args.routines)
    if args.routine_id is not None:
        routines = select_routine(routines, args.routines, args.routine_id)
    for name in ("max_events", "max_connections", "max_case_events"):
        if getattr(args, name) < 1:
            raise CommandError(f"{named(name)}: give at least 1")
    if args.kept_cases < 0:
        raise CommandError(f"{named('kept_cases')}: give 0 or more")

    if is_database_url(args.store) and importlib.util.find_spec("psycopg") is None:
        raise CommandError(
            "a PostgreSQL --store needs the 'postgres' extra (psycopg); install it with: "
            "pip install 'samverkan-rules[postgres]'"
        )
    import uvicorn

    try:
        sessions = RoutineSessions(
            routines,
            store=args.store,
            backend=args.backend,
            synchronous=args.synchronous,
            future_tolerance=args.future_tolerance,
            max_case_events=args.max_case_events,
            kept_cases=args.kept_cases,
        )
    except RoutineChangedError as exc:
        raise CommandError(str(exc)) from None
    except (OSError, SamverkanError) as exc:
        where = "(the database)" if is_database_url(args.store) else args.store
        raise CommandError(f"--store {where}: cannot open the event store: {exc}") from None
    _log_start(args, sessions)
    app, opened = _app(args, sessions, token, _settled(sessions))
    try:
        # No access log: it would write case ids; the app logs each request pseudonymously.
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            access_log=False,
            log_config=None,  # configure_logging above: one format for every line
            log_level=args.log_level,
            server_header=False,
            http="h11",
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
            limit_concurrency=args.max_connections,
        )
    finally:
        sessions.close()
        for each in opened:
            each.close()
    return EXIT_OK


def _settled(sessions: RoutineSessions) -> Heap:
    """The process made ready to answer while it holds many cases: what the stores held,
    read at start, set aside from the cycle collector (see :mod:`samverkan_rules.serve.heap`),
    and a thread judging a long listing made to give up the interpreter to a post's thread
    within a millisecond rather than five (the default), so a post beside it waits less."""
    heap = Heap(sessions.held_events)
    heap.take_over()
    sys.setswitchinterval(SWITCH_SECONDS)
    return heap


def _beside(args: argparse.Namespace, name: str) -> Path:
    """A file kept with the SQLite stores: in the store directory, or beside a single store
    file."""
    path = Path(args.store)
    return path.with_suffix(f".{name}") if path.suffix else path / name


def _app(
    args: argparse.Namespace,
    sessions: RoutineSessions,
    token: str | None,
    heap: Heap,
) -> tuple[Any, list[Any]]:
    """The application, and what it opened (files beside the stores, the judging process:
    closed at the end)."""
    from samverkan_rules.serve.app import create_app
    from samverkan_rules.serve.guard import Pseudonyms

    clients = None
    if args.clients:
        try:
            clients = Clients.from_file(args.clients)
        except ClientsError as exc:
            sessions.close()
            raise CommandError(f"--clients: {exc}") from None
    subscriptions, state = _webhooks(args, sessions)
    access, feed_secret = _access_and_feeds(args, sessions, token)
    served = [v for routine in sessions.ids() for v in sessions.versions(routine)]
    judging = JudgingProcess(served) if args.listings == "process" else None
    if judging is not None:
        judging.start()
    app = create_app(
        sessions,
        token=token,
        clients=clients,
        feed_secret=feed_secret,
        max_body=args.max_body,
        max_events=args.max_events,
        allow_personal_case_ids=args.allow_personal_case_ids,
        pseudonyms=Pseudonyms(_log_key(args)),
        webhooks=subscriptions,
        webhook_state=state,
        access=access,
        cors_origins=frozenset(args.cors_origin or ()),
        heap=heap,
        judging=judging,
    )
    return app, [state, access, *([judging] if judging is not None else [])]


def _access_and_feeds(
    args: argparse.Namespace, sessions: RoutineSessions, token: str | None
) -> tuple[Any, bytes | None]:
    """The access log and the calendar links' secret (None: the token's): in files beside
    the SQLite stores, or in the database that replicas on PostgreSQL share, so any replica
    answers for the accesses made through all of them and opens every link."""
    if sessions.shared:
        from samverkan_rules.serve.shared import SharedAccessLog, shared_key

        return SharedAccessLog(sessions.database), None if token else shared_key(
            sessions.database, "calendar-feeds"
        )
    access = AccessLog(_beside(args, "access.db"))
    return access, None if token else _feed_secret(_beside(args, "feeds.key"))


def _feed_secret(path: Path) -> bytes:
    """The secret of calendar links when clients have their own tokens: made once, kept in
    a private file beside the stores, so links stay the same across restarts."""
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                out.write(secrets.token_hex(32))
    return _private_text("(calendar link key)", str(path)).encode("utf-8")


def _webhooks(args: argparse.Namespace, sessions: RoutineSessions) -> tuple[list[Any], Any]:
    """The webhook subscriptions of ``--webhooks`` and where their deliveries are kept:
    ``webhooks.db`` in the store directory (beside a single store file: ``<name>.webhooks.db``),
    in memory without a store or without subscriptions; in the database that replicas on
    PostgreSQL share."""
    from samverkan_rules.serve.webhooks import WebhookConfigError, WebhookState, load_subscriptions

    subscriptions = []
    if args.webhooks:
        try:
            subscriptions = load_subscriptions(args.webhooks, sessions.ids())
        except WebhookConfigError as exc:
            sessions.close()
            raise CommandError(f"--webhooks: {exc}") from None
    if sessions.shared and subscriptions:  # the replicas share what was delivered
        from samverkan_rules.serve.shared import SharedDeliveries

        return subscriptions, SharedDeliveries(sessions.database)
    path = _beside(args, "webhooks.db") if args.store and subscriptions else None
    return subscriptions, WebhookState(path)
