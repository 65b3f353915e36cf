"""Bodies of the operators' HTTP API (`/api/admin/...`, bearer token)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TriggerLegend(_Body):
    """POST /api/admin/legend: tell a legend; it begins at the next tick."""

    legend: Annotated[str, Field(min_length=1, max_length=64)]


class SetTick(_Body):
    """POST /api/admin/tick: seconds per tick from the next tick on."""

    seconds: Annotated[float, Field(ge=0.02, le=3600)]


class IssueToken(_Body):
    """POST /api/admin/tokens: a bot token for a creature (which a bot may then spawn)."""

    creature: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]


class Retire(_Body):
    """POST /api/admin/retire: take a creature out of the Wood for good at the next tick."""

    creature: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
