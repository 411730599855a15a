"""The trusted steps around the algorithm: ``python -m steps.configure`` and ``steps.publish``."""
