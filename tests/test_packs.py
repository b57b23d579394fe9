"""专家通知 Expert packs: one per expert of a published stage, with only that expert's assignments.
Every file of every pack is opened (all sheets, hidden ones too; the unfolded .ics; the pledge)
and scanned for any other expert's id or name and any application not assigned to the expert."""
from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from icalendar import Calendar
from openpyxl import load_workbook

from reviewer.documents.packs import site_schedule
from reviewer.scoring.scoresheets import read_score_sheet
from reviewer.store import repo
from tests.test_store_support import DEMO, demo_loaded, demo_store, run_cli


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from reviewer.cli.publication import read_panels
    url = f"sqlite:///{tmp_path_factory.mktemp('packs') / 'reviewer.sqlite'}"
    st = demo_store(url)
    with st.write() as s:
        r = repo.get_round(s, "2026")
        panels = read_panels(DEMO / "demo_panels.csv")
        # 8 panels per stage keep the test quick; every file of every pack made is scanned
        panels = panels[panels.groupby("stage")["application_id"].rank(method="dense") <= 8]
        for stage in ("现场考察", "认定评审"):
            repo.publish(s, r, stage, panels, user="张三", source="demo_panels.csv")
        repo.update_round_settings(s, r, {"site_start": "2026-12-07", "site_per_day": 3, "meetings": {
            "认定评审": {"date": "2027-01-12", "time": "09:00", "place": "南宁市 自治区工业和信息化厅 3楼会议室",
                     "contact": "王老师 0771-5551234"}}}, user="张三")
    return url, st


def _texts(path: Path) -> str:
    if path.suffix == ".xlsx":
        wb = load_workbook(path, read_only=True)
        out = []
        for ws in wb.worksheets:          # hidden sheets too
            out.append(ws.title)
            for row in ws.iter_rows(values_only=True):
                out += [str(v) for v in row if v is not None]
        return "\n".join(out)
    raw = path.read_bytes().decode("utf-8-sig")
    return raw.replace("\r\n ", "").replace("\n ", "") if path.suffix == ".ics" else raw


@pytest.mark.parametrize("stage", ["现场考察", "认定评审"])
def test_every_pack_holds_only_its_experts_assignments(published, tmp_path, capsys, stage):
    url, st = published
    code, out = run_cli(["packs", "--round", "2026", "--stage", stage, "--out", str(tmp_path), "--db", url], capsys)
    assert code == 0, out
    data, _ = demo_loaded()
    with st.read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "2026"), stage)
    names = {e.expert_id: e.name for e in data.experts}
    all_apps = {a.application_id for a in data.applications}
    root = tmp_path / f"专家通知_2026_{stage}"
    folders = sorted(p for p in root.iterdir())
    assert len(folders) == seats["expert_id"].nunique()
    assigned_names = {names[e] for e in seats["expert_id"]}
    for folder in folders:
        me = folder.name.split("_")[0]
        mine = set(seats.loc[seats["expert_id"] == me, "application_id"])
        files = sorted(folder.iterdir())
        kinds = {f.suffix for f in files}
        assert kinds == {".xlsx", ".txt", ".ics"}, files
        text = "\n".join(_texts(f) for f in files)
        own_context = "".join(f"{a.name}{a.lead_unit}{a.legal_representative}{a.centre_head}"
                              for a in data.applications if a.application_id in mine) + names[me]
        for other, name in names.items():
            if other == me:
                continue
            assert other not in text, f"{folder.name} mentions expert {other}"
            if name in assigned_names and name not in own_context:
                assert name not in text, f"{folder.name} mentions expert {name} ({other})"
        for a in all_apps - mine:
            assert a not in text, f"{folder.name} mentions application {a} not assigned to {me}"
        assert all(a in text for a in mine)
        assert "保密与回避承诺书" in text and "承诺人（签字）" in text and names[me] in text
        sheet = next(f for f in files if f.name.startswith("评分表"))
        got = read_score_sheet(sheet, repo.round_policy(st_round(st)))
        meta = dict(load_workbook(sheet, read_only=True)["_meta"].iter_rows(values_only=True))
        assert meta["expert_id"] == me and meta["stage"] == stage
        cal = Calendar.from_ical(next(f for f in files if f.suffix == ".ics").read_bytes())
        events = [c for c in cal.walk("VEVENT")]
        assert events and all(ev.get("dtstart") is not None and ev.get("uid") for ev in events)
        if stage == "认定评审":
            start = events[0].decoded("dtstart")
            assert start.date() == dt.date(2027, 1, 12) and str(start.tzinfo) == "Asia/Shanghai"
            assert "自治区工业和信息化厅" in str(events[0].get("location"))
        else:
            assert len(events) == len(mine)
        assert got.scores.empty  # a blank sheet: nothing scored yet
    with zipfile.ZipFile(tmp_path / f"专家通知_2026_{stage}.zip") as z:
        listed = {Path(n).parts[1] for n in z.namelist()}
    assert listed == {f.name for f in folders}
    summary = pd.read_excel(tmp_path / f"工作人员汇总_2026_{stage}.xlsx", sheet_name=None)
    assert len(summary["专家 experts"]) == len(folders)
    assert set(summary["日程 schedule"]["申报编号 application"]) == set(seats["application_id"])


def st_round(st):
    with st.read() as s:
        return repo.get_round(s, "2026")


def test_site_inspections_group_one_city_per_day():
    data, _ = demo_loaded()
    apps = list(data.applications)
    days = site_schedule(apps, dt.date(2026, 12, 7), 10, ["南宁", "柳州", "桂林"])
    by_city: dict[str, set] = {}
    for a in apps:
        by_city.setdefault(a.lead_city, set()).add(days[a.application_id])
    assert all(len(d) == 1 for c, d in by_city.items() if sum(x.lead_city == c for x in apps) <= 10)
    assert len({next(iter(d)) for d in by_city.values()}) == len(by_city)   # one city per day
    assert all(d.weekday() < 5 for d in days.values())
    tight = site_schedule(apps, dt.date(2026, 12, 7), 1, [])
    assert len(set(tight.values())) == len(apps)


def test_packs_need_a_published_stage(published, tmp_path, capsys):
    url, _ = published
    code, out = run_cli(["packs", "--round", "2026", "--stage", "初审评估", "--out", str(tmp_path), "--db", url], capsys)
    assert code == 2 and "not published yet" in out


def test_the_staff_summary_carries_the_audit_anchor(published, tmp_path, capsys):
    """The head of the audit chain (entry id, hash, key id) is in the staff summary filed with the
    round, so a later truncation of the log can be checked against paper; no server path in it."""
    from sqlalchemy import select

    from reviewer.store.models import AuditEntry
    url, st = published
    code, out = run_cli(["packs", "--round", "2026", "--stage", "认定评审", "--out", str(tmp_path), "--db", url], capsys)
    assert code == 0, out
    with st.read() as s:
        head = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()
    sheets = pd.read_excel(tmp_path / "工作人员汇总_2026_认定评审.xlsx", sheet_name=None, dtype=str)
    anchor = sheets["审计锚 audit anchor"]
    values = dict(zip(anchor.iloc[:, 0], anchor.iloc[:, 1]))
    assert values["审计日志末条 head entry"] == str(head.id)
    assert values["哈希 hash"] == head.hash
    assert values["密钥编号 key id"] == (head.key_id or "")
    text = "\n".join(map(str, anchor.fillna("").values.ravel()))
    assert "--expect-head" in text and str(tmp_path) not in text and "/tmp" not in text
    code, out = run_cli(["audit", "verify", "--db", url, "--expect-head", head.hash], capsys)
    assert code == 0, out
