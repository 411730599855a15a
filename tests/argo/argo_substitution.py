"""Where Argo's ``{{…}}`` substitution would act on a Workflow (no controller here).

Read from argo-workflows (v3.5 to v3.7): ``workflow/common/util.go`` ``SubstituteParams`` and the
operator's global substitution marshal a template, or the whole spec, to JSON and run
``util/template`` ``Replace`` over that text. It is valyala/fasttemplate with the tags ``{{`` and
``}}``: every ``{{`` opens a tag that the next ``}}`` closes (a ``{{`` with no ``}}`` after it is
an error, and so is an unresolved tag), and a tag starting with ``=`` is an expr-lang expression
evaluated in the controller (``util/template/expression_template.go``). No escape exists.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["UnclosedTag", "substitution_tags"]


class UnclosedTag(ValueError):
    """fasttemplate: "Cannot find end tag" — Argo fails the template."""


def substitution_tags(node: Any) -> list[str]:
    """Every tag Argo would substitute in ``node`` once marshalled to JSON."""
    text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
    found: list[str] = []
    at = 0
    while (start := text.find("{{", at)) >= 0:
        end = text.find("}}", start + 2)
        if end < 0:
            raise UnclosedTag(text[start : start + 40])
        found.append(text[start + 2 : end])
        at = end + 2
    return found
