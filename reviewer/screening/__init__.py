"""Screening (形式审查): eligibility checks E1–E9 with evidence, thresholds and rule ids."""
