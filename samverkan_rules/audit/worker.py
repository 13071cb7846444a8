"""A worker process of the audit: ``python -m samverkan_rules.audit.worker``, given its parts
on standard input (see :func:`samverkan_rules.audit.pool.serve`).

Started by :mod:`samverkan_rules.audit.pool`; a module of its own so that what the worker
sends back is pickled under the names the parent imports.
"""

from samverkan_rules.audit.pool import serve

if __name__ == "__main__":
    serve()
