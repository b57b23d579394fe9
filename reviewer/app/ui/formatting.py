"""How a table reads to staff (issue 13 item 16): every table of the app goes through `present`, which
returns the values as shown (codes in words, 是/否, times in 北京时间, numbers rounded per column kind),
Chinese column labels, column widths fitted to the place the table has (1440 px screen: about 980 px
beside the sidebar) and, when long text would not fit, wrapped rows instead of a sideways scroll.

Plain pandas; `column_config` builds Streamlit's column settings from the plan. Widths are estimated
from the characters (a CJK character is about twice as wide as a Latin one), which is what the grid
does not do by itself: it sizes columns to the header and then clips or scrolls."""
from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reviewer.app.text import COLUMNS, STAFF_TZ
from reviewer.intake.cells import CONTROL_CHARACTERS

MISSING = "—"
MAIN_WIDTH = 960       # px a full-width table has at 1440 px beside the sidebar (the grid measured 978)
CELL_PAD = 22          # px of padding and border per cell
MIN_WRAP = 110         # px: a wrapped text column is never narrower
MAX_LINES = 4          # a row shows at most this many lines; the rest is in the cell's pop-up
LINE_PX = 20
WRAP_ROW_MIN = 66      # the grid wraps text only in rows taller than 4rem (64 px)

# columns shown with 3 decimals: probabilities, correlations, agreement statistics
PROB_COLS = {"p_value", "p_perm", "q_bh", "q_value", "rho", "rho_low", "rho_high", "rho_panel", "diff", "diff_low",
             "diff_high", "diff_shrunk", "ICC2_1", "ICC2_k", "kendall_W", "krippendorff_alpha", "value_p",
             "probability", "share"}
PROB_PREFIXES = ("p_", "q_", "prob_")
MONEY_COLS = {"subsidy", "amount", "amount_yuan"}
# columns that look numeric but are identifiers, phone numbers or codes: kept as text, left-aligned
ID_LIKE = re.compile(r"(^|_)(id|code|phone|tel|mobile|seed_text|year_text|sha|hash|token|commitment)($|_)")
# long free text: these columns wrap rather than widen the table
TEXT_WRAP = {"reasons", "reason", "reason_zh", "reason_en", "evidence", "expected", "message_zh", "message_en",
             "waiver_reason", "name", "application_name", "detail", "note", "opinion", "dissent", "dissent_void", "why_not",
             "decision_reason", "threshold", "check_zh", "employer", "fields", "missing", "incomplete", "last_error",
             "assessment", "flags", "result_zh", "value", "action_zh", "how", "summary", "why_zh",
             "title", "rule_zh", "lead_unit", "missing_columns", "counts"}
# long values that must stay one piece (a link or a hash is copied from the cell): narrowed, never broken
NO_BREAK = {"link", "url", "address", "email", "SHA-256", "commitment", "public_value", "file", "hash"}

# codes -> words, whatever the column (the app's services return these codes in several tables)
VALUE_WORDS: dict[str, tuple[str, str]] = {
    "pass": ("通过", "pass"), "fail": ("不通过", "fail"), "needs-review": ("需复核", "needs review"),
    "hard": ("必须回避", "hard"), "soft": ("尽量回避", "soft"),
    "OPTIMAL": ("最优", "optimal"), "FEASIBLE": ("可行", "feasible"), "INFEASIBLE": ("无可行方案", "infeasible"),
    "UNKNOWN": ("未知", "unknown"), "MODEL_INVALID": ("模型无效", "invalid model"),
    "error": ("错误", "error"), "warning": ("警告", "warning"), "info": ("提示", "note"),
    "staff": ("工作人员", "staff"), "analyst": ("分析人员", "analyst"), "admin": ("管理员", "admin"),
    "lock": ("锁定", "lock"), "forbid": ("排除", "forbid"), "waiver": ("豁免", "waiver"),
    "chair": ("组长", "chair"), "member": ("成员", "member"),
    "ok": ("成功", "ok"), "locked": ("已锁定", "locked"), "failed": ("失败", "failed"),
    "pending": ("待发送", "pending"), "sent": ("已发送", "sent"), "queued": ("排队中", "queued"),
    "cancelled": ("已取消", "cancelled"), "skipped": ("已跳过", "skipped"),
    "email": ("电子邮件", "e-mail"), "sms": ("短信", "SMS"), "mail": ("邮寄", "post"),
    "invitation": ("邀请", "invitation"), "notice": ("通知", "notice"), "reminder": ("催交", "reminder"),
    "optimal": ("最优", "optimal"), "random": ("随机抽取", "random draw"), "optimised": ("确定性优化", "optimised"),
    "long": ("长表", "long table"), "sheet": ("评分表", "score sheet"), "workbook": ("工作簿", "workbook"),
    "sign_in": ("登录", "sign in"), "sign_out": ("退出", "sign out"), "add": ("新增", "add"),
    "passwd": ("改密码", "new password"), "deactivate": ("停用", "deactivate"), "activate": ("启用", "activate"),
    "reactivate": ("重新启用", "reactivate"), "end_sessions": ("全部退出", "sign out everywhere"),
    "plan": ("组建专家组", "plan"), "publish": ("发布", "publish"), "import": ("导入", "import"),
    "draw": ("随机抽取", "draw"), "seed": ("种子", "seed"), "public": ("公开值", "public value"),
    "local": ("本地", "local"), "store": ("数据库", "store"),
    "ALL": ("全部", "all"), "all": ("全部", "all"),
    # the round's acts (audit log: the store's chained entries and the app's own log)
    "publication": ("发布专家组", "publication"), "run.plan": ("组建专家组", "plan"),
    "import_scores": ("导入评分", "score import"), "documents": ("生成公文", "documents"),
    "expert_links": ("生成专家链接", "expert links"), "reissue_link": ("重发专家链接", "link re-issued"),
    "revoke_links": ("撤销专家链接", "links revoked"), "packs": ("生成通知材料", "packs"),
    "review_decision": ("复核结论", "review decision"), "decision": ("复核结论", "review decision"),
    "round.create": ("新建轮次", "round created"), "round.settings": ("轮次设置", "round settings"),
    "waiver.remove": ("撤销豁免", "waiver removed"), "replacement": ("替换专家", "replacement"),
    "replace_expert": ("替换专家", "replacement"), "scores": ("评分", "scores"),
    "score_correction": ("更正评分", "score correction"), "score_sheet.refused": ("拒收评分表", "score sheet refused"),
    "seat.redraw": ("补抽", "redraw"), "seat_rule.remove": ("撤销锁定或排除", "lock/forbid removed"),
    "stage.advance": ("进入下一阶段", "stage advanced"), "subsidy": ("补助", "subsidy"),
    "evaluation": ("考核", "evaluation"), "opinions": ("专家意见", "opinions"),
    "panel_opinion": ("专家组意见", "panel opinion"), "ranking.publish": ("确认发布排名", "ranking signed off"),
    "register.centre": ("登记创新中心", "centre registered"), "register.tech_centre": ("登记技术中心", "tech centre registered"),
    "audit.baseline": ("存证起点", "audit baseline"), "constraint": ("锁定或排除", "lock or forbid"),
    "seat.invite": ("邀请专家", "invitation"), "seat.confirm": ("专家确认参加", "confirmed"),
    "seat.decline": ("专家谢绝", "declined"), "seat.expire": ("答复逾期", "no answer in time"),
    "seat.recuse": ("专家申请回避", "recusal"), "seat.recusal_decision": ("回避申请结论", "recusal decision"),
    "seat.refill_note": ("补抽说明", "refill note"), "seat.replaced": ("席位已替换", "seat replaced"),
    "draw.commit": ("抽取承诺", "draw committed"), "draw.reveal": ("抽取揭示", "draw revealed"),
    "up": ("上调", "up"), "down": ("下调", "down"), "same": ("不变", "same"),
}
BOOL_WORDS = {True: ("是", "yes"), False: ("否", "no")}
# float columns kept with 2 decimals even when every value happens to be whole (scores)
COLUMNS_2DP = {"score", "total", "ci_low", "ci_high", "low", "high", "affinity", "mean_affinity", "panel_median",
               "deviation", "mean_deviation", "A", "B", "C", "D", "E", "F", "effect", "raw_effect", "shrunk_effect"}

_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(\+00:00|Z)?$")
_CODE = re.compile(r"^[a-z]+([-_.][a-z]+)*$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_LONG_DECIMAL = re.compile(r"(?<![\w.])-?\d+\.\d{4,}(?!\d)")


def _short_number(m: re.Match) -> str:
    """A number in free text (evidence "1.8800%", a summary value) with at most 3 decimals, no trailing zeros."""
    return f"{float(m.group(0)):.3f}".rstrip("0").rstrip(".")


def label(col: str, lang: str = "zh") -> str:
    """The column's header: `text.COLUMNS`, else the key itself (the layout test finds those)."""
    zh, en = COLUMNS.get(col, (col, col))
    return zh if lang == "zh" else en


def local_stamp(value):
    """A stored time stamp as staff read it: Beijing time with the zone. The store keeps UTC, with or
    without the zone suffix (`models.utcnow` is naive UTC); anything else is returned as it is."""
    if not isinstance(value, str) or not _STAMP.match(value.strip()):
        return value
    s = value.strip().replace("Z", "+00:00")
    t = dt.datetime.fromisoformat(s)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(STAFF_TZ).strftime("%Y-%m-%d %H:%M") + " 北京时间"


@functools.lru_cache(maxsize=1 << 16)     # the same names and ids recur in every table of a page
def text_px(s: str) -> float:
    """Estimated width of `s` in the grid's 14 px font: wide (CJK) characters about 14.6 px, others 7.7 px."""
    # a little over the glyphs' width: an estimate that is short makes the grid wrap a word ("推荐认/定")
    return sum(14.6 if unicodedata.east_asian_width(ch) in "WF" else 7.7 for ch in s)


def number_kind(col: str) -> str:
    if col in PROB_COLS or col.startswith(PROB_PREFIXES):
        return "prob"
    if col in MONEY_COLS:
        return "money"
    return "float"


@dataclass
class Shown:
    """A table as shown: `data` (values as displayed), per column its kind, label and width in px,
    and the row height (None: one line)."""
    data: pd.DataFrame
    kinds: dict[str, str]
    labels: dict[str, str]
    widths: dict[str, int] = field(default_factory=dict)
    row_height: int | None = None


def _words(v, lang: str):
    if isinstance(v, (bool, np.bool_)):
        return BOOL_WORDS[bool(v)][0 if lang == "zh" else 1]
    if isinstance(v, (float, np.floating)) and not math.isnan(v):   # a number among text: at most 3 decimals
        return f"{float(v):.3f}".rstrip("0").rstrip(".") if not float(v).is_integer() else str(int(v))
    if isinstance(v, str) and v in VALUE_WORDS:
        return VALUE_WORDS[v][0 if lang == "zh" else 1]
    return v


def _shown_column(col: str, s: pd.Series, lang: str) -> tuple[pd.Series, str]:
    """The column's displayed values and kind: int, float (2 dp), prob (3 dp), money, text."""
    if pd.api.types.is_bool_dtype(s):
        # astype(object): an empty column keeps its bool type through map and would show check boxes
        return s.map(lambda v: _words(bool(v), lang) if pd.notna(v) else None).astype(object), "text"
    if pd.api.types.is_datetime64_any_dtype(s):
        tz = s.dt.tz
        u = s if tz is not None else s.dt.tz_localize("UTC")
        return u.dt.tz_convert(STAFF_TZ).dt.strftime("%Y-%m-%d %H:%M 北京时间"), "text"
    if pd.api.types.is_numeric_dtype(s):
        if ID_LIKE.search(col):
            return s.map(lambda v: None if pd.isna(v) else str(int(v)) if float(v).is_integer() else str(v)), "text"
        if pd.api.types.is_integer_dtype(s):
            return s.astype("Int64"), ("money" if col in MONEY_COLS else "int")
        vals = s.dropna()
        kind = number_kind(col)
        if kind == "float" and len(vals) and (vals == vals.round()).all() and col not in COLUMNS_2DP:
            return s.round().astype("Int64"), "int"
        return s.astype(float).round(3 if kind == "prob" else 2), kind
    # text (object) columns: words for codes and true/false, Beijing time for stamps, numbers as numbers
    vals = [v for v in s if v is not None and not (isinstance(v, float) and math.isnan(v)) and v != ""]
    if vals and all(isinstance(v, str) and _NUMBER.match(v) for v in vals) and not ID_LIKE.search(col) \
            and col not in ("row", "value"):
        num = pd.to_numeric(s.replace("", None), errors="coerce")
        return _shown_column(col, num, lang)
    out = s.map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) or v == ""
                else local_stamp(_words(v, lang)))
    if col == "action" and lang == "zh":   # an act this list does not know yet: said to be one, code kept
        out = out.map(lambda v: f"其他操作（{v}）" if isinstance(v, str) and _CODE.match(v) else v)
    # typed text reaches the store from many acts (reasons, evidence, opinions): shown here, it never keeps a
    # control character or a bidirectional override that hides or disguises it (files: reviewer.exports)
    out = out.map(lambda v: _LONG_DECIMAL.sub(_short_number, CONTROL_CHARACTERS.sub("", v)) if isinstance(v, str) else v)
    return out, "text"



def present(df: pd.DataFrame, cols=None, lang: str = "zh", width_px: int = MAIN_WIDTH, wrap: bool = True) -> Shown:
    """The table as staff see it (see the module doc): chosen columns, values, labels, fitted widths, long
    text broken into lines that fit its column (`wrap`; a static table, `styled`, wraps by itself)."""
    cols = [c for c in (cols or df.columns) if c in df.columns]
    data, kinds = {}, {}
    for c in cols:
        data[c], kinds[c] = _shown_column(c, df[c].reset_index(drop=True), lang)
    shown = pd.DataFrame(data, columns=cols)
    labels = {c: label(c, lang) for c in cols}
    widths = fit_widths(shown, kinds, labels, width_px)
    lines = 1
    for c in cols if wrap else ():
        # only free text is broken into lines; a short value ("推荐认定") or a link is never split
        if kinds[c] != "text" or c not in widths or c not in TEXT_WRAP:
            continue
        room = widths[c] - CELL_PAD
        if shown[c].map(lambda v: isinstance(v, str) and text_px(v) > room).any():
            shown[c] = shown[c].map(lambda v: wrap_text(v, room) if isinstance(v, str) else v)
            lines = max(lines, int(shown[c].map(lambda v: v.count("\n") + 1 if isinstance(v, str) else 1).max()))
    lines = min(MAX_LINES, lines)
    row_height = None if lines <= 1 else max(WRAP_ROW_MIN, 14 + LINE_PX * lines)
    return Shown(shown, kinds, labels, widths, row_height)


_UNIT = re.compile(r"[A-Za-z0-9_.,:;%+\-/@#&'()\[\]<>=≥≤~]+| |.", re.S)


def wrap_text(s: str, room: float) -> str:
    """`s` broken into lines of at most `room` px (estimated as in `text_px`): at spaces or between CJK
    characters, never inside a Latin word or a number. The grid breaks lines itself only at spaces and
    misjudges mixed CJK and digits (it measures a guessed prefix), so the app sends the breaks."""
    out, line, w = [], "", 0.0
    for part in s.split("\n"):
        for u in _UNIT.findall(part):
            uw = text_px(u)
            if line and w + uw > room:
                out.append(line.rstrip())
                line, w = ("", 0.0) if u == " " else (u, uw)
                continue
            line, w = line + u, w + uw
        out.append(line.rstrip())
        line, w = "", 0.0
    return "\n".join(out)


def _cell_text(v, kind: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return MISSING
    if kind == "prob":
        return f"{v:.3f}"
    if kind == "float":
        return f"{v:.2f}"
    if kind == "money":
        return f"{v:,.0f}"
    return str(v)


def fit_widths(shown: pd.DataFrame, kinds: dict[str, str], labels: dict[str, str], width_px: int) -> dict[str, int]:
    """Column widths (px) that fit `width_px`: each column as wide as its header and its longer values
    (the 90th percentile, so one very long cell does not widen the table). When that is too wide, the
    long-text columns (TEXT_WRAP: broken into lines) and long one-piece values (NO_BREAK: clipped, the
    cell's pop-up shows all) give up width down to their header's; identifiers, numbers and short words keep
    theirs. Only when even that does not fit are all narrowed in proportion."""
    natural, floor, full = {}, {}, {}
    for c in shown.columns:
        cells = [text_px(_cell_text(v, kinds[c])) for v in shown[c].head(500)]
        head = text_px(labels[c]) + 18   # the sort arrow beside the header
        p90 = sorted(cells)[int(0.9 * (len(cells) - 1))] if cells else 0
        natural[c] = math.ceil(max(head, p90, 24) + CELL_PAD) + 1
        full[c] = math.ceil(max(head, max(cells, default=0), 24) + CELL_PAD) + 1
        if c not in TEXT_WRAP and c not in NO_BREAK:   # short words: the longest one sets the width
            natural[c] = full[c]
        floor[c] = math.ceil(max(head + CELL_PAD, MIN_WRAP if c in TEXT_WRAP else 60))
    avail = width_px - 4
    if sum(full.values()) <= avail:     # every value on one line
        return full
    if sum(natural.values()) <= avail:
        # the room left goes to the free-text columns that want it, so their lines are broken for the width
        # they get (else the grid stretches every column by itself and the breaks fall short)
        spare = avail - sum(natural.values())
        want = {c: full[c] - natural[c] for c in shown.columns if c in TEXT_WRAP and full[c] > natural[c]}
        total = sum(want.values())
        widths = dict(natural)
        for c, w in want.items():
            widths[c] += min(w, int(spare * w / total))
        return widths
    give = [c for c in shown.columns if kinds[c] == "text" and (c in TEXT_WRAP or c in NO_BREAK)
            and natural[c] > floor[c]]
    keep = sum(natural[c] for c in shown.columns if c not in give)
    budget = avail - keep
    need = sum(floor[c] for c in give)
    if give and budget >= need:
        spare = budget - need
        slack = sum(natural[c] - floor[c] for c in give)
        widths = dict(natural)
        for c in give:
            widths[c] = floor[c] + int(spare * (natural[c] - floor[c]) / slack)
        return widths
    # last resort (short columns alone are too wide; the cells clip, nothing is broken): identifiers keep their width (a wrapped "GX20/26-0/01" is unreadable), the rest shrink
    ids = [c for c in shown.columns if ID_LIKE.search(c)]
    rest = [c for c in shown.columns if c not in ids]
    room = avail - sum(natural[c] for c in ids)
    total = sum(natural[c] for c in rest) or 1
    scale = max(0.0, room) / total
    widths = {**{c: natural[c] for c in ids}, **{c: max(40, int(natural[c] * scale)) for c in rest}}
    # the 40 px floor may overshoot: take the excess from the widest columns that are not identifiers
    for _ in range(len(rest)):
        over = sum(widths.values()) - avail
        if over <= 0 or not rest:
            break
        widest = max(rest, key=lambda c: widths[c])
        widths[widest] = max(40, widths[widest] - over)
    return widths


# ---------------------------------------------------------------- long text read whole (static tables)
# st.table renders every cell as Markdown: these characters would be read as markup ("*", "_", "[", "$" …)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>~$|:#!{}])")
_MD_LINE_START = re.compile(r"^(\s*)([-+]|\d+)([.)]?)(?=\s)", re.M)
SHORT_TEXT_PX = 150    # a text column whose every value is this narrow stays on one line
SHORT_HEAD_PX = 45     # a header this narrow (three characters) stays on one line whatever its values


WRAP_WANT_PX = 200     # a wrapped column asks for this much (about 13 CJK characters a line) …
WRAP_FLOOR_PX = 48     # … and gets at least this much (three characters)


def wrap_min_widths(shown: Shown, one_line: list[str], short_heads: list[str], width_px: int) -> dict[str, int]:
    """Minimum widths (px, text only) of the wrapped columns of a static table: the width left beside the
    one-line columns, shared in proportion to what each wants (its longest value, at most WRAP_WANT_PX)."""
    wrapped = [c for c in shown.data.columns if c not in one_line]
    fixed = sum(max(_longest_px(shown, c), text_px(shown.labels[c]) if c in short_heads else 0) + CELL_PAD
                for c in one_line)
    budget = width_px - fixed - CELL_PAD * len(wrapped)
    want = {c: min(WRAP_WANT_PX, max(WRAP_FLOOR_PX, _longest_px(shown, c))) for c in wrapped}
    total = sum(want.values()) or 1
    scale = min(1.0, max(0.0, budget) / total)
    return {c: int(max(WRAP_FLOOR_PX, want[c] * scale)) for c in wrapped}


def _longest_px(shown: Shown, c: str) -> float:
    return max((text_px(_cell_text(v, shown.kinds[c])) for v in shown.data[c]), default=0.0)


def markdown_safe(s: str) -> str:
    """`s` shown literally in a Markdown cell: markup characters escaped, a leading "- " or "1. " kept as text."""
    s = _MD_SPECIAL.sub(r"\\\1", s)

    def lead(m: re.Match) -> str:
        indent, mark, dot = m.groups()
        if mark in "-+":
            return f"{indent}\\{mark}{dot}"
        return f"{indent}{mark}\\{dot}" if dot else m.group(0)
    return _MD_LINE_START.sub(lead, s)


def styled(shown: Shown, width_px: int = MAIN_WIDTH):
    """`shown` for st.table, an HTML table that the browser lays out and wraps (the data grid draws on a
    canvas and clips long text): headers in words, numbers right-aligned with their decimals, missing values
    as "—", text escaped for Markdown; identifiers, numbers and short words on one line, so the long text
    columns take the rest of the width and wrap, each at least a share of that rest (`wrap_min_widths`: the
    browser would otherwise squeeze a name to one character a line)."""
    data = shown.data.copy()
    fmts, one_line, right = {}, [], []
    for c in data.columns:
        kind = shown.kinds[c]
        if kind == "text":
            data[c] = data[c].map(lambda v: markdown_safe(str(v)) if v is not None and v is not pd.NA
                                  and not (isinstance(v, float) and math.isnan(v)) else None).astype(object)
            longest = max((text_px(str(v)) for v in shown.data[c] if isinstance(v, str)), default=0)
            if ID_LIKE.search(c) or (c not in TEXT_WRAP and longest <= SHORT_TEXT_PX):
                one_line.append(c)
        else:
            fmts[c] = (lambda k: (lambda v: _cell_text(v, k)))("int" if kind == "int" else kind)
            one_line.append(c)
            right.append(c)
    names, seen = [], set()
    for c in data.columns:      # labels as headers, each once (the Styler needs unique columns)
        lab = shown.labels[c]
        while lab in seen:
            lab += " "
        seen.add(lab)
        names.append(lab)
    rename = dict(zip(data.columns, names))
    data = data.rename(columns=rename)
    sty = data.style.format({rename[c]: f for c, f in fmts.items()}, na_rep=MISSING)
    if one_line:
        sty = sty.set_properties(subset=[rename[c] for c in one_line], **{"white-space": "nowrap"})
    # a short header stays on one line ("总排名" broken in two reads badly); a long one over narrow values
    # ("C5 主管部门人员回避" over counts) wraps rather than widening the table
    short_heads = [c for c in one_line if text_px(shown.labels[c]) <= max(SHORT_HEAD_PX, _longest_px(shown, c))]
    if short_heads:
        sty = sty.set_table_styles({rename[c]: [{"selector": "th", "props": "white-space: nowrap"}]
                                    for c in short_heads}, overwrite=False)
    if right:
        sty = sty.set_properties(subset=[rename[c] for c in right], **{"text-align": "right"})
    # the rest wraps (Streamlit's cells do not by themselves); a long one-piece value (a hash, a link)
    # breaks anywhere rather than widening the table
    mins = wrap_min_widths(shown, one_line, short_heads, width_px)
    for c in shown.data.columns:
        if c not in one_line:
            sty = sty.set_properties(subset=[rename[c]], **{"white-space": "normal", "min-width": f"{mins[c]}px",
                                                           "overflow-wrap": "anywhere" if c in NO_BREAK else "break-word"})
    return sty
