"""Lecture 08's exercises: the reference solution of the self-checking one (Adagrad) with the wrong answers its check
must refuse, each with its own hint (tests/test_exercises_08.py), and worked solutions of the others."""
import torch

from exp.nb_08 import GeneralOptimizer, decoupled_wd, l2_reg


# ---- exercise 1 (self-checking): Adagrad

def adagrad_step(p, d, state, hp):
    "Adagrad: t ← t + 1, s ← s + d² (s starts at 0), then p ← p − lr/(1 + (t − 1)·lr_decay) · d/(√s + ε)."
    if 'sum' not in state: state['step'], state['sum'] = 0, torch.zeros_like(p)
    state['step'] += 1
    s = state['sum'].addcmul_(d, d)
    p.addcdiv_(d, s.sqrt().add_(hp['eps']), value=-hp['lr'] / (1 + (state['step'] - 1) * hp['lr_decay']))
    return d


def adagrad(params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0, eps: float = 1e-10) -> GeneralOptimizer:
    "Adagrad with torch.optim.Adagrad's hyper-parameters and defaults: the L2 term first (l2_reg), then adagrad_step."
    return GeneralOptimizer(params, [l2_reg, adagrad_step], lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps)


# Wrong answers the check must refuse, each a usual mistake; tests/test_exercises_08.py pairs each with its hint.

def _with(step, first=l2_reg):
    "An `adagrad` factory whose pipeline is `first`, then `step`."
    def make(params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, eps=1e-10):
        return GeneralOptimizer(params, [first, step], lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps)
    return make


def _sum(state, p, d):
    "The running sum of squared gradients in `state`, updated with `d` (the correct part of the wrong answers below)."
    if 'sum' not in state: state['step'], state['sum'] = 0, torch.zeros_like(p)
    state['step'] += 1
    return state['sum'].addcmul_(d, d)


def _lr(state, hp): return hp['lr'] / (1 + (state['step'] - 1) * hp['lr_decay'])


def _not_in_place(p, d, state, hp):
    s = _sum(state, p, d)
    p = p - _lr(state, hp) * d / (s.sqrt() + hp['eps'])  # a new tensor: the model's parameter is unchanged
    return d


def _returns_new_tensor(p, d, state, hp):
    s = _sum(state, p, d)
    return p.addcdiv(d, s.sqrt().add_(hp['eps']), value=-_lr(state, hp))  # out of place, handed on instead of applied


def _eps_in_root(p, d, state, hp):
    s = _sum(state, p, d)
    p.addcdiv_(d, (s + hp['eps']).sqrt(), value=-_lr(state, hp))
    return d


def _no_eps(p, d, state, hp):
    s = _sum(state, p, d)
    p.addcdiv_(d, s.sqrt(), value=-_lr(state, hp))
    return d


def _not_squared(p, d, state, hp):
    if 'sum' not in state: state['step'], state['sum'] = 0, torch.zeros_like(p)
    state['step'] += 1
    s = state['sum'].add_(d.abs())
    p.addcdiv_(d, s.sqrt().add_(hp['eps']), value=-_lr(state, hp))
    return d


def _running_mean(p, d, state, hp):  # RMSProp's s with α = 0.99
    if 'sum' not in state: state['step'], state['sum'] = 0, torch.zeros_like(p)
    state['step'] += 1
    s = state['sum'].mul_(0.99).addcmul_(d, d, value=0.01)
    p.addcdiv_(d, s.sqrt().add_(hp['eps']), value=-_lr(state, hp))
    return d


def _no_memory(p, d, state, hp):
    state['step'], state['sum'] = state.get('step', 0) + 1, d * d  # this step's g² only
    p.addcdiv_(d, state['sum'].sqrt().add_(hp['eps']), value=-_lr(state, hp))
    return d


def _shared_sum():
    "One s for all the parameters of an optimizer (a variable of the factory), not one per parameter."
    shared = {}
    def step(p, d, state, hp):
        s = shared.setdefault('sum', torch.zeros_like(p)).addcmul_(d, d)
        state['step'] = state.get('step', 0) + 1
        state['sum'] = s
        p.addcdiv_(d, s.sqrt().add_(hp['eps']), value=-_lr(state, hp))
        return d
    return step


def _shared_step_count():
    "One step count for all the parameters (incremented by each of them), not one per parameter."
    count = [0]
    def step(p, d, state, hp):
        count[0] += 1
        if 'sum' not in state: state['sum'] = torch.zeros_like(p)
        s = state['sum'].addcmul_(d, d)
        p.addcdiv_(d, s.sqrt().add_(hp['eps']), value=-hp['lr'] / (1 + (count[0] - 1) * hp['lr_decay']))
        return d
    return step


def _outside_state():
    "Right values, but s kept in a dict of the factory instead of the parameter's `state` (checkpoints would miss it)."
    sums = {}
    def step(p, d, state, hp):
        state['step'] = state.get('step', 0) + 1
        s = sums.setdefault(id(p), torch.zeros_like(p)).addcmul_(d, d)
        p.addcdiv_(d, s.sqrt().add_(hp['eps']), value=-_lr(state, hp))
        return d
    return step


def _no_lr_decay(p, d, state, hp):
    s = _sum(state, p, d)
    p.addcdiv_(d, s.sqrt().add_(hp['eps']), value=-hp['lr'])
    return d


def _decay_from_0(p, d, state, hp):
    s = _sum(state, p, d)
    p.addcdiv_(d, s.sqrt().add_(hp['eps']), value=-hp['lr'] / (1 + state['step'] * hp['lr_decay']))
    return d


def _fixed_lr(lr_of_factory):
    "The factory's lr for every parameter: each group's own lr ignored."
    def step(p, d, state, hp):
        s = _sum(state, p, d)
        p.addcdiv_(d, s.sqrt().add_(hp['eps']), value=-lr_of_factory / (1 + (state['step'] - 1) * hp['lr_decay']))
        return d
    return step


def no_optimizer(params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, eps=1e-10):
    "torch's own Adagrad: it would pass a comparison with itself, but the exercise is to build one."
    return torch.optim.Adagrad(params, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps)


def not_in_place(params, **hp): return _with(_not_in_place)(params, **hp)
def returns_new_tensor(params, **hp): return _with(_returns_new_tensor)(params, **hp)
def eps_in_root(params, **hp): return _with(_eps_in_root)(params, **hp)
def no_eps(params, **hp): return _with(_no_eps)(params, **hp)
def not_squared(params, **hp): return _with(_not_squared)(params, **hp)
def running_mean(params, **hp): return _with(_running_mean)(params, **hp)
def no_memory(params, **hp): return _with(_no_memory)(params, **hp)
def shared_sum(params, **hp): return _with(_shared_sum())(params, **hp)
def shared_step_count(params, **hp): return _with(_shared_step_count())(params, **hp)
def outside_state(params, **hp): return _with(_outside_state())(params, **hp)
def no_lr_decay(params, **hp): return _with(_no_lr_decay)(params, **hp)
def decay_from_0(params, **hp): return _with(_decay_from_0)(params, **hp)
def no_weight_decay(params, **hp): return GeneralOptimizer(params, [adagrad_step], **hp)
def l2_after_the_step(params, **hp): return _with(l2_reg, first=adagrad_step)(params, **hp)  # l2_reg's direction is never used
def decoupled_decay(params, **hp): return _with(adagrad_step, first=decoupled_wd)(params, **hp)
def group_lr_ignored(params, **hp): return _with(_fixed_lr(hp['lr']))(params, **hp)


WRONG = {'adagrad': [no_optimizer, not_in_place, returns_new_tensor, eps_in_root, no_eps, not_squared, running_mean,
                     no_memory, shared_sum, shared_step_count, outside_state, no_lr_decay, decay_from_0, no_weight_decay,
                     l2_after_the_step, decoupled_decay, group_lr_ignored]}


# ---- worked solutions of exercises 2–5 (not checked by `check`; tests/test_exercises_08.py runs them on small budgets)

def experiment(opt_func, grid, schedule=None, seeds=(0, 1), epochs: int = 8) -> dict:
    """{lr: [validation accuracy after `epochs`, one per seed]} for lecture 04's MLP trained as in lecture 08's
    experiments (embedded digits, batch 64, one CPU thread); `schedule(lr)` gives HyperScheduleCB's schedules, or None."""
    import torch.nn.functional as F
    from exp.nb_08 import (Dataset, DeviceCB, HyperScheduleCB, Learner, MLP, MetricsCB, get_data, get_dls, set_all_seeds)
    x_train, y_train, x_valid, y_valid = get_data(log=lambda *a: None)
    train_dl, valid_dl = get_dls(Dataset(x_train, y_train), Dataset(x_valid, y_valid), 64)
    threads, accs = torch.get_num_threads(), {}
    torch.set_num_threads(1)
    try:
        for lr in grid:
            accs[lr] = []
            for seed in seeds:
                set_all_seeds(seed)
                cbs = [DeviceCB('cpu'), MetricsCB()] + ([HyperScheduleCB(schedule(lr))] if schedule else [])
                learn = Learner(MLP(), train_dl, valid_dl, F.cross_entropy, opt_func=opt_func, lr=lr, cbs=cbs)
                learn.fit(epochs)
                accs[lr].append(learn.history[-1]['valid_acc'])
    finally: torch.set_num_threads(threads)
    return accs


GRIDS = {'SGD': [1.0 * 2**k for k in range(5)], 'momentum': [0.2 * 2**k for k in range(5)],
         'Adam': [0.008 * 2**k for k in range(5)], 'AdamW': [0.008 * 2**k for k in range(5)]}  # the lecture's grids


def exercise_2(epochs: int = 8, seeds=(0, 1), grids: dict = GRIDS) -> dict:
    """Warm-up and cosine (`warmup_cosine(lr)`, the learning rate only) as a third schedule: {optimizer: {lr: accuracies}}.

    Measured (8 epochs, seeds 0 and 1, the lecture's grids; mean validation accuracy at the best peak, one-cycle's from
    the lecture in brackets): SGD 92.55 % at 4 (93.75 % at 8), momentum 93.30 % at 1.6 (93.90 % at 1.6), Adam 93.35 %
    at 0.032 (93.30 % at 0.064), AdamW 93.55 % at 0.128 (93.20 % at 0.064). AdamW's best is at the grid's top: one
    more point, 0.256, gives 92.75 %, so 0.128 is bracketed — extend a grid whose best is at its edge. Like one-cycle,
    warm-up + cosine wants peaks well above the best constant rates, and it ends 1.2 and 0.6 points below one-cycle
    (SGD, momentum) or 0.05 and 0.35 above (Adam, AdamW): none of these exceeds two standard errors of one accuracy
    on the 1,000 validation digits (about 1.5 points), so at this budget the two schedules are not told apart; both
    beat plain SGD with a constant rate (91.3 %). (warmup_cosine leaves the momentum constant; one-cycle cycles it.)"""
    from exp.nb_08 import adam, adamw, sgd, warmup_cosine
    opt_funcs = {'SGD': sgd, 'momentum': lambda p, lr: sgd(p, lr=lr, momentum=0.9), 'Adam': adam,
                 'AdamW': lambda p, lr: adamw(p, lr=lr, weight_decay=0.1)}
    return {name: experiment(f, grids[name], warmup_cosine, seeds, epochs) for name, f in opt_funcs.items()}


def exercise_3(lams=(1e-4, 1e-3, 1e-2, 1e-1), lr: float = 1e-3, steps: int = 100) -> dict:
    """{λ: largest parameter difference between adam(weight_decay=λ) and adamw(weight_decay=λ) after `steps` steps}, and
    {'dead-pixel |w|': mean |weight| from the pixels that are 0 in every training image, at the start and after
    `steps` steps of each, at the smallest λ}.

    Measured (lr 1e-3, 100 steps, float64): 0.13, 0.15, 0.17, 0.17 for λ = 1e-4, 1e-3, 1e-2, 1e-1 — large already at
    a tiny λ, and growing only a little with it. Why: Adam divides the L2 term's gradient λp by √v̂ along with the
    data gradient. A weight whose data gradient is 0 (the weights from the 127 of 784 pixels that are 0 in every
    training image) has λp as its whole gradient, which Adam normalizes to ±1: it moves by the full lr towards 0 at
    every step, whatever λ — its mean |w| fell from 0.080 to 0.024 in 100 steps at λ = 1e-4 — while AdamW shrinks
    it by the factor 1 − lr·λ per step (0.080 stayed 0.080). For weights with large gradients the opposite holds: the
    L2 term is a small part of a large normalized gradient and barely decays them. Decoupled decay treats every
    weight alike, in proportion to λ."""
    import copy
    import torch.nn.functional as F
    from exp.nb_08 import MLP, adam, adamw, compare_optimizers, get_data
    x, y, _, _ = get_data(log=lambda *a: None)
    drift = {lam: max(compare_optimizers(lambda m: adam(m.parameters(), lr=lr, weight_decay=lam),
                                         lambda m: adamw(m.parameters(), lr=lr, weight_decay=lam), x, y, steps=steps))
             for lam in lams}
    dead = x.abs().sum(0) == 0
    torch.manual_seed(0)
    a = MLP().double(); b = copy.deepcopy(a)
    start = a.hidden.weight[:, dead].abs().mean().item()
    pairs = [(a, adam(a.parameters(), lr=lr, weight_decay=min(lams))), (b, adamw(b.parameters(), lr=lr, weight_decay=min(lams)))]
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):  # the same batches for both, as compare_optimizers does
        idx = torch.randint(len(x), (64,), generator=g)
        for model, opt in pairs:
            F.cross_entropy(model(x[idx].double()), y[idx]).backward(); opt.step(); opt.zero_grad()
    return {'drift': drift, 'dead pixels': int(dead.sum()),
            'dead-pixel |w|': {'start': start, 'adam': a.hidden.weight[:, dead].abs().mean().item(),
                               'adamw': b.hidden.weight[:, dead].abs().mean().item()}}


def exercise_4(n_params: float = 1e9) -> dict:
    """Gigabytes (10⁹ bytes) for a float32 model of `n_params` parameters trained with Adam, and Adam's state per parameter
    measured with `state_per_param`.

    Answer: weights 4 GB (4 bytes each), gradients 4 GB, Adam's state 8 GB (m and v: state_per_param = 2), 16 GB in
    all before any activation is stored — four times the weights. (In GiB, 2³⁰ bytes: 3.7, 3.7, 7.5.)"""
    import torch.nn.functional as F
    from exp.nb_08 import MLP, adam, state_per_param
    model = MLP()
    opt = adam(model.parameters())
    F.cross_entropy(model(torch.rand(8, 784)), torch.randint(0, 10, (8,))).backward()
    opt.step()
    per_param = state_per_param(opt)
    return {'weights': 4 * n_params / 1e9, 'gradients': 4 * n_params / 1e9, 'adam state': 4 * per_param * n_params / 1e9,
            'state per parameter': per_param}


def exercise_5(epochs: int = 8, seeds=(0, 1), grid=tuple(GRIDS['momentum'])) -> dict:
    """sgd(momentum=0.9, nesterov=True) with momentum's grid: {'constant': {lr: accuracies}, 'one-cycle': {...}}.

    Measured (8 epochs, seeds 0 and 1; momentum's results from the lecture in brackets): constant, best 92.70 % at 0.4
    (93.65 % at 0.8) — at 0.8 Nesterov falls to 91.50 %, so here it tolerates about half momentum's constant rate;
    one-cycle, best 93.70 % at peak 1.6 (93.90 % at 1.6). The best accuracy moves by −0.95 and −0.2 points, within two
    standard errors of one accuracy on the 1,000 validation digits (about 1.5 points): at this budget Nesterov changes
    the best constant rate, not the best accuracy."""
    from exp.nb_08 import one_cycle, sgd
    f = lambda p, lr: sgd(p, lr=lr, momentum=0.9, nesterov=True)
    return {'constant': experiment(f, grid, None, seeds, epochs), 'one-cycle': experiment(f, grid, one_cycle, seeds, epochs)}
