"""Where the store commands used to live (one nested `register` function until the CLI was split into
command-group modules: rounds, imports, runs, decisions, publication, scores, audit).

Kept only so that existing imports of :func:`read_panels` and :func:`read_scores` still work; new code
imports them from reviewer.cli.publication and reviewer.cli.scores.
"""
from reviewer.cli.publication import PANEL_HEADERS, read_panels
from reviewer.cli.scores import read_scores

__all__ = ["PANEL_HEADERS", "read_panels", "read_scores"]
