"""The local engine on a cgroup-v2-only kernel: user-mode-linux VMs (tests/vm/uml.py) run a
real ``c2d serve`` as a plain root process at the hierarchy's root and in a delegated subtree
as systemd gives one, and the project's own limit and attack checks against it through its
REST API (tests/vm/guest.py lists them). Here the host reads what each VM left behind."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from tests.vm.guest import SCENARIOS
from tests.vm.uml import GuestRun, boot_all, kernel

if kernel() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the cgroup v2 VM tests: make test installs user-mode-linux")
    pytest.skip(
        "no user-mode-linux kernel (apt-get install user-mode-linux, as make test does)",
        allow_module_level=True,
    )

# Checks each scenario must have passed (not skipped, not missing).
MUST_PASS = {
    "root": [
        "test_memory_bomb_is_oom_killed_while_the_provider_keeps_answering",
        "test_fork_bomb_is_capped_and_the_next_job_still_runs",
        "test_the_provider_reports_the_v2_backend_and_its_place",
        "test_a_job_runs_in_its_own_group_with_its_limits_and_cpu_max_holds_it",
        "test_a_stopped_job_leaves_no_process_and_no_group",
        "test_key_state_config_and_other_processes_are_unreadable",
        "test_no_privilege_can_be_gained",
        "test_only_plain_files_from_outputs_come_back",
        "test_disk_filler_ends_with_42_and_the_provider_keeps_answering",
        "test_the_process_serving_http_is_not_root",
        "test_the_api_user_gets_only_what_a_job_request_could",
    ],
    "delegated": [
        "test_memory_bomb_is_oom_killed_while_the_provider_keeps_answering",
        "test_fork_bomb_is_capped_and_the_next_job_still_runs",
        "test_the_provider_reports_the_v2_backend_and_its_place",
        "test_a_job_runs_in_its_own_group_with_its_limits_and_cpu_max_holds_it",
        "test_a_stopped_job_leaves_no_process_and_no_group",
        "test_the_process_serving_http_is_not_root",
    ],
}


@pytest.fixture(scope="module")
def runs() -> dict[str, GuestRun]:
    return boot_all(sorted(SCENARIOS))


def _outcomes(junit: Path) -> dict[str, str]:
    """Test name → passed / failed / skipped, from the guest's JUnit report."""
    # Written by the guest's pytest, on this machine, moments ago: not foreign XML.
    tree = ElementTree.parse(junit)
    outcomes = {}
    for case in tree.iter("testcase"):
        kinds = {child.tag for child in case}
        outcome = "passed"
        for kind in ("failure", "error", "skipped"):
            if kind in kinds:
                outcome = kind
        outcomes[case.attrib["name"]] = outcome
    return outcomes


@pytest.mark.parametrize("scenario", sorted(MUST_PASS))
def test_the_checks_pass_on_cgroup_v2(runs: dict[str, GuestRun], scenario: str) -> None:
    run = runs[scenario]
    assert run.junit.exists(), run.console[-3000:]
    outcomes = _outcomes(run.junit)
    failed = {name: outcome for name, outcome in outcomes.items() if outcome != "passed"}
    assert failed == {}, run.pytest_log[-6000:]
    assert run.facts["pytest_exit"] == 0, run.pytest_log[-6000:]
    missing = [name for name in MUST_PASS[scenario] if outcomes.get(name) != "passed"]
    assert missing == [], sorted(outcomes)


@pytest.mark.parametrize("scenario", sorted(MUST_PASS))
def test_no_job_group_is_left_behind(runs: dict[str, GuestRun], scenario: str) -> None:
    facts = runs[scenario].facts
    assert facts, runs[scenario].console[-3000:]
    assert facts["groups_left"] == []


def test_the_delegated_provider_moved_into_its_leaf(runs: dict[str, GuestRun]) -> None:
    facts = runs["delegated"].facts
    assert facts["own_group_before"] == "0::/system.slice/c2d.service"
    # The provider moved the unit's processes (the checks' runner too) into the leaf.
    assert facts["own_group_after"] == "0::/system.slice/c2d.service/c2d-provider"
    assert runs["root"].facts["own_group_after"] == "0::/"


@pytest.mark.parametrize("scenario", sorted(MUST_PASS))
def test_the_vm_had_loop_devices_and_overlayfs(runs: dict[str, GuestRun], scenario: str) -> None:
    """Without them the sandbox falls back (per-file rlimit, visible host paths): said here."""
    facts = runs[scenario].facts
    for feature in ("loop", "overlay"):
        if str(facts[feature]).startswith("missing"):
            pytest.skip(f"{feature} not available in the VM: {facts[feature]}")
    assert facts["loop"] in ("module", "built in")


def test_a_unit_without_the_cpu_controller_is_refused(runs: dict[str, GuestRun]) -> None:
    refusal = runs["delegated"].facts["refusal"]
    assert refusal["exit"] == 2, refusal
    lines = refusal["stderr"].strip().splitlines()
    assert len(lines) == 1, refusal
    assert "no usable cgroups: cgroup v2 group /sys/fs/cgroup/weak.slice/weak.service" in lines[0]
    assert "lacks the cpu controller(s)" in lines[0] and "Delegate=yes" in lines[0], lines
    assert refusal["groups"] == []
