"""Altair charts of the analyses (Chinese labels; every bar and point labelled with its value).
Plain functions from result tables to charts; the analyst page shows them."""
from __future__ import annotations

import altair as alt
import pandas as pd

__all__ = ["relation_effects", "expert_effects_chart", "rank_shift", "validity_methods", "validity_families"]

FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"


def _style(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return chart.configure_title(font=FONT, fontSize=15, anchor="start").configure_axis(
        labelFont=FONT, titleFont=FONT, labelLimit=220).configure_legend(labelFont=FONT, titleFont=FONT)


def _interval_chart(d: pd.DataFrame, y: str, y_title: str, x_title: str, title: str, zero: bool = True,
                    color: str | None = None) -> alt.TopLevelMixin:
    """Point estimate (labelled) with its interval as a line, one row per `y`; a rule at 0."""
    base = alt.Chart(d).encode(y=alt.Y(f"{y}:N", title=y_title, sort=None))
    enc = {"color": alt.Color(f"{color}:N", title="")} if color else {}
    rule = base.mark_rule(strokeWidth=2).encode(x=alt.X("low:Q", title=x_title), x2="high:Q", **enc)
    pt = base.mark_point(filled=True, size=70).encode(x="est:Q", tooltip=[y, "est", "low", "high"], **enc)
    txt = base.mark_text(dy=-10, fontSize=11, font=FONT).encode(x="est:Q", text="label:N")
    layers = [rule, pt, txt]
    if zero:
        layers.insert(0, alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 3], color="#888").encode(x="x:Q"))
    return _style(alt.layer(*layers).properties(title=title, height=alt.Step(34)))


def relation_effects(rel: pd.DataFrame, level: float = 0.95) -> alt.TopLevelMixin:
    """Effect of each relation type (points) with its interval; flagged ones coloured."""
    d = rel.dropna(subset=["effect"]).assign(
        y=lambda x: x["relation_zh"] + "（" + x["n_seats"].astype(str) + " 份）",
        est=lambda x: x["effect"].round(2), low=lambda x: x["ci_low"].fillna(x["effect"]),
        high=lambda x: x["ci_high"].fillna(x["effect"]),
        label=lambda x: x["effect"].map(lambda v: f"{v:+.2f}") + " (p=" + x["p_perm"].map(lambda v: f"{v:.3f}") + ")",
        结论=lambda x: x["flagged"].map({True: "显著（BH 校正后）", False: "不显著"}))
    return _interval_chart(d, "y", "关系类型（评分份数）", f"效应：比同组其他专家均值高出的分数（{level:.0%} 区间）",
                           "关系偏差：各关系类型的评分效应", color="结论")


def expert_effects_chart(ex: pd.DataFrame, relation: str, top: int = 15) -> alt.TopLevelMixin:
    """The experts' shrunken own effects of one relation, largest first (top `top`)."""
    d = ex[ex["relation"] == relation].copy()
    d = d.reindex(d["shrunk_effect"].abs().sort_values(ascending=False).index).head(top)
    d = d.assign(y=d["expert_id"] + "（" + d["n_related"].astype(str) + " 份）", est=d["shrunk_effect"].round(2),
                 low=d["post_low"], high=d["post_high"], label=d["shrunk_effect"].map(lambda v: f"{v:+.2f}"),
                 标记=d["flagged"].map({True: "证据充分", False: "证据不足"}))
    name = d["relation_zh"].iloc[0] if len(d) else relation
    return _interval_chart(d, "y", "专家（有关系的评分份数）", "个人效应（经验贝叶斯收缩后，后验区间）",
                           f"{name}：专家个人效应（仅供参考，不自动扣分）", color="标记")


def rank_shift(cmp_: pd.DataFrame) -> alt.TopLevelMixin:
    """Rank under the policy vs under the scenario, one line per application whose rank or decision moved."""
    d = cmp_.dropna(subset=["rank_overall_base", "rank_overall_alt"])
    d = d[(d["rank_overall_base"] != d["rank_overall_alt"]) | d["changed"]]
    long = pd.concat([d.assign(方案="现行规则", 排名=d["rank_overall_base"], 结论=d["decision_zh_base"]),
                      d.assign(方案="假设方案", 排名=d["rank_overall_alt"], 结论=d["decision_zh_alt"])])
    long["label"] = long["application_id"] + " " + long["排名"].astype(int).astype(str) + " " + long["结论"]
    base = alt.Chart(long).encode(x=alt.X("方案:N", title="", sort=["现行规则", "假设方案"], axis=alt.Axis(labelAngle=0)),
                                  y=alt.Y("排名:Q", title="总排名", scale=alt.Scale(reverse=True)))
    lines = base.mark_line(point=True).encode(detail="application_id:N",
                                              color=alt.Color("changed:N", title="结论变化",
                                                              scale=alt.Scale(domain=[True, False],
                                                                              range=["#c8483a", "#9aa5b1"])))
    txt = base.mark_text(align="left", dx=6, fontSize=10, font=FONT).encode(text="label:N")
    return _style(alt.layer(lines, txt).properties(title="假设方案：排名与结论的变化", height=420, width=420))


def _bars(d: pd.DataFrame, x: str, x_title: str, title: str) -> alt.TopLevelMixin:
    base = alt.Chart(d).encode(y=alt.Y(f"{x}:N", title=x_title, sort=None))
    bar = base.mark_bar(color="#4c78a8").encode(x=alt.X("rho:Q", title="Spearman 秩相关（95% 自助法区间）",
                                                        scale=alt.Scale(domain=[-1, 1])),
                                                tooltip=[x, "rho", "rho_low", "rho_high"])
    err = base.mark_rule(strokeWidth=2, color="#222").encode(x="rho_low:Q", x2="rho_high:Q")
    txt = base.mark_text(align="left", dx=4, dy=-9, fontSize=11, font=FONT).encode(x="rho:Q", text="label:N")
    return _style(alt.layer(bar, err, txt).properties(title=title, height=alt.Step(30)))


def validity_methods(methods: pd.DataFrame) -> alt.TopLevelMixin:
    d = methods.assign(label=methods["rho"].map(lambda v: f"{v:+.2f}"))
    return _bars(d, "method", "汇总方法", "预测效度：认定评分与后续年度考核的秩相关（按汇总方法）")


def validity_families(families: pd.DataFrame) -> alt.TopLevelMixin:
    d = families.assign(family=families["family"] + " " + families["family_name"],
                        label=families["rho"].map(lambda v: f"{v:+.2f}"))
    return _bars(d, "family", "评分分项", "哪些评分分项预测了后续考核")
