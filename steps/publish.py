"""The publish step: outputs archive, logs and results.json into result storage (always runs).

The logs and the archive are staged under temporary names and committed together only when
they fit the result storage caps (``storage.py``); otherwise none is kept and the job ends 62.
"""

from __future__ import annotations

import os
import sys
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from steps._files import NotRegular, atomic_writer, open_regular_at, staged_writer, temp_name
from steps.archive import OutputsUnreadable, archive_outputs
from steps.manifest import write_manifest
from steps.paths import PathMap, PathMapError
from steps.readers.guard import SourcePolicy, tls_context
from steps.runtime import StepLog, read_spec, run_step
from steps.storage import StorageCaps, StorageFull, commit_within_caps
from steps.upload import UploadError, upload_archive
from steps.upload.result_store import copy_to_store
from workflows import contract
from workflows.engines.base import ResultFile, ResultType
from workflows.output_spec import OutputSpec
from workflows.result_store import ResultStore, ResultStoreError
from workflows.spec import Limits

__all__ = ["main", "prepare"]

# Result file names as the consumer sees them (Ocean's names), and their manifest order.
CONFIGURATION_LOG = "configuration.log"
ALGORITHM_LOG = "algorithm.log"
PUBLISH_LOG = "publish.log"
_LOGS: tuple[tuple[str, str, ResultType], ...] = (
    (contract.CONFIGURE_LOG, CONFIGURATION_LOG, "configurationLog"),
    (contract.ALGORITHM_LOG, ALGORITHM_LOG, "algorithmLog"),
)
# Used when the job spec cannot be read: logs still come out, outputs do not.
_FALLBACK_LOG_BYTES: int = Limits.model_fields["log_bytes"].default
_COPY_CHUNK = 1024 * 1024
# publish.log is written by this step (a few lines); room kept for it and results.json.
_OWN_LOG_BYTES = 64 * 1024
_RESERVE = _OWN_LOG_BYTES + 4 * 4096
_Published = list[tuple[str, ResultType]]


class _UploadFailed(Exception):
    """Writing into result storage failed (exit 62); the message is an OS reason."""


def prepare() -> None:
    """Run once by the step server before it forks (uploads to S3 or FTPS share the context)."""
    tls_context()


def main(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    try:
        paths = PathMap.from_env(env)
    except PathMapError as error:
        print(f"publish: results upload failed: {error}", file=sys.stderr)
        return contract.EXIT_RESULTS_UPLOAD_FAILED
    results = paths.resolve(contract.RESULTS)
    publish_log = paths.resolve(contract.PUBLISH_LOG)
    with StepLog(publish_log) as log:
        try:
            caps = StorageCaps.from_env(env)
        except ValueError as error:
            log.event(f"results upload failed: result storage caps unreadable ({error})")
            print("publish: results upload failed: bad result storage caps", file=sys.stderr)
            return contract.EXIT_RESULTS_UPLOAD_FAILED
        try:
            results.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            log.event(f"results upload failed: cannot create the result folder ({error.strerror})")
            print("publish: results upload failed: no result folder", file=sys.stderr)
            return contract.EXIT_RESULTS_UPLOAD_FAILED
        exit_code, published, why, refused = _publish(
            paths, results, log, caps, SourcePolicy.from_env(env)
        )
        # Last line: the engine shows it to the owner as the job's statusReason.
        log.event(f"publish finished with exit code {exit_code}{why}")
    # Own log last (so it holds every line above), then the manifest, last of all and atomic.
    # Results refused for want of room keep no log either: the reason is the job's statusReason.
    try:
        if not refused and _copy_log(
            publish_log, results / PUBLISH_LOG, _OWN_LOG_BYTES, _to_stderr
        ):
            published.append((PUBLISH_LOG, "publishLog"))
        _write_manifest(results, published)
    except (OSError, _UploadFailed) as error:
        print(f"publish: results upload failed: {_reason(error)}", file=sys.stderr)
        return contract.EXIT_RESULTS_UPLOAD_FAILED
    if not refused and (failure := _to_result_store(env, paths, results, published)):
        print(f"publish: results upload failed: {failure}", file=sys.stderr)
        return contract.EXIT_RESULTS_UPLOAD_FAILED
    outcome = "ok" if exit_code == 0 else f"failed with exit code {exit_code}"
    print(f"publish: {outcome}, {len(published)} result file(s)", file=sys.stderr)
    return exit_code


def _publish(
    paths: PathMap, results: Path, log: StepLog, caps: StorageCaps, policy: SourcePolicy
) -> tuple[int, _Published, str, bool]:
    """Copy the logs and archive the outputs, best effort; 62 beats 61 beats 0.

    The third item is ``": <reason>"`` of the first upload failure, else empty; the fourth
    says that result storage had no room for them (nothing was kept).
    """
    fetch_failed = upload_failed = False
    why = ""
    limits: Limits | None = None
    environment = ""
    output: OutputSpec | None = None
    try:
        spec = read_spec(paths)
        limits, environment, output = spec.limits, spec.environment, spec.output
        log.event(f"publish job {spec.job_id}")
    except (OSError, ValidationError):
        log.event("job spec unreadable: publishing logs only")
        fetch_failed = True
    log_cap = limits.log_bytes if limits else _FALLBACK_LOG_BYTES
    published: _Published = []
    for source, name, kind in _LOGS:
        try:
            if _copy_log(paths.resolve(source), results / name, log_cap, log.event, staged=True):
                published.append((name, kind))
        except _UploadFailed as failure:
            log.event(f"{name}: results upload failed ({failure})")
            why = why or f": results upload failed ({failure})"
            upload_failed = True
    try:
        fetch_failed |= not _archive(paths, results / contract.OUTPUTS_ARCHIVE, limits, log)
        published.append((contract.OUTPUTS_ARCHIVE, "output"))
    except _UploadFailed as failure:
        log.event(f"{contract.OUTPUTS_ARCHIVE}: results upload failed ({failure})")
        why = why or f": results upload failed ({failure})"
        upload_failed = True
    names = [name for name, _ in published]
    try:
        commit_within_caps(results, names, environment, caps, _RESERVE)
    except StorageFull as full:
        log.event(f"{full}: none of {', '.join(names)} kept")
        return contract.EXIT_RESULTS_UPLOAD_FAILED, [], f": {full}", True
    except OSError as error:
        for name in names:
            temp_name(results / name).unlink(missing_ok=True)
        log.event(f"results upload failed: cannot commit the results ({_reason(error)})")
        why = f": results upload failed ({_reason(error)})"
        return contract.EXIT_RESULTS_UPLOAD_FAILED, [], why, False
    if output is not None and limits is not None and not upload_failed:
        refused = _send(results / contract.OUTPUTS_ARCHIVE, output, policy, limits, log)
        if refused:
            why, upload_failed = f": {refused}", True
    if upload_failed:
        return contract.EXIT_RESULTS_UPLOAD_FAILED, published, why, False
    return (contract.EXIT_RESULTS_FETCH_FAILED if fetch_failed else 0), published, "", False


def _to_result_store(
    env: Mapping[str, str], paths: PathMap, results: Path, published: _Published
) -> str:
    """Copy the results to the provider's result store when one is set; the failure, else ""."""
    try:
        store = ResultStore.from_env(env)
        if store is None:
            return ""
        job_id = read_spec(paths).job_id
        copy_to_store(results, [name for name, _ in published], job_id, store)
    except ResultStoreError as error:
        return str(error)
    except (OSError, ValidationError):
        return "the job spec is unreadable, so the results have no place in the result store"
    except UploadError as error:
        return str(error)
    return ""


def _send(
    archive: Path, output: OutputSpec, policy: SourcePolicy, limits: Limits, log: StepLog
) -> str:
    """Upload to the consumer's storage; the reason of a failure, else empty.

    The archive stays in result storage either way, so a failed upload loses nothing.
    """
    encrypted = ", AES-encrypted" if output.encryption else ""
    try:
        where = upload_archive(archive, output, policy=policy, timeout=limits.download_timeout)
    except UploadError as failure:
        log.event(f"{contract.OUTPUTS_ARCHIVE}: {failure}")
        return f"{failure}; the outputs stay downloadable with computeResult until they expire"
    except OSError as error:
        log.event(f"{contract.OUTPUTS_ARCHIVE}: cannot read it for the upload ({_reason(error)})")
        return f"results upload failed: the archive is unreadable ({_reason(error)})"
    log.event(f"{contract.OUTPUTS_ARCHIVE}: uploaded{encrypted} to {where}")
    return ""


def _archive(paths: PathMap, dest: Path, limits: Limits | None, log: StepLog) -> bool:
    """Always leave an archive (maybe empty); False when the outputs could not be read."""
    try:
        if limits is not None:
            with staged_writer(dest) as out:
                report = archive_outputs(
                    paths.resolve(contract.OUTPUTS), out, cap_bytes=limits.disk_bytes, log=log.event
                )
            capped = ", size cap reached" if report.capped else ""
            log.event(
                f"outputs: {report.files} file(s), {report.directories} folder(s), "
                f"{report.content_bytes} bytes, {report.skipped} skipped{capped}"
            )
            return True
    except OutputsUnreadable as why:
        log.event(f"outputs folder unreadable ({why}): empty outputs archive")
    except OSError as error:
        raise _UploadFailed(_reason(error)) from None
    try:
        with staged_writer(dest) as out:
            tarfile.open(fileobj=out, mode="w").close()
    except OSError as error:
        raise _UploadFailed(_reason(error)) from None
    return False


def _copy_log(
    source: Path, dest: Path, cap: int, log: Callable[[str], None], *, staged: bool = False
) -> bool:
    """Copy at most ``cap`` bytes of a log the algorithm may have tampered with (``staged``:
    to ``dest``'s temporary name, committed later).

    Read problems (absent, a link, a fifo, unreadable) skip the log and return False; only
    failures to write ``dest`` raise ``_UploadFailed``.
    """
    try:
        parent = os.open(source.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            fd, _ = open_regular_at(source.name, parent)
        finally:
            os.close(parent)
    except FileNotFoundError:
        return False
    except NotRegular as why:
        log(f"{dest.name}: skipped, the log is a {why}")
        return False
    except OSError as error:
        log(f"{dest.name}: skipped, unreadable ({error.strerror})")
        return False
    writer = staged_writer if staged else atomic_writer
    with os.fdopen(fd, "rb") as reader:
        try:
            with writer(dest) as out:
                _copy_capped(reader, out, cap)
        except OSError as error:
            raise _UploadFailed(_reason(error)) from None
    return True


def _copy_capped(reader: BinaryIO, out: BinaryIO, cap: int) -> None:
    left = cap
    while left > 0:
        chunk = _read_or_empty(reader, min(_COPY_CHUNK, left))
        if not chunk:
            return
        out.write(chunk)
        left -= len(chunk)
    if _read_or_empty(reader, 1):
        out.write(f"\n[truncated: log longer than {cap} bytes]\n".encode())


def _read_or_empty(reader: BinaryIO, size: int) -> bytes:
    # A read error on the algorithm's log ends the copy early; it is not an upload failure.
    try:
        return reader.read(size)
    except OSError:
        return b""


def _write_manifest(results: Path, published: _Published) -> None:
    files = [
        ResultFile(filename=name, filesize=(results / name).stat().st_size, type=kind, index=i)
        for i, (name, kind) in enumerate(published)
    ]
    write_manifest(results, files)


def _to_stderr(message: str) -> None:
    print(f"publish: {message}", file=sys.stderr)


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


if __name__ == "__main__":
    sys.exit(run_step("publish", main))
