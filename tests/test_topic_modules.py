"""The `helpers` topic modules re-export `exp` by topic: every name they offer is the very object of the newest lecture
that defines it (found from the exp modules, not typed), a name loads its lecture only when used
(tests/test_lecture_order.py), and an editor's go-to-definition reaches the definition in exp/."""
import importlib
import jedi, pytest
from helpers._lazy import homes
from tools import topics
from tools.notebooks import REPO

TOPICS = topics.TOPICS


def topic(name): return importlib.import_module(f'helpers.{name}')


@pytest.mark.parametrize('name', TOPICS)
def test_topic_modules_re_export_the_very_exp_objects(name):
    mod, home = topic(name), homes()
    public = {n for n in dir(mod) if not n.startswith('_')}
    assert public == set(mod.__all__) == set(mod.NAMES), f"helpers/{name}.py: {sorted(public ^ set(mod.__all__))} differ"
    assert len(mod.NAMES) == len(set(mod.NAMES)), f"helpers/{name}.py lists a name twice"
    for n in mod.NAMES:
        assert n in home, f"helpers/{name}.py offers {n!r}, which no exp module exports"
        assert getattr(mod, n) is getattr(importlib.import_module(f'exp.{home[n]}'), n), \
            f"helpers/{name}.py: {n} is not the object exp.{home[n]}.{n}"


def test_each_name_has_one_topic():
    seen = [n for t in TOPICS for n in topic(t).NAMES]
    assert len(seen) == len(set(seen)), sorted({n for n in seen if seen.count(n) > 1})


def test_the_editors_part_is_up_to_date():
    stale = topics.stale()
    assert not stale, f"{[str(p.relative_to(REPO)) for p in stale]} are out of date: run `make export` (tools/topics.py)"


@pytest.mark.parametrize('name', TOPICS)
def test_go_to_definition_reaches_the_lecture_module(name):
    "What an editor does (jedi, which IPython and many editors use): from `helpers.<topic>` to the name's code in exp/."
    project = jedi.Project(REPO, sys_path=[str(REPO)], added_sys_path=[])
    for n in topic(name).NAMES[:3] + topic(name).NAMES[-2:]:
        code = f"from helpers.{name} import {n}\n{n}"
        [target] = jedi.Script(code, path=REPO/'scratch.py', project=project).goto(2, 0, follow_imports=True)
        assert target.module_path == REPO/'exp'/f'{homes()[n]}.py', (n, target.module_path)


def test_topic_modules_star_import():
    ns = {}
    for t in TOPICS: exec(f'from helpers.{t} import *', ns)
    assert {'get_dataloaders', 'train_model', 'compute_accuracy', 'plot_training_loss', 'Learner'} <= set(ns)
    assert ns['train_model'].__module__ == 'exp.nb_06'  # STAT453's face over the Learner, not lecture 05's loop
    assert not {'fit', 'train_simple_network', 'ScheduleCB', 'accuracy'} & set(ns)  # one engine, one schedule system, percent
