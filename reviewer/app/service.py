"""What the staff app (`app.py`) calls: plain functions over a round, no Streamlit.

Every computation lives in `reviewer/` and `solver/`; this module only keeps a round's state
between calls and browser sessions. Until the round store (issue 5) is wired in, a round is a
folder under the app data folder::

    <data_dir>/rounds/<round_id>/
        round.json              name, reference date, created, demo or not
        sources.json            table -> [input file, sheet] of the imported inputs
        inputs/                 uploaded files, as uploaded
        store.json              which import of the store these inputs are
        plans/<stage>/          panels.csv, loads.csv, summary.csv, diagnostics.csv, coverage.csv, meta.json
        scores.csv              the long score table (panel, application_id, expert_id, criterion, score, ...)
        reference_panels.csv    assignments the demo scores were given under (demo round only)
        audit.jsonl             local log: planning runs, expert links, score imports (who, when, what)

The round store (reviewer.store, via reviewer.app.store) holds the record: each import, needs-review
decisions, waivers, locks and forbids, publications, replacements, submitted scores and the
hash-chained audit log. The folder keeps the working copies (files as uploaded, draft plans, the
score table used for analysis) and a local log of acts the chain has no action for (planning runs,
expert links, score imports).

The app data folder is ``$REVIEWER_APP_DATA`` or ``~/.local/share/mic-reviewer``.
"""
from __future__ import annotations

import datetime as dt
import getpass
import html
import json
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from reviewer.intake import schema
from reviewer.conflicts.detector import ConflictSet, detect_conflicts
from reviewer.screening.eligibility import ScreeningResult, screen
from reviewer.errors import UserError
from reviewer.intake.io import ImportReport, discover_sources, load_round, write_template
from reviewer.intake.model import Declaration, DeclarationKind, RoundData
from reviewer.demo.pipeline import DEMO_AS_OF
from reviewer.policy import Policy, load_policy

from reviewer.resources import DEMO_DIR  # noqa: E402
DEMO_ROUND_ID = "demo-2026"
_LOCK = threading.RLock()


# ---------------------------------------------------------------- folders and small files

def data_dir() -> Path:
    p = Path(os.environ.get("REVIEWER_APP_DATA") or Path.home() / ".local" / "share" / "mic-reviewer")
    p.mkdir(parents=True, exist_ok=True)
    return p


def _rounds() -> Path:
    p = data_dir() / "rounds"
    p.mkdir(parents=True, exist_ok=True)
    return p


def round_dir(round_id: str) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", round_id or ""):
        raise UserError(f"round id {round_id!r}: expected letters, digits, - or _")
    p = _rounds() / round_id
    if not (p / "round.json").exists():
        raise UserError(f"round {round_id!r} not found")
    return p


def _read(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


def _write(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


def audit(round_id: str, user: str | None, action: str, detail: dict | None = None) -> None:
    """Append one line to the round's local log (acts the store's audit chain has no action for;
    decisions, waivers, locks, publications and replacements are recorded in the chain by the store)."""
    rec = {"at": _now(), "user": user or _default_user(), "action": action, **(detail or {})}
    with _LOCK, open(round_dir(round_id) / "audit.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")


def audit_log(round_id: str) -> pd.DataFrame:
    """The round's acts, newest first: the store's hash-chained entries (source 存证) and the local log."""
    from reviewer.app import store as app_store

    p = round_dir(round_id) / "audit.jsonl"
    rows = [json.loads(l) for l in p.read_text(encoding="utf-8").splitlines() if l.strip()] if p.exists() else []
    local = pd.DataFrame(rows)
    for c in ("at", "user", "action"):
        if c not in local.columns:
            local[c] = pd.Series(dtype=object)
    if not local.empty:
        extra = [c for c in local.columns if c not in ("at", "user", "action")]
        local["detail"] = local[extra].apply(lambda r: "; ".join(f"{k}={v}" for k, v in r.items()
                                                                 if isinstance(v, (str, int, float, list)) and v == v
                                                                 and v != ""), axis=1) if extra else ""
        local["source"] = "本地 local"
        local = local.iloc[::-1]
    try:
        ch = app_store.audit_entries(round_id)
    except UserError:
        ch = pd.DataFrame()
    if not ch.empty:
        ch = ch.iloc[::-1]
        ch = pd.DataFrame({"at": pd.to_datetime(ch["time_utc"], utc=True).dt.tz_convert(None).dt.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                           "user": ch["user"], "action": ch["action"],
                           "detail": (ch["entity"] + "；" + ch["reason"]).str.strip("；") + "；" + ch["after"].astype(str).str.slice(0, 200),
                           "source": "存证 chained", "hash": ch["hash"].str.slice(0, 12)})
    out = pd.concat([x for x in (local, ch) if not x.empty], ignore_index=True) if (not local.empty or not ch.empty) \
        else pd.DataFrame(columns=["at", "user", "action", "detail", "source"])
    if "detail" not in out.columns:
        out["detail"] = ""
    return out.sort_values("at", ascending=False, kind="mergesort").reset_index(drop=True)


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


# ---------------------------------------------------------------- rounds

@dataclass
class RoundInfo:
    round_id: str
    name: str
    as_of: str | None
    created: str
    is_demo: bool = False
    note: str = ""


def _info(round_id: str) -> RoundInfo:
    d = _read(round_dir(round_id) / "round.json", {})
    return RoundInfo(d["round_id"], d["name"], d.get("as_of"), d.get("created", ""), d.get("is_demo", False),
                     d.get("note", ""))


def round_info(round_id: str) -> RoundInfo:
    return _info(round_id)


def ensure_demo_round() -> str:
    """The bundled demo round (reviewer/data/demo, dated 2026-11-01), created on first use."""
    with _LOCK:
        p = _rounds() / DEMO_ROUND_ID
        if (p / "round.json").exists():
            return DEMO_ROUND_ID
        tmp = Path(tempfile.mkdtemp(prefix="demo-", dir=_rounds()))
        (tmp / "inputs").mkdir()
        shutil.copy2(DEMO_DIR / "round2026.xlsx", tmp / "inputs" / "round2026.xlsx")
        src = discover_sources(tmp / "inputs" / "round2026.xlsx")
        _write(tmp / "sources.json", {k: [Path(v[0]).name, v[1]] for k, v in src.items()})
        if (DEMO_DIR / "scores.csv").exists():
            from reviewer.scoring.scoretable import read_table, validate_scores
            df, _ = validate_scores(read_table(DEMO_DIR / "scores.csv"), DEMO_DIR / "scores.csv", load_policy())
            df.to_csv(tmp / "scores.csv", index=False, encoding="utf-8")
        if (DEMO_DIR / "demo_panels.csv").exists():
            ref = pd.read_csv(DEMO_DIR / "demo_panels.csv", dtype=str)
            ref = ref.rename(columns={"阶段": "stage", "申报编号": "application_id", "专家编号": "expert_id",
                                      "角色": "role_zh"})
            ref.to_csv(tmp / "reference_panels.csv", index=False, encoding="utf-8")
        _write(tmp / "round.json", {"round_id": DEMO_ROUND_ID, "name": "2026年度制造业创新中心试点（演示）",
                                    "as_of": DEMO_AS_OF, "created": _now(), "is_demo": True,
                                    "note": "合成演示数据 synthetic demo data (reviewer/data/demo)"})
        try:
            tmp.rename(p)
        except OSError:  # another session made it first
            shutil.rmtree(tmp, ignore_errors=True)
        return DEMO_ROUND_ID


def list_rounds() -> list[RoundInfo]:
    ensure_demo_round()
    out = []
    for p in sorted(_rounds().iterdir()):
        if (p / "round.json").exists():
            out.append(_info(p.name))
    return sorted(out, key=lambda r: r.created, reverse=True)


def create_round(name: str, as_of: str | dt.date | None = None, copy_demo_inputs: bool = False,
                 user: str | None = None) -> RoundInfo:
    name = (name or "").strip()
    if not name:
        raise UserError("round name: expected a name, e.g. 2027年度制造业创新中心试点")
    if as_of:
        try:
            as_of = dt.date.fromisoformat(str(as_of)).isoformat()
        except ValueError:
            raise UserError(f"reference date {as_of!r}: expected YYYY-MM-DD") from None
    base = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:24] or "round"
    rid = f"r{dt.datetime.now():%Y%m%d%H%M%S}-{base}"[:64]
    k = 1
    while (_rounds() / rid).exists():
        k += 1
        rid = f"{rid[:60]}-{k}"
    p = _rounds() / rid
    (p / "inputs").mkdir(parents=True)
    if copy_demo_inputs:
        shutil.copy2(DEMO_DIR / "round2026.xlsx", p / "inputs" / "round2026.xlsx")
        src = discover_sources(p / "inputs" / "round2026.xlsx")
        _write(p / "sources.json", {k: [Path(v[0]).name, v[1]] for k, v in src.items()})
    _write(p / "round.json", {"round_id": rid, "name": name, "as_of": as_of or None, "created": _now(),
                              "is_demo": False})
    from reviewer.app import store as app_store
    app_store.ensure_round(rid, name, as_of or None, user)
    return _info(rid)


def last_round() -> str:
    rid = _read(data_dir() / "app_state.json", {}).get("round_id")
    if rid and (_rounds() / rid / "round.json").exists():
        return rid
    return ensure_demo_round()


def remember_round(round_id: str) -> None:
    round_dir(round_id)
    st = _read(data_dir() / "app_state.json", {})
    st["round_id"] = round_id
    _write(data_dir() / "app_state.json", st)


def policy_for(round_id: str) -> Policy:
    info = _info(round_id)
    policy = load_policy()
    if info.as_of:
        policy = policy.model_copy(update={"meta": policy.meta.model_copy(update={"as_of": info.as_of})})
    return policy


# ---------------------------------------------------------------- loading a round (memoised)

@dataclass
class Bundle:
    round_id: str
    policy: Policy
    data: RoundData          # with the store's waivers applied
    report: ImportReport
    sources: dict[str, list]
    raw: RoundData | None = None  # as imported


_MEMO: dict[tuple, Any] = {}


def _fingerprint(round_id: str, *names: str) -> tuple:
    d = round_dir(round_id)
    out = [str(d), round_id]
    for n in names:
        p = d / n
        out.append(p.stat().st_mtime_ns if p.exists() else 0)
    return tuple(out)


def _memo(key: tuple, make: Callable[[], Any]) -> Any:
    with _LOCK:
        if key in _MEMO:
            return _MEMO[key]
    val = make()
    with _LOCK:
        if len(_MEMO) > 64:
            _MEMO.clear()
        _MEMO[key] = val
    return val


def _sources(round_id: str) -> dict[str, list]:
    return _read(round_dir(round_id) / "sources.json", {})


def _store_version() -> int:
    from reviewer.app import store as app_store
    return app_store.version()


def _inputs(round_id: str) -> tuple[Policy, RoundData, ImportReport, dict]:
    """The round's inputs as imported, recorded in the store as its latest import when they change."""
    from reviewer.app import store as app_store

    key = ("inputs", *_fingerprint(round_id, "round.json", "sources.json"))

    def make():
        d = round_dir(round_id)
        info = _info(round_id)
        policy = policy_for(round_id)
        src = _sources(round_id)
        sources = {k: (d / "inputs" / v[0], v[1]) for k, v in src.items()}
        data, report = load_round(sources, policy)
        app_store.ensure_round(round_id, info.name, info.as_of)
        app_store.ensure_import(round_id, d, src, data, report)
        return policy, data, report, src

    return _memo(key, make)


def load_bundle(round_id: str) -> Bundle:
    key = ("bundle", *_fingerprint(round_id, "round.json", "sources.json"), _store_version())

    def make() -> Bundle:
        from reviewer.app import store as app_store

        policy, raw, report, src = _inputs(round_id)
        waivers = [Declaration(application_id=w["application_id"], expert_id=w["expert_id"],
                               kind=DeclarationKind.WAIVER, declared_by="工作人员", reason=w["reason"],
                               rule=w["rule"]) for w in app_store.waivers(round_id)]
        data = raw
        if waivers:
            data = raw.model_copy(update={"declarations": tuple(raw.declarations) + tuple(waivers)})
        return Bundle(round_id, policy, data, report, src, raw)

    return _memo(key, make)


# ---------------------------------------------------------------- import

TABLE_LABELS = {name: t.zh for name, t in schema.TABLES.items()}


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
    df["row"] = df["row"].astype("Int64")
    return df


def _table_of_file(name: str) -> str | None:
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
        safe = re.sub(r"[\\/:*?\"<>|]+", "_", Path(name).name)
        suffix = Path(safe).suffix.lower()
        if suffix not in (".xlsx", ".xlsm", ".csv"):
            raise UserError(f"{name}: unsupported file type {suffix!r}; expected .xlsx or .csv")
        p = folder / safe
        p.write_bytes(content)
        chosen = (table_for or {}).get(name)
        if chosen:
            if chosen not in schema.TABLES:
                raise UserError(f"{name}: unknown table {chosen!r}")
            new[chosen] = [f"{stamp}/{safe}", None]
            continue
        if suffix in (".xlsx", ".xlsm"):
            found = discover_sources(p) if not _table_of_file(safe) else {}
            found = {k: v for k, v in found.items() if v[0] == p and v[1] is not None}
            if found:
                for k, v in found.items():
                    new[k] = [f"{stamp}/{safe}", v[1]]
                continue
        t = _table_of_file(safe)
        if t is None:
            raise UserError(f"{name}: cannot tell which table this is; name the file after a table "
                            f"(e.g. 申报书.xlsx, experts.csv) or choose the table")
        new[t] = [f"{stamp}/{safe}", None]
    merged = {**_sources(round_id), **new}
    sources = {k: (d / "inputs" / v[0], v[1]) for k, v in merged.items()}
    _, report = load_round(sources, policy_for(round_id))
    applied, skipped = [], {}
    final = dict(_sources(round_id))
    for k, v in new.items():
        t = report.tables.get(k)
        if t is not None and t.missing_columns:
            skipped[k] = "缺少必填列 missing required columns: " + "、".join(t.missing_columns)
            continue
        final[k] = v
        applied.append(k)
    _write(d / "sources.json", final)
    audit(round_id, user, "import", {"files": [n for n, _ in files], "tables": applied, "skipped": skipped,
                                     "errors": sum(1 for i in report.all_issues if i.severity == "error")})
    return ImportOutcome(report, applied, skipped)


# ---------------------------------------------------------------- screening

OUTCOMES = ("pass", "fail", "needs-review")


def _decisions(round_id: str) -> list[dict]:
    from reviewer.app import store as app_store
    load_bundle(round_id)  # the round and its import are in the store
    return app_store.review_decisions(round_id)


def screening(round_id: str) -> ScreeningResult:
    key = ("screen", *_fingerprint(round_id, "round.json", "sources.json"), _store_version())

    def make():
        b = load_bundle(round_id)
        over = {(x["application_id"], x["rule"]): (x["outcome"], x["reason"]) for x in _decisions(round_id)}
        return screen(b.data, b.policy, over)

    return _memo(key, make)


def review_items(round_id: str) -> pd.DataFrame:
    """Checks that came out needs-review, with the staff decision taken on each (if any)."""
    b = load_bundle(round_id)
    raw = screen(b.data, b.policy).checks
    items = raw[raw["outcome"] == "needs-review"].copy()
    dec = {(x["application_id"], x["rule"]): x for x in _decisions(round_id)}
    items["decision"] = [dec.get((a, r), {}).get("outcome", "") for a, r in zip(items.application_id, items.rule)]
    items["decision_reason"] = [dec.get((a, r), {}).get("reason", "") for a, r in zip(items.application_id, items.rule)]
    items["decided_by"] = [dec.get((a, r), {}).get("user", "") for a, r in zip(items.application_id, items.rule)]
    return items.reset_index(drop=True)


def decide_review(round_id: str, application_id: str, rule: str, outcome: str, reason: str,
                  user: str | None = None) -> None:
    """Staff decision on a needs-review check: pass or fail, with a reason (audited)."""
    if outcome not in ("pass", "fail"):
        raise UserError(f"decision {outcome!r}: expected pass or fail")
    if not (reason or "").strip():
        raise UserError("a decision on a needs-review check needs a reason")
    items = review_items(round_id)
    if not ((items.application_id == application_id) & (items.rule == rule)).any():
        raise UserError(f"{application_id} {rule}: not a needs-review check of this round")
    from reviewer.app import store as app_store
    app_store.decide_review(round_id, application_id, rule, outcome, reason.strip(), user or _default_user())


# ---------------------------------------------------------------- experts and conflicts

def conflicts(round_id: str) -> ConflictSet:
    key = ("conflicts", *_fingerprint(round_id, "round.json", "sources.json"), _store_version())
    return _memo(key, lambda: detect_conflicts(load_bundle(round_id).data, load_bundle(round_id).policy))


def experts_table(data: RoundData) -> pd.DataFrame:
    rows = [{"expert_id": e.expert_id, "name": e.name, "category": e.category, "title_level": e.title_level,
             "employer": e.employer, "city": e.city, "fields": "、".join(e.fields), "status": e.status,
             "drawable": e.drawable} for e in data.experts]
    return pd.DataFrame(rows, columns=["expert_id", "name", "category", "title_level", "employer", "city", "fields",
                                       "status", "drawable"])


def pool_by_category(data: RoundData, policy: Policy) -> pd.DataFrame:
    df = experts_table(data)
    df["availability"] = np.where(df["drawable"], "可抽取", "不可抽取")
    out = df.groupby(["category", "availability"]).size().rename("n").reset_index()
    return out


def pool_by_field(data: RoundData) -> pd.DataFrame:
    rows = [{"field": f, "category": e.category} for e in data.experts if e.drawable for f in e.fields]
    df = pd.DataFrame(rows, columns=["field", "category"])
    return df.groupby(["field", "category"]).size().rename("n").reset_index()


def conflicts_overview(round_id: str) -> pd.DataFrame:
    """Per application: excluded experts, eligible experts, hits by rule."""
    cs = conflicts(round_id)
    b = load_bundle(round_id)
    per = cs.per_application()
    t = cs.table()
    if not t.empty:
        by_rule = t[t["excludes"]].groupby(["application_id", "rule"]).size().unstack(fill_value=0)
        by_rule = by_rule.drop(columns=["C7"], errors="ignore")
        per = per.merge(by_rule.reset_index(), on="application_id", how="left")
        per["waived"] = per["application_id"].map(t[t["waived"]].groupby("application_id").size()).fillna(0).astype(int)
    names = {a.application_id: a.name for a in b.data.applications}
    per.insert(1, "name", per["application_id"].map(names))
    return per.fillna(0)


def conflicts_of(round_id: str, application_id: str) -> pd.DataFrame:
    t = conflicts(round_id).table()
    t = t[t["application_id"] == application_id].copy()
    names = {e.expert_id: e.name for e in load_bundle(round_id).data.experts}
    t.insert(1, "expert_name", t["expert_id"].map(names))
    return t.reset_index(drop=True)


def add_waiver(round_id: str, application_id: str, expert_id: str, rule: str, reason: str,
               user: str | None = None) -> None:
    b = load_bundle(round_id)
    if rule not in b.policy.conflicts.waivable_rules:
        raise UserError(f"rule {rule}: only {', '.join(b.policy.conflicts.waivable_rules)} may be waived "
                        f"(policy conflicts.waivable_rules)")
    if not (reason or "").strip():
        raise UserError("a waiver needs a reason")
    hits = [h for h in conflicts(round_id).pair(expert_id, application_id) if h.rule == rule]
    if not hits:
        raise UserError(f"{expert_id} – {application_id}: no {rule} conflict to waive")
    from reviewer.app import store as app_store
    app_store.add_waiver(round_id, application_id, expert_id, rule, reason.strip(), user or _default_user())


def waivers(round_id: str) -> pd.DataFrame:
    from reviewer.app import store as app_store
    load_bundle(round_id)
    return pd.DataFrame(app_store.waivers(round_id), columns=["application_id", "expert_id", "rule", "reason", "user", "at"])


# ---------------------------------------------------------------- panels

PLAN_TABLES = ("panels", "loads", "summary", "diagnostics", "coverage")


@dataclass
class SavedPlan:
    stage: str
    panels: pd.DataFrame
    loads: pd.DataFrame
    summary: pd.DataFrame
    diagnostics: pd.DataFrame
    coverage: pd.DataFrame
    meta: dict

    @property
    def feasible(self) -> bool:
        return bool(self.meta.get("feasible"))

    @property
    def published(self) -> bool:
        return bool(self.meta.get("published"))

    def breakdown(self) -> pd.DataFrame:
        s = self.summary
        b = s[s["item"].astype(str).str.startswith("objective.")].copy()
        b["term"] = b["item"].str.slice(len("objective."))
        b["value"] = pd.to_numeric(b["value"], errors="coerce")
        return b[b["term"].isin(["affinity", "load_balance", "soft_conflict", "continuity"])][["term", "value"]]


def _plan_dir(round_id: str, stage: str) -> Path:
    policy = policy_for(round_id)
    if stage not in policy.stages.order:
        raise UserError(f"unknown stage {stage!r}; stages are {', '.join(policy.stages.order)}")
    return round_dir(round_id) / "plans" / stage


def saved_plan(round_id: str, stage: str) -> SavedPlan | None:
    load_bundle(round_id)  # the round is in the store
    d = _plan_dir(round_id, stage)
    if not (d / "meta.json").exists():
        return None
    frames = {}
    for t in PLAN_TABLES:
        p = d / f"{t}.csv"
        frames[t] = pd.read_csv(p, dtype={"application_id": str, "expert_id": str}) if p.exists() and p.stat().st_size > 1 \
            else pd.DataFrame()
    meta = _read(d / "meta.json", {})
    from reviewer.app import store as app_store
    pub = app_store.publication(round_id, stage)
    meta["published"] = pub is not None
    if pub is not None:
        meta["published_at"], meta["published_by"] = pub["at"], pub["by"]
    return SavedPlan(stage, meta=meta, **frames)


def _save_plan(round_id: str, stage: str, result, meta: dict) -> SavedPlan:
    d = _plan_dir(round_id, stage)
    d.mkdir(parents=True, exist_ok=True)
    for t in PLAN_TABLES:
        df = getattr(result, t)
        if t != "summary" and "stage" in df.columns:
            df = df[df["stage"] == stage]
        df.to_csv(d / f"{t}.csv", index=False, encoding="utf-8")
    _write(d / "meta.json", meta)
    return saved_plan(round_id, stage)


def constraints(round_id: str, stage: str | None = None) -> pd.DataFrame:
    from reviewer.app import store as app_store
    load_bundle(round_id)
    c = pd.DataFrame(app_store.seat_rules(round_id),
                     columns=["stage", "kind", "expert_id", "application_id", "reason", "user", "at"])
    return c if stage is None else c[c["stage"] == stage].reset_index(drop=True)


def _check_editable(round_id: str, stage: str) -> None:
    p = saved_plan(round_id, stage)
    if p is not None and p.published:
        raise UserError(f"{stage}: 已发布，不可更改 the plan is published and cannot change "
                        f"(replace a declining expert instead)")


def set_constraint(round_id: str, stage: str, kind: str, expert_id: str, application_id: str, reason: str,
                   user: str | None = None) -> None:
    """Lock (force) or forbid an expert-application pair in a stage; a manual pick needs a reason."""
    if kind not in ("lock", "forbid"):
        raise UserError(f"{kind!r}: expected lock or forbid")
    if not (reason or "").strip():
        raise UserError("a lock or forbid needs a reason (manual picks are recorded)")
    _check_editable(round_id, stage)
    b = load_bundle(round_id)
    ids_e = {e.expert_id for e in b.data.experts}
    ids_a = {a.application_id for a in b.data.applications}
    if expert_id not in ids_e:
        raise UserError(f"unknown expert id {expert_id!r}")
    if application_id not in ids_a:
        raise UserError(f"unknown application id {application_id!r}")
    from reviewer.app import store as app_store
    app_store.add_seat_rule(round_id, stage, kind, expert_id, application_id, reason.strip(), user or _default_user())


def remove_constraint(round_id: str, stage: str, expert_id: str, application_id: str, user: str | None = None) -> None:
    _check_editable(round_id, stage)
    from reviewer.app import store as app_store
    app_store.remove_seat_rule(round_id, stage, expert_id, application_id, user or _default_user())


def _other_stage_seats(round_id: str, stage: str) -> list[tuple[str, str, str]]:
    seats = []
    for s in policy_for(round_id).stages.order:
        if s == stage:
            continue
        p = saved_plan(round_id, s)
        if p is not None and p.feasible and not p.panels.empty:
            seats += [(s, e, a) for e, a in zip(p.panels.expert_id, p.panels.application_id)]
    return seats


def plan_stage(round_id: str, stage: str, *, randomize: bool = False, seed: int = 0, time_limit: float = 30.0,
               include_review: bool = False, echo: Callable[[str], None] = lambda s: None,
               user: str | None = None, action: str = "plan") -> SavedPlan:
    """Solve (or randomly draw) the panels of one stage with the round's locks and forbids, and
    save the result; other stages' saved panels stay fixed. The plan is a recorded store run
    (reviewer.store.runs.run_planning: one solver worker, deterministic), so a plan published from
    the app can be reproduced with `reviewer reproduce RUN_ID`. Infeasible results are saved too,
    with their plain-language reasons (diagnostics)."""
    from reviewer.app import store as app_store
    from reviewer.store.runs import run_planning

    if action == "plan":
        _check_editable(round_id, stage)
    if not 1 <= float(time_limit) <= 600:
        raise UserError(f"time limit {time_limit}: expected 1 to 600 seconds")
    b = load_bundle(round_id)  # also records the round's current inputs in the store
    c = constraints(round_id, stage)
    started = time.time()
    run, result = run_planning(app_store.store(), round_id, user=user or _default_user(), stages=[stage],
                               seed=int(seed), randomize=randomize, time_limit=float(time_limit), workers=1,
                               include_review=include_review, echo=echo,
                               fixed=_other_stage_seats(round_id, stage))
    plan = result.plan
    meta = {"stage": stage, "status": plan.status, "feasible": bool(plan.feasible), "path": plan.path,
            "seed": int(seed), "randomize": bool(randomize), "time_limit": float(time_limit),
            "objective": plan.objective, "gap": plan.gap, "wall_seconds": round(time.time() - started, 3),
            "locks": int((c.kind == "lock").sum()), "forbids": int((c.kind == "forbid").sum()),
            "include_review": include_review, "planned_at": _now(), "planned_by": user or _default_user(),
            "published": False, "policy_sha256": b.policy.sha256, "action": action, "run_id": run.id}
    saved = _save_plan(round_id, stage, result, meta)
    audit(round_id, user, action, {k: meta[k] for k in ("stage", "status", "seed", "randomize", "time_limit",
                                                        "locks", "forbids", "run_id")})
    return saved


def publish(round_id: str, stage: str, user: str | None = None) -> SavedPlan:
    p = saved_plan(round_id, stage)
    if p is None or not p.feasible:
        raise UserError(f"{stage}: no feasible plan to publish")
    if p.published:
        raise UserError(f"{stage}: already published")
    from reviewer.app import store as app_store
    app_store.publish(round_id, stage, p.panels, user or _default_user(),
                      reason=f"seed {p.meta.get('seed')}, {'random draw' if p.meta.get('randomize') else 'optimised'}",
                      run_id=p.meta.get("run_id"))
    return saved_plan(round_id, stage)


def diff_panels(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Seats removed and added between two panel tables (stage, application_id, expert_id)."""
    key = ["stage", "application_id", "expert_id"]
    cols = key + [c for c in ("expert_name", "category", "role_zh") if c in new.columns or c in old.columns]
    o = old[[c for c in cols if c in old.columns]].copy()
    n = new[[c for c in cols if c in new.columns]].copy()
    m = o.merge(n[key], on=key, how="left", indicator=True)
    removed = m[m["_merge"] == "left_only"].drop(columns="_merge").assign(change="removed")
    m = n.merge(o[key], on=key, how="left", indicator=True)
    added = m[m["_merge"] == "left_only"].drop(columns="_merge").assign(change="added")
    out = pd.concat([removed, added], ignore_index=True)
    out["change_zh"] = out["change"].map({"removed": "移出", "added": "补入"})
    return out.sort_values(["application_id", "change"], ascending=[True, False], ignore_index=True)


def replace_expert(round_id: str, stage: str, expert_id: str, application_id: str | None, reason: str,
                   time_limit: float = 30.0, user: str | None = None) -> tuple[SavedPlan, pd.DataFrame]:
    """An expert declines (one panel, or the whole stage when application_id is None): the solver's
    repair refills the seats changing as few other seats as possible (reviewer.panels.planning.repair_published).
    Works on a published plan too (the change is audited and the plan stays published)."""
    if not (reason or "").strip():
        raise UserError("replacing an expert needs a reason (e.g. 专家因故无法参加)")
    old = saved_plan(round_id, stage)
    if old is None or old.panels.empty:
        raise UserError(f"{stage}: no plan yet")
    p = old.panels
    hit = p[(p.expert_id == expert_id) & ((p.application_id == application_id) if application_id else True)]
    if hit.empty:
        raise UserError(f"{expert_id} is not on {'the panel of ' + application_id if application_id else 'any panel'} "
                        f"in {stage}")
    # The solver's repair: the declined seats are refilled changing as few other seats as possible
    # (lexicographically before affinity); every other stage stays as saved.
    from reviewer.panels.planning import repair_published

    b = load_bundle(round_id)
    c = constraints(round_id, stage)
    locks = [(stage, e, a) for e, a in zip(c[c.kind == "lock"].expert_id, c[c.kind == "lock"].application_id)
             if not (e == expert_id and (application_id is None or a == application_id))]
    forbids = [(stage, e, a) for e, a in zip(c[c.kind == "forbid"].expert_id, c[c.kind == "forbid"].application_id)]
    everything = pd.concat([p] + [sp.panels for s in b.policy.stages.order if s != stage
                                  for sp in [saved_plan(round_id, s)] if sp is not None and sp.feasible],
                           ignore_index=True)
    started = time.time()
    try:
        result, rep = repair_published(b.data, b.policy, everything, [(stage, expert_id, application_id)],
                                       time_limit=time_limit, locks=locks, forbids=forbids,
                                       conflicts=conflicts(round_id))
    except UserError as e:
        raise UserError(f"no replacement for {expert_id} fits the panel rules; the plan is unchanged. {e}") from None
    meta_new = {**old.meta, "status": result.plan.status, "feasible": True, "path": result.plan.path,
                "objective": result.plan.objective, "gap": result.plan.gap,
                "wall_seconds": round(time.time() - started, 3), "planned_at": _now(),
                "planned_by": user or _default_user(), "action": "replace",
                "run_id": None}  # repaired seats are no longer the recorded run's result
    saved = _save_plan(round_id, stage, result, meta_new)
    changes = diff_panels(old.panels, saved.panels)
    if old.published:
        from reviewer.app import store as app_store
        try:
            app_store.replace_seats(round_id, stage, changes, reason.strip(), user or _default_user(),
                                    load_bundle(round_id).data)
        except UserError:
            d = _plan_dir(round_id, stage)
            for t in PLAN_TABLES:
                getattr(old, t).to_csv(d / f"{t}.csv", index=False, encoding="utf-8")
            _write(d / "meta.json", old.meta)
            raise
    meta = {**saved.meta,
            "replacements": old.meta.get("replacements", []) + [
                {"expert_id": expert_id, "application_id": application_id, "reason": reason.strip(),
                 "at": _now(), "user": user or _default_user(), "changed_seats": int(len(changes) // 2)}]}
    _write(_plan_dir(round_id, stage) / "meta.json", meta)
    changes.to_csv(_plan_dir(round_id, stage) / f"changes-{dt.datetime.now():%Y%m%d%H%M%S}.csv", index=False)
    if not old.published:
        audit(round_id, user, "replace_expert", {"stage": stage, "expert_id": expert_id,
                                                 "application_id": application_id, "reason": reason.strip(),
                                                 "added": changes[changes.change == "added"].expert_id.tolist()})
    return saved_plan(round_id, stage), changes


def affinity_by_panel(plan: SavedPlan) -> pd.DataFrame:
    p = plan.panels
    if p.empty:
        return pd.DataFrame(columns=["application_id", "mean_affinity", "field_matched", "same_city"])
    return p.groupby("application_id").agg(mean_affinity=("affinity", "mean"), field_matched=("field_match", "sum"),
                                           same_city=("same_city", "sum")).reset_index()


def coverage_long(plan: SavedPlan, categories: list[str]) -> pd.DataFrame:
    c = plan.coverage
    if c.empty:
        return pd.DataFrame(columns=["application_id", "category", "n"])
    return c.melt(id_vars=["stage", "application_id"], value_vars=[x for x in categories if x in c.columns],
                  var_name="category", value_name="n")


# ---------------------------------------------------------------- round state

def round_state(round_id: str) -> pd.DataFrame:
    policy = policy_for(round_id)
    sc = scores(round_id)
    rows = []
    for s in policy.stages.order:
        p = saved_plan(round_id, s)
        n_scores = int((sc["panel"] == s).sum()) if not sc.empty else 0
        rows.append({"stage": s,
                     "planned": "—" if p is None else ("有方案" if p.feasible else "无可行方案"),
                     "published": "已发布" if p is not None and p.published else "未发布",
                     "panels": 0 if p is None or p.panels.empty else int(p.panels.application_id.nunique()),
                     "seed": "" if p is None else str(p.meta.get("seed", "")),
                     "scored": "已录入" if n_scores else "未录入",
                     "score_rows": n_scores})
    return pd.DataFrame(rows)


def round_overview(round_id: str) -> dict:
    b = load_bundle(round_id)
    counts = screening(round_id).counts() if b.data.applications else {}
    return {"applications": len(b.data.applications), "experts": len(b.data.experts),
            "drawable": sum(1 for e in b.data.experts if e.drawable),
            "pass": counts.get("pass", 0), "fail": counts.get("fail", 0), "review": counts.get("needs-review", 0),
            "import_errors": sum(1 for i in b.report.all_issues if i.severity == "error"),
            "as_of": b.policy.as_of_date().isoformat()}


# ---------------------------------------------------------------- scores

SCORE_COLS = ["panel", "application_id", "expert_id", "criterion", "score", "confidence"]


def scores(round_id: str) -> pd.DataFrame:
    p = round_dir(round_id) / "scores.csv"
    if not p.exists():
        return pd.DataFrame(columns=SCORE_COLS)
    key = ("scores", *_fingerprint(round_id, "scores.csv"))
    return _memo(key, lambda: pd.read_csv(p, dtype={"panel": str, "application_id": str, "expert_id": str,
                                                    "criterion": str}))


def assignments(round_id: str) -> pd.DataFrame:
    """Who was assigned to what, per stage: published plans, else the demo's reference panels."""
    load_bundle(round_id)
    frames = []
    policy = policy_for(round_id)
    ref_p = round_dir(round_id) / "reference_panels.csv"
    ref = pd.read_csv(ref_p, dtype=str) if ref_p.exists() else pd.DataFrame(columns=["stage", "application_id",
                                                                                      "expert_id"])
    from reviewer.app import store as app_store
    for s in policy.stages.order:
        pub = app_store.published_seats(round_id, s, include_replaced=True) \
            if app_store.publication(round_id, s) is not None else pd.DataFrame()
        if not pub.empty:
            frames.append(pub[["stage", "application_id", "expert_id", "status"]].assign(source="published"))
        elif (ref["stage"] == s).any():
            frames.append(ref[ref["stage"] == s][["stage", "application_id", "expert_id"]].assign(source="reference"))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["stage", "application_id",
                                                                                    "expert_id", "source"])
    out["status"] = out["status"].fillna("active") if "status" in out.columns else "active"
    return out


def _is_score_sheet(path: Path) -> bool:
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return False
    from openpyxl import load_workbook
    from reviewer.scoring.scoresheets import META, SHEET
    try:
        wb = load_workbook(path, read_only=True)
        return SHEET in wb.sheetnames and META in wb.sheetnames
    except Exception:
        return False


def _issue_rows(issues) -> list[dict]:
    return [{"file": Path(i.file).name, "row": i.row, "column": i.column,
             "value": None if i.value is None else str(i.value), "expected": i.expected, "severity": i.severity}
            for i in issues]


_LINE = re.compile(r"^(?P<file>.+?): row (?P<row>\d+), column (?P<col>'[^']*'|\S+)[^:]*: (?P<rest>.*)$")


def _line_rows(lines: list[str]) -> list[dict]:
    out = []
    for l in lines:
        m = _LINE.match(l)
        if m:
            out.append({"file": Path(m["file"]).name, "row": int(m["row"]), "column": m["col"].strip("'"),
                        "value": None, "expected": m["rest"], "severity": "error"})
        else:
            out.append({"file": "", "row": None, "column": None, "value": None, "expected": l, "severity": "error"})
    return out


def import_scores(round_id: str, files: list[tuple[str, bytes]], user: str | None = None,
                  only_expert: str | None = None) -> tuple[int, pd.DataFrame]:
    """Add returned score sheets (.xlsx made by the system) or long score tables (.csv/.xlsx with
    专家编号, 申报编号, 得分 ...). Scores by an expert not assigned to that application are rejected.
    New rows replace earlier rows of the same stage, application and expert.
    `only_expert`: an expert's own upload; rows of anyone else are rejected.
    Returns (rows added, issues table)."""
    from reviewer.scoring.scoretable import read_table, validate_scores
    from reviewer.scoring.scoresheets import import_score_sheets

    if not files:
        raise UserError("no file uploaded")
    policy = policy_for(round_id)
    asg = assignments(round_id)
    folder = round_dir(round_id) / "inputs" / f"scores-{dt.datetime.now():%Y%m%d-%H%M%S-%f}"
    folder.mkdir(parents=True)
    frames, issues = [], []
    for name, content in files:
        p = folder / re.sub(r"[\\/:*?\"<>|]+", "_", Path(name).name)
        p.write_bytes(content)
        if _is_score_sheet(p):
            res = import_score_sheets([p], policy, asg)
            issues += _issue_rows(res.issues)
            df = res.scores
            df = df[~df["void"].astype(bool)] if not df.empty else df
            frames.append(df.rename(columns={"stage": "panel"})[[c for c in SCORE_COLS if c in df.columns or c == "panel"]])
        else:
            try:
                raw = read_table(p)
                df, errs = validate_scores(raw, p, policy)
            except UserError as e:
                issues.append({"file": Path(name).name, "row": None, "column": None, "value": None,
                               "expected": str(e), "severity": "error"})
                continue
            issues += _line_rows(errs)
            if "panel" not in df.columns:
                issues.append({"file": Path(name).name, "row": None, "column": "阶段", "value": None,
                               "expected": "a 阶段/panel column naming the stage of each score", "severity": "error"})
                continue
            if not asg.empty and not df.empty:
                ok = set(zip(asg.stage, asg.application_id, asg.expert_id))
                stages_known = set(asg.stage)
                bad = [(i, r) for i, r in enumerate(df.itertuples(index=False))
                       if r.panel in stages_known and (r.panel, r.application_id, r.expert_id) not in ok]
                for i, r in bad[:200]:
                    issues.append({"file": Path(name).name, "row": None, "column": "专家编号", "value": r.expert_id,
                                   "expected": f"an expert assigned to {r.application_id} in {r.panel}; score rejected",
                                   "severity": "error"})
                if bad:
                    df = df.drop(index=[i for i, _ in bad]).reset_index(drop=True)
            frames.append(df)
    new = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SCORE_COLS)
    if only_expert is not None and not new.empty:
        other = new["expert_id"] != only_expert
        if other.any():
            issues.append({"file": "", "row": None, "column": "专家编号", "value": ", ".join(sorted(set(new.expert_id[other]))),
                           "expected": "your own scores only; these rows were rejected", "severity": "error"})
            new = new[~other]
    for c in SCORE_COLS:
        if c not in new.columns:
            new[c] = np.nan
    new = new[SCORE_COLS]
    if not new.empty:
        old = scores(round_id)
        keys = set(zip(new.panel, new.application_id, new.expert_id))
        if not old.empty:
            old = old[[k not in keys for k in zip(old.panel, old.application_id, old.expert_id)]]
        merged = pd.concat([old, new], ignore_index=True) if not old.empty else new
        merged.to_csv(round_dir(round_id) / "scores.csv", index=False, encoding="utf-8")
        from reviewer.app import store as app_store
        fam = {c.id: policy.rubric.family_of(c.id) for c in policy.rubric.criteria}
        rec = new.rename(columns={"panel": "stage"}).assign(family=new["criterion"].map(fam).fillna(""), void=False)
        load_bundle(round_id)
        app_store.submit_scores(round_id, rec, only_expert or user or _default_user(),
                                source=", ".join(n for n, _ in files))
    audit(round_id, only_expert or user, "import_scores", {"files": [n for n, _ in files], "rows": int(len(new)),
                                                            "errors": sum(1 for i in issues if i["severity"] == "error")})
    cols = ["severity", "file", "row", "column", "value", "expected"]
    out = pd.DataFrame(issues, columns=cols)
    out["row"] = out["row"].astype("Int64")
    return int(len(new)), out


def scored_stages(round_id: str) -> list[str]:
    sc = scores(round_id)
    order = policy_for(round_id).stages.order
    have = set(sc["panel"].dropna()) if not sc.empty else set()
    return [s for s in order if s in have]


def stage_scores(round_id: str, stage: str) -> pd.DataFrame:
    sc = scores(round_id)
    if sc.empty:
        return sc
    d = sc[sc["panel"] == stage].reset_index(drop=True)
    if "confidence" in d.columns and d["confidence"].isna().all():
        d = d.drop(columns=["confidence"])
    return d


def score_checks(round_id: str, stage: str) -> dict[str, pd.DataFrame]:
    """Outlier flags, systematic expert deviation and reliability of one stage's scores."""
    from reviewer.scoring.reliability import expert_deviation, flag_outliers, reliability_report

    key = ("checks", stage, *_fingerprint(round_id, "scores.csv", "round.json"))

    def make():
        d = stage_scores(round_id, stage)
        if d.empty:
            raise UserError(f"{stage}: no scores yet")
        policy = policy_for(round_id)
        fl = flag_outliers(d, policy)
        dev = expert_deviation(d)
        rel = reliability_report(d)
        return {"outliers": fl, "deviation": dev, "reliability": rel}

    return _memo(key, make)


def expert_totals_table(round_id: str, stage: str) -> pd.DataFrame:
    d = stage_scores(round_id, stage)
    if d.empty:
        return pd.DataFrame(columns=["application_id", "expert_id", "total"])
    return d.groupby(["application_id", "expert_id"], as_index=False)["score"].sum().rename(columns={"score": "total"})


# ---------------------------------------------------------------- ranking

RANK_METHODS = ("trimmed", "calibrated", "bayes")


def aggregate(round_id: str, stage: str, method: str = "trimmed", resamples: int | None = None) -> tuple[pd.DataFrame, list[str]]:
    from reviewer.scoring.scoretable import aggregate_scores

    key = ("agg", stage, method, resamples, *_fingerprint(round_id, "scores.csv", "round.json", "sources.json"))

    def make():
        d = stage_scores(round_id, stage)
        if d.empty:
            raise UserError(f"{stage}: no scores yet; import score sheets first")
        policy = policy_for(round_id)
        fields = {a.application_id: a.field for a in load_bundle(round_id).data.applications}
        d = d.assign(field=d["application_id"].map(fields))
        n = resamples if resamples is not None else min(policy.aggregation.bootstrap_resamples, 400)
        res, notes = aggregate_scores(d, policy, method, resamples=n)
        res["field"] = res["application_id"].map(fields)
        return res, notes

    return _memo(key, make)


def ranking(round_id: str, stage: str, method: str = "trimmed", budget: float | None = None) -> pd.DataFrame:
    """Recognition and cultivation lists with reasons and funding (reviewer.scoring.ranking), on the
    aggregated score of `method`; family subtotals (for the B minimum and tie-breaks) come from the
    trimmed mean of each expert's family sums. Applications that failed screening stay in the list."""
    from reviewer.scoring.ranking import recognition_ranking

    b = load_bundle(round_id)
    agg, _ = aggregate(round_id, stage, method)
    fam = [f.id for f in b.policy.rubric.families]
    if method != "trimmed":
        tr, _ = aggregate(round_id, stage, "trimmed")
        agg = agg.merge(tr[["application_id", *[f for f in fam if f in tr.columns]]], on="application_id", how="left")
    sc = screening(round_id).summary.set_index("application_id")
    rows = []
    by_id = agg.set_index("application_id")
    for a in b.data.applications:
        r = {"application_id": a.application_id, "name": a.name, "field": a.field,
             "eligible": bool(sc.loc[a.application_id, "outcome"] == "pass"),
             "ineligible_reason": sc.loc[a.application_id, "reasons"] or sc.loc[a.application_id, "outcome_zh"]}
        if a.application_id in by_id.index:
            x = by_id.loc[a.application_id]
            r["score"] = x["score"]
            for f in fam:
                r[f] = x.get(f, np.nan)
            for c in ("ci_low", "ci_high"):
                r[c] = x.get(c, np.nan)
        else:
            r["score"] = np.nan
            for f in fam:
                r[f] = np.nan
        rows.append(r)
    df = pd.DataFrame(rows)
    out = recognition_ranking(df, b.policy, total_budget=budget)
    extra = df[["application_id", "name", *[c for c in ("ci_low", "ci_high") if c in df.columns]]]
    out = out.drop(columns=[c for c in ("name", "ci_low", "ci_high") if c in out.columns]).merge(extra, on="application_id", how="left")
    return out


def compare_methods(round_id: str, stage: str, methods: Iterable[str] = RANK_METHODS) -> pd.DataFrame:
    """One row per application: score, interval and rank under each method, side by side."""
    out = None
    for m in methods:
        r, _ = aggregate(round_id, stage, m)
        part = r[["application_id", "field", "score", "rank", "ci_low", "ci_high"]].rename(
            columns={"score": f"score_{m}", "rank": f"rank_{m}", "ci_low": f"low_{m}", "ci_high": f"high_{m}"})
        out = part if out is None else out.merge(part.drop(columns=["field"]), on="application_id", how="outer")
    return out.sort_values(f"rank_{list(methods)[0]}", ignore_index=True)


def intervals_long(round_id: str, stage: str, methods: Iterable[str] = RANK_METHODS) -> pd.DataFrame:
    frames = []
    for m in methods:
        r, _ = aggregate(round_id, stage, m)
        frames.append(pd.DataFrame({"application_id": r.application_id, "field": r.field, "method": m,
                                    "score": r.score, "low": r.ci_low, "high": r.ci_high}))
    return pd.concat(frames, ignore_index=True)


RANKING_EXPORT_COLS = ["rank_overall", "rank_in_field", "application_id", "name", "field", "score", "ci_low",
                       "ci_high", "A", "B", "C", "D", "E", "F", "decision_zh", "reason_zh", "subsidy"]
RANKING_HEADERS_ZH = {"rank_overall": "总排名", "rank_in_field": "领域内排名", "application_id": "申报编号",
                      "name": "创新中心名称", "field": "领域", "score": "汇总得分", "ci_low": "区间下限",
                      "ci_high": "区间上限", "decision_zh": "结论", "reason_zh": "理由", "subsidy": "建议补助（元）",
                      "A": "A 创新资源", "B": "B 核心定位", "C": "C 协同化", "D": "D 市场化", "E": "E 产业化",
                      "F": "F 可持续"}


def _export_frame(rk: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in RANKING_EXPORT_COLS if c in rk.columns]
    return rk[cols].rename(columns=RANKING_HEADERS_ZH)


def export_ranking_xlsx(round_id: str, stage: str, method: str = "trimmed") -> bytes:
    from reviewer.exports import write_xlsx

    rk = ranking(round_id, stage, method)
    cmp_ = compare_methods(round_id, stage)
    sheets = {"认定排名": _export_frame(rk),
              "推荐认定": _export_frame(rk[rk["decision"] == "recommend"]),
              "培育名单": _export_frame(rk[rk["decision"] == "cultivation"]),
              "方法对比": cmp_}
    with tempfile.TemporaryDirectory() as tmp:
        p = write_xlsx(sheets, Path(tmp) / "ranking.xlsx")
        return p.read_bytes()


def export_ranking_html(round_id: str, stage: str, method: str = "trimmed") -> str:
    """A printable report (A4, Chinese), open in a browser and print to PDF."""
    info = round_info(round_id)
    rk = ranking(round_id, stage, method)
    b = load_bundle(round_id)

    def table(df: pd.DataFrame) -> str:
        return _export_frame(df).to_html(index=False, na_rep="", float_format=lambda x: f"{x:,.2f}", border=0,
                                          classes="t")

    rec, cul = rk[rk["decision"] == "recommend"], rk[rk["decision"] == "cultivation"]
    css = ("body{font-family:'Noto Sans CJK SC','Microsoft YaHei','SimSun',sans-serif;margin:2em;font-size:11pt}"
           "h1{font-size:16pt}h2{font-size:13pt;margin-top:1.5em}table.t{border-collapse:collapse;width:100%}"
           ".t th,.t td{border:1px solid #999;padding:3px 5px;text-align:left}.t th{background:#eee}"
           "@page{size:A4 landscape;margin:12mm}@media print{h2{page-break-before:auto}}")
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{html.escape(info.name)} 认定排名</title>"
            f"<style>{css}</style></head><body>"
            f"<h1>{html.escape(info.name)} — {html.escape(stage)} 认定排名报告</h1>"
            f"<p>汇总方法 method: {html.escape(method)}；推荐门槛 {b.policy.decision.recommend_min_score:g} 分，"
            f"培育门槛 {b.policy.decision.cultivation_min_score:g} 分；生成时间 {_now()}；"
            f"政策文件 SHA-256 {b.policy.sha256[:12]}…</p>"
            f"<h2>推荐认定名单（{len(rec)}）</h2>{table(rec)}"
            f"<h2>培育名单（{len(cul)}）</h2>{table(cul)}"
            f"<h2>全部申报排名（{len(rk)}）</h2>{table(rk)}"
            f"</body></html>")


# ---------------------------------------------------------------- packs (reviewer.documents.packs)

def published_experts(round_id: str, stage: str) -> pd.DataFrame:
    from reviewer.app import store as app_store
    seats = app_store.published_seats(round_id, stage) if app_store.publication(round_id, stage) else pd.DataFrame(
        columns=["expert_id"])
    ex = experts_table(load_bundle(round_id).data).rename(columns={"name": "expert_name"})
    return ex[ex["expert_id"].isin(set(seats["expert_id"]))][["expert_id", "expert_name", "category", "employer"]] \
        .reset_index(drop=True)


def make_packs(round_id: str, stage: str, user: str | None = None) -> dict:
    """Every expert's pack of a published stage (reviewer.documents.packs, from the store's published seats):
    the zip, the staff summary and a table of what each expert got."""
    from reviewer.app import store as app_store
    from reviewer.documents.packs import make_packs as _make

    load_bundle(round_id)
    if app_store.publication(round_id, stage) is None:
        raise UserError(f"{stage}: not published yet; packs are made from a published assignment only")
    with tempfile.TemporaryDirectory() as tmp:
        res = _make(app_store.store(), round_id, stage, tmp)
        names = {e.expert_id: e.name for e in load_bundle(round_id).data.experts}
        rows = [{"expert_id": e, "expert_name": names.get(e, ""), "files": len(fs),
                 "file_names": "、".join(p.name for p in fs)} for e, fs in sorted(res.packs.items())]
        out = {"zip": res.zip_path.read_bytes(), "zip_name": res.zip_path.name,
               "summary": res.summary_path.read_bytes(), "summary_name": res.summary_path.name,
               "n_experts": len(res.packs), "experts": pd.DataFrame(rows)}
    audit(round_id, user, "packs", {"stage": stage, "experts": out["n_experts"]})
    return out


# ---------------------------------------------------------------- the expert's own view

def expert_assignments(round_id: str, expert_id: str) -> pd.DataFrame:
    """Only this expert's seats in published plans: stage, application, role, date. Nothing about
    the other members of the panel or any scores."""
    policy = policy_for(round_id)
    b = load_bundle(round_id)
    apps = {a.application_id: a for a in b.data.applications}
    rows = []
    from reviewer.app import store as app_store
    from reviewer.panels.planning import ROLE_ZH
    for s in policy.stages.order:
        if app_store.publication(round_id, s) is None:
            continue
        seats = app_store.published_seats(round_id, s)
        mine = seats[seats["expert_id"] == expert_id]
        day = policy.stages.date_of(s)
        for r in mine.itertuples(index=False):
            a = apps.get(r.application_id)
            rows.append({"stage": s, "date": day.isoformat() if day else "", "application_id": r.application_id,
                         "name": a.name if a else "", "field": a.field if a else "",
                         "lead_city": a.lead_city if a else "", "role_zh": ROLE_ZH.get(r.role, r.role)})
    return pd.DataFrame(rows, columns=["stage", "date", "application_id", "name", "field", "lead_city", "role_zh"])


def expert_name(round_id: str, expert_id: str) -> str:
    try:
        return load_bundle(round_id).data.expert(expert_id).name
    except KeyError:
        return ""


def expert_score_sheet(round_id: str, expert_id: str, stage: str) -> bytes:
    from reviewer.scoring.scoresheets import write_score_sheet

    mine = expert_assignments(round_id, expert_id)
    mine = mine[mine["stage"] == stage]
    if mine.empty:
        raise UserError(f"no published assignment in {stage}")
    with tempfile.TemporaryDirectory() as tmp:
        p = write_score_sheet(Path(tmp) / "sheet.xlsx", policy_for(round_id), expert_id,
                              expert_name(round_id, expert_id), stage, mine[["application_id", "name", "field"]])
        return p.read_bytes()
