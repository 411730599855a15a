"""The local engine: runs the same Workflow the Argo engine submits, on this machine."""

from workflows.engines.local.engine import LocalEngine
from workflows.engines.local.runtime import Runtime, SandboxUnavailable

__all__ = ["LocalEngine", "Runtime", "SandboxUnavailable"]
