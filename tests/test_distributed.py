"""Jobs of 2 processes launched by torchrun (gloo, CPU, one thread each, a free port each): the equivalence with one
process, the training command (rank 0 alone writes), a failing rank, resume of a distributed run, a process that hangs,
a busy port. Tiny data and quick mode: each launch costs a few seconds of process start."""
import os, socket, sys, time
import pytest, torch, yaml
import torch.nn.functional as F
from exp.nb_10 import (DeviceCB, Dataset, LaunchError, Learner, MLP, MetricsCB, SamplerEpochCB, distributed_loader, free_port,
                       run_torchrun, set_all_seeds)
from helpers import train_command as cmd
from tools.notebooks import REPO

QUICK = REPO/'settings'/'quick.yaml'
ENV = {'DLF_QUICK': '1', 'PYTHONPATH': os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')])}


def tiny_digits(n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g)


EQUIVALENCE = '''
import sys, torch
import torch.nn.functional as F
from exp.nb_10 import *
init_distributed(timeout_s=30)
x, y = torch.load(sys.argv[1])
set_all_seeds(0)
learn = Learner(MLP(n_hidden=32), distributed_loader(Dataset(x[:192], y[:192]), 16, shuffle=True, seed=1),
                distributed_loader(Dataset(x[192:], y[192:]), 32), F.cross_entropy, lr=0.5,
                cbs=[DeviceCB('cpu'), MetricsCB(), DistributedCB()])
learn.fit(3)
if is_main_process(): torch.save({'history': learn.history, 'losses': learn.batch_losses, 'weights': learn.model.state_dict()}, sys.argv[2])
cleanup_distributed()
'''


def test_two_processes_equal_one_with_twice_the_batch(tmp_path):
    x, y = tiny_digits(256, 0)
    torch.save((x, y), tmp_path/'data.pt')
    (tmp_path/'eq.py').write_text(EQUIVALENCE)
    job = run_torchrun([tmp_path/'eq.py', tmp_path/'data.pt', tmp_path/'two.pt'], nproc=2, env=ENV, timeout=120)
    assert job.returncode == 0, job.stderr[-3000:]
    two = torch.load(tmp_path/'two.pt')
    set_all_seeds(0)
    one = Learner(MLP(n_hidden=32), distributed_loader(Dataset(x[:192], y[:192]), 32, shuffle=True, seed=1, num_replicas=1, rank=0),
                  distributed_loader(Dataset(x[192:], y[192:]), 64, num_replicas=1, rank=0), F.cross_entropy, lr=0.5,
                  cbs=[DeviceCB('cpu'), MetricsCB(), SamplerEpochCB()])
    one.fit(3)
    assert len(two['losses']) == len(one.batch_losses) == 3 * 6
    assert max(abs(a - b) for a, b in zip(two['losses'], one.batch_losses)) < 1e-5
    assert max((two['weights'][k] - v).abs().max().item() for k, v in one.model.state_dict().items()) < 1e-5
    for a, b in zip(two['history'], one.history):
        assert abs(a['valid_loss'] - b['valid_loss']) < 1e-5 and a['valid_acc'] == b['valid_acc'] and a['train_acc'] == b['train_acc']


FAULTY = '''
import os, sys
from exp import nb_10
from exp.nb_10 import Callback, rank
from helpers import train_command as tc
class Fault(Callback):
    "Fails (or hangs) on one rank in the second epoch's third batch."
    def after_batch(self, learn):
        if rank() == int(os.environ['FAULT_RANK']) and learn.training and learn.epoch == 1 and learn.iter == 2:
            if os.environ['FAULT'] == 'hang': import time; time.sleep(60)
            raise RuntimeError('injected fault')
plain = nb_10.command_callbacks
nb_10.command_callbacks = lambda s, device: plain(s, device) + [Fault()]
tc.DIST_TIMEOUT_S = float(os.environ.get('TIMEOUT', tc.DIST_TIMEOUT_S))
sys.exit(tc.train_command())
'''


def command(tmp_path, name, *flags, script=None, env=None, settings=QUICK):
    args = [script] if script else ['-m', 'helpers.train_model']
    return run_torchrun([*args, '--settings_path', settings, '--results_path', tmp_path/name, *flags], nproc=2,
                        env={**ENV, **(env or {})}, timeout=120)


@pytest.fixture(scope='module')
def full_run(tmp_path_factory):
    d = tmp_path_factory.mktemp('dist')
    return d, command(d, 'full')


def test_command_under_torchrun_rank_0_writes(full_run):
    d, job = full_run
    assert job.returncode == 0, job.stderr[-3000:]
    assert sorted(p.name for p in (d/'full').iterdir()) == sorted(cmd.RESULT_FILES)
    res = yaml.safe_load((d/'full'/'results.yaml').read_text())
    s = yaml.safe_load((d/'full'/'settings.yaml').read_text())
    assert s['precision'] == 'float32' and res['settings'] == s
    n_train, epochs = res['run']['sizes']['train'], res['run']['num_epochs']
    assert len(res['minibatch_loss']) == epochs * -(-n_train // (2 * s['batch_size']))  # steps of the global batch
    log = [l.split(' | ', 1)[1] for l in (d/'full'/'training.log').read_text().splitlines()]
    assert log.count(f"processes: 2 (gloo); batch_size {s['batch_size']} per process, {2 * s['batch_size']} per step in all") == 1
    assert sum(l.startswith('epoch 002/002 | train loss') for l in log) == 1  # one rank logs
    assert sum('epoch 002/002 | train loss' in l for l in job.stdout.splitlines()) == 1  # printed once: by rank 0
    assert 'error' not in job.stderr.lower()


def test_failing_rank_ends_the_job_and_resume_continues(full_run, tmp_path):
    d, job = full_run
    (tmp_path/'faulty.py').write_text(FAULTY)
    t0 = time.perf_counter()
    bad = command(tmp_path, 'run', script=tmp_path/'faulty.py', env={'FAULT_RANK': '1', 'FAULT': 'raise'})
    seconds = time.perf_counter() - t0
    assert bad.returncode != 0 and seconds < 60
    assert 'error: rank 1 of 2: training failed: RuntimeError: injected fault' in bad.stderr
    assert 'continue with --resume' in bad.stderr
    files = sorted(p.name for p in (tmp_path/'run').iterdir())
    assert 'checkpoint.pt' in files and 'results.yaml' not in files  # rank 0 saved epoch 1, then was stopped
    again = command(tmp_path, 'run', '--resume')
    assert again.returncode == 0, again.stderr[-3000:]
    full = yaml.safe_load((d/'full'/'results.yaml').read_text())
    resumed = yaml.safe_load((tmp_path/'run'/'results.yaml').read_text())
    drop = lambda h: [{k: v for k, v in r.items() if k != 'time'} for r in h]
    assert drop(resumed['history']) == drop(full['history']) and resumed['test_acc'] == full['test_acc']
    assert resumed['minibatch_loss'] == full['minibatch_loss'] and resumed['run']['resumed'] is True
    assert sum('resuming: settings' in l for l in (tmp_path/'run'/'training.log').read_text().splitlines()) == 1


def test_a_hanging_rank_times_out(tmp_path):
    (tmp_path/'faulty.py').write_text(FAULTY)
    t0 = time.perf_counter()
    job = command(tmp_path, 'run', script=tmp_path/'faulty.py', env={'FAULT_RANK': '1', 'FAULT': 'hang', 'TIMEOUT': '3'})
    assert job.returncode != 0 and time.perf_counter() - t0 < 45
    assert 'error: rank 0 of 2: training failed: ' in job.stderr  # rank 0 waited 3 s in its all-reduce, then gave up


def test_busy_port(tmp_path):
    with socket.socket() as busy:
        busy.bind(('127.0.0.1', 0)); busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LaunchError, match=f'port {port} is already in use on this machine'):
            run_torchrun(['-m', 'helpers.train_model', '--settings_path', QUICK, '--results_path', tmp_path/'busy'], port=port, env=ENV)
    assert not (tmp_path/'busy').exists()


def test_settings_refused_on_rank_0_stop_every_rank(tmp_path):
    bad = tmp_path/'bad.yaml'
    bad.write_text(QUICK.read_text() + 'precision: float16\n')  # float16 is for CUDA
    job = command(tmp_path, 'r', settings=bad)
    assert job.returncode != 0  # the ranks exit with status 2; torchrun reports a failed job with its own status 1
    assert job.stderr.count("key 'precision' cannot be 'float16' on cpu") == 1  # rank 0's message only
    assert not (tmp_path/'r').exists()
