"""The HTTP service over a live session (the ``serve`` extra: Starlette on uvicorn).

Import :func:`create_app` from :mod:`samverkan_rules.serve.app`; the core never imports
this package.
"""
