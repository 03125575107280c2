"Lecture 04: MLP, devices, and exact loss/accuracy over a loader."
import collections, pytest, torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset, DataLoader as TorchDataLoader
from sklearn.metrics import accuracy_score
from exp import nb_00
from exp.nb_04 import MLP, default_device, to_device, compute_epoch_loss, compute_accuracy, Dataset, DataLoader, get_dls, mlp_forward


def test_mlp_shapes_and_flattening():
    torch.manual_seed(0); model = MLP()
    x = torch.rand(5, 784)
    out = model(x)
    assert out.shape == (5, 10)
    nb_00.test_near(model(x.view(5, 1, 28, 28)), out)
    nb_00.test_near(model(x.view(5, 28, 28)), out)
    assert model(x[:1]).shape == (1, 10) and model(x[:1].view(1, 1, 28, 28)).shape == (1, 10)  # a batch of one
    nb_00.test_near(model(x.view(5, 28, 28).transpose(1, 2).transpose(1, 2)), out)       # non-contiguous input
    assert MLP(6, 4, 3)(torch.rand(2, 6)).shape == (2, 3)


def test_mlp_init_and_forward():
    torch.manual_seed(0); model = MLP()
    w = model.hidden.weight
    assert abs(w.std().item() - 0.1) < 0.002 and abs(w.mean().item()) < 0.002
    assert abs(model.out.weight.std().item() - 0.1) < 0.01
    assert (model.hidden.bias == 0).all() and (model.out.bias == 0).all()
    x = torch.rand(3, 784)
    manual = torch.sigmoid(x @ w.T + model.hidden.bias) @ model.out.weight.T + model.out.bias
    nb_00.test_near(model(x), manual)  # sigmoid hidden layer, logits out (no softmax)
    params = [w.T, model.hidden.bias, model.out.weight.T, model.out.bias]
    nb_00.test_near(model(x), mlp_forward(x, params)[1])
    assert [n for n, _ in model.named_parameters()] == ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']


def test_default_device(monkeypatch):
    assert default_device() == torch.device('cuda' if torch.cuda.is_available() else 'mps' if torch.backends.mps.is_available() else 'cpu')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(torch.backends.mps, 'is_available', lambda: True)
    assert default_device() == torch.device('mps')
    monkeypatch.setattr(torch.backends.mps, 'is_available', lambda: False)
    assert default_device() == torch.device('cpu')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert default_device() == torch.device('cuda')


Batch = collections.namedtuple('Batch', 'x y')


def test_to_device_recurses():
    "'meta' is a real device on every machine: moving there changes `.device` without needing a GPU."
    t = torch.ones(2)
    obj = {'a': [t, (t, 'text')], 'b': Batch(t, 3), 'c': collections.OrderedDict(k=t), 'd': None}
    moved = to_device(obj, 'meta')
    assert moved['a'][0].device.type == 'meta' and moved['a'][1][0].device.type == 'meta' and moved['a'][1][1] == 'text'
    assert isinstance(moved['a'][1], tuple) and isinstance(moved['a'], list)
    assert isinstance(moved['b'], Batch) and moved['b'].x.device.type == 'meta' and moved['b'].y == 3
    assert isinstance(moved['c'], collections.OrderedDict) and moved['c']['k'].device.type == 'meta'
    assert moved['d'] is None and obj['a'][0].device.type == 'cpu'  # the original is left alone
    dd = collections.defaultdict(list, {'x': t})
    m = to_device(dd, 'meta')
    assert isinstance(m, collections.defaultdict) and m['x'].device.type == 'meta' and m['new'] == []
    model = to_device(nn.Linear(2, 2), torch.device('meta'))
    assert model.weight.device.type == 'meta'
    assert to_device(t, 'cpu') is t and to_device(5, 'meta') == 5


def make_loader(n=23, bs=5, seed=0, images=False):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.rand(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g)
    if images: x = x.view(n, 1, 28, 28)
    return x, y, DataLoader(Dataset(x, y), bs)


@pytest.mark.parametrize('n, bs', [(23, 5), (23, 1), (1, 4), (20, 5), (23, 64)])
def test_exact_loss_and_accuracy(n, bs):
    torch.manual_seed(0); model = MLP()
    x, y, dl = make_loader(n, bs)
    with torch.no_grad(): out = model(x)
    nb_00.test_near(compute_epoch_loss(model, dl), F.cross_entropy(out, y))
    nb_00.test_near(compute_accuracy(model, dl), 100 * accuracy_score(y, out.argmax(1)))
    assert isinstance(compute_epoch_loss(model, dl), float) and isinstance(compute_accuracy(model, dl), float)


def test_accuracy_is_a_percentage():
    model = nn.Linear(2, 2)
    with torch.no_grad(): model.weight.copy_(torch.eye(2)); model.bias.zero_()
    x = torch.tensor([[1., 0.], [0., 1.], [1., 0.], [2., 1.]])
    dl = DataLoader(Dataset(x, torch.tensor([0, 1, 1, 0])), 3)
    assert compute_accuracy(model, dl) == 75.0
    dl = DataLoader(Dataset(x, torch.tensor([0, 1, 0, 0])), 3)
    assert compute_accuracy(model, dl) == 100.0


def test_works_with_other_loaders_and_images():
    torch.manual_seed(0); model = MLP()
    x, y, _ = make_loader(images=True)
    tdl = TorchDataLoader(TensorDataset(x, y), batch_size=4)
    with torch.no_grad(): out = model(x)
    nb_00.test_near(compute_epoch_loss(model, tdl), F.cross_entropy(out, y))
    nb_00.test_near(compute_accuracy(model, tdl, device='cpu'), 100 * (out.argmax(1) == y).float().mean())
    _, valid_dl = get_dls(Dataset(x, y), Dataset(x, y), 4)
    nb_00.test_near(compute_accuracy(model, valid_dl), 100 * (out.argmax(1) == y).float().mean())


def test_other_loss_functions_and_float_targets():
    model = nn.Linear(3, 1)
    x, t = torch.rand(10, 3), torch.rand(10, 1)
    dl = DataLoader(Dataset(x, t), 4)
    with torch.no_grad(): expected = F.mse_loss(model(x), t)
    nb_00.test_near(compute_epoch_loss(model, dl, loss_func=F.mse_loss), expected)
    with pytest.raises(ValueError, match=r'float targets of shape \(4,\) for outputs of shape \(4, 1\)'):
        compute_epoch_loss(model, DataLoader(Dataset(x, t.view(-1)), 4), loss_func=F.mse_loss)


@pytest.mark.parametrize('f', [compute_epoch_loss, compute_accuracy])
def test_target_errors(f):
    torch.manual_seed(0); model = MLP()
    x, y, _ = make_loader()
    with pytest.raises(ValueError, match=r"target 10 is outside the class range 0..9 of the model's 10 outputs"):
        bad = y.clone(); bad[7] = 10
        f(model, DataLoader(Dataset(x, bad), 5))
    with pytest.raises((TypeError, ValueError), match='integers'):
        f(model, DataLoader(Dataset(x, y.float()), 5))
    with pytest.raises(ValueError, match='no samples'):
        f(model, DataLoader(Dataset(x, y), 50, drop_last=True))


@pytest.mark.parametrize('f', [compute_epoch_loss, compute_accuracy])
def test_eval_mode_no_grad_and_mode_restored(f):
    class Probe(MLP):
        seen = []
        def forward(self, x):
            self.seen.append((self.training, torch.is_grad_enabled()))
            return super().forward(x)
    model = Probe()
    _, _, dl = make_loader()
    f(model, dl)
    assert set(model.seen) == {(False, False)} and model.training
    assert all(p.grad is None for p in model.parameters())
    model.eval(); f(model, dl); assert not model.training
    model.train()
    with pytest.raises(ValueError): f(model, DataLoader(Dataset(torch.rand(3, 784), torch.tensor([0, 1, 12])), 2))
    assert model.training  # restored even when evaluation fails


@pytest.mark.parametrize('f', [compute_epoch_loss, compute_accuracy])
def test_batches_go_to_the_models_device(monkeypatch, f):
    "device=None means the device of the model's parameters; an explicit device wins. (Recorded, so no GPU is needed.)"
    from exp import nb_04
    seen = []
    def spy(obj, device):
        seen.append(torch.device(device)); return to_device(obj, device)
    monkeypatch.setattr(nb_04, 'to_device', spy)
    torch.manual_seed(0); model = MLP()
    _, _, dl = make_loader()
    expected = f(model, dl)
    assert seen and set(seen) == {torch.device('cpu')}
    seen.clear()
    assert f(model, dl, device=torch.device('cpu')) == expected and set(seen) == {torch.device('cpu')}



def test_accuracy_of_a_model_without_parameters():
    "nn.Flatten-like models have no parameters to tell their device: they run where the inputs are (the CPU by default)."
    class Guess(nn.Module):
        def forward(self, x): return torch.nn.functional.one_hot(torch.zeros(len(x), dtype=torch.long), 10).float()
    x, y = torch.randn(8, 784), torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    assert compute_accuracy(Guess(), [(x, y)]) == 50.0
