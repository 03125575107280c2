"""Self-checking exercises: `check(lecture, name, answer)` tests a learner's answer and prints whether it passes.

    from helpers.exercises import check
    check('02', 'relu_grad', relu_grad)

An answer cell starts as a function whose body raises `NotImplementedError`; the check then says "not yet solved"
instead of failing, so a lecture runs top to bottom as committed. Each check runs the answer on fixed inputs and
compares it with values computed here independently; reference solutions live in `solutions/ex_NN.py`, and the tests
prove that every check passes on them and fails on each wrong answer listed there (`WRONG`). Add a check for a
lecture with `@exercise`; `make lecture` registers a placeholder one for a new lecture (tools/new_lecture.py).
"""
from __future__ import annotations
from typing import Callable

import torch

CHECKS: dict[str, dict[str, Callable]] = {}


def exercise(lecture: str, name: str):
    "Register the decorated function as the check of exercise `name` of lecture `lecture` ('00', '01', …)."
    def register(fn):
        CHECKS.setdefault(lecture, {})[name] = fn
        return fn
    return register


def check(lecture: str, name: str, answer) -> bool:
    "Test `answer` with the check of `lecture`'s exercise `name`; print ✓ passed, ✗ and why, or 'not yet solved'."
    if name not in CHECKS.get(lecture, {}):
        raise KeyError(f"no exercise {name!r} in lecture {lecture!r}; checks exist for {sorted(CHECKS.get(lecture, {}))}.")
    try: CHECKS[lecture][name](answer)
    except NotImplementedError:
        print(f"not yet solved: write `{name}` in the answer cell above, run it, then run this cell again.")
        return False
    except AssertionError as e:
        print(f"✗ {name}: not right yet — {e}")
        return False
    except Exception as e:
        print(f"✗ {name}: your answer raised {type(e).__name__}: {e}")
        return False
    print(f"✓ {name}: passed")
    return True


def _close(a, b) -> bool:
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-6)


@exercise('00', 'test_shape')
def _test_shape(test_shape):
    "test_shape(t, shape) passes silently when t.shape == shape and raises an AssertionError naming both otherwise."
    test_shape(torch.zeros(2, 3), (2, 3))
    test_shape(torch.zeros(5), torch.Size([5]))
    for t, shape in ((torch.zeros(2, 3), (3, 2)), (torch.zeros(4), (4, 1))):
        try: test_shape(t, shape)
        except AssertionError as e:
            assert str(tuple(t.shape)) in str(e) or str(t.shape) in str(e), \
                f"the message {str(e)!r} for a tensor of shape {tuple(t.shape)} should show that shape"
        else: raise AssertionError(f"a tensor of shape {tuple(t.shape)} against {shape} should raise an AssertionError")


@exercise('01', 'count_shared')
def _count_shared(count_shared):
    "count_shared(xa, xb): how many rows of xa occur as a row of xb."
    g = torch.Generator().manual_seed(1)
    xb = torch.randint(0, 256, (30, 784), generator=g, dtype=torch.uint8)
    fresh = torch.randint(0, 256, (12, 784), generator=g, dtype=torch.uint8)
    for xa, want in ((fresh, 0), (torch.cat([fresh, xb[[3, 7, 11]]]), 3), (xb, 30), (xb[:0], 0)):
        got = count_shared(xa, xb)
        assert got is not None, "count_shared returned None; return the number of shared rows"
        assert int(got) == want, f"{len(xa)} rows of which {want} occur in xb: got {got}"
    x = torch.rand(6, 784)
    assert int(count_shared(x, torch.cat([x[:2], torch.rand(4, 784)]))) == 2, "float rows: 2 of 6 shared, got another count"


@exercise('02', 'relu_grad')
def _relu_grad(relu_grad):
    "relu_grad(x, g) = ∂loss/∂x for y = relu(x) given g = ∂loss/∂y, checked against autograd."
    g0 = torch.Generator().manual_seed(2)
    x, g = torch.randn(16, 7, generator=g0), torch.randn(16, 7, generator=g0)
    xr = x.clone().requires_grad_()
    xr.clamp_min(0.).backward(g)
    got = relu_grad(x, g)
    assert got is not None, "relu_grad returned None; return a tensor shaped like x"
    assert torch.as_tensor(got).shape == x.shape, f"expected shape {tuple(x.shape)}, got {tuple(torch.as_tensor(got).shape)}"
    assert _close(got, xr.grad), "differs from autograd's gradient of x.clamp_min(0)"


@exercise('03', 'top_k_accuracy')
def _top_k_accuracy(top_k_accuracy):
    "top_k_accuracy(out, y, k): fraction of rows whose target is among the k largest outputs."
    g = torch.Generator().manual_seed(3)
    out, y = torch.randn(200, 10, generator=g), torch.randint(0, 10, (200,), generator=g)
    ranks = (out > out[torch.arange(len(y)), y].unsqueeze(1)).sum(1)  # how many outputs beat the target's
    for k in (1, 3, 10):
        got = top_k_accuracy(out, y, k)
        assert got is not None, "top_k_accuracy returned None; return a fraction between 0 and 1"
        want = (ranks < k).float().mean()
        assert _close(float(got), want), f"k={k}: expected {want.item():.4f}, got {float(got):.4f}"


@exercise('04', 'confusion_matrix')
def _confusion_matrix(confusion_matrix):
    "confusion_matrix(preds, targets, n_classes): counts, row = true class, column = predicted class."
    from sklearn.metrics import confusion_matrix as sk_confusion
    g = torch.Generator().manual_seed(4)
    y, p = torch.randint(0, 4, (300,), generator=g), torch.randint(0, 4, (300,), generator=g)
    got = confusion_matrix(p, y, 5)
    assert got is not None, "confusion_matrix returned None; return an n_classes × n_classes tensor"
    want = torch.as_tensor(sk_confusion(y.numpy(), p.numpy(), labels=list(range(5))))
    got = torch.as_tensor(got)
    assert got.shape == (5, 5), f"expected shape (5, 5) for n_classes=5, got {tuple(got.shape)}"
    assert torch.equal(got.long(), want.long()), "counts differ: row i, column j counts digits of class i predicted as j"


@exercise('06', 'cosine_lr')
def _cosine_lr(cosine_lr):
    "cosine_lr(t, lr0, lr_end, epochs) gives CosineAnnealingLR(T_max=epochs-1, eta_min=lr_end)'s rate of each epoch t."
    for lr0, lr_end, epochs in ((0.1, 0.001, 10), (0.09, 9e-4, 60), (1.0, 0.0, 2)):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs - 1, eta_min=lr_end)
        for t in range(epochs):
            want, got = opt.param_groups[0]['lr'], float(cosine_lr(t, lr0, lr_end, epochs))
            assert abs(got - want) <= 1e-9 + 1e-6 * abs(want), \
                f"epoch {t} of {epochs} (lr0={lr0}, lr_end={lr_end}): got {got:.6g}, CosineAnnealingLR uses {want:.6g}"
            opt.step(); sched.step()


@exercise('05', 'image_to_tensor')
def _image_to_tensor(image_to_tensor):
    "image_to_tensor(path): float32 C×H×W in [0, 1], as transforms.v2's ToImage + ToDtype(scale=True), grey and colour."
    import tempfile
    from pathlib import Path
    from PIL import Image
    g = torch.Generator().manual_seed(0)
    grey = torch.randint(0, 256, (5, 7), dtype=torch.uint8, generator=g)
    colour = torch.randint(0, 256, (5, 7, 3), dtype=torch.uint8, generator=g)
    with tempfile.TemporaryDirectory() as d:
        for name, pixels, want in (('grey.png', grey, grey[None].float() / 255), ('colour.png', colour, colour.permute(2, 0, 1).float() / 255)):
            Image.fromarray(pixels.numpy()).save(Path(d)/name)
            got = image_to_tensor(Path(d)/name)
            assert isinstance(got, torch.Tensor), f"{name}: expected a tensor, got {type(got).__name__}"
            assert got.dtype == torch.float32, f"{name}: expected float32, got {got.dtype}"
            assert tuple(got.shape) == tuple(want.shape), f"{name}: expected shape {tuple(want.shape)} (C×H×W), got {tuple(got.shape)}"
            assert _close(got, want), f"{name}: the values should be the pixels divided by 255 (0..1); max found {got.max().item():.3g}"


@exercise('07', 'smoothing_key')
def _smoothing_key(smoothing_key):
    "smoothing_key() returns a settings `Key` for `label_smoothing`: a number in [0, 1), default 0.0, enforced by check_settings."
    from exp.nb_07 import Key, TRAIN_SETTINGS, SettingsError, check_settings
    key = smoothing_key()
    assert isinstance(key, Key), f"expected a Key, got {type(key).__name__}"
    schema = TRAIN_SETTINGS | {'label_smoothing': key}
    base = {'num_epochs': 1, 'batch_size': 8, 'learning_rate': 0.1}
    assert check_settings(base, schema=schema)['label_smoothing'] == 0.0, "without the key, the default should be 0.0 (no smoothing)"
    assert check_settings(base | {'label_smoothing': 0.1}, schema=schema)['label_smoothing'] == 0.1, "0.1 should be accepted"
    for bad in (1.0, -0.1, 'a lot'):
        try: check_settings(base | {'label_smoothing': bad}, schema=schema)
        except SettingsError as e: assert 'label_smoothing' in str(e), f"the message for {bad!r} should name the key: {e}"
        else: raise AssertionError(f"label_smoothing: {bad!r} should be refused (a fraction in [0, 1))")


@exercise('08', 'adagrad_step')
def _adagrad_step(adagrad_step):
    "adagrad_step(p, d, state, hp) as the only step of a GeneralOptimizer, checked step by step against torch.optim.Adagrad."
    from exp.nb_08 import GeneralOptimizer, compare_optimizers
    g = torch.Generator().manual_seed(8)
    x, y = torch.rand(256, 784, generator=g), torch.randint(0, 10, (256,), generator=g)
    diffs = compare_optimizers(lambda m: GeneralOptimizer(m.parameters(), [adagrad_step], lr=0.05, eps=1e-10),
                               lambda m: torch.optim.Adagrad(m.parameters(), lr=0.05, eps=1e-10), x, y, steps=20, bs=32)
    worst = max(diffs)
    assert worst == worst, "the parameters became NaN: check the division (is ε added to the root?)"
    first = next((i for i, d in enumerate(diffs) if d > 1e-6), None)
    assert first is None, (f"after step {first + 1} a parameter differs from torch.optim.Adagrad's by {diffs[first]:.2g} "
                           f"(largest over 20 steps {worst:.2g}); compare with the rule: s is the sum of all squared gradients so far, "
                           "the step lr·d/(√s + ε)")


@exercise('09', 'layer_norm')
def _layer_norm(layer_norm):
    "layer_norm(x, eps): each example x[i] normalized over all its values (biased variance), as F.layer_norm(x, x.shape[1:])."
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(9)
    for shape in ((4, 3, 5, 5), (6, 10), (2, 8, 7)):
        x = torch.randn(*shape, generator=g) * 3 + 1
        got = layer_norm(x, 1e-5)
        assert got is not None, "layer_norm returned None; return the normalized tensor"
        want = F.layer_norm(x, x.shape[1:], eps=1e-5)
        assert tuple(got.shape) == shape, f"for x of shape {shape} the result should have the same shape, got {tuple(got.shape)}"
        assert _close(got, want), (f"for x of shape {shape}: max |difference| from F.layer_norm "
                                   f"{(torch.as_tensor(got) - want).abs().max():.2e} (normalize each example over all its own values)")
    x = torch.zeros(2, 3)
    assert torch.isfinite(torch.as_tensor(layer_norm(x, 1e-5))).all(), "a constant example gives NaN: add eps to the variance"


@exercise('10', 'shard')
def _shard(shard):
    "shard(n, world_size, rank) gives the indices DistributedSampler(range(n), world_size, rank, shuffle=False) yields."
    from torch.utils.data import DistributedSampler
    for n, w in ((12, 2), (10, 4), (7, 3), (5, 8), (1, 2), (16, 1)):
        for r in range(w):
            want = list(DistributedSampler(range(n), num_replicas=w, rank=r, shuffle=False))
            got = shard(n, w, r)
            assert got is not None, "shard returned None; return a list of indices"
            got = [int(i) for i in got]
            assert got == want, (f"n={n}, world_size={w}, rank={r}: expected {want}, got {got}" +
                                 (" (pad the indices with the first ones until their number is a multiple of world_size)"
                                  if len(got) < len(want) else ''))


def _count_parameters(count_parameters):
    "count_parameters(model): the number of trainable parameters. The placeholder exercise of a new lecture (tools/new_lecture.py)."
    import torch.nn as nn
    frozen = nn.Linear(3, 2)
    frozen.weight.requires_grad_(False)
    for model, want in ((nn.Linear(4, 3), 15), (nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)), 23), (frozen, 2)):
        got = count_parameters(model)
        assert got is not None, "count_parameters returned None; return a whole number"
        assert int(got) == want, f"{model} has {want} trainable parameters; got {got}"
