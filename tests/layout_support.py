"""What the staff app sends to the browser, read back for the layout tests: every `st.dataframe` (its data,
column labels and number formats) and every chart spec, decoded from Streamlit's websocket messages
(ForwardMsg protobufs), and the checks a person would make by looking (tests/test_browser_layout.py)."""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field

import pyarrow as pa

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
SNAKE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)+$")
RAW_KEY = re.compile(r"^[a-z][a-z0-9]*$")        # a lowercase English word as a header: a raw key
LONG_DECIMAL = re.compile(r"(?<![\w.])-?\d+\.\d{4,}(?![\d])")
# headers that are names in their own right (no Chinese word for them is used in the reports)
HEADER_OK = {"SHA-256", "ICC(2,1)", "ICC(2,k)", "Kendall W", "Krippendorff α"}
# a code where a word belongs: lowercase English (pass, needs-review, hard) or a solver status (OPTIMAL)
RAW_CODE = re.compile(r"^([a-z]+([-_.][a-z]+)*|[A-Z]{2,}(_[A-Z]+)*)$")
# columns that hold user names (a user name may well be a lowercase word) or raw codes by design
CODE_OK_COLUMNS = {"user", "username", "actor", "decided_by", "recorded_by", "evaluated_by", "created_by", "by",
                   "published_by", "email", "address", "link", "file", "sheet", "column", "value", "SHA-256"}


@dataclass
class Table:
    labels: list[str]
    data: pa.Table
    formats: dict[str, str] = field(default_factory=dict)
    row_height: int = 0

    def problems(self) -> list[str]:
        out = []
        for lab in self.labels:
            if lab in HEADER_OK:
                continue
            if SNAKE.match(lab) or RAW_KEY.match(lab) or not CJK.search(lab):
                out.append(f"header {lab!r} is a raw key (no Chinese label)")
        for name, col in zip(self.data.column_names, self.data.columns):
            fmt = self.formats.get(name, "")
            values = col.to_pylist()
            if pa.types.is_floating(col.type):
                m = re.search(r"%\.(\d+)f", fmt)
                if m and int(m.group(1)) <= 3:
                    continue
                bad = [v for v in values if v is not None and v == v and abs(round(v, 3) - v) > 1e-9]
                if bad:
                    out.append(f"column {name!r}: float {bad[0]!r} shown with more than 3 decimals (format {fmt!r})")
            elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
                bad = [v for v in values if isinstance(v, str) and LONG_DECIMAL.search(v)]
                if bad:
                    out.append(f"column {name!r}: text {bad[0][:80]!r} holds a number with more than 3 decimals")
                raw = [v for v in values if v in ("True", "False", "None", "nan", "NaN", "<NA>", "NaT")]
                if raw:
                    out.append(f"column {name!r}: raw value {raw[0]!r}")
                codes = [v for v in values if isinstance(v, str) and RAW_CODE.match(v)]
                if codes and name not in CODE_OK_COLUMNS:
                    out.append(f"column {name!r}: code {codes[0]!r} shown instead of a word")
            elif pa.types.is_boolean(col.type):
                out.append(f"column {name!r}: true/false shown as a check box, not 是/否")
        return out


def _label(name: str, cfg: dict) -> str:
    c = cfg.get(name) or cfg.get(f"_pos:{name}") or {}
    return c.get("label") or name


def decode_frame(payload: bytes) -> list:
    """Tables and chart specs in one websocket message (a ForwardMsg)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = ForwardMsg()
    try:
        msg.ParseFromString(payload)
    except Exception:  # noqa: BLE001 - not a ForwardMsg (nothing of ours)
        return []
    if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return []
    el = msg.delta.new_element
    kind = el.WhichOneof("type")
    if kind == "dataframe" and el.dataframe.arrow_data.data:
        df = el.dataframe
        data = pa.ipc.open_stream(io.BytesIO(df.arrow_data.data)).read_all()
        cfg = json.loads(df.columns or "{}")
        order = list(df.column_order) or [c for c in data.column_names if not c.startswith("__index_level")]
        hidden = {n for n, c in cfg.items() if c and c.get("hidden")}
        names = [n for n in order if n in data.column_names and n not in hidden]
        formats = {n: ((cfg.get(n) or {}).get("type_config") or {}).get("format", "") or "" for n in names}
        return [Table([_label(n, cfg) for n in names], data.select(names), formats, int(df.row_height or 0))]
    if kind == "vega_lite_chart":
        return [json.loads(el.vega_lite_chart.spec)]
    return []


def chart_problems(spec: dict) -> list[str]:
    """Axis and legend titles in Chinese; category axes show every label (no overlap hiding)."""
    out = []

    def walk(node):
        if isinstance(node, dict):
            enc = node.get("encoding")
            if isinstance(enc, dict):
                for ch, e in enc.items():
                    if ch not in ("x", "y", "color", "size", "shape", "column", "row") or not isinstance(e, dict) \
                            or (ch in ("color", "size", "shape") and e.get("legend", {}) is None):
                        continue   # offsets have no axis; a channel without legend shows no title
                    title = e.get("title")
                    if "field" in e and title is not None and title != "" and not CJK.search(str(title)):
                        out.append(f"{ch} title {title!r} is not Chinese")
                    if "field" in e and title is None and "aggregate" not in e:
                        out.append(f"{ch} of field {e['field']!r} has no title (the raw field name shows)")
                    axis = e.get("axis")
                    if ch in ("x", "y") and e.get("type") == "nominal" and axis is not None and \
                            isinstance(axis, dict) and axis.get("labelOverlap", True) is not False and \
                            axis.get("labelAngle") is None:
                        out.append(f"{ch} axis of {e.get('field')!r} may hide labels (labelOverlap)")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(spec)
    return out
