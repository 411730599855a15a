"""The layering rule of docs/design.md, read from the code's own imports.

Every module of the service is parsed with ``ast``; imports inside functions count too (they
were the usual way round a cycle that a layer should not have had). devkit (development tooling)
may import provider; provider never imports devkit (the image has none), and names it (a module
path string) only in its command table.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("workflows", "steps", "provider", "devkit")
DOMAIN = tuple(f"provider.{name}" for name in ("jobs", "payments", "assets", "auth", "chain"))

# importer prefix → the prefixes it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "workflows": ("steps", "provider", "devkit"),
    "steps": ("provider", "devkit"),
    "provider": ("devkit",),
    **{domain: ("provider.api", "provider.commands", "provider.ui") for domain in DOMAIN},
    # The operator's page sits beside the API: the API renders its refusals through a page
    # renderer it is handed (provider/app.py), never by importing it.
    "provider.api": ("provider.ui",),
}


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> Iterator[tuple[int, str]]:
    """Every module ``path`` (the module ``module``) imports, by absolute name, anywhere in it."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            # ``from provider import api`` imports the module provider.api
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


# The one provider module that may name devkit: by module path, imported as the parser is built.
COMMAND_TABLE = "provider/commands/__init__.py"


def _names_devkit(path: Path) -> Iterator[int]:
    """Lines of ``path`` with a string naming a devkit module (an importlib path, say)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        value = node.value if isinstance(node, ast.Constant) else None
        if isinstance(value, str) and _within(value, "devkit"):
            yield node.lineno


def layering_violations(root: Path = ROOT) -> list[str]:
    """One line per import statement that reaches a forbidden layer."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            module = _module_name(path, root)
            rules = [bad for owner, bad in FORBIDDEN.items() if _within(module, owner)]
            for lineno, imported in _imports(path, module):
                if any(_within(imported, prefix) for bad in rules for prefix in bad):
                    where = f"{path.relative_to(root)}:{lineno}"
                    # ``from a.b import c`` yields a.b and a.b.c: name the module, not c
                    if where not in found or len(imported) < len(found[where]):
                        found[where] = imported
            if package == "provider" and path.relative_to(root).as_posix() != COMMAND_TABLE:
                for lineno in _names_devkit(path):
                    found[f"{path.relative_to(root)}:{lineno}"] = "devkit (by name)"
    return [f"{where}: imports {imported}" for where, imported in sorted(found.items())]


def test_the_layers_import_downward_only() -> None:
    assert layering_violations() == []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("workflows/engines/local/board.py", "def f():\n    from steps.manifest import x\n"),
        ("steps/publish.py", "import provider.settings\n"),
        ("provider/jobs/service.py", "from provider.api.schemas import StartComputeRequest\n"),
        ("provider/payments/base.py", "from ..api import schemas\n"),
        ("provider/chain/x.py", "from provider import commands\n"),
        ("provider/payments/setup.py", "from devkit.anvil import start_anvil\n"),
        ("provider/app.py", "def f():\n    import devkit.demo\n"),
        ("provider/app.py", "import importlib\nimportlib.import_module('devkit.launch')\n"),
        ("workflows/dag.py", "from devkit import client\n"),
        ("provider/commands/consumer/reads.py", "from devkit.client import ProviderError\n"),
        ("provider/api/errors.py", "from provider.ui.pages import error_page\n"),
    ],
)
def test_the_check_sees_each_kind_of_forbidden_import(
    tmp_path: Path, module: str, source: str
) -> None:
    path = tmp_path / module
    path.parent.mkdir(parents=True)
    path.write_text(source)
    assert len(layering_violations(tmp_path)) >= 1


def test_the_check_allows_imports_downward(tmp_path: Path) -> None:
    for module, source in {
        "provider/jobs/service.py": "from workflows.engines.base import Engine\nimport steps\n",
        "provider/api/routes.py": "from provider.jobs import service\n",
        "steps/publish.py": "from workflows import contract\n",
        "devkit/anvil.py": "from provider.chain.files import ChainFiles\n",
        "provider/commands/__init__.py": "COMMANDS = ('devkit.commands.demo',)\n",
    }.items():
        path = tmp_path / module
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    assert layering_violations(tmp_path) == []
