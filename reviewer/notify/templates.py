"""Message templates: Chinese text with ${name} fields, one file per message kind and channel.

    reviewer/data/notify/<kind>.email.txt    first line "主题：<subject>", then the body
    reviewer/data/notify/<kind>.sms.txt      one short text

Kinds: invitation, reminder, replacement_new, replacement_old, site_visit, reply_reminder (答复提醒),
score_chase (催交) (reviewer.store.outbox.KINDS).
A file of the same name in `$REVIEWER_HOME/notify_templates/` replaces the shipped one (`reviewer
notify templates` copies them there for editing). A field the template names but the message does not
have is a clear error naming the file and the field; the message is then marked failed, not sent
with a hole in it.
"""
from __future__ import annotations

import shutil
import string
from pathlib import Path

from reviewer.errors import UserError
from reviewer.home import default_home, private_folder
from reviewer.resources import DATA_DIR

SHIPPED = DATA_DIR / "notify"
OVERRIDE_FOLDER = "notify_templates"
SUBJECT_PREFIX = "主题："


def override_dir(home: Path | None = None) -> Path:
    return (home or default_home()) / OVERRIDE_FOLDER


def template_path(kind: str, channel: str, home: Path | None = None) -> Path:
    """The template in force: the override in $REVIEWER_HOME/notify_templates/ if any, else the shipped one."""
    name = f"{kind}.{channel}.txt"
    own = override_dir(home) / name
    if own.exists():
        return own
    shipped = SHIPPED / name
    if not shipped.exists():
        raise UserError(f"没有模板 no template {name} (shipped ones: {', '.join(sorted(p.name for p in SHIPPED.glob('*.txt')))})")
    return shipped


def render(kind: str, channel: str, context: dict, home: Path | None = None) -> tuple[str, str]:
    """(subject, body) of a message; the subject is "" for SMS."""
    path = template_path(kind, channel, home)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"模板无法读取 template {path} cannot be read: {e}") from None
    try:
        filled = string.Template(text).substitute({k: "" if v is None else str(v) for k, v in context.items()})
    except KeyError as e:
        raise UserError(f"模板 {path}: 字段 ${{{e.args[0]}}} 在此消息中没有值 the template names a field this message "
                        f"does not have; fields: {', '.join(sorted(context))}") from None
    except ValueError as e:
        raise UserError(f"模板 {path}: 格式错误 bad placeholder ({e}); write a field as ${{name}} and a $ as $$") from None
    if channel != "email":
        return "", " ".join(filled.split())
    first, _, body = filled.partition("\n")
    if not first.startswith(SUBJECT_PREFIX):
        raise UserError(f"模板 {path}: 第一行应为 the first line must be \"{SUBJECT_PREFIX}<subject>\"")
    return first.removeprefix(SUBJECT_PREFIX).strip(), body.lstrip("\n")


def copy_templates(home: Path | None = None, force: bool = False) -> list[Path]:
    """Copy the shipped templates to $REVIEWER_HOME/notify_templates/ for editing (never overwrites unless `force`)."""
    folder = private_folder(override_dir(home))
    out = []
    for src in sorted(SHIPPED.glob("*.txt")):
        dst = folder / src.name
        if force or not dst.exists():
            shutil.copyfile(src, dst)
            out.append(dst)
    return out
