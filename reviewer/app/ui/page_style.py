"""Page-wide CSS of the app (sign-in, staff and expert pages alike), sent once per run as a <style> element
(st.html with only a style takes no room on the page).

- Streamlit's file uploader has English text built in ("Upload", "50MB per file • XLSX", "Drag and drop
  files here") and no option to change it: the English is hidden (visibility: hidden, font-size 0, so it takes
  no room and is not read out) and Chinese is drawn in its place with ::after.
- The cells of st.table (`common.text_table`) hold a Markdown paragraph that resets white-space: it inherits
  the cell's instead, so the per-column "one line" of `formatting.styled` applies; headers wrap unless
  `formatting.styled` keeps a short one on one line (Streamlit's default keeps every header on one line,
  which squeezes the name column of a table with many long headers to one character a line)."""
from __future__ import annotations

UPLOAD_BUTTON_ZH = "选择文件"
DROP_HERE_ZH = "拖放文件到此处"


def limit_text(max_mb: int | str) -> str:
    # short: an uploader in a narrow column (公文's templates) shows it on one line
    return f"{DROP_HERE_ZH}，每个不超过 {max_mb} MB"


def css(max_mb: int | str) -> str:
    hide = "visibility: hidden; font-size: 0 !important; line-height: 0;"
    show = "visibility: visible; font-size: 0.875rem; line-height: 1.6;"
    up = '[data-testid="stFileUploaderDropzone"]'
    return f"""<style>
{up} button [data-testid="stMarkdownContainer"] p {{ {hide} }}
{up} button [data-testid="stMarkdownContainer"] p::after {{ content: "{UPLOAD_BUTTON_ZH}"; {show} }}
{up} [data-testid="stFileUploaderDropzoneInstructions"] span {{ {hide} }}
{up} [data-testid="stFileUploaderDropzoneInstructions"] span::after {{ content: "{limit_text(max_mb)}"; {show} }}
{up} > div:not([data-testid]) > span {{ {hide} }}
{up} > div:not([data-testid]) > span::after {{ content: "{DROP_HERE_ZH}"; {show} }}
[data-testid="stTableStyledTable"] th {{ white-space: normal; }}
[data-testid="stTableStyledTable"] :is(td, th) [data-testid="stMarkdownContainer"],
[data-testid="stTableStyledTable"] :is(td, th) [data-testid="stMarkdownContainer"] p {{ white-space: inherit; overflow-wrap: inherit; }}
</style>"""


def inject() -> None:
    import streamlit as st
    st.html(css(st.get_option("server.maxUploadSize")))
