"""Altair charts of the staff app. Every chart has a title and axis titles in Chinese (English
when lang="en"). Plain functions from tables to charts; no Streamlit here."""
from __future__ import annotations

import altair as alt
import pandas as pd

from reviewer.app.text import TERM_ZH

METHOD_SHORT = {"trimmed": ("去高低分平均", "trimmed"), "calibrated": ("本阶段校准", "calibrated"),
                "calibrated_pooled": ("跨阶段校准", "calibrated (pooled)"),
                "bayes": ("贝叶斯", "Bayes")}
SEVERITY_LABELS = {"hard": ("必须回避", "hard"), "soft": ("尽量回避", "soft")}
FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"


def _t(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def _style(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return chart.configure_title(font=FONT, fontSize=15, anchor="start").configure_axis(
        labelFont=FONT, titleFont=FONT).configure_legend(labelFont=FONT, titleFont=FONT)


def screening_outcomes(summary: pd.DataFrame, lang: str = "zh") -> alt.Chart:
    d = summary.groupby("outcome_zh").size().rename("n").reset_index()
    c = alt.Chart(d).mark_bar().encode(
        x=alt.X("outcome_zh:N", title=_t(lang, "审查结果", "outcome"), sort=["通过", "需人工复核", "不通过"],
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("n:Q", title=_t(lang, "申报数", "applications")),
        color=alt.Color("outcome_zh:N", legend=None,
                        scale=alt.Scale(domain=["通过", "需人工复核", "不通过"], range=["#4c9a5b", "#e0a030", "#c8483a"])),
        tooltip=["outcome_zh", "n"],
    ).properties(title=_t(lang, "形式审查结果", "Screening outcomes"), height=220)
    return _style(c)


def pool_by_category(df: pd.DataFrame, lang: str = "zh") -> alt.Chart:
    c = alt.Chart(df).mark_bar().encode(
        x=alt.X("category:N", title=_t(lang, "专家类别", "category"), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("n:Q", title=_t(lang, "专家人数", "experts")),
        color=alt.Color("availability:N", title=_t(lang, "是否可抽取", "drawable")),
        tooltip=["category", "availability", "n"],
    ).properties(title=_t(lang, "专家库：按类别", "Expert pool by category"), height=260)
    return _style(c)


def pool_by_field(df: pd.DataFrame, lang: str = "zh") -> alt.Chart:
    c = alt.Chart(df).mark_bar().encode(
        y=alt.Y("field:N", title=_t(lang, "熟悉领域", "field"), sort="-x",
                axis=alt.Axis(labelOverlap=False, labelLimit=160)),
        x=alt.X("sum(n):Q", title=_t(lang, "可抽取专家人数", "drawable experts")),
        color=alt.Color("category:N", title=_t(lang, "专家类别", "category")),
        tooltip=["field", "category", "n"],
    ).properties(title=_t(lang, "专家库：按领域（一人可熟悉多个领域）", "Expert pool by field (an expert may know several)"),
                 height=alt.Step(22))
    return _style(c)


def conflicts_by_rule(table: pd.DataFrame, lang: str = "zh") -> alt.Chart:
    d = table.groupby(["rule", "rule_zh", "severity"]).size().rename("n").reset_index()
    d["label"] = d["rule"] + " " + d["rule_zh"]
    d["severity_label"] = d["severity"].map(lambda v: SEVERITY_LABELS.get(v, (v, v))[0 if lang == "zh" else 1])
    c = alt.Chart(d).mark_bar().encode(
        # every rule labelled (no label dropped for overlap): the chart grows with the number of rules
        y=alt.Y("label:N", title=_t(lang, "回避规则", "rule"), sort=alt.EncodingSortField("rule"),
                axis=alt.Axis(labelOverlap=False, labelLimit=320)),
        x=alt.X("n:Q", title=_t(lang, "专家–申报对数", "expert-application pairs")),
        color=alt.Color("severity_label:N", title=_t(lang, "性质", "severity")),
        tooltip=["rule", "rule_zh", "severity_label", "n"],
    ).properties(title=_t(lang, "回避关系：按规则", "Conflicts by rule"), height=max(160, 30 * d["label"].nunique()))
    return _style(c)


def coverage_heatmap(long: pd.DataFrame, categories: list[str], lang: str = "zh") -> alt.Chart:
    base = alt.Chart(long).encode(
        x=alt.X("category:N", title=_t(lang, "专家类别", "category"), sort=categories,
                axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("application_id:N", title=_t(lang, "申报编号", "application"),
                axis=alt.Axis(labelOverlap=False, labelFontSize=10)),
    )
    rect = base.mark_rect(stroke="white", strokeWidth=0.5).encode(
        color=alt.Color("n:O", title=_t(lang, "人数", "experts"), scale=alt.Scale(scheme="blues")),
        tooltip=["application_id", "category", "n"])
    text = base.mark_text(fontSize=11).encode(text="n:Q", color=alt.condition("datum.n == 0", alt.value("#c8483a"),
                                                                              alt.value("white")))
    n_apps = max(1, long["application_id"].nunique())
    c = (rect + text).properties(title=_t(lang, "各专家组的类别覆盖（每格为该类专家人数，0 为红色）",
                                          "Category coverage per panel (experts per category; 0 in red)"),
                                 height=18 * n_apps, width=420)
    return _style(c)


def load_histogram(loads: pd.DataFrame, lang: str = "zh") -> alt.Chart:
    c = alt.Chart(loads).mark_bar().encode(
        x=alt.X("load:O", title=_t(lang, "每位专家评审的申报数", "applications per expert"), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("count():Q", title=_t(lang, "专家人数", "experts")),
        color=alt.Color("category:N", title=_t(lang, "专家类别", "category")),
        tooltip=["load", "category", "count()"],
    ).properties(title=_t(lang, "专家负载分布", "Expert load"), height=260)
    return _style(c)


def affinity_bars(aff: pd.DataFrame, lang: str = "zh") -> alt.Chart:
    c = alt.Chart(aff).mark_bar().encode(
        y=alt.Y("application_id:N", title=_t(lang, "申报编号", "application"), sort="-x"),
        x=alt.X("mean_affinity:Q", title=_t(lang, "专家组平均匹配度", "mean panel affinity")),
        tooltip=["application_id", "mean_affinity", "field_matched", "same_city"],
    ).properties(title=_t(lang, "各专家组专业匹配度", "Panel affinity"), height=alt.Step(14))
    return _style(c)


def objective_breakdown(b: pd.DataFrame, lang: str = "zh") -> alt.Chart:
    d = b.copy()
    d["label"] = d["term"].map(lambda t: TERM_ZH.get(t, t) if lang == "zh" else t)
    c = alt.Chart(d).mark_bar().encode(
        x=alt.X("value:Q", title=_t(lang, "目标函数得分（正为加分，负为扣分）", "objective points (+ gain, − penalty)")),
        y=alt.Y("label:N", title=_t(lang, "目标项", "term"), axis=alt.Axis(labelOverlap=False, labelLimit=240)),
        color=alt.condition("datum.value < 0", alt.value("#c8483a"), alt.value("#4c78a8")),
        tooltip=["label", alt.Tooltip("value:Q", format=".2f")],
    ).properties(title=_t(lang, "目标函数分解", "Objective breakdown"), height=max(120, 36 * d["label"].nunique()))
    return _style(c)


def score_intervals(long: pd.DataFrame, field: str, lang: str = "zh", order: list[str] | None = None) -> alt.Chart:
    """One field's applications: aggregated score with its interval under each method."""
    d = long[long["field"] == field].copy()
    d["method_label"] = d["method"].map(lambda m: METHOD_SHORT.get(m, (m, m))[0 if lang == "zh" else 1])
    lo = float(pd.concat([d["low"], d["score"]]).min())
    hi = float(pd.concat([d["high"], d["score"]]).max())
    base = alt.Chart(d).encode(
        y=alt.Y("application_id:N", title=_t(lang, "申报编号", "application"),
                sort=[a for a in (order or []) if a in set(d["application_id"])] or None),
        color=alt.Color("method_label:N", title=_t(lang, "汇总方法", "method"),
                        legend=alt.Legend(orient="bottom", columns=3)),
        yOffset="method_label:N",
    )
    scale = alt.Scale(domain=[max(0.0, lo - 2), min(100.0, hi + 2)])
    rule = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("low:Q", title=_t(lang, "汇总得分及区间", "score and interval"), scale=scale), x2="high:Q")
    pt = base.mark_point(filled=True, size=45).encode(
        x=alt.X("score:Q", scale=scale, title=_t(lang, "汇总得分及区间", "score and interval")), tooltip=["application_id", "method_label", "score", "low", "high"])
    c = (rule + pt).properties(title=field, height=alt.Step(10))
    return _style(c)


def outlier_scatter(fl: pd.DataFrame, lang: str = "zh") -> alt.Chart:
    d = fl.copy()
    d["flag_label"] = d["flagged"].map({True: _t(lang, "异常", "flagged"), False: _t(lang, "正常", "normal")})
    c = alt.Chart(d).mark_circle(size=45).encode(
        x=alt.X("panel_median:Q", title=_t(lang, "组内中位数", "panel median"), scale=alt.Scale(zero=False)),
        y=alt.Y("score:Q", title=_t(lang, "专家给出的总分", "expert's total"), scale=alt.Scale(zero=False)),
        color=alt.Color("flag_label:N", title=_t(lang, "标记", "flag"),
                        scale=alt.Scale(range=["#c8483a", "#9ab"])),
        tooltip=["application_id", "expert_id", "score", "panel_median", "reason"],
    ).properties(title=_t(lang, "专家评分与组内中位数（偏离过大者标红）", "Scores vs panel median (outliers in red)"),
                 height=300)
    return _style(c)


def evaluation_bands(bands: pd.DataFrame, lang: str = "zh") -> alt.Chart:
    order = ["优秀", "良好", "合格", "不合格"]
    c = alt.Chart(bands).mark_bar().encode(
        x=alt.X("year:O", title=_t(lang, "考核年度", "year"), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("n:Q", title=_t(lang, "中心数", "centres")),
        color=alt.Color("band:N", title=_t(lang, "考核等次", "band"), sort=order,
                        scale=alt.Scale(domain=order, range=["#2e7d32", "#7cb342", "#e0a030", "#c8483a"])),
        order=alt.Order("band_order:Q"),
        tooltip=["year", "band", "n"],
    ).transform_calculate(band_order="indexof(['优秀','良好','合格','不合格'], datum.band)").properties(
        title=_t(lang, "各年度考核等次分布", "Evaluation bands per year"), height=260)
    return _style(c)
