"""A worker process of the audit: ``python -m samverkan_rules.audit.worker MODE SPEC RESULT``.

Started by :mod:`samverkan_rules.audit.pool`; a module of its own so that what the worker
sends back is pickled under the names the parent imports.
"""

import sys

from samverkan_rules.audit.pool import main

if __name__ == "__main__":
    main(sys.argv[1:])
