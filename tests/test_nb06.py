"Lecture 06: the regression data set, exp_gamma, the simple loop, train_network (history, schedules, checkpoints), to_device."
from collections import namedtuple
import numpy as np, pandas as pd, pytest, torch
from torch import nn
import torch.nn.functional as F
from torch.optim import lr_scheduler
from torch.utils.data import DataLoader
from sklearn.metrics import mean_squared_error, r2_score
from exp import nb_00, nb_03, nb_04, nb_06
from exp.nb_06 import RegressionDataset, exp_gamma, train_simple_network, train_network, to_device

SCORES = {'MSE': mean_squared_error, 'R2': r2_score}


def line_data(n=40, seed=0):
    "y = 2x - 1 + a little noise, as a course Dataset."
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=g)*2 - 1
    return nb_03.Dataset(x, 2*x - 1 + 0.01*torch.randn(n, 1, generator=g))


def loaders(n_train=40, n_test=20, bs=8):
    return (DataLoader(line_data(n_train), batch_size=bs, shuffle=True), DataLoader(line_data(n_test, seed=1), batch_size=bs))


def net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))


# --- RegressionDataset ---

def test_regression_dataset_reads_the_course_csv():
    ds = RegressionDataset()
    df = pd.read_csv(ds.path)
    assert ds.path.name == 'regression.csv' and len(ds) == len(df)
    assert ds.x.shape == ds.y.shape == (len(df), 1) and ds.x.dtype == ds.y.dtype == torch.float32
    x, y = ds[3]
    assert x.shape == (1,) and x.item() == pytest.approx(df.x[3]) and y.item() == pytest.approx(df.y[3])
    xb, yb = ds[torch.tensor([0, 5])]
    assert xb.shape == (2, 1) and torch.equal(yb, ds.y[[0, 5]])


def test_regression_dataset_other_columns(tmp_path):
    fn = tmp_path/'pts.csv'
    fn.write_text('a,b,t\n1,9,2\n3,9,4\n')
    ds = RegressionDataset(fn, x_col='a', y_col='t')
    assert torch.equal(ds.x, torch.tensor([[1.], [3.]])) and torch.equal(ds.y, torch.tensor([[2.], [4.]]))


def test_regression_dataset_errors(tmp_path):
    fn = tmp_path/'pts.csv'
    fn.write_text('a,y\n1,2\n')
    with pytest.raises(ValueError) as e: RegressionDataset(fn)
    msg = str(e.value)
    assert str(fn) in msg and "'x'" in msg and "['a', 'y']" in msg and 'x_col' in msg
    fn.write_text('x,y\n1,2\nfoo,3\n')
    with pytest.raises(ValueError, match="column 'x' must hold numbers"): RegressionDataset(fn)
    fn.write_text('x,y\n1,2\n3,\n')
    with pytest.raises(ValueError, match="column 'y' must hold numbers"): RegressionDataset(fn)
    with pytest.raises(FileNotFoundError, match=r'none\.csv not found\.$'): RegressionDataset(tmp_path/'none.csv')  # the user's file


# --- exp_gamma ---

@pytest.mark.parametrize('lr0, lr1, epochs', [(0.1, 0.001, 3), (0.03, 3e-4, 60), (1e-3, 1e-2, 5), (0.5, 0.5, 4), (0.2, 0.1, 2)])
def test_exp_gamma_reaches_the_end_rate_in_the_last_epoch(lr0, lr1, epochs):
    g = exp_gamma(lr0, lr1, epochs)
    nb_00.test_near(lr0 * g**(epochs - 1), lr1)
    assert (g < 1) == (lr1 < lr0)


def test_exp_gamma_errors():
    with pytest.raises(ValueError, match='at least 2 epochs'): exp_gamma(0.1, 0.01, 1)
    with pytest.raises(ValueError, match='positive'): exp_gamma(0.1, 0, 10)


# --- train_simple_network ---

def test_train_simple_network_learns_and_honours_lr():
    dl, _ = loaders()
    model = nn.Linear(1, 1)
    losses = train_simple_network(model, F.mse_loss, dl, epochs=30, lr=0.1, device='cpu')
    assert len(losses) == 30 and losses[-1] < losses[0] / 10
    frozen = nn.Linear(1, 1)
    before = [p.clone() for p in frozen.parameters()]
    losses = train_simple_network(frozen, F.mse_loss, dl, epochs=2, lr=0.0, device='cpu')
    assert all(torch.equal(a, b) for a, b in zip(before, frozen.parameters()))
    x, y = dl.dataset[:]
    nb_00.test_near(losses[0], F.mse_loss(frozen(x), y).item())  # exact mean over the data, batches weighted by size
    with pytest.raises(ValueError, match='no batches'): train_simple_network(frozen, F.mse_loss, [], epochs=1, device='cpu')


# --- train_network: history ---

def test_history_columns_and_lengths():
    train_dl, test_dl = loaders()
    h = train_network(net(), F.mse_loss, train_dl, test_dl, SCORES, epochs=3, lr=0.01, device='cpu', progress=False)
    assert list(h.columns) == ['epoch', 'total time', 'lr', 'train loss', 'test loss', 'train MSE', 'train R2', 'test MSE', 'test R2']
    assert len(h) == 3 and h['epoch'].tolist() == [1, 2, 3]  # epochs counted from 1, as everywhere
    assert h['total time'].is_monotonic_increasing and (h['total time'] > 0).all()
    nb_00.test_near(h['test loss'], h['test MSE'])  # exact test mean, although the last batch is smaller (20 = 8+8+4)
    nb_00.test_near(h['train loss'], h['train MSE'])
    assert h.notna().all().all()


def test_without_scores_or_test_data():
    train_dl, test_dl = loaders()
    h = train_network(net(), F.mse_loss, train_dl, test_dl, score_funcs=None, epochs=2, device='cpu', progress=False)
    assert list(h.columns) == ['epoch', 'total time', 'lr', 'train loss', 'test loss']
    h = train_network(net(), F.mse_loss, train_dl, None, SCORES, epochs=2, device='cpu', progress=False)
    assert list(h.columns) == ['epoch', 'total time', 'lr', 'train loss', 'train MSE', 'train R2'] and len(h) == 2


def test_test_pass_is_in_eval_mode_without_grad_and_mode_is_restored():
    seen = []
    class Probe(nn.Linear):
        def forward(self, x):
            seen.append((self.training, torch.is_grad_enabled()))
            return super().forward(x)
    train_dl, test_dl = loaders(bs=20)
    model = Probe(1, 1).eval()
    train_network(model, F.mse_loss, train_dl, test_dl, epochs=1, device='cpu', progress=False)
    assert seen == [(True, True), (True, True), (False, False)] and not model.training


def test_lr_is_honoured():
    train_dl, _ = loaders()
    h = train_network(net(), F.mse_loss, train_dl, epochs=2, lr=0.05, device='cpu', progress=False)
    assert h['lr'].tolist() == [0.05, 0.05]
    model = net()
    frozen = [p.clone() for p in model.parameters()]
    train_network(model, F.mse_loss, train_dl, epochs=1, lr=0.0, device='cpu', progress=False)
    assert all(torch.equal(a, b) for a, b in zip(frozen, model.parameters()))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match='both an optimizer and lr'):
        train_network(model, F.mse_loss, train_dl, epochs=1, optimizer=opt, lr=0.01, device='cpu', progress=False)
    h = train_network(model, F.mse_loss, train_dl, epochs=1, optimizer=opt, device='cpu', progress=False)
    assert h['lr'].tolist() == [0.1]


def test_default_optimizer_is_plain_sgd():
    "Without an optimizer, train_network trains with plain SGD at lr (default 0.1, the Learner's): no later lecture's optimizer."
    train_dl, _ = loaders()
    for kw, lr in (({}, 0.1), ({'lr': 0.05}, 0.05)):
        a = net()  # seeds torch: both runs draw the same shuffles
        h = train_network(a, F.mse_loss, train_dl, epochs=2, device='cpu', progress=False, **kw)
        b = net()
        train_network(b, F.mse_loss, train_dl, epochs=2, optimizer=torch.optim.SGD(b.parameters(), lr=lr), device='cpu', progress=False)
        assert h['lr'].tolist() == [lr, lr]
        assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_errors_are_not_swallowed():
    train_dl, test_dl = loaders()
    def broken(y, p): raise RuntimeError('score function failed')
    with pytest.raises(RuntimeError, match='score function failed'):
        train_network(net(), F.mse_loss, train_dl, test_dl, {'broken': broken}, epochs=1, device='cpu', progress=False)
    with pytest.raises(TypeError, match='score_funcs must be a dict'):
        train_network(net(), F.mse_loss, train_dl, score_funcs=[r2_score], epochs=1, device='cpu', progress=False)
    with pytest.raises(ValueError, match='the training loader gives no batches'):
        train_network(net(), F.mse_loss, [], epochs=1, device='cpu', progress=False)


# --- train_network: schedules ---

def test_exponential_schedule_stepped_once_per_epoch():
    train_dl, test_dl = loaders()
    g = exp_gamma(0.1, 0.001, 5)
    h = train_network(net(), F.mse_loss, train_dl, test_dl, epochs=5, lr=0.1, device='cpu', progress=False,
                      lr_schedule=lambda opt: lr_scheduler.ExponentialLR(opt, gamma=g))
    nb_00.test_near(h['lr'].tolist(), 0.1 * g**np.arange(5))
    nb_00.test_near(h['lr'].iloc[-1], 0.001)


def test_scheduler_instance_step_and_cosine():
    train_dl, _ = loaders()
    model = net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    h = train_network(model, F.mse_loss, train_dl, epochs=5, optimizer=opt, lr_schedule=sched, device='cpu', progress=False)
    nb_00.test_near(h['lr'].tolist(), [0.1, 0.1, 0.05, 0.05, 0.025])
    assert sched.last_epoch == 5
    h = train_network(net(), F.mse_loss, train_dl, epochs=5, lr=0.1, device='cpu', progress=False,
                      lr_schedule=lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.01))
    nb_00.test_near(h['lr'].tolist(), 0.01 + 0.045*(1 + np.cos(np.pi*np.arange(5)/4)))


def test_scheduler_on_another_optimizer_is_an_error():
    train_dl, _ = loaders()
    other = torch.optim.SGD(net().parameters(), lr=0.1)
    with pytest.raises(ValueError, match='different optimizer'):
        train_network(net(), F.mse_loss, train_dl, epochs=1, lr=0.1, lr_schedule=lr_scheduler.StepLR(other, 1), device='cpu', progress=False)


def test_plateau_schedule_needs_test_data_and_steps_on_test_loss():
    train_dl, test_dl = loaders()
    plateau = lambda opt: lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    with pytest.raises(ValueError, match='ReduceLROnPlateau.*test_loader'):
        train_network(net(), F.mse_loss, train_dl, epochs=2, lr=0.1, lr_schedule=plateau, device='cpu', progress=False)
    # a loss with zero gradient leaves plain SGD's weights, hence the test loss, unchanged: after the first epoch
    # the test loss never improves, so each later epoch halves the rate
    zero_grad_loss = lambda out, y: (out*0).sum() + F.mse_loss(out, y).detach()
    model = net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    h = train_network(model, zero_grad_loss, train_dl, test_dl, epochs=4, optimizer=opt, lr_schedule=plateau, device='cpu', progress=False)
    nb_00.test_near(h['lr'].tolist(), [0.1, 0.1, 0.05, 0.025])


# --- train_network: checkpoints ---

def test_checkpoint_contents(tmp_path):
    train_dl, test_dl = loaders()
    ck = tmp_path/'ck.pt'
    train_network(net(), F.mse_loss, train_dl, test_dl, epochs=2, lr=0.1, device='cpu', progress=False, checkpoint_file=ck,
                  lr_schedule=lambda o: lr_scheduler.StepLR(o, 1, 0.5))
    state = torch.load(ck, weights_only=True)
    assert sorted(state) == ['batches_per_epoch', 'callbacks', 'cuda_rng_states', 'epoch', 'history', 'kind', 'model', 'optimizer', 'optimizer_class',
                             'sha256', 'torch_rng_state']
    assert sorted(state['callbacks']) == ['MetricsCB', 'ScheduleCB']  # the Learner's stateful callbacks
    assert state['epoch'] == 2 and len(state['history']) == 2 and state['callbacks']['ScheduleCB']['last_epoch'] == 2
    assert not (tmp_path/'ck.pt.tmp').exists()


@pytest.mark.parametrize('with_schedule', [False, True])
def test_resume_equals_uninterrupted_training(tmp_path, with_schedule):
    train_dl, test_dl = loaders()
    sched = (lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5)) if with_schedule else None
    kw = dict(score_funcs=SCORES, lr=0.05, lr_schedule=sched, device='cpu', progress=False)
    torch.manual_seed(5)
    full = net(1)
    h_full = train_network(full, F.mse_loss, train_dl, test_dl, epochs=5, **kw)
    torch.manual_seed(5)
    train_network(net(1), F.mse_loss, train_dl, test_dl, epochs=2, checkpoint_file=tmp_path/'ck.pt', **kw)
    torch.manual_seed(123)  # a different random state and fresh weights: all must come from the checkpoint
    resumed = net(2)
    h = train_network(resumed, F.mse_loss, train_dl, test_dl, epochs=5, checkpoint_file=tmp_path/'ck.pt', resume=True, **kw)
    assert h.drop(columns='total time').equals(h_full.drop(columns='total time'))
    assert all(torch.equal(a, b) for a, b in zip(full.state_dict().values(), resumed.state_dict().values()))
    assert h['total time'].is_monotonic_increasing
    assert torch.load(tmp_path/'ck.pt', weights_only=True)['epoch'] == 5


def test_resume_errors(tmp_path):
    train_dl, _ = loaders()
    with pytest.raises(ValueError, match='needs the checkpoint_file'):
        train_network(net(), F.mse_loss, train_dl, epochs=1, resume=True, device='cpu', progress=False)
    with pytest.raises(FileNotFoundError, match='no checkpoint'):
        train_network(net(), F.mse_loss, train_dl, epochs=1, checkpoint_file=tmp_path/'x.pt', resume=True, device='cpu', progress=False)
    train_network(net(), F.mse_loss, train_dl, epochs=1, checkpoint_file=tmp_path/'x.pt', device='cpu', progress=False)
    with pytest.raises(ValueError, match=r"callbacks that keep state \['MetricsCB'\]; this one has \['MetricsCB', 'ScheduleCB'\]"):
        train_network(net(), F.mse_loss, train_dl, epochs=2, checkpoint_file=tmp_path/'x.pt', resume=True, device='cpu',
                      lr_schedule=lambda o: lr_scheduler.StepLR(o, 1), progress=False)


# --- progress bars ---

def test_progress_bar_can_be_switched_off(capsys):
    train_dl, test_dl = loaders()
    train_network(net(), F.mse_loss, train_dl, test_dl, epochs=2, device='cpu', progress=True)
    err = capsys.readouterr().err
    assert 'epochs' in err and '2/2' in err and 'train_loss=' in err and 'valid_loss=' in err  # the history's names
    train_network(net(), F.mse_loss, train_dl, test_dl, epochs=2, device='cpu', progress=False)
    assert capsys.readouterr() == ('', '')


# --- to_device (from lecture 04, not redefined) ---

def test_to_device_is_lecture_04s():
    assert nb_06.to_device is nb_04.to_device and nb_06.default_device is nb_04.default_device


Pair = namedtuple('Pair', 'a b')


@pytest.mark.parametrize('device', ['meta'] + (['cuda'] if torch.cuda.is_available() else []))
def test_to_device_nested(device):
    batch = {'xs': [torch.zeros(2), (torch.ones(1), 'text')], 'pair': Pair(torch.arange(3), 7), 'n': 1.5,
             'module': nn.Linear(1, 1)}
    out = to_device(batch, device)
    assert isinstance(out, dict) and isinstance(out['xs'], list) and isinstance(out['xs'][1], tuple)
    assert type(out['pair']) is Pair and out['pair'].b == 7 and out['n'] == 1.5 and out['xs'][1][1] == 'text'
    tensors = [out['xs'][0], out['xs'][1][0], out['pair'].a, out['module'].weight]
    assert all(t.device.type == device for t in tensors)
    assert batch['xs'][0].device.type == 'cpu' and batch['pair'].a.device.type == 'cpu'
    assert out['pair'].a.shape == (3,) and out['pair'].a.dtype == torch.int64
