"""Lecture 09: convolution and pooling from scratch against torch (values and gradients), the output-size formula,
the activation-statistics hooks (removed also on exceptions), Kaiming initialization, BatchNorm against nn.BatchNorm2d
in training and evaluation, the CNN and its training recipe, the CNN in the command's settings, the exercise check."""
import pytest, torch, yaml
import torch.nn.functional as F
from torch import nn
from exp.nb_03 import Dataset, get_dls
from exp.nb_04 import MLP
from exp.nb_07 import MODELS, SettingsError, check_settings, load_settings, TRAIN_SETTINGS
from exp.nb_06 import Learner
from exp.nb_09 import (CNN_CHANNELS, FASHION_RECIPE, ActivationStats, AsImages, BatchNorm, RandomFlipCB, conv2d_loops,
                       conv2d_unfold, conv_block, conv_out_size, fit_one_cycle, get_cnn, im2col, init_cnn, pool2d)
from helpers.exercises import check
from solutions.ex_09 import fold_batchnorm
from tools.notebooks import REPO

torch.set_num_threads(1)  # small tensors: threads only wait for each other on a shared machine

CONV_CASES = [(stride, padding, ks) for stride in (1, 2, 3) for padding in (0, 1, 2) for ks in (1, 3, 5) if padding <= ks // 2 + 1]


def conv_inputs(ks: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(2, 3, 11, 10, generator=g, dtype=torch.float64), torch.randn(4, 3, ks, ks, generator=g, dtype=torch.float64),
            torch.randn(4, generator=g, dtype=torch.float64))


@pytest.mark.parametrize('stride, padding, ks', CONV_CASES)
def test_conv_loops_and_unfold_match_f_conv2d(stride, padding, ks):
    x, w, b = conv_inputs(ks)
    want = F.conv2d(x, w, b, stride, padding)
    for conv in (conv2d_loops, conv2d_unfold):
        got = conv(x, w, b, stride, padding)
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(conv2d_loops(x, w, None, stride, padding), F.conv2d(x, w, None, stride, padding))


@pytest.mark.parametrize('stride, padding, ks', CONV_CASES)
def test_conv_unfold_gradients_match_f_conv2d(stride, padding, ks):
    x, w, b = conv_inputs(ks, seed=1)
    grads = []
    for conv in (conv2d_unfold, F.conv2d):
        xs, ws, bs = (t.clone().requires_grad_() for t in (x, w, b))
        out = conv(xs, ws, bs, stride, padding)
        out.backward(torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out))
        grads.append((xs.grad, ws.grad, bs.grad))
    for ours, theirs in zip(*grads): torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-10)


def test_conv_loops_rectangular_kernels_and_gradients():
    g = torch.Generator().manual_seed(2)
    x, w = torch.randn(1, 2, 7, 9, generator=g, dtype=torch.float64), torch.randn(3, 2, 2, 4, generator=g, dtype=torch.float64)
    torch.testing.assert_close(conv2d_loops(x, w, stride=2, padding=1), F.conv2d(x, w, stride=2, padding=1))
    assert torch.autograd.gradcheck(lambda x, w: conv2d_loops(x, w, stride=2), (x.requires_grad_(), w.requires_grad_()))


def test_im2col_is_f_unfold():
    x = torch.randn(3, 2, 9, 8)
    for ks, stride, padding in ((1, 1, 0), (3, 1, 1), (3, 2, 0), (4, 3, 2)):
        assert torch.equal(im2col(x, ks, stride, padding), F.unfold(x, ks, padding=padding, stride=stride))


def test_conv_shape_errors_are_clear():
    with pytest.raises(ValueError, match='x has 3 channels but the kernels expect 2'):
        conv2d_unfold(torch.zeros(1, 3, 5, 5), torch.zeros(4, 2, 3, 3))
    with pytest.raises(ValueError, match=r'need images x \(N,C,H,W\)'): conv2d_loops(torch.zeros(3, 5, 5), torch.zeros(4, 3, 3, 3))
    with pytest.raises(ValueError, match='does not fit'): im2col(torch.zeros(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match='square kernels, got 2×3'): conv2d_unfold(torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 2, 3))


def test_conv_out_size_matches_f_conv2d():
    for n in (1, 2, 5, 8, 13, 28):
        for ks in (1, 2, 3, 5):
            for s in (1, 2, 3):
                for p in range(3):
                    if n + 2 * p < ks: continue
                    got = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, ks, ks), stride=s, padding=p).shape[-1]
                    assert conv_out_size(n, ks, s, p) == got, (n, ks, s, p)


@pytest.mark.parametrize('ks, stride', [(2, None), (2, 1), (3, 1), (3, 2), (4, 4)])
def test_pooling_matches_torch(ks, stride):
    x = torch.randn(2, 3, 9, 10)
    torch.testing.assert_close(pool2d(x, ks, stride, 'max'), F.max_pool2d(x, ks, stride))
    torch.testing.assert_close(pool2d(x, ks, stride, 'avg'), F.avg_pool2d(x, ks, stride))
    with pytest.raises(ValueError, match="op must be 'max' or 'avg'"): pool2d(x, ks, stride, 'min')


def test_activation_stats_records_training_batches_and_removes_its_hooks():
    model = get_cnn((4, 8), norm=False)
    blocks = list(model)[1:3]
    with ActivationStats(blocks, bins=10, hist_range=(0, 5)) as st:
        for _ in range(3): model(torch.rand(8, 784))
        model.eval(); model(torch.rand(8, 784)); model.train()  # evaluation batches are not recorded
        assert all(len(m._forward_hooks) == 1 for m in blocks)
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    x = torch.rand(8, 784)
    model(x)  # after the block: nothing more is recorded
    for s, block in zip(st.stats, blocks):
        assert len(s.means) == len(s.stds) == len(s.hists) == 3
        assert s.hists[0].shape == (10,) and s.hists[0].sum() > 0
    out = blocks[0](AsImages()(x))
    with ActivationStats(blocks[:1]) as st2: model(x)
    assert st2.stats[0].means[0] == pytest.approx(out.mean().item()) and st2.stats[0].stds[0] == pytest.approx(out.std().item())
    assert st2.stats[0].hists[0].sum() == ((out >= 0) & (out <= 10)).sum()


def test_activation_stats_removes_hooks_on_exception_and_plots():
    model = get_cnn((4, 8))
    with pytest.raises(RuntimeError, match='boom'):
        with ActivationStats(model.modules()) as st:
            model(torch.rand(4, 784))
            raise RuntimeError('boom')
    assert sum(len(m._forward_hooks) for m in model.modules()) == 0
    assert st.handles == []
    st.remove()  # twice is harmless
    import matplotlib; matplotlib.use('agg'); import matplotlib.pyplot as plt
    small = ActivationStats(list(model)[1:3])
    model(torch.rand(4, 784)); small.remove()
    assert len(small.plot_stats().axes) == 2 and len(small.plot_hists(['a', 'b']).axes) == 2
    plt.close('all')
    with pytest.raises(ValueError, match='at least one module'): ActivationStats([])


def test_init_cnn_is_kaiming():
    torch.manual_seed(0)
    model = init_cnn(nn.Sequential(nn.Conv2d(64, 64, 3, bias=True), nn.Linear(1000, 500)))
    for m, fan_in in ((model[0], 64 * 9), (model[1], 1000)):
        assert m.weight.std().item() == pytest.approx((2 / fan_in) ** 0.5, rel=0.03)
        assert m.weight.mean().abs().item() < 0.01 and torch.equal(m.bias, torch.zeros_like(m.bias))
    leaky = init_cnn(nn.Linear(2000, 400), leak=0.5)
    assert leaky.weight.std().item() == pytest.approx((2 / (1 + 0.25) / 2000) ** 0.5, rel=0.03)


def test_kaiming_keeps_a_deep_plain_cnn_on_scale():
    "The lecture's claim: default init shrinks activations block by block, Kaiming's much less."
    x = torch.rand(128, 784)
    stds = {}
    for kaiming in (False, True):
        torch.manual_seed(0)
        model = get_cnn((8, 16, 32, 64, 64), norm=False)
        if kaiming: init_cnn(model)
        with ActivationStats(list(model)[1:6]) as st: model(x)
        stds[kaiming] = [s.stds[0] for s in st.stats]
    assert stds[False][-1] < stds[False][0] / 4 and stds[False][-1] < stds[True][-1] / 4


@pytest.mark.parametrize('shape', [(8, 3, 5, 5), (16, 3), (6, 3, 7)])
def test_batchnorm_matches_torch_in_training_and_evaluation(shape):
    torch.manual_seed(0)
    ours = BatchNorm(3, eps=1e-3, momentum=0.2).double()
    theirs = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(3, eps=1e-3, momentum=0.2).double()
    with torch.no_grad():
        for bn in (ours, theirs): bn.weight.copy_(torch.tensor([1.0, 2.0, 0.5])); bn.bias.copy_(torch.tensor([0.0, -1.0, 3.0]))
    for _ in range(4):
        x = (torch.randn(*shape, dtype=torch.float64) * 3 + 2).requires_grad_()
        outs = [bn(x) for bn in (ours, theirs)]
        torch.testing.assert_close(outs[0], outs[1])
        up = torch.randn_like(outs[0])
        for a, b in zip(*(torch.autograd.grad(o, (x, bn.weight, bn.bias), up) for o, bn in zip(outs, (ours, theirs)))):
            torch.testing.assert_close(a, b)
    torch.testing.assert_close(ours.running_mean, theirs.running_mean)
    torch.testing.assert_close(ours.running_var, theirs.running_var)
    ours.eval(); theirs.eval()
    x = torch.randn(*shape, dtype=torch.float64)
    torch.testing.assert_close(ours(x), theirs(x))
    before = ours.running_mean.clone(); ours(x)
    assert torch.equal(before, ours.running_mean)  # evaluation leaves the running statistics alone
    assert set(dict(ours.named_buffers())) == {'running_mean', 'running_var'}
    assert {n for n, _ in ours.named_parameters()} == {'weight', 'bias'}


def test_cnn_shapes_inputs_and_blocks():
    model = get_cnn((4, 8, 16))
    x = torch.rand(5, 784)
    assert model(x).shape == (5, 10) and torch.equal(model(x), model(x.view(5, 1, 28, 28)))
    assert get_cnn((4,), n_out=3)(x).shape == (5, 3) and get_cnn((4, 4), size=12)(torch.rand(2, 144)).shape == (2, 10)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8, 16] and all(c.bias is None for c in convs)
    assert [c.stride for c in convs] == [(1, 1), (2, 2), (2, 2)] and model[-1].in_features == 16 * 7 * 7  # 28 → 28 → 14 → 7
    block = conv_block(3, 6, ks=5, stride=1, norm=False)
    assert [type(m) for m in block] == [nn.Conv2d, nn.ReLU] and block[0].bias is not None and block[0].padding == (2, 2)
    assert [type(m) for m in conv_block(3, 6)] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
    assert [c.out_channels for c in get_cnn().modules() if isinstance(c, nn.Conv2d)] == list(CNN_CHANNELS)
    for bad in ([], [8, 0], [8, 2.5]):
        with pytest.raises(ValueError, match='channels must be a non-empty list'): get_cnn(bad)


def test_fit_one_cycle_trains_with_adamw_and_the_schedule():
    torch.manual_seed(0)
    x = torch.rand(256, 784); y = (x[:, :392].sum(1) > x[:, 392:].sum(1)).long()  # a learnable rule
    train_dl, valid_dl = get_dls(Dataset(x[:192], y[:192]), Dataset(x[192:], y[192:]), 32)
    model = init_cnn(get_cnn((4, 8)))
    learn = fit_one_cycle(model, train_dl, valid_dl, 3, 1e-2, weight_decay=0.1, device='cpu')
    assert [r['epoch'] for r in learn.history] == [1, 2, 3] and learn.history[-1]['train_loss'] < learn.history[0]['train_loss']
    groups = learn.opt.param_groups
    assert [g['weight_decay'] for g in groups] == [0.1, 0.0]  # decay on weight matrices only
    assert groups[0]['lr'] < 1e-2 / 25  # the one-cycle schedule ended far below its peak


def test_the_cnn_and_its_key_join_lecture_07s_settings():
    "Lecture 09 adds the network `cnn` to MODELS and the key `channels` to the one schema, TRAIN_SETTINGS."
    base = {'num_epochs': 1, 'batch_size': 8, 'learning_rate': 0.1}
    assert {'model', 'channels'} <= set(TRAIN_SETTINGS) and set(MODELS) >= {'mlp', 'cnn'}
    s = check_settings(base)
    assert s['model'] == 'mlp' and isinstance(MODELS[s['model']](s), MLP)
    s = check_settings({**base, 'model': 'cnn', 'channels': [4, 8]})
    assert [m.out_channels for m in MODELS['cnn'](s).modules() if isinstance(m, nn.Conv2d)] == [4, 8]
    for bad, msg in (({'model': 'resnet'}, "key 'model' cannot be 'resnet'. Allowed: one of mlp, cnn"),
                     ({'channels': [8, 0]}, r"key 'channels' cannot be \[8, 0\]. Allowed: a list of whole numbers >= 1"),
                     ({'channels': []}, r"key 'channels' cannot be \[\]"),
                     ({'channels': [8, True]}, r"key 'channels' cannot be \[8, True\]"),
                     ({'channels': 64}, "key 'channels' must be a list, got 64")):
        with pytest.raises(SettingsError, match=msg): check_settings({**base, 'model': 'cnn', **bad}, 'x.yaml')


def test_fashion_cnn_settings_are_the_recipe():
    s = load_settings(REPO/'settings'/'fashion_cnn.yaml')
    assert (s['dataset'], s['model'], s['optimizer'], s['schedule']) == ('fashion', 'cnn', 'adamw', 'one_cycle')
    assert [s[k] for k in ('channels', 'num_epochs', 'batch_size', 'learning_rate', 'weight_decay')] == \
           [FASHION_RECIPE[k] for k in ('channels', 'epochs', 'batch_size', 'lr_max', 'weight_decay')]
    assert yaml.safe_load((REPO/'settings'/'fashion_cnn.yaml').read_text())['channels'] == FASHION_RECIPE['channels']


def test_exercise_check_passes_on_the_solution(capsys):
    assert check('09', 'fold_batchnorm', fold_batchnorm) is True
    conv, bn = torch.nn.Conv2d(2, 3, 3, padding=1, bias=False), torch.nn.BatchNorm2d(3)
    x = torch.randn(4, 2, 6, 6)
    bn(conv(x)); bn.eval()  # running statistics from one training batch, then evaluation mode
    with torch.no_grad(): torch.testing.assert_close(fold_batchnorm(conv, bn)(x), bn(conv(x)))


def test_random_flip_flips_training_batches_only():
    x = torch.arange(2 * 784, dtype=torch.float32).view(2, 784)
    learn = Learner(nn.Linear(784, 2), None)
    cb = RandomFlipCB(p=1.0)
    learn.training, learn.xb = True, x
    cb.before_batch(learn)
    assert torch.equal(learn.xb, x.view(2, 28, 28).flip(-1).reshape(2, 784))
    learn.training, learn.xb = False, x
    cb.before_batch(learn)
    assert learn.xb is x
    learn.training, learn.xb = True, x.view(2, 1, 28, 28)
    RandomFlipCB(p=0.0).before_batch(learn)
    assert torch.equal(learn.xb, x.view(2, 1, 28, 28))
    torch.manual_seed(0)
    learn.xb = torch.rand(4000, 1, 28, 28)
    before = learn.xb.clone(); RandomFlipCB(p=0.5).before_batch(learn)
    flipped = (learn.xb != before).flatten(1).any(1).float().mean().item()
    assert 0.45 < flipped < 0.55
    with pytest.raises(ValueError, match='probability'): RandomFlipCB(1.5)


def test_activation_stats_entered_again_records_again():
    "Re-running `with stats: learn.fit(1)` puts the hooks back; the new batches are appended."
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    stats = ActivationStats([model[0]])
    for n in (1, 2):
        with stats: model(torch.randn(3, 4))
        assert len(stats.stats[0].means) == n and stats.handles == []
    model(torch.randn(3, 4))
    assert len(stats.stats[0].means) == 2, "outside the block nothing is recorded"
    with stats, stats: model(torch.randn(3, 4))  # entered twice at once: one set of hooks
    assert len(stats.stats[0].means) == 3
