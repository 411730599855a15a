"""The command table offers devkit's commands where devkit is installed, and only there."""

from __future__ import annotations

import argparse
import sys

import pytest

from provider.commands import COMMANDS, add_commands

DEV = [entry for entry in COMMANDS if isinstance(entry, str) and entry.startswith("devkit.")]


def _offered() -> set[str]:
    parser = argparse.ArgumentParser(prog="c2d")
    add_commands(parser)
    (subparsers,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(subparsers.choices)


def test_the_development_commands_are_offered_with_devkit() -> None:
    assert DEV == ["devkit.commands.demo", "devkit.commands.chain", "devkit.commands.publish"]
    assert {"demo", "chain", "publish", "serve", "submit", "get", "list", "stop"} <= _offered()


def test_without_devkit_the_service_commands_remain(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes an import fail as if the package were not installed (the image).
    for name in ("devkit", *DEV):
        monkeypatch.setitem(sys.modules, name, None)
    offered = _offered()
    assert {"serve", "render", "jobs", "logs", "results"} <= offered
    assert not offered & {"demo", "chain", "publish"}
