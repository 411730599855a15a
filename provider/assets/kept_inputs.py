"""A published result as a compute job's input: the kept outputs.tar, fetched from this provider.

The compute service of a result's asset names the kept file (a ``c2dResult`` file object) as
its access service does. The configure step cannot open the provider's kept folder (it runs
sandboxed, or in a cluster's pod), so admission turns that file object into a url file naming
this provider's ``GET /api/services/keptInput/{jobId}``, with a header only the provider can
make: a MAC over (the kept job, the job reading it). The route serves the file only while that
reading job is unfinished, so the header is worth nothing once the job ends, and it opens no
other asset's outputs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from provider.assets.results import KeptFiles
from provider.errors import BadRequest, Forbidden
from workflows.spec import FileObject

__all__ = ["KEPT_INPUT_HEADER", "KeptInputs"]

KEPT_INPUT_HEADER = "X-C2D-Kept-Input"
_JOB_ID = re.compile(r"[0-9a-f]{32}")
_MAC = re.compile(r"[0-9a-f]{64}")  # checked first: compare_digest refuses non-ASCII text
_REFUSED = "this header opens no kept outputs now"


class KeptInputs:
    def __init__(
        self,
        *,
        kept_for: KeptFiles,
        kept_file: Callable[[str], Path],
        running: Callable[[str], bool],
        secret: bytes,
        public_url: str,
    ) -> None:
        """``kept_for``: the publisher's check that an asset serves a job's outputs;
        ``running``: whether a job exists and has not finished; ``secret``: the MAC key, one
        derived from the provider key for this use (``provider.keys.derived_secret``)."""
        self._kept_for = kept_for
        self._kept_file = kept_file
        self._running = running
        self._mac_key = secret
        self._public_url = public_url.rstrip("/")

    def input_file(self, file: dict[str, Any], nft: str, reader: str, *, label: str) -> FileObject:
        """The url file through which job ``reader`` fetches the outputs ``file`` names."""
        kept_job = file.get("jobId")
        if self._kept_for(kept_job, nft) is None:
            raise BadRequest(f"{label}: names no outputs this asset may serve")
        assert isinstance(kept_job, str)  # kept_for accepts only a job id
        return FileObject(
            type="url",
            url=f"{self._public_url}/api/services/keptInput/{kept_job}",
            headers={KEPT_INPUT_HEADER: f"{reader}.{self._mac(kept_job, reader)}"},
        )

    def open(self, kept_job: str, header: str | None) -> Path:
        """The kept file, if ``header`` is one ``input_file`` made for a job still running."""
        reader, _, mac = (header or "").partition(".")
        if not (_JOB_ID.fullmatch(kept_job) and _JOB_ID.fullmatch(reader) and _MAC.fullmatch(mac)):
            raise Forbidden(_REFUSED)
        if not hmac.compare_digest(mac, self._mac(kept_job, reader)):
            raise Forbidden(_REFUSED)
        if not self._running(reader):
            raise Forbidden(f"{_REFUSED}: job {reader} has ended")
        return self._kept_file(kept_job)

    def _mac(self, kept_job: str, reader: str) -> str:
        message = f"{kept_job}\n{reader}".encode()
        return hmac.new(self._mac_key, message, hashlib.sha256).hexdigest()
