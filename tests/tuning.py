"""Settings for tests: the shipped defaults, and a copy with one section's keys changed."""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from pydantic import BaseModel

from cockpit.config import Settings, load_settings


@cache
def defaults() -> Settings:
    return load_settings()


def tune(path: str, /, base: Settings | None = None, **changes: Any) -> Settings:
    """Settings with the keys of one section changed, e.g. tune("outreach.policy", max_touches=1)."""

    def apply(model: BaseModel, parts: list[str]) -> BaseModel:
        if not parts:
            return model.model_copy(update=changes)
        head, *rest = parts
        return model.model_copy(update={head: apply(getattr(model, head), rest)})

    return cast(Settings, apply(base or defaults(), path.split(".")))
