"""Scoring and ranking: score tables and sheets, aggregation, calibration, reliability, uncertainty, ranking."""
