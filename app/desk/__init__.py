"""The desk: the web pages agents and supervisors work the queue in, under ``/desk``.

Server-rendered (Jinja2) from the same services the API calls, never the API over HTTP; a
vendored htmx for the few partial updates; no inline script, so the Content-Security-Policy
needs no 'unsafe-inline'. Mounted by ``app.main`` as its own small application, so its
errors are pages, not problem+json, and none of its routes are in the OpenAPI document.
"""
