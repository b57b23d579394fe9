"""现场考察 inputs kept in the store, per round (table `site_inputs`, migration 0017):

    import_files(s, round, files, user=...)   validate and store files (all or nothing), audited with counts
    current(s, round) -> {kind: SiteInput}     the rows in force (the latest import of each kind)
    as_inputs(rows) -> SiteInputs              what the site planner reads
    refs(rows) / from_refs(s, refs)            what a site-plan run records, and its read-back for reproduce
    overview(s, round) -> DataFrame            one line per kind: file, entries, who, when, hash

The files go through the same validated readers as file mode (`reviewer.panels.site.inputs`: a bad row
refuses the file, naming file, row, column, value and what was expected). Every row is kept: a re-import
adds a row and stamps the one it replaces, so a run is reproduced from the rows it used (by id, their
content hash checked), not from whatever was imported later — the recorded form is a snapshot reference.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.panels.site.inputs import (SiteDetails, SiteInputs, read_holidays, read_sites, read_travel_limits,
                                         read_unavailable)
from reviewer.policy_process import VISIT_LENGTHS
from reviewer.store import audit, repo
from reviewer.store.models import Round
from reviewer.store.models_site import SiteInput

# kind -> (Chinese name, CLI option)
KINDS = {"unavailable": ("专家不可用日期", "--unavailable"), "sites": ("考察点", "--sites"),
         "travel_limits": ("专家出行限制", "--travel-limits"), "holidays": ("节假日", "--holidays")}
ACTION = "site_inputs.import"
OVERVIEW_COLUMNS = ["kind", "kind_zh", "file_name", "rows", "created_by", "created_at", "sha256", "replaces"]


def _content(kind: str, path: Path, r: Round, data) -> dict:
    """The file read by its validated reader, as JSON (dates as YYYY-MM-DD)."""
    experts = {e.expert_id for e in data.experts}
    if kind == "unavailable":
        return {e: sorted(d.isoformat() for d in ds) for e, ds in sorted(read_unavailable(path, experts).items())}
    if kind == "travel_limits":
        return dict(sorted(read_travel_limits(path, experts).items()))
    if kind == "holidays":
        return {d.isoformat(): "班" if work else "休" for d, work in sorted(read_holidays(path).items())}
    default = 1 + VISIT_LENGTHS.index(repo.round_policy(r).site_visit.visit_length)
    sites = read_sites(path, {a.application_id for a in data.applications}, default)
    return {a: {"halves": x.halves, "address": x.address, "contact": x.contact, "phone": x.phone,
                "fixed_day": x.fixed_day.isoformat() if x.fixed_day else None} for a, x in sorted(sites.items())}


def content_sha256(content: dict) -> str:
    return hashlib.sha256(audit.canonical(content).encode("utf-8")).hexdigest()


def _counts(before: dict | None, after: dict) -> dict:
    """What a re-import changed, by entry (expert, site or date)."""
    before = before or {}
    return {"added": sum(k not in before for k in after), "removed": sum(k not in after for k in before),
            "changed": sum(k in before and before[k] != v for k, v in after.items()),
            "unchanged": sum(k in before and before[k] == v for k, v in after.items())}


def import_files(s: Session, r: Round, files: dict[str, Path], *, user: str, names: dict[str, str] | None = None,
                 reason: str = "") -> list[dict]:
    """Validate every file first, then store them (a re-import replaces that kind; audited with the
    counts). `names`: the name to show for each file in errors and records instead of its path (an
    uploaded file's own name, never a server path). Returns one summary per file."""
    names = names or {}
    unknown = [k for k in files if k not in KINDS]
    if unknown or not files:
        raise UserError(f"未知或缺少现场考察输入类型 unknown or no site input kind {unknown}: 可用 known: "
                        + ", ".join(f"{k} ({zh})" for k, (zh, _) in KINDS.items()))
    data = repo.load_data(s, repo.latest_import(s, r).id)
    read = {}
    for kind, path in files.items():
        path = Path(path)
        shown = names.get(kind) or path.name
        try:
            read[kind] = (_content(kind, path, r, data), hashlib.sha256(path.read_bytes()).hexdigest(), shown)
        except UserError as e:   # name the file as the user knows it (an upload's temporary path is no use)
            raise UserError(str(e).replace(str(path), shown)) from None
    old = current(s, r)
    now = audit_time()
    out = []
    for kind, (content, file_sha, shown) in read.items():
        prev = old.get(kind)
        row = SiteInput(round_id=r.id, kind=kind, file_name=shown, file_sha256=file_sha, sha256=content_sha256(content),
                        rows=len(content), content=content, created_by=user, created_at=now)
        s.add(row)
        if prev is not None:
            prev.replaced_at = now
        s.flush()
        counts = _counts(prev.content if prev is not None else None, content)
        audit.record(s, user=user, action=ACTION, round_code=r.code, entity=f"{kind} {KINDS[kind][0]}: {shown}",
                     reason=reason or f"导入现场考察输入 {KINDS[kind][0]} site inputs imported",
                     before=None if prev is None else {"id": prev.id, "sha256": prev.sha256, "rows": prev.rows},
                     after={"id": row.id, "kind": kind, "file": shown, "file_sha256": file_sha, "sha256": row.sha256,
                            "rows": row.rows, **counts})
        out.append({"kind": kind, "kind_zh": KINDS[kind][0], "file_name": shown, "rows": row.rows, "id": row.id,
                    "replaces": prev.id if prev is not None else None, **counts})
    return out


def audit_time() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def current(s: Session, r: Round) -> dict[str, SiteInput]:
    rows = s.execute(select(SiteInput).where(SiteInput.round_id == r.id, SiteInput.replaced_at.is_(None))
                     .order_by(SiteInput.id)).scalars()
    return {x.kind: x for x in rows}


def as_inputs(rows: dict[str, SiteInput]) -> SiteInputs:
    """The stored rows as the planner's SiteInputs."""
    out = SiteInputs()
    if "unavailable" in rows:
        out.unavailable = {e: {dt.date.fromisoformat(d) for d in ds} for e, ds in rows["unavailable"].content.items()}
    if "travel_limits" in rows:
        out.max_consecutive = {e: int(n) for e, n in rows["travel_limits"].content.items()}
    if "holidays" in rows:
        out.holidays = {dt.date.fromisoformat(d): k == "班" for d, k in rows["holidays"].content.items()}
    if "sites" in rows:
        out.sites = {a: SiteDetails(int(x["halves"]), x.get("address") or "", x.get("contact") or "",
                                    x.get("phone") or "",
                                    dt.date.fromisoformat(x["fixed_day"]) if x.get("fixed_day") else None)
                     for a, x in rows["sites"].content.items()}
    # as a run's input files (reviewer verify-inputs re-hashes the file; the content hash is the stored one)
    out.files = [{"table": f"site_inputs:{k}", "file": x.file_name, "sha256": x.file_sha256,
                  "content_sha256": x.sha256, "id": x.id} for k, x in sorted(rows.items())]
    return out


def refs(rows: dict[str, SiteInput]) -> dict[str, dict]:
    """What a run records of the inputs it used: per kind the row id and its content hash."""
    return {k: {"id": x.id, "sha256": x.sha256} for k, x in sorted(rows.items())}


def from_refs(s: Session, recorded: dict | None) -> SiteInputs:
    """The inputs a run recorded (`refs`), read back by id; refused when a row is gone or its content no
    longer matches the recorded hash (changed outside the program)."""
    rows = {}
    for kind, ref in (recorded or {}).items():
        x = s.get(SiteInput, int(ref["id"]))
        if x is None or x.kind != kind or content_sha256(x.content) != ref["sha256"]:
            raise UserError(f"现场考察输入 {KINDS.get(kind, (kind,))[0]} (#{ref['id']}) 已不存在或内容与运行记录的哈希不一致 / "
                            f"the stored site input {kind} #{ref['id']} is missing or no longer matches the hash the "
                            "run recorded (changed outside the program)")
        rows[kind] = x
    return as_inputs(rows)


def overview(s: Session, r: Round) -> pd.DataFrame:
    """One line per kind in force: file, entries, who imported it and when, its hash, the row it replaced."""
    rows = current(s, r)
    earlier = {x.id: x for x in s.execute(select(SiteInput).where(SiteInput.round_id == r.id)).scalars()}
    out = []
    for kind, x in rows.items():
        replaced = [y.id for y in earlier.values() if y.kind == kind and y.replaced_at is not None]
        out.append({"kind": kind, "kind_zh": KINDS[kind][0], "file_name": x.file_name, "rows": x.rows,
                    "created_by": x.created_by, "created_at": x.created_at, "sha256": x.sha256[:12],
                    "replaces": max(replaced) if replaced else None})
    return pd.DataFrame(out, columns=OVERVIEW_COLUMNS)


def details(s: Session, r: Round, kind: str) -> pd.DataFrame:
    """The stored content of one kind as a table (for `site-inputs show` and the app)."""
    x = current(s, r).get(kind)
    if kind == "unavailable":
        rows = [{"expert_id": e, "date": d} for e, ds in (x.content if x else {}).items() for d in ds]
        return pd.DataFrame(rows, columns=["expert_id", "date"])
    if kind == "travel_limits":
        return pd.DataFrame([{"expert_id": e, "max_consecutive_days": n} for e, n in (x.content if x else {}).items()],
                            columns=["expert_id", "max_consecutive_days"])
    if kind == "holidays":
        return pd.DataFrame([{"date": d, "day_kind": k} for d, k in (x.content if x else {}).items()],
                            columns=["date", "day_kind"])
    cols = ["application_id", "visit_length", "address", "contact", "phone", "fixed_day"]
    return pd.DataFrame([{"application_id": a, "visit_length": VISIT_LENGTHS[int(v["halves"]) - 1],
                          "address": v["address"], "contact": v["contact"], "phone": v["phone"],
                          "fixed_day": v["fixed_day"] or ""} for a, v in (x.content if x else {}).items()], columns=cols)
