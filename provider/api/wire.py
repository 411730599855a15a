"""The base of every wire model: a field this provider does not know is a 400, never dropped.

Ocean Node ignores what it does not read; c2d names the field instead, so a client never
believes a setting took effect when it did not. Fields Ocean Node defines but c2d does not act on
are declared on the models and refused with a reason (``refuse_given``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from provider.api.validation import out_of_range, printable

__all__ = ["Wire", "refuse_given"]


class Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = set(cls.model_fields)
            known.update(f.alias for f in cls.model_fields.values() if f.alias)
            unknown = sorted(str(name) for name in data if name not in known)
            if unknown:
                shown = ", ".join(repr(printable(name)) for name in unknown[:5])
                raise out_of_range(
                    f"unknown field {shown}: this provider does not act on it; leave it out"
                    " (docs/api.md lists every field)"
                )
        return data


def refuse_given(value: Any, field: str, reason: str) -> None:
    """A declared field this provider does not act on: absent, null or empty is fine."""
    if value not in (None, "", {}, []):
        raise out_of_range(reason, field)
