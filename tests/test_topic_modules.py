"""The `helpers` topic modules re-export `exp` by topic: every name they offer is the very object in `exp`, and every
public function or class any `exp` module exports has exactly one home — one topic module, or the list below."""
import importlib, inspect
import pytest
from tools.notebooks import REPO, name_homes, own_names

TOPICS = ['data', 'training', 'evaluation', 'plotting']

# Exported names that stay with their lecture (import them from `exp.nb_NN`, or star-import the newest module):
LECTURE_ONLY = {
    # 00: the course's own machinery — the checks lectures and tests use, settings, quick mode and budgets
    'test', 'equals', 'near', 'test_eq', 'test_near', 'repo_root', 'course_settings', 'env_flag', 'quick_mode', 'budget',
    # 02: the MLP from scratch with hand-derived gradients, replaced by torch.nn and autograd from lecture 03 on
    'lin', 'relu', 'sigmoid', 'mse', 'one_hot', 'softmax', 'softmax_ce', 'mse_grad', 'softmax_ce_grad', 'lin_grad',
    'sigmoid_grad', 'init_params', 'mlp_forward', 'mlp_backward', 'train_scratch', 'scratch_accuracy',
    # 03: our own versions of what PyTorch provides (F.log_softmax, F.nll_loss, F.cross_entropy, optim.SGD,
    #     torch's samplers and default_collate), written to see how they work
    'logsumexp', 'log_softmax', 'nll', 'cross_entropy', 'Optimizer', 'Sampler', 'collate',
    # 09: convolution and pooling from scratch (F.conv2d, F.unfold, F.max_pool2d and F.avg_pool2d do it in practice)
    'conv2d_loops', 'im2col', 'conv2d_unfold', 'pool2d',
}

EXP_MODULES = sorted(p.stem for p in (REPO/'exp').glob('nb_*.py'))


def topic(name): return importlib.import_module(f'helpers.{name}')


@pytest.mark.parametrize('name', TOPICS)
def test_topic_modules_re_export_the_very_exp_objects(name):
    mod, home = topic(name), name_homes()
    public = {n for n in dir(mod) if not n.startswith('_')}
    assert public == set(mod.__all__), f"helpers/{name}.py: public names {sorted(public ^ set(mod.__all__))} differ from __all__"
    assert len(mod.__all__) == len(set(mod.__all__)), f"helpers/{name}.py lists a name twice"
    for n in mod.__all__:
        assert n in home, f"helpers/{name}.py offers {n!r}, which no exp module exports"
        assert getattr(mod, n) is getattr(importlib.import_module(f'exp.{home[n]}'), n), \
            f"helpers/{name}.py: {n} is not the object exp.{home[n]}.{n}"


@pytest.mark.parametrize('stem', EXP_MODULES)
def test_every_exported_function_and_class_has_exactly_one_home(stem):
    mod = importlib.import_module(f'exp.{stem}')
    homes = {t: set(topic(t).__all__) for t in TOPICS}
    problems = []
    for n in own_names(stem):
        obj = getattr(mod, n)
        if n.startswith('_') or not (inspect.isfunction(obj) or inspect.isclass(obj)): continue
        where = [f'helpers/{t}.py' for t, names in homes.items() if n in names] + (['LECTURE_ONLY'] if n in LECTURE_ONLY else [])
        if len(where) != 1: problems.append(f"{n}: {' and '.join(where) or 'nowhere'}")
    assert not problems, (f"exp/{stem}.py exports names without exactly one home ({'; '.join(problems)}). Add each to one "
                          "topic module in helpers/ (data, training, evaluation, plotting) or, if it only serves its lecture, "
                          "to LECTURE_ONLY in tests/test_topic_modules.py with a comment saying why.")


def test_lecture_only_list_has_no_stale_names():
    home = name_homes()
    stale = sorted(n for n in LECTURE_ONLY if n not in home)
    assert not stale, f"LECTURE_ONLY names {stale} are exported by no exp module any more: remove them"


def test_topic_modules_star_import():
    ns = {}
    for t in TOPICS: exec(f'from helpers.{t} import *', ns)
    assert {'get_dataloaders', 'train_model', 'compute_accuracy', 'plot_training_loss'} <= set(ns)

