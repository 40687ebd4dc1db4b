"""The credit rules file (TOML): loading, validation with line numbers, and the point formulas."""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from datetime import datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_RULES_FILE = Path(__file__).with_name("default_rules.toml")
RULE_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
RecordedBy = Literal["checkin", "note", "event", "proposal", "quiz", "manual"]


class RulesError(Exception):
    """A rules file that cannot be used; the message names the file, the line and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleType(_Strict):
    """One credit type (a ledger ``rule_id``) and how its points are computed and capped."""

    label: str = Field(min_length=1, max_length=32)
    recorded_by: RecordedBy
    points: int = Field(ge=0, le=1000)
    per_minutes: int | None = Field(default=None, ge=1, le=600)
    min_minutes: int = Field(default=0, ge=0)
    max_minutes: int = Field(default=720, ge=1, le=1440)
    per_half_day: bool = False
    min_chars: int = Field(default=0, ge=0)
    daily_cap: int | None = Field(default=None, ge=0)
    weekly_count: int | None = Field(default=None, ge=0)
    annual_cap: int | None = Field(default=None, ge=0)
    stages: dict[str, int] = Field(default_factory=dict)
    # A material of the learning library read in Telegram (学完打卡, recorded by the checkin type): full
    # points only when the time between opening and finishing reaches this share of the estimate; below
    # it the points are multiplied by ``short_read_factor`` (rounded down; 0 gives none).
    min_read_fraction: float | None = Field(default=None, ge=0, le=1)
    short_read_factor: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _consistent(self) -> RuleType:
        if self.recorded_by == "checkin" and self.per_minutes is None:
            raise ValueError("a checkin type needs per_minutes (points per full N minutes)")
        if self.min_minutes > self.max_minutes:
            raise ValueError("min_minutes is larger than max_minutes")
        if self.recorded_by == "proposal":
            missing = {"accepted", "adopted"} - set(self.stages)
            if missing:
                raise ValueError(f"a proposal type needs stages.{' and stages.'.join(sorted(missing))}")
        for stage, value in self.stages.items():
            if value < 0:
                raise ValueError(f"stages.{stage} must not be negative")
        return self


class Reminders(_Strict):
    enabled: bool = True
    hour: int = Field(default=19, ge=0, le=23)
    quiet_start: time = time(22, 0)
    quiet_end: time = time(8, 0)
    min_interval_days: int = Field(default=7, ge=1)
    grace_days: int = Field(default=30, ge=0)

    @field_validator("quiet_start", "quiet_end", mode="before")
    @classmethod
    def _hhmm(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
            if not match:
                raise ValueError(f"{value!r} is not a time like 22:00")
            return time(int(match.group(1)), int(match.group(2)))
        return value

    def is_quiet(self, local: time) -> bool:
        """Is ``local`` (a local wall-clock time) inside the quiet hours?"""
        start, end = self.quiet_start, self.quiet_end
        if start == end:
            return False
        if start < end:
            return start <= local < end
        return local >= start or local < end


class CreditRules(_Strict):
    """The whole rules file."""

    version: str = Field(min_length=1, max_length=32)
    annual_target: int = Field(gt=0, le=100000)
    backfill_days: int = Field(default=7, ge=0, le=366)
    event_early_minutes: int = Field(default=30, ge=0, le=1440)
    event_late_minutes: int = Field(default=0, ge=0, le=1440)
    reminders: Reminders = Field(default_factory=Reminders)
    types: dict[str, RuleType]
    fingerprint: str = ""

    @field_validator("types")
    @classmethod
    def _type_ids(cls, value: dict[str, RuleType]) -> dict[str, RuleType]:
        if not value:
            raise ValueError("at least one [types.ID] table is needed")
        for rule_id in value:
            if not RULE_ID_RE.match(rule_id):
                raise ValueError(f"type id {rule_id!r} must be lower-case letters, digits and _")
        for kind in ("checkin", "note", "proposal", "quiz"):
            ids = [k for k, v in value.items() if v.recorded_by == kind]
            if len(ids) > 1:
                raise ValueError(f"only one type may be recorded_by = {kind!r} (found {', '.join(ids)})")
        return value

    # --- lookups ---------------------------------------------------------------------------------------

    @property
    def rules_version(self) -> str:
        """Stored on every ledger entry: the declared version plus a digest of the file's content."""
        return f"{self.version}+{self.fingerprint}" if self.fingerprint else self.version

    def type_ids(self) -> list[str]:
        return list(self.types)

    def label(self, rule_id: str) -> str:
        rule = self.types.get(rule_id)
        return rule.label if rule else rule_id

    def first_of(self, recorded_by: RecordedBy) -> tuple[str, RuleType] | None:
        for rule_id, rule in self.types.items():
            if rule.recorded_by == recorded_by:
                return rule_id, rule
        return None

    def event_types(self) -> dict[str, RuleType]:
        return {k: v for k, v in self.types.items() if v.recorded_by == "event"}

    # --- formulas ----------------------------------------------------------------------------------------

    def study_points(self, minutes: int) -> int:
        """Points of one study check-in before caps (1 per full 20 minutes by default)."""
        found = self.first_of("checkin")
        if found is None:
            return 0
        rule = found[1]
        if minutes < rule.min_minutes:
            return 0
        return (minutes // (rule.per_minutes or 1)) * rule.points

    def reading_points(self, *, estimated_minutes: int, read_seconds: int) -> tuple[int, bool]:
        """Points (before caps) of finishing a material estimated at ``estimated_minutes`` after
        ``read_seconds``, and whether the reading counted in full.

        A finished material is worth the study points of its estimate, at least one unit (``points``);
        below ``min_read_fraction`` of the estimate it is worth ``short_read_factor`` of that.
        """
        found = self.first_of("checkin")
        if found is None:
            return 0, False
        rule = found[1]
        full_points = max(self.study_points(max(estimated_minutes, rule.min_minutes)), rule.points)
        if rule.min_read_fraction is None or read_seconds >= rule.min_read_fraction * estimated_minutes * 60:
            return full_points, True
        return math.floor(full_points * rule.short_read_factor + 1e-9), False

    def event_points(self, rule_id: str, starts_at: datetime, ends_at: datetime) -> int:
        """Default points of an event: fixed, or per half day (up to 4 hours each) for training."""
        rule = self.types[rule_id]
        if not rule.per_half_day:
            return rule.points
        hours = max((ends_at - starts_at).total_seconds() / 3600, 0.0)
        return rule.points * max(1, math.ceil(hours / 4 - 1e-9))


def _loc_line(text: str, loc: tuple[str | int, ...]) -> int | None:
    """The 1-based line of the table or key an error location points at (best effort)."""
    lines = text.splitlines()
    best_line, best_depth = None, 0
    header_re = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
    for index, line in enumerate(lines):
        match = header_re.match(line)
        if not match:
            continue
        path = tuple(part.strip().strip('"') for part in match.group(1).split("."))
        if len(path) > best_depth and tuple(str(p) for p in loc[: len(path)]) == path:
            best_line, best_depth = index, len(path)
    if best_depth < len(loc):
        key = str(loc[best_depth])
        start = best_line + 1 if best_line is not None else 0
        key_re = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for index in range(start, len(lines)):
            if header_re.match(lines[index]):
                break
            if key_re.match(lines[index]):
                return index + 1
    return best_line + 1 if best_line is not None else None


def parse_rules(text: str, *, source: str = "<rules>") -> CreditRules:
    """Validate the text of a rules file; raise ``RulesError`` naming the line and the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"积分规则文件有误 / invalid credit rules file {source}: TOML syntax: {exc}") from None
    data.pop("fingerprint", None)
    try:
        rules = CreditRules.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if p != "[key]")
            line = _loc_line(text, loc)
            where = f"line {line}" if line is not None else "line ?"
            dotted = ".".join(str(p) for p in loc) or "(file)"
            problems.append(f"{where}: {dotted}: {err['msg']}")
        raise RulesError(
            f"积分规则文件有误 / invalid credit rules file {source}:\n  " + "\n  ".join(problems)
        ) from None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return rules.model_copy(update={"fingerprint": digest})


def load_rules(path: Path | None = None) -> CreditRules:
    """Load and validate a rules file (the shipped defaults when ``path`` is None)."""
    if path is None:
        return default_rules()
    target = path
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or exc
        raise RulesError(f"积分规则文件无法读取 / cannot read credit rules file {target}: {reason}") from None
    return parse_rules(text, source=str(target))


@lru_cache(maxsize=1)
def default_rules() -> CreditRules:
    return parse_rules(DEFAULT_RULES_FILE.read_text(encoding="utf-8"), source=str(DEFAULT_RULES_FILE))
