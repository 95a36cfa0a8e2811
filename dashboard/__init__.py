"""The live web dashboard: the bulk log, a bulk's page, its operations, retries, live updates.

Server-rendered Django templates with htmx (django-htmx's bundled htmx 2 and its
websocket extension). Views call `operations.actions` for every write and read
through `operations.status`; live updates come from `operations.events` and the
stored counters (see `dashboard/live/`).
"""
