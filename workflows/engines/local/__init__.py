"""The local engine: runs the same Workflow the Argo engine submits, on this machine.

Import from the modules (``engine``, ``runtime``, ...): this package imports nothing, so that the
step server's helper can import the sandbox's stage layer without the engine and hera (a smaller
helper forks faster, three times per job).
"""
