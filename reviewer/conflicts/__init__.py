"""Conflicts of interest (回避): rules C1–C9 with evidence, soft conflicts, waivers, employer groups."""
