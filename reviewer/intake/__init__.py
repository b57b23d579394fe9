"""Intake: the input tables' schema, file import with row-level issues, validated records, credit codes."""
