"""How a table reads to staff (reviewer/app/ui/formatting.py, issue 13 item 16): values as shown, labels,
widths that fit, lines broken on the server; and the app's `table` through Streamlit's AppTest."""
from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from reviewer.app.text import COLUMNS
from reviewer.app.ui import formatting as fmt

VIEWS = Path(__file__).resolve().parent.parent / "reviewer" / "app" / "ui" / "views"


def test_numbers_are_rounded_by_column_kind_and_ints_stay_ints():
    df = pd.DataFrame({"score": [82.6, 75.123456], "p_first_overall": [0.123456, 0.5], "rank": [1.0, 2.0],
                       "n_scores": [5, 7], "effect": [-0.5333333333333361, 1.0]})
    s = fmt.present(df)
    assert s.kinds == {"score": "float", "p_first_overall": "prob", "rank": "int", "n_scores": "int", "effect": "float"}
    assert s.data["score"].tolist() == [82.6, 75.12]
    assert s.data["p_first_overall"].tolist() == [0.123, 0.5]
    assert s.data["rank"].tolist() == [1, 2] and str(s.data["rank"].dtype) == "Int64"
    assert s.data["effect"].tolist() == [-0.53, 1.0]


def test_codes_booleans_missing_and_times_read_as_words():
    df = pd.DataFrame({"outcome": ["pass", "needs-review"], "severity": ["hard", "soft"], "waived": [True, False],
                       "status": ["OPTIMAL", None], "note": ["", float("nan")], "action": ["publication", "x.new_act"],
                       "at": ["2026-12-03T04:37:14", "2026-12-03T16:00:00Z"]})
    s = fmt.present(df).data
    assert s["outcome"].tolist() == ["通过", "需复核"]
    assert s["severity"].tolist() == ["必须回避", "尽量回避"]
    assert s["waived"].tolist() == ["是", "否"]
    assert s["status"].iloc[0] == "最优" and pd.isna(s["status"].iloc[1])   # missing shows as "—" (the placeholder)
    assert s["note"].isna().all()
    assert s["action"].tolist() == ["发布专家组", "其他操作（x.new_act）"]
    # the store keeps UTC (naive or with Z); staff read Beijing time with the zone
    assert s["at"].tolist() == ["2026-12-03 12:37 北京时间", "2026-12-04 00:00 北京时间"]
    en = fmt.present(df, lang="en").data
    assert en["waived"].tolist() == ["yes", "no"] and en["outcome"].tolist() == ["pass", "needs review"]


def test_an_empty_boolean_column_does_not_turn_into_check_boxes():
    s = fmt.present(pd.DataFrame({"flagged": pd.Series([], dtype=bool)}))
    assert s.data["flagged"].dtype == object


def test_numbers_inside_text_keep_at_most_three_decimals():
    df = pd.DataFrame({"evidence": ["1.8800%", "avg 8451.994475633706 元", "E2 2.0%"],
                       "value": ["OPTIMAL", 8451.994475633706, 3.0]})
    s = fmt.present(df).data
    assert s["evidence"].tolist() == ["1.88%", "avg 8451.994 元", "E2 2.0%"]
    assert s["value"].tolist() == ["最优", "8451.994", "3"]


def test_identifiers_and_phone_numbers_stay_text():
    s = fmt.present(pd.DataFrame({"expert_id": ["0012", "0345"], "phone": ["13800000000", "13900000000"],
                                  "seed": ["0", "17"]}))
    assert s.data["expert_id"].tolist() == ["0012", "0345"] and s.kinds["phone"] == "text"
    assert s.kinds["seed"] == "int" and s.data["seed"].tolist() == [0, 17]


def test_a_wide_table_fits_its_place_by_wrapping_text_and_keeps_ids_whole():
    reason = "得分 82.6 ≥ 75，B 类 21.16 ≥ 15，为本领域最高；另有一段较长的说明文字 / a long English explanation here"
    df = pd.DataFrame({"application_id": [f"GX2026-{i:03d}" for i in range(30)],
                       "name": ["广西生物制药与疫苗制造业创新中心"] * 30, "field": ["生物医药"] * 30,
                       "score": np.linspace(60, 90, 30), "reason_zh": [reason] * 30})
    for width in (960, 620):
        s = fmt.present(df, width_px=width)
        assert sum(s.widths.values()) <= width - 4, (width, s.widths)
        assert s.widths["application_id"] >= int(fmt.text_px("GX2026-001") + fmt.CELL_PAD)
        assert s.row_height and s.row_height > 64            # the grid wraps only in rows taller than 4rem
        for c in ("name", "reason_zh"):
            room = s.widths[c] - fmt.CELL_PAD
            for cell in s.data[c]:
                assert all(fmt.text_px(line) <= room + 1 for line in cell.split("\n")), (c, cell)
    narrow = fmt.present(df.head(3)[["application_id", "score"]])
    assert narrow.row_height is None       # a table that fits keeps one line per row


def test_lines_break_at_spaces_or_between_cjk_never_inside_a_number():
    text = "得分 82.6 ≥ 75，B 类 21.16 ≥ 15，R&D intensity below threshold"
    lines = fmt.wrap_text(text, 120).split("\n")
    assert len(lines) > 1 and "".join(lines).replace(" ", "") == text.replace(" ", "")
    for num in ("82.6", "21.16", "intensity", "threshold"):
        assert any(num in line for line in lines), (num, lines)
    assert fmt.wrap_text("短", 120) == "短"


def _table_columns(path: Path) -> set[str]:
    """Column keys a view passes to table(df, [...]) as literals."""
    keys = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "table" and len(node.args) > 1:
            lst = node.args[1]
            if isinstance(lst, (ast.List, ast.Tuple)):
                keys |= {e.value for e in lst.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return keys


def test_every_column_a_page_names_has_a_chinese_label():
    missing = {}
    for p in sorted(VIEWS.glob("*.py")):
        lacking = sorted(k for k in _table_columns(p) if k not in COLUMNS and not any("\u4e00" <= ch <= "\u9fff" for ch in k))
        if lacking:
            missing[p.name] = lacking
    assert not missing, missing


def _render_table():
    import pandas as pd
    import streamlit as st

    from reviewer.app.ui.common import table

    st.session_state["lang"] = "zh"
    table(pd.DataFrame({"application_id": ["GX2026-001", "GX2026-002"], "score": [82.604, None],
                        "p_first_overall": [0.12345, 0.9], "waived": [True, False],
                        "reason_zh": ["得分 82.6 ≥ 75，B 类 21.16 ≥ 15，为本领域最高" * 3, "短"]}),
          config={"waived": st.column_config.Column("已豁免（本轮）", width="large")})


def test_the_app_table_sends_labels_formats_widths_and_the_dash_for_missing():
    at = AppTest.from_function(_render_table).run(timeout=30)
    assert not at.exception
    df = at.dataframe[0]
    cfg = json.loads(df.proto.columns)
    assert cfg["application_id"]["label"] == "申报编号" and cfg["score"]["label"] == "得分"
    assert cfg["score"]["type_config"]["format"] == "%.2f"
    assert cfg["p_first_overall"]["type_config"]["format"] == "%.3f"
    # a page's own label wins; its named width becomes the fitted width (px), so the table stays in place
    assert cfg["waived"]["label"] == "已豁免（本轮）" and isinstance(cfg["waived"]["width"], int)
    assert sum(c["width"] for k, c in cfg.items() if k != "_index" and c.get("width")) <= fmt.MAIN_WIDTH
    assert df.proto.placeholder == "—"
    assert df.proto.row_height > 64
    shown = df.value
    assert shown["waived"].tolist() == ["是", "否"]
    assert math.isnan(shown["score"].iloc[1]) and "\n" in shown["reason_zh"].iloc[0]


def test_short_words_and_links_are_never_broken_even_in_a_crowded_table():
    df = pd.DataFrame({"expert_id": ["ZJ0001"] * 3, "decision_zh": ["推荐认定", "列入培育名单", "已被取代"],
                       "link": ["https://review.example:8443/?token=" + "x" * 60] * 3,
                       "reason_zh": ["达到推荐线，但本领域已由排名更高的 GX2026-004 推荐（一领域一中心）"] * 3})
    s = fmt.present(df, width_px=500)
    for c in ("decision_zh", "link", "expert_id"):
        assert not s.data[c].str.contains("\n").any(), c
    assert s.data["reason_zh"].str.contains("\n").all()
    assert s.widths["decision_zh"] >= int(fmt.text_px("列入培育名单"))


def test_a_table_of_many_short_columns_still_fits():
    df = pd.DataFrame({c: ["推荐认定", "列入培育名单"] for c in "ABCDEFGHIJKLMNOP"}
                      | {"application_id": ["GX2026-001", "GX2026-002"]})
    s = fmt.present(df, width_px=960)
    assert sum(s.widths.values()) <= 956 and s.widths["application_id"] >= int(fmt.text_px("GX2026-001"))


def test_markdown_characters_in_text_are_shown_as_they_are():
    """st.table renders cells as Markdown: an underscore, a star, a dollar sign or a leading "- " in a reason
    must come out as written (escaped), and removing the escapes gives the text back."""
    import re
    for s in ["a_b *c* [x](y) $5$ ~d~ <b>", "- 第一条", "1. 第一条", "12 项", ":blue[x] R&D 1.88%"]:
        safe = fmt.markdown_safe(s)
        assert re.sub(r"\\(.)", r"\1", safe) == s
        assert not re.search(r"(?<!\\)[*_\[\]$~<`]", safe), safe
    assert fmt.markdown_safe("- 第一条").startswith("\\-") and fmt.markdown_safe("1. 第一条").startswith("1\\.")


def test_a_static_table_keeps_short_values_on_one_line_and_wraps_the_reasons():
    df = pd.DataFrame({"application_id": ["GX2026-001", "GX2026-002"], "score": [82.9, None],
                       "decision_zh": ["推荐认定", "不予推荐"],
                       "reason_zh": ["得分 82.9 ≥ 75，B 类 21.44 ≥ 15，为本领域最高" * 3, None]})
    sty = fmt.styled(fmt.present(df, wrap=False))
    html = sty.to_html()
    assert list(sty.data.columns) == ["申报编号", "得分", "结论", "理由"]
    assert "82.90" in html and fmt.MISSING in html and "\n" not in sty.data["理由"].iloc[0]
    ctx = sty._compute().ctx          # (row, col) -> CSS of the cell
    assert ("white-space", "nowrap") in ctx[(0, 0)] and ("white-space", "nowrap") in ctx[(0, 2)]
    assert ("text-align", "right") in ctx[(0, 1)]
    assert ("white-space", "normal") in ctx[(0, 3)]


def test_control_characters_in_stored_text_are_not_shown():
    """Typed reasons reach the store from many acts; whatever they hold, a table never shows a control
    character or a bidirectional override (it could hide or disguise the text), markup stays literal."""
    df = pd.DataFrame({"reason": ['=HYPERLINK("http://x")\x07<b>粗</b>\u202egpj.exe', "正常理由"]})
    shown = fmt.present(df, None, "zh").data["reason"]
    assert shown.iloc[0] == '=HYPERLINK("http://x")<b>粗</b>gpj.exe' and shown.iloc[1] == "正常理由"
    styled = fmt.styled(fmt.present(df, None, "zh", wrap=False)).data.iloc[0, 0]
    assert "\x07" not in styled and "\u202e" not in styled and "\\<b\\>" in styled
