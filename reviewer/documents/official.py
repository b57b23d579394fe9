"""公文 The official documents of a stored round as .docx (and PDF), from templates staff can edit.

Kinds (issue 17 part 4): 公示 (list of centres proposed for recognition), 评审报告 (per published stage),
专家组意见表 (per application of a published stage), 签到表 and 劳务费发放表 (per published stage), 认定批复
(a draft per recommended centre). The values come from the store (reviewer.documents.round_facts)
and are formatted in reviewer.documents.contexts / stage_contexts.

Templates: the shipped ones are package data (reviewer/documents/templates/NAME.docx); a file of the
same name in $REVIEWER_HOME/templates wins, so staff change the wording there and the next generation
uses it (`reviewer documents --copy-templates` puts editable copies there). A template is a docxtpl
(Jinja) document: values are escaped, a template with a broken tag is refused with its name.
"""
from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from docxtpl import DocxTemplate
from jinja2 import TemplateError

from reviewer.documents import contexts, stage_contexts
from reviewer.documents.packs import _safe
from reviewer.documents.pdf import to_pdf
from reviewer.documents.round_facts import RoundFacts, read_round
from reviewer.errors import UserError
from reviewer.home import default_home, private_folder

TZ = ZoneInfo("Asia/Shanghai")
SHIPPED = Path(__file__).resolve().parent / "templates"
OVERRIDE_FOLDER = "templates"     # under $REVIEWER_HOME


@dataclass(frozen=True)
class Kind:
    key: str          # command-line name
    name: str         # Chinese name = template file name
    per_stage: bool   # one document (or one per application) per published stage


KINDS = (Kind("publicity", "公示", False), Kind("report", "评审报告", True), Kind("opinion", "专家组意见表", True),
         Kind("signin", "签到表", True), Kind("fees", "劳务费发放表", True), Kind("approval", "认定批复", False))
BY_NAME = {**{k.key: k for k in KINDS}, **{k.name: k for k in KINDS}}


class TemplateProblem(UserError):
    """A template that cannot be filled: always reported, never skipped."""


@dataclass
class Generated:
    out: Path
    docx: list[Path] = field(default_factory=list)
    pdf: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)     # what was not made, and why


def kinds_of(names: list[str] | None) -> list[Kind]:
    if not names:
        return list(KINDS)
    out = []
    for n in names:
        if n.strip() not in BY_NAME:
            raise UserError(f"未知文书 unknown document kind {n!r}: expected one of "
                            + ", ".join(f"{k.key} ({k.name})" for k in KINDS))
        out.append(BY_NAME[n.strip()])
    return out


def override_folder() -> Path:
    return default_home() / OVERRIDE_FOLDER


def template_path(kind: Kind) -> Path:
    """The staff's template in $REVIEWER_HOME/templates when there is one, else the shipped one."""
    own = override_folder() / f"{kind.name}.docx"
    return own if own.is_file() else SHIPPED / f"{kind.name}.docx"


def copy_templates() -> tuple[Path, list[Path]]:
    """Copy the shipped templates into $REVIEWER_HOME/templates for editing; an existing (edited)
    copy is kept. Returns the folder and the files copied now."""
    folder = private_folder(override_folder())
    made = []
    for k in KINDS:
        dst = folder / f"{k.name}.docx"
        if not dst.exists():
            shutil.copyfile(SHIPPED / f"{k.name}.docx", dst)
            made.append(dst)
    return folder, made


def render(kind: Kind, values: dict, path: Path) -> Path:
    """Fill `kind`'s template with `values` into `path`; a broken template is a clear error."""
    src = template_path(kind)
    try:
        doc = DocxTemplate(str(src))
        doc.render(values, autoescape=True)
        doc.save(str(path))
    except TemplateError as e:
        raise TemplateProblem(f"模板 {src} 有误 template error: {e} — 请检查 {{{{ }}}} 与 {{% %}} 标记是否完整 "
                        "(check the {{ }} and {% %} tags)") from None
    except (KeyError, ValueError, OSError) as e:
        raise TemplateProblem(f"模板 {src} 无法使用 cannot be used: {type(e).__name__}: {e}") from None
    return path


def _per_stage(f: RoundFacts, kind: Kind, stage: str, today: dt.date, out: Path) -> list[Path]:
    tag = f"{_safe(f.code)}_{_safe(stage)}"
    if kind.key == "opinion":
        folder = out / f"{kind.name}_{tag}"
        folder.mkdir(parents=True, exist_ok=True)
        return [render(kind, v, folder / f"{kind.name}_{_safe(a)}.docx")
                for a, v in stage_contexts.opinions(f, stage, today)]
    make = {"report": stage_contexts.report, "signin": stage_contexts.signin, "fees": stage_contexts.fees}[kind.key]
    return [render(kind, make(f, stage, today), out / f"{kind.name}_{tag}.docx")]


def _per_round(f: RoundFacts, kind: Kind, today: dt.date, out: Path) -> list[Path]:
    if kind.key == "publicity":
        return [render(kind, contexts.publicity(f, today), out / f"{kind.name}_{_safe(f.code)}.docx")]
    folder = out / f"{kind.name}_{_safe(f.code)}"
    folder.mkdir(parents=True, exist_ok=True)
    return [render(kind, v, folder / f"{kind.name}_{_safe(a)}.docx") for a, v in contexts.approvals(f, today)]


def generate(store, round_code: str, out: str | Path, *, stages: list[str] | None = None,
             kinds: list[str] | None = None, pdf: bool = True, today: dt.date | None = None) -> Generated:
    """Write the documents of round `round_code` into `out` (.docx, and PDF when `pdf`). Without
    `stages`: every published stage. A document asked for by name that cannot be made is an error;
    when everything is asked for, what cannot be made yet (a stage not published, no ranking) is
    listed in `skipped` with the reason."""
    f = read_round(store, round_code)
    chosen = kinds_of(kinds)
    for s in stages or []:
        f.stage(s)
    stage_list = stages or [s for s, st in f.stages.items() if st.published]
    today = today or dt.datetime.now(TZ).date()
    res = Generated(Path(out))
    res.out.mkdir(parents=True, exist_ok=True)
    for kind in chosen:
        jobs = [(kind, s) for s in stage_list] if kind.per_stage else [(kind, None)]
        for k, s in jobs:
            try:
                res.docx += _per_stage(f, k, s, today, res.out) if s else _per_round(f, k, today, res.out)
            except TemplateProblem:
                raise
            except UserError as e:
                if (k.per_stage and stages) or (not k.per_stage and kinds):
                    raise
                res.skipped.append(f"{k.name}{'（' + s + '）' if s else ''}：{e}")
    if not res.docx:
        raise UserError("没有可生成的文书 nothing to generate: " + "; ".join(res.skipped or ["no published stage"]))
    if pdf:
        res.pdf = to_pdf(res.docx)
    return res
