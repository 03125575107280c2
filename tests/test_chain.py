"The import chain: `from exp.nb_NN import *` gives every name exported by lectures 00..NN."
import importlib, re
import pytest
from tools.notebooks import REPO, lecture_paths, own_names

MODULES = [re.match(r'(\d\d)_', p.name).group(1) for p in lecture_paths()]


def test_modules_exist_for_every_lecture():
    assert MODULES[0] == '00' and MODULES == [f'{i:02d}' for i in range(len(MODULES))], MODULES


@pytest.mark.parametrize('nn', MODULES)
def test_star_import_chains(nn):
    ns = {}
    exec(f'from exp.nb_{nn} import *', ns)
    newest = {}  # name → the latest module up to nb_NN that exports it (a later lecture may redefine a name: train_model)
    for earlier in MODULES[:MODULES.index(nn) + 1]:
        missing = [n for n in own_names(f'nb_{earlier}') if n not in ns]
        assert not missing, f"from exp.nb_{nn} import * lacks {missing} exported by nb_{earlier}"
        newest.update(dict.fromkeys(own_names(f'nb_{earlier}'), importlib.import_module(f'exp.nb_{earlier}')))
    wrong = [n for n, mod in newest.items() if ns[n] is not getattr(mod, n)]
    assert not wrong, f"from exp.nb_{nn} import * gives {wrong} from another lecture than the latest that defines them"


@pytest.mark.parametrize('nn', MODULES[1:])
def test_each_lecture_starts_with_the_chain_cell(nn):
    prev = f'{int(nn) - 1:02d}'
    src = (REPO/'exp'/f'nb_{nn}.py').read_text()
    assert f'from .nb_{prev} import *' in src and f'from . import nb_{prev} as _previous' in src, \
        f"nb_{nn} must start with the chain cell importing nb_{prev} (see lecture 00)"
