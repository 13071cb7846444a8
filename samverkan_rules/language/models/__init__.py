"""The routine language as pydantic models, one module per part of a routine file.

``base`` holds the shared model base, metadata, calendar, roles, channels and event types;
``conditions``, ``time``, ``schedules``, ``rules``, ``queues`` and ``periods`` the parts a
rule is made of; ``routine`` the whole document.
"""
