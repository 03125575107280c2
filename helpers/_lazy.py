"""Lazy re-exports for the topic modules: a name is imported from its lecture's module only when it is first used, so
`from helpers.data import get_dataloaders` in lecture 05 loads lectures up to 05 only — never a later one."""
from __future__ import annotations
import importlib, sys


def lazy_exports(module_name: str, homes: dict) -> tuple:
    "`__all__`, `__getattr__` and `__dir__` for a topic module whose names live in `exp` modules: `{'nb_03': [names]}`."
    where = {name: stem for stem, names in homes.items() for name in names}
    def __getattr__(name: str):
        if name not in where: raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f'exp.{where[name]}'), name)
        setattr(sys.modules[module_name], name, value)  # cached: the next lookup is a plain attribute
        return value
    return list(where), __getattr__, lambda: sorted(where)
