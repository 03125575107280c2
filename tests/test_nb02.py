"Lecture 02: the from-scratch MLP pieces, their hand-derived gradients (against autograd), training and init."
import pytest, torch
import torch.nn.functional as F
from exp import nb_00
from exp.nb_02 import (lin, relu, sigmoid, mse, one_hot, softmax, softmax_ce, mse_grad, softmax_ce_grad, lin_grad,
                       sigmoid_grad, init_params, mlp_forward, mlp_backward, train_scratch, scratch_accuracy)


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.rand(7, 20, generator=g), torch.randint(0, 4, (7,), generator=g)


@pytest.mark.parametrize('n', [1, 5])
def test_elementwise_pieces(n):
    x, w, b = torch.randn(n, 6), torch.randn(6, 3), torch.randn(3)
    nb_00.test_near(lin(x, w, b), F.linear(x, w.t(), b))
    z = torch.tensor([-1000., -2., 0., 2., 1000.])
    nb_00.test_eq(relu(z), torch.tensor([0., 0., 0., 2., 1000.]))
    nb_00.test_near(sigmoid(z), torch.sigmoid(z))
    a, t = torch.randn(n, 3), torch.randn(n, 3)
    nb_00.test_near(mse(a, t), F.mse_loss(a, t))


def test_one_hot():
    nb_00.test_eq(one_hot(torch.tensor([2, 0, 1]), 3), torch.eye(3)[[2, 0, 1]])
    nb_00.test_eq(one_hot(torch.tensor([9])), F.one_hot(torch.tensor([9]), 10).float())  # a batch of one
    nb_00.test_eq(one_hot(torch.tensor([1, 3], dtype=torch.int32), 4), F.one_hot(torch.tensor([1, 3]), 4).float())
    assert one_hot(torch.tensor([], dtype=torch.long)).shape == (0, 10)
    assert one_hot(torch.tensor([2, 0])).dtype == torch.float32


@pytest.mark.parametrize('bad, err, msg', [(torch.tensor([1., 2.]), TypeError, 'integer class labels, got torch.float32'),
                                           (torch.tensor([True]), TypeError, 'torch.bool'),
                                           (torch.tensor([3, 10]), ValueError, 'label 10 is outside the class range 0..9'),
                                           (torch.tensor([-1, 2]), ValueError, 'label -1 is outside')])
def test_one_hot_errors(bad, err, msg):
    with pytest.raises(err, match=msg): one_hot(bad)


def test_softmax_and_cross_entropy(batch):
    out = torch.randn(7, 4)
    nb_00.test_near(softmax(out), torch.softmax(out, dim=1))
    nb_00.test_near(softmax(out).sum(1), torch.ones(7))
    y = batch[1]
    nb_00.test_near(softmax_ce(out, one_hot(y, 4)), F.cross_entropy(out, y))
    nb_00.test_near(softmax_ce(out[:1], one_hot(y[:1], 4)), F.cross_entropy(out[:1], y[:1]))
    probs = torch.softmax(torch.randn(7, 4), 1)  # soft targets
    nb_00.test_near(softmax_ce(out, probs), F.cross_entropy(out, probs))


def autograd_of(f, *xs):
    xs = [x.clone().requires_grad_() for x in xs]
    f(*xs).backward()
    return [x.grad for x in xs]


@pytest.mark.parametrize('n', [1, 7])
def test_loss_grads(n):
    out, t = torch.randn(n, 4), one_hot(torch.randint(0, 4, (n,)), 4)
    nb_00.test_near(mse_grad(out, t), autograd_of(lambda o: mse(o, t), out)[0])
    nb_00.test_near(softmax_ce_grad(out, t), autograd_of(lambda o: softmax_ce(o, t), out)[0])


@pytest.mark.parametrize('n', [1, 7])
def test_layer_grads(n):
    x, w, b, g = torch.randn(n, 5), torch.randn(5, 3), torch.randn(3), torch.randn(n, 3)
    for ours, theirs in zip(lin_grad(x, w, g), autograd_of(lambda x, w, b: (lin(x, w, b) * g).sum(), x, w, b)):
        nb_00.test_near(ours, theirs)
    z, gs = torch.randn(n, 3), torch.randn(n, 3)
    nb_00.test_near(sigmoid_grad(sigmoid(z), gs), autograd_of(lambda z: (sigmoid(z) * gs).sum(), z)[0])


def test_init_params():
    torch.manual_seed(0)
    w1, b1, w2, b2 = init_params(784, 100, 10)
    assert [tuple(p.shape) for p in (w1, b1, w2, b2)] == [(784, 100), (100,), (100, 10), (10,)]
    assert abs(w1.std().item() - 0.1) < 0.002 and abs(w1.mean().item()) < 0.002
    nb_00.test_eq(b1, torch.zeros(100)); nb_00.test_eq(b2, torch.zeros(10))
    assert all((p == 0).all() for p in init_params(5, 3, 2, std=0.0))
    assert abs(init_params(400, 400, 2, std=1.0)[0].std().item() - 1) < 0.02


@pytest.mark.parametrize('loss, grad', [(mse, mse_grad), (softmax_ce, softmax_ce_grad)])
@pytest.mark.parametrize('n', [1, 7])
def test_mlp_backward_matches_autograd(batch, loss, grad, n):
    torch.manual_seed(1)
    x, y = batch[0][:n], batch[1][:n]
    params, t = init_params(20, 6, 4), one_hot(y, 4)
    h, out = mlp_forward(x, params)
    assert h.shape == (n, 6) and out.shape == (n, 4) and ((h > 0) & (h < 1)).all()
    theirs = autograd_of(lambda *ps: loss(mlp_forward(x, list(ps))[1], t), *params)
    for ours, th in zip(mlp_backward(x, h, grad(out, t), params), theirs, strict=True): nb_00.test_near(ours, th)


def test_train_scratch_steps_and_short_last_batch(batch):
    "Each epoch takes ceil(n/bs) steps; the last, short batch is used and the loss is its exact per-sample mean."
    x, y = batch
    torch.manual_seed(0); params = init_params(20, 6, 4)
    manual = [p.clone() for p in params]
    losses = train_scratch(x, y, params, softmax_ce, softmax_ce_grad, lr=0.5, epochs=1, bs=3)  # batches 3, 3, 1
    total, t = 0., one_hot(y, 4)
    for i in (0, 3, 6):
        h, out = mlp_forward(x[i:i+3], manual)
        total += softmax_ce(out, t[i:i+3]).item() * len(out)
        for p, g in zip(manual, mlp_backward(x[i:i+3], h, softmax_ce_grad(out, t[i:i+3]), manual)): p -= 0.5 * g
    for p, q in zip(params, manual): nb_00.test_near(p, q)
    nb_00.test_near(losses[0], total / 7)


def test_train_scratch_learns_and_accuracy():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (120,), generator=g)
    x = F.one_hot(y, 3).float().repeat(1, 4) + 0.1 * torch.randn(120, 12, generator=g)  # separable toy data
    torch.manual_seed(0); params = init_params(12, 8, 3)
    before = scratch_accuracy(x, y, params)
    losses = train_scratch(x, y, params, softmax_ce, softmax_ce_grad, lr=1.0, epochs=15, bs=16)
    assert len(losses) == 15 and losses[-1] < losses[0] / 3
    assert scratch_accuracy(x, y, params) == 1.0 > before
    assert scratch_accuracy(x[:1], y[:1], params) == 1.0
    with pytest.raises(TypeError, match='integer class labels'): train_scratch(x, y.float(), params)
    with pytest.raises(ValueError, match='label 3 is outside the class range 0..2'): train_scratch(x, y + 1, params)


def test_zero_init_keeps_hidden_units_identical():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(64, 12, generator=g), torch.randint(0, 3, (64,), generator=g)
    params = init_params(12, 5, 3, std=0.0)
    train_scratch(x, y, params, softmax_ce, softmax_ce_grad, lr=1.0, epochs=3, bs=16)
    w1 = params[0]
    assert w1.abs().max() > 0
    nb_00.test_near(w1, w1[:, :1].expand_as(w1))
