"""The container contract: every path, env name and exit code shared by the DAG, engines and steps.

Paths inside the algorithm container follow Ocean's layout (docs/design.md#the-container-contract).
Paths under ``/c2d`` are the trusted steps' own (the job spec, admin logs, result storage) and are
never mounted into the algorithm container.
"""

from importlib.metadata import version
from typing import Final

__all__ = [
    "ADMIN_LOGS",
    "ALGORITHM_LOG",
    "ALGORITHM_PATH",
    "ALGORITHM_UID",
    "ALGO_CUSTOM_DATA",
    "CONFIGURE_LOG",
    "DATA",
    "DDOS",
    "EXIT_ALGORITHM_PROVISIONING_FAILED",
    "EXIT_DATA_PROVISIONING_FAILED",
    "EXIT_RESULTS_FETCH_FAILED",
    "EXIT_RESULTS_UPLOAD_FAILED",
    "FTPS_CA_FILE_ENV",
    "INPUTS",
    "LOGS",
    "OUTPUTS",
    "OUTPUTS_ARCHIVE",
    "PATH_MAP_ENV",
    "PUBLISH_LOG",
    "PULL_LOG",
    "RESULTS",
    "RESULTS_MANIFEST",
    "SOURCE_NETWORKS_ENV",
    "SPEC_DIR",
    "SPEC_FILE",
    "STEPS_IMAGE",
    "SUBPATH_ADMIN",
    "SUBPATH_DATA",
    "TRANSFORMATIONS",
    "VOLUME_DATA",
    "VOLUME_RESULTS",
    "VOLUME_SPEC",
    "data_sub_path",
]

# --- the job volume, shared with the algorithm container -------------------------------------
DATA: Final = "/data"
INPUTS: Final = f"{DATA}/inputs"
DDOS: Final = f"{DATA}/ddos"
TRANSFORMATIONS: Final = f"{DATA}/transformations"
ALGORITHM_PATH: Final = f"{TRANSFORMATIONS}/algorithm"
ALGO_CUSTOM_DATA: Final = f"{INPUTS}/algoCustomData.json"
OUTPUTS: Final = f"{DATA}/outputs"
LOGS: Final = f"{DATA}/logs"
ALGORITHM_LOG: Final = f"{LOGS}/algorithm.log"

# The image of the trusted steps (configure, publish): c2d's own, tagged with the installed
# package's version (pyproject.toml); the Dockerfile builds it, argo/ installs it.
STEPS_IMAGE: Final = f"c2d:{version('c2d')}"

# The fixed non-root identity the algorithm runs as, in a pod and in the local sandbox; it owns
# /data/outputs and /data/logs.
ALGORITHM_UID: Final = 1000

# --- trusted steps only ------------------------------------------------------------------------
SPEC_DIR: Final = "/c2d/spec"
SPEC_FILE: Final = f"{SPEC_DIR}/jobspec.json"
# What the local engine's image pull did (layers, bytes), for configure to copy into its log.
PULL_LOG: Final = f"{SPEC_DIR}/pull.log"
ADMIN_LOGS: Final = "/c2d/logs"
CONFIGURE_LOG: Final = f"{ADMIN_LOGS}/configure.log"
PUBLISH_LOG: Final = f"{ADMIN_LOGS}/publish.log"
RESULTS: Final = "/c2d/results"
# Written by publish into result storage: the job's results[] list as JSON.
RESULTS_MANIFEST: Final = "results.json"
OUTPUTS_ARCHIVE: Final = "outputs.tar"

# --- volume names in the Workflow (the local engine maps each to a host folder) ---------------
VOLUME_DATA: Final = "data"
VOLUME_SPEC: Final = "jobspec"
VOLUME_RESULTS: Final = "results"

# --- environment of the trusted steps ----------------------------------------------------------
# Contract path → host folder, as JSON; set by the local engine, which runs the steps as plain
# processes instead of in pods with mounts (steps/paths.py reads it).
PATH_MAP_ENV: Final = "C2D_PATH_MAP"
# The operator's CIDRs that a file URL may reach besides public addresses (steps/readers/guard.py).
SOURCE_NETWORKS_ENV: Final = "C2D_SOURCE_NETWORKS"
# A PEM file of certificate authorities ftps:// servers may also be signed by, besides the
# system's (steps/readers/ftpclient.py): the operator's explicit trust for private FTPS servers.
FTPS_CA_FILE_ENV: Final = "C2D_FTPS_CA_FILE"

# --- sub-paths of the job volume ("data"): each container mounts what it needs of it -----------
SUBPATH_DATA: Final = "data"  # mounted at /data (the algorithm mounts only its folders of it)
SUBPATH_ADMIN: Final = "admin"  # mounted at /c2d/logs, for the trusted steps alone


def data_sub_path(path: str) -> str:
    """Where a folder under /data lies in the job volume: ``/data/inputs`` → ``data/inputs``."""
    if not path.startswith(f"{DATA}/"):
        raise ValueError(f"{path} is not under {DATA}")
    return SUBPATH_DATA + path.removeprefix(DATA)


# --- exit codes of the trusted steps, mapped by engines to status codes -----------------------
EXIT_DATA_PROVISIONING_FAILED: Final = 31
EXIT_ALGORITHM_PROVISIONING_FAILED: Final = 32
EXIT_RESULTS_FETCH_FAILED: Final = 61
EXIT_RESULTS_UPLOAD_FAILED: Final = 62
