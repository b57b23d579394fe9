"""Ranking sign-off and the ranking reports in the staff app (issue 13 item 12).

确认发布: staff freeze a stage's ranking table — the table as exported, with Chinese headers — as a
recorded, immutable publication in the store (reviewer.store.signoff: SHA-256 of the table, who,
when; freezing again needs a reason and supersedes). The reports say which version they print: the
signed-off one (its number and hash), or a draft that differs from it.

The printable report (HTML, A4 landscape, print to PDF from the browser) has page numbers, a
signature block, the method in Chinese, no missing-value markers, 领域 on one line and table rows
that never split across pages; the Excel report's sheets all have Chinese headers.
"""
from __future__ import annotations

import html
import math
import tempfile
from pathlib import Path

import pandas as pd

from reviewer.app import store as app_store
from reviewer.app.imports import load_bundle
from reviewer.app.ranking import RANK_METHODS, RANKING_EXPORT_COLS, RANKING_HEADERS_ZH, compare_methods, ranking
from reviewer.app.rounds import round_info
from reviewer.app.text import METHOD_LABELS, local_time
from reviewer.errors import UserError
from reviewer.exports import write_xlsx
from reviewer.store.signoff import table_digest

DECISION_ORDER = ("recommend", "cultivation")
STATUS_ZH = {True: "在用", False: "已被取代"}


def method_zh(method: str) -> str:
    return METHOD_LABELS.get(method, (method, method))[0]


def export_frame(rk: pd.DataFrame) -> pd.DataFrame:
    """The ranking as exported and signed off: chosen columns, Chinese headers."""
    cols = [c for c in RANKING_EXPORT_COLS if c in rk.columns]
    return rk[cols].rename(columns=RANKING_HEADERS_ZH).reset_index(drop=True)


def signoff_rows(round_id: str, stage: str, method: str) -> list[dict]:
    return export_frame(ranking(round_id, stage, method)).to_dict("records")


# ---------------------------------------------------------------- sign-off

def freeze(round_id: str, stage: str, method: str, user: str | None, reason: str = "") -> dict:
    """确认发布 the stage's ranking under `method` as it stands now (see the module)."""
    if method not in RANK_METHODS:
        raise UserError(f"汇总方法 {method!r}：应为 {', '.join(RANK_METHODS)} / method: expected one of {RANK_METHODS}")
    load_bundle(round_id)
    return app_store.freeze_ranking(round_id, stage, method, signoff_rows(round_id, stage, method), user, reason)


def in_force(round_id: str, stage: str) -> dict | None:
    """The sign-off of `stage` in force (with its table), or None."""
    rows = [p for p in app_store.ranking_signoffs(round_id, stage) if p["in_force"]]
    return rows[0] if rows else None


def signoffs_table(round_id: str, stage: str) -> pd.DataFrame:
    """The stage's sign-offs, newest first, for staff: number, method, hash, rows, who, when, reason,
    status (在用 / 已被取代) and whether the stored table is intact."""
    rows = app_store.ranking_signoffs(round_id, stage)
    df = pd.DataFrame([{"编号": p["id"], "汇总方法": method_zh(p["method"]), "SHA-256": p["sha256"],
                        "行数": p["rows"], "确认人": p["by"], "确认时间": local_time(p["at"] + "Z"),
                        "理由": p["reason"], "取代": f"#{p['supersedes']}" if p["supersedes"] else "",
                        "状态": STATUS_ZH[p["in_force"]], "完整性": "一致" if p["intact"] else "表格已被改动（与哈希不符）"}
                       for p in reversed(rows)],
                      columns=["编号", "汇总方法", "SHA-256", "行数", "确认人", "确认时间", "理由", "取代", "状态", "完整性"])
    return df


def draft_state(round_id: str, stage: str, method: str) -> tuple[dict | None, bool]:
    """(sign-off in force, whether the ranking computed now is exactly that signed-off table)."""
    p = in_force(round_id, stage)
    if p is None:
        return None, False
    same = p["method"] == method and table_digest(signoff_rows(round_id, stage, method)) == p["sha256"]
    return p, same


def _status_line(round_id: str, stage: str, method: str) -> str:
    p, same = draft_state(round_id, stage, method)
    if p is None:
        return "状态：草稿（尚未确认发布）"
    when = local_time(p["at"] + "Z")
    if same:
        return f"状态：已确认发布 第 {p['id']} 号，{html.escape(p['by'])} 于 {when}；表格 SHA-256 {p['sha256']}"
    return (f"状态：草稿 — 与已确认发布的第 {p['id']} 号版本（{method_zh(p['method'])}，{when}，SHA-256 "
            f"{p['sha256'][:16]}…）不同，以已确认发布版本为准")


# ---------------------------------------------------------------- Excel

METHOD_COLUMN_ZH = {"score": "得分", "rank": "排名", "low": "区间下限", "high": "区间上限"}


def compare_frame_zh(cmp_: pd.DataFrame) -> pd.DataFrame:
    """The methods side by side with Chinese headers (申报编号, 领域, <方法> 得分 / 排名 / 区间下限 / 区间上限)."""
    names = {"application_id": "申报编号", "field": "领域"}
    for m in RANK_METHODS:
        for k, zh in METHOD_COLUMN_ZH.items():
            names[f"{k}_{m}"] = f"{method_zh(m)} {zh}"
    out = cmp_[[c for c in names if c in cmp_.columns]].rename(columns=names)
    for c in out.columns:
        if c.endswith("排名"):
            out[c] = out[c].astype("Int64")
        elif c.endswith(("得分", "下限", "上限")):
            out[c] = pd.to_numeric(out[c], errors="coerce").round(2)
    return out


def export_ranking_xlsx(round_id: str, stage: str, method: str = "trimmed") -> bytes:
    rk = ranking(round_id, stage, method)
    sheets = {"认定排名": export_frame(rk),
              "推荐认定": export_frame(rk[rk["decision"] == "recommend"]),
              "培育名单": export_frame(rk[rk["decision"] == "cultivation"]),
              "方法对比": compare_frame_zh(compare_methods(round_id, stage)),
              "说明": pd.DataFrame({"项目": ["阶段", "汇总方法", "状态", "生成时间"],
                                    "内容": [stage, method_zh(method), _status_line(round_id, stage, method),
                                           local_time(now_utc())]})}
    with tempfile.TemporaryDirectory() as tmp:
        return write_xlsx(sheets, Path(tmp) / "ranking.xlsx").read_bytes()


def now_utc() -> str:
    return pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- printable report

PRINT_CSS = (
    "body{font-family:'Noto Sans CJK SC','Microsoft YaHei','SimSun',sans-serif;margin:0;font-size:10pt}"
    "h1{font-size:15pt;margin:0 0 .4em}h2{font-size:12pt;margin:1.2em 0 .4em;break-after:avoid}"
    "p.meta{margin:.2em 0;color:#333}"
    "table.t{border-collapse:collapse;width:100%}"
    ".t th,.t td{border:1px solid #999;padding:2px 4px;text-align:left;vertical-align:top}"
    ".t th{background:#eee;white-space:nowrap}.t td.num{text-align:right;white-space:nowrap}"
    ".t td.nowrap{white-space:nowrap}.t td.reason{min-width:16em}"
    ".t thead{display:table-header-group}.t tr{break-inside:avoid;page-break-inside:avoid}"
    ".sign{margin-top:2em;break-inside:avoid;page-break-inside:avoid;width:100%;border-collapse:collapse}"
    ".sign td{padding:1.6em .5em .3em;width:33%;border-bottom:1px solid #333}"
    "@page{size:A4 landscape;margin:12mm 10mm 14mm;"
    "@bottom-center{content:'第 ' counter(page) ' 页 / 共 ' counter(pages) ' 页';font-size:9pt}}")

NOWRAP = {"领域", "申报编号", "结论", "总排名", "领域内排名"}
NUMERIC = {"汇总得分", "区间下限", "区间上限", "建议补助（元）", "总排名", "领域内排名",
           *[v for k, v in RANKING_HEADERS_ZH.items() if len(k) == 1]}


def _cell(col: str, v) -> str:
    """One table cell for print: missing values empty (never <NA> or nan), numbers rounded."""
    try:
        missing = v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        missing = False
    if missing:
        text = ""
    elif col == "建议补助（元）":
        text = f"{float(v):,.0f}"
    elif col in ("总排名", "领域内排名"):
        text = f"{int(v)}"
    elif isinstance(v, float) or (col in NUMERIC and isinstance(v, (int, float))):
        text = f"{float(v):.2f}" if not math.isinf(float(v)) else ""
    else:
        text = html.escape(str(v))
    cls = "num" if col in NUMERIC else "nowrap" if col in NOWRAP else "reason" if col == "理由" else ""
    return f"<td class='{cls}'>{text}</td>" if cls else f"<td>{text}</td>"


def html_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(_cell(c, v) for c, v in zip(df.columns, row)) + "</tr>"
                   for row in df.itertuples(index=False, name=None))
    return f"<table class='t'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


SIGNATURE_BLOCK = ("<table class='sign'><tr><td>经办人（签字）：</td><td>复核人（签字）：</td><td>负责人（签字）：</td></tr>"
                   "<tr><td>日期：</td><td>日期：</td><td>日期：</td></tr></table>")


def export_ranking_html(round_id: str, stage: str, method: str = "trimmed") -> str:
    """The printable report (A4 landscape, Chinese): open in a browser and print to PDF."""
    info = round_info(round_id)
    rk = ranking(round_id, stage, method)
    pol = load_bundle(round_id).policy
    rec, cul = rk[rk["decision"] == "recommend"], rk[rk["decision"] == "cultivation"]
    title = f"{html.escape(info.name)} — {html.escape(stage)} 认定排名报告"
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{PRINT_CSS}</style></head><body><h1>{title}</h1>"
            f"<p class='meta'>汇总方法：{method_zh(method)}；推荐门槛 {pol.decision.recommend_min_score:g} 分，"
            f"培育门槛 {pol.decision.cultivation_min_score:g} 分；生成时间 {local_time(now_utc())}；"
            f"政策文件 SHA-256 {pol.sha256[:12]}…</p>"
            f"<p class='meta'><b>{_status_line(round_id, stage, method)}</b></p>"
            f"<h2>推荐认定名单（{len(rec)}）</h2>{html_table(export_frame(rec))}"
            f"<h2>培育名单（{len(cul)}）</h2>{html_table(export_frame(cul))}"
            f"<h2>全部申报排名（{len(rk)}）</h2>{html_table(export_frame(rk))}"
            f"{SIGNATURE_BLOCK}</body></html>")
