"""现场考察 inputs: working days (调休 Saturdays, holidays, unknown years), the travel table, and the
unavailable-dates / sites / holiday files validated with file, row, column and value."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from reviewer.errors import UserError
from reviewer.panels.site.calendar import covered_years, working_days
from reviewer.panels.site.geography import (DETOUR_FACTOR, HOURS_PATH, SEATS_PATH, SPEED_KMH, derive_hours,
                                            great_circle_km, load_geography, read_commented_csv)
from reviewer.panels.site.inputs import read_holidays, read_sites, read_unavailable, write_site_templates
from reviewer.policy import load_policy

D = dt.date


def test_a_make_up_saturday_is_a_working_day_and_national_day_is_not():
    days = working_days(D(2026, 9, 28), D(2026, 10, 12))
    assert D(2026, 10, 10) in days                       # 调休: Saturday 10 October 2026 is a workday
    assert not any(D(2026, 10, 1) <= d <= D(2026, 10, 7) for d in days)   # 国庆 holiday skipped
    assert D(2026, 10, 11) not in days                   # an ordinary Sunday
    assert D(2026, 9, 30) in days and D(2026, 10, 8) in days


def test_a_year_the_calendar_does_not_know_is_refused_with_its_name():
    last = covered_years()[1]
    with pytest.raises(UserError) as e:
        working_days(D(last + 1, 1, 5), D(last + 1, 1, 9))
    assert str(last + 1) in str(e.value) and "--holidays" in str(e.value)


def test_a_holiday_file_supplies_an_unknown_year(tmp_path):
    year = covered_years()[1] + 1
    week = [D(year, 1, 5) + dt.timedelta(days=k) for k in range(7)]
    weekday = next(d for d in week if d.weekday() == 1)     # a Tuesday made a holiday (休)
    sunday = next(d for d in week if d.weekday() == 6)      # a Sunday made a workday (班)
    f = tmp_path / "holidays.csv"
    pd.DataFrame({"日期": [weekday.isoformat(), sunday.isoformat()], "类型": ["休", "班"]}).to_csv(f, index=False)
    days = working_days(week[0], week[-1], read_holidays(f))
    assert days == [d for d in week if (d.weekday() < 5 and d != weekday) or d == sunday]


def test_a_bad_holiday_kind_names_row_column_and_value(tmp_path):
    f = tmp_path / "holidays.csv"
    pd.DataFrame({"日期": ["2027-01-05"], "类型": ["放假"]}).to_csv(f, index=False)
    with pytest.raises(UserError, match=r"row 2, column 类型: value '放假'"):
        read_holidays(f)


def test_the_shipped_travel_table_is_the_derivation_from_the_coordinates():
    seats = read_commented_csv(SEATS_PATH)
    shipped = read_commented_csv(HOURS_PATH).set_index("city")
    derived = derive_hours(seats)
    assert (shipped.loc[derived.index, derived.columns].to_numpy() == derived.to_numpy()).all()
    nn, bs = seats.set_index("city").loc["南宁"], seats.set_index("city").loc["百色"]
    km = great_circle_km(nn.lat, nn.lon, bs.lat, bs.lon)
    assert 180 < km < 240     # 南宁–百色 is about 210 km as the crow flies
    assert shipped.loc["南宁", "百色"] == round(km * DETOUR_FACTOR / SPEED_KMH, 1)


def test_outside_experts_travel_through_the_entry_city():
    g = load_geography(load_policy())
    nn, lz = g.index("南宁"), g.index("柳州")
    assert g.home_hours("区外", lz) == pytest.approx(g.outside_extra_hours + g.hours[nn, lz])
    assert g.home_hours("柳州", lz) == 0.0


def test_unavailable_dates_expand_ranges_and_refuse_unknown_experts(tmp_path):
    f = tmp_path / "unavailable.xlsx"
    pd.DataFrame({"专家编号": ["E1", "E2"], "不可用日期": ["2026-12-07", "2026-12-08"],
                  "截止日期": ["2026-12-09", None]}).to_excel(f, index=False, sheet_name="专家不可用日期")
    got = read_unavailable(f, {"E1", "E2"})
    assert got == {"E1": {D(2026, 12, 7), D(2026, 12, 8), D(2026, 12, 9)}, "E2": {D(2026, 12, 8)}}
    with pytest.raises(UserError, match=r"row 3, column 专家编号: value 'E2'.*expert id"):
        read_unavailable(f, {"E1"})


def test_an_unreadable_date_is_reported_not_dropped(tmp_path):
    f = tmp_path / "unavailable.csv"
    pd.DataFrame({"专家编号": ["E1", "E1"], "不可用日期": ["2026-12-07", "下周二"]}).to_csv(f, index=False)
    with pytest.raises(UserError, match=r"row 3, column 不可用日期"):
        read_unavailable(f, {"E1"})


def test_sites_file_visit_length_and_unknown_application(tmp_path):
    f = tmp_path / "sites.csv"
    pd.DataFrame({"申报编号": ["A1", "A2"], "考察时长": ["全天", None], "联系人": ["李工", None]}).to_csv(f, index=False)
    got = read_sites(f, {"A1", "A2"}, default_halves=1)
    assert got["A1"].halves == 2 and got["A2"].halves == 1 and got["A1"].contact == "李工"
    pd.DataFrame({"申报编号": ["A1"], "考察时长": ["两天"]}).to_csv(f, index=False)
    with pytest.raises(UserError, match="考察时长: value '两天': expected 半天 or 全天"):
        read_sites(f, {"A1"}, default_halves=1)


def test_template_has_the_three_tables(tmp_path):
    path = write_site_templates(tmp_path / "t.xlsx")
    sheets = pd.ExcelFile(path).sheet_names
    assert {"专家不可用日期", "考察点", "节假日", "说明"} <= set(sheets)


def test_policy_site_visit_table_rejects_a_bad_length(tmp_path):
    text = (SEATS_PATH.parent / "policy.toml").read_text(encoding="utf-8").replace('visit_length = "半天"',
                                                                                  'visit_length = "一天"')
    p = tmp_path / "policy.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match="site_visit.visit_length"):
        load_policy(p)
