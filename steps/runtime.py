"""What every step starts from: a timestamped step log and the job spec."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from steps.paths import PathMap
from steps.termination import Terminated, end_on_sigterm
from workflows import contract
from workflows.spec import JobSpec

__all__ = ["EXIT_TERMINATED", "StepLog", "read_spec", "run_step"]

# 128 + SIGTERM, as a shell reports a process that SIGTERM ended.
EXIT_TERMINATED = 128 + signal.SIGTERM


def run_step(name: str, main: Callable[[], int]) -> int:
    """Run a step's ``main`` so that SIGTERM ends it at once (exit 143, saying so).

    In a pod the step is PID 1, and PID 1 ignores a signal it has no handler for: without
    this, a stop or an eviction would wait the pod's whole grace period for SIGKILL.
    """
    end_on_sigterm()
    try:
        return main()
    except Terminated:
        print(f"{name}: stopped by SIGTERM (a stop, an eviction or a deadline)", file=sys.stderr)
        return EXIT_TERMINATED


def read_spec(paths: PathMap) -> JobSpec:
    """The job spec; raises ``OSError`` or ``pydantic.ValidationError``."""
    return JobSpec.model_validate_json(paths.resolve(contract.SPEC_FILE).read_bytes())


class StepLog:
    """One line per event, each with a UTC timestamp; never given URLs, headers or secrets.

    The log is the admin log the consumer receives as a result file. When it cannot be opened
    the lines go to stderr instead, so a broken admin volume does not hide why a step failed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def __enter__(self) -> StepLog:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        except OSError as error:
            print(f"cannot open step log ({error.strerror}); logging to stderr", file=sys.stderr)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def event(self, message: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.lines(f"{stamp} {message}\n")

    def lines(self, text: str) -> None:
        """Lines already stamped (by the engine, before this step ran)."""
        line = text
        target = self._file if self._file is not None else sys.stderr
        try:
            target.write(line)
            target.flush()
        except OSError:
            # A full admin volume must not turn into a crash that loses the exit code.
            pass
