"""Altair charts of the analyses (Chinese labels; every bar and point labelled with its value).
Plain functions from result tables to charts; the analyst page shows them."""
from __future__ import annotations

import altair as alt
import pandas as pd

__all__ = ["relation_effects", "expert_effects_chart", "rank_shift", "validity_methods", "validity_families"]

FLAG_LABELS = ("显著（BH 校正后）", "证据充分")
FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"


def _style(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return chart.configure_title(font=FONT, fontSize=15, anchor="start").configure_axis(
        labelFont=FONT, titleFont=FONT, labelLimit=220).configure_legend(labelFont=FONT, titleFont=FONT)


def _interval_chart(d: pd.DataFrame, y: str, y_title: str, x_title: str, title: str, zero: bool = True,
                    color: str | None = None) -> alt.TopLevelMixin:
    """Point estimate (labelled) with its interval as a line, one row per `y`; a rule at 0."""
    base = alt.Chart(d).encode(y=alt.Y(f"{y}:N", title=y_title, sort=None))
    enc = {}
    if color:   # the first category of `color` (the flagged one) in red, the other in grey-blue
        dom = list(dict.fromkeys(sorted(d[color].unique(), key=lambda v: v not in FLAG_LABELS)))
        enc = {"color": alt.Color(f"{color}:N", title="", scale=alt.Scale(
            domain=dom, range=["#c8483a" if v in FLAG_LABELS else "#5b7fa6" for v in dom]))}
    rule = base.mark_rule(strokeWidth=2).encode(x=alt.X("low:Q", title=x_title), x2="high:Q", **enc)
    # every layer carries the axis title: an untitled layer would add its raw field name to the axis title
    pt = base.mark_point(filled=True, size=70).encode(x=alt.X("est:Q", title=x_title), tooltip=[y, "est", "low", "high"],
                                                      **enc)
    txt = base.mark_text(dy=-10, fontSize=11, font=FONT).encode(x=alt.X("est:Q", title=x_title), text="label:N")
    layers = [rule, pt, txt]
    if zero:
        layers.insert(0, alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 3], color="#888").encode(
            x=alt.X("x:Q", title=x_title)))
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


def rank_shift(cmp_: pd.DataFrame, min_move: int = 2) -> alt.TopLevelMixin:
    """Rank under the policy (left) and under the scenario (right): the applications whose decision
    changed (red) or whose rank moved by `min_move` or more; each end labelled."""
    d = cmp_.dropna(subset=["rank_overall_base", "rank_overall_alt"])
    move = (d["rank_overall_base"].astype(float) - d["rank_overall_alt"].astype(float)).abs()
    d = d[d["changed"] | (move >= min_move)]
    long = pd.concat([d.assign(方案="现行规则", x=0.0, 排名=d["rank_overall_base"].astype(float),
                               label=d["application_id"] + " 第" + d["rank_overall_base"].astype(int).astype(str) + "名 "
                               + d["decision_zh_base"]),
                      d.assign(方案="假设方案", x=1.0, 排名=d["rank_overall_alt"].astype(float),
                               label="第" + d["rank_overall_alt"].astype(int).astype(str) + "名 " + d["decision_zh_alt"])])
    long["结论变化"] = long["changed"].map({True: "是", False: "否"})
    x = alt.X("x:Q", title="", scale=alt.Scale(domain=[-1.6, 2.4]), axis=None)
    base = alt.Chart(long).encode(x=x, y=alt.Y("排名:Q", title="总排名", scale=alt.Scale(reverse=True, zero=False)))
    color = alt.Color("结论变化:N", scale=alt.Scale(domain=["是", "否"], range=["#c8483a", "#9aa5b1"]),
                      legend=alt.Legend(orient="bottom"))
    lines = base.mark_line(point=True, strokeWidth=2).encode(detail="application_id:N", color=color)
    left = base.transform_filter("datum.x == 0").mark_text(align="right", dx=-8, fontSize=11, font=FONT)
    right = base.transform_filter("datum.x == 1").mark_text(align="left", dx=8, fontSize=11, font=FONT)
    heads = alt.Chart(pd.DataFrame({"x": [0.0, 1.0], "t": ["现行规则", "假设方案"]})).mark_text(
        fontSize=13, fontWeight="bold", font=FONT, baseline="bottom").encode(x=x, y=alt.value(-6), text="t:N")
    return _style(alt.layer(lines, left.encode(text="label:N", color=color),
                            right.encode(text="label:N", color=color), heads)
                  .properties(title=f"假设方案：结论变化（红）与排名变动 ≥ {min_move} 的申报", width=640,
                              height=max(160, 26 * len(d))))


def _bars(d: pd.DataFrame, x: str, x_title: str, title: str) -> alt.TopLevelMixin:
    base = alt.Chart(d).encode(y=alt.Y(f"{x}:N", title=x_title, sort=None))
    bar = base.mark_bar(color="#4c78a8").encode(x=alt.X("rho:Q", title="Spearman 秩相关（95% 自助法区间）",
                                                        scale=alt.Scale(domain=[-1, 1])),
                                                tooltip=[x, "rho", "rho_low", "rho_high"])
    x_title = "Spearman 秩相关（95% 自助法区间）"   # on every layer, so no raw field name joins the axis title
    err = base.mark_rule(strokeWidth=2, color="#222").encode(x=alt.X("rho_low:Q", title=x_title), x2="rho_high:Q")
    txt = base.mark_text(align="left", dx=4, dy=-9, fontSize=11, font=FONT).encode(x=alt.X("rho:Q", title=x_title),
                                                                                 text="label:N")
    return _style(alt.layer(bar, err, txt).properties(title=title, height=alt.Step(30)))


def validity_methods(methods: pd.DataFrame) -> alt.TopLevelMixin:
    d = methods.assign(label=methods["rho"].map(lambda v: f"{v:+.2f}"))
    return _bars(d, "method", "汇总方法", "预测效度：认定评分与后续年度考核的秩相关（按汇总方法）")


def validity_families(families: pd.DataFrame) -> alt.TopLevelMixin:
    d = families.assign(family=families["family"] + " " + families["family_name"],
                        label=families["rho"].map(lambda v: f"{v:+.2f}"))
    return _bars(d, "family", "评分分项", "哪些评分分项预测了后续考核")
