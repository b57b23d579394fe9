"""认定评审 as a meeting: the 答辩 (defence) schedule (issue 17 part 2).

* The defence order is drawn at random from the stage's applications sorted by id, with a seed
  (:func:`draw_order`): the same seed gives the same order on any machine (Python's Mersenne Twister
  seeded with the text "defence:SEED"), so anyone can check a recorded draw (reviewer.store.stages
  records seed and order, audited).
* Time slots (:func:`time_slots`) follow the policy's [defence]: 汇报 + 质询 minutes per applicant, a
  change-over between applicants, a break after every `break_after`, lunch at `lunch_start`, from the
  meeting's start time in the round settings.
* Documents (:func:`write_defence_documents`): the schedule, a notice per applicant (时间、地点、汇报时长、
  参会人数) and the 签到表 (sign-in sheet: applicants' attendees and the experts).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from reviewer.exports import write_xlsx
from reviewer.intake.model import Application
from reviewer.stage_gates import Defence, time_slots

SCHEDULE_COLUMNS = ["order", "application_id", "name", "lead_unit", "start", "end", "presentation_minutes",
                    "questions_minutes", "note"]
SCHEDULE_HEADERS = {"order": "答辩顺序 order", "application_id": "申报编号 application", "name": "创新中心名称 name",
                    "lead_unit": "牵头单位 lead unit", "start": "开始 start", "end": "结束 end",
                    "presentation_minutes": "汇报时长（分钟）", "questions_minutes": "质询时长（分钟）", "note": "备注 note"}


def schedule_table(order: list[str], start: str, rules: Defence, apps: dict[str, Application]) -> pd.DataFrame:
    rows = []
    for s in time_slots(order, start, rules):
        a = apps.get(s["application_id"])
        rows.append({**s, "name": a.name if a else "", "lead_unit": a.lead_unit if a else "",
                     "presentation_minutes": rules.presentation_minutes, "questions_minutes": rules.questions_minutes})
    return pd.DataFrame(rows, columns=SCHEDULE_COLUMNS)


def notice_lines(x: dict, meeting, rules: Defence, round_name: str) -> list[str]:
    """One applicant's notice: 时间、地点、汇报时长、参会人数 and the contact."""
    people = meeting.attendees or rules.attendees
    return [f"{x['lead_unit']}：",
            f"贵单位牵头申报的“{x['name']}”（{x['application_id']}）已进入{round_name}{rules.stage}答辩环节，现将有关事项通知如下：",
            f"一、答辩时间：{meeting.date or '待定'} {x['start']}—{x['end']}（答辩顺序第 {x['order']} 位，请提前 30 分钟到场签到）",
            f"二、答辩地点：{meeting.place or '待定'}",
            f"三、汇报时长：{rules.presentation_minutes} 分钟，专家质询 {rules.questions_minutes} 分钟",
            f"四、参会人数：不超过 {people} 人（须含中心负责人）",
            f"五、联系人：{meeting.contact or '待定'}",
            "答辩顺序经随机抽取确定，不得调换。"]


def write_defence_documents(out: str | Path, table: pd.DataFrame, meeting, rules: Defence, *, round_code: str,
                            round_name: str, seed: int, experts: pd.DataFrame | None = None) -> list[Path]:
    """The schedule (xlsx), a notice per applicant (xlsx, one sheet of lines) and the 签到表 into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    head = pd.DataFrame({"项目 item": ["批次 round", "阶段 stage", "日期 date", "地点 place", "随机种子 seed"],
                         "值 value": [round_code, rules.stage, meeting.date or "待定", meeting.place or "待定", str(seed)]})
    paths = [write_xlsx({"答辩日程 schedule": table.rename(columns=SCHEDULE_HEADERS), "说明 about": head},
                        out / f"答辩日程_{round_code}.xlsx")]
    for x in table.to_dict("records"):
        lines = notice_lines(x, meeting, rules, round_name)
        paths.append(write_xlsx({"答辩通知 notice": pd.DataFrame({"答辩通知": lines})},
                                out / f"答辩通知_{x['order']:02d}_{x['application_id']}.xlsx"))
    people = meeting.attendees or rules.attendees
    sign = [{"答辩顺序 order": x["order"], "申报编号 application": x["application_id"], "单位 unit": x["lead_unit"],
             "序号 no": i, "姓名 name": "", "职务 title": "", "手机 phone": "", "签名 signature": ""}
            for x in table.to_dict("records") for i in range(1, people + 1)]
    sheets = {"申报单位签到表": pd.DataFrame(sign)}
    if experts is not None and not experts.empty:
        sheets["专家签到表"] = experts.assign(**{"签名 signature": ""})
    paths.append(write_xlsx(sheets, out / f"签到表_{round_code}_{rules.stage}.xlsx"))
    return paths
