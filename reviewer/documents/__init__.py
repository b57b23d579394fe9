"""Documents for people outside the office: expert packs (notices, pledges, score sheets, calendars;
packs.py) and the official documents (公示, 评审报告, 专家组意见表, 签到表, 劳务费发放表, 认定批复) as .docx and
PDF from editable templates (official.py; values: round_facts.py, contexts.py, stage_contexts.py;
PDF: pdf.py; the shipped templates: template_build.py, templates/)."""
