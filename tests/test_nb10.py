"""Lecture 10's exported pieces, in this process: the rank helpers, joining a one-process group, the sharded loaders,
DistributedCB (on a world of one, against the plain Learner), MixedPrecisionCB, the command's schema and callbacks,
free ports. Jobs of several processes launched by torchrun are in tests/test_distributed.py."""
import os, socket
import pytest, torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.data import DistributedSampler
from exp import nb_10
from exp.nb_10 import (COMMAND_SETTINGS, MODEL_SETTINGS, PRECISIONS, CancelBatchException, Callback, CheckpointCB, Dataset,
                       DataLoader, DeviceCB, DistributedCB, LaunchError, Learner, LoggingCB, MetricsCB, MixedPrecisionCB,
                       SamplerEpochCB, SettingsError, check_settings, cleanup_distributed, command_callbacks, dist_sampler,
                       distributed_loader, free_port, init_distributed, is_main_process, launched_by_torchrun, rank,
                       world_size)

TORCHRUN_VARS = ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT', 'LOCAL_RANK')


@pytest.fixture
def no_torchrun(monkeypatch):
    for k in TORCHRUN_VARS: monkeypatch.delenv(k, raising=False)


@pytest.fixture
def world_of_one(monkeypatch):
    "A gloo process group of this one process, as torchrun --nproc_per_node 1 would make it."
    for k, v in {'RANK': '0', 'LOCAL_RANK': '0', 'WORLD_SIZE': '1', 'MASTER_ADDR': '127.0.0.1', 'MASTER_PORT': str(free_port())}.items():
        monkeypatch.setenv(k, v)
    assert init_distributed('gloo', timeout_s=30) is True
    yield
    cleanup_distributed()
    assert not dist.is_initialized()


def digits(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    return Dataset(torch.rand(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g))


def test_rank_helpers_without_a_group(no_torchrun):
    assert not dist.is_initialized()
    assert (rank(), world_size(), is_main_process(), launched_by_torchrun()) == (0, 1, True, False)
    assert init_distributed() is False and not dist.is_initialized()
    cleanup_distributed()  # nothing to leave: no error


def test_launched_by_torchrun_reads_its_variables(monkeypatch, no_torchrun):
    monkeypatch.setenv('RANK', '1'); monkeypatch.setenv('WORLD_SIZE', '2')
    assert not launched_by_torchrun()  # no MASTER_ADDR: not a complete launch
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    assert launched_by_torchrun()


def test_init_distributed_joins_and_cleanup_leaves(world_of_one):
    assert dist.is_initialized() and dist.get_backend() == 'gloo'
    assert (rank(), world_size(), is_main_process()) == (0, 1, True)
    assert init_distributed() is True  # already in the group: nothing more
    t = torch.tensor([3.0]); dist.all_reduce(t); assert t.item() == 3.0


@pytest.mark.parametrize('n, w', [(12, 2), (13, 2), (10, 4)])
def test_distributed_loader_is_distributed_sampler_in_batches(n, w):
    ds = Dataset(torch.arange(n, dtype=torch.float32), torch.arange(n))
    seen = []
    for r in range(w):
        dl = distributed_loader(ds, 3, shuffle=True, seed=5, num_replicas=w, rank=r)
        s = dist_sampler(dl)
        assert isinstance(s, DistributedSampler)
        s.set_epoch(1)
        want = DistributedSampler(ds, num_replicas=w, rank=r, shuffle=True, seed=5); want.set_epoch(1)
        got = [yb for xb, yb in dl]
        assert [len(y) for y in got[:-1]] == [3] * (len(got) - 1)
        assert torch.cat(got).tolist() == list(want)
        assert all(torch.equal(xb, yb.float()) for xb, yb in dl)  # inputs and targets of the same items
        seen += torch.cat(got).tolist()
    assert set(seen) == set(range(n)) and len(seen) == -(-n // w) * w  # all items; padded to a multiple of w


def test_set_epoch_changes_the_shared_order():
    ds = Dataset(torch.arange(40.), torch.arange(40))
    dl = distributed_loader(ds, 40, shuffle=True, seed=0, num_replicas=1, rank=0)
    orders = []
    for e in (0, 1, 0):
        dist_sampler(dl).set_epoch(e)
        orders.append(next(iter(dl))[1].tolist())
    assert orders[0] == orders[2] != orders[1]
    assert dist_sampler(distributed_loader(ds, 4, num_replicas=1, rank=0)).shuffle is False


def test_dist_sampler_finds_it_or_none():
    ds = digits(8)
    assert dist_sampler(DataLoader(ds, 4)) is None and dist_sampler(None) is None
    s = DistributedSampler(ds, num_replicas=1, rank=0)
    assert dist_sampler(torch.utils.data.DataLoader(ds, batch_size=4, sampler=s)) is s


def test_sampler_epoch_cb_sets_each_epoch():
    ds = digits(32)
    dl = distributed_loader(ds, 8, shuffle=True, num_replicas=1, rank=0)
    epochs = []
    class Record(Callback):
        order = 5
        def before_epoch(self, learn): epochs.append(dist_sampler(learn.train_dl).epoch)
    Learner(torch.nn.Linear(784, 10), dl, cbs=[SamplerEpochCB(), Record()]).fit(3)
    assert epochs == [0, 1, 2]


def test_distributed_cb_needs_a_group(no_torchrun):
    learn = Learner(torch.nn.Linear(784, 10), DataLoader(digits(16), 8), cbs=[DistributedCB()])
    with pytest.raises(RuntimeError, match='DistributedCB needs a process group: launch with torchrun'):
        learn.fit(1)


def test_distributed_cb_on_one_process_is_the_plain_learner(world_of_one, tmp_path):
    "World size 1: DDP, the sharded loaders and the gathered metrics change nothing; the model and loaders come back."
    train, valid = digits(96, 1), digits(40, 2)
    def fit(dist_cb, ck):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(784, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
        if dist_cb: dls, cbs = (DataLoader(train, 16), DataLoader(valid, 32)), [DistributedCB(seed=3)]
        else: dls, cbs = (distributed_loader(train, 16, True, 3), distributed_loader(valid, 32)), [SamplerEpochCB()]
        learn = Learner(model, *dls, F.cross_entropy, lr=0.3, cbs=[DeviceCB('cpu'), MetricsCB(), CheckpointCB(ck), *cbs])
        learn.fit(3)
        return learn, dls, model
    (a, dls, model), (b, *_) = fit(True, tmp_path/'a.pt'), fit(False, tmp_path/'b.pt')
    assert a.model is model and (a.train_dl, a.valid_dl) == dls  # the plain model and the loaders are back
    assert a.batch_losses == b.batch_losses and len(a.batch_losses) == 3 * 6
    assert [{k: v for k, v in r.items() if k != 'time'} for r in a.history] == [{k: v for k, v in r.items() if k != 'time'} for r in b.history]
    for p, q in zip(a.model.parameters(), b.model.parameters()): assert torch.equal(p, q)
    saved = torch.load(tmp_path/'a.pt', weights_only=True)['model']
    assert list(saved) == list(model.state_dict())  # no 'module.' prefix: the checkpoint fits the plain model


def test_distributed_cb_refuses_a_loader_it_cannot_shard(world_of_one):
    class Odd:  # iterable, no batch size to copy
        dataset = digits(8)
        def __iter__(self): return iter([])
    learn = Learner(torch.nn.Linear(784, 10), Odd(), cbs=[DistributedCB()])
    with pytest.raises(ValueError, match='cannot shard'): learn.fit(1)


def test_distributed_cb_silences_writers_on_other_ranks(world_of_one, monkeypatch, tmp_path):
    "As rank 1 would: CheckpointCB loads but never saves, LoggingCB logs nothing; both are back to normal afterwards."
    monkeypatch.setattr(nb_10, 'is_main_process', lambda: False)
    lines, ck = [], CheckpointCB(tmp_path/'ck.pt')
    logger = LoggingCB(lines.append, every=1)
    Learner(torch.nn.Linear(784, 10), DataLoader(digits(16), 8), cbs=[MetricsCB(), ck, logger, DistributedCB()]).fit(1)
    assert lines == [] and not (tmp_path/'ck.pt').exists()
    assert 'after_epoch' not in vars(ck) and 'after_batch' not in vars(logger)  # the callbacks' own methods again
    monkeypatch.undo()
    Learner(torch.nn.Linear(784, 10), DataLoader(digits(16), 8), cbs=[MetricsCB(), ck, logger]).fit(1)
    assert lines and (tmp_path/'ck.pt').exists()


def test_mixed_precision_bfloat16_runs_the_forward_in_bfloat16():
    seen = {}
    class Look(Callback):
        order = 1
        def after_pred(self, learn): seen['preds'] = learn.preds.dtype
        def after_loss(self, learn): seen['loss'], seen['autocast'] = learn.loss.dtype, torch.is_autocast_enabled('cpu')
    torch.manual_seed(0)
    learn = Learner(torch.nn.Linear(784, 10), DataLoader(digits(32), 8), DataLoader(digits(16), 8), F.cross_entropy,
                    cbs=[DeviceCB('cpu'), MetricsCB(), MixedPrecisionCB('bfloat16'), Look()])
    learn.fit(1)
    assert seen == {'preds': torch.bfloat16, 'loss': torch.float32, 'autocast': False}  # autocast left after the loss
    assert all(p.dtype == torch.float32 for p in learn.model.parameters())
    assert not torch.is_autocast_enabled('cpu')


def test_mixed_precision_float16_scales_and_skips_overflowing_steps():
    "float16 with a loss scale so large that the first batch's gradients overflow: that step is skipped, the scale lowered."
    torch.manual_seed(0)
    model = torch.nn.Linear(784, 10)
    before = [p.detach().clone() for p in model.parameters()]
    mp = MixedPrecisionCB('float16')
    mp.scaler = torch.amp.GradScaler('cpu', init_scale=2.0**120, backoff_factor=2.0**-110)
    skipped = []
    class Watch(Callback):
        order = 100
        def after_cancel_batch(self, learn):
            skipped.append((learn.iter, all(torch.equal(a, p) for a, p in zip(before, model.parameters())),
                            all(p.grad is None for p in model.parameters()), str(learn.cancelled)))
    learn = Learner(model, DataLoader(digits(16), 8), loss_func=F.cross_entropy, cbs=[DeviceCB('cpu'), MetricsCB(), mp, Watch()])
    learn.fit(1)
    assert skipped == [(0, True, True, 'float16 gradients overflowed: step skipped, loss scale lowered')]
    assert mp.scaler.get_scale() == 2.0**10  # lowered once; the second batch's step went through
    assert not all(torch.equal(a, p) for a, p in zip(before, model.parameters()))
    assert len(learn.batch_losses) == 1 and 0 < learn.batch_losses[0] < 10  # the loss itself, not the scaled one
    state = mp.state_dict()
    assert state['dtype'] == 'float16' and state["scaler"]["scale"] == 2.0**10


def test_mixed_precision_refuses_other_types():
    for bad in ('float32', 'int8', 'fp16'):
        with pytest.raises(ValueError, match="dtype must be 'bfloat16' or 'float16'"): MixedPrecisionCB(bad)
    assert set(PRECISIONS) == {'float32', 'bfloat16', 'float16'}


def test_command_settings_add_precision():
    assert list(COMMAND_SETTINGS)[:len(MODEL_SETTINGS)] == list(MODEL_SETTINGS) and set(COMMAND_SETTINGS) - set(MODEL_SETTINGS) == {'precision'}
    base = {'num_epochs': 1, 'batch_size': 8, 'learning_rate': 0.1}
    assert check_settings(base, schema=COMMAND_SETTINGS)['precision'] == 'float32'
    assert check_settings(base | {'precision': 'bfloat16'}, schema=COMMAND_SETTINGS)['precision'] == 'bfloat16'
    with pytest.raises(SettingsError, match="key 'precision' cannot be 'half'. Allowed: one of float32, bfloat16, float16"):
        check_settings(base | {'precision': 'half'}, 'x.yaml', COMMAND_SETTINGS)


def test_command_callbacks(no_torchrun):
    s = check_settings({'num_epochs': 1, 'batch_size': 8, 'learning_rate': 0.1}, schema=COMMAND_SETTINGS)
    assert command_callbacks(s, 'cpu') == []
    [mp] = command_callbacks(s | {'precision': 'bfloat16'}, 'cpu')
    assert isinstance(mp, MixedPrecisionCB) and mp.dtype == 'bfloat16'
    with pytest.raises(SettingsError, match="'precision' cannot be 'float16' on cpu"): command_callbacks(s | {'precision': 'float16'}, 'cpu')


def test_command_callbacks_in_a_group(world_of_one):
    s = check_settings({'num_epochs': 1, 'batch_size': 8, 'learning_rate': 0.1, 'seed': 7, 'precision': 'bfloat16'}, schema=COMMAND_SETTINGS)
    d, mp = command_callbacks(s, torch.device('cpu'))
    assert isinstance(d, DistributedCB) and d.seed == 7 and isinstance(mp, MixedPrecisionCB)


def test_free_port_is_free():
    p = free_port()
    assert 1024 <= p < 65536
    with socket.socket() as s: s.bind(('127.0.0.1', p))  # nobody holds it


def test_launch_error_is_a_runtime_error():
    assert issubclass(LaunchError, RuntimeError)
