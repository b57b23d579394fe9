"""PDF versions of .docx documents by LibreOffice headless (`soffice --headless --convert-to pdf`).

Each conversion runs with its own LibreOffice profile (-env:UserInstallation in a fresh temporary
folder), so parallel runs (two staff, the app and a command) never collide on a profile lock, and
with its own fontconfig file that maps the Chinese office fonts the templates name (宋体, 仿宋, 黑体,
楷体 and their Latin names) to the Noto CJK SC fonts Debian ships (fonts-noto-cjk): the PDF shows
simplified Chinese glyphs, not a fallback font. A missing LibreOffice, a conversion that takes longer
than the time limit or a file LibreOffice did not write is a clear error (in Chinese first).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from reviewer.errors import UserError

SOFFICE_NAMES = ("soffice", "libreoffice")
SECONDS_PER_FILE = 20
BASE_SECONDS = 90
SERIF, SANS = "Noto Serif CJK SC", "Noto Sans CJK SC"
FONT_MAP = {"宋体": SERIF, "SimSun": SERIF, "仿宋": SERIF, "FangSong": SERIF, "仿宋_GB2312": SERIF,
            "楷体": SERIF, "KaiTi": SERIF, "黑体": SANS, "SimHei": SANS, "微软雅黑": SANS, "Microsoft YaHei": SANS}
MISSING = ("未找到 LibreOffice，无法生成 PDF（.docx 已生成）。请安装 LibreOffice（Debian: apt-get install "
           "libreoffice-writer fonts-noto-cjk），或用 --no-pdf 只生成 .docx / LibreOffice (soffice) is not installed: "
           "the .docx files were written; install it for the PDF versions or pass --no-pdf")


def soffice() -> str | None:
    """The LibreOffice program ($REVIEWER_SOFFICE, else soffice or libreoffice on PATH), or None."""
    own = os.environ.get("REVIEWER_SOFFICE")
    if own:
        return own if shutil.which(own) else None
    return next((p for p in map(shutil.which, SOFFICE_NAMES) if p), None)


def fonts_conf(folder: Path) -> Path:
    """A fontconfig file: the system's configuration plus the Chinese office fonts -> Noto CJK SC."""
    aliases = "".join(f"<alias binding=\"same\"><family>{k}</family><prefer><family>{v}</family></prefer></alias>"
                      for k, v in FONT_MAP.items())
    path = folder / "fonts.conf"
    path.write_text("<?xml version=\"1.0\"?><!DOCTYPE fontconfig SYSTEM \"fonts.dtd\"><fontconfig>"
                    "<include ignore_missing=\"yes\">/etc/fonts/fonts.conf</include>"
                    f"{aliases}</fontconfig>", encoding="utf-8")
    return path


def _convert(program: str, files: list[Path], outdir: Path, work: Path) -> None:
    env = {**os.environ, "FONTCONFIG_FILE": str(fonts_conf(work)), "HOME": str(work)}
    cmd = [program, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless", "--norestore",
           "--nolockcheck", "--convert-to", "pdf", "--outdir", str(outdir), *map(str, files)]
    limit = BASE_SECONDS + SECONDS_PER_FILE * len(files)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise UserError(f"LibreOffice 转换 PDF 超时（{limit} 秒）/ the PDF conversion took longer than {limit} s; "
                        "the .docx files were written") from None
    except OSError as e:
        raise UserError(f"无法运行 LibreOffice / cannot run {program}: {e.strerror}") from None
    missing = [p.name for p in files if not (outdir / f"{p.stem}.pdf").is_file()]
    if done.returncode != 0 or missing:
        tail = (done.stderr or done.stdout or "").strip().splitlines()[-1:] or [""]
        if "could not be loaded" in tail[0]:
            tail = [tail[0] + " — 可能缺少 LibreOffice Writer 组件 (Debian: apt-get install libreoffice-writer-nogui)"]
        raise UserError(f"LibreOffice 未能生成 PDF / did not write the PDF of {', '.join(missing[:5]) or 'the files'} "
                        f"(exit {done.returncode}) {tail[0][:200]}")


def to_pdf(docx: list[Path]) -> list[Path]:
    """The PDF of each .docx, written next to it; one LibreOffice run per folder."""
    program = soffice()
    if program is None:
        raise UserError(MISSING)
    by_folder: dict[Path, list[Path]] = {}
    for p in docx:
        by_folder.setdefault(p.parent, []).append(p)
    with tempfile.TemporaryDirectory(prefix="reviewer-soffice-") as tmp:
        for folder, files in by_folder.items():   # one profile for the whole call, used by one run at a time
            _convert(program, files, folder, Path(tmp))
    return [p.with_suffix(".pdf") for p in docx]
