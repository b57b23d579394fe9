"""Issue 13 item 15 (speed13c): the expert packs' workbooks are copies of a few templates
(reviewer.documents.xlsx_stamp), and a copy is what the program's own writers write: every part of every
workbook is the same bytes as `write_xlsx` / `write_score_sheet` make (but the file's creation time), for
hostile texts too; what cannot be copied faithfully is written by the writer itself."""
from __future__ import annotations

import io
import re
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from reviewer.documents import packs as packs_mod
from reviewer.documents import xlsx_stamp
from reviewer.documents.xlsx_stamp import OPEN, ScoreSheetStamps, StampMiss, TableStamps
from reviewer.exports import XLSX_CELL_LIMIT, write_xlsx
from reviewer.policy import load_policy
from reviewer.scoring import scoresheets
from reviewer.scoring.scoresheets import write_score_sheet
from reviewer.store import repo
from tests.test_store_support import DEMO, demo_store

HOSTILE = ["张三 专家：", "  leading and trailing  ", "=1+2", "+86 771", "-1.5", "@SUM(A1)", "", None, "a&b<c>\"'",
           "😀 emoji", "tab\there", "line\r\nbreak\rcr", " ", "\x01control\x1f", "长" * 40, "x" * (XLSX_CELL_LIMIT + 10)]


def _parts(data: bytes) -> dict[str, bytes]:
    z = zipfile.ZipFile(io.BytesIO(data))
    return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}   # core.xml: the save time


def _written(sheets: dict[str, pd.DataFrame]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return write_xlsx(sheets, Path(tmp) / "w.xlsx").read_bytes()


def test_a_stamped_table_workbook_is_what_write_xlsx_writes():
    stamps = TableStamps()
    for k in range(3):       # the same shape three times: one template, three different copies
        texts = HOSTILE[k:] + HOSTILE[:k]
        sheets = {"通知 notice": pd.DataFrame({"专家通知": texts}),
                  "答辩顺序": pd.DataFrame({"顺序": [3 + k, 1, 20], "名称": ["甲", None, texts[0]],
                                        "分钟": [15, 15, 10 * k]})}
        assert _parts(stamps.bytes(sheets)) == _parts(_written(sheets))
    assert len(stamps.stamps) == 1
    empty = {"空": pd.DataFrame({"a": pd.Series([], dtype=object)})}
    assert _parts(stamps.bytes(empty)) == _parts(_written(empty))


def test_values_a_stamp_cannot_copy_are_refused():
    stamps = TableStamps()
    with pytest.raises(StampMiss):
        stamps.bytes({"s": pd.DataFrame({"a": [1.5, 2.0]})})              # floats: the writer's own formatting
    with pytest.raises(StampMiss):
        stamps.bytes({"s": pd.DataFrame({"a": ["x", 3]})})                # a number in a text column
    with pytest.raises(StampMiss):
        stamps.bytes({"s": pd.DataFrame({"a": [f"{OPEN}00001\ue001"]})})  # a marker in the input


@pytest.mark.parametrize("key", [None, b"k" * 32])
def test_a_stamped_score_sheet_is_what_write_score_sheet_writes(key):
    pol = load_policy()
    stamps = ScoreSheetStamps(pol, "认定评审", sheet_key=key, round_code="R2027")
    when = "2026-12-03T07:00:00+00:00"
    cases = [("ZJ0001", "王五&<>", [("A001", "中心一", "新材料"), ("A002", "=中心二", "新材料"), ("A009", " 空格 ", "")]),
             ("ZJ0002", "=cmd", [("A003", "\x02名称", "生物医药"), ("A004", "😀", "-1"), ("A005", "x", "y")]),
             ("ZJ0003", "李四", [("A001", "中心一", "新材料")])]
    for eid, name, apps in cases:
        with tempfile.TemporaryDirectory() as tmp:
            slow = write_score_sheet(Path(tmp) / "s.xlsx", pol, eid, name, "认定评审",
                                     pd.DataFrame(apps, columns=["application_id", "name", "field"]), sheet_key=key,
                                     round_code="R2027", issued_utc=when).read_bytes()
        assert _parts(stamps.bytes(eid, name, apps, when)) == _parts(slow)
    assert sorted(stamps.stamps) == [1, 3]
    with pytest.raises(StampMiss):
        stamps.bytes("ZJ0001", "王五", [("A002", "b", "c"), ("A001", "a", "c")])   # _meta lists them sorted


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from reviewer.cli.publication import read_panels
    st = demo_store(f"sqlite:///{tmp_path_factory.mktemp('stamps') / 'reviewer.sqlite'}")
    with st.write() as s:
        r = repo.get_round(s, "2026")
        panels = read_panels(DEMO / "demo_panels.csv")
        panels = panels[panels.groupby("stage")["application_id"].rank(method="dense") <= 8]
        repo.publish(s, r, "认定评审", panels, user="张三", source="demo_panels.csv")
        repo.update_round_settings(s, r, {"meetings": {"认定评审": {
            "date": "2027-01-12", "time": "09:00", "place": "南宁市 3楼会议室", "contact": "王老师 0771-5551234"}}},
            user="张三")
    return st


def _unpacked(zip_path: Path) -> dict[str, bytes]:
    z = zipfile.ZipFile(zip_path)
    out = {}
    for n in z.namelist():
        data = z.read(n)
        if n.endswith(".xlsx"):
            for part, b in _parts(data).items():
                out[f"{n}!{part}"] = b
        elif n.endswith(".ics"):      # DTSTAMP: when the calendar was written
            out[n] = re.sub(rb"DTSTAMP:[0-9TZ]+", b"DTSTAMP:-", data)
        else:
            out[n] = data
    return out


def test_the_packs_are_the_same_files_as_the_writers_make(published, tmp_path, monkeypatch):
    monkeypatch.setattr(scoresheets, "issued_now", lambda: "2027-01-01T00:00:00+00:00")
    monkeypatch.setattr(xlsx_stamp, "issued_now", lambda: "2027-01-01T00:00:00+00:00")
    fast = packs_mod.make_packs(published, "2026", "认定评审", tmp_path / "fast")
    monkeypatch.setattr(packs_mod, "_stamped", lambda path, fast_, slow: slow(path))   # the writers only
    slow = packs_mod.make_packs(published, "2026", "认定评审", tmp_path / "slow")
    a, b = _unpacked(fast.zip_path), _unpacked(slow.zip_path)
    assert len(fast.packs) >= 8 and a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_a_value_the_stamp_cannot_copy_is_written_by_the_writer(published, tmp_path, monkeypatch):
    used = []
    real = packs_mod._stamped

    def spy(path, fast, slow):
        def fast_or_miss():
            data = fast()
            if "评分表_" in path.name and not used:
                used.append(path.name)
                raise StampMiss("as for a value that cannot be copied")
            return data
        return real(path, fast_or_miss, slow)

    monkeypatch.setattr(packs_mod, "_stamped", spy)
    res = packs_mod.make_packs(published, "2026", "认定评审", tmp_path / "mixed")
    sheet = next(p for fs in res.packs.values() for p in fs if p.name == used[0])
    with published.read() as s:
        pol = repo.round_policy(repo.get_round(s, "2026"))
    got = scoresheets.read_score_sheet(sheet, pol)
    assert not got.has_errors and got.scores.empty        # the writer's sheet reads back as an unfilled sheet
    assert len(used) == 1 and sum(p.name.startswith("评分表_") for fs in res.packs.values() for p in fs) >= 8
