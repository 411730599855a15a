"""The sandbox's command line, read option by option: what the algorithm can and cannot see."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.workflows.support import raw_spec, workflow_dict
from workflows import contract
from workflows.contract import PATH_MAP_ENV
from workflows.engines.local.dispatcher import JobVolumes, StepPlan, plan_step
from workflows.engines.local.runtime import Runtime
from workflows.engines.local.sandbox import (
    SECCOMP_FD,
    STAGE_MODULE,
    SandboxLimits,
    algorithm_command,
    cpu_seconds,
    path_map,
    trusted_step_command,
)
from workflows.engines.local.stage import RLIMITS

TOOLS = {"bwrap": "/usr/bin/bwrap", "setpriv": "/usr/bin/setpriv"}
PYTHON = "/opt/c2d/venv/bin/python"
PROCS = [
    Path("/sys/fs/cgroup/c2d/job-x/cgroup.procs"),
    Path("/sys/fs/cgroup/cpu acct/job-x/cgroup.procs"),
]
RUNTIME = Runtime(binds=("/usr", "/opt/venv"), commands={"python": "/usr/bin/python3"})
LIMITS = SandboxLimits(cpu_seconds=65, file_size_bytes=2**30)
# bwrap options by number of arguments; anything else is an unexpected option.
_FLAGS = {"--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent"}
_FLAGS |= {"--new-session", "--clearenv"}
_ONE = {"--uid", "--gid", "--hostname", "--tmpfs", "--dev", "--proc", "--dir", "--chdir"}
_ONE |= {"--size", "--remount-ro", "--seccomp"}
_TWO = {"--ro-bind", "--bind", "--ro-bind-try", "--symlink", "--setenv"}
_BINDS = {"--bind", "--ro-bind", "--ro-bind-try", "--bind-try", "--dev-bind", "--dev-bind-try"}
# A minimal /etc (docs/architecture.md#the-sandbox): the only host files bound besides the
# runtime and the job.
_ETC = {"/etc/ld.so.cache", "/etc/localtime"}
_STAGED = re.compile(r"^/mnt/[0-9]+$")

Op = tuple[str, ...]


@pytest.fixture
def volumes(tmp_path: Path) -> JobVolumes:
    # A space in the path: it must reach the stage layer's mounts intact.
    return JobVolumes(
        data=tmp_path / "job volume", spec=tmp_path / "spec", results=tmp_path / "results"
    )


@pytest.fixture
def plan(volumes: JobVolumes) -> StepPlan:
    return plan_step(workflow_dict(raw_spec()), "algorithm", volumes)


@pytest.fixture
def argv(plan: StepPlan) -> list[str]:
    return algorithm_command(plan, RUNTIME, LIMITS, PROCS, TOOLS, PYTHON)


def _layers(argv: list[str]) -> dict[str, list[str]]:
    """Split the command into its layers: stage, bwrap."""
    starts = {"stage": 0, "bwrap": argv.index(TOOLS["bwrap"])}
    assert list(starts.values()) == sorted(starts.values()), "layers out of order"
    bounds = [*starts.values(), len(argv)]
    return {name: argv[bounds[i] : bounds[i + 1]] for i, name in enumerate(starts)}


def _bwrap_ops(bwrap: list[str]) -> tuple[list[Op], list[str]]:
    """bwrap's options as tuples, and the command after ``--``."""
    assert bwrap[0] == TOOLS["bwrap"]
    ops: list[Op] = []
    position = 1
    while bwrap[position] != "--":
        option = bwrap[position]
        width = 0 if option in _FLAGS else 1 if option in _ONE else 2 if option in _TWO else -1
        assert width >= 0, f"unexpected bwrap option {option}"
        ops.append((option, *bwrap[position + 1 : position + 1 + width]))
        position += 1 + width
    return ops, bwrap[position + 1 :]


def _stage_plan(argv: list[str]) -> dict[str, Any]:
    stage = _layers(argv)["stage"]
    assert stage[:3] == [PYTHON, "-m", STAGE_MODULE]
    assert len(stage) == 4, "the plan is one argument; the next layer follows it"
    plan: dict[str, Any] = json.loads(stage[3])
    return plan


def _staged_sources(argv: list[str]) -> dict[str, str]:
    """/mnt/N → the host folder the stage layer binds there."""
    plan = _stage_plan(argv)
    return {f"{plan['staging']}/{name}": source for source, name, _ in plan["binds"]}


def test_layers_are_stage_then_bwrap(argv: list[str]) -> None:
    layers = _layers(argv)
    assert layers["stage"][:3] == [PYTHON, "-m", STAGE_MODULE]
    # The stage layer drops root itself: no program runs between it and bwrap.
    assert len(layers["stage"]) == 4
    assert TOOLS["setpriv"] not in argv


def test_bwrap_isolates_everything(argv: list[str]) -> None:
    ops, _ = _bwrap_ops(_layers(argv)["bwrap"])
    flags = {op[0] for op in ops if len(op) == 1}
    assert {"--unshare-all", "--unshare-user", "--disable-userns"} <= flags
    assert {"--die-with-parent", "--new-session", "--clearenv"} <= flags
    assert ("--uid", "1000") in ops
    assert ("--gid", "1000") in ops
    assert ("--proc", "/proc") in ops
    assert ("--dev", "/dev") in ops


def test_root_is_a_tmpfs_with_only_runtime_and_job_binds(argv: list[str], plan: StepPlan) -> None:
    ops, _ = _bwrap_ops(_layers(argv)["bwrap"])
    filesystem = [op for op in ops if op[0] in _BINDS | {"--tmpfs", "--dev", "--proc", "--dir"}]
    assert filesystem[0] == ("--tmpfs", "/")
    binds = [op for op in ops if op[0] in _BINDS]
    assert binds
    for option, source, target in binds:
        assert source != "/" and target != "/"
        if source in RUNTIME.binds:
            assert (option, target) == ("--ro-bind", source)
        elif source in _ETC:
            assert (option, target) == ("--ro-bind-try", source)
        else:
            assert _STAGED.match(source), f"{option} {source} is neither runtime nor job"
    for bind in RUNTIME.binds:
        assert ("--ro-bind", bind, bind) in ops
    assert len(binds) == len(RUNTIME.binds) + len(_ETC) + len(
        [m for m in plan.mounts if m.source is not None]
    )


def test_job_folders_are_staged_and_bound_read_only_or_not(
    argv: list[str], plan: StepPlan, volumes: JobVolumes
) -> None:
    ops, _ = _bwrap_ops(_layers(argv)["bwrap"])
    staged = _staged_sources(argv)
    bound = {op[2]: (op[0], staged[op[1]]) for op in ops if op[0] in _BINDS and op[1] in staged}
    data = volumes.data / "data"
    assert bound == {
        contract.INPUTS: ("--ro-bind", str(data / "inputs")),
        contract.DDOS: ("--ro-bind", str(data / "ddos")),
        contract.TRANSFORMATIONS: ("--ro-bind", str(data / "transformations")),
        contract.OUTPUTS: ("--bind", str(data / "outputs")),
        contract.LOGS: ("--bind", str(data / "logs")),
    }
    assert sorted(staged.values()) == sorted(str(m.source) for m in plan.mounts if m.source)


def test_root_is_remounted_read_only_after_every_mount(argv: list[str]) -> None:
    # As the pod's readOnlyRootFilesystem: only the writable mounts stay writable.
    ops, _ = _bwrap_ops(_layers(argv)["bwrap"])
    position = ops.index(("--remount-ro", "/"))
    mounting = _BINDS | {"--tmpfs", "--dir", "--symlink", "--dev", "--proc"}
    assert all(op[0] not in mounting for op in ops[position:])


def test_tmp_is_a_size_limited_tmpfs(argv: list[str]) -> None:
    ops, _ = _bwrap_ops(_layers(argv)["bwrap"])
    position = ops.index(("--tmpfs", "/tmp"))
    assert ops[position - 1] == ("--size", str(256 * 2**20))


def test_env_is_cleared_then_set_and_the_algorithm_runs(argv: list[str], plan: StepPlan) -> None:
    ops, command = _bwrap_ops(_layers(argv)["bwrap"])
    assert command == list(plan.argv)
    assert ("--chdir", contract.OUTPUTS) in ops
    clear = ops.index(("--clearenv",))
    setenvs = [i for i, op in enumerate(ops) if op[0] == "--setenv"]
    assert setenvs and min(setenvs) > clear
    env = {ops[i][1]: ops[i][2] for i in setenvs}
    assert env == {**plan.env, "PATH": f"/opt/c2d/bin:{RUNTIME.path}"}
    assert ("--symlink", "/usr/bin/python3", "/opt/c2d/bin/python") in ops


def test_rlimits_are_set_by_the_stage_layer(plan: StepPlan) -> None:
    argv = algorithm_command(plan, RUNTIME, LIMITS, PROCS, TOOLS, PYTHON)
    assert _stage_plan(argv)["rlimits"] == {"cpu": 65, "fsize": 2**30, "nofile": 1024, "core": 0}
    capped = SandboxLimits(cpu_seconds=10, file_size_bytes=1, address_space_bytes=2**31)
    argv = algorithm_command(plan, RUNTIME, capped, PROCS, TOOLS, PYTHON)
    assert _stage_plan(argv)["rlimits"]["as"] == 2**31
    assert set(_stage_plan(argv)["rlimits"]) <= set(RLIMITS)


def test_the_stage_layer_drops_to_uid_and_gid_1000(argv: list[str]) -> None:
    assert _stage_plan(argv)["user"] == [1000, 1000]


def test_the_stage_layer_joins_the_cgroups_and_stages_under_mnt(argv: list[str]) -> None:
    plan = _stage_plan(argv)
    assert plan["cgroup_procs"] == [str(procs) for procs in PROCS]
    assert plan["staging"] == "/mnt"
    read_only = {name: flag for _, name, flag in plan["binds"]}
    assert sorted(read_only) == [str(i) for i in range(len(read_only))]


def test_without_cgroups_the_stage_layer_joins_none(plan: StepPlan) -> None:
    argv = algorithm_command(plan, RUNTIME, LIMITS, [], TOOLS, PYTHON)
    assert _stage_plan(argv)["cgroup_procs"] == []


def test_the_seccomp_filter_is_on_the_descriptor_bwrap_reads(plan: StepPlan) -> None:
    argv = algorithm_command(plan, RUNTIME, LIMITS, PROCS, TOOLS, PYTHON)
    bwrap = _layers(argv)["bwrap"]
    assert bwrap[bwrap.index("--seccomp") + 1] == str(SECCOMP_FD)
    assert _stage_plan(argv)["seccomp_fd"] == SECCOMP_FD
    without = algorithm_command(plan, RUNTIME, LIMITS, PROCS, TOOLS, PYTHON, seccomp=False)
    assert "--seccomp" not in without
    assert _stage_plan(without)["seccomp_fd"] is None


def test_cpu_seconds_cover_the_duration_on_all_cpus() -> None:
    assert cpu_seconds(60, 1.0) == 65
    assert cpu_seconds(60, 2.5) == 155
    assert cpu_seconds(60, 0.25) == 65  # never less than one CPU's worth


# --- trusted steps -----------------------------------------------------------------------------


def test_trusted_step_runs_with_the_given_python(
    volumes: JobVolumes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C2D_SOME_SECRET", "do-not-pass")
    plan = plan_step(workflow_dict(raw_spec()), "configure", volumes)
    argv, env = trusted_step_command(plan, "/opt/c2d/venv/bin/python")
    assert argv == [
        "setpriv",
        "--pdeathsig",
        "KILL",
        "--",
        "/opt/c2d/venv/bin/python",
        "-m",
        "steps.configure",
    ]
    assert set(env) == {"PATH", "LANG", PATH_MAP_ENV}
    assert json.loads(env[PATH_MAP_ENV]) == {
        contract.DATA: str(volumes.data / "data"),
        contract.ADMIN_LOGS: str(volumes.data / "admin"),
        contract.SPEC_DIR: str(volumes.spec),
    }
    assert json.loads(env[PATH_MAP_ENV]) == path_map(plan)


def test_trusted_step_maps_python3_and_keeps_other_programs(volumes: JobVolumes) -> None:
    plan = plan_step(workflow_dict(raw_spec()), "publish", volumes)
    python3 = StepPlan(plan.task, plan.kind, ("python3", "-m", "x"), {}, plan.mounts)
    assert trusted_step_command(python3, "/py")[0][4:] == ["/py", "-m", "x"]
    other = StepPlan(plan.task, plan.kind, ("/bin/true",), {"A": "1"}, plan.mounts)
    argv, env = trusted_step_command(other, "/py")
    assert argv[4:] == ["/bin/true"]
    assert env["A"] == "1"
    mapped = json.loads(env[PATH_MAP_ENV])
    assert mapped[contract.RESULTS] == str(volumes.results / raw_spec().job_id)
