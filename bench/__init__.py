"Benchmarks of the course's exported code: `python -m bench.run` (see bench/run.py)."
