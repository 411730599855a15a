"""The VM's init script: what it puts back over the guest's own /tmp."""

from __future__ import annotations

from pathlib import Path

from tests.vm.uml import _host_tmp_binds


def test_a_checkout_under_tmp_stays_reachable_in_the_guest() -> None:
    # The guest mounts a tmpfs on /tmp; a checkout cloned under /tmp (and its venv) vanished
    # behind it, and every VM test failed there ("mount point does not exist").
    lines = _host_tmp_binds(
        [Path("/tmp/ci/c2d"), Path("/tmp/ci/c2d/.venv/bin/python"), Path("/usr/bin/python3")]
    )
    assert lines == "mkdir -p /tmp/ci && mount --bind /run/host-tmp/ci /tmp/ci"


def test_nothing_is_bound_for_a_checkout_elsewhere() -> None:
    assert _host_tmp_binds([Path("/work/c2d"), Path("/usr/bin/python3")]) == ""
