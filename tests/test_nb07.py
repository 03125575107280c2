"""Lecture 07: the settings schema and its checks, logging, atomic YAML, and the training pieces the command uses. The
newest lecture is loaded, as the command loads it: its schema and registries hold every lecture's keys and names."""
import subprocess, sys
import matplotlib
import pytest, torch, yaml
from exp import nb_07, nb_00, nb_10  # noqa: F401 (nb_10: every later lecture's keys and names, as in the command)
from exp.nb_07 import (TRAIN_SETTINGS, MODELS, OPTIMIZERS, REQUIRED, Key, SettingsError, check_settings, load_settings,
                       settings_help, save_yaml, setup_logging, resolve_device, versions, load_data, make_learner,
                       plot_results, train_from_settings, default_device, DATASETS, PLOT_FILES)
from tools.notebooks import REPO

SETTINGS = REPO/'settings'
MINIMAL = {'num_epochs': 2, 'batch_size': 32, 'learning_rate': 0.5}


def write(tmp_path, text, name='s.yaml'):
    fn = tmp_path/name
    fn.write_text(text)
    return fn


def test_shipped_settings_are_valid():
    files = sorted(SETTINGS.glob('*.yaml'))
    assert {'mnist_mlp.yaml', 'fashion_mlp.yaml', 'quick.yaml'} <= {f.name for f in files}
    for f in files:
        s = load_settings(f)
        assert set(s) == set(TRAIN_SETTINGS) and s['dataset'] in DATASETS
    assert load_settings(SETTINGS/'mnist_mlp.yaml')['dataset'] == 'embedded'
    assert load_settings(SETTINGS/'fashion_mlp.yaml')['dataset'] == 'fashion'


def test_defaults_filled_and_types():
    s = check_settings(dict(MINIMAL, learning_rate=1))
    assert s == {**{k: v.default for k, v in TRAIN_SETTINGS.items()}, **MINIMAL, 'learning_rate': 1.0}
    assert isinstance(s['learning_rate'], float)
    required = [k for k, v in TRAIN_SETTINGS.items() if v.default is REQUIRED]
    assert required == ['num_epochs', 'batch_size', 'learning_rate']
    for k, key in TRAIN_SETTINGS.items():  # every default obeys its own rule
        if key.default is not REQUIRED: assert check_settings({**MINIMAL, k: key.default})[k] == key.default


@pytest.mark.parametrize('text,fragments', [
    ("num_epochs: 2\nbatch_size: 32\nlearning_rat: 0.1\n", ["unknown key 'learning_rat'", "did you mean 'learning_rate'", 'Allowed keys: dataset, num_epochs']),
    ("num_epochs: 2\nbatch_size: 32\n", ["missing key 'learning_rate'", 'a number > 0', 'Required keys: num_epochs, batch_size, learning_rate']),
    ("num_epochs: two\nbatch_size: 32\nlearning_rate: 0.1\n", ["key 'num_epochs' must be an integer, got 'two'", 'Allowed: an integer >= 1']),
    ("num_epochs: 2.5\nbatch_size: 32\nlearning_rate: 0.1\n", ["key 'num_epochs' must be an integer, got 2.5"]),
    ("num_epochs: true\nbatch_size: 32\nlearning_rate: 0.1\n", ["key 'num_epochs' must be an integer, got True"]),
    ("num_epochs: 2\nbatch_size: 32\nlearning_rate: 1e-3\n", ["key 'learning_rate' must be a number, got '1e-3'", 'reads 1e-3 as text', 'write 0.001)']),
    ("num_epochs: 2\nbatch_size: 32\nlearning_rate: 1.0e3\n", ["got '1.0e3'", 'an exponent its sign', 'write 1000.0)']),
    ("num_epochs: 2\nbatch_size: 32\nlearning_rate: nan\n", ["got 'nan' (as a number it is nan: not a finite number). Allowed: a number > 0"]),
    ("num_epochs: 2\nbatch_size: 32\nlearning_rate: 1e400\n", ["got '1e400' (as a number it is inf: not a finite number)"]),  # no '.inf' advice
    ("num_epochs: 2\nbatch_size: -32\nlearning_rate: 0.1\n", ["key 'batch_size' cannot be -32", 'Allowed: an integer >= 1']),
    ("num_epochs: 0\nbatch_size: 32\nlearning_rate: 0.1\n", ["key 'num_epochs' cannot be 0"]),
    ("num_epochs: 2\nbatch_size: 32\nlearning_rate: 0\n", ["key 'learning_rate' cannot be 0.0", 'Allowed: a number > 0']),
    ("num_epochs: 2\nbatch_size: 32\nlearning_rate: .inf\n", ["key 'learning_rate' cannot be inf", 'Allowed: a number > 0']),
    ("num_epochs: 2\nbatch_size: 32\nlearning_rate: 0.1\nmomentum: .nan\n", ["key 'momentum' cannot be nan", 'in [0, 1)']),
    ("num_epochs: 2\nbatch_size: 32\nlearning_rate: 0.1\ndataset: cifar\n", ["key 'dataset' cannot be 'cifar'", 'Allowed: one of embedded, mnist, fashion']),
    ("num_epochs: 2\nbatch_size: 32\nlearning_rate: 0.1\noptimizer: adagrad\n", ["key 'optimizer' cannot be 'adagrad'", 'Allowed: one of sgd, rmsprop, adam, adamw']),
    ("num_epochs: 2\nbatch_size: 32\nlearning_rate: 0.1\noptimizer: adam\nmomentum: 0.9\n", ["key 'momentum' is used by optimizer sgd only, not 'adam'"]),
    ("num_epochs: 2\nbatch_size: 32\nlearning_rate: 0.1\ndevice: tpu\n", ["key 'device' cannot be 'tpu'", 'one of auto, cpu, cuda, mps']),
    ("- num_epochs: 2\n", ['expected `key: value` lines at the top level, found list']),
    ("", ["missing key 'num_epochs'"]),
    ("num_epochs: [2\n", ['is not valid YAML']),
])
def test_bad_settings_name_file_key_and_allowed(tmp_path, text, fragments):
    fn = write(tmp_path, text)
    with pytest.raises(SettingsError) as e: load_settings(fn)
    msg = str(e.value)
    assert msg.startswith(str(fn)), msg
    for f in fragments: assert f in msg, msg


def test_unsafe_yaml_tags_are_refused(tmp_path):
    fn = write(tmp_path, "num_epochs: !!python/object/apply:os.system ['echo hi']\nbatch_size: 1\nlearning_rate: 0.1\n")
    with pytest.raises(SettingsError, match='not valid YAML'): load_settings(fn)


def test_missing_file(tmp_path):
    with pytest.raises(SettingsError, match=r'nope.yaml: cannot read the settings file'): load_settings(tmp_path/'nope.yaml')


def test_custom_schema_and_help():
    schema = {'n': Key(int, REQUIRED, 'a count', rule='>= 2', check=lambda v: v >= 2), 'name': Key(str, 'x', 'a name')}
    assert check_settings({'n': 3}, schema=schema) == {'n': 3, 'name': 'x'}
    with pytest.raises(SettingsError, match="src: key 'n' cannot be 1. Allowed: an integer >= 2."): check_settings({'n': 1}, 'src', schema)
    assert settings_help(schema).splitlines() == ["  n     a count", "        an integer >= 2; required", "  name  a name", "        text; default x"]
    h = settings_help()
    for k in TRAIN_SETTINGS: assert f'  {k} ' in h


def test_save_yaml_atomic(tmp_path):
    fn = tmp_path/'r.yaml'
    save_yaml({'a': [1.5, 2], 'b': {'c': 'd'}}, fn)
    assert yaml.safe_load(fn.read_text()) == {'a': [1.5, 2], 'b': {'c': 'd'}}
    assert list(tmp_path.iterdir()) == [fn]  # no temporary file left behind
    with pytest.raises(yaml.representer.RepresenterError): save_yaml({'a': object()}, fn)
    assert yaml.safe_load(fn.read_text()) == {'a': [1.5, 2], 'b': {'c': 'd'}} and list(tmp_path.iterdir()) == [fn]
    x = 0.1 + 0.2  # floats survive the round trip exactly
    save_yaml([x], fn); assert yaml.safe_load(fn.read_text()) == [x]


def test_setup_logging(tmp_path, capsys):
    fn = tmp_path/'t.log'
    log = setup_logging(fn, name='dlf.test')
    log.info('first')
    assert (fn.read_text().splitlines()[0]).endswith(' | first')  # written at once, before any handler is closed
    log = setup_logging(fn, append=True, name='dlf.test')  # again: handlers replaced, not added
    assert len(log.handlers) == 2
    log.info('second')
    assert capsys.readouterr().out == 'first\nsecond\n'
    assert [l.split(' | ', 1)[1] for l in fn.read_text().splitlines()] == ['first', 'second']
    setup_logging(fn, name='dlf.test').info('third')  # append=False starts a new file
    assert [l.split(' | ', 1)[1] for l in fn.read_text().splitlines()] == ['third']
    assert len(setup_logging(name='dlf.test').handlers) == 1
    for h in log.handlers: h.close()


def test_resolve_device(monkeypatch):
    assert resolve_device('auto') == default_device() and resolve_device('cpu') == torch.device('cpu')
    with pytest.raises(SettingsError, match="f.yaml: key 'device' cannot be 'tpu'"): resolve_device('tpu', 'f.yaml')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)  # a CPU-only machine, wherever the test runs
    monkeypatch.setattr(torch.backends.mps, 'is_available', lambda: False)
    with pytest.raises(SettingsError, match="key 'device' is 'cuda', which this machine does not have. Allowed here: auto, cpu\\.$"):
        resolve_device('cuda')
    monkeypatch.setattr(torch.backends.mps, 'is_available', lambda: True)
    assert resolve_device('mps') == torch.device('mps')
    with pytest.raises(SettingsError, match=r"Allowed here: auto, cpu, mps\.$"): resolve_device('cuda')


def test_lecture_07_alone_knows_only_its_own_keys_and_names():
    "Lecture 07's outputs show what it teaches: its keys, the MLP and plain SGD; later lectures add theirs on import."
    probe = ("from exp import nb_07\nprint(list(nb_07.TRAIN_SETTINGS), list(nb_07.MODELS), list(nb_07.OPTIMIZERS), "
             "nb_07.OPTIMIZERS['sgd']({}) is __import__('torch').optim.SGD, list(nb_07.SETTINGS_CALLBACKS))")
    out = subprocess.run([sys.executable, '-c', probe], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == ("['dataset', 'num_epochs', 'batch_size', 'learning_rate', 'optimizer', 'model', 'num_hidden', 'seed', "
                           "'logging_interval', 'averaging_iterations', 'device', 'evaluate_test'] ['mlp'] ['sgd'] True []")


def test_optimizers_of_the_settings_are_lecture_08s():
    from exp.nb_08 import GeneralOptimizer, adam_step, decoupled_wd, l2_reg, momentum_step
    p = [torch.nn.Parameter(torch.zeros(2))]
    opt = OPTIMIZERS['sgd'](check_settings(dict(MINIMAL, momentum=0.9, weight_decay=0.01)))(p, lr=0.5)
    g = opt.param_groups[0]
    assert isinstance(opt, GeneralOptimizer) and (g['lr'], g['momentum'], g['weight_decay']) == (0.5, 0.9, 0.01)
    assert l2_reg in opt.steps and momentum_step in opt.steps
    opt = OPTIMIZERS['adamw'](check_settings(dict(MINIMAL, optimizer='adamw', weight_decay=0.05)))(p, lr=1e-3)
    assert opt.param_groups[0]['weight_decay'] == 0.05 and opt.steps[:2] == [decoupled_wd, adam_step]
    with pytest.raises(SettingsError, match="key 'momentum' is used by optimizer sgd only, not 'rmsprop'"):
        check_settings(dict(MINIMAL, optimizer='rmsprop', momentum=0.5))
    v = versions()
    assert v['torch'] == torch.__version__ and set(v) == {'python', 'torch', 'torchvision', 'numpy', 'pyyaml', 'course'}


def test_load_data_and_make_learner_are_reproducible():
    s = load_settings(SETTINGS/'quick.yaml')
    lines = []
    data = load_data(s, lines.append)
    assert any(l.startswith('data: ') for l in lines) and any(l.startswith('split: ') for l in lines)
    xt, _, xv, _ = nb_07.get_data(s['dataset'], log=lambda m: None)
    x_test, _ = nb_07.get_test_data(s['dataset'], log=lambda m: None)
    assert data.sizes == {'train': len(xt), 'valid': len(xv), 'test': len(x_test)}  # lecture 01's splits, the test one too
    a, b = (make_learner(s, data, torch.device('cpu'), log=lambda m: None) for _ in range(2))
    assert a.model.hidden.out_features == s['num_hidden'] and a.opt is None and a.lr == s['learning_rate']
    nb_00.test_eq(a.model.hidden.weight, b.model.hidden.weight)  # same seed, same weights
    xb, yb = next(iter(data.train_dl))
    assert xb.shape == (s['batch_size'], 784) and yb.dtype == torch.int64
    assert sum(len(yb) for _, yb in data.test_dl) == data.sizes['test']
    s2 = check_settings(dict(MINIMAL, model='cnn', channels=[4, 8]))
    assert isinstance(make_learner(s2, data, 'cpu', log=lambda m: None).model, type(MODELS['cnn'](s2)))


def test_plot_results():
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    r = {'minibatch_loss': [2.3, 2.0, 1.5, 1.2, 1.0, 0.9],
         'history': [{'epoch': 1, 'train_acc': 50.0, 'valid_acc': 45.0}, {'epoch': 2, 'train_acc': 70.0, 'valid_acc': 66.0}]}
    figs = plot_results(r, averaging_iterations=100)  # longer than the losses: clipped, not an error
    assert len(figs) == 2 and all(isinstance(f, plt.Figure) for f in figs)
    plt.close('all')


def test_train_from_settings(tmp_path):
    s = load_settings(SETTINGS/'quick.yaml')
    lines = []
    (tmp_path/'out').mkdir()
    r = train_from_settings(s, load_data(s, lambda m: None), tmp_path/'out', log=lines.append)
    assert yaml.safe_load((tmp_path/'out'/'results.yaml').read_text()) == r
    for f in ('checkpoint.pt', *PLOT_FILES): assert (tmp_path/'out'/f).is_file()
    n = r['run']['num_epochs']
    h = r['history']
    assert n == nb_00.budget(s['num_epochs']) and [row['epoch'] for row in h] == list(range(1, n + 1))
    assert list(h[0]) == ['epoch', 'lr', 'train_loss', 'train_acc', 'valid_loss', 'valid_acc', 'time']  # lecture 06's record
    assert all(0 <= a <= 100 for a in [row[k] for row in h for k in ('train_acc', 'valid_acc')] + [r['test_acc']])
    assert r['test_acc'] > 20, "two quick epochs should beat chance (10 %) clearly"
    assert r['settings'] == s and r['run']['resumed'] is False and r['run']['processes'] == 1 and r['timings']['training_s'] > 0
    assert len(r['minibatch_loss']) == len(r['minibatch_lr']) == n * -(-r['run']['sizes']['train'] // s['batch_size'])
    assert lines[0] == 'settings: ' + ', '.join(f'{k}={v}' for k, v in s.items())
    assert f"test accuracy {r['test_acc']:.2f}%" in lines and lines[-1].startswith('wrote results.yaml')



def test_settings_written_with_every_default_load_back(tmp_path):
    "run.yaml and lecture 10 write settings with every default filled in: a key another choice uses keeps its default, and loads."
    s = load_settings(SETTINGS/'quick.yaml')
    save_yaml(s, tmp_path/'full.yaml')
    assert load_settings(tmp_path/'full.yaml') == s and s['model'] == 'mlp' and 'channels' in s


def test_a_trial_run_never_loads_the_test_split(tmp_path, monkeypatch):
    "`evaluate_test: false`: get_test_data is not called, the results hold no test accuracy, and the training is the same."
    s = load_settings(SETTINGS/'quick.yaml')
    (tmp_path/'full').mkdir(); (tmp_path/'trial').mkdir()
    full = train_from_settings(s, load_data(s, lambda m: None), tmp_path/'full', log=lambda m: None)
    def no_test(*a, **k): raise AssertionError("a trial run read the test split")
    monkeypatch.setattr(nb_07, 'get_test_data', no_test)
    trial_s, lines = dict(s, evaluate_test=False), []
    data = load_data(trial_s, lines.append)
    assert data.test_dl is None and 'test' not in data.sizes and any('test not loaded (evaluate_test: false)' in l for l in lines)
    trial = train_from_settings(trial_s, data, tmp_path/'trial', log=lines.append)
    assert 'test_acc' not in trial and 'test_acc' not in yaml.safe_load((tmp_path/'trial'/'results.yaml').read_text())
    assert not any(l.startswith('test accuracy') for l in lines)
    assert trial['minibatch_loss'] == full['minibatch_loss'] and trial['history'][-1]['valid_acc'] == full['history'][-1]['valid_acc']
    with pytest.raises(ValueError, match='holds no test split'):  # test wanted, but the data was loaded without it
        train_from_settings(s, data, tmp_path/'trial', log=lambda m: None, write=False)


@pytest.mark.parametrize('value, ok', [('false', False), ('true', True), ('no', False), ('1', None), ("'false'", None)])
def test_evaluate_test_is_true_or_false(tmp_path, value, ok):
    fn = write(tmp_path, f"num_epochs: 2\nbatch_size: 32\nlearning_rate: 0.1\nevaluate_test: {value}\n")
    if ok is None:
        with pytest.raises(SettingsError, match="key 'evaluate_test' must be true or false"): load_settings(fn)
    else: assert load_settings(fn)['evaluate_test'] is ok

@pytest.mark.parametrize('schedule', ['one_cycle', 'cosine'])
def test_the_settings_schedule_is_torchs_step_for_step(schedule, tmp_path):
    "schedule: cosine is CosineAnnealingLR to 0, one_cycle is OneCycleLR without momentum cycling, stepped per batch."
    s = load_settings(SETTINGS/'quick.yaml') | {'schedule': schedule}
    (tmp_path/'out').mkdir()
    r = train_from_settings(s, load_data(s, lambda m: None), tmp_path/'out', log=lambda m: None)
    steps = len(r['minibatch_lr'])
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=s['learning_rate'])
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps) if schedule == 'cosine' else
             torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s['learning_rate'], total_steps=steps, cycle_momentum=False))
    theirs = []
    for _ in range(steps): theirs.append(opt.param_groups[0]['lr']); opt.step(); sched.step()
    assert r['minibatch_lr'] == pytest.approx(theirs, rel=1e-12, abs=1e-15)
    assert [row['lr'] for row in r['history']] == [r['minibatch_lr'][i * steps // len(r['history'])] for i in range(len(r['history']))]


def test_smallest_batch_counts_every_process_and_the_last_batch():
    smallest_batch = nb_07.smallest_batch
    assert smallest_batch(12, 3) == 3 and smallest_batch(7, 3) == 1 and smallest_batch(8, 3) == 2
    assert smallest_batch(12, 3, world=2) == 3     # 12 = 2 × 6: full batches only
    assert smallest_batch(10, 2, world=2) == 1     # a last global batch of 2: one image for each process
    assert smallest_batch(11, 2, world=2) == 1     # a last global batch of 3: 2 and 1
    assert smallest_batch(1000, 1) == 1


def test_a_log_file_on_a_full_disk_warns_once(capsys):
    "/dev/full refuses every write (ENOSPC): one warning on the terminal, no traceback, every message still printed."
    log = nb_07.setup_logging('/dev/full', name='dlf.test.full')
    try:
        log.info('first'); log.info('second')
    finally:
        for h in log.handlers[:]: log.removeHandler(h); h.close()
    out = capsys.readouterr()
    assert out.out.splitlines() == ['first', 'second'] and 'Traceback' not in out.err
    assert out.err.count('warning: cannot write the log file /dev/full') == 1 and 'No space left on device' in out.err
