"""A round's inputs in the staff app: uploading files, the import report, and the round's data
(`load_bundle`, with the store's waivers applied), recorded in the store as an import when it changes."""
from __future__ import annotations

import datetime as dt
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reviewer.app import store as app_store
from reviewer.app.base import memo, read_json, user_text, write_json
from reviewer.app.rounds import audit, fingerprint, policy_for, round_dir
from reviewer.errors import UserError
from reviewer.intake import schema
from reviewer.intake.io import ImportReport, discover_sources, load_round, write_template
from reviewer.intake.model import Declaration, DeclarationKind, RoundData
from reviewer.policy import Policy

TABLE_LABELS = {name: t.zh for name, t in schema.TABLES.items()}


# ---------------------------------------------------------------- the round's data

@dataclass
class Bundle:
    round_id: str
    policy: Policy
    data: RoundData          # with the store's waivers applied
    report: ImportReport
    sources: dict[str, list]
    raw: RoundData | None = None  # as imported


def sources(round_id: str) -> dict[str, list]:
    """table -> [file under inputs/, sheet] of the inputs imported in the app."""
    return read_json(round_dir(round_id) / "sources.json", {})


def _inputs(round_id: str) -> tuple[Policy, RoundData, ImportReport, dict]:
    """The round's inputs as imported, recorded in the store as its latest import when they change."""
    key = ("inputs", *fingerprint(round_id, "sources.json"))

    def make():
        d = round_dir(round_id)
        policy = policy_for(round_id)
        src = sources(round_id)
        data, report = load_round({k: (d / "inputs" / v[0], v[1]) for k, v in src.items()}, policy)
        app_store.ensure_import(round_id, d, src, data, report)
        return policy, data, report, src

    return memo(key, make)


def store_version() -> int:
    return app_store.version()


def load_bundle(round_id: str) -> Bundle:
    """The round's data with the staff's waivers (memoised until the inputs or the store change)."""
    key = ("bundle", *fingerprint(round_id, "sources.json"), store_version())

    def make() -> Bundle:
        policy, raw, report, src = _inputs(round_id)
        waivers = [Declaration(application_id=w["application_id"], expert_id=w["expert_id"],
                               kind=DeclarationKind.WAIVER, declared_by="工作人员", reason=w["reason"],
                               rule=w["rule"]) for w in app_store.waivers(round_id)]
        data = raw
        if waivers:
            data = raw.model_copy(update={"declarations": tuple(raw.declarations) + tuple(waivers)})
        return Bundle(round_id, policy, data, report, src, raw)

    return memo(key, make)


# ---------------------------------------------------------------- import

def template_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        p = write_template(Path(tmp) / "template.xlsx")
        return p.read_bytes()


def import_summary(report: ImportReport) -> pd.DataFrame:
    rows = []
    for name, t in report.tables.items():
        rows.append({"table": name, "table_zh": t.table.zh, "file": Path(t.file).name, "sheet": t.sheet or "",
                     "rows": t.n_rows, "loaded": len(t.records), "rejected": t.n_rejected,
                     "missing_columns": "、".join(t.missing_columns)})
    return pd.DataFrame(rows, columns=["table", "table_zh", "file", "sheet", "rows", "loaded", "rejected",
                                       "missing_columns"])


def issues_table(report: ImportReport) -> pd.DataFrame:
    df = report.issues_frame()
    df["file"] = df["file"].map(lambda f: Path(str(f)).name if f else f)
    for c in ("expected", "message", "message_zh", "message_en", "value"):
        if c in df.columns:
            df[c] = df[c].map(lambda t: user_text(t) if isinstance(t, str) else t)
    df["row"] = df["row"].astype("Int64")
    return df


def table_of_file(name: str) -> str | None:
    """The table a file's name says it is (applications.csv, 专家库.xlsx ...), else None."""
    stem = Path(name).stem
    for t in schema.TABLES.values():
        if stem in (t.name, t.zh, *t.sheet_names):
            return t.name
    return None


@dataclass
class ImportOutcome:
    report: ImportReport
    applied: list[str]                       # tables whose source was replaced
    skipped: dict[str, str] = field(default_factory=dict)  # table -> why not replaced

    @property
    def summary(self) -> pd.DataFrame:
        return import_summary(self.report)

    @property
    def issues(self) -> pd.DataFrame:
        return issues_table(self.report)


def safe_name(name: str) -> str:
    return re.sub(r"[\\/:*?\"<>|]+", "_", Path(name).name)


def _tables_of_upload(p: Path, rel: str, chosen: str | None) -> dict[str, list]:
    """table -> [file, sheet] that one saved upload supplies."""
    name = p.name
    if chosen:
        if chosen not in schema.TABLES:
            raise UserError(f"{name}: unknown table {chosen!r}")
        return {chosen: [rel, None]}
    if p.suffix.lower() in (".xlsx", ".xlsm") and not table_of_file(name):
        found = {k: v for k, v in discover_sources(p).items() if v[0] == p and v[1] is not None}
        if found:
            return {k: [rel, v[1]] for k, v in found.items()}
    t = table_of_file(name)
    if t is None:
        raise UserError(f"{name}: cannot tell which table this is; name the file after a table "
                        f"(e.g. 申报书.xlsx, experts.csv) or choose the table")
    return {t: [rel, None]}


def import_files(round_id: str, files: list[tuple[str, bytes]], table_for: dict[str, str] | None = None,
                 user: str | None = None) -> ImportOutcome:
    """Save uploaded files in the round and load them with the round's other inputs.

    A workbook with one sheet per table (sheet names 申报书, 专家库 ...) supplies every table it
    has; another file is the table its name says (applications.csv, 专家库.xlsx ...) or the one
    chosen in `table_for` (file name -> table). A table whose file lacks a required column is not
    replaced (the previous input stays); bad rows are reported and the good rows load.
    """
    if not files:
        raise UserError("no file uploaded")
    d = round_dir(round_id)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    folder = d / "inputs" / stamp
    folder.mkdir(parents=True)
    new: dict[str, list] = {}
    for name, content in files:
        safe = safe_name(name)
        if Path(safe).suffix.lower() not in (".xlsx", ".xlsm", ".csv"):
            raise UserError(f"{name}: unsupported file type {Path(safe).suffix.lower()!r}; expected .xlsx or .csv")
        p = folder / safe
        p.write_bytes(content)
        new.update(_tables_of_upload(p, f"{stamp}/{safe}", (table_for or {}).get(name)))
    old = sources(round_id)
    merged = {**old, **new}
    _, report = load_round({k: (d / "inputs" / v[0], v[1]) for k, v in merged.items()}, policy_for(round_id))
    applied, skipped, final = [], {}, dict(old)
    for k, v in new.items():
        t = report.tables.get(k)
        if t is not None and t.missing_columns:
            skipped[k] = "缺少必填列 missing required columns: " + "、".join(t.missing_columns)
            continue
        final[k] = v
        applied.append(k)
    write_json(d / "sources.json", final)
    audit(round_id, user, "import", {"files": [n for n, _ in files], "tables": applied, "skipped": skipped,
                                     "errors": sum(1 for i in report.all_issues if i.severity == "error")})
    return ImportOutcome(report, applied, skipped)

