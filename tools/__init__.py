"""Maintainers' tooling, not part of the course a learner imports: the lecture runner, the set-up-cell writer and the
notebook utilities used by the tests and benchmarks. Run from the repository root, e.g. `python -m tools.run_course`."""
