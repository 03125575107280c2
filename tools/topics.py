"""Write the editors' part of the `helpers` topic modules: for each name a topic module offers (its `NAMES` list, the one
thing written by hand), the import from the lecture module that defines it, inside `if TYPE_CHECKING:` — so an editor's
go-to-definition reaches the code in `exp/`, while at run time a name still loads its lecture only when used.

    python -m tools.topics          # part of `make export`; a test fails when a topic module is out of date
"""
from __future__ import annotations
import ast, sys, textwrap
from pathlib import Path

from tools.notebooks import REPO

TOPICS = ('data', 'training', 'evaluation', 'plotting')
START = '# Written by `make export` (tools/topics.py) from the exp modules: do not edit below this line.\n'


def names(path: Path) -> list:
    "The `NAMES` list of topic module `path`."
    node = next(n for n in ast.parse(path.read_text()).body if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == 'NAMES')
    return ast.literal_eval(node.value)


def generated(path: Path, root: Path = REPO) -> str:
    "The generated tail of topic module `path`: its lazy exports, and the imports editors follow, by lecture."
    from helpers._lazy import homes
    homes.cache_clear()  # read the exp modules as they are now (an export may just have rewritten them)
    home, by_module = homes(), {}
    missing = [n for n in names(path) if n not in home]
    if missing: raise SystemExit(f"{path.relative_to(root)} offers {missing}, which no exp module exports.")
    for n in names(path): by_module.setdefault(home[n], []).append(n)
    imports = ''.join(f"    from exp.{stem} import (\n" + textwrap.fill(', '.join(ns), 116, initial_indent=' ' * 8,
                                                                    subsequent_indent=' ' * 8) + ")\n"
                      for stem, ns in sorted(by_module.items()))
    return (START + "__all__, __getattr__, __dir__ = lazy_exports(__name__, NAMES)\n\n"
            "if TYPE_CHECKING:  # for editors: each name's definition, in its lecture's module\n" + imports)


def stale(root: Path = REPO) -> list:
    "The topic modules whose generated part differs from what `generated` gives now."
    out = []
    for t in TOPICS:
        path = root/'helpers'/f'{t}.py'
        if path.read_text().partition(START)[1:] != (START, generated(path, root)[len(START):]): out.append(path)
    return out


def write(root: Path = REPO) -> list:
    "Rewrite the generated part of every stale topic module; the paths written."
    paths = stale(root)
    for path in paths: path.write_text(path.read_text().partition(START)[0] + generated(path, root))
    return paths


if __name__ == '__main__':
    written = write()
    print(f"topics: {', '.join(str(p.relative_to(REPO)) for p in written) or 'all up to date'}")
    sys.exit(0)
