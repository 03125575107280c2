"""Lazy re-exports for the topic modules: a name is imported from its lecture's module only when it is first used, so
`from helpers.data import get_dataloaders` in lecture 05 loads lectures up to 05 only — never a later one. Which lecture
a name lives in is read from the `exp` modules themselves (each one's own `__all__`, written by nbdev); when two
lectures define a name, the later one's is offered (lecture 06's `train_model`, the face over the Learner)."""
from __future__ import annotations
import ast, functools, importlib, sys
from pathlib import Path


@functools.lru_cache(maxsize=1)
def homes() -> dict:
    "Every name an exp module exports as its own → that module's stem ('nb_03', ...), the newest lecture's for a repeated name."
    folder, found = Path(importlib.import_module('exp').__file__).parent, {}
    for path in sorted(folder.glob('nb_*.py')):
        first = next(n for n in ast.parse(path.read_text()).body
                     if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == '__all__')
        found.update(dict.fromkeys(ast.literal_eval(first.value), path.stem))
    return found


def lazy_exports(module_name: str, names: list) -> tuple:
    "`__all__`, `__getattr__` and `__dir__` for a topic module offering `names`, each from the lecture module that exports it."
    def __getattr__(name: str):
        if name not in names: raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f'exp.{homes()[name]}'), name)
        setattr(sys.modules[module_name], name, value)  # cached: the next lookup is a plain attribute
        return value
    return list(names), __getattr__, lambda: sorted(names)
