"""Stage gates of the policy (issue 17 part 1): what each review stage scores with and who advances.

The seed's stages are sequential: only what passes 初审评估 is visited (现场考察), only what passes
现场考察 goes to 认定评审. Each stage has

* its instrument: a rubric of the policy's ``[instruments]`` (DEFAULT: ``[rubric]``, the 100-point
  recognition rubric). A criterion marked ``veto = true`` is a verification item (材料不实 → out): an
  application whose panel scores it 0 on more than ``veto_share`` of its returned sheets is out of the
  round whatever its total;
* its advancement rule: a pass line on the aggregated total (``pass_line``), at most
  ``top_k_per_field`` applications per field (0 = no limit), or both.

The last stage has no gate: its ranking decides (reviewer.scoring.ranking). Advancement is proposed
from the stage's aggregated scores (reviewer.scoring.gating) and recorded by staff in the store
(reviewer.store.stages); planning a later stage takes only the applications that advanced.
"""
from __future__ import annotations

import datetime as dt
import random

from pydantic import BaseModel, ConfigDict, Field

from reviewer.errors import UserError


class StageGate(BaseModel):
    """One stage's instrument and advancement rule ([stages.gates."STAGE"])."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    instrument: str = ""                        # a key of [instruments]; "" = [rubric]
    pass_line: float | None = Field(default=None, ge=0)   # aggregated total needed to advance
    top_k_per_field: int = Field(default=0, ge=0)         # best k per field advance (0 = no limit)
    veto_share: float = Field(default=0.5, ge=0, lt=1)    # vetoed when more than this share of sheets give 0

    @property
    def has_rule(self) -> bool:
        return self.pass_line is not None or self.top_k_per_field > 0

    def rule_text(self) -> str:
        """The advancement rule in words (Chinese / English)."""
        parts_zh, parts_en = [], []
        if self.pass_line is not None:
            parts_zh.append(f"得分 ≥ {self.pass_line:g}")
            parts_en.append(f"score >= {self.pass_line:g}")
        if self.top_k_per_field:
            parts_zh.append(f"每领域前 {self.top_k_per_field} 名")
            parts_en.append(f"best {self.top_k_per_field} per field")
        if not parts_zh:
            return "全部晋级（未设晋级规则） / all advance (no rule)"
        return "，且".join(parts_zh) + " / " + " and ".join(parts_en)


class Defence(BaseModel):
    """认定评审 as a meeting: the 答辩 (defence) schedule's rules ([defence]). Each applicant presents
    (汇报) and answers the panel's questions (质询) in an order drawn at random (seeded, recorded); a
    break after every `break_after` applicants, lunch at `lunch_start`."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    stage: str = "认定评审"
    presentation_minutes: int = Field(default=15, ge=1, le=120)    # 汇报时长
    questions_minutes: int = Field(default=10, ge=0, le=120)       # 专家质询
    changeover_minutes: int = Field(default=5, ge=0, le=60)        # between applicants
    break_after: int = Field(default=4, ge=0)                      # a break after every n applicants (0 = none)
    break_minutes: int = Field(default=15, ge=0, le=120)
    lunch_start: str = "12:00"                                     # "" = no lunch break
    lunch_minutes: int = Field(default=90, ge=0, le=240)
    attendees: int = Field(default=3, ge=1, le=20)                 # 参会人数 per applicant (DEFAULT)

    @property
    def slot_minutes(self) -> int:
        return self.presentation_minutes + self.questions_minutes


def draw_order(applications: list[str], seed: int) -> list[str]:
    """The defence order: the applications sorted by id, shuffled with `seed` (reproducible)."""
    if not applications:
        raise UserError("没有参加答辩的申报 / no application to schedule for the defence")
    order = sorted(set(applications))
    random.Random(f"defence:{int(seed)}").shuffle(order)
    return order


def _hm(t: str) -> dt.datetime:
    h, m = (int(x) for x in t.split(":")[:2])
    return dt.datetime(2000, 1, 1, h, m)


def time_slots(order: list[str], start: str, rules: Defence) -> list[dict]:
    """One slot per application in `order` from `start` (HH:MM): order, application_id, start, end, note."""
    if not start:
        raise UserError("答辩开始时间未设置 / the defence meeting has no start time: reviewer round settings ROUND "
                        f"--stage {rules.stage} --time 09:00")
    t = _hm(start)
    lunch = _hm(rules.lunch_start) if rules.lunch_start and rules.lunch_minutes else None
    slots = []
    for k, app in enumerate(order, start=1):
        note = ""
        if lunch is not None:
            lunch_end = lunch + dt.timedelta(minutes=rules.lunch_minutes)
            if t >= lunch_end:            # the meeting runs past lunch without meeting it (an afternoon start)
                lunch = None
            elif t + dt.timedelta(minutes=rules.slot_minutes) > lunch:   # this slot would run into lunch
                t, lunch, note = lunch_end, None, "午休后 after lunch"
        end = t + dt.timedelta(minutes=rules.slot_minutes)
        slots.append({"order": k, "application_id": app, "start": t.strftime("%H:%M"), "end": end.strftime("%H:%M"),
                      "note": note})
        t = end + dt.timedelta(minutes=rules.changeover_minutes)
        if rules.break_after and k % rules.break_after == 0 and k < len(order):
            t += dt.timedelta(minutes=rules.break_minutes)
            slots[-1]["note"] = (slots[-1]["note"] + "；" if slots[-1]["note"] else "") + \
                f"其后休息 {rules.break_minutes} 分钟 break"
    return slots
