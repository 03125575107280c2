"""Lecture 08's exercises: the Adagrad check passes on the reference solution, gives each usual mistake listed in
solutions/ex_08.py (`WRONG`) its own hint, says 'not yet solved' for the lecture's placeholders, and shows the numbers
for a mistake it has no hint for; the worked solutions of the other exercises run (on small budgets) and show what
their docstrings say."""
import pytest, torch
import solutions.ex_08 as ex
from exp.nb_08 import GeneralOptimizer, compare_optimizers, decay_groups, l2_reg
from helpers.exercises import ADAGRAD_HINTS, check

torch.set_num_threads(1)

HINT_OF = {  # each wrong answer in solutions/ex_08.py: the hint the check must give it
    ex.no_optimizer: 'not_optimizer', ex.not_in_place: 'not_in_place', ex.returns_new_tensor: 'not_in_place',
    ex.eps_in_root: 'eps_in_root', ex.no_eps: 'no_eps', ex.not_squared: 'not_squared', ex.running_mean: 'running_mean',
    ex.no_memory: 'no_memory', ex.shared_sum: 'shared_state', ex.shared_step_count: 'shared_state',
    ex.outside_state: 'shared_state', ex.no_lr_decay: 'no_lr_decay', ex.decay_from_0: 'decay_from_0',
    ex.no_weight_decay: 'no_wd', ex.l2_after_the_step: 'no_wd', ex.decoupled_decay: 'decoupled',
    ex.group_lr_ignored: 'group_lr',
}


def test_every_wrong_answer_and_every_hint_is_covered():
    assert set(HINT_OF) == set(ex.WRONG['adagrad'])
    assert set(HINT_OF.values()) == set(ADAGRAD_HINTS)


@pytest.mark.parametrize('wrong', ex.WRONG['adagrad'], ids=lambda f: f.__name__)
def test_each_usual_mistake_gets_its_own_hint(wrong, capsys):
    assert check('08', 'adagrad', wrong) is False
    out = capsys.readouterr().out
    assert out.startswith('✗ adagrad: not right yet — ') and ADAGRAD_HINTS[HINT_OF[wrong]] in out, out
    others = [k for k, hint in ADAGRAD_HINTS.items() if hint in out and k != HINT_OF[wrong]]
    assert not others, f"{wrong.__name__} also got the hints {others}"


def test_the_reference_solution_passes_and_is_torchs_adagrad(capsys):
    assert check('08', 'adagrad', ex.adagrad) is True
    assert capsys.readouterr().out == "✓ adagrad: passed\n"
    x, y = torch.rand(256, 784, generator=torch.Generator().manual_seed(1)), torch.randint(0, 10, (256,))
    for kw in ({}, dict(lr=0.1, lr_decay=0.05, weight_decay=1e-2, eps=1e-6)):
        assert max(compare_optimizers(lambda m: ex.adagrad(m.parameters(), **kw),
                                      lambda m: torch.optim.Adagrad(m.parameters(), **kw), x, y, steps=50)) <= 1e-6, kw
    assert max(compare_optimizers(lambda m: ex.adagrad(decay_groups(m, 1e-2), lr=0.05),
                                  lambda m: torch.optim.Adagrad(decay_groups(m, 1e-2), lr=0.05), x, y,
                                  steps=50, dtype=torch.float32)) <= 1e-5


def test_the_lectures_placeholders_are_not_yet_solved(capsys):
    def unwritten(params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, eps=1e-10): raise NotImplementedError
    def step_unwritten(p, d, state, hp): raise NotImplementedError
    def factory_only(params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, eps=1e-10):  # the factory written, the step not yet
        return GeneralOptimizer(params, [l2_reg, step_unwritten], lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps)
    for answer in (unwritten, factory_only):
        assert check('08', 'adagrad', answer) is False
        assert capsys.readouterr().out.startswith('not yet solved')


def test_a_mistake_without_a_hint_is_shown_with_the_numbers(capsys):
    def double_lr(p, d, state, hp):  # no usual mistake: a step twice too large
        ex.adagrad_step(p, d, state, {**hp, 'lr': 2 * hp['lr']})
        return d
    answer = lambda params, **hp: GeneralOptimizer(params, [l2_reg, double_lr], **hp)
    assert check('08', 'adagrad', answer) is False
    out = capsys.readouterr().out
    assert 'one step from p = 0 with gradient 1' in out and 'should be [-0.6667]' in out and 'got [-1.3333]' in out
    assert not any(hint in out for hint in ADAGRAD_HINTS.values())


# ---- the worked solutions of the exercises without a check

def test_exercise_3_l2_in_adam_moves_weights_without_gradient_by_a_full_step():
    r = ex.exercise_3(lams=(1e-4, 1e-1), steps=20)
    assert all(d > 1e-2 for d in r['drift'].values()), r['drift']  # large already at a tiny λ
    w = r['dead-pixel |w|']
    assert r['dead pixels'] > 0 and w['adam'] < w['start'] - 0.01 and abs(w['adamw'] - w['start']) < 1e-4


def test_exercise_4_memory():
    assert ex.exercise_4() == {'weights': 4.0, 'gradients': 4.0, 'adam state': 8.0, 'state per parameter': 2.0}


def test_exercises_2_and_5_run_the_lectures_experiment():
    small = {name: grid[2:3] for name, grid in ex.GRIDS.items()}
    r2 = ex.exercise_2(epochs=1, seeds=(0,), grids=small)
    assert set(r2) == set(ex.GRIDS) and all(len(accs[grid[0]]) == 1 for (name, accs), grid in zip(r2.items(), small.values()))
    r5 = ex.exercise_5(epochs=1, seeds=(0, 1), grid=(0.4,))
    assert set(r5) == {'constant', 'one-cycle'} and all(0 <= a <= 100 for accs in r5.values() for a in accs[0.4])
    assert ex.experiment(ex.adagrad, [0.05], epochs=1, seeds=(0,)) == ex.experiment(ex.adagrad, [0.05], epochs=1, seeds=(0,))
