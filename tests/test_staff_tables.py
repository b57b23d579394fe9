"""Issue 11 (staff files): what staff read in a workbook is rounded to sensible decimals and says yes/no
in words (形式审查: 通过/不通过/待定), through the one writer (reviewer.exports.write_table); the CSV for
analysts keeps full precision and the raw values."""
from __future__ import annotations

import numpy as np
import pandas as pd
from openpyxl import load_workbook

from reviewer.exports import staff_view, write_table


def ranking():
    return pd.DataFrame({"rank_overall": [1, 2, 3], "application_id": ["GX-1", "GX-2", "GX-3"],
                         "score": [88.123456, 80.5, np.nan], "ci_low": [74.499999999, 60.0, np.nan],
                         "ci_high": [93.3333333, 88.658333, np.nan], "A": [15.666666, 12.0, np.nan],
                         "subsidy": [1234567.891, 0.0, np.nan], "eligible": [True, False, None]})


def test_intervals_and_scores_are_rounded_in_the_staff_view_only(tmp_path):
    paths = write_table(ranking(), tmp_path, "recognition_ranking", "认定排名")
    ws = load_workbook(paths[1])["认定排名"]
    head = [c.value for c in ws[1]]
    row = {h: ws.cell(2, j + 1).value for j, h in enumerate(head)}
    assert row["区间下限"] == 74.5 and row["区间上限"] == 93.33 and row["汇总得分"] == 88.12 and row["A"] == 15.67
    assert row["建议补助（元）"] == 1234568
    full = pd.read_csv(paths[0], encoding="utf-8-sig")
    assert full["ci_high"].iloc[0] == 93.3333333


def test_screening_and_yes_no_columns_are_words():
    view, _ = staff_view(ranking(), "recognition_ranking")
    assert view["形式审查"].tolist() == ["通过", "不通过", "待定"]
    conflicts = pd.DataFrame({"application_id": ["GX-1", "GX-2"], "expert_id": ["ZJ1", "ZJ2"],
                              "excludes": [True, False], "waived": [False, True]})
    view, _ = staff_view(conflicts, "conflicts")
    assert view["是否回避"].tolist() == ["是", "否"] and view["已豁免"].tolist() == ["否", "是"]
    assert not view.map(lambda v: isinstance(v, (bool, np.bool_))).any().any()
