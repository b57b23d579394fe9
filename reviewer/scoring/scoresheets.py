"""Score sheets (评分表): one workbook per expert per stage, generated from the rubric of the policy,
and the import of filled sheets back into a long score table with validation.

Layout of a sheet (`评分表`): one row per assigned application, one column per rubric criterion
with its maximum in the header (e.g. "A1 研发投入强度 (≤6)"), a total formula, confidence
(信心 1-5, optional) and comments. A hidden sheet `_meta` holds the expert id, stage and the
criterion ids, so a sheet can be read back whatever its file name. Excel data validation stops
out-of-range entries at typing time; the import checks them again, because sheets come back
edited by hand.

Signed sheets: a sheet issued for a stored round (`sheet_key`, the round's secret derived from the
store key outside the database and never written to the sheet) carries in `_meta` an HMAC-SHA256
over (round, expert, stage, applications, issue time, criteria, policy hash). Reading it back with
the key refuses the whole sheet when the signature is missing or does not match (e.g. `_meta!B1`
changed to another expert's id), and any row of an application the sheet was not issued for.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import html
import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.pagebreak import Break

from reviewer.errors import UserError
from reviewer.exports import Formula, put, put_row, seal
from reviewer.intake.io import ImportIssue, is_blank
from reviewer.policy import Policy
from reviewer.scoring.opinions import OPINION_COLUMNS, has_text, opinion_rule

SHEET = "评分表"
META = "_meta"
FIXED_COLUMNS = ("申报编号", "创新中心名称", "领域")
CONFIDENCE = "信心(1-5)"
COMMENT = "评审意见"
TOTAL = "合计"
SCORE_COLUMNS = ["stage", "application_id", "expert_id", "criterion", "family", "score", "confidence",
                 "file", "row", "void"]


def _print_setup(ws, title_rows: str | None = None) -> None:
    """Experts print their sheets: landscape, all columns on one page width, headers repeated."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    if title_rows:
        ws.print_title_rows = title_rows


PRINT_SHEET = "打印版"


def _print_sheet(wb, entry, policy: Policy, expert_id: str, expert_name: str, stage: str,
                 applications: pd.DataFrame, first_crit_col: int) -> None:
    """A portrait, one-application-per-page view for printing and signing: criteria as rows with
    their maximum, the score shown from the entry sheet by formula (so it is never typed twice)."""
    ps = wb.create_sheet(PRINT_SHEET)
    for col, w in zip("ABCDE", (14, 30, 10, 10, 30)):
        ps.column_dimensions[col].width = w
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    r = 1
    for i, (_, a) in enumerate(applications.iterrows()):
        entry_row = 3 + i
        put(ps, r, 1, f"{stage} 评分表").font = Font(bold=True, size=13)
        put(ps, r + 1, 1, f"申报 {a['application_id']}  {a.get('name', '')}  （{a.get('field', '')}）")
        put(ps, r + 2, 1, f"评审专家 {expert_name}（{expert_id}）")
        r += 4
        for k, h in enumerate(("类别", "评分项", "满分", "得分", "说明")):
            c = put(ps, r, k + 1, h)
            c.font, c.fill = bold, fill
        r += 1
        k = 0
        for fam in policy.rubric.families:
            for crit in fam.criteria:
                col = get_column_letter(first_crit_col + k)
                put(ps, r, 1, f"{fam.id} {fam.name}")
                put(ps, r, 2, f"{crit.id} {crit.name}")
                put(ps, r, 3, crit.max)
                put(ps, r, 4, Formula(f"=IF('{SHEET}'!{col}{entry_row}=\"\",\"\",'{SHEET}'!{col}{entry_row})"))
                r += 1
                k += 1
        put(ps, r, 2, "合计").font = bold
        put(ps, r, 3, policy.rubric.total)
        put(ps, r, 4, Formula(f"=IF(COUNT(D{r - k}:D{r - 1})=0,\"\",SUM(D{r - k}:D{r - 1}))"))
        r += 2
        put(ps, r, 1, "评审意见：")
        r += 3
        put(ps, r, 1, "评审专家签字：______________        日期：______年____月____日")
        r += 1
        if i < len(applications) - 1:
            ps.row_breaks.append(Break(id=r))
        r += 1
    ps.page_setup.orientation = "portrait"
    ps.page_setup.paperSize = ps.PAPERSIZE_A4
    ps.sheet_properties.pageSetUpPr.fitToPage = True
    ps.page_setup.fitToWidth = 1
    ps.page_setup.fitToHeight = 0


SIGNED_FIELDS = ("round", "expert_id", "stage", "applications", "issued_utc", "criteria", "policy_sha256")
SIGNATURE = "signature"


def sheet_signature(sheet_key: bytes, meta: dict) -> str:
    """HMAC-SHA256 under the round's sheet key over the signed `_meta` fields."""
    payload = json.dumps([str(meta.get(k) or "") for k in SIGNED_FIELDS], ensure_ascii=False)
    return hmac.new(sheet_key, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def criterion_header(c) -> str:
    """A criterion's column heading; a veto item says that 0 (不属实) puts the application out."""
    return f"{c.id} {c.name} (≤{c.max:g})" + ("【否决项：不属实记0分】" if getattr(c, "veto", False) else "")


def write_score_sheet(path: str | Path, policy: Policy, expert_id: str, expert_name: str, stage: str,
                      applications: pd.DataFrame, *, sheet_key: bytes | None = None, round_code: str = "",
                      issued_utc: str | None = None) -> Path:
    """One expert's sheet for one stage. `applications` has columns application_id, name, field.
    With `sheet_key` (a stored round's sheets) the `_meta` sheet is signed (see the module doc).
    `issued_utc`: the issue time recorded in `_meta` (default now)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    policy = policy.for_stage(stage) if stage in policy.stages.order else policy   # the stage's instrument
    crit = policy.rubric.criteria
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    put_row(ws, [f"{stage} 评分表 — 专家 {expert_name} ({expert_id})  满分 {policy.rubric.total:g}"])
    ws["A1"].font = Font(bold=True, size=13)
    headers = [*FIXED_COLUMNS, *(criterion_header(c) for c in crit), TOTAL, CONFIDENCE, COMMENT]
    put_row(ws, headers)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    first_crit_col = len(FIXED_COLUMNS) + 1
    last_crit_col = first_crit_col + len(crit) - 1
    for i, (_, a) in enumerate(applications.iterrows()):
        r = 3 + i
        for j, v in enumerate((a["application_id"], a.get("name", ""), a.get("field", "")), start=1):
            put(ws, r, j, v)
        first, last = get_column_letter(first_crit_col), get_column_letter(last_crit_col)
        put(ws, r, last_crit_col + 1, Formula(f"=IF(COUNT({first}{r}:{last}{r})=0,\"\",SUM({first}{r}:{last}{r}))"))
    n_last = 2 + len(applications)
    for k, c in enumerate(crit):
        col = get_column_letter(first_crit_col + k)
        dv = DataValidation(type="decimal", operator="between", formula1="0", formula2=f"{c.max:g}",
                            showErrorMessage=True, errorTitle="超出范围", error=f"{c.id} 得分应在 0 到 {c.max:g} 之间")
        ws.add_data_validation(dv)
        dv.add(f"{col}3:{col}{max(3, n_last)}")
    conf_col = get_column_letter(last_crit_col + 2)
    dv = DataValidation(type="whole", operator="between", formula1="1", formula2="5", allow_blank=True)
    ws.add_data_validation(dv)
    dv.add(f"{conf_col}3:{conf_col}{max(3, n_last)}")
    widths = [12, 30, 14] + [11] * len(crit) + [8, 9, 40]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.row_dimensions[2].height = 48
    ws.freeze_panes = ws.cell(3, first_crit_col)
    put(ws, n_last + 2, 1, "说明：每项在 0 至该项满分之间打分，可保留一位小数；未评的申报整行留空。"
                           f"{opinion_rule(policy).split(' / ')[0]}（“{COMMENT}”列）。评审专家须遵守保密与回避承诺。")
    put(ws, n_last + 4, 1, "评审专家签字：______________        日期：______年____月____日")
    _print_setup(ws, title_rows="1:2")
    _print_sheet(wb, ws, policy, expert_id, expert_name, stage, applications, first_crit_col)
    meta = wb.create_sheet(META)
    values = {"expert_id": expert_id, "stage": stage, "criteria": ",".join(c.id for c in crit),
              "policy_sha256": policy.sha256, "round": round_code,
              "applications": ",".join(sorted(str(a) for a in applications["application_id"])),
              "issued_utc": issued_utc or issued_now()}
    if sheet_key is not None:
        values[SIGNATURE] = sheet_signature(sheet_key, values)
    for key, value in values.items():   # expert_id stays in B1
        put_row(meta, [key, value])
    meta.sheet_state = "hidden"
    for sheet in wb.worksheets:
        seal(sheet)
    wb.save(path)
    return path


def issued_now() -> str:
    """A sheet's issue time as `_meta` records it (UTC, seconds)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class ScoreImport:
    scores: pd.DataFrame
    issues: list[ImportIssue] = field(default_factory=list)
    blank_sheets: list[tuple[str, str]] = field(default_factory=list)   # (file, expert id): nothing scored yet
    refused: list[dict] = field(default_factory=list)   # sheets whose signature failed (for the audit log)
    # 评审意见 per scored row (OPINION_COLUMNS; text may be blank: reviewer.scoring.opinions says when it is required)
    opinions: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=OPINION_COLUMNS))

    @property
    def has_errors(self) -> bool:
        return any(i.severity == "error" for i in self.issues)


def _number(v: Any) -> float | None:
    if is_blank(v):
        return None
    if isinstance(v, bool):
        raise ValueError
    if isinstance(v, (int, float)):
        return float(v)
    return float(str(v).strip())


def signature_refusal(path: Path, meta: dict, sheet_key: bytes) -> dict | None:
    """Why a sheet's signature fails (None when it holds): what the refusal names and audits."""
    sig = str(meta.get(SIGNATURE) or "")
    if not sig:
        why = "没有签名 it carries no signature (not issued by this system for this round, or its _meta was replaced)"
    elif not hmac.compare_digest(sig, sheet_signature(sheet_key, meta)):
        why = ("签名不符 its signature does not match: the hidden _meta sheet (expert, stage, applications) was changed "
               "after the sheet was issued, or the sheet was issued for another round")
    else:
        return None
    return {"file": path.name, "expert_id": str(meta.get("expert_id") or ""), "stage": str(meta.get("stage") or ""),
            "round": str(meta.get("round") or ""), "issued_utc": str(meta.get("issued_utc") or ""), "why": why}


def read_score_sheet(path: str | Path, policy: Policy, sheet_key: bytes | None = None) -> ScoreImport:
    """Read one filled sheet into long rows; every problem is an issue, good rows are kept. With
    `sheet_key`, a sheet whose signature fails is refused whole (`refused`), and rows of
    applications the sheet was not issued for are rejected."""
    path = Path(path)
    wb = _open_score_workbook(path)
    try:
        return _read_open_sheet(path, wb, policy, sheet_key)
    finally:
        wb.close()


def _read_open_sheet(path: Path, wb, policy: Policy, sheet_key: bytes | None) -> ScoreImport:
    meta = {r[0]: r[1] for r in wb[META].iter_rows(values_only=True) if r and r[0]}
    if sheet_key is not None:
        refusal = signature_refusal(path, meta, sheet_key)
        if refusal is not None:
            issue = ImportIssue(str(path), META, None, SIGNATURE, meta.get("expert_id"),
                                f"评分表签名校验失败，整表拒收 a score sheet signed for this round; {refusal['why']}. "
                                "The whole sheet was refused and the refusal is in the audit log")
            return ScoreImport(pd.DataFrame(columns=SCORE_COLUMNS), [issue], refused=[refusal])
    issued = {a for a in str(meta.get("applications") or "").split(",") if a} if sheet_key is not None else None
    expert_id, stage = str(meta.get("expert_id", "")), str(meta.get("stage", ""))
    policy = policy.for_stage(stage) if stage in policy.stages.order else policy   # the stage's instrument
    crit_by_id = {c.id: c for c in policy.rubric.criteria}
    ids = [c for c in str(meta.get("criteria", "")).split(",") if c]
    issues: list[ImportIssue] = []
    if ids != [c.id for c in policy.rubric.criteria]:
        issues.append(ImportIssue(str(path), META, None, "criteria", meta.get("criteria"),
                                  f"the rubric criteria of this policy ({','.join(crit_by_id)}); the sheet was made for another rubric"))
        return ScoreImport(pd.DataFrame(columns=SCORE_COLUMNS), issues)
    rows = list(wb[SHEET].iter_rows(values_only=True))
    if len(rows) < 2:   # the title and header rows were deleted
        issues.append(ImportIssue(str(path), SHEET, 2, None, None, "the header row as generated (row 2: 申报编号, "
                                  "创新中心名称, 领域 and the criteria); do not delete rows or columns"))
        return ScoreImport(pd.DataFrame(columns=SCORE_COLUMNS), issues)
    header = [str(h) if h is not None else "" for h in rows[1]]
    col = {h: i for i, h in enumerate(header)}
    crit_cols = [(c, col.get(criterion_header(crit_by_id[c]))) for c in ids]
    for c, i in crit_cols:
        if i is None:
            issues.append(ImportIssue(str(path), SHEET, 2, criterion_header(crit_by_id[c]), None,
                                      "the criterion column as generated (do not rename or delete columns)"))
    if any(i is None for _, i in crit_cols):
        return ScoreImport(pd.DataFrame(columns=SCORE_COLUMNS), issues)
    out, said = [], []
    seen: dict[str, int] = {}
    touched = False
    for r_idx, row in enumerate(rows[2:], start=3):
        app_id = row[0] if row else None
        if is_blank(app_id) or str(app_id).startswith("说明"):
            continue
        app_id = str(app_id).strip()
        values, bad = _row_scores(path, r_idx, row, crit_cols, crit_by_id, issues)
        if not any(x is not None for x in values.values()) and not bad:
            continue  # the expert did not score this application: absent, not zero
        touched = True
        if issued is not None and app_id not in issued:
            issues.append(ImportIssue(str(path), SHEET, r_idx, FIXED_COLUMNS[0], app_id,
                                      f"an application this sheet was issued for ({', '.join(sorted(issued))}); "
                                      "the row was rejected"))
            continue
        missing = [c for c, x in values.items() if x is None]
        if missing and not bad:
            issues.append(ImportIssue(str(path), SHEET, r_idx, criterion_header(crit_by_id[missing[0]]), None,
                                      f"a score for every criterion ({len(missing)} missing: {','.join(missing)}); "
                                      "a total from part of the rubric would not be comparable"))
            bad = True
        if not missing and not bad:
            bad = _total_mismatch(path, r_idx, row, col.get(TOTAL), values, issues)
        if app_id in seen:
            issues.append(ImportIssue(str(path), SHEET, r_idx, FIXED_COLUMNS[0], app_id,
                                      f"each application once per sheet; row {seen[app_id]} has it already"))
            continue
        seen[app_id] = r_idx
        if bad:
            continue
        confidence = _row_confidence(path, r_idx, row, col.get(CONFIDENCE), issues)
        said.append(_row_opinion(path, r_idx, row, col.get(COMMENT), stage, app_id, expert_id, sum(values.values())))
        for c in ids:
            out.append({"stage": stage, "application_id": app_id, "expert_id": expert_id, "criterion": c,
                        "family": policy.rubric.family_of(c), "score": values[c], "confidence": confidence,
                        "file": str(path), "row": r_idx, "void": False})
    return ScoreImport(pd.DataFrame(out, columns=SCORE_COLUMNS), issues,
                       blank_sheets=[] if touched else [(str(path), expert_id)],
                       opinions=pd.DataFrame(said, columns=OPINION_COLUMNS))


def _row_opinion(path: Path, r_idx: int, row: tuple, i: int | None, stage: str, app_id: str, expert_id: str,
                 total: float) -> dict:
    """The row's 评审意见 (stripped text, "" when blank) with the row's total."""
    v = row[i] if i is not None and i < len(row) else None
    text = str(v).strip() if has_text(v) else ""
    return {"stage": stage, "application_id": app_id, "expert_id": expert_id, "text": text, "total": total,
            "file": str(path), "row": r_idx}


def blank_sheets_line(blank: list[tuple[str, str]]) -> str:
    """The one line that names the sheets that came back without a single score."""
    who = "、".join(f"{e} ({Path(f).name})" for f, e in blank)
    return (f"{len(blank)} 张评分表未填写，未导入任何评分：{who} / {len(blank)} score sheet(s) blank "
            "(no application scored), nothing imported from them")


def _total_mismatch(path: Path, r_idx: int, row: tuple, i: int | None, values: dict[str, float],
                    issues: list[ImportIssue]) -> bool:
    """A 合计 cell that holds a number (typed over the formula, or the value Excel saved) must be
    the sum of the criterion scores; True (and an issue) when it is not."""
    v = row[i] if i is not None and i < len(row) else None
    try:
        x = _number(v)
    except ValueError:
        x = None
    total = sum(values.values())
    if x is None or abs(x - total) <= 1e-6:
        return False
    issues.append(ImportIssue(str(path), SHEET, r_idx, TOTAL, v,
                              f"合计应为各评分项之和 {total:g} / the sum of the criterion scores, {total:g}; "
                              "the row is rejected: check the scores and the total"))
    return True


def _open_score_workbook(path: Path):
    """The workbook of a score sheet of this system (UserError when it is unreadable or has no
    score sheet and meta sheet)."""
    try:
        wb = load_workbook(path, data_only=True, read_only=True)   # read-only: streamed, several times faster
    except Exception as e:
        raise UserError(f"{path}: not a readable .xlsx score sheet ({type(e).__name__})") from None
    if SHEET not in wb.sheetnames or META not in wb.sheetnames:
        wb.close()
        raise UserError(f"{path}: not a score sheet of this system (no {SHEET!r} / {META!r} sheet)")
    return wb


_SHEET_NAME = re.compile(r"<(?:\w+:)?sheet\b[^>]*\bname=\"([^\"]*)\"")


def is_score_sheet(path: str | Path) -> bool:
    """Whether `path` is an .xlsx with this system's score sheet and meta sheet, from the workbook's
    sheet list alone (the zip's xl/workbook.xml; no worksheet is parsed)."""
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return False
    try:
        with zipfile.ZipFile(path) as z:
            xml = z.read("xl/workbook.xml").decode("utf-8", errors="replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    names = {html.unescape(n) for n in _SHEET_NAME.findall(xml)}
    return SHEET in names and META in names


def _row_scores(path: Path, r_idx: int, row: tuple, crit_cols: list, crit_by_id: dict,
                issues: list[ImportIssue]) -> tuple[dict, bool]:
    """({criterion: score or None for blank}, whether a cell was bad) of one sheet row; a cell that
    is not a number within 0..max is an issue and left out of the scores."""
    values, bad = {}, False
    for c, i in crit_cols:
        v = row[i] if i < len(row) else None
        try:
            x = _number(v)
        except ValueError:
            issues.append(ImportIssue(str(path), SHEET, r_idx, criterion_header(crit_by_id[c]), v,
                                      f"a number from 0 to {crit_by_id[c].max:g}"))
            bad = True
            continue
        if x is not None and not (0 <= x <= crit_by_id[c].max) or (x is not None and math.isnan(x)):
            issues.append(ImportIssue(str(path), SHEET, r_idx, criterion_header(crit_by_id[c]), v,
                                      f"a score from 0 to {crit_by_id[c].max:g}"))
            bad = True
            continue
        values[c] = x
    return values, bad


def _row_confidence(path: Path, r_idx: int, row: tuple, conf_i: int | None,
                    issues: list[ImportIssue]) -> float | None:
    """The row's confidence (1 to 5), or None when blank; anything else is a warning and None."""
    conf = row[conf_i] if conf_i is not None and conf_i < len(row) else None
    if is_blank(conf):
        return None
    try:
        confidence = float(conf)
        if not 1 <= confidence <= 5:
            raise ValueError
    except ValueError:
        issues.append(ImportIssue(str(path), SHEET, r_idx, CONFIDENCE, conf, "1 to 5, or blank", "warning"))
        return None
    return confidence


def import_score_sheets(paths: list[str | Path], policy: Policy, assignments: pd.DataFrame, *,
                        sheet_key: bytes | None = None,
                        progress: Callable[[int, int, str], None] | None = None) -> ScoreImport:
    """Read filled sheets and check them against the published assignment.

    `assignments` has columns stage, application_id, expert_id and optionally `status`
    (active / replaced). A score by an expert not assigned to that application is rejected; a
    replaced expert's scores are kept but void (the replacement re-scores in full); the same
    expert-application-stage from two files is a duplicate and the second is rejected.
    `sheet_key` (the round's sheet key): each sheet's signature is checked (`read_score_sheet`).
    `progress(i, n, path)` is called after each sheet is read (i of n).
    """
    frames, issues, refused, said = [], [], [], []
    seen: dict[tuple[str, str, str], str] = {}
    status = {}
    for r in assignments.itertuples(index=False):
        status[(str(r.stage), str(r.expert_id), str(r.application_id))] = getattr(r, "status", "active") or "active"
    blank: list[tuple[str, str]] = []
    for i, p in enumerate(paths, start=1):
        try:
            res = read_score_sheet(p, policy, sheet_key)
        except Exception as e:  # noqa: BLE001 - one unreadable sheet is that file's issue; the others are read
            why = str(e).replace(str(p), Path(p).name) if isinstance(e, UserError) else type(e).__name__
            issues.append(ImportIssue(str(p), None, None, None, None, f"一个可读取的评分表 a readable score sheet "
                                      f"({why}); this file was skipped, the others were read"))
            res = ScoreImport(pd.DataFrame(columns=SCORE_COLUMNS), [])
        if progress is not None:
            progress(i, len(paths), str(p))
        issues += res.issues
        blank += res.blank_sheets
        refused += res.refused
        df = res.scores
        if df.empty:
            frames.append(df)
            continue
        keep = []
        for (stage, expert, app), g in df.groupby(["stage", "expert_id", "application_id"], sort=False):
            row = int(g["row"].iloc[0])
            st = status.get((stage, expert, app))
            if st is None:
                issues.append(ImportIssue(str(p), SHEET, row, FIXED_COLUMNS[0], app,
                                          f"an application assigned to expert {expert} in {stage}; this score was rejected"))
                continue
            if (stage, expert, app) in seen:
                issues.append(ImportIssue(str(p), SHEET, row, FIXED_COLUMNS[0], app,
                                          f"one sheet per expert and stage; already imported from {seen[(stage, expert, app)]}"))
                continue
            seen[(stage, expert, app)] = str(p)
            if st == "replaced":
                issues.append(ImportIssue(str(p), SHEET, row, FIXED_COLUMNS[0], app,
                                          f"scores of an active panel member; expert {expert} was replaced, "
                                          "so these scores are kept but void", "warning"))
                g = g.assign(void=True)
            keep.append(g)
        frames.append(pd.concat(keep) if keep else df.iloc[0:0])
        kept = {(g["stage"].iloc[0], g["expert_id"].iloc[0], g["application_id"].iloc[0]) for g in keep
                if not g["void"].astype(bool).any()}
        said += [o for o in res.opinions.to_dict("records") if (o["stage"], o["expert_id"], o["application_id"]) in kept]
    scores = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SCORE_COLUMNS)
    return ScoreImport(scores, issues, blank_sheets=blank, refused=refused,
                       opinions=pd.DataFrame(said, columns=OPINION_COLUMNS))


def expert_totals(scores: pd.DataFrame) -> pd.DataFrame:
    """Per (stage, application, expert): the total and family subtotals of valid (non-void) scores."""
    s = scores[~scores["void"].astype(bool)]
    tot = s.groupby(["stage", "application_id", "expert_id"], as_index=False).agg(
        score=("score", "sum"), confidence=("confidence", "first"))
    fam = s.pivot_table(index=["stage", "application_id", "expert_id"], columns="family", values="score",
                        aggfunc="sum").reset_index()
    return tot.merge(fam, on=["stage", "application_id", "expert_id"])
