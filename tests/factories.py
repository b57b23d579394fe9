"""Small builders of valid records for tests: a test changes only what it is about."""
from __future__ import annotations

import datetime as dt
import io
import random

import pandas as pd
from openpyxl import load_workbook

from reviewer.intake.credit_code import make_credit_code
from reviewer.intake.model import Application, Declaration, Expert, HistoryRecord, Member, Platform, RoundData
from reviewer.policy import Policy, load_policy
from reviewer.scoring.scoresheets import COMMENT, SHEET, criterion_header

AS_OF = dt.date(2026, 11, 1)
_rng = random.Random(7)
CODES = [make_credit_code(_rng) for _ in range(200)]


def policy(**meta) -> Policy:
    p = load_policy()
    return p.model_copy(update={"meta": p.meta.model_copy(update={"as_of": AS_OF.isoformat(), **meta})})


def member(app_id: str = "A1", code: str = CODES[1], **kw) -> Member:
    base = dict(application_id=app_id, unit_name=f"成员{code[-4:]}", credit_code=code, role="核心成员",
                unit_type="企业", field_rank=5)
    return Member(**{**base, **kw})


def platform(app_id: str = "A1", holder: str = CODES[0], **kw) -> Platform:
    base = dict(application_id=app_id, holder_credit_code=holder, platform_name="自治区企业技术中心",
                level="自治区级", year=2020)
    return Platform(**{**base, **kw})


def application(app_id: str = "A1", lead_code: str = CODES[0], **kw) -> Application:
    members = kw.pop("members", None)
    if members is None:
        members = (member(app_id, CODES[1]), member(app_id, CODES[2], field_rank=8))
    platforms = kw.pop("platforms", None)
    if platforms is None:
        platforms = (platform(app_id, lead_code),)
    base = dict(application_id=app_id, name=f"中心{app_id}", field="汽车", recommending_city="柳州",
                lead_unit=f"牵头单位{app_id}", lead_credit_code=lead_code, lead_city="柳州",
                legal_representative="王建国", centre_head="李明",
                revenue_y1=2e8, revenue_y2=2e8, revenue_y3=2e8,
                rd_spend_y1=1e7, rd_spend_y2=1e7, rd_spend_y3=1e7,
                invention_patents_valid=5, violations_3y=0, tech_description="汽车轻量化 高强钢热成形")
    return Application(**{**base, **kw, "members": tuple(members), "platforms": tuple(platforms)})


def expert(expert_id: str = "X1", **kw) -> Expert:
    history = tuple(kw.pop("history", ()))
    base = dict(expert_id=expert_id, name=f"专家{expert_id}", category="技术", title_level="正高级",
                employer="广西大学", employer_credit_code=CODES[150], city="南宁", fields=("汽车",),
                specialties="汽车轻量化")
    return Expert(**{**base, **kw, "history": history})


def history(expert_id: str = "X1", **kw) -> HistoryRecord:
    base = dict(expert_id=expert_id, kind="任职", org_name="某单位", org_credit_code=CODES[0],
                start=dt.date(2005, 1, 1), end=None)
    return HistoryRecord(**{**base, **kw})


def declaration(**kw) -> Declaration:
    base = dict(application_id="A1", expert_id="X1", kind="不适宜", declared_by="申报单位")
    return Declaration(**{**base, **kw})


def round_data(apps=(), experts=(), declarations=()) -> RoundData:
    return RoundData(applications=tuple(apps), experts=tuple(experts), declarations=tuple(declarations))


def write_csv(path, rows, header):
    """A CSV file of `rows` under `header` (UTF-8 with BOM, as Excel writes it)."""
    pd.DataFrame(rows, columns=list(header)).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def totals_rows(apps=("GX2026-001", "GX2026-002"), base=80):
    """Totals-only score rows (application, expert, total): five experts per application."""
    return [(a, f"ZJ{e:04d}", base - 5 * i + e) for i, a in enumerate(apps) for e in range(1, 6)]


def stdout_table(out: str) -> pd.DataFrame:
    """The CSV a command printed (its stdout), without the log lines around it."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(("application_id", "panel")))
    end = next((i for i in range(start + 1, len(lines)) if "," not in lines[i]), len(lines))
    return pd.read_csv(io.StringIO("\n".join(lines[start:end])))


def fill_score_sheet(path, rng: random.Random, policy: Policy | None = None, skip=(), opinion: str | None = "评审意见：见评分。") -> int:
    """Fill a score sheet of the packs as an expert would: every criterion of every listed application
    gets a plausible score (0 to the criterion's maximum, in half points; the expert's view of the
    application's quality drawn per row), the total formula is left as it is. Applications in `skip`
    stay blank (not scored). Each filled row gets the 评审意见 `opinion` (None: left blank; the draws
    spread widely, so a row's total is often an outlier that needs one). Returns the number of rows filled."""
    policy = policy or load_policy()
    wb = load_workbook(path)
    if "_meta" in wb.sheetnames:     # the sheet's stage is scored with its own instrument (现场考察: the checklist)
        stage = str({r[0]: r[1] for r in wb["_meta"].iter_rows(values_only=True)}.get("stage") or "")
        policy = policy.for_stage(stage) if stage in policy.stages.order else policy
    ws = wb[SHEET]
    header = [c.value for c in ws[2]]
    cols = {c.id: header.index(criterion_header(c)) + 1 for c in policy.rubric.criteria}
    filled, r = 0, 3
    while ws.cell(r, 1).value and not str(ws.cell(r, 1).value).startswith("说明"):
        if str(ws.cell(r, 1).value) not in skip:
            quality = rng.uniform(0.45, 0.95)
            for c in policy.rubric.criteria:
                x = min(c.max, max(0.0, c.max * rng.gauss(quality, 0.1)))
                ws.cell(r, cols[c.id]).value = round(x * 2) / 2
            if opinion is not None:
                ws.cell(r, header.index(COMMENT) + 1).value = opinion
            filled += 1
        r += 1
    wb.save(path)
    return filled
