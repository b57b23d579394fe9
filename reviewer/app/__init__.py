"""The staff app: plain functions over a round (no Streamlit), and its views in `reviewer.app.ui`.

Service modules, by area: `rounds` (the store's rounds, their working folders, the demo round, the
round's log), `imports` (uploads and the round's data), `screening`, `conflicts` (pool, conflicts,
waivers), `panels` (plans as store runs, locks and forbids, replacements, publication), `scores`,
`ranking`, `packs`, `expert_view` (the personal link), `overview` (the Round page). Under them:
`store` (the link to reviewer.store) and `base` (home folder, who is acting, memo); beside them
`auth` (accounts, sessions, expert links), `evaluation`, `charts` and `text`.
"""
