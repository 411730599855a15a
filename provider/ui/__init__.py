"""The operator's page at ``/ui`` (docs/ui.md): read-only, behind ``C2D_OPERATOR_TOKEN``.

``models`` and ``figures`` build plain view models from the engine and the metrics; ``svg`` and
``pages`` turn them into escaped HTML; ``routes`` serves them with a strict CSP.
"""
