"""Hand-written top layer of the course: command-line entry points and topic modules that re-export `exp`.

`helpers` imports `exp`; `exp` never imports `helpers`.
"""
