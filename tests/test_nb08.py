"""Lecture 08: every optimizer step by step against torch.optim (float64 and float32), parameter groups and state,
checkpoints, the schedules against OneCycleLR, the schedule callback, the learning-rate finder. Its exercises:
tests/test_exercises_08.py."""
import copy, math
import pytest, torch
import torch.nn.functional as F
from torch.optim import lr_scheduler
from exp.nb_03 import Dataset, DataLoader, Optimizer, get_dls
from exp.nb_04 import MLP
from exp.nb_06 import CancelFitException, CheckpointCB, DeviceCB, Learner, MetricsCB, ScheduleCB, Callback
from exp.nb_08 import (GeneralOptimizer, HyperScheduleCB, LRFinderCB, adam, adamw, check_hypers, compare_optimizers,
                       cos_anneal, decay_groups, lr_find, one_cycle, rmsprop, set_hyper, sgd, sgd_step, state_per_param,
                       warmup_cosine)

torch.set_num_threads(1)  # tiny matrices: threads only wait for each other on a shared machine

F32_TOL = 1e-5  # the lecture's float32 bound (measured there: at most 4.6e-07 over these cases)


def digits(n=512, seed=0):
    "Random 'images' (n×784 in [0, 1)) and labels 0..9: the comparisons need no real data."
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g)


X, Y = digits()

# name: (ours, torch's), each a function model -> optimizer with the same hyper-parameters
CASES = {
    'sgd': (lambda m: sgd(m.parameters(), lr=0.5), lambda m: torch.optim.SGD(m.parameters(), lr=0.5)),
    'sgd_l2': (lambda m: sgd(m.parameters(), lr=0.5, weight_decay=1e-2),
               lambda m: torch.optim.SGD(m.parameters(), lr=0.5, weight_decay=1e-2)),
    'momentum': (lambda m: sgd(m.parameters(), lr=0.05, momentum=0.9),
                 lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)),
    'nesterov_l2': (lambda m: sgd(m.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
                    lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    'rmsprop_l2': (lambda m: rmsprop(m.parameters(), lr=1e-3, alpha=0.9, weight_decay=1e-3),
                   lambda m: torch.optim.RMSprop(m.parameters(), lr=1e-3, alpha=0.9, weight_decay=1e-3)),
    'adam': (lambda m: adam(m.parameters(), lr=1e-3), lambda m: torch.optim.Adam(m.parameters(), lr=1e-3)),
    'adam_l2_betas': (lambda m: adam(m.parameters(), lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2),
                      lambda m: torch.optim.Adam(m.parameters(), lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
    'adamw': (lambda m: adamw(m.parameters(), lr=1e-3), lambda m: torch.optim.AdamW(m.parameters(), lr=1e-3)),
    'adamw_groups': (lambda m: adamw(decay_groups(m, 0.1), lr=1e-3),
                     lambda m: torch.optim.AdamW(decay_groups(m, 0.1), lr=1e-3)),
    'group_lrs': (lambda m: sgd([{'params': [m.hidden.weight, m.hidden.bias], 'lr': 0.01}, {'params': m.out.parameters()}],
                                lr=0.5, momentum=0.9),
                  lambda m: torch.optim.SGD([{'params': [m.hidden.weight, m.hidden.bias], 'lr': 0.01},
                                             {'params': m.out.parameters()}], lr=0.5, momentum=0.9)),
}


@pytest.mark.parametrize('name', CASES)
def test_matches_torch_in_float64_after_100_steps(name):
    diffs = compare_optimizers(*CASES[name], X, Y, steps=100)
    assert len(diffs) == 100 and max(diffs) <= 1e-6, (name, max(diffs))


@pytest.mark.parametrize('name', CASES)
def test_matches_torch_in_float32(name):
    assert max(compare_optimizers(*CASES[name], X, Y, steps=100, dtype=torch.float32)) <= F32_TOL


def test_the_comparison_sees_small_differences():
    "Not a check that always passes: a 0.2 % different learning rate, or L2 instead of decoupled decay, shows."
    assert max(compare_optimizers(lambda m: sgd(m.parameters(), lr=0.5), lambda m: torch.optim.SGD(m.parameters(), lr=0.501),
                                  X, Y)) > 1e-5
    assert max(compare_optimizers(lambda m: adam(m.parameters(), weight_decay=0.1),
                                  lambda m: torch.optim.AdamW(m.parameters(), weight_decay=0.1), X, Y)) > 1e-5
    assert max(compare_optimizers(lambda m: sgd(m.parameters(), lr=0.05, momentum=0.9),
                                  lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, nesterov=True), X, Y)) > 1e-5


def test_one_sgd_step_is_lecture_03s_optimizer():
    assert max(compare_optimizers(lambda m: GeneralOptimizer(m.parameters(), [sgd_step], lr=0.5),
                                  lambda m: Optimizer(m.parameters(), lr=0.5), X, Y, steps=30)) <= 1e-12


def test_l2_and_decoupled_decay_agree_for_plain_sgd_only():
    def gap(**kw):
        return max(compare_optimizers(lambda m: sgd(m.parameters(), weight_decay=0.01, **kw),
                                      lambda m: sgd(m.parameters(), weight_decay=0.01, decoupled=True, **kw), X, Y, steps=50))
    assert gap(lr=0.5) <= 1e-12
    assert gap(lr=0.05, momentum=0.9) > 1e-4


def test_state_per_parameter_matches_torch():
    def after_one_step(make):
        m = MLP(); opt = make(m)
        F.cross_entropy(m(X[:32]), Y[:32]).backward(); opt.step()
        return state_per_param(opt)
    for name, want in (('sgd', 0), ('momentum', 1), ('rmsprop_l2', 1), ('adam', 2), ('adamw_groups', 2)):
        ours, theirs = CASES[name]
        assert after_one_step(ours) == after_one_step(theirs) == want, name


def test_groups_take_missing_hyper_parameters_from_the_defaults():
    m = MLP()
    opt = adamw(decay_groups(m, 0.1), lr=2e-3)
    assert [g['weight_decay'] for g in opt.param_groups] == [0.1, 0.0]
    assert all(g['lr'] == 2e-3 and g['betas'] == (0.9, 0.999) for g in opt.param_groups)
    assert len(opt.params) == 4 and opt.params[0] is m.hidden.weight
    for p in m.parameters(): p.grad = torch.ones_like(p)
    opt.zero_grad()  # lecture 03's, over every group's parameters
    assert all(p.grad is None for p in m.parameters())


def test_parameters_without_gradient_are_left_alone():
    m = MLP(); before = m.hidden.weight.detach().clone()
    opt = adam(m.parameters(), lr=0.1)
    m.out.weight.grad = torch.ones_like(m.out.weight)
    opt.step()
    assert torch.equal(m.hidden.weight, before) and list(opt.state) == [m.out.weight]


@pytest.mark.parametrize('make, match', [
    (lambda m: sgd(m.parameters(), lr=-0.1), 'lr=-0.1 is out of range: it must be >= 0'),
    (lambda m: sgd(m.parameters(), momentum=1.0), 'momentum=1.0 is out of range'),
    (lambda m: adam(m.parameters(), betas=(0.9, 1.0)), 'betas=\\(0.9, 1.0\\) is out of range'),
    (lambda m: rmsprop(m.parameters(), eps=0), 'eps=0 is out of range: it must be > 0'),
    (lambda m: adamw([{'params': m.parameters(), 'weight_decay': -1}]), 'weight_decay=-1'),
    (lambda m: sgd([{'params': m.parameters(), 'betas': (0.9, 0.99)}]), "unknown hyper-parameter\\(s\\) \\['betas'\\]"),
    (lambda m: sgd([{'params': [m.out.bias]}, {'params': [m.out.bias]}]), 'appears in two groups'),
    (lambda m: sgd([]), 'got no parameters'),
    (lambda m: sgd(m.parameters(), nesterov=True), 'nesterov=True needs a momentum > 0'),
    (lambda m: sgd([{'lr': 0.1}]), "a dict with a 'params' list"),
])
def test_bad_hyper_parameters_and_groups_are_clear_errors(make, match):
    with pytest.raises((ValueError, TypeError), match=match): make(MLP())


def test_check_hypers_accepts_the_defaults():
    for make in (sgd, rmsprop, adam, adamw):
        for g in make(MLP().parameters()).param_groups: check_hypers(g)


def _train(model, opt, steps, seed=1):
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(len(X), (32,), generator=g)
        F.cross_entropy(model(X[idx]), Y[idx]).backward(); opt.step(); opt.zero_grad()


@pytest.mark.parametrize('make', [lambda p: adam(p, lr=1e-2), lambda p: sgd(p, lr=0.1, momentum=0.9)])
def test_state_dict_round_trip_continues_exactly(make):
    torch.manual_seed(0)
    a = MLP(); opt_a = make(a.parameters())
    _train(a, opt_a, 5)
    b = copy.deepcopy(a); opt_b = make(b.parameters())
    sd = opt_a.state_dict()
    opt_b.load_state_dict(sd)
    opt_a.param_groups[0]['lr'] *= 1.0  # the saved dict holds copies: later steps of a leave it unchanged
    _train(a, opt_a, 5, seed=2); _train(b, opt_b, 5, seed=2)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert sd['state'][0] is not opt_a.state_dict()['state'][0]


def test_load_state_dict_of_another_layout_is_a_clear_error():
    sd = adam(MLP().parameters()).state_dict()
    with pytest.raises(ValueError, match='groups of \\[4\\] parameters, this one \\[2, 2\\]'):
        adam(decay_groups(MLP(), 0.1)).load_state_dict(sd)


# ---- schedules

def loaders(n=256, bs=32):
    return get_dls(Dataset(*digits(n)), Dataset(*digits(64, seed=1)), bs)


class RecordHypersCB(Callback):
    order = 20
    def before_fit(self, learn): self.lrs, self.moms = [], []
    def before_batch(self, learn):
        if learn.training:
            g = learn.opt.param_groups[0]
            self.lrs.append(g['lr']); self.moms.append(g['betas'][0] if 'betas' in g else g['momentum'])


def scheduled(opt_func, cb, epochs=3, seed=0, extra=()):
    torch.manual_seed(seed)
    rec = RecordHypersCB()
    learn = Learner(MLP(), *loaders(), F.cross_entropy, opt_func=opt_func, lr=0.1, cbs=[DeviceCB('cpu'), cb, rec, *extra])
    learn.fit(epochs)
    return learn, rec


@pytest.mark.parametrize('ours, theirs, kw', [
    (lambda p, lr: sgd(p, lr=lr, momentum=0.9), lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9), {}),
    (adam, torch.optim.Adam, dict(pct_start=0.25, div=10.0, final_div=100.0, moms=(0.9, 0.8))),
])
def test_one_cycle_matches_torch_OneCycleLR_step_by_step(ours, theirs, kw):
    total = 3 * 8
    torch_kw = {'pct_start': kw.get('pct_start', 0.3), 'div_factor': kw.get('div', 25.0),
                'final_div_factor': kw.get('final_div', 1e4), 'max_momentum': kw.get('moms', (0.95, 0.85))[0],
                'base_momentum': kw.get('moms', (0.95, 0.85))[1]}
    a, ra = scheduled(ours, HyperScheduleCB(one_cycle(0.05, **kw)))
    b, rb = scheduled(theirs, ScheduleCB(lambda o: lr_scheduler.OneCycleLR(o, 0.05, total_steps=total, **torch_kw), per='batch'))
    assert len(ra.lrs) == len(rb.lrs) == total
    assert max(abs(x - y) for x, y in zip(ra.lrs, rb.lrs)) <= 1e-12
    assert max(abs(x - y) for x, y in zip(ra.moms, rb.moms)) <= 1e-12
    assert max((p - q).abs().max().item() for p, q in zip(a.model.parameters(), b.model.parameters())) <= F32_TOL
    assert ra.lrs[0] == pytest.approx(0.05 / torch_kw['div_factor']) and max(ra.lrs) == pytest.approx(0.05, rel=1e-2)


def test_schedule_drives_torch_optimizers_too_and_history_shows_each_epochs_first_lr():
    sched = warmup_cosine(0.1, warmup=0.25)
    learn, rec = scheduled(lambda p, lr: torch.optim.SGD(p, lr=lr), HyperScheduleCB(sched), extra=[MetricsCB()])
    assert rec.lrs == [sched['lr'](i, 24) for i in range(24)]
    assert [r['lr'] for r in learn.history] == [rec.lrs[0], rec.lrs[8], rec.lrs[16]]


def test_warmup_cosine_shape():
    f = warmup_cosine(1.0, warmup=0.1, final_div=100)['lr']
    lrs = [f(i, 100) for i in range(100)]
    assert lrs[:10] == pytest.approx([(i + 1) / 10 for i in range(10)])
    assert all(a > b for a, b in zip(lrs[9:], lrs[10:])) and lrs[-1] == pytest.approx(0.01)


def test_cos_anneal_ends():
    assert cos_anneal(2.0, 1.0, 0.0) == 2.0 and cos_anneal(2.0, 1.0, 1.0) == 1.0 and cos_anneal(2.0, 1.0, 0.5) == 1.5


def test_schedule_errors_are_clear():
    with pytest.raises(ValueError, match='pct_start must be in \\(0, 1\\)'): one_cycle(0.1, pct_start=1.0)
    with pytest.raises(ValueError, match='needs more than 3 training steps .*num_epochs, batch_size'): one_cycle(0.1)['lr'](0, 3)
    with pytest.raises(ValueError, match='warmup is a fraction'): warmup_cosine(0.1, warmup=0)
    with pytest.raises(ValueError, match='more than the 2 warm-up steps; this fit has 2'): warmup_cosine(0.1, warmup=0.9)['lr'](0, 2)
    with pytest.raises(KeyError, match="no hyper-parameter 'momentum'"):
        set_hyper(rmsprop(MLP().parameters()).param_groups[0], 'momentum', 0.9)
    xs, ys = digits(64)
    no_len = Learner(MLP(), (b for b in [(xs, ys)]), None, F.cross_entropy, opt_func=sgd, cbs=[HyperScheduleCB(one_cycle(0.1))])
    with pytest.raises(ValueError, match='has no len'): no_len.fit(1)


def test_set_hyper_momentum_is_beta1_for_adam():
    g = adam(MLP().parameters()).param_groups[0]
    set_hyper(g, 'momentum', 0.5)
    assert g['betas'] == (0.5, 0.999)


class StopAfterCB(Callback):
    "Ends fit after `epochs` epochs, once the checkpoint is written: an interrupted run."
    order = 45
    def __init__(self, epochs): self.epochs = epochs
    def after_epoch(self, learn):
        if learn.epoch + 1 == self.epochs: raise CancelFitException('interrupted')


def test_scheduled_run_resumes_from_a_checkpoint_exactly(tmp_path):
    def learner(path, resume=False):
        torch.manual_seed(0)
        return Learner(MLP(), *loaders(), F.cross_entropy, opt_func=adam, lr=1e-3,
                       cbs=[DeviceCB('cpu'), MetricsCB(), HyperScheduleCB(one_cycle(1e-2)), CheckpointCB(path, resume)])
    whole = learner(tmp_path/'a.pt'); whole.fit(3)
    part = learner(tmp_path/'b.pt'); part.fit(3, cbs=[StopAfterCB(2)])
    assert len(part.history) == 2
    torch.manual_seed(123)  # the checkpoint restores the random state too
    resumed = learner(tmp_path/'b.pt', resume=True); resumed.fit(3)
    assert all(torch.equal(p, q) for p, q in zip(whole.model.parameters(), resumed.model.parameters()))
    assert [r['lr'] for r in whole.history] == [r['lr'] for r in resumed.history]


# ---- the learning-rate finder

def test_lr_find_restores_weights_optimizer_and_random_state():
    torch.manual_seed(0)
    learn = Learner(MLP(), *loaders(), F.cross_entropy, opt_func=lambda p, lr: adam(p, lr=lr), lr=1e-3,
                    cbs=[DeviceCB('cpu'), MetricsCB()])
    learn.fit(1)
    weights, opt_state = copy.deepcopy(learn.model.state_dict()), copy.deepcopy(learn.opt.state_dict())
    twin = copy.deepcopy(learn)
    found = lr_find(learn, num_it=30, plot=False)
    assert all(torch.equal(weights[k], v) for k, v in learn.model.state_dict().items())
    assert learn.opt.param_groups[0]['lr'] == 1e-3 and learn.opt.state_dict()['state'][0]['step'] == opt_state['state'][0]['step']
    assert all(torch.equal(learn.opt.state_dict()['state'][0][k], opt_state['state'][0][k]) for k in ('exp_avg', 'exp_avg_sq'))
    # a fit after lr_find is the fit without it
    rng = torch.get_rng_state()
    learn.fit(1)
    torch.set_rng_state(rng)
    twin.fit(1)
    assert all(torch.equal(p, q) for p, q in zip(learn.model.parameters(), twin.model.parameters()))
    assert found.lrs[0] == pytest.approx(1e-6) and len(found.lrs) == len(found.losses) <= 30
    assert found.suggestion == found.lrs[found.losses.index(min(found.losses))] / 10


def test_lr_find_stops_when_the_loss_diverges_and_leaves_no_optimizer_behind():
    torch.manual_seed(0)
    learn = Learner(MLP(), *loaders(), F.cross_entropy, opt_func=sgd, cbs=[DeviceCB('cpu')])
    found = lr_find(learn, start_lr=1e-3, end_lr=1e6, num_it=200, plot=False)
    assert found.stopped.startswith(('diverged at lr', 'loss ')) and len(found.lrs) < 200
    assert learn.opt is None
    lrs = found.lrs
    assert all(b / a == pytest.approx((1e6 / 1e-3) ** (1 / 199)) for a, b in zip(lrs, lrs[1:]))


def test_lr_finder_arguments_are_checked():
    with pytest.raises(ValueError, match='0 < start_lr < end_lr'): LRFinderCB(1.0, 0.1)
    with pytest.raises(ValueError, match='num_it must be at least 2'): LRFinderCB(num_it=1)


def test_lr_find_on_a_model_that_is_nan_whatever_the_rate():
    "The first loss comes before any step: no learning rate can help, and the message says to look at model and data."
    torch.manual_seed(0)
    model = MLP()
    with torch.no_grad(): model.hidden.bias.fill_(float('nan'))
    learn = Learner(model, *loaders(), F.cross_entropy, opt_func=sgd, cbs=[DeviceCB('cpu')])
    with pytest.raises(ValueError, match='before any step, is not finite') as e: lr_find(learn, plot=False)
    assert 'a lower start_lr cannot help' in str(e.value)


def test_lr_find_warns_when_the_sweep_stops_at_once():
    "A sweep that diverges after a step or two suggests from almost nothing: it warns and says what to do."
    torch.manual_seed(0)
    learn = Learner(MLP(), *loaders(), F.cross_entropy, opt_func=sgd, cbs=[DeviceCB('cpu')])
    with pytest.warns(UserWarning, match='rests on too little. Lower start_lr'):
        found = lr_find(learn, start_lr=1e3, end_lr=1e9, num_it=50, plot=False)
    assert len(found.losses) < 10
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # a sweep that falls before it rises: no warning
        lr_find(learn, start_lr=1e-3, end_lr=1e2, num_it=60, plot=False)



def test_lr_find_gives_back_an_optimizer_the_learner_shares():
    "opt_func may hand out an optimizer that exists already: lr_find leaves its learning rate and state as they were."
    torch.manual_seed(0)
    model = MLP()
    opt = adam(model.parameters(), lr=1e-3)
    learn = Learner(model, *loaders(), F.cross_entropy, opt_func=lambda p, lr: opt, cbs=[DeviceCB('cpu'), MetricsCB()])
    learn.fit(1)
    before = copy.deepcopy(opt.state_dict())
    lr_find(learn, num_it=30, plot=False)
    after = opt.state_dict()
    assert after['param_groups'][0]['lr'] == 1e-3 and after['state'][0]['step'] == before['state'][0]['step']
    assert torch.equal(after['state'][0]['exp_avg'], before['state'][0]['exp_avg'])
