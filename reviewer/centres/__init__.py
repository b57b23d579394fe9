"""Centres after recognition: annual evaluation (考核评估), life cycle, subsidy ledger, reports."""
