"""The sandbox seen from a hostile algorithm run through the REST API."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from urllib.parse import urlparse

from devkit.client import C2DClient
from devkit.launch import ServerProcess
from tests.e2e.conftest import raw_algorithm, result_of_type, wait_for
from workflows.status import JobStatus

PROBE = """
import json, os, socket
report = {}
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=2).close()
    report["provider_port"] = "connected"
except OSError as error:
    report["provider_port"] = "refused: " + type(error).__name__
pids = [p for p in os.listdir("/proc") if p.isdigit()]
report["pids"] = len(pids)
seen = b""
for pid in pids:
    try:
        seen += open("/proc/%s/environ" % pid, "rb").read()
    except OSError:
        pass
report["provider_env_visible"] = b"C2D_" in seen or b"PYTHONPATH" in seen
for path in ["KEY_FILE", "DB_DIR", "/etc/shadow"]:
    try:
        with open(path, "rb") as handle:
            report[path] = "read %d bytes" % len(handle.read())
    except OSError as error:
        report[path] = "denied: " + type(error).__name__
report["environ"] = sorted(os.environ)
report["root"] = sorted(os.listdir("/"))
try:
    open("/data/inputs/evil", "w").write("x")
    report["write_inputs"] = "written"
except OSError as error:
    report["write_inputs"] = "denied: " + type(error).__name__
open(os.path.join(os.environ["OUTPUTS"], "report.json"), "w").write(json.dumps(report))
"""


def test_algorithm_reaches_neither_the_provider_nor_its_secrets(
    client: C2DClient, server: ServerProcess, home: Path
) -> None:
    port = urlparse(server.url).port
    code = (
        PROBE.replace("PORT", str(port))
        .replace("KEY_FILE", str(home / "provider.key"))
        .replace("DB_DIR", str(home / "state" / "provider.sqlite"))
    )
    job = client.free_compute({"environment": "free", "algorithm": raw_algorithm(code)})
    final = wait_for(client, job["jobId"])
    assert final["status"] == JobStatus.FINISHED, final
    archive = client.result(final["jobId"], result_of_type(final, "output")["index"])
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile("report.json")
        assert member is not None
        report = json.loads(member.read())
    assert report["provider_port"].startswith("refused"), report
    assert report[str(home / "provider.key")].startswith("denied"), report
    assert report[str(home / "state" / "provider.sqlite")].startswith("denied"), report
    # /proc is the sandbox's own: a handful of its processes, none of the provider's environment.
    assert report["pids"] <= 4, report
    assert report["provider_env_visible"] is False, report
    assert report["write_inputs"].startswith("denied"), report
    assert not any(name.startswith("C2D_") for name in report["environ"])
    assert "root" not in report["root"] and "work" not in report["root"]
    # The key file itself is private to the provider's user on the host.
    assert (home / "provider.key").stat().st_mode & 0o777 == 0o600
