"""The synthetic demo round: its generator and the whole-round demo pipeline.

generate      build_round / generate_demo / `python -m reviewer.demo.generate`: writes reviewer/data/demo
names, fields, proposals   people, organisations and firms; what each field knows; the 40 proposals
applications, experts      the round's applications and platforms; the expert pool and its history
planting      planted conflicts and availability cases (checked against the real detector in the tests)
panels        demo panels planned by the real planner on the generated round
scores        simulated rubric scores on those panels, with planted scoring quirks
centres       past pilot centres and their annual indicators
writer        typed frames and the xlsx / csv files
reference     the demo's reference date (2026-11-01)
pipeline      run_demo: `reviewer demo`, the whole round on the demo data
"""
