"""``python -m samverkan_rules`` and the ``samverkan`` command run the command line."""

# The C module under `signal`: importing `signal` itself first builds its enums, which is
# long enough for a Ctrl-C to land in it.
import _signal  # type: ignore[import-not-found]
import sys


def run() -> int:
    """Run the command line; Ctrl-C while it starts ends the process without a traceback.

    Until :func:`samverkan_rules.cli.main` installs its own handler, Python would turn
    Ctrl-C into a ``KeyboardInterrupt`` inside whichever import runs, with a traceback.
    So the signal ends the process as it ends any other program (a shell reports 130),
    and Python's handler is back the moment the command line is imported, for ``main``
    to take over from. A SIGINT ignored by the parent (a background job) stays ignored.
    """
    pythons_own = _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler
    if pythons_own:
        _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
    from samverkan_rules.cli import main  # late by design: after the handler above

    if pythons_own:
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)
    try:
        return main()
    except KeyboardInterrupt:  # in the instant between the two handlers
        sys.stderr.write("samverkan: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(run())
