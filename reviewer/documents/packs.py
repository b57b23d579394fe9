"""专家通知 Expert packs for a published stage: one folder per expert with only that expert's
assignments (application, field, lead unit, stage, date and place), their score sheet, the
confidentiality and conflict-of-interest pledge (保密与回避承诺书) and an .ics calendar of the
dated events; plus a zip of all packs and a staff summary workbook.

Dates and places come from the round settings (`reviewer round settings`): a meeting per stage
(date, time, place, contact) and, for the site-inspection stage (policy [stages] site_stage, DEFAULT
现场考察), a first inspection day: site inspections are at the lead unit, and the applications of one city are grouped on one day (several days when a city has
more than `site_per_day` applications), cities one after another on working days.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from icalendar import Calendar
from icalendar import Event as VEvent

from reviewer.errors import UserError
from reviewer.exports import write_xlsx
from reviewer.intake.cells import CONTROL_CHARACTERS
from reviewer.intake.model import Application, RoundData
from reviewer.policy import Policy
from reviewer.scoring.scoresheets import write_score_sheet
from reviewer.documents.defence import SCHEDULE_HEADERS, schedule_table
from reviewer.documents.xlsx_stamp import ScoreSheetStamps, StampMiss, TableStamps
from reviewer.panels.site.outputs import expert_visits
from reviewer.store import audit, keys, replacement, repo, round_settings, site_visits, stages

TZ = ZoneInfo("Asia/Shanghai")
ROLE_ZH = {"chair": "组长", "member": "成员"}

PLEDGE = """评审专家保密与回避承诺书

本人{name}（专家编号 {expert_id}）受邀参加{round_name}{stage}工作，郑重承诺：

一、严格遵守国家和自治区有关专家评审工作的纪律和保密规定，对申报材料、评审过程、评审意见和评审结果严格保密，不向任何单位和个人泄露，不复制、留存或对外提供评审材料，不对外透露本人的评审任务。
二、独立、客观、公正地开展评审，不受任何单位和个人的干预，不接受申报单位及相关人员的宴请、礼品、礼金、有价证券或其他利益，不私下接触申报单位。
三、本人与所评申报存在下列情形之一的，主动申请回避：近三年在牵头单位或成员单位任职、兼职；近三年担任其董事、监事、高级管理人员或为其控股股东；与其法定代表人或中心负责人有亲属、师生关系，或近三年有合作项目、合著论文；本人所在单位在同一领域申报；其他可能影响公正评审的情形。
四、评审期间发现存在上述情形的，立即向组织单位报告并停止对该申报的评审。
五、如违反上述承诺，本人愿意承担相应责任，接受取消评审专家资格等处理。

承诺人（签字）：______________        日期：______年____月____日
"""


OVERRIDE_HEADERS = {"stage": "阶段 stage", "application_id": "申报编号 application", "expert_id": "专家编号 expert",
                    "rule": "规则 rule", "label_zh": "规则名称 rule name", "reason": "理由 reason",
                    "user": "记录人 by", "at": "时间 at", "violations": "违反情况 findings", "text": "例外 override"}

@dataclass
class Event:
    stage: str
    title: str
    date: dt.date | None
    time: str            # "09:00" or ""
    place: str
    application_id: str = ""
    note: str = ""
    end: str = ""        # "12:00" or "" (four hours after the start)


@dataclass
class PackResult:
    out: Path
    zip_path: Path
    summary_path: Path
    packs: dict[str, list[Path]] = field(default_factory=dict)   # expert_id -> files


NAME_BYTES = 120   # of one part of a file name: a file name holds at most 255 bytes (UTF-8: 3-4 per 汉字)


def _safe(name: str) -> str:
    """`name` as a part of a file or folder name: no path separators, characters Windows refuses,
    white space or control characters; at most NAME_BYTES bytes; never '.' or '..'."""
    s = re.sub(r'[\\/:*?"<>|\s]+', "_", CONTROL_CHARACTERS.sub("", name)).strip("_.")
    s = s.encode("utf-8")[:NAME_BYTES].decode("utf-8", errors="ignore")
    return s or "x"


def _date(v) -> dt.date | None:
    if not v:
        return None
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        raise UserError(f"round settings: {v!r} is not a date like 2026-12-01") from None


def site_schedule(apps: list[Application], start: dt.date | None, per_day: int, city_order: list[str]) -> dict[str, dt.date | None]:
    """Day of the site inspection of each application: one city per day (or several days for a
    city with more than `per_day` applications), cities in the policy's order, working days only."""
    if start is None:
        return {a.application_id: None for a in apps}
    by_city: dict[str, list[Application]] = {}
    for a in sorted(apps, key=lambda a: a.application_id):
        by_city.setdefault(a.lead_city, []).append(a)
    order = sorted(by_city, key=lambda c: (city_order.index(c) if c in city_order else len(city_order), c))
    day, out = start, {}

    def working(d: dt.date) -> dt.date:
        while d.weekday() >= 5:
            d += dt.timedelta(days=1)
        return d

    day = working(day)
    for city in order:
        group = by_city[city]
        for k in range(0, len(group), max(1, per_day)):
            for a in group[k:k + per_day]:
                out[a.application_id] = day
            day = working(day + dt.timedelta(days=1))
    return out


def visit_events(stage: str, expert_id: str, visits: pd.DataFrame, apps: dict[str, Application]) -> list[Event]:
    """One expert's site visits from the stored site plan (reviewer.panels.site.outputs.expert_visits):
    each visit its own event with its day, time, team's host address and contact."""
    mine = visits[visits["expert_id"] == expert_id]
    return [Event(stage, f"{stage}：{apps[x.application_id].name}（{x.application_id}，第{x.team}考察组）",
                  dt.date.fromisoformat(x.date), x.time, f"{x.city} {x.address}", x.application_id,
                  " ".join(str(v) for v in (x.contact, x.phone) if v), x.end_time)
            for x in mine.itertuples(index=False)]


def expert_events(stage: str, seats: pd.DataFrame, apps: dict[str, Application], settings: dict,
                  schedule: dict[str, dt.date | None], site: bool) -> list[Event]:
    """One expert's dated events of `stage`: a visit per application at a `site` stage, else the meeting.
    (A site stage with a published site plan takes its events from the plan: `visit_events`.)"""
    meeting = (settings.get("meetings") or {}).get(stage, {})
    if site:
        events = []
        for x in seats.itertuples(index=False):
            a = apps[x.application_id]
            events.append(Event(stage, f"{stage}：{a.name}（{a.application_id}）", schedule.get(a.application_id),
                                meeting.get("time", ""), f"{a.lead_city} {a.lead_unit}（牵头单位）", a.application_id,
                                meeting.get("contact", "")))
        return events
    return [Event(stage, f"{stage}评审会", _date(meeting.get("date")), meeting.get("time", ""),
                  meeting.get("place", ""), "", meeting.get("contact", ""))]


def write_ics(path: Path, events: list[Event], expert_id: str, round_code: str) -> Path | None:
    dated = [e for e in events if e.date is not None]
    if not dated:
        return None
    cal = Calendar()
    cal.add("prodid", "-//Guangxi MIC pilot review//mic-reviewer//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"评审日程 {round_code}")
    stamp = dt.datetime.now(dt.timezone.utc)
    for e in dated:
        ev = VEvent()
        ev.add("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"mic-reviewer/{round_code}/{e.stage}/{expert_id}/"
                                     f"{e.application_id}")) + "@mic-reviewer")
        ev.add("dtstamp", stamp)
        ev.add("summary", e.title)
        if e.time:
            h, m = (int(x) for x in e.time.split(":")[:2])
            start = dt.datetime.combine(e.date, dt.time(h, m), tzinfo=TZ)
            ev.add("dtstart", start)
            if e.end:
                eh, em = (int(x) for x in e.end.split(":")[:2])
                ev.add("dtend", dt.datetime.combine(e.date, dt.time(eh, em), tzinfo=TZ))
            else:
                ev.add("dtend", start + dt.timedelta(hours=4))
        else:
            ev.add("dtstart", e.date)
            ev.add("dtend", e.date + dt.timedelta(days=1))
        if e.place:
            ev.add("location", e.place)
        ev.add("description", "；".join(x for x in (e.note and f"联系人 {e.note}", "请携带专家通知与评分表") if x))
        cal.add_component(ev)
    if hasattr(cal, "add_missing_timezones"):
        cal.add_missing_timezones()
    path.write_bytes(cal.to_ical())
    return path


def _event_cells(e: Event) -> dict:
    return {"日期 date": e.date.isoformat() if e.date else "待定 to be announced", "时间 time": e.time or "",
            "地点 place": e.place or "待定 to be announced"}


def build_packs(data: RoundData, policy: Policy, seats: pd.DataFrame, stage: str, out: str | Path, *,
                round_code: str, round_name: str, settings: dict, overrides: pd.DataFrame | None = None,
                sheet_key: bytes | None = None, anchor: dict | None = None,
                visits: pd.DataFrame | None = None) -> PackResult:
    """Write every expert's pack for `stage` from its active published `seats` (columns
    application_id, expert_id, role). Nothing of another expert goes into a pack. `overrides`: the
    overrides in force (reviewer.store.replacement.overrides), shown to staff only (例外).
    `anchor`: the head of the audit log (reviewer.store.audit.anchor_facts), a sheet of the staff
    summary filed with the round (审计锚). `visits`: the site stage's published site plan, each expert's
    visits (reviewer.panels.site.outputs.expert_visits with contact and phone): days, times and places come
    from it; without it a site stage is laid out one city a day (`site_schedule`, the plan-less fallback)."""
    out = Path(out)
    policy.stage(stage)                       # the clear error for an unknown stage
    site = stage == policy.stages.site
    seats = seats[seats["stage"] == stage] if "stage" in seats.columns else seats
    if seats.empty:
        raise UserError(f"no published seats for stage {stage}")
    apps = {a.application_id: a for a in data.applications}
    experts = {e.expert_id: e for e in data.experts}
    missing = sorted(set(seats["application_id"]) - set(apps)) + sorted(set(seats["expert_id"]) - set(experts))
    if missing:
        raise UserError(f"published seats name ids not in the round's data: {', '.join(missing[:5])}")
    per_day = int(settings.get("site_per_day", 3) or 3)
    planned = site and visits is not None and not visits.empty
    if planned:
        schedule = {a: dt.date.fromisoformat(d) for a, d in zip(visits["application_id"], visits["date"])}
    else:
        schedule = (site_schedule([apps[a] for a in seats["application_id"].unique()], _date(settings.get("site_start")),
                                  per_day, list(policy.cities.names)) if site else {})
    pack_root = out / f"专家通知_{_safe(round_code)}_{_safe(stage)}"
    result = PackResult(out, out / f"专家通知_{_safe(round_code)}_{_safe(stage)}.zip",
                        out / f"工作人员汇总_{_safe(round_code)}_{_safe(stage)}.xlsx")
    ctx = _PackContext(policy, stage, site, apps, settings, schedule, round_code, round_name, sheet_key,
                       defence_table(policy, stage, settings, apps),
                       places={a: f"{c} {ad}" for a, c, ad in zip(visits["application_id"], visits["city"],
                                                                   visits["address"])} if planned else {})
    summary_rows = []
    exceptions: dict[str, list[str]] = {}
    for o in (overrides if overrides is not None else pd.DataFrame(columns=["application_id"])).itertuples():
        exceptions.setdefault(o.application_id, []).append(f"{o.expert_id}: {o.text}")
    for expert_id, mine in seats.groupby("expert_id", sort=True):
        e = experts[expert_id]
        mine = mine.sort_values("application_id")
        folder = pack_root / _safe(f"{expert_id}_{e.name}")
        folder.mkdir(parents=True, exist_ok=True)
        events = (visit_events(stage, expert_id, visits, apps) if planned else
                  defence_events(ctx, mine) or expert_events(stage, mine, apps, settings, schedule, site))
        files = _write_expert_pack(ctx, e, mine, events, folder)
        result.packs[expert_id] = files
        summary_rows.append({"专家编号 expert": expert_id, "姓名 name": e.name, "类别 category": e.category,
                             "工作单位 employer": e.employer, "手机 phone": e.phone or "", "邮箱 email": e.email or "",
                             "任务数 tasks": len(mine), "组长 chair of": ",".join(mine.loc[mine["role"] == "chair", "application_id"]),
                             "申报 applications": ",".join(mine["application_id"]),
                             "日期 dates": ",".join(sorted({_event_cells(ev)["日期 date"] for ev in events})),
                             "材料 files": ", ".join(p.name for p in files)})
    sheets = {"专家 experts": pd.DataFrame(summary_rows),
              "日程 schedule": pd.DataFrame(_schedule_rows(ctx, seats, exceptions))}
    if overrides is not None and not overrides.empty:
        sheets["例外 overrides"] = overrides.rename(columns=OVERRIDE_HEADERS)[list(OVERRIDE_HEADERS.values())]
    if anchor is not None:
        sheets[ANCHOR_SHEET] = anchor_table(anchor)
    write_xlsx(sheets, result.summary_path)
    with zipfile.ZipFile(result.zip_path, "w", zipfile.ZIP_DEFLATED) as z:
        for files in result.packs.values():
            for p in files:
                # a workbook is a zip already: deflating it again only costs time (~1 s for 400 workbooks)
                z.write(p, p.relative_to(out).as_posix(),
                        compress_type=zipfile.ZIP_STORED if p.suffix == ".xlsx" else zipfile.ZIP_DEFLATED)
    return result


ANCHOR_SHEET = "审计锚 audit anchor"


def anchor_table(anchor: dict) -> pd.DataFrame:
    """The audit log's head when the packs were made, for the file copy of the round: a later
    truncation or rewrite of the log is caught with `reviewer audit verify --expect-head HASH`."""
    rows = [("审计日志末条 head entry", anchor.get("head_id", "")), ("哈希 hash", anchor.get("hash", "")),
            ("密钥编号 key id", anchor.get("key_id", "")), ("记录时间 at (UTC)", anchor.get("at", "")),
            ("核对 check", "请将本页随批次材料存档；核对时运行 reviewer audit verify --expect-head 上述哈希 / file this "
                         "page with the round; check with reviewer audit verify --expect-head HASH")]
    return pd.DataFrame(rows, columns=["项目 item", "值 value"])


@dataclass
class _PackContext:
    """What every pack of one stage shares: the policy, the stage (and whether it is the site
    stage), the round's applications by id, the round settings, the site schedule and the round's
    code and name."""

    policy: Policy
    stage: str
    site: bool
    apps: dict[str, Application]
    settings: dict
    schedule: dict[str, dt.date | None]
    round_code: str
    round_name: str
    sheet_key: bytes | None = None   # the round's score-sheet key (sheets of a stored round are signed)
    defence: pd.DataFrame | None = None   # the 答辩 schedule when this is the defence stage and its order is drawn
    places: dict[str, str] = field(default_factory=dict)   # application -> site address from the site plan
    # the stage's workbooks are copies of a few templates (reviewer.documents.xlsx_stamp): ~10x faster
    tables: TableStamps = field(default_factory=TableStamps)
    score_sheets: ScoreSheetStamps | None = None

    @property
    def meeting(self) -> dict:
        """The stage's meeting settings (date, time, place, contact; empty when none)."""
        return (self.settings.get("meetings") or {}).get(self.stage, {})


def _write_expert_pack(ctx: _PackContext, e, mine: pd.DataFrame, events: list[Event], folder: Path) -> list[Path]:
    """Write one expert's pack into the existing `folder`: the notice workbook (notice, assignments,
    pledge), the score sheet, the pledge as text and the calendar when an event is dated. Returns the files."""
    expert_id, stage = e.expert_id, ctx.stage
    by_app = {ev.application_id: ev for ev in events}
    rows = []
    for x in mine.itertuples(index=False):
        a = ctx.apps[x.application_id]
        ev = by_app.get(x.application_id) or events[0]
        rows.append({"申报编号 application": a.application_id, "创新中心名称 name": a.name, "领域 field": a.field,
                     "牵头单位 lead unit": a.lead_unit, "牵头单位所在市 city": a.lead_city, "阶段 stage": stage,
                     "本人角色 role": ROLE_ZH.get(x.role, x.role), **_event_cells(ev)})
    tasks = pd.DataFrame(rows)
    notice = _notice_lines(ctx, e.name, len(mine), events[0] if not ctx.site else None)
    pledge = PLEDGE.format(name=e.name, expert_id=expert_id, round_name=ctx.round_name, stage=stage)
    sheets = {"通知 notice": pd.DataFrame({"专家通知": notice}), "评审任务 assignments": tasks}
    if ctx.defence is not None:   # the 答辩 order of this expert's applications, with their time slots
        notice.insert(3, "答辩顺序经随机抽取确定，您所评申报的答辩时间见“答辩顺序”表。")
        sheets["答辩顺序 defence order"] = ctx.defence[ctx.defence["application_id"].isin(set(mine["application_id"]))] \
            .rename(columns=SCHEDULE_HEADERS)
    sheets["保密与回避承诺书"] = pd.DataFrame({"保密与回避承诺书": pledge.splitlines()})
    files = [_stamped(folder / f"专家通知_{_safe(expert_id)}.xlsx", lambda: ctx.tables.bytes(sheets),
                      lambda p: write_xlsx(sheets, p))]
    rows = [(a, ctx.apps[a].name, ctx.apps[a].field) for a in mine["application_id"]]
    if ctx.score_sheets is None:
        ctx.score_sheets = ScoreSheetStamps(ctx.policy, stage, sheet_key=ctx.sheet_key, round_code=ctx.round_code)
    files.append(_stamped(
        folder / f"评分表_{_safe(expert_id)}_{_safe(stage)}.xlsx", lambda: ctx.score_sheets.bytes(expert_id, e.name, rows),
        lambda p: write_score_sheet(p, ctx.policy, expert_id, e.name, stage,
                                    pd.DataFrame(rows, columns=["application_id", "name", "field"]),
                                    sheet_key=ctx.sheet_key, round_code=ctx.round_code)))
    pledge_path = folder / f"保密与回避承诺书_{_safe(expert_id)}.txt"
    pledge_path.write_text(pledge, encoding="utf-8-sig")
    files.append(pledge_path)
    ics = write_ics(folder / f"日程_{_safe(expert_id)}.ics", events, expert_id, ctx.round_code)
    if ics:
        files.append(ics)
    return files


def _stamped(path: Path, fast, slow) -> Path:
    """The workbook `fast()` copies from a template (xlsx_stamp), or the writer's own `slow(path)` when the
    values cannot be stamped."""
    try:
        data = fast()
    except StampMiss:
        return slow(path)
    path.write_bytes(data)
    return path


def defence_table(policy: Policy, stage: str, settings: dict, apps: dict[str, Application]) -> pd.DataFrame | None:
    """The 答辩 schedule of the round (reviewer.documents.defence) when `stage` is the defence stage and its
    order is drawn; None otherwise."""
    if stage != policy.defence.stage:
        return None
    order, _seed = stages.defence_order(settings)
    if not order:
        return None
    return schedule_table(order, round_settings.meeting(settings, stage).time or "09:00", policy.defence, apps)


def defence_events(ctx: _PackContext, mine: pd.DataFrame) -> list[Event]:
    """One dated event per 答辩 slot of the expert's applications (empty when there is no defence schedule)."""
    if ctx.defence is None:
        return []
    m = round_settings.meeting(ctx.settings, ctx.stage)
    rows = ctx.defence[ctx.defence["application_id"].isin(set(mine["application_id"]))]
    return [Event(ctx.stage, f"{ctx.stage}答辩 第{x.order}位：{x.name}（{x.application_id}）", m.day, x.start,
                  m.place, x.application_id, m.contact) for x in rows.itertuples(index=False)]


def _notice_lines(ctx: _PackContext, name: str, n_tasks: int, when: Event | None) -> list[str]:
    """The lines of an expert's notice: greeting, the number of tasks, the meeting `when` (or the
    site-inspection note when None), the contact, the pledge and confidentiality reminders."""
    notice = [f"{name} 专家：", f"您好！诚邀您参加{ctx.round_name}的{ctx.stage}工作。",
              f"您的评审任务共 {n_tasks} 项，见“评审任务”表；评分请使用随附的评分表。"]
    if when is not None:
        notice.append(f"会议时间：{_event_cells(when)['日期 date']} {when.time}；地点：{_event_cells(when)['地点 place']}")
    else:
        notice.append("现场考察在牵头单位进行，各考察点的日期、时间与地点见“评审任务”表与随附日程（.ics）。"
                      if ctx.places else "现场考察在牵头单位进行，同一城市的考察安排在同一天，日期见“评审任务”表。")
    if ctx.meeting.get("contact"):
        notice.append(f"联系人：{ctx.meeting['contact']}")
    notice += ["请签署“保密与回避承诺书”，并于评审开始前交组织单位。如与所评申报存在回避情形，请立即告知组织单位。",
               "本通知仅发送给您本人，请勿转发。"]
    return notice


def _schedule_rows(ctx: _PackContext, seats: pd.DataFrame, exceptions: dict[str, list[str]]) -> list[dict]:
    """The staff schedule: per application of the stage its day, place, experts and the overrides in
    force on its panel (例外)."""
    rows = []
    for a_id in sorted(seats["application_id"].unique()):
        a = ctx.apps[a_id]
        day = ctx.schedule.get(a_id) if ctx.site else _date(ctx.meeting.get("date"))
        rows.append({"申报编号 application": a_id, "创新中心名称 name": a.name, "牵头单位所在市 city": a.lead_city,
                     "日期 date": day.isoformat() if day else "待定",
                     "地点 place": ctx.places.get(a_id, f"{a.lead_city} {a.lead_unit}") if ctx.site else
                     ctx.meeting.get("place", ""),
                     "专家 experts": ",".join(seats.loc[seats["application_id"] == a_id, "expert_id"]),
                     "例外 override": "; ".join(exceptions.get(a_id, []))})
    return rows


def make_packs(store, round_code: str, stage: str, out: str | Path) -> PackResult:
    """Packs of a published stage of a stored round."""
    with store.read() as s:
        r = repo.get_round(s, round_code)
        if repo.publication(s, r, stage) is None:
            raise UserError(f"round {round_code} stage {stage} is not published yet (reviewer publish ...); packs "
                            "are made from a published assignment only")
        seats = repo.published_seats(s, r, stage)
        exceptions = replacement.overrides(s, r, stage)
        data = repo.load_data(s, repo.latest_import(s, r).id)
        pol = repo.round_policy(r)
        settings, name = dict(r.settings or {}), r.name
        anchor = audit.anchor_facts(s)
        visits = published_visits(s, r) if stage == pol.stages.site else None
    return build_packs(data, pol, seats, stage, out, round_code=round_code, round_name=name, settings=settings,
                       overrides=exceptions, sheet_key=keys.round_sheet_key(round_code), anchor=anchor, visits=visits)


def published_visits(s, r) -> pd.DataFrame | None:
    """Each expert's visits of the round's published site plan (with the replacements recorded since),
    None when the site stage was not published from a site-plan run."""
    if site_visits.published_run_id(s, r) is None:
        return None
    sp = site_visits.stored_plan(s, r)
    v = expert_visits(sp)
    contact = {a: (d.contact, d.phone) for a, d in sp.details.items()}
    return v.assign(contact=[contact[a][0] for a in v["application_id"]], phone=[contact[a][1] for a in v["application_id"]])
