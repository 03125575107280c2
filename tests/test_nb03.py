"Lecture 03: stable log-softmax and NLL, accuracy, Optimizer, Dataset/Sampler/collate/DataLoader, get_dls, get_model, fit."
import pandas as pd, pytest, torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import TensorDataset, DataLoader as TorchDataLoader
from exp import nb_00
from exp.nb_03 import (logsumexp, log_softmax, check_targets, nll, cross_entropy, accuracy, Optimizer, Dataset, Sampler,
                       collate, DataLoader, get_dls, get_model, fit, one_hot, softmax_ce)

HOSTILE = torch.tensor([[100., 99., 0.], [-1000., 0., 1000.], [1e4, 1e4, -1e4]])


def test_logsumexp_and_log_softmax():
    x = torch.randn(5, 7)
    nb_00.test_near(logsumexp(x), torch.logsumexp(x, -1))
    nb_00.test_near(logsumexp(HOSTILE), torch.logsumexp(HOSTILE, -1))
    assert torch.isfinite(log_softmax(HOSTILE)[:, :2]).all()
    nb_00.test_near(log_softmax(HOSTILE), F.log_softmax(HOSTILE, -1))
    nb_00.test_near(log_softmax(x[:1]), F.log_softmax(x[:1], -1))  # a batch of one
    nb_00.test_near(log_softmax(x[0]), F.log_softmax(x[0], -1))    # a single row (1-D)


def test_check_targets_accepts_class_indices():
    out = torch.zeros(3, 4)
    check_targets(out, torch.tensor([0, 3, 2]))
    check_targets(out, torch.tensor([0, 3, 2], dtype=torch.int32))
    check_targets(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))


@pytest.mark.parametrize('y, err, msg', [
    (torch.tensor([0., 1., 2.]), TypeError, r'class targets must be integers \(torch.int64\), got torch.float32; convert them with y.long\(\)'),
    (torch.tensor([True, False, True]), TypeError, 'got torch.bool'),
    (torch.tensor([0, 4, 1]), ValueError, r"target 4 is outside the class range 0..3 of the model's 4 outputs"),
    (torch.tensor([-1, 0, 1]), ValueError, 'target -1 is outside'),
    (torch.tensor([0, 1]), ValueError, r'targets of shape \(2,\) for outputs of shape \(3, 4\)'),
    (torch.tensor([[0], [1], [2]]), ValueError, 'one class index per row')])
def test_check_targets_errors(y, err, msg):
    for f in (check_targets, nll, cross_entropy, accuracy):
        with pytest.raises(err, match=msg): f(torch.zeros(3, 4), y)


@pytest.mark.parametrize('n', [1, 9])
def test_nll_and_cross_entropy(n):
    out, y = torch.randn(n, 5), torch.randint(0, 5, (n,))
    nb_00.test_near(nll(F.log_softmax(out, -1), y), F.nll_loss(F.log_softmax(out, -1), y))
    nb_00.test_near(cross_entropy(out, y), F.cross_entropy(out, y))
    nb_00.test_near(cross_entropy(out, y), softmax_ce(out, one_hot(y, 5)))
    nb_00.test_near(cross_entropy(HOSTILE, torch.tensor([0, 1, 2])), F.cross_entropy(HOSTILE, torch.tensor([0, 1, 2])))


def test_accuracy():
    out = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    nb_00.test_near(accuracy(out, torch.tensor([1, 0, 0, 0])), 0.75)
    nb_00.test_near(accuracy(out[:1], torch.tensor([1])), 1.0)   # a batch of one
    nb_00.test_near(accuracy(out[:1], torch.tensor([0])), 0.0)
    assert accuracy(out, torch.tensor([1, 0, 1, 0])).dtype == torch.float32


def test_optimizer_matches_sgd_step_for_step():
    torch.manual_seed(0); a = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3))
    b = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3)); b.load_state_dict(a.state_dict())
    oa, ob = Optimizer(a.parameters(), lr=0.3), optim.SGD(b.parameters(), lr=0.3)
    x, y = torch.randn(20, 6), torch.randint(0, 3, (20,))
    for i in range(0, 20, 3):  # includes a short last batch
        for m, o in ((a, oa), (b, ob)):
            F.cross_entropy(m(x[i:i+3]), y[i:i+3]).backward(); o.step(); o.zero_grad()
        for p, q in zip(a.parameters(), b.parameters()): nb_00.test_near(p, q)
    assert all(p.grad is None for p in a.parameters())


def test_optimizer_skips_parameters_without_gradient():
    used, unused = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(2))
    opt = Optimizer([used, unused], lr=0.5)
    (used * torch.tensor([1., 2.])).sum().backward()
    opt.step()
    nb_00.test_eq(used.detach(), torch.tensor([0.5, 0.])); nb_00.test_eq(unused.detach(), torch.ones(2))


def test_dataset_indexing():
    x, y = torch.arange(20.).view(10, 2), torch.arange(10)
    ds = Dataset(x, y)
    assert len(ds) == 10
    xi, yi = ds[3]; nb_00.test_eq(xi, x[3]); assert yi.item() == 3
    xs, ys = ds[2:5]; nb_00.test_eq(xs, x[2:5]); nb_00.test_eq(ys, y[2:5])
    for idx in (torch.tensor([7, 0, 7]), torch.tensor([4]), torch.tensor([1, 2], dtype=torch.int32), torch.tensor([], dtype=torch.long)):
        xs, ys = ds[idx]; nb_00.test_eq(xs, x[idx]); nb_00.test_eq(ys, y[idx])
    xs, ys = ds[y > 6]; nb_00.test_eq(ys, torch.tensor([7, 8, 9]))  # a boolean mask works too
    with pytest.raises(ValueError, match='got 10 inputs and 9 targets'): Dataset(x, y[:9])


def test_sampler_uses_the_global_rng():
    ds = Dataset(torch.zeros(10), torch.zeros(10))
    assert list(Sampler(ds)) == list(range(10)) and len(Sampler(ds)) == 10
    state = torch.get_rng_state()
    first = list(Sampler(ds, shuffle=True))
    torch.set_rng_state(state)
    assert list(Sampler(ds, shuffle=True)) == first and sorted(first) == list(range(10))
    torch.manual_seed(3); a = list(Sampler(ds, shuffle=True)); b = list(Sampler(ds, shuffle=True))
    torch.manual_seed(3); assert list(Sampler(ds, shuffle=True)) == a and a != b


def test_collate():
    xs, ys = collate([(torch.ones(2), torch.tensor(1)), (torch.zeros(2), torch.tensor(0))])
    nb_00.test_eq(xs, torch.tensor([[1., 1.], [0., 0.]])); nb_00.test_eq(ys, torch.tensor([1, 0]))
    xs, ys = collate([(torch.ones(2), torch.tensor(1))])  # a batch of one
    assert xs.shape == (1, 2) and ys.shape == (1,)


def make_ds(n=10):
    return Dataset(torch.arange(n * 3.).view(n, 3), torch.arange(n))


@pytest.mark.parametrize('bs, sizes', [(4, [4, 4, 2]), (1, [1] * 10), (10, [10]), (32, [10])])
def test_dataloader_batches_in_order(bs, sizes):
    ds = make_ds()
    dl = DataLoader(ds, bs)
    batches = list(dl)
    assert [len(xb) for xb, _ in batches] == sizes and len(dl) == len(sizes)
    nb_00.test_eq(torch.cat([yb for _, yb in batches]), torch.arange(10))
    theirs = list(TorchDataLoader(ds, batch_size=bs))  # PyTorch's per-item loader gives the same batches
    for (xa, ya), (xb, yb) in zip(batches, theirs, strict=True): nb_00.test_eq(xa, xb); nb_00.test_eq(ya, yb)


def test_dataloader_drop_last_and_errors():
    dl = DataLoader(make_ds(), 4, drop_last=True)
    assert len(dl) == 2 and [len(yb) for _, yb in dl] == [4, 4]
    assert len(DataLoader(make_ds(3), 4, drop_last=True)) == 0 and list(DataLoader(make_ds(3), 4, drop_last=True)) == []
    with pytest.raises(ValueError, match='batch size must be a whole number >= 1, got 0'): DataLoader(make_ds(), 0)


def test_dataloader_shuffles_each_pass_reproducibly():
    ds = make_ds()
    dl = DataLoader(ds, 3, shuffle=True)
    torch.manual_seed(0)
    e1, e2 = [torch.cat([yb for _, yb in dl]) for _ in range(2)]
    assert sorted(e1.tolist()) == list(range(10)) and not torch.equal(e1, e2)
    torch.manual_seed(0)
    nb_00.test_eq(torch.cat([yb for _, yb in dl]), e1)
    for xb, yb in dl: nb_00.test_eq(xb, ds.x[yb])  # inputs stay with their targets


def test_dataloader_batched_and_collate_paths_agree():
    ds = make_ds(11)
    state = torch.get_rng_state()
    batched = list(DataLoader(ds, 4, shuffle=True))
    torch.set_rng_state(state)
    itemwise = list(DataLoader(ds, 4, shuffle=True, collate_fn=collate))
    for (xa, ya), (xb, yb) in zip(batched, itemwise, strict=True): nb_00.test_eq(xa, xb); nb_00.test_eq(ya, yb)


def test_dataloader_no_per_item_access():
    "Without collate_fn the dataset is indexed once per batch, never item by item."
    class Counting(Dataset):
        calls = []
        def __getitem__(self, i): self.calls.append(i); return super().__getitem__(i)
    ds = Counting(torch.rand(100, 3), torch.arange(100))
    assert len(list(DataLoader(ds, 32, shuffle=True))) == 4
    assert len(ds.calls) == 4 and all(isinstance(i, torch.Tensor) and i.ndim == 1 for i in ds.calls)
    ds.calls.clear(); list(DataLoader(ds, 32))
    assert [i for i in ds.calls] == [slice(0, 32), slice(32, 64), slice(64, 96), slice(96, 128)]


def test_dataloader_over_tensor_dataset():
    tds = TensorDataset(torch.rand(9, 2), torch.arange(9))
    torch.manual_seed(1)
    batches = list(DataLoader(tds, 4, shuffle=True))
    assert [len(yb) for _, yb in batches] == [4, 4, 1]
    for xb, yb in batches: nb_00.test_eq(xb, tds.tensors[0][yb])


def test_get_dls():
    tr, va = make_ds(10), make_ds(7)
    train_dl, valid_dl = get_dls(tr, va, 3)
    assert (train_dl.bs, valid_dl.bs, len(train_dl), len(valid_dl)) == (3, 6, 4, 2)
    assert train_dl.sampler.shuffle and not valid_dl.sampler.shuffle
    nb_00.test_eq(torch.cat([yb for _, yb in valid_dl]), torch.arange(7))
    train_dl, valid_dl = get_dls(tr, va, 3, drop_last=True)
    assert len(train_dl) == 3 and len(valid_dl) == 2  # drop_last never drops validation samples
    train_dl, _ = get_dls(tr, va, 3, collate_fn=collate)
    assert train_dl.collate_fn is collate


def test_get_model():
    model, opt = get_model(0.2, n_in=6, n_hidden=5, n_out=3)
    assert [tuple(p.shape) for p in model.parameters()] == [(5, 6), (5,), (3, 5), (3,)]
    assert isinstance(opt, optim.SGD) and opt.param_groups[0]['lr'] == 0.2
    assert model(torch.rand(1, 6)).shape == (1, 3)
    assert sum(p.numel() for p in get_model()[0].parameters()) == 784 * 100 + 100 + 100 * 10 + 10


def toy_data(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    return Dataset(F.one_hot(y, 3).float().repeat(1, 2) + 0.3 * torch.randn(n, 6, generator=g), y)


def test_fit_history_is_exact_and_printed(capsys):
    "With lr=0 nothing changes, so every figure must equal the exact mean over the data (short last batches included)."
    tr, va = toy_data(23), toy_data(11, seed=1)
    torch.manual_seed(0); model, opt = get_model(0.0, n_in=6, n_hidden=4, n_out=3)
    hist = fit(2, model, F.cross_entropy, opt, *get_dls(tr, va, 5))
    assert isinstance(hist, pd.DataFrame) and list(hist.columns) == ['epoch', 'train_loss', 'valid_loss', 'valid_acc']
    assert hist['epoch'].tolist() == [0, 1]
    with torch.no_grad(): ot, ov = model(tr.x), model(va.x)
    for e in range(2):
        nb_00.test_near(hist['train_loss'][e], F.cross_entropy(ot, tr.y))
        nb_00.test_near(hist['valid_loss'][e], F.cross_entropy(ov, va.y))
        nb_00.test_near(hist['valid_acc'][e], 100 * (ov.argmax(1) == va.y).float().mean())
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith('epoch   1') and 'valid acc' in lines[1]


def test_fit_reports_to_log_instead_of_printing(capsys):
    tr, va = toy_data(23), toy_data(11, seed=1)
    torch.manual_seed(0); model, opt = get_model(0.0, n_in=6, n_hidden=4, n_out=3)
    lines = []
    hist = fit(3, model, F.cross_entropy, opt, *get_dls(tr, va, 5), log=lines.append)
    assert capsys.readouterr().out == ''
    assert len(lines) == 3 and lines[2].startswith('epoch   2') and f"{hist['valid_acc'].iloc[-1]:.2f}%" in lines[2]


def test_fit_learns_and_is_reproducible(capsys):
    tr, va = toy_data(200), toy_data(60, seed=1)
    def run():
        torch.manual_seed(0); model, opt = get_model(0.3, n_in=6, n_hidden=8, n_out=3)
        return fit(4, model, F.cross_entropy, opt, *get_dls(tr, va, 16)), model
    h1, m1 = run(); h2, _ = run()
    pd.testing.assert_frame_equal(h1, h2)
    assert h1['train_loss'].iloc[-1] < h1['train_loss'].iloc[0] and h1['valid_acc'].iloc[-1] > 90
    assert not m1.training  # fit ends after a validation pass
    assert fit(0, m1, F.cross_entropy, optim.SGD(m1.parameters(), lr=0.1), *get_dls(tr, va, 16)).empty


def test_fit_batch_of_one_and_errors(capsys):
    tr, va = toy_data(5), toy_data(3)
    model, opt = get_model(0.1, n_in=6, n_hidden=4, n_out=3)
    assert len(fit(1, model, F.cross_entropy, opt, *get_dls(tr, va, 1))) == 1
    with pytest.raises(ValueError, match='empty loader: 0 training'):
        fit(1, model, F.cross_entropy, opt, DataLoader(tr, 8, drop_last=True), DataLoader(va, 8))
    with pytest.raises(ValueError, match='target 3 is outside the class range 0..2'):
        fit(1, model, F.cross_entropy, opt, *get_dls(tr, Dataset(va.x, va.y + 1), 2))
    with pytest.raises(IndexError, match='Target 3 is out of bounds'):  # training batches: F.cross_entropy's own check
        fit(1, model, F.cross_entropy, opt, *get_dls(Dataset(tr.x, tr.y + 1), va, 2))
    with pytest.raises(RuntimeError, match='Float'):  # float class targets
        fit(1, model, F.cross_entropy, opt, *get_dls(Dataset(tr.x, tr.y.float()), va, 2))
