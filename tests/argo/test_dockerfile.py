"""The Dockerfile: multi-stage, non-root, no build tools at run time, the project's Python."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from provider.chain.abi import PROVIDER_CONTRACTS
from tests.workflows.support import REPO
from workflows import contract
from workflows.dag import StepImages

DOCKERFILE = (REPO / "Dockerfile").read_text()


def _stages() -> list[str]:
    return re.split(r"^FROM ", DOCKERFILE, flags=re.MULTILINE)[1:]


def test_two_stages_and_the_last_runs_as_uid_1000() -> None:
    build, run = _stages()
    assert " AS build" in build.splitlines()[0]
    assert "COPY --from=build /opt/c2d /opt/c2d" in run
    uid = contract.ALGORITHM_UID
    assert re.search(rf"^USER {uid}(:{uid})?$", run, flags=re.MULTILINE)
    for tool in ("gcc", "build-essential", "apt-get install", "pip install"):
        assert tool not in run


def test_python_matches_the_project() -> None:
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    minor = re.search(r">=3\.(\d+)", requires)
    assert minor is not None
    assert f"ARG PYTHON_IMAGE=python:3.{minor.group(1)}-" in DOCKERFILE


def test_one_image_serves_the_provider_and_the_steps() -> None:
    assert 'ENTRYPOINT ["c2d"]' in DOCKERFILE
    for package in ("provider", "workflows", "steps"):
        assert f"COPY {package} ./{package}" in DOCKERFILE
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert StepImages().steps == contract.STEPS_IMAGE == f"c2d:{version}"
    made = subprocess.run(
        ["make", "-s", "-n", "image"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert f"docker build -t c2d:{version} ." in made.stdout


def test_every_manifest_names_this_version_of_the_image() -> None:
    tag = contract.STEPS_IMAGE.split(":", 1)[1]
    named = {
        str(path.relative_to(REPO)): re.findall(r"(?:c2d:|newTag: )([\w.-]+)", path.read_text())
        for path in (REPO / "argo").rglob("*.yaml")
    }
    assert any(named.values())
    assert {where: tags for where, tags in named.items() if set(tags) - {tag}} == {}


def test_the_image_has_the_contract_abis_and_no_dev_tooling(tmp_path: Path) -> None:
    """A wheel built from exactly what the build stage copies holds the ABIs the provider
    calls (provider/chain/abi) and none of devkit: the image needs no js/node_modules."""
    source = tmp_path / "src"
    source.mkdir()
    build = _stages()[0]
    copied = re.findall(r"^COPY (?!--)(.+) \S+$", build, flags=re.MULTILINE)
    for entry in (name for line in copied for name in line.split()):
        origin = REPO / entry
        if origin.is_dir():
            shutil.copytree(origin, source / entry, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(origin, source / entry)
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip, "-w", str(tmp_path / "wheel"), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "wheel").glob("c2d-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    abis = {name.rsplit("/", 1)[1] for name in names if name.startswith("provider/chain/abi/")}
    assert {f"{name}.json" for name in PROVIDER_CONTRACTS} | {"SOURCE.md"} <= abis
    assert not [name for name in names if name.startswith("devkit/")]
