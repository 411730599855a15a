"""The operator's page at ``/ui`` (docs/ui.md): read-only, behind ``C2D_OPERATOR_TOKEN``.

``models`` and ``figures`` build plain view models from the engine and the metrics (pure),
``overview`` reads them from the services; ``svg`` and ``pages`` turn them into escaped HTML,
``events`` a log into server-sent events; ``gate`` checks the token; ``routes`` serves it all
with a strict CSP. ``static/`` holds the page's own style sheet and script.
"""
