"""What a check is: validated metadata plus one set-based SQL query over the current inventory views."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Category = Literal["access", "credentials", "apps", "logging"]
Severity = Literal["info", "low", "medium", "high", "critical"]
Status = Literal["pass", "fail", "not_evaluated"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "not_evaluated")
PLATFORMS = ("github", "gitlab", "entra")

# What each check's query may need besides its own tables; a missing one makes the check not_evaluated
# for that platform (one row naming what to collect), never an empty pass.
Requirement = Literal["inventory", "identities", "events", "entra_inventory"]


class CheckMeta(BaseModel):
    """Check metadata, validated when the registry loads (a bad entry stops the tool, not a run)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z]+\.[a-z0-9_]+$")
    title: str = Field(min_length=8, max_length=120)
    category: Category
    severity: Severity
    rationale: str = Field(min_length=20)
    remediation: str = Field(min_length=20)
    references: list[str] = Field(min_length=1)
    platforms: list[Literal["github", "gitlab", "entra"]] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> CheckMeta:
        if not self.id.startswith(self.category + "."):
            raise ValueError(f"check id {self.id!r} must start with its category {self.category!r}")
        for ref in self.references:
            if not ref.startswith("https://"):
                raise ValueError(f"{self.id}: reference {ref!r} is not an https URL")
        return self


@dataclass(frozen=True)
class GapRule:
    """A coverage gap that hides a check's input: `pattern` is a SQL LIKE pattern on lower(source || ' ' ||
    needs); `platform` None means the platform being evaluated; `resources` a LIKE pattern on the results it
    hides (e.g. 'fine_grained_pat:%': a refused fine-grained PAT listing says nothing about classic PATs)."""

    pattern: str
    platform: str | None = None
    resources: str = "%"


class Check:
    """One governance check. Subclasses set class attributes only; the runner does the rest.

    `sql` returns (platform, resource, status, detail, account, repo) for the platform `$platform`, reading
    the `chk_*` views (see `scope.py`) and thresholds as `$name` parameters from the `checks` config.
    `gap_turns` lists the statuses a hiding coverage gap turns into not_evaluated: normally `pass`
    (a pass can't be trusted when input is hidden), for absence-based checks (stale access) `fail`.
    """

    meta: ClassVar[CheckMeta]
    sql: ClassVar[str]
    requires: ClassVar[tuple[Requirement, ...]] = ("inventory",)
    hidden_by: ClassVar[tuple[GapRule, ...]] = ()
    gap_turns: ClassVar[frozenset[str]] = frozenset({"pass"})
