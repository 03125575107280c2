"""Jobs of 2 and 3 processes launched by torchrun (gloo, CPU, one thread each, a free port each): N processes with
batch b are the one-process run with batch N·b — schedules included, with splits N does not divide — the training
command (rank 0 alone writes; the same results as one process), a failing rank, resume (on as many processes only), a
process that hangs, a busy port. Tiny data and quick mode: each launch costs a few seconds of process start."""
import os, socket, sys, time
import pytest, torch, yaml
import torch.nn.functional as F
from exp.nb_10 import (SCHEDULES, Dataset, DeviceCB, HyperScheduleCB, LaunchError, Learner, MLP, MetricsCB, get_dls,
                       run_torchrun, set_all_seeds)
from exp.nb_07 import RESULT_FILES
from helpers import train_command as cmd
from tools.notebooks import REPO

QUICK = REPO/'settings'/'quick.yaml'
ENV = {'DLF_QUICK': '1', 'PYTHONPATH': os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')])}
N_TRAIN, BS, SCHEDULE_NAMES = 193, 16, ('constant', 'cosine', 'one_cycle')  # 193: each N leaves a last batch of one item


def tiny_digits(n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g)


def run_learner(x, y, bs, schedule, dist_cbs=()):
    "Lecture 03's loaders of batch `bs` over the tiny digits, the MLP, SGD at peak 0.5 with `schedule`, 3 epochs."
    set_all_seeds(0)
    dls = get_dls(Dataset(x[:N_TRAIN], y[:N_TRAIN]), Dataset(x[N_TRAIN:], y[N_TRAIN:]), bs)
    cbs = [DeviceCB('cpu'), MetricsCB(), *dist_cbs] + ([HyperScheduleCB(SCHEDULES[schedule](0.5))] if schedule != 'constant' else [])
    learn = Learner(MLP(n_hidden=32), *dls, F.cross_entropy, lr=0.5, cbs=cbs)
    learn.fit(3)
    return learn


EQUIVALENCE = f'''
import sys, torch
from exp.nb_10 import init_distributed, cleanup_distributed, is_main_process, DistributedCB
sys.path.insert(0, {str(REPO/'tests')!r})
from test_distributed import run_learner, SCHEDULE_NAMES, BS
init_distributed(timeout_s=30)
x, y = torch.load(sys.argv[1])
runs = {{}}
for name in SCHEDULE_NAMES:
    learn = run_learner(x, y, BS, name, [DistributedCB()])
    runs[name] = {{'history': learn.history, 'losses': learn.batch_losses, 'lrs': learn.batch_lrs, 'weights': learn.model.state_dict()}}
if is_main_process(): torch.save(runs, sys.argv[2])
cleanup_distributed()
'''


@pytest.mark.parametrize('world', [2, 3])
def test_n_processes_equal_one_with_n_times_the_batch(tmp_path, world):
    "Per-step learning rate (exactly), every step's loss, the history and the final weights (to float rounding)."
    x, y = tiny_digits(N_TRAIN + 97, 0)  # 97 validation items: the last validation batch is one item too
    torch.save((x, y), tmp_path/'data.pt')
    (tmp_path/'eq.py').write_text(EQUIVALENCE)
    job = run_torchrun([tmp_path/'eq.py', tmp_path/'data.pt', tmp_path/'many.pt'], nproc=world, env=ENV, timeout=180)
    assert job.returncode == 0, job.stderr[-3000:]
    many = torch.load(tmp_path/'many.pt')
    for name in SCHEDULE_NAMES:
        one, m = run_learner(x, y, world * BS, name), many[name]
        assert len(m['losses']) == len(one.batch_losses) == 3 * -(-N_TRAIN // (world * BS)), name
        assert m['lrs'] == one.batch_lrs, name
        assert max(abs(a - b) for a, b in zip(m['losses'], one.batch_losses)) < 1e-5, name
        assert max((m['weights'][k] - v).abs().max().item() for k, v in one.model.state_dict().items()) < 1e-5, name
        for a, b in zip(m['history'], one.history):
            assert a['epoch'] == b['epoch'] and a['lr'] == b['lr'] and a['valid_acc'] == b['valid_acc'] and a['train_acc'] == b['train_acc']
            assert abs(a['valid_loss'] - b['valid_loss']) < 1e-5 and abs(a['train_loss'] - b['train_loss']) < 1e-5, name


FAULTY = '''
import os, sys
from exp.nb_10 import SETTINGS_CALLBACKS, Callback, rank
from helpers import train_command as tc
class Fault(Callback):
    "Fails (or hangs) on one rank in the second epoch's third batch."
    def after_batch(self, learn):
        if rank() == int(os.environ['FAULT_RANK']) and learn.training and learn.epoch == 1 and learn.iter == 2:
            if os.environ['FAULT'] == 'hang': import time; time.sleep(60)
            raise RuntimeError('injected fault')
SETTINGS_CALLBACKS['fault'] = lambda s, device: [Fault()]
tc.DIST_TIMEOUT_S = float(os.environ.get('TIMEOUT', tc.DIST_TIMEOUT_S))
sys.exit(tc.train_command())
'''


def command(tmp_path, name, *flags, script=None, env=None, settings=QUICK, nproc=2):
    args = [script] if script else ['-m', 'helpers.train']
    return run_torchrun([*args, '--settings_path', settings, '--results_path', tmp_path/name, *flags], nproc=nproc,
                        env={**ENV, **(env or {})}, timeout=120)


@pytest.fixture(scope='module')
def full_run(tmp_path_factory):
    "The shipped quick settings with a cosine schedule, on 2 processes."
    d = tmp_path_factory.mktemp('dist')
    (d/'cosine.yaml').write_text(QUICK.read_text() + 'schedule: cosine\n')
    return d, command(d, 'full', settings=d/'cosine.yaml')


def test_command_under_torchrun_rank_0_writes_the_one_process_run(full_run, tmp_path, capsys):
    "The command on 2 processes × batch b with a cosine schedule: rank 0's files, and the results of 1 process × 2b."
    d, job = full_run
    assert job.returncode == 0, job.stderr[-3000:]
    assert sorted(p.name for p in (d/'full').iterdir()) == sorted(RESULT_FILES)
    res = yaml.safe_load((d/'full'/'results.yaml').read_text())
    run = yaml.safe_load((d/'full'/'run.yaml').read_text())
    s = run['settings']
    assert s['precision'] == 'float32' and s['schedule'] == 'cosine' and res['settings'] == s
    assert run['processes'] == res['run']['processes'] == 2 and run['quick_mode'] is True
    n_train, epochs = res['run']['sizes']['train'], res['run']['num_epochs']
    assert len(res['minibatch_loss']) == epochs * -(-n_train // (2 * s['batch_size']))  # steps of the global batch
    log = [l.split(' | ', 1)[1] for l in (d/'full'/'training.log').read_text().splitlines()]
    assert log.count(f"processes: 2 (gloo); batch_size {s['batch_size']} per process, {2 * s['batch_size']} per step in all") == 1
    assert sum(l.startswith('epoch 002/002 | train loss') for l in log) == 1  # one rank logs
    assert sum('epoch 002/002 | train loss' in l for l in job.stdout.splitlines()) == 1  # printed once: by rank 0
    assert 'error' not in job.stderr.lower()
    one = tmp_path/'one.yaml'
    one.write_text(yaml.safe_dump(s | {'batch_size': 2 * s['batch_size']}))
    assert cmd.train_command(['--settings_path', str(one), '--results_path', str(tmp_path/'one')]) == 0
    capsys.readouterr()
    ref = yaml.safe_load((tmp_path/'one'/'results.yaml').read_text())
    assert res['minibatch_lr'] == ref['minibatch_lr'] and len(res['minibatch_loss']) == len(ref['minibatch_loss'])
    assert max(abs(a - b) for a, b in zip(res['minibatch_loss'], ref['minibatch_loss'])) < 1e-5
    for a, b in zip(res['history'], ref['history']):
        assert a['valid_acc'] == b['valid_acc'] and abs(a['valid_loss'] - b['valid_loss']) < 1e-5
    assert res['test_acc'] == ref['test_acc']
    weights = [torch.load(f/'checkpoint.pt', weights_only=False)['model'] for f in (d/'full', tmp_path/'one')]
    assert max((weights[0][k] - w).abs().max().item() for k, w in weights[1].items()) < 1e-5


def test_failing_rank_ends_the_job_and_resume_continues(full_run, tmp_path, capsys):
    d, job = full_run
    (tmp_path/'faulty.py').write_text(FAULTY)
    t0 = time.perf_counter()
    bad = command(tmp_path, 'run', script=tmp_path/'faulty.py', env={'FAULT_RANK': '1', 'FAULT': 'raise'}, settings=d/'cosine.yaml')
    seconds = time.perf_counter() - t0
    assert bad.returncode != 0 and seconds < 60
    assert 'error: rank 1 of 2: training failed: RuntimeError: injected fault' in bad.stderr
    assert 'continue with --resume' in bad.stderr
    assert 'training failed: RuntimeError: injected fault' in bad.stderr.split('Root Cause')[1], bad.stderr[-4000:]
    files = sorted(p.name for p in (tmp_path/'run').iterdir())
    assert 'checkpoint.pt' in files and 'results.yaml' not in files  # rank 0 saved epoch 1, then was stopped
    alone = cmd.train_command(['--settings_path', str(d/'cosine.yaml'), '--results_path', str(tmp_path/'run'), '--resume'])
    assert alone == 2  # one process cannot continue a run of two: its batch would change
    again = command(tmp_path, 'run', '--resume', settings=d/'cosine.yaml')
    assert again.returncode == 0, again.stderr[-3000:]
    full = yaml.safe_load((d/'full'/'results.yaml').read_text())
    resumed = yaml.safe_load((tmp_path/'run'/'results.yaml').read_text())
    drop = lambda h: [{k: v for k, v in r.items() if k != 'time'} for r in h]
    assert drop(resumed['history']) == drop(full['history']) and resumed['test_acc'] == full['test_acc']
    assert resumed['minibatch_loss'] == full['minibatch_loss'] and resumed['run']['resumed'] is True
    assert sum('resuming: settings' in l for l in (tmp_path/'run'/'training.log').read_text().splitlines()) == 1
    assert 'the run in' in capsys.readouterr().err  # the refusal of the one-process resume said why


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
            run_torchrun(['-m', 'helpers.train', '--settings_path', QUICK, '--results_path', tmp_path/'busy'], port=port, env=ENV)
    assert not (tmp_path/'busy').exists()


def test_settings_refused_on_rank_0_stop_every_rank(tmp_path):
    bad = tmp_path/'bad.yaml'
    bad.write_text(QUICK.read_text() + 'precision: float16\n')  # float16 is for CUDA
    job = command(tmp_path, 'r', settings=bad)
    assert job.returncode != 0  # the ranks exit with status 2; torchrun reports a failed job with its own status 1
    assert job.stderr.count("key 'precision' cannot be 'float16' on cpu") == 2  # rank 0's message, and in torchrun's summary:
    assert "error: rank 0 of 2: " in job.stderr.split('Root Cause')[1]  # the course's line is the root cause, not an exit code
    assert not (tmp_path/'r').exists()


def own_launch(tmp_path, name, *flags, settings=QUICK):
    "The command starting its own processes: `python -m helpers.train --nproc_per_node 2 …`."
    import subprocess
    return subprocess.run([sys.executable, '-m', 'helpers.train', '--nproc_per_node', '2', '--settings_path', str(settings),
                           '--results_path', str(tmp_path/name), *flags], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **ENV}, cwd=tmp_path)


def test_the_command_starts_its_own_processes(full_run, tmp_path):
    "--nproc_per_node 2: the torchrun job's results; a refused settings file: the course's line once, no launcher traceback."
    d, job = full_run
    ok = own_launch(tmp_path, 'own', settings=d/'cosine.yaml')
    assert ok.returncode == 0, ok.stderr[-3000:]
    own, ref = (yaml.safe_load((f/'results.yaml').read_text()) for f in (tmp_path/'own', d/'full'))
    assert own['run']['processes'] == 2 and own['minibatch_loss'] == ref['minibatch_loss'] and own['test_acc'] == ref['test_acc']
    bad = tmp_path/'bad.yaml'
    bad.write_text(QUICK.read_text() + 'precision: float16\n')
    job = own_launch(tmp_path, 'r', settings=bad)
    assert job.returncode == 2 and job.stderr.count("key 'precision' cannot be 'float16' on cpu") == 1, job.stderr
    assert 'Traceback' not in job.stderr and 'Root Cause' not in job.stderr and not (tmp_path/'r').exists()
    with pytest.raises(SystemExit) as e: cmd.parse_args(['--nproc_per_node', '0', '--settings_path', 's', '--results_path', 'r'])
    assert e.value.code == 2


def test_a_job_past_its_timeout_is_stopped_with_its_processes(tmp_path):
    marker = f'dlf-timeout-{os.getpid()}'
    (tmp_path/'sleep.py').write_text(f"import time  # {marker}\ntime.sleep(120)\n")
    t0 = time.perf_counter()
    with pytest.raises(LaunchError, match=r'did not finish in 3 s: stopped it and its 2 processes'):
        run_torchrun([tmp_path/'sleep.py'], nproc=2, timeout=3, env=ENV)
    assert time.perf_counter() - t0 < 30
    import subprocess
    left = subprocess.run(['pgrep', '-f', str(tmp_path/'sleep.py')], capture_output=True, text=True).stdout.split()
    assert left == [], f"processes left running: {left}"


def test_the_job_status_is_that_of_a_rank_that_ended_by_itself(tmp_path, capsys):
    "Rank 1 exits 2 first; the launcher then stops rank 0 with SIGTERM: the job's status is 2, not the signal's."
    from torch.distributed.elastic.multiprocessing.errors import ProcessFailure
    failure = lambda rank, code: ProcessFailure(local_rank=rank, pid=1000 + rank, exitcode=code, error_file=str(tmp_path/f'{rank}.json'))
    assert cmd._job_status({0: failure(0, -15), 1: failure(1, 2)}, 2) == 2
    assert cmd._job_status({0: failure(0, 143), 1: failure(1, 1)}, 2) == 1
    assert capsys.readouterr().err == ''
    assert cmd._job_status({1: failure(1, -9)}, 2) == 1
    assert capsys.readouterr().err == 'error: rank 1 of 2 was stopped by SIGKILL.\n'
