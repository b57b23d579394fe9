"""Analysts' tools on a stored round: relation-bias audit, what-if re-ranking, predictive validity (issue 18)."""
