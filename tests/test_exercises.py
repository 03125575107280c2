"""Exercises: every check passes on its reference solution (solutions/ex_NN.py), fails on a wrong answer, and says
'not yet solved' for the lectures' placeholder; every lecture with exercises ends with a summary and 3–5 exercises, at least
one of them checked by a cell that runs as committed."""
import importlib, re
import nbformat, pytest, torch
from helpers.exercises import CHECKS, check
from tools.notebooks import lecture_paths

WITH_EXERCISES = ['00', '01', '02', '03', '04', '05', '06', '07', '08', '09', '10']  # extend as lectures gain exercises


def _not_implemented(*args, **kwargs): raise NotImplementedError


# One or more wrong answers per check: each must fail.
WRONG = {
    ('00', 'test_shape'): [lambda t, shape: None,                                         # never fails
                           lambda t, shape: (_ for _ in ()).throw(AssertionError('no')),  # always fails, no shapes
                           lambda t, shape: None if t.numel() == torch.Size(shape).numel() else 1 / 0],
    ('01', 'count_shared'): [lambda xa, xb: 0, lambda xa, xb: len(xa),
                             lambda xa, xb: len({bytes(r.numpy()) for r in xa} & {bytes(r.numpy()) for r in xb}) + 1],
    ('02', 'relu_grad'): [lambda x, g: g, lambda x, g: (x > 0).float(), lambda x, g: g * (x >= 0).float() * 2],
    ('03', 'top_k_accuracy'): [lambda out, y, k: (out.argmax(1) == y).float().mean(),  # ignores k
                               lambda out, y, k: (out.topk(k, dim=1).indices == y[:, None]).float().sum()],  # a count
    ('04', 'confusion_matrix'): [lambda p, t, n: torch.bincount(p * n + t, minlength=n*n).view(n, n),  # transposed
                                 lambda p, t, n: torch.zeros(n, n)],
    ('05', 'image_to_tensor'): [lambda p: torch.from_numpy(__import__('numpy').array(__import__('PIL.Image').Image.open(p))).float(),  # H×W(×C), 0..255
                                lambda p: torch.from_numpy(__import__('numpy').array(__import__('PIL.Image').Image.open(p).convert('L'))).float()[None] / 255],
    ('07', 'smoothing_key'): [lambda: __import__('exp.nb_07').nb_07.Key(float, 0.0, 'no rule'),  # accepts 1.0
                              lambda: __import__('exp.nb_07').nb_07.Key(float, 0.1, 'wrong default', check=lambda v: 0 <= v < 1),
                              lambda: 'label_smoothing: 0.0'],
    ('08', 'adagrad_step'): [lambda p, d, state, hp: p.add_(d, alpha=-hp['lr']),  # plain SGD: no accumulated squares
                             lambda p, d, state, hp: p.addcdiv_(d, (d * d).sqrt().add_(hp['eps']), value=-hp['lr'])],  # no memory
    ('09', 'layer_norm'): [lambda x, eps: (x - x.mean(0)) / (x.var(0, correction=0) + eps).sqrt(),  # over the batch: batch norm
                           lambda x, eps: (x - x.mean()) / (x.var(correction=0) + eps).sqrt(),  # over the whole tensor
                           lambda x, eps: (x - x.flatten(1).mean(1).view(-1, *[1] * (x.ndim - 1))) / x.flatten(1).std(1).view(-1, *[1] * (x.ndim - 1)),  # unbiased, no eps
                           lambda x, eps: x - x.flatten(1).mean(1).view(-1, *[1] * (x.ndim - 1))],  # centred only
    ('06', 'cosine_lr'): [lambda t, lr0, lr_end, epochs: lr0 - (lr0 - lr_end) * t / (epochs - 1),  # linear, not cosine
                          lambda t, lr0, lr_end, epochs: 0.5 * lr0 * (1 + __import__('math').cos(__import__('math').pi * t / epochs))],
    ('10', 'shard'): [lambda n, w, r: list(range(n))[r::w],                                        # no padding
                      lambda n, w, r: list(range(r * (-(-n // w)), min(n, (r + 1) * (-(-n // w))))),  # contiguous blocks
                      lambda n, w, r: [i % n for i in range(r, -(-n // w) * w + 1, w)]],           # one too many
}


def registered(): return [(lec, name) for lec in sorted(CHECKS) for name in CHECKS[lec]]


def test_every_lecture_with_exercises_has_a_check():
    assert set(WITH_EXERCISES) <= set(CHECKS)
    assert set(WRONG) == set(registered()), "every check needs at least one wrong answer in WRONG"


@pytest.mark.parametrize('lec, name', registered())
def test_check_passes_on_the_reference_solution(lec, name, capsys):
    solution = getattr(importlib.import_module(f'solutions.ex_{lec}'), name)
    assert check(lec, name, solution) is True
    assert capsys.readouterr().out == f"✓ {name}: passed\n"


@pytest.mark.parametrize('lec, name', registered())
def test_check_fails_on_wrong_answers(lec, name, capsys):
    for wrong in WRONG[lec, name]:
        assert check(lec, name, wrong) is False
        assert capsys.readouterr().out.startswith(f"✗ {name}: ")


@pytest.mark.parametrize('lec, name', registered())
def test_placeholder_is_not_yet_solved(lec, name, capsys):
    assert check(lec, name, _not_implemented) is False
    assert capsys.readouterr().out.startswith('not yet solved')


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(KeyError, match="no exercise 'nope' in lecture '02'"): check('02', 'nope', None)


@pytest.mark.parametrize('path', lecture_paths(WITH_EXERCISES), ids=lambda p: p.stem)
def test_lecture_ends_with_summary_and_exercises(path):
    nb = nbformat.read(path, as_version=4)
    text = [c.source for c in nb.cells if c.cell_type == 'markdown']
    heads = [l for t in text for l in t.splitlines() if l.startswith('## ')]
    assert heads[-2:] == ['## Summary', '## Exercises'], f"{path.name}: must end with ## Summary and ## Exercises, has {heads[-2:]}"
    ex = next(t for t in text if '## Exercises' in t).split('## Exercises', 1)[1]
    items = re.findall(r'^(\d+)\. ', ex, re.M)
    assert 3 <= len(items) <= 5 and items == [str(i + 1) for i in range(len(items))], f"{path.name}: exercises {items}"
    lec = path.name[:2]
    calls = [c for c in nb.cells if c.cell_type == 'code' and re.search(rf"check\('{lec}', '(\w+)'", c.source)]
    assert calls, f"{path.name}: no self-checking exercise"
    for c in calls:
        name = re.search(rf"check\('{lec}', '(\w+)'", c.source).group(1)
        assert name in CHECKS[lec], f"{path.name}: check of unknown exercise {name!r}"
        out = ''.join(o.get('text', '') for o in c.outputs)
        assert out.startswith('not yet solved'), f"{path.name}: the committed check cell should say 'not yet solved', says {out!r}"
