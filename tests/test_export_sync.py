"exp/ must be exactly what the export command (tools.export) makes from nbs/ — no edited, stale or left-behind module."
import filecmp, shutil
from pathlib import Path
from tools.export import export
from tools.notebooks import REPO


def exported_tree(tmp_path) -> Path:
    "exp/ as the course's export command (tools.export: checks, then nbdev-export) makes it from a copy of nbs/."
    for name in ('pyproject.toml', 'settings.ini'): shutil.copy(REPO/name, tmp_path/name)
    shutil.copytree(REPO/'nbs', tmp_path/'nbs', ignore=shutil.ignore_patterns('.ipynb_checkpoints'))
    (tmp_path/'exp').mkdir()
    shutil.copy(REPO/'exp'/'__init__.py', tmp_path/'exp'/'__init__.py')  # nbdev reads the version from it
    project = (tmp_path/'pyproject.toml').stat().st_mtime_ns
    assert export(tmp_path) > 0
    assert (tmp_path/'pyproject.toml').stat().st_mtime_ns == project, "the export rewrote pyproject.toml (the set-up stamp's input)"
    return tmp_path/'exp'


def py_files(d): return {p.name for p in Path(d).glob('*.py')}


def test_exp_matches_notebooks(tmp_path):
    fresh, committed = exported_tree(tmp_path), REPO/'exp'
    stale = sorted(py_files(committed) - py_files(fresh))
    missing = sorted(py_files(fresh) - py_files(committed))
    differ = sorted(n for n in py_files(fresh) & py_files(committed) if not filecmp.cmp(fresh/n, committed/n, shallow=False))
    problems = ([f"exp/{n} has no notebook any more (renamed or deleted lecture?) — delete it" for n in stale] +
                [f"exp/{n} is missing — run `make export`" for n in missing] +
                [f"exp/{n} differs from its notebook — run `make export` (never edit exp/ by hand)" for n in differ])
    assert not problems, '\n'.join(problems)
