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
import torch.nn.functional as F

CHECKS: dict[str, dict[str, Callable]] = {}


def exercise(lecture: str, name: str):
    "Register the decorated function as the check of exercise `name` of lecture `lecture` ('00', '01', …)."
    def register(fn):
        CHECKS.setdefault(lecture, {})[name] = fn
        return fn
    return register


def check(lecture: str, name: str, answer) -> bool:
    "Test `answer` with the check of `lecture`'s exercise `name`; print ✓ passed, ✗ and why, or 'not yet solved'."
    if not (isinstance(lecture, str) and len(lecture) == 2 and lecture.isdigit()):
        raise KeyError(f"lecture {lecture!r}: give the lecture as two-digit text, e.g. check('03', {name!r}, ...); "
                       f"lectures with checks: {', '.join(sorted(CHECKS))}.")
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


ADAGRAD_HINTS = {  # lecture 08's Adagrad check: the usual mistakes, each with its hint (tests/test_exercises_08.py)
    'not_optimizer': "return lecture 08's GeneralOptimizer(params, [steps...], lr=..., lr_decay=..., weight_decay=..., eps=...), "
                     "built from step functions",
    'not_in_place': "the parameters did not move: a step function must change p itself, in place (p.addcdiv_(...)); "
                    "`p = p - ...` or returning a new tensor leaves the model's parameter as it was",
    'eps_in_root': "ε belongs outside the root: divide by √s + ε (s.sqrt().add_(eps)), not by √(s + ε)",
    'no_eps': "ε is missing: divide by √s + ε (a weight whose gradients were all 0 would divide 0 by 0)",
    'not_squared': "s sums the squared gradients g² (addcmul_(d, d)), not g or |g|",
    'running_mean': "that is RMSProp's running mean; Adagrad's s is the plain sum of all squared gradients so far, s ← s + g²",
    'no_memory': "the squared gradients must accumulate: s ← s + g² at every step, s kept in the parameter's `state` from "
                 "one step to the next, not only this step's g²",
    'shared_state': "each parameter needs its own s and step count: keep them in `state`, the dict the optimizer gives each "
                    "parameter (and saves in checkpoints), not in a variable shared by all parameters",
    'no_lr_decay': "lr_decay is ignored: at step t (counted per parameter, in its state) the step size is lr / (1 + (t − 1)·lr_decay)",
    'decay_from_0': "count the steps from 1: at step t the step size is lr / (1 + (t − 1)·lr_decay), so the first step uses lr itself",
    'no_wd': "weight_decay is ignored: torch.optim.Adagrad adds it as an L2 term to the gradient before its update — "
             "the lecture's l2_reg, first in the list of steps",
    'decoupled': "that is decoupled weight decay (AdamW's); torch.optim.Adagrad's weight_decay is an L2 term added to the "
                 "gradient: l2_reg, not decoupled_wd",
    'group_lr': "each parameter group has its own hyper-parameters: read hp['lr'] (and the others) from the `hp` the step "
                "function is given",
}


@exercise('08', 'adagrad')
def _adagrad(adagrad):
    """adagrad(params, lr, lr_decay, weight_decay, eps) built on lecture 08's GeneralOptimizer: probed on hand-made
    gradients for the usual mistakes (each with its hint, `ADAGRAD_HINTS`), then step by step against torch.optim.Adagrad."""
    import math
    from exp.nb_08 import GeneralOptimizer, compare_optimizers, decay_groups

    def want(grads, p0=0.0, lr=1.0, lr_decay=0.0, weight_decay=0.0, eps=0.5, mistake=None) -> list:
        "One number's value after each step with gradient g in `grads`, by Adagrad's rule (or with `mistake`)."
        p, s, out = p0, 0.0, []
        for t, g in enumerate(grads, 1):
            if mistake == 'decoupled': p *= 1 - lr * weight_decay
            elif mistake != 'no_wd': g += weight_decay * p
            s = {'no_memory': g * g, 'not_squared': s + abs(g), 'running_mean': 0.99 * s + 0.01 * g * g}.get(mistake, s + g * g)
            lr_t = lr if mistake == 'no_lr_decay' else lr / (1 + (t - (mistake != 'decay_from_0')) * lr_decay)
            root = {'eps_in_root': math.sqrt(s + eps), 'no_eps': math.sqrt(s)}.get(mistake, math.sqrt(s) + eps)
            p -= lr_t * g / root
            out.append(p)
        return out

    def probe(what: str, grads, mistakes=(), n=1, lrs=(1.0,), p0=0.0, **hp) -> None:
        "Run the answer on `n` parameters (3 numbers each, all `p0`; group i % len(lrs) with lr lrs[i]) with gradient g in `grads`."
        ps = [torch.full((3,), p0, dtype=torch.float64, requires_grad=True) for _ in range(n)]
        opt = adagrad([{'params': ps[i::len(lrs)], 'lr': lr} for i, lr in enumerate(lrs)], **({'lr': 1.0, 'lr_decay': 0.0,
                      'weight_decay': 0.0, 'eps': 0.5} | hp))
        assert isinstance(opt, GeneralOptimizer), f"adagrad returned {type(opt).__name__}: {ADAGRAD_HINTS['not_optimizer']}"
        got = []
        for g in grads:
            for p in ps: p.grad = torch.full_like(p, g)
            opt.step()
            got.append([p[0].item() for p in ps])
        if any(not any(isinstance(v, torch.Tensor) and v.shape == p.shape for v in opt.state.get(p, {}).values()) for p in ps):
            raise AssertionError(f"no tensor of a parameter's shape in its state: {ADAGRAD_HINTS['shared_state']}")
        close = lambda a, b: all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) for x, y in zip(a, b))
        target = [want(grads, p0, lrs[i % len(lrs)], **hp) for i in range(n)]
        if all(close([row[i] for row in got], target[i]) for i in range(n)): return
        if len(lrs) == 1 and any(row[i] != row[0] for row in got for i in range(n)):  # same gradients, same group: same values
            raise AssertionError(f"two parameters with the same gradients ended apart: {ADAGRAD_HINTS['shared_state']}")
        for m in mistakes:
            if close([row[0] for row in got], want(grads, p0, lrs[0], mistake=m, **hp)): raise AssertionError(ADAGRAD_HINTS[m])
        if all(v == p0 for v in got[0]): raise AssertionError(ADAGRAD_HINTS['not_in_place'])
        i = next(i for i in range(n) if not close([row[i] for row in got], target[i]))
        raise AssertionError(f"{what}: parameter {i + 1} should be {[round(v, 4) for v in target[i]]} after each step, got "
                             f"{[round(row[i], 4) for row in got]}")

    probe("one step from p = 0 with gradient 1, lr 1 and ε 0.5", [1.0], ('eps_in_root', 'no_eps', 'running_mean'))
    probe("one step with gradient 2", [2.0], ('not_squared',))
    probe("two steps with gradient 1", [1.0, 1.0], ('no_memory',))
    probe("two parameters, two steps", [1.0, 1.0], n=2)
    probe("three steps with lr_decay 0.5", [1.0, 1.0, 1.0], ('no_lr_decay', 'decay_from_0'), n=2, lr_decay=0.5)
    probe("one step from p = 1 with gradient 0 and weight_decay 0.2", [0.0], ('no_wd', 'decoupled'), p0=1.0, weight_decay=0.2)
    try: probe("two groups, lr 1 and 0.1", [1.0, 1.0], n=2, lrs=(1.0, 0.1))
    except AssertionError as e: raise AssertionError(f"{e} — {ADAGRAD_HINTS['group_lr']}") from None
    g = torch.Generator().manual_seed(8)
    x, y = torch.rand(256, 784, generator=g), torch.randint(0, 10, (256,), generator=g)
    hp = dict(lr=0.05, lr_decay=0.01, eps=1e-10)
    diffs = compare_optimizers(lambda m: adagrad(decay_groups(m, 1e-3), **hp),
                               lambda m: torch.optim.Adagrad(decay_groups(m, 1e-3), **hp), x, y, steps=20, bs=32)
    first = next((i for i, d in enumerate(diffs) if not d <= 1e-6), None)
    assert first is None, (f"on lecture 04's MLP, after step {first + 1} a parameter differs from torch.optim.Adagrad's by "
                           f"{diffs[first]:.2g}; compare your steps with the rule")


@exercise('09', 'fold_batchnorm')
def _fold_batchnorm(fold_batchnorm):
    """fold_batchnorm(conv, bn): a new nn.Conv2d equal to bn(conv(x)) with bn in evaluation mode; conv and bn unchanged.
    A wrong answer that matches one of the usual slips gets the hint for that slip."""
    from torch import nn
    g = torch.Generator().manual_seed(9)
    for bias, (ci, co, stride) in ((False, (3, 4, 1)), (True, (2, 5, 2))):
        conv = nn.Conv2d(ci, co, 3, stride=stride, padding=1, bias=bias)
        bn = nn.BatchNorm2d(co, eps=0.1)  # a large eps, so leaving it out shows
        with torch.no_grad():
            for t in (conv.weight, bn.weight, bn.bias, bn.running_mean): t.copy_(torch.randn(t.shape, generator=g))
            if bias: conv.bias.copy_(torch.randn(co, generator=g))
            bn.running_var.copy_(torch.rand(co, generator=g) + 0.5)
        bn.eval()
        x = torch.randn(3, ci, 7, 7, generator=g)
        before = {k: v.clone() for k, v in [*conv.state_dict().items(), *(('bn.' + k, v) for k, v in bn.state_dict().items())]}
        with torch.no_grad():
            want = bn(conv(x))
            folded = fold_batchnorm(conv, bn)
            after = {k: v for k, v in [*conv.state_dict().items(), *(('bn.' + k, v) for k, v in bn.state_dict().items())]}
            assert all(torch.equal(before[k], after[k]) for k in before), \
                "conv or bn changed: build a new convolution and leave the two you were given as they were"
            assert isinstance(folded, nn.Conv2d), f"return an nn.Conv2d, got {type(folded).__name__}"
            got = folded(x)
            if _close(got, want): continue
            scale = bn.weight / (bn.running_var + bn.eps).sqrt()
            b = conv.bias if bias else torch.zeros(co)
            slips = {'the square root of the variance needs eps added first: √(running_var + eps)':
                         (bn.weight / bn.running_var.sqrt(), (b - bn.running_mean) * bn.weight / bn.running_var.sqrt() + bn.bias),
                     "the convolution's own bias goes through batch norm too: (conv.bias − running_mean)·scale + β":
                         (scale, -bn.running_mean * scale + bn.bias),
                     'the new bias must subtract the running mean before scaling: (b − running_mean)·scale + β':
                         (scale, b * scale + bn.bias),
                     'batch norm divides by the standard deviation √(var + eps), not by the variance':
                         (bn.weight / (bn.running_var + bn.eps), (b - bn.running_mean) * bn.weight / (bn.running_var + bn.eps) + bn.bias)}
            for hint, (w_scale, new_bias) in slips.items():
                slip = F.conv2d(x, conv.weight * w_scale.view(-1, 1, 1, 1), new_bias, conv.stride, conv.padding)
                assert not _close(got, slip), hint
            assert got.shape == want.shape, f"output shape {tuple(got.shape)}, expected {tuple(want.shape)}: keep conv's stride and padding"
            raise AssertionError(f"max |difference| from bn(conv(x)) {(got - want).abs().max():.2e} (conv bias {bias}): each output "
                                 "channel's kernel is multiplied by γ/√(running_var + eps) — the scale of that output channel")


@exercise('10', 'shard')
def _shard(shard):
    "shard(n, world_size, rank) gives the indices DistributedSampler(range(n), world_size, rank, shuffle=False) yields."
    from torch.utils.data import DistributedSampler
    for n, w in ((12, 2), (10, 4), (7, 3), (5, 8), (2, 5), (1, 2), (16, 1)):
        for r in range(w):
            want = list(DistributedSampler(range(n), num_replicas=w, rank=r, shuffle=False))
            got = shard(n, w, r)
            assert got is not None, "shard returned None; return a list of indices"
            got = [int(i) for i in got]
            hint = _shard_hint(got, want, n, w, r)
            assert got == want, f"n={n}, world_size={w}, rank={r}: expected {want}, got {got}" + (f" ({hint})" if hint else '')


def _shard_hint(got: list, want: list, n: int, w: int, r: int) -> str:
    "What a wrong answer to `shard` most likely missed, from how `got` differs from `want` ('' when no pattern fits)."
    per_rank, total = len(want), len(want) * w
    padded = [i % n for i in range(total)]  # 0..n-1, then the first ones again until a multiple of w
    if any(not 0 <= i < n for i in got): return f"every index must lie in 0..{n - 1}"
    if len(got) < per_rank:
        if total - n > n:
            return (f"the padding ({total - n} indices) is longer than the {n} indices themselves: repeat 0..{n - 1} from "
                    f"its start as often as needed, up to {total}")
        return f"every rank gets ceil(n / world_size) = {per_rank} indices: pad 0..{n - 1} with its first ones up to {total}, a multiple of world_size"
    if len(got) > per_rank:
        return f"every rank gets ceil(n / world_size) = {per_rank} indices, not {len(got)}: pad only up to {total}, the first multiple of world_size ≥ n"
    if got == padded[r * per_rank:(r + 1) * per_rank]:
        return "these are consecutive indices: DistributedSampler deals them out, rank r taking positions r, r + world_size, r + 2·world_size, …"
    if sorted(got) == sorted(want): return "the right indices in the wrong order: positions r, r + world_size, … in that order"
    other = next((k for k in range(w) if k != r and got == padded[k::w]), None)
    if other is not None: return f"these are rank {other}'s indices: rank {r} starts at position {r} (ranks count from 0)"
    if all(g == x for g, x, pos in zip(got, want, range(r, total, w)) if pos < n):
        return "right up to the padding: the padding repeats the first indices, 0, 1, …"
    return ''


def _count_parameters(count_parameters):
    "count_parameters(model): the number of trainable parameters. The placeholder exercise of a new lecture (tools/new_lecture.py)."
    import torch.nn as nn
    frozen = nn.Linear(3, 2)
    frozen.weight.requires_grad_(False)
    for model, want in ((nn.Linear(4, 3), 15), (nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)), 23), (frozen, 2)):
        got = count_parameters(model)
        assert got is not None, "count_parameters returned None; return a whole number"
        assert int(got) == want, f"{model} has {want} trainable parameters; got {got}"
