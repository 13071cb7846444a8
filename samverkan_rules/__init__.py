"""samverkan-rules: Swedish collaboration routines as executable, versioned YAML rulesets.

Load a routine, read events, evaluate::

    from datetime import datetime
    from samverkan_rules import evaluate, load_routine, read_events

    routine = load_routine("routines/orebro-dagverksamhet-hemvard.yaml")
    batch = read_events("examples/orebro-case.jsonl")
    result = evaluate(routine, batch, datetime.fromisoformat("2026-12-15T12:00:00+01:00"))
    print(result.to_json())

Everything here is pure and thread-safe: compiled routines are immutable and
:func:`evaluate` keeps no state between calls. :class:`Session` takes events one at a time
and keeps them, in an :class:`EventStore` file when given one; :class:`RoutineSessions` holds
one session per routine, each case following the routine it is posted to.

The public API is the names below and nothing else; the modules behind them are the
implementation and may move. Each name is imported on first use, so a command pays only
for what it uses (``samverkan --help`` builds neither the routine models nor the calendar).

Routines:
    load_routine, load_routine_text, check_routine_file, check_routine_text, RoutineCheck,
    load_registry, Registry, compile_routine, CompiledRoutine, Routine
Events:
    read_events, read_events_text, Event, EventBatch
Evaluation:
    evaluate, Ruleset, Evaluation, CaseResult, Obligation
Live sessions:
    Session, RoutineSessions, EventStore
Time:
    sweden_calendar, WorkingCalendar
Errors and findings:
    SamverkanError, CompileError, YamlError, RoutineError, EventError, CalendarError,
    EvaluationError, Diagnostic
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from samverkan_rules import _version

if TYPE_CHECKING:
    from samverkan_rules.compile.routine import CompiledRoutine, compile_routine
    from samverkan_rules.diagnostics import Diagnostic
    from samverkan_rules.engine import Ruleset, evaluate
    from samverkan_rules.engine.result import Evaluation
    from samverkan_rules.errors import (
        CalendarError,
        CompileError,
        EvaluationError,
        EventError,
        RoutineError,
        SamverkanError,
        YamlError,
    )
    from samverkan_rules.events.model import Event, EventBatch
    from samverkan_rules.events.read import read_events, read_events_text
    from samverkan_rules.language.models.routine import Routine
    from samverkan_rules.live import EventStore, RoutineSessions, Session
    from samverkan_rules.records import CaseResult, Obligation
    from samverkan_rules.routine.load import (
        RoutineCheck,
        check_routine_file,
        check_routine_text,
        load_routine,
        load_routine_text,
    )
    from samverkan_rules.routine.registry import Registry, load_registry
    from samverkan_rules.time.calendar import WorkingCalendar, sweden_calendar

_LAZY: dict[str, str] = {
    "CalendarError": "samverkan_rules.errors",
    "CaseResult": "samverkan_rules.records",
    "CompileError": "samverkan_rules.errors",
    "CompiledRoutine": "samverkan_rules.compile.routine",
    "Diagnostic": "samverkan_rules.diagnostics",
    "Evaluation": "samverkan_rules.engine.result",
    "EvaluationError": "samverkan_rules.errors",
    "Event": "samverkan_rules.events.model",
    "EventBatch": "samverkan_rules.events.model",
    "EventError": "samverkan_rules.errors",
    "EventStore": "samverkan_rules.live",
    "Obligation": "samverkan_rules.records",
    "Registry": "samverkan_rules.routine.registry",
    "Routine": "samverkan_rules.language.models.routine",
    "RoutineCheck": "samverkan_rules.routine.load",
    "RoutineError": "samverkan_rules.errors",
    "RoutineSessions": "samverkan_rules.live",
    "Ruleset": "samverkan_rules.engine",
    "SamverkanError": "samverkan_rules.errors",
    "Session": "samverkan_rules.live",
    "WorkingCalendar": "samverkan_rules.time.calendar",
    "YamlError": "samverkan_rules.errors",
    "check_routine_file": "samverkan_rules.routine.load",
    "check_routine_text": "samverkan_rules.routine.load",
    "compile_routine": "samverkan_rules.compile.routine",
    "evaluate": "samverkan_rules.engine",
    "load_registry": "samverkan_rules.routine.registry",
    "load_routine": "samverkan_rules.routine.load",
    "load_routine_text": "samverkan_rules.routine.load",
    "read_events": "samverkan_rules.events.read",
    "read_events_text": "samverkan_rules.events.read",
    "sweden_calendar": "samverkan_rules.time.calendar",
}
"""Where each public name lives (the same as the imports above, which type checkers read;
``tests/test_public_api.py`` holds the two, ``__all__`` and the docstring together)."""


__version__: str
"""The installed distribution's version (read from its metadata on first use)."""


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version.version()
        globals()[name] = value
        return value
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'samverkan_rules' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {"__version__"})


__all__ = [
    "CalendarError",
    "CaseResult",
    "CompileError",
    "CompiledRoutine",
    "Diagnostic",
    "Evaluation",
    "EvaluationError",
    "Event",
    "EventBatch",
    "EventError",
    "EventStore",
    "Obligation",
    "Registry",
    "Routine",
    "RoutineCheck",
    "RoutineError",
    "RoutineSessions",
    "Ruleset",
    "SamverkanError",
    "Session",
    "WorkingCalendar",
    "YamlError",
    "__version__",
    "check_routine_file",
    "check_routine_text",
    "compile_routine",
    "evaluate",
    "load_registry",
    "load_routine",
    "load_routine_text",
    "read_events",
    "read_events_text",
    "sweden_calendar",
]
