"""The configure step: lay out the job volume and fetch the datasets and the algorithm into it."""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from steps._files import atomic_writer
from steps.download import DownloadBudget, download
from steps.paths import PathMap, PathMapError
from steps.readers import FetchError, SourcePolicy
from steps.readers.guard import tls_context
from steps.runtime import StepLog, read_spec, run_step
from steps.warm import warm_download
from workflows import contract
from workflows.spec import FileObject, JobSpec

__all__ = ["main", "prepare", "prepare_volume"]

# Only the algorithm's own folders are writable; what it reads is not.
_READ_ONLY_DIRS = (contract.INPUTS, contract.DDOS, contract.TRANSFORMATIONS)
# Nothing configure writes is synced to disk (downloads never were): the job volume is scratch,
# and what a power cut could take from it costs at most that job, which then fails; an fsync per
# file cost 7 ms and more here.
_ALGORITHM_DIRS = (contract.OUTPUTS, contract.LOGS)
_READABLE = 0o755
_WRITABLE_BY_ANYONE = 0o777
_PULL_LOG_BYTES = 64 * 1024


@dataclass
class ProvisioningFailed(Exception):
    exit_code: int
    what: str
    reason: str


def prepare() -> None:
    """Run once by the step server before it forks: every configure child then shares the TLS
    context instead of loading the CA bundle again, the IDNA codec httpx encodes each host
    name with (imported by its first use: in every child, a few milliseconds and pages), and
    the HTTP stack as one download left it (``warm.py``)."""
    tls_context()
    "localhost".encode("idna")
    warm_download()


def main(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    try:
        paths = PathMap.from_env(env)
        policy = SourcePolicy.from_env(env)
    except (PathMapError, ValueError) as error:
        print(f"configure: data provisioning failed: {error}", file=sys.stderr)
        return contract.EXIT_DATA_PROVISIONING_FAILED
    with StepLog(paths.resolve(contract.CONFIGURE_LOG)) as log:
        _copy_pull_log(paths, log)
        try:
            summary = _configure(paths, log, policy)
        except ProvisioningFailed as failure:
            kind = (
                "algorithm"
                if failure.exit_code == contract.EXIT_ALGORITHM_PROVISIONING_FAILED
                else "data"
            )
            log.event(f"{failure.what}: failed: {failure.reason}")
            # Last line: the engine shows it to the owner as the job's statusReason.
            log.event(f"{kind} provisioning failed: {failure.what}: {failure.reason}")
            print(
                f"configure: {kind} provisioning failed: {failure.what}: {failure.reason}",
                file=sys.stderr,
            )
            return failure.exit_code
        log.event(f"configured: {summary}")
        print(f"configure: ok, {summary}", file=sys.stderr)
        return 0


def _copy_pull_log(paths: PathMap, log: StepLog) -> None:
    """What the engine's image pull did, first in this log (the engine wrote it, capped; absent
    when nothing was pulled, and on a cluster, whose kubelet pulls)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(paths.resolve(contract.PULL_LOG), flags)
    except (OSError, PathMapError):
        return
    with os.fdopen(fd, "rb") as pulled:
        text = pulled.read(_PULL_LOG_BYTES).decode("utf-8", "replace")
    log.lines(text if text.endswith("\n") or not text else text + "\n")


def _configure(paths: PathMap, log: StepLog, policy: SourcePolicy) -> str:
    data_failed = contract.EXIT_DATA_PROVISIONING_FAILED
    try:
        spec = read_spec(paths)
    except (OSError, ValidationError) as error:
        reason = error.strerror if isinstance(error, OSError) else "invalid JSON or fields"
        raise ProvisioningFailed(data_failed, "job spec", str(reason)) from None
    log.event(f"configure job {spec.job_id}: {len(spec.inputs)} input(s)")
    try:
        prepare_volume(paths)
    except (OSError, PathMapError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        raise ProvisioningFailed(data_failed, "volume", str(reason)) from None
    budget = DownloadBudget(spec.limits.max_download_bytes)
    # The algorithm first: it is small, and a bad one should not cost the datasets' downloads.
    fetch = _Fetcher(spec, budget, log, policy)
    _provision_algorithm(spec, paths, fetch)
    _provision_inputs(spec, paths, fetch)
    return f"{budget.used} bytes downloaded"


def prepare_volume(paths: PathMap) -> None:
    """Create the Ocean layout under /data with the permissions the algorithm's uid needs."""
    data = paths.resolve(contract.DATA)
    data.mkdir(parents=True, exist_ok=True)
    # On a cluster the kubelet creates /data (a subPath) as root: only its owner may chmod it,
    # and the step needs no more than to write into it (pod fsGroup makes it group-writable).
    if data.stat().st_uid == os.geteuid():
        _set_mode(data, _READABLE)
    elif not os.access(data, os.W_OK | os.X_OK):
        raise OSError(
            errno.EACCES,
            f"{contract.DATA} is not writable by uid {os.geteuid()}"
            " (the step pods need fsGroup, or storage whose root that uid may write)",
        )
    for folder in _READ_ONLY_DIRS:
        path = paths.resolve(folder)
        path.mkdir(exist_ok=True)
        _set_mode(path, _READABLE)
    for folder in _ALGORITHM_DIRS:
        path = paths.resolve(folder)
        path.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            os.chown(path, contract.ALGORITHM_UID, contract.ALGORITHM_UID)
            _set_mode(path, _READABLE)
        else:
            # Not root, so no chown: the algorithm may run under another uid than this step.
            _set_mode(path, _WRITABLE_BY_ANYONE)
    # The algorithm's log exists even when the algorithm never starts (stopped, crashed), so a
    # consumer always gets an algorithmLog result.
    log = paths.resolve(contract.ALGORITHM_LOG)
    log.touch(exist_ok=True)
    if os.geteuid() == 0:
        os.chown(log, contract.ALGORITHM_UID, contract.ALGORITHM_UID)


def _set_mode(path: Path, mode: int) -> None:
    # Deliberately world-readable (the algorithm runs as another uid); explicit, not umask-bound.
    os.chmod(path, mode)


def _provision_algorithm(spec: JobSpec, paths: PathMap, fetch: _Fetcher) -> None:
    log = fetch.log
    failed = contract.EXIT_ALGORITHM_PROVISIONING_FAILED
    algorithm = spec.algorithm
    target = paths.resolve(contract.ALGORITHM_PATH)
    try:
        if algorithm.rawcode is not None:
            code = algorithm.rawcode.encode()
            with atomic_writer(target, 0o755, sync=False) as out:
                out.write(code)
            log.event(f"algorithm: raw code, {len(code)} bytes")
        elif algorithm.files:
            # Ocean's convention: the first file is the algorithm; others are not fetched.
            fetch(algorithm.files[0], target, "algorithm file 0", failed)
            if len(algorithm.files) > 1:
                log.event(f"algorithm: {len(algorithm.files) - 1} further file(s) not fetched")
        else:
            raise ProvisioningFailed(failed, "algorithm", "neither raw code nor files given")
        if algorithm.custom_data is not None:
            _write_json(paths.resolve(contract.ALGO_CUSTOM_DATA), algorithm.custom_data)
            log.event("algorithm: custom data written")
    except OSError as error:
        raise ProvisioningFailed(failed, "algorithm", f"cannot write ({error.strerror})") from None


def _provision_inputs(spec: JobSpec, paths: PathMap, fetch: _Fetcher) -> None:
    log = fetch.log
    failed = contract.EXIT_DATA_PROVISIONING_FAILED
    folders = [item.folder for item in spec.inputs]
    if len(set(folders)) != len(folders):
        raise ProvisioningFailed(failed, "inputs", "two inputs share a folder name")
    for i, item in enumerate(spec.inputs):
        try:
            folder = paths.resolve(f"{contract.INPUTS}/{item.folder}")
            folder.mkdir(exist_ok=True)
            _set_mode(folder, _READABLE)
            if item.ddo is not None:
                _write_json(paths.resolve(f"{contract.DDOS}/{item.folder}"), item.ddo)
                log.event(f"input {i}: ddo written")
        except OSError as error:
            raise ProvisioningFailed(
                failed, f"input {i}", f"cannot write ({error.strerror})"
            ) from None
        # userdata is not written: as on Ocean Node it reached url sources in their query
        # (provider admission), and an extra file would break algorithms that read every
        # file of an input folder.
        for j, file in enumerate(item.files):
            fetch(file, folder / str(j), f"input {i} file {j}", failed)


@dataclass(frozen=True)
class _Fetcher:
    """Downloads of one job: its budget, timeout, log and SSRF policy."""

    spec: JobSpec
    budget: DownloadBudget
    log: StepLog
    policy: SourcePolicy

    def __call__(self, file: FileObject, dest: Path, what: str, exit_code: int) -> None:
        try:
            result = download(
                file,
                dest,
                budget=self.budget,
                timeout=self.spec.limits.download_timeout,
                policy=self.policy,
            )
        except FetchError as error:
            raise ProvisioningFailed(exit_code, what, str(error)) from None
        verdict = "sha256 ok" if result.checksum_verified else "no checksum given"
        self.log.event(f"{what}: {result.size} bytes, {verdict}")


def _write_json(dest: Path, document: Any) -> None:
    with atomic_writer(dest, sync=False) as out:
        out.write(json.dumps(document, indent=2, sort_keys=True).encode())


if __name__ == "__main__":
    sys.exit(run_step("configure", main))
