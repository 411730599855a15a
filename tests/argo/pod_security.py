"""PodSecurity admission, level "restricted", as a function of a Pod (no cluster here).

The checks are read from Kubernetes' ``staging/src/k8s.io/pod-security-admission/policy``
(``check_*.go``); each applies to every container, init and ephemeral ones included
(``visitContainers``). Baseline checks that c2d's pods could trip are included; checks on
fields c2d never sets (AppArmor, SELinux, sysctls, procMount, Windows) are not.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

_ALLOWED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
_SECCOMP = {"RuntimeDefault", "Localhost"}


def _containers(pod_spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from pod_spec.get(key) or []


def restricted_violations(pod: Mapping[str, Any]) -> list[str]:
    """What PSA ``enforce: restricted`` would refuse in ``pod`` ([] when it admits it)."""
    spec = pod["spec"]
    pod_context = spec.get("securityContext") or {}
    found: list[str] = []
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(flag):
            found.append(f"host namespaces: {flag}")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= _ALLOWED_VOLUMES:
            found.append(f"restricted volume types: {volume['name']}")
    pod_non_root = pod_context.get("runAsNonRoot")
    if pod_non_root is False:
        found.append("runAsNonRoot: pod sets false")
    if pod_context.get("runAsUser") == 0:
        found.append("runAsUser: pod runs as 0")
    pod_seccomp = (pod_context.get("seccompProfile") or {}).get("type")
    if pod_seccomp is not None and pod_seccomp not in _SECCOMP:
        found.append(f"seccompProfile: pod sets {pod_seccomp}")
    for container in _containers(spec):
        name = container["name"]
        context = container.get("securityContext") or {}
        if context.get("privileged"):
            found.append(f"privileged: {name}")
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"allowPrivilegeEscalation != false: {name}")
        non_root = context.get("runAsNonRoot")
        if non_root is False or (non_root is None and pod_non_root is not True):
            found.append(f"runAsNonRoot != true: {name}")
        if context.get("runAsUser") == 0:
            found.append(f"runAsUser=0: {name}")
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            found.append(f"capabilities: {name} must drop ALL")
        if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
            found.append(f"capabilities: {name} adds a forbidden one")
        seccomp = (context.get("seccompProfile") or {}).get("type")
        if seccomp is not None and seccomp not in _SECCOMP:
            found.append(f"seccompProfile: {name} sets {seccomp}")
        if seccomp is None and pod_seccomp not in _SECCOMP:
            found.append(f"seccompProfile: pod or {name} must set it")
        if any(port.get("hostPort") for port in container.get("ports") or []):
            found.append(f"hostPorts: {name}")
    return found
