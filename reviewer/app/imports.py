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
from reviewer.app.text import expected_zh
from reviewer.errors import UserError
from reviewer.intake import schema
from reviewer.intake.io import ImportReport, discover_sources, load_round, read_raw, sheet_names, write_template
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


def _inputs_key(round_id: str) -> tuple:
    return ("inputs", *fingerprint(round_id, "sources.json"))


def _inputs(round_id: str) -> tuple[Policy, RoundData, ImportReport, dict]:
    """The round's inputs as imported, recorded in the store as its latest import when they change."""
    key = _inputs_key(round_id)

    def make():
        d = round_dir(round_id)
        policy = policy_for(round_id)
        src = sources(round_id)
        data, report = load_round({k: (d / "inputs" / v[0], v[1]) for k, v in src.items()}, policy)
        app_store.ensure_import(round_id, d, src, data, report)
        return policy, data, report, src

    return memo(key, make)


def store_version() -> tuple[int, ...]:
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


def issues_table(report: ImportReport, files: set[str] | None = None,
                 offsets: dict[str, int] | None = None) -> pd.DataFrame:
    """The report's issues for staff: file names only, the expected value in Chinese too
    (`expected_zh`); `files` (saved paths) keeps the issues of those files only; `offsets` (saved
    path -> rows above the chosen header row) gives the row numbers of the file as uploaded."""
    df = report.issues_frame()
    if files is not None:
        df = df[df["file"].astype(str).isin(files)].reset_index(drop=True)
    if offsets:
        df["row"] = [r + offsets.get(str(f), 0) if pd.notna(r) else r for f, r in zip(df["file"], df["row"])]
    df["file"] = df["file"].map(lambda f: _shown_name(Path(str(f)).name) if f else f)
    for c in ("expected", "message", "message_zh", "message_en", "value"):
        if c in df.columns:
            df[c] = df[c].map(lambda t: user_text(t) if isinstance(t, str) else t)
    df["expected_zh"] = df["expected"].map(expected_zh)
    df["row"] = df["row"].astype("Int64")
    return df


HEADER_MARK = "__表头第"   # a saved copy read from a chosen header row: <name>__表头第N行.xlsx


def _shown_name(saved: str) -> str:
    """The upload's own name for a saved copy made from a chosen header row."""
    if HEADER_MARK in saved:
        stem, _, rest = saved.partition(HEADER_MARK)
        return stem + Path(rest).suffix
    return saved


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
    skipped: dict[str, str] = field(default_factory=dict)  # table or file -> why not imported
    files: set[str] = field(default_factory=set)           # the saved paths of this upload
    offsets: dict[str, int] = field(default_factory=dict)  # saved path -> rows above its chosen header

    @property
    def summary(self) -> pd.DataFrame:
        s = import_summary(self.report)
        return s[s["table"].isin(self.applied) | s["table"].isin(self.skipped)].reset_index(drop=True)

    @property
    def issues(self) -> pd.DataFrame:
        """The issues of this upload's files only (not those of data imported before)."""
        return issues_table(self.report, self.files, self.offsets)

    @property
    def other_issues(self) -> int:
        """How many issues the round's other, earlier imported files have."""
        return len(self.report.issues_frame()) - len(self.issues)


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
        raise UserError(f"{name}：无法判断是哪张表。请按表名命名文件（如 申报书.xlsx、专家库.csv），或在下方选择表、工作表和表头行 "
                        f"/ cannot tell which table this is: name the file after a table or choose the table, "
                        f"sheet and header row below")
    return {t: [rel, None]}


@dataclass(frozen=True)
class TableChoice:
    """Staff's reading of one uploaded file: which table it is, and for a workbook the sheet and the
    row of its header (1 = the first row)."""
    table: str
    sheet: str | None = None
    header_row: int = 1


def sheets_of(name: str, content: bytes) -> list[str]:
    """The sheet names of an uploaded workbook ([] for a CSV or an unreadable file)."""
    if Path(name).suffix.lower() not in (".xlsx", ".xlsm"):
        return []
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / safe_name(name)
        p.write_bytes(content)
        try:
            return sheet_names(p)
        except UserError:
            return []


def _from_header_row(p: Path, choice: TableChoice) -> tuple[Path, int]:
    """A copy of the chosen sheet whose first row is the chosen header row (rows above it dropped):
    (saved copy, rows dropped). The upload itself is kept as it came."""
    try:
        raw = pd.read_excel(p, sheet_name=choice.sheet or 0, header=None, dtype=object, engine="openpyxl")
    except Exception as e:  # noqa: BLE001 - any unreadable workbook is this file's problem
        raise UserError(f"{p.name}：无法读取工作表 {choice.sheet!r}（{type(e).__name__}） / cannot read sheet "
                        f"{choice.sheet!r}") from None
    skip = int(choice.header_row) - 1
    if not 0 <= skip < len(raw):
        raise UserError(f"{p.name}：表头行 {choice.header_row} 超出工作表范围（共 {len(raw)} 行） / header row "
                        f"{choice.header_row} is outside the sheet ({len(raw)} rows)")
    body = raw.iloc[skip:].reset_index(drop=True)
    out = p.with_name(f"{p.stem}{HEADER_MARK}{choice.header_row}行.xlsx")
    body.to_excel(out, sheet_name="data", header=False, index=False, engine="openpyxl")
    return out, skip


def _check_readable(sources: dict[str, list], folder: Path) -> None:
    """UserError naming the file when one of `sources` cannot be read at all."""
    for k, v in sources.items():
        read_raw(folder / v[0], schema.TABLES[k], v[1])


def _save_upload(folder: Path, stamp: str, name: str, content: bytes, choice: TableChoice | str | None,
                 offsets: dict[str, int]) -> dict[str, list]:
    """Save one upload and say which table(s) it supplies; UserError when it cannot be read."""
    safe = safe_name(name)
    if Path(safe).suffix.lower() not in (".xlsx", ".xlsm", ".csv"):
        raise UserError(f"{name}：不支持的文件类型 {Path(safe).suffix.lower()!r}，应为 .xlsx 或 .csv / unsupported "
                        "file type; expected .xlsx or .csv")
    p = folder / stamp / safe
    p.write_bytes(content)
    if isinstance(choice, str):
        choice = TableChoice(choice)
    if choice is not None and (choice.sheet or choice.header_row != 1):
        if choice.table not in schema.TABLES:
            raise UserError(f"{name}: unknown table {choice.table!r}")
        copy, skip = _from_header_row(p, choice)
        offsets[str(copy)] = skip
        new = {choice.table: [f"{stamp}/{copy.name}", None, skip]}   # [file, sheet, rows above the header]
    else:
        new = _tables_of_upload(p, f"{stamp}/{safe}", choice.table if choice else None)
    _check_readable(new, folder)
    return new


def import_files(round_id: str, files: list[tuple[str, bytes]], table_for: dict | None = None,
                 user: str | None = None) -> ImportOutcome:
    """Save uploaded files in the round and load them with the round's other inputs.

    A workbook with one sheet per table (sheet names 申报书, 专家库 ...) supplies every table it
    has; another file is the table its name says (applications.csv, 专家库.xlsx ...) or the one
    chosen in `table_for` (file name -> table name, or a TableChoice with the sheet and header row).
    A file that cannot be read, or whose table lacks a required column, is not imported (the previous
    input stays) and says why; the other files are imported. Bad rows are reported, good rows load.
    The outcome's issues are those of this upload's files, not of data imported before.
    """
    if not files:
        raise UserError("no file uploaded")
    d = round_dir(round_id)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    (d / "inputs" / stamp).mkdir(parents=True)
    new: dict[str, list] = {}
    skipped: dict[str, str] = {}
    offsets: dict[str, int] = {}
    for name, content in files:
        try:
            new.update(_save_upload(d / "inputs", stamp, name, content, (table_for or {}).get(name), offsets))
        except UserError as e:
            saved = str(d / "inputs" / stamp / safe_name(name))
            skipped[name] = user_text(str(e), {saved: Path(name).name})
    old = sources(round_id)
    merged = {**old, **new}
    policy = policy_for(round_id)
    data, report = load_round({k: (d / "inputs" / v[0], v[1]) for k, v in merged.items()}, policy)
    applied, final = [], dict(old)
    for k, v in new.items():
        t = report.tables.get(k)
        if t is not None and t.missing_columns:
            skipped[k] = "缺少必填列 missing required columns: " + "、".join(t.missing_columns)
            continue
        final[k] = v
        applied.append(k)
    if final == merged:
        # what was just read IS the round's inputs now: record it in the store as the round's import in this
        # act (by the staff member who imported; refused, e.g. breaking a published seat, before the round's
        # sources change), and keep it for the next page, which would otherwise read every file again (~1 s
        # for the demo workbook). Keyed by sources.json as written, so a later import makes a new key.
        app_store.ensure_import(round_id, d, final, data, report, user)
    write_json(d / "sources.json", final)
    if final == merged:
        memo(_inputs_key(round_id), lambda: (policy, data, report, final))
    audit(round_id, user, "import", {"files": [n for n, _ in files], "tables": applied, "skipped": skipped,
                                     "errors": sum(1 for i in report.all_issues if i.severity == "error")})
    mine = {str(d / "inputs" / v[0]) for v in new.values()}
    return ImportOutcome(report, applied, skipped, mine, {k: v for k, v in offsets.items() if k in mine})


def current_offsets(round_id: str) -> dict[str, int]:
    """Saved path -> rows above the chosen header row, of the round's current inputs."""
    d = round_dir(round_id)
    return {str(d / "inputs" / v[0]): int(v[2]) for v in sources(round_id).values() if len(v) > 2 and v[2]}
