"""The Argo engine over the Kubernetes API, against a fake API server that records each call."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from steps.images.registry import Credentials
from steps.images.registry_auth import docker_config_json
from steps.manifest import write_manifest
from tests.argo.fake_cluster import PODS, SECRETS, WORKFLOWS, FakeServer, Recorded, wait_until
from tests.argo.objects import (
    algorithm_pod,
    algorithm_running,
    node,
    stopped_by_argo,
    succeeded_workflow,
    workflow,
)
from tests.argo.schemas import errors
from tests.workflows.support import (
    REPO,
    SEALED_REGISTRY_AUTH,
    did_spec,
    make_spec,
    private_image_spec,
)
from workflows.dag import StepImages
from workflows.engines.argo import ArgoEngine, workflow_for
from workflows.engines.base import EngineError, JobNotFound, JobState, ResultFile, Unsupported
from workflows.spec import JobSpec
from workflows.status import JobStatus

Start = Callable[..., ArgoEngine]
SPEC = did_spec()
NAME = SPEC.workflow_name


def _spec(job: int, owner: str = "0x" + "Ab" * 20) -> JobSpec:
    return make_spec().model_copy(update={"job_id": f"{job:032x}", "owner": owner})


def test_submit_creates_the_spec_secret_then_the_workflow_and_ties_them(
    server: FakeServer, start_engine: Start
) -> None:
    engine = start_engine()
    state = engine.submit(SPEC)
    assert state.status == JobStatus.STARTED
    posts = [r for r in server.cluster.requests if r.method in ("POST", "PATCH")]
    assert [(r.method, r.path) for r in posts] == [
        ("POST", SECRETS),
        ("POST", WORKFLOWS),
        ("PATCH", f"{SECRETS}/{NAME}-jobspec"),
    ]
    secret, created, adopt = (r.body for r in posts)
    assert json.loads(secret["stringData"]["jobspec.json"]) == json.loads(SPEC.steps_json())
    assert secret["metadata"]["labels"]["c2d/job-id"] == SPEC.job_id
    assert created == workflow_for(SPEC, StepImages(), {})
    assert adopt["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "name": NAME,
            "uid": f"uid-{NAME}",
        }
    ]
    assert posts[2].headers["Content-Type"] == "application/merge-patch+json"
    # The view holds no secret: no file URLs in what the provider knows from the cluster.
    assert state.spec.inputs[0].files == ()
    assert state.spec.input_dids == SPEC.input_dids


def test_a_job_with_registry_credentials_gets_an_image_pull_secret_its_workflow_owns(
    server: FakeServer, start_engine: Start
) -> None:
    spec = private_image_spec()
    opened: list[str] = []

    def pull_secret(job: JobSpec) -> str:
        opened.append(str(job.registry_auth))
        return docker_config_json("registry.example.com", Credentials("u", "p"))

    engine = start_engine(pull_secret=pull_secret)
    engine.submit(spec)
    assert opened == [SEALED_REGISTRY_AUTH]
    posts = [r for r in server.cluster.requests if r.method in ("POST", "PATCH")]
    name = spec.workflow_name
    assert [(r.method, r.path) for r in posts] == [
        ("POST", SECRETS),
        ("POST", SECRETS),
        ("POST", WORKFLOWS),
        ("PATCH", f"{SECRETS}/{name}-jobspec"),
        ("PATCH", f"{SECRETS}/{name}-registry"),
    ]
    jobspec, pull, created = (r.body for r in posts[:3])
    assert pull["type"] == "kubernetes.io/dockerconfigjson"
    assert pull["metadata"]["name"] == f"{name}-registry"
    assert json.loads(pull["stringData"][".dockerconfigjson"])["auths"]["registry.example.com"]
    assert errors(pull) == []
    # The sealed credentials reach neither the steps' spec file nor the Workflow.
    assert SEALED_REGISTRY_AUTH not in json.dumps(jobspec)
    assert SEALED_REGISTRY_AUTH not in json.dumps(created)
    (template,) = [t for t in created["spec"]["templates"] if "resource" in t]
    pod = yaml.safe_load(template["resource"]["manifest"])
    assert pod["spec"]["imagePullSecrets"] == [{"name": f"{name}-registry"}]
    assert errors(pod) == []
    assert engine.get(spec.job_id).spec.registry_auth is None


def test_registry_credentials_without_a_way_to_open_them_are_refused(
    server: FakeServer, start_engine: Start
) -> None:
    engine = start_engine()
    with pytest.raises(Unsupported, match="encryptedDockerRegistryAuth"):
        engine.submit(private_image_spec())
    assert not server.cluster.calls("POST")


def test_a_network_job_is_refused_before_anything_is_created(
    server: FakeServer, start_engine: Start
) -> None:
    engine = start_engine()
    with pytest.raises(Unsupported, match="network"):
        engine.check(make_spec(network=True))
    with pytest.raises(Unsupported, match="network"):
        engine.submit(make_spec(network=True))
    assert not server.cluster.calls("POST")


def test_the_cluster_runs_any_allowed_template_and_raw_jobs(start_engine: Start) -> None:
    engine = start_engine()
    # Installed by the operator, looked up by the cluster: no local definition needed.
    engine.check(SPEC.model_copy(update={"preprocess_template": "cluster-only"}))
    engine.check(SPEC)


def test_status_comes_from_the_watch_not_from_a_call_per_request(
    server: FakeServer, start_engine: Start
) -> None:
    engine = start_engine()
    engine.submit(SPEC)
    server.cluster.put("workflows", workflow(SPEC, "Running", [node(NAME, "configure", "Running")]))
    wait_until(lambda: engine.get(SPEC.job_id).status == JobStatus.CONFIGURING_VOLUMES)
    server.cluster.put("pods", algorithm_pod(SPEC, "Running"))
    server.cluster.put("workflows", algorithm_running(SPEC))
    wait_until(lambda: engine.get(SPEC.job_id).status == JobStatus.RUNNING_ALGORITHM)
    for _ in range(20):
        engine.get(SPEC.job_id)
        engine.list_for_owner(SPEC.owner)
    assert not [r for r in server.cluster.calls("GET") if r.path.startswith(f"{WORKFLOWS}/")]
    watches = [r for r in server.cluster.calls("GET") if r.query.get("watch") == ["true"]]
    assert {r.path for r in watches} == {WORKFLOWS, PODS}
    assert {r.query["labelSelector"][0] for r in watches} == {
        "c2d/job-id",
        "c2d/job-id,c2d/step=algorithm",
    }
    assert engine.active_jobs(SPEC.environment) == 1


def test_a_restarted_provider_rebuilds_every_job_from_the_cluster(
    server: FakeServer, start_engine: Start, tmp_path: Path
) -> None:
    done, running, other = _spec(1), _spec(2), _spec(3, owner="0x" + "11" * 20)
    server.cluster.put(
        "workflows",
        succeeded_workflow(done),
    )
    server.cluster.put(
        "workflows",
        workflow(running, "Running", [node(running.workflow_name, "configure", "Running")]),
    )
    server.cluster.put("workflows", workflow(other, "Pending"))
    server.cluster.put("workflows", {"metadata": {"name": "not-a-job", "labels": {"app": "x"}}})
    results = tmp_path / "results" / done.job_id
    results.mkdir(parents=True)
    (results / "algorithm.log").write_bytes(b"hello\n")
    write_manifest(results, [ResultFile("algorithm.log", 6, "algorithmLog", 0)])

    engine = start_engine()
    states = engine.list_for_owner(done.owner.upper().replace("0X", "0x"))
    assert [(s.spec.job_id, s.status) for s in states] == [
        (done.job_id, JobStatus.FINISHED),
        (running.job_id, JobStatus.CONFIGURING_VOLUMES),
    ]
    assert states[0].results == (ResultFile("algorithm.log", 6, "algorithmLog", 0),)
    assert engine.result(done.job_id, 0).path == results / "algorithm.log"
    with pytest.raises(JobNotFound):
        engine.result(done.job_id, 1)
    assert engine.get(other.job_id).status == JobStatus.STARTED
    with pytest.raises(JobNotFound):
        engine.get("f" * 32)
    assert engine.active_jobs(done.environment) == 2


def test_stop_asks_argo_to_stop_and_deletes_the_algorithm_pod(
    server: FakeServer, start_engine: Start
) -> None:
    engine = start_engine()
    engine.submit(SPEC)
    server.cluster.put("pods", algorithm_pod(SPEC, "Running"))
    wait_until(lambda: engine._cache.get("pods", SPEC.job_id) is not None)
    engine.stop(SPEC.job_id)
    patch = server.cluster.calls("PATCH")[-1]
    assert (patch.path, patch.body) == (f"{WORKFLOWS}/{NAME}", {"spec": {"shutdown": "Stop"}})
    assert patch.headers["Content-Type"] == "application/merge-patch+json"
    (delete,) = server.cluster.calls("DELETE")
    assert delete.path == f"{PODS}/{NAME}-algorithm"


def test_an_unpullable_image_stops_the_job_with_status_32(
    server: FakeServer, start_engine: Start
) -> None:
    engine = start_engine()
    engine.submit(SPEC)
    server.cluster.put("workflows", algorithm_running(SPEC))
    server.cluster.put("pods", algorithm_pod(SPEC, "Pending", waiting={"reason": "ErrImagePull"}))
    wait_until(
        lambda: any(r.body == {"spec": {"shutdown": "Stop"}} for r in server.cluster.calls("PATCH"))
    )
    assert not server.cluster.calls("DELETE")  # the Pod stays: it names the error
    server.cluster.put("workflows", stopped_by_argo(server.cluster.workflows[NAME], SPEC))
    wait_until(lambda: engine.get(SPEC.job_id).status == JobStatus.ALGORITHM_PROVISIONING_FAILED)
    assert "ErrImagePull" in engine.get(SPEC.job_id).reason


def test_finish_listeners_hear_each_job_once(server: FakeServer, start_engine: Start) -> None:
    engine = start_engine()
    heard: list[JobState] = []
    engine.on_finished(heard.append)
    engine.submit(SPEC)
    finished = succeeded_workflow(SPEC)
    server.cluster.put("workflows", finished)
    server.cluster.put("workflows", finished)
    wait_until(lambda: len(heard) == 1)
    assert heard[0].status == JobStatus.FINISHED


def test_logs_stream_from_the_algorithm_pod_then_from_result_storage(
    server: FakeServer, start_engine: Start, tmp_path: Path
) -> None:
    engine = start_engine()
    engine.submit(SPEC)
    server.cluster.pod_log = b"step 1\nstep 2\n"
    assert asyncio.run(_read(engine, SPEC.job_id)) == b"step 1\nstep 2\n"
    log_call = [r for r in server.cluster.calls("GET") if r.path.endswith("/log")][-1]
    assert log_call.path == f"{PODS}/{NAME}-algorithm/log"
    assert log_call.query == {"container": ["algorithm"], "follow": ["true"]}

    stored = tmp_path / "results" / SPEC.job_id
    stored.mkdir(parents=True)
    (stored / "algorithm.log").write_bytes(b"all of it\n")
    server.cluster.put("workflows", workflow(SPEC, "Succeeded", []))
    wait_until(lambda: engine.get(SPEC.job_id).date_finished is not None)
    calls = len(server.cluster.requests)
    assert asyncio.run(_read(engine, SPEC.job_id)) == b"all of it\n"
    assert not [r for r in server.cluster.requests[calls:] if r.path.endswith("/log")]


async def _read(engine: ArgoEngine, job_id: str) -> bytes:
    return b"".join([chunk async for chunk in engine.algorithm_log(job_id)])


# --- every call is a Kubernetes API call the provider's Role allows ------------------------------

_K8S_PATHS = [
    (
        re.compile(
            r"^/api/v1/namespaces/(?P<ns>[^/]+)/(?P<res>pods|secrets)(/(?P<name>[^/]+)(?P<sub>/log)?)?$"
        ),
        "",
    ),
    (
        re.compile(
            r"^/apis/argoproj\.io/v1alpha1/namespaces/(?P<ns>[^/]+)/(?P<res>workflows)(/(?P<name>[^/]+))?$"
        ),
        "argoproj.io",
    ),
]
_VERBS = {"POST": "create", "PATCH": "patch", "DELETE": "delete", "PUT": "update"}


def _rbac_verb(request: Recorded) -> tuple[str, str, str, str]:
    for pattern, group in _K8S_PATHS:
        match = pattern.match(request.path)
        if match:
            resource = match["res"] + ("/log" if match.groupdict().get("sub") else "")
            if request.method == "GET":
                verb = (
                    "get"
                    if match["name"]
                    else ("watch" if request.query.get("watch") == ["true"] else "list")
                )
            else:
                verb = _VERBS[request.method]
            return match["ns"], group, resource, verb
    raise AssertionError(f"not a Kubernetes API path: {request.method} {request.path}")


def test_every_call_is_allowed_by_the_provider_role(
    server: FakeServer, start_engine: Start
) -> None:
    engine = start_engine()
    engine.submit(SPEC)
    server.cluster.put("pods", algorithm_pod(SPEC, "Running"))
    asyncio.run(_read(engine, SPEC.job_id))
    engine.stop(SPEC.job_id)
    role = next(
        d
        for d in yaml.safe_load_all((REPO / "argo/base/rbac-provider.yaml").read_text())
        if d["kind"] == "Role"
    )
    allowed = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    used = {_rbac_verb(r) for r in server.cluster.requests}
    assert {namespace for namespace, *_ in used} == {"c2d-jobs"}
    calls = {(group, resource, verb) for _, group, resource, verb in used}
    assert calls <= allowed, calls - allowed
    assert {("argoproj.io", "workflows", "watch"), ("", "pods/log", "get")} <= calls


@pytest.mark.parametrize(
    ("refused", "left_calls"),
    [
        # Owner-reference enforcement (OpenShift) refuses the Secret's owner without delete.
        (("PATCH", "secrets"), [("DELETE", WORKFLOWS), ("DELETE", SECRETS)]),
        (("POST", "workflows"), [("DELETE", SECRETS)]),
    ],
)
def test_a_refused_job_leaves_nothing_behind(
    server: FakeServer,
    start_engine: Start,
    refused: tuple[str, str],
    left_calls: list[tuple[str, str]],
) -> None:
    engine = start_engine()
    server.cluster.refuse[refused] = 403

    with pytest.raises(EngineError, match=r"the cluster refused the job: .*HTTP 403"):
        engine.submit(SPEC)

    assert server.cluster.workflows == {} and server.cluster.secrets == {}
    deletes = [(r.method, r.path.rsplit("/", 1)[0]) for r in server.cluster.calls("DELETE")]
    assert deletes == left_calls


@pytest.mark.parametrize(
    "workflow_now",
    [
        # stop arrived before the launcher created the Pod: the launcher creates it anyway
        workflow(SPEC, "Running", [node(NAME, "algorithm", "Running")], shutdown="Stop"),
        # the launcher died: the DAG failed, publish ran, the Workflow is over
        workflow(SPEC, "Failed", [node(NAME, "algorithm", "Failed")], message="pod deleted"),
    ],
    ids=["created-after-stop", "launcher-died"],
)
def test_an_algorithm_pod_its_workflow_no_longer_follows_is_deleted(
    server: FakeServer, start_engine: Start, workflow_now: dict[str, Any]
) -> None:
    engine = start_engine()
    engine.submit(SPEC)
    server.cluster.put("workflows", {**server.cluster.workflows[NAME], **workflow_now})
    server.cluster.put("pods", algorithm_pod(SPEC, "Running"))
    wait_until(lambda: bool(server.cluster.calls("DELETE")))
    assert [r.path for r in server.cluster.calls("DELETE")] == [f"{PODS}/{NAME}-algorithm"]
    assert NAME + "-algorithm" not in server.cluster.pods


def test_a_running_job_keeps_its_algorithm_pod(server: FakeServer, start_engine: Start) -> None:
    engine = start_engine()
    engine.submit(SPEC)
    server.cluster.put("workflows", workflow(SPEC, "Running", [node(NAME, "algorithm", "Running")]))
    server.cluster.put("pods", algorithm_pod(SPEC, "Running"))
    # Both objects in the engine's cache: the watch has handed it the Pod.
    wait_until(
        lambda: (
            engine._cache.get("pods", SPEC.job_id) is not None
            and engine.get(SPEC.job_id).status == JobStatus.RUNNING_ALGORITHM
        )
    )
    assert not server.cluster.calls("DELETE")


def test_a_pod_the_launcher_creates_after_a_stop_is_deleted(
    server: FakeServer, start_engine: Start
) -> None:
    engine = start_engine()
    engine.submit(SPEC)
    engine.stop(SPEC.job_id)  # no Pod yet: its delete finds nothing
    server.cluster.put("pods", algorithm_pod(SPEC, "Running"))
    wait_until(lambda: len(server.cluster.calls("DELETE")) == 2)
    assert NAME + "-algorithm" not in server.cluster.pods
