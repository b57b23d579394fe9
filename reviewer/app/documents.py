"""Official documents in the staff app (reviewer.documents.official): generate a round's documents
as a zip, and manage the editable templates in $REVIEWER_HOME/templates (download the one in use,
upload an edited one — checked by filling it before it is kept —, go back to the shipped one)."""
from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from docxtpl import DocxTemplate

from reviewer.app import store as app_store
from reviewer.app.imports import load_bundle
from reviewer.app.rounds import audit
from reviewer.documents.official import BY_NAME, KINDS, Kind, generate, override_folder, render, template_path
from reviewer.errors import UserError
from reviewer.home import private_folder

MAX_TEMPLATE_BYTES = 10 * 1024 * 1024


def kinds() -> list[Kind]:
    return list(KINDS)


def make_documents(round_id: str, stages: list[str], kind_keys: list[str], pdf: bool, user: str | None = None) -> dict:
    """The documents of the round as one zip (with what was skipped and why)."""
    load_bundle(round_id)
    with tempfile.TemporaryDirectory() as tmp:
        res = generate(app_store.store(), round_id, Path(tmp) / "out", stages=stages or None,
                       kinds=kind_keys or None, pdf=pdf)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for p in [*res.docx, *res.pdf]:
                z.write(p, p.relative_to(res.out).as_posix())
        out = {"zip": buf.getvalue(), "zip_name": f"公文_{round_id}.zip", "n_docx": len(res.docx),
               "n_pdf": len(res.pdf), "skipped": res.skipped}
    audit(round_id, user, "documents", {"stages": stages, "kinds": kind_keys, "docx": out["n_docx"]})
    return out


def template_state() -> list[dict]:
    return [{"kind": k.key, "name": k.name, "edited": template_path(k).parent == override_folder()} for k in KINDS]


def template_bytes(kind_key: str) -> bytes:
    return template_path(BY_NAME[kind_key]).read_bytes()


def save_template(kind_key: str, data: bytes) -> Path:
    """Keep an edited template after checking it is a .docx whose tags docxtpl can fill."""
    kind = BY_NAME[kind_key]
    if len(data) > MAX_TEMPLATE_BYTES:
        raise UserError(f"模板过大（超过 {MAX_TEMPLATE_BYTES // 1024 // 1024} MB）/ the template is too large")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "t.docx"
        src.write_bytes(data)
        try:
            DocxTemplate(str(src)).get_undeclared_template_variables()
        except Exception as e:  # noqa: BLE001 - any failure to read the upload is the user's file
            raise UserError(f"不是可用的 .docx 模板 not a usable .docx template: {type(e).__name__}: {e}") from None
        dst = private_folder(override_folder()) / f"{kind.name}.docx"
        trial = Path(tmp) / "trial.docx"
        old = dst.read_bytes() if dst.exists() else None
        dst.write_bytes(data)
        try:
            render(kind, {}, trial)
        except UserError:
            if old is None:
                dst.unlink()
            else:
                dst.write_bytes(old)
            raise
    return dst


def restore_template(kind_key: str) -> bool:
    """Back to the shipped template (the edited copy is removed); False when there was none."""
    own = override_folder() / f"{BY_NAME[kind_key].name}.docx"
    if own.exists():
        own.unlink()
        return True
    return False
