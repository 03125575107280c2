"""Lecture 10's exported pieces, in this process: the rank helpers, joining a one-process group, the sharded loader,
DistributedCB (on a world of one, against the plain Learner), MixedPrecisionCB, the command's key and callbacks, free
ports. Jobs of several processes launched by torchrun are in tests/test_distributed.py."""
import socket
import pytest, torch
import torch.distributed as dist
import torch.nn.functional as F
from exp import nb_10
from tools.notebooks import REPO
from exp.nb_10 import (PRECISIONS, SETTINGS_CALLBACKS, TRAIN_SETTINGS, Callback, CheckpointCB, CheckpointError, Dataset,
                       DataLoader, DeviceCB, DistributedCB, LaunchError, Learner, LoggingCB, MetricsCB, MixedPrecisionCB,
                       SettingsError, ShardedLoader, check_settings, cleanup_distributed, free_port, init_distributed,
                       is_main_process, launched_by_torchrun, rank, settings_callbacks, world_size)

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


@pytest.mark.parametrize('n, bs, w', [(12, 3, 2), (13, 3, 2), (10, 2, 4), (13, 2, 3)])
def test_sharded_loader_splits_the_one_process_batches(n, bs, w):
    "Each one-process batch (of w·bs) is split among the ranks, item r, r+w, … to rank r: every item once, no padding."
    ds = Dataset(torch.arange(n, dtype=torch.float32), torch.arange(n))
    whole = [yb.tolist() for _, yb in DataLoader(ds, bs * w)]
    parts = [list(ShardedLoader(DataLoader(ds, bs), r, w)) for r in range(w)]
    assert all(len(p) == len(whole) == len(ShardedLoader(DataLoader(ds, bs), r, w)) for r, p in enumerate(parts))
    for j, batch in enumerate(whole):
        assert [parts[r][j][1].tolist() for r in range(w)] == [batch[r::w] for r in range(w)]
        assert all(torch.equal(xb, yb.float()) for p in parts for xb, yb in p)  # inputs and targets of the same items
    assert sorted(i for p in parts for _, yb in p for i in yb.tolist()) == list(range(n))


def test_sharded_loader_reads_lecture_03s_loaders_only():
    with pytest.raises(TypeError, match="ShardedLoader reads lecture 03's DataLoader without a collate_fn"):
        ShardedLoader(torch.utils.data.DataLoader(digits(8), batch_size=4), 0, 2)


def test_distributed_cb_needs_a_group(no_torchrun):
    learn = Learner(torch.nn.Linear(784, 10), DataLoader(digits(16), 8), cbs=[DistributedCB()])
    with pytest.raises(RuntimeError, match='DistributedCB needs a process group: launch with torchrun'):
        learn.fit(1)


def test_distributed_cb_on_one_process_is_the_plain_learner(world_of_one, tmp_path):
    "World size 1: DDP, the sharded loaders and the summed metrics change nothing; the model, loaders and flags come back."
    train, valid = digits(96, 1), digits(40, 2)
    def fit(dist_cb, ck):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(784, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
        dls = DataLoader(train, 16, shuffle=True), DataLoader(valid, 32)
        learn = Learner(model, *dls, F.cross_entropy, lr=0.3,
                        cbs=[DeviceCB('cpu'), MetricsCB(), CheckpointCB(ck), *([DistributedCB()] if dist_cb else [])])
        learn.fit(3)
        return learn, dls, model
    (a, dls, model), (b, *_) = fit(True, tmp_path/'a.pt'), fit(False, tmp_path/'b.pt')
    assert a.model is model and (a.train_dl, a.valid_dl) == dls and (a.is_main, a.reduce) == (True, None)
    assert a.batch_losses == b.batch_losses and a.batch_lrs == b.batch_lrs and len(a.batch_losses) == 3 * 6
    assert [{k: v for k, v in r.items() if k != 'time'} for r in a.history] == [{k: v for k, v in r.items() if k != 'time'} for r in b.history]
    for p, q in zip(a.model.parameters(), b.model.parameters()): assert torch.equal(p, q)
    saved = torch.load(tmp_path/'a.pt', weights_only=True)
    assert list(saved['model']) == list(model.state_dict())  # no 'module.' prefix: the checkpoint fits the plain model
    assert saved['callbacks']['DistributedCB'] == {'world_size': 1}


def test_distributed_cb_refuses_a_checkpoint_of_another_world_size(world_of_one, tmp_path):
    cb = DistributedCB()
    cb.world = 1
    with pytest.raises(CheckpointError, match='saved by a run on 2 processes; this one has 1: resume on 2'):
        cb.load_state_dict({'world_size': 2})


def test_distributed_cb_refuses_a_loader_it_cannot_shard(world_of_one):
    learn = Learner(torch.nn.Linear(784, 10), torch.utils.data.DataLoader(digits(8), batch_size=4), cbs=[DistributedCB()])
    with pytest.raises(TypeError, match="ShardedLoader reads lecture 03's DataLoader"): learn.fit(1)


def test_only_the_main_process_writes(world_of_one, monkeypatch, tmp_path):
    "As rank 1 would: learn.is_main is False, so CheckpointCB never saves and LoggingCB logs nothing; no method is replaced."
    monkeypatch.setattr(nb_10, 'is_main_process', lambda: False)
    lines, ck = [], CheckpointCB(tmp_path/'ck.pt')
    logger = LoggingCB(lines.append, every=1)
    Learner(torch.nn.Linear(784, 10), DataLoader(digits(16), 8), cbs=[MetricsCB(), ck, logger, DistributedCB()]).fit(1)
    assert lines == [] and not (tmp_path/'ck.pt').exists()
    assert 'after_epoch' not in vars(ck) and 'after_batch' not in vars(logger)
    monkeypatch.undo()
    Learner(torch.nn.Linear(784, 10), DataLoader(digits(16), 8), cbs=[MetricsCB(), ck, logger]).fit(1)
    assert lines and (tmp_path/'ck.pt').exists()


def test_score_functions_are_refused_across_processes(world_of_one):
    learn = Learner(torch.nn.Linear(784, 10), DataLoader(digits(16), 8), cbs=[MetricsCB(score_funcs={'n': lambda y, p: len(y)}), DistributedCB()])
    with pytest.raises(ValueError, match='score functions need every prediction in one process'): learn.fit(1)


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


def test_the_command_learns_precision_and_processes():
    "Lecture 10 adds the key `precision` to the one schema and its callbacks to SETTINGS_CALLBACKS."
    base = {'num_epochs': 1, 'batch_size': 8, 'learning_rate': 0.1}
    assert 'precision' in TRAIN_SETTINGS and 'processes' in SETTINGS_CALLBACKS
    assert check_settings(base)['precision'] == 'float32'
    assert check_settings(base | {'precision': 'bfloat16'})['precision'] == 'bfloat16'
    with pytest.raises(SettingsError, match="key 'precision' cannot be 'half'. Allowed: one of float32, bfloat16, float16"):
        check_settings(base | {'precision': 'half'}, 'x.yaml')


def test_settings_callbacks_of_one_process(no_torchrun):
    s = check_settings({'num_epochs': 1, 'batch_size': 8, 'learning_rate': 0.1})
    assert settings_callbacks(s, 'cpu') == []
    [mp] = settings_callbacks(s | {'precision': 'bfloat16'}, 'cpu')
    assert isinstance(mp, MixedPrecisionCB) and mp.dtype == 'bfloat16'
    with pytest.raises(SettingsError, match="'precision' cannot be 'float16' on cpu"): settings_callbacks(s | {'precision': 'float16'}, 'cpu')


def test_settings_callbacks_in_a_group(world_of_one):
    s = check_settings({'num_epochs': 1, 'batch_size': 8, 'learning_rate': 0.1, 'precision': 'bfloat16', 'schedule': 'cosine'})
    sched, d, mp = settings_callbacks(s, torch.device('cpu'))
    assert type(sched).__name__ == 'HyperScheduleCB' and isinstance(d, DistributedCB) and isinstance(mp, MixedPrecisionCB)


def test_free_port_is_free():
    p = free_port()
    assert 1024 <= p < 65536
    with socket.socket() as s: s.bind(('127.0.0.1', p))  # nobody holds it


def test_launch_error_is_a_runtime_error():
    assert issubclass(LaunchError, RuntimeError)


def test_cpu_autocast_runs_what_lecture_10_says_in_bfloat16():
    "Section 4: under CPU bfloat16 autocast the products and what follows them give bfloat16, the losses float32."
    h, w, y = torch.randn(4, 10), torch.randn(10, 10), torch.tensor([0, 1, 2, 3])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        z = F.linear(h, w)
        low = [z, h @ w, torch.sigmoid(z), F.softmax(z, dim=1), F.log_softmax(z, dim=1), z.sum()]
        high = [F.cross_entropy(z, y), F.nll_loss(F.log_softmax(z, dim=1), y), F.mse_loss(z, torch.zeros(4, 10)), F.softmax(h, dim=1)]
    assert [t.dtype for t in low] == [torch.bfloat16] * len(low) and [t.dtype for t in high] == [torch.float32] * len(high)


def test_ddp_broadcasts_buffers_by_default_and_refuses_sync_batchnorm_on_the_cpu(world_of_one):
    "Section 3: DDP's forward_sync_buffers is on by default, broadcast_buffers its deprecated name; SyncBatchNorm needs GPUs."
    from torch.nn.parallel import DistributedDataParallel
    assert DistributedDataParallel(torch.nn.BatchNorm1d(2)).forward_sync_buffers is True
    with pytest.warns(FutureWarning, match='`broadcast_buffers` is deprecated'):
        DistributedDataParallel(torch.nn.BatchNorm1d(2), broadcast_buffers=True)
    with pytest.raises(ValueError, match='SyncBatchNorm layers only work with GPU modules'):
        DistributedDataParallel(torch.nn.SyncBatchNorm.convert_sync_batchnorm(torch.nn.BatchNorm1d(2)))


def test_more_processes_than_gpus_is_refused_before_cuda_is_touched(monkeypatch):
    "LOCAL_RANK 1 on a machine with 1 GPU: a message naming both, not 'invalid device ordinal' from deep inside CUDA."
    for k, v in {'RANK': '1', 'WORLD_SIZE': '2', 'MASTER_ADDR': '127.0.0.1', 'MASTER_PORT': '1', 'LOCAL_RANK': '1'}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 1)
    monkeypatch.setattr(torch.cuda, 'set_device', lambda d: pytest.fail('CUDA was touched'))
    with pytest.raises(RuntimeError, match=r'LOCAL_RANK 1, but this machine has 1 CUDA GPU: start at most 1 process on it'):
        nb_10.init_distributed()


def test_the_command_uses_gloo_for_settings_on_the_cpu(tmp_path):
    from helpers import train_command as cmd
    quick = (REPO/'settings'/'quick.yaml').read_text()
    (tmp_path/'cpu.yaml').write_text(quick + 'device: cpu\n')
    backend = lambda path: cmd._backend(cmd._read_settings(path))
    assert backend(tmp_path/'cpu.yaml') == 'gloo' and backend(REPO/'settings'/'quick.yaml') is None
    assert backend(tmp_path/'missing.yaml') is None  # reported by every rank once the group is joined
