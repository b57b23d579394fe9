"""The process sections of the policy: the app's sign-in and links ([access]), staff accounts ([accounts]),
the experts' answers ([responses]), notifications ([notify]) and the site-visit routes ([site_visit]).

Kept apart from reviewer.policy (which assembles them into `Policy`) so that each module stays small;
every section's defaults apply to a stored round policy written before the section existed.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Access(_Strict):
    """[access]: sign-in, sessions and expert links of the staff app. Defaults apply to a stored round
    policy written before this section existed."""
    session_idle_minutes: int = Field(30, ge=1, le=24 * 60)
    session_max_hours: float = Field(12, gt=0, le=72)
    login_max_failures: int = Field(5, ge=1, le=100)
    client_max_failures: int = Field(20, ge=1, le=1000)
    login_failure_window_minutes: int = Field(15, ge=1, le=24 * 60)
    login_lockout_minutes: int = Field(15, ge=1, le=24 * 60)
    expert_link_days: float = Field(14, gt=0, le=366)
    expert_link_max_days: float = Field(90, gt=0, le=366)
    # The app's address as experts reach it (their personal links start with it); empty: $REVIEWER_APP_URL,
    # else the address the staff browser uses. Never a guessed localhost.
    app_url: str = Field("", max_length=300)

    @model_validator(mode="after")
    def _link_days(self) -> "Access":
        if self.app_url and not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", self.app_url):
            raise ValueError(f"[access] app_url {self.app_url!r}: expected http(s)://host[:port][/path]")
        if self.expert_link_days > self.expert_link_max_days:
            raise ValueError(f"[access] expert_link_days {self.expert_link_days:g} is above expert_link_max_days "
                             f"{self.expert_link_max_days:g}")
        return self


class Responses(_Strict):
    """[responses]: the experts' answers to an invitation (issue 16). Defaults apply to a stored round
    policy written before this section existed."""
    reply_hours_before_stage: float = Field(72, ge=0, le=24 * 60)
    replacement_reply_hours: float = Field(24, gt=0, le=24 * 30)
    refill: Literal["automatic", "approve"] = "automatic"
    redraw_check_limit: int = Field(40, ge=1, le=1000)


class Notify(_Strict):
    """[notify]: sending notifications from the outbox (issue 16 item 4). Defaults apply to a stored
    round policy written before this section existed."""
    # Attempts per message before it is marked failed; the wait before attempt n+1 is
    # backoff_seconds x 2^(n-1), at most backoff_max_seconds (exponential backoff).
    max_attempts: int = Field(5, ge=1, le=50)
    backoff_seconds: float = Field(60, gt=0)
    backoff_max_seconds: float = Field(3600, gt=0)
    # A message claimed by a sender that then died is sent again after this many seconds.
    claim_timeout_seconds: float = Field(300, gt=0)
    # Reminders before the deadline: one per expert per entry, when the deadline is this close.
    reminder_hours_before: list[float] = [72, 24]
    # 催交: the scores of a stage are due this many hours after it starts (the site stage: after the
    # last day of the round's site window); reminders per seat stop then (reviewer.store.chase).
    score_hours_after_stage: float = Field(24, ge=0, le=24 * 60)


class Accounts(_Strict):
    """Staff accounts of the app: how strong a password must be (issue 12). 8 characters is the floor
    of NIST SP 800-63B for a password chosen by its user; the bundled policy asks 10."""
    min_password_length: int = Field(ge=8, le=128, default=10)


VISIT_LENGTHS = ("半天", "全天")   # a site visit takes half a day (1 half) or a full day (2 halves)


class SiteVisit(_Strict):
    """[site_visit]: visiting teams and routes of the site-inspection stage (issue 15). Defaults apply to a
    stored round policy written before this section existed."""
    window_start: str = ""
    window_end: str = ""
    visit_length: str = "半天"
    max_sites_per_team_day: int = Field(ge=1, le=4, default=2)
    max_travel_hours_per_day: float = Field(gt=0, le=16, default=4.0)
    max_trip_days: int = Field(ge=1, le=10, default=3)
    max_consecutive_travel_days: int = Field(ge=1, le=31, default=5)
    max_teams: int = Field(ge=0, default=0)
    same_city_leg_hours: float = Field(ge=0, le=4, default=0.5)
    outside_entry_city: str = "南宁"
    outside_extra_hours: float = Field(ge=0, le=24, default=3.0)
    core_candidates_per_category: int = Field(ge=2, default=12)
    field_candidates_per_site: int = Field(ge=1, default=8)
    work_limit: float = Field(gt=0, le=10_000, default=20.0)
    weight_expert_day: int = Field(ge=0, default=100)
    weight_travel_hour: int = Field(ge=0, default=10)
    weight_affinity: int = Field(ge=0, default=30)
    weight_distinct_expert: int = Field(ge=0, default=20)
    weight_same_city: int = Field(ge=0, default=20)
    draw_jitter: float = Field(ge=0, le=1, default=0.05)
    host_materials: list[str] = []

    @field_validator("window_start", "window_end")
    @classmethod
    def _date(cls, v: str) -> str:
        if v:
            dt.date.fromisoformat(v)
        return v

    @field_validator("visit_length")
    @classmethod
    def _length(cls, v: str) -> str:
        if v not in VISIT_LENGTHS:
            raise ValueError(f"one of {'/'.join(VISIT_LENGTHS)}")
        return v
