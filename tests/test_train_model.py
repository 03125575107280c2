"The training command end to end, in temporary folders: a full quick run, bad settings, the results-folder policy, resume."
import contextlib, io, os, signal, subprocess, sys, time, tomllib
from types import SimpleNamespace
import pytest, yaml
from exp import nb_00
from exp.nb_07 import (RESULT_FILES, TRAIN_SETTINGS, SettingsError, check_results_folder, load_settings, run_record, save_yaml,
                       start_results_folder)
from helpers import train_command as cmd
from tools.notebooks import REPO

QUICK = REPO/'settings'/'quick.yaml'


def run(capsys, *args):
    "Run the command in-process; returns (exit status, stdout, stderr)."
    rc = cmd.train_command([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture(scope='module')
def quick_run(tmp_path_factory):
    "One full quick run of the shipped quick settings (in-process): (results folder, status, terminal output, errors)."
    d = tmp_path_factory.mktemp('quick')/'results'
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
        rc = cmd.train_command(['--settings_path', str(QUICK), '--results_path', str(d)])
    return SimpleNamespace(dir=d, returncode=rc, stdout=out.getvalue(), stderr=err.getvalue())


def test_help_explains_every_option_and_key(capsys):
    with pytest.raises(SystemExit) as e: cmd.train_command(['--help'])
    out = capsys.readouterr().out
    assert e.value.code == 0
    for opt in ('--settings_path', '--results_path', '--resume', '--overwrite'): assert opt in out
    cmd.newest()
    for k in TRAIN_SETTINGS: assert f'\n  {k} ' in out  # every lecture's keys
    assert 'the test split is evaluated once, after training' in out.replace('\n', ' ') and 'settings/ folder' in out
    assert 'not the DLF_DATASET variable the lectures read' in out.replace('\n', ' ')
    for f in RESULT_FILES: assert f in out
    for status, meaning in cmd.EXIT_STATUS.items(): assert f'  {status:<4} {meaning}' in out


def test_missing_arguments_give_usage(capsys):
    with pytest.raises(SystemExit) as e: cmd.train_command([])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith('usage:')
    assert 'the following arguments are required: --settings_path, --results_path' in err
    with pytest.raises(SystemExit): cmd.train_command(['--settings_path', 'x.yaml', '--results_path', 'd', '--resume', '--overwrite'])
    assert 'not allowed with argument' in capsys.readouterr().err


def test_console_script_entry():
    scripts = tomllib.loads((REPO/'pyproject.toml').read_text())['project']['scripts']
    assert scripts['dlf-train'] == 'helpers.train_command:main'


def test_full_quick_run(quick_run):
    d, r = quick_run.dir, quick_run
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr == '', r.stderr  # no warnings, nothing outside the log
    assert sorted(p.name for p in d.iterdir()) == sorted(RESULT_FILES)
    res = yaml.safe_load((d/'results.yaml').read_text())
    s = yaml.safe_load((d/'run.yaml').read_text())['settings']
    assert res['settings'] == s and set(s) == set(TRAIN_SETTINGS)
    assert all(s[k] == v for k, v in yaml.safe_load(QUICK.read_text()).items())
    n = res['run']['num_epochs']
    assert n == nb_00.budget(s['num_epochs']) and len(res['history']) == n
    assert all(0 <= a <= 100 for a in [r[k] for r in res['history'] for k in ('train_acc', 'valid_acc')] + [res['test_acc']])
    assert res['run']['quick_mode'] is True and res['run']['sizes']['test'] > 0
    assert {'setup_s', 'training_s', 'total_s'} <= set(res['timings'])
    assert (d/'training_loss.png').read_bytes()[:4] == b'\x89PNG'
    log = (d/'training.log').read_text().splitlines()
    assert [l.split(' | ', 1)[1] for l in log] == r.stdout.splitlines()  # the file holds exactly what the terminal showed
    text = '\n'.join(log)
    for k, v in s.items(): assert f'{k}={v}' in text
    for piece in ('versions: python', 'torch ', 'device: ', 'data: ', 'split: train', f"test accuracy {res['test_acc']:.2f}%", f'wrote results.yaml, training_loss.png, accuracy.png and checkpoint.pt to {d}'):
        assert piece in text, piece


def test_refuses_results_folder_with_results(quick_run, capsys):
    d = quick_run.dir
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    rc, out, err = run(capsys, '--settings_path', QUICK, '--results_path', d)
    assert rc == 2 and out == ''
    assert f'{d} already holds results' in err and '--overwrite' in err and '--resume' in err
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before


def test_overwrite_replaces(tmp_path, capsys):
    d = tmp_path/'r'; d.mkdir()
    (d/'results.yaml').write_text('old: 1\n'); (d/'checkpoint.pt').write_text('stale')
    rc, out, err = run(capsys, '--settings_path', QUICK, '--results_path', d, '--overwrite')
    assert rc == 0, err
    assert 'old' not in yaml.safe_load((d/'results.yaml').read_text())
    assert sorted(p.name for p in d.iterdir()) == sorted(RESULT_FILES)


def test_other_files_in_the_folder_are_fine(tmp_path, capsys):
    d = tmp_path/'r'; d.mkdir(); (d/'notes.txt').write_text('mine'); (d/'settings.yaml').write_text('# my own\n')
    record = run_record(load_settings(QUICK))
    assert check_results_folder(d, record) is False
    start_results_folder(d, record)
    assert (d/'notes.txt').read_text() == 'mine' and yaml.safe_load((d/'run.yaml').read_text()) == record
    assert sorted(p.name for p in d.iterdir()) == ['notes.txt', 'run.yaml', 'settings.yaml']
    (tmp_path/'file').write_text('')
    with pytest.raises(SettingsError, match='exists and is not a folder'): check_results_folder(tmp_path/'file', record)


def test_a_start_killed_before_its_first_epoch_is_restarted_by_the_same_command(tmp_path, capsys):
    "What kill -9 during data loading leaves (run record, log; no checkpoint) does not block a plain rerun."
    d = tmp_path/'r'; d.mkdir()
    start_results_folder(d, run_record(load_settings(QUICK)))
    (d/'training.log').write_text('2026-01-01 00:00:00 | training: settings quick.yaml, results r\n')
    assert check_results_folder(d, run_record(load_settings(QUICK))) is True
    rc, out, err = run(capsys, '--settings_path', QUICK, '--results_path', d)
    assert rc == 0, err
    assert out.startswith(f'an earlier start in {d} finished no epoch; starting afresh')
    log = (d/'training.log').read_text()
    assert log.startswith('2026-01-01 00:00:00 | training: settings quick.yaml') and 'test accuracy' in log  # appended, not replaced
    assert sorted(p.name for p in d.iterdir()) == sorted(RESULT_FILES)


def test_dlf_dataset_is_noted_not_used(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv('DLF_DATASET', 'bogus')
    rc, out, err = run(capsys, '--settings_path', QUICK, '--results_path', tmp_path/'r')
    assert rc == 0, err
    assert "note: DLF_DATASET=bogus is not used: the command's data source is the settings key dataset (embedded)" in out
    assert yaml.safe_load((tmp_path/'r'/'results.yaml').read_text())['run']['data'].startswith('embedded MNIST')


BAD = [("num_epochs: 2\nbatch_size: 32\nlearning_rat: 0.1\n", ["unknown key 'learning_rat'", 'Allowed keys:']),
       ("num_epochs: 2\nlearning_rate: 0.1\n", ["missing key 'batch_size'", 'Required keys:']),
       ("num_epochs: 2\nbatch_size: '32'\nlearning_rate: 0.1\n", ["key 'batch_size' must be an integer, got '32'", 'Allowed: an integer >= 1']),
       ("num_epochs: 2\nbatch_size: -32\nlearning_rate: 0.1\n", ["key 'batch_size' cannot be -32", 'Allowed: an integer >= 1']),
       ("num_epochs: 2\nbatch_size: 32\nlearning_rate: 0.1\ndataset: cifar\n", ["key 'dataset' cannot be 'cifar'", 'one of embedded, mnist, fashion']),
       ("num_epochs: 2\nbatch_size: 32\nlearning_rate: 0.1\noptimizer: adagrad\n", ["key 'optimizer' cannot be 'adagrad'", 'one of sgd, rmsprop, adam, adamw'])]


@pytest.mark.parametrize('text,fragments', BAD, ids=['unknown key', 'missing key', 'wrong type', 'negative', 'dataset', 'optimizer'])
def test_bad_settings_stop_before_training(tmp_path, capsys, text, fragments):
    fn = tmp_path/'bad.yaml'; fn.write_text(text)
    rc, out, err = run(capsys, '--settings_path', fn, '--results_path', tmp_path/'r')
    assert rc == 2 and out == '' and err.startswith(f'error: {fn}: ')
    for f in fragments: assert f in err, err
    assert not (tmp_path/'r').exists()  # nothing was created


def test_a_settings_file_with_the_old_valid_fraction_key_stops_before_anything_is_written(tmp_path, capsys):
    "valid_fraction went away when the command got real validation and test splits: an old file gets a clear message."
    fn = tmp_path/'old.yaml'; fn.write_text(QUICK.read_text() + 'valid_fraction: 0.1\n')
    rc = cmd.train_command(['--settings_path', str(fn), '--results_path', str(tmp_path/'r')])
    err = capsys.readouterr().err
    assert rc == 2 and f"error: {fn}: unknown key 'valid_fraction'" in err and not (tmp_path/'r').exists()

def test_missing_settings_file_and_unavailable_device(tmp_path, capsys, monkeypatch):
    rc, _, err = run(capsys, '--settings_path', tmp_path/'none.yaml', '--results_path', tmp_path/'r')
    assert rc == 2 and 'none.yaml: cannot read the settings file' in err
    import torch
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)  # a CPU-only machine, wherever the test runs
    fn = tmp_path/'cuda.yaml'; fn.write_text(QUICK.read_text() + 'device: cuda\n')
    rc, _, err = run(capsys, '--settings_path', fn, '--results_path', tmp_path/'r')
    assert rc == 2 and f"{fn}: key 'device' is 'cuda', which this machine does not have" in err and not (tmp_path/'r').exists()


def test_resume_refusals(tmp_path, capsys, quick_run):
    rc, _, err = run(capsys, '--settings_path', QUICK, '--results_path', tmp_path/'none', '--resume')
    assert rc == 2 and 'has no checkpoint.pt to resume from. Run without --resume.' in err
    d = quick_run.dir
    rc, _, err = run(capsys, '--settings_path', QUICK, '--results_path', d, '--resume')
    assert rc == 2 and 'holds a finished run (results.yaml); there is nothing to resume' in err
    part = tmp_path/'part'; part.mkdir()
    (part/'checkpoint.pt').write_bytes((d/'checkpoint.pt').read_bytes())
    rc, _, err = run(capsys, '--settings_path', QUICK, '--results_path', part, '--resume')
    assert rc == 2 and 'run.yaml is missing or damaged' in err
    record = yaml.safe_load((d/'run.yaml').read_text())
    for change, message in (({'settings': record['settings'] | {'learning_rate': 0.01}}, 'learning_rate was 0.01, now 0.5'),
                            ({'quick_mode': False}, 'started with quick mode off; now quick mode is on (DLF_QUICK)'),
                            ({'processes': 2}, 'started on 2 process(es), this one has 1')):
        save_yaml(record | change, part/'run.yaml')
        rc, _, err = run(capsys, '--settings_path', QUICK, '--results_path', part, '--resume')
        assert rc == 2 and message in err, err


def test_resume_after_kill_matches_uninterrupted_run(tmp_path):
    "Kill the command after its first checkpoint, resume it: same final results as an uninterrupted run (CPU)."
    # Normal mode (quick mode caps the epochs at 2, too short to stop a run in the middle) on the embedded digits.
    env = dict(os.environ, DLF_QUICK='0', DLF_DATASET='embedded', DLF_OFFLINE='1', OMP_NUM_THREADS='1', MPLBACKEND='Agg')
    fn = tmp_path/'s.yaml'
    fn.write_text("num_epochs: 4\nbatch_size: 32\nlearning_rate: 0.2\nnum_hidden: 32\nlogging_interval: 1000\ndevice: cpu\n")
    def start(d, *extra):
        return subprocess.Popen([sys.executable, '-m', 'helpers.train', '--settings_path', str(fn), '--results_path', str(d), *extra],
                                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    whole, part = tmp_path/'whole', tmp_path/'part'
    p_whole, p_part = start(whole), start(part)
    deadline = time.monotonic() + 240
    while not (part/'checkpoint.pt').exists() and p_part.poll() is None and time.monotonic() < deadline: time.sleep(0.002)
    p_part.send_signal(signal.SIGKILL)
    p_part.wait()
    assert p_part.returncode == -signal.SIGKILL, f"the run ended before it could be stopped (status {p_part.returncode}): {p_part.stderr.read()}"
    assert (part/'checkpoint.pt').exists() and not (part/'results.yaml').exists()
    resumed = subprocess.run([sys.executable, '-m', 'helpers.train', '--settings_path', str(fn), '--results_path', str(part), '--resume'],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert p_whole.wait(timeout=300) == 0, p_whole.stderr.read()
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    a, b = (yaml.safe_load((d/'results.yaml').read_text()) for d in (whole, part))
    assert b['run']['resumed'] is True and a['run']['resumed'] is False and len(a['history']) == 4
    for k in ('minibatch_loss', 'test_acc'): assert a[k] == b[k], k
    strip = lambda h: [{k: v for k, v in r.items() if k != 'time'} for r in h]  # seconds differ, all else must not
    assert strip(a['history']) == strip(b['history'])
    log = (part/'training.log').read_text()
    assert 'training: settings' in log and 'resuming: settings' in log  # the log of the first start was kept


def test_overwrite_never_replaces_a_run_yaml_the_command_did_not_write(tmp_path, capsys):
    d = tmp_path/'r'
    assert cmd.train_command(['--settings_path', str(QUICK), '--results_path', str(d)]) == 0
    (d/'run.yaml').write_text('# my notes\nlearning_rate: 0.1\n')  # the user's own file of that name
    assert cmd.train_command(['--settings_path', str(QUICK), '--results_path', str(d), '--overwrite']) == 2
    assert 'is not a run record the command wrote' in capsys.readouterr().err
    assert (d/'run.yaml').read_text().startswith('# my notes')


def test_quick_run_with_a_cnn(tmp_path, capsys):
    "model: cnn trains lecture 09's CNN with the channels of the settings; results and checkpoint record it."
    import torch
    s = tmp_path/'cnn.yaml'
    assert 'learning_rate: 0.5\n' in QUICK.read_text()
    s.write_text(QUICK.read_text().replace('learning_rate: 0.5', 'learning_rate: 0.01').replace('num_hidden: 32\n', '') +
                 'model: cnn\nchannels: [4, 8]\noptimizer: adamw\nschedule: one_cycle\n')
    rc, out, err = run(capsys, '--settings_path', s, '--results_path', tmp_path/'r')
    assert rc == 0 and err == '', err
    res = yaml.safe_load((tmp_path/'r'/'results.yaml').read_text())
    assert res['settings']['model'] == 'cnn' and res['settings']['channels'] == [4, 8]
    assert yaml.safe_load((tmp_path/'r'/'run.yaml').read_text())['settings']['channels'] == [4, 8]
    weights = torch.load(tmp_path/'r'/'checkpoint.pt', weights_only=False)['model']
    assert [tuple(w.shape) for k, w in weights.items() if w.ndim == 4] == [(4, 1, 3, 3), (8, 4, 3, 3)]
    assert 0 <= res['test_acc'] <= 100 and len(res['history']) == res['run']['num_epochs']


def _command(fn, d, *extra, env=None):
    return subprocess.Popen([sys.executable, '-m', 'helpers.train', '--settings_path', str(fn), '--results_path', str(d), *extra],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path, p, seconds=240):
    deadline = time.monotonic() + seconds
    while not path.exists() and p.poll() is None and time.monotonic() < deadline: time.sleep(0.002)
    assert path.exists(), f"{path} never appeared (status {p.poll()})"


@pytest.fixture
def slow_settings(tmp_path):
    "Normal mode (quick mode caps the epochs at 2), 4 epochs on the embedded digits: a few seconds, long enough to catch."
    fn = tmp_path/'s.yaml'
    fn.write_text("num_epochs: 4\nbatch_size: 32\nlearning_rate: 0.2\nnum_hidden: 32\nlogging_interval: 1000\ndevice: cpu\n")
    return fn, dict(os.environ, DLF_QUICK='0', DLF_DATASET='embedded', DLF_OFFLINE='1', OMP_NUM_THREADS='1', MPLBACKEND='Agg')


def test_a_second_run_on_a_folder_in_use_is_refused_and_the_first_is_kept(tmp_path, slow_settings):
    fn, env = slow_settings
    fn.write_text(fn.read_text().replace('num_epochs: 4', 'num_epochs: 300'))  # still running when the second one starts
    d = tmp_path/'r'
    first = _command(fn, d, env=env)
    _wait_for(d/'run.yaml', first)  # the first run holds the folder: it has checked it and recorded itself
    second = subprocess.run([sys.executable, '-m', 'helpers.train', '--settings_path', str(fn), '--results_path', str(d), '--overwrite'],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert first.poll() is None, "the first run ended before the second started: make it longer"
    first.send_signal(signal.SIGTERM)
    out, err = first.communicate(timeout=120)
    assert second.returncode == 2 and f'is in use by another run: process {first.pid} on' in second.stderr, second.stderr
    assert 'Traceback' not in second.stderr + err and first.returncode == 143
    log = (d/'training.log').read_text()
    assert log.count('training: settings') == 1 and 'terminated (SIGTERM)' in log  # one run's log, whole
    assert yaml.safe_load((d/'run.yaml').read_text())['settings']['num_epochs'] == 300
    assert not (d/'.run.lock').exists(), "a run that ended leaves no lock file"


def test_a_killed_run_leaves_no_lock_behind(tmp_path, slow_settings):
    "kill -9 cannot release anything; the system frees the lock, and --resume takes it over and says so."
    fn, env = slow_settings
    d = tmp_path/'r'
    p = _command(fn, d, env=env)
    _wait_for(d/'checkpoint.pt', p)
    p.send_signal(signal.SIGKILL); p.wait()
    assert p.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert (d/'.run.lock').read_text().startswith(f'process {p.pid} on')  # the file still names the killed run
    resumed = subprocess.run([sys.executable, '-m', 'helpers.train', '--settings_path', str(fn), '--results_path', str(d), '--resume'],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f'the lock of a run that ended without releasing it (process {p.pid} on' in resumed.stdout
    assert 'taken over' in (d/'training.log').read_text() and not (d/'.run.lock').exists()


def test_sigterm_stops_like_ctrl_c_and_the_run_resumes(tmp_path, slow_settings):
    fn, env = slow_settings
    d = tmp_path/'r'
    p = _command(fn, d, env=env)
    _wait_for(d/'checkpoint.pt', p)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 143, (p.returncode, err)
    assert 'terminated (SIGTERM); continue with --resume' in out and 'Traceback' not in out + err
    assert 'terminated (SIGTERM); continue with --resume' in (d/'training.log').read_text()
    resumed = subprocess.run([sys.executable, '-m', 'helpers.train', '--settings_path', str(fn), '--results_path', str(d), '--resume'],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0 and (d/'results.yaml').is_file(), resumed.stderr


def test_sigterm_handler_is_the_callers_again_afterwards(tmp_path):
    "train_command called from Python (a notebook) puts back the SIGTERM handler it found."
    before = signal.getsignal(signal.SIGTERM)
    assert cmd.train_command(['--settings_path', str(QUICK), '--results_path', str(tmp_path/'r')]) == 0
    assert signal.getsignal(signal.SIGTERM) is before



def test_resume_of_a_run_recorded_before_a_key_existed(tmp_path, capsys):
    "run.yaml of an older course lacks a key added since (e.g. evaluate_test): its default is what that run used."
    fn = tmp_path/'s.yaml'
    fn.write_text(QUICK.read_text())
    d = tmp_path/'r'
    assert cmd.train_command(['--settings_path', str(fn), '--results_path', str(d)]) == 0
    for f in ('results.yaml', 'training_loss.png', 'accuracy.png'): (d/f).unlink()  # as if stopped after its last epoch
    record = yaml.safe_load((d/'run.yaml').read_text())
    del record['settings']['evaluate_test']
    save_yaml(record, d/'run.yaml')
    assert cmd.train_command(['--settings_path', str(fn), '--results_path', str(d), '--resume']) == 0, capsys.readouterr().err


def test_a_tilde_in_a_path_is_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    assert cmd.parse_args(['--settings_path', '~/s.yaml', '--results_path', '~/r']).results_path == tmp_path/'r'
