"""Every command in README.md and docs/*.md runs as written (tests/docs/blocks.py says how)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.demo import assets
from devkit.demo.files import FileServer
from devkit.launch import ServerProcess, start_server
from tests.docs.blocks import Block, doc_blocks, run_shell, shell_env

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def _all_blocks() -> list[Block]:
    return [b for doc in DOCS for b in doc_blocks(doc, doc.relative_to(REPO).as_posix())]


BLOCKS = _all_blocks()


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    files = tmp_path_factory.mktemp("doc-files")
    assets.write_csv(files / "weather.csv", rows=20)
    file_server = FileServer(files)
    server = start_server(
        tmp_path_factory.mktemp("doc-home"), env={"C2D_SOURCE_NETWORKS": "127.0.0.0/8"}
    )
    try:
        yield server, file_server.url("weather.csv")
    finally:
        server.stop()
        file_server.close()


def _workdir(tmp_path: Path) -> Path:
    """A folder that looks like the repository (its entries linked) where the commands may
    write what they like without touching the checkout."""
    tmp_path.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in (".git", ".c2d"):
            (tmp_path / entry.name).symlink_to(entry)
    return tmp_path


def test_every_command_is_in_a_shell_block_and_every_skip_says_why() -> None:
    assert [(b.doc, b.line) for b in BLOCKS if b.mode == "untagged"] == []
    skipped = [b for b in BLOCKS if b.mode == "skip"]
    assert [(b.doc, b.line) for b in skipped if not b.reason] == []
    # The allow-list stays small: a cluster, Docker, make test itself, a server, placeholders
    # (two of the chain's blocks are run as written by tests/chain: payments.md's paid job and
    # its published-results lifecycle).
    assert len(skipped) <= 12, [(b.doc, b.line, b.reason) for b in skipped]


@pytest.mark.parametrize("doc", sorted({b.doc for b in BLOCKS if b.mode in ("run", "provider")}))
def test_the_commands_of_a_doc_run_as_written(
    doc: str, provider: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, dataset_url = provider
    cwd = _workdir(tmp_path / "work")
    env = shell_env(tmp_path / "c2d-home")
    # The blocks of one doc run in order in one folder, as a reader would type them.
    for block in (b for b in BLOCKS if b.doc == doc and b.mode in ("run", "provider")):
        block_env = dict(env)
        if block.mode == "provider":
            block_env |= {"C2D_PROVIDER_URL": server.url, "DATASET_URL": dataset_url}
        exports = cwd / ".doc-env"
        # What a block exported, the next one sees (one shell session per doc).
        prelude = f"[ -f {exports} ] && source {exports}\n"
        epilogue = f"\nexport -p | grep -v -E ' (PWD|OLDPWD|SHLVL)=' > {exports}\n"
        done = run_shell(prelude + block.code + epilogue, cwd, block_env)
        assert done.returncode == 0, (
            f"{block.doc}:{block.line} failed ({done.returncode}):\n{block.code}\n"
            f"--- stdout\n{done.stdout[-2000:]}\n--- stderr\n{done.stderr[-2000:]}"
        )
    shutil.rmtree(cwd, ignore_errors=True)
