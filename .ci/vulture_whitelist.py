"""Names vulture cannot see used, read with the package (``[tool.vulture]`` in pyproject.toml).

Each is used from outside the package's own calls: by pydantic, pytest, PyYAML, Python's
import and I/O machinery, or a library user. Code nothing uses is removed, not listed here.
This file is only parsed, never imported.
"""

import samverkan_rules
from samverkan_rules import audit, records, schemas, status
from samverkan_rules.audit import models as audit_models
from samverkan_rules.audit import rows, synthetic
from samverkan_rules.cli import _common as cli_common
from samverkan_rules.cli import _streams as cli_output
from samverkan_rules.events import index
from samverkan_rules.language import yaml_compose
from samverkan_rules.language.models import base, conditions, periods, routine, rules, schedules
from samverkan_rules.language.models import time as time_models
from samverkan_rules.live import session
from samverkan_rules.scenarios import plugin, spec
from samverkan_rules.serve import answers
from samverkan_rules.text import due
from samverkan_rules.time import calendar

# Module __getattr__/__dir__ (PEP 562): Python calls them to import the public names lazily.
samverkan_rules.__getattr__
samverkan_rules.__dir__
audit.__getattr__

# pydantic reads each model's configuration from its model_config.
audit_models._Out.model_config
base.Model.model_config
records._Out.model_config
records.EvaluationDocument.model_config
schemas.EventRecord.model_config
spec._Model.model_config

# pydantic runs validators itself (@field_validator / @model_validator).
base.CalendarSpec._known_zone
base.FieldSpec._enum_values
conditions.Comparison._one_operator
conditions.FactUpdate._one_way
periods.PeriodStart._one
periods.Param._typed
routine.Routine._validity
rules.Trigger._one_source
rules.EventPattern._match_paths
rules.Action._party
rules.Escalation._target
schedules.Schedule._shape
schedules.Schedule._planned_once
time_models.TimeSpec._shape
time_models.CompositeTime._one
time_models.Offset._one
spec.Expectations._something

# Keys of the routine language: declared so a routine may write them (unknown keys are
# errors) and so the JSON Schema has them; TimeSpec.unit reads its distances by name.
base.DocumentRecord.established
base.DocumentRecord.revised
base.DocumentRecord.next_review
base.DocumentRecord.edition
base.DocumentRecord.decided_by
time_models.TimeSpec.weeks
# A scenario's expected period: compared key by key with the evaluated period's dump.
spec.ExpectedPeriod.started_by_obligation

# Fields of the output models: pydantic writes them to the evaluation JSON, report.json and
# the JSON Schemas; the HTML report's template reads some.
records.PeriodRecord.started_by
records.PeriodRecord.started_by_obligation
records.PeriodRecord.ended_by
audit_models.Software.samverkan_rules
audit_models.Software.holidays
audit_models.Software.python
audit_models.InputRecord.events_read
audit_models.InputRecord.events_used
audit_models.InputRecord.events_rejected
audit_models.InputRecord.events_after_as_of
audit_models.RuleSummary.waiting_past_deadline
audit_models.CompareRule.base_rules
audit_models.CompareRule.other_rules
audit_models.CompareRule.vocabulary_base_only
audit_models.CompareRule.vocabulary_other_only
audit_models.CompareRule.difference_from
audit_models.AuditHeader.software
audit_models.AuditHeader.pseudonymised
audit_models.AuditHeader.key_fingerprint
audit_models.RuleSummary.lateness_calendar_days
audit_models.PeriodSummary.unit_label

# Fields of the service's answers and parameters: only the OpenAPI document reads them
# (msgspec writes each struct's JSON Schema).
answers.Erased.erased_events
answers.Trailer.next_cursor
answers.TrailerLine.trailer
answers.CalendarLink.for_
answers.Delivery.delivered_through
answers.Replayed.replayed
answers.AccessList.accesses
answers.StreamResume.last_event_id
answers.RequestId.x_request_id
audit_models.QueueSummary.out_of_order
audit_models.CompareRule.difference
audit_models.CompareRule.on_time_rate_base
audit_models.CompareRule.on_time_rate_other
audit_models.CompareReport.events_rejected
audit_models.AuditReport.lateness_histogram
audit_models.AuditReport.worst_cases
audit_models.AuditReport.most_overdue

# Columns of obligations.csv: the row is written by position, never read by name.
rows.ObligationRow.fulfilled
rows.ObligationRow.trigger_event

# The context-manager protocol passes the traceback to __exit__, which does not need it.
cli_common.Progress.__exit__.tb
cli_output.StreamWriter.__exit__.tb
index.IndexedEvents.__exit__.tb

# The text-stream interface: code writing to sys.stdout may ask its encoding and whether it
# is writable (io.TextIOBase would say False).
cli_output.CheckedStream.encoding
cli_output.CheckedStream.writable

# PyYAML's scanner and resolver: the loader overrides them and PyYAML calls or reads them.
yaml_compose._CoreLoader.yaml_implicit_resolvers
yaml_compose._CoreLoader.scan_to_next_token
yaml_compose._CoreLoader.allow_simple_key

# pytest calls the plugin's hooks and its items' methods.
plugin.pytest_collect_file
plugin.pytest_terminal_summary
plugin.ScenarioItem.runtest
plugin.ScenarioItem.reportinfo
plugin.InvalidScenarioFileItem.runtest
plugin.InvalidScenarioFileItem.reportinfo

# Public API of the exported WorkingCalendar, with doctests and tests of their own.
calendar.WorkingCalendar.working_days_before
calendar.WorkingCalendar.working_days_after
calendar.WorkingCalendar.working_days_in

# Public API of live sessions for embedding programs (docs/reference/live-sessions.md); the
# service judges a listing's batches through Session.batches and Session.judge instead.
session.Session.due_of

# The synthetic history generator: histories with known outcomes for the audit's benchmark
# and tests (benchmarks/audit_bench.py, tests/audit/).
synthetic.ROUTINE_ID
synthetic.generate_history
synthetic.write_files
# truth.csv writes every field of a Truth by position; the tests read them by name.
synthetic.Truth.trigger_day
synthetic.Truth.deadline_day

# Regenerates the bundled holiday table (data/sweden-holidays.json) when `holidays` changes.
calendar.write_holiday_table

# The staff text of a whole evaluation in one string, for embedding systems (docs/how-to/
# translate-messages.md, "In Python"); the command line writes it case by case (evaluation_chunks).
due.render_evaluation

# docs/glossary.md is written from the staff glossary; tests/test_glossary.py checks it.
status.glossary_markdown
