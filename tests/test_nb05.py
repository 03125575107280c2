"Lecture 05: seeds and determinism, the PNG+CSV data set and its errors, the loaders, train_model with checkpoints, plots."
import os, random, shutil
import matplotlib
import numpy as np, pandas as pd, pytest, torch
import torch.nn.functional as F
from PIL import Image
from sklearn.metrics import accuracy_score
from torchvision import transforms
from exp.nb_01 import data_dir, course_settings
from exp.nb_03 import Dataset, get_dls
from exp.nb_04 import MLP, compute_accuracy
from exp.nb_05 import (set_all_seeds, set_deterministic, save_atomic, save_checkpoint, load_checkpoint, CSVImageDataset,
                       get_dataloaders, train_model, plot_training_loss, plot_accuracy, show_examples)

matplotlib.use('Agg')
import matplotlib.pyplot as plt

PNG = data_dir()/course_settings()['data']['digits_png']
quiet = lambda s: None


@pytest.fixture(autouse=True)
def restore_torch_state():
    "Tests change torch's global flags and RNG: put them back afterwards so other test modules see a clean state."
    flags = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    rng = torch.get_rng_state()
    yield
    torch.use_deterministic_algorithms(flags[0], warn_only=flags[1])
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = flags[2:]
    torch.set_rng_state(rng)
    plt.close('all')


@pytest.fixture(scope='module')
def loaders():
    "Cached PNG loaders (batch 64) shared by the training tests; caching changes no result, only the speed."
    return get_dataloaders(64, cache=True)


# --- seeds and determinism -------------------------------------------------------------------------------------------

def test_set_all_seeds():
    draw = lambda: (random.random(), np.random.rand(), torch.rand(1).item())
    set_all_seeds(3); a = draw()
    set_all_seeds(3); b = draw()
    set_all_seeds(4); c = draw()
    assert a == b and all(x != y for x, y in zip(a, c))


@pytest.mark.parametrize('warn_only', [False, True])
def test_set_deterministic_flags(warn_only, monkeypatch):
    monkeypatch.delenv('CUBLAS_WORKSPACE_CONFIG', raising=False)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    torch.backends.cudnn.benchmark = True
    set_deterministic(warn_only=warn_only)
    assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled() == warn_only
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert 'CUBLAS_WORKSPACE_CONFIG' not in os.environ, "without CUDA there is nothing to configure"


def test_set_deterministic_configures_cublas_when_cuda_is_present(monkeypatch):
    monkeypatch.delenv('CUBLAS_WORKSPACE_CONFIG', raising=False)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    set_deterministic()
    assert os.environ['CUBLAS_WORKSPACE_CONFIG'] == ':4096:8'
    monkeypatch.setenv('CUBLAS_WORKSPACE_CONFIG', ':16:8')
    set_deterministic()
    assert os.environ['CUBLAS_WORKSPACE_CONFIG'] == ':16:8', "a setting the user made is kept"


def short_run(seed, loaders):
    set_all_seeds(seed)
    model = MLP()
    return train_model(model, 2, *loaders, torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9), log=quiet)


def test_training_twice_is_bit_identical_on_cpu(loaders):
    set_deterministic()
    a, b = short_run(0, loaders), short_run(0, loaders)
    assert len(a['minibatch_loss']) == 2 * len(loaders[0])
    assert a['minibatch_loss'] == b['minibatch_loss'] and a == b  # exact float equality, not closeness
    assert short_run(1, loaders)['minibatch_loss'] != a['minibatch_loss'], "another seed must give another run"


# --- CSVImageDataset ---------------------------------------------------------------------------------------------------

def test_dataset_reads_the_png_digits():
    ds = CSVImageDataset(PNG/'train.csv', PNG/'train')
    df = pd.read_csv(PNG/'train.csv')
    assert len(ds) == len(df) == 256
    for i in (0, 17, 255):
        x, y = ds[i]
        assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64 and y.item() == df.label[i]
        assert torch.equal(x, transforms.ToTensor()(Image.open(PNG/'train'/df.file_name[i])))
    assert torch.equal(ds.labels, torch.tensor(df.label.to_numpy()))


@pytest.mark.parametrize('mode', ['RGB', 'P', 'RGBA'])
def test_colour_images_become_three_channels(tmp_path, mode):
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8), 'RGB')
    im = rgb if mode == 'RGB' else rgb.convert(mode)
    im.save(tmp_path/'a.png')
    (tmp_path/'t.csv').write_text('file_name,label\na.png,7\n')
    x, y = CSVImageDataset(tmp_path/'t.csv', tmp_path)[0]
    assert x.shape == (3, 5, 7) and y.item() == 7
    assert torch.equal(x, transforms.ToTensor()(Image.open(tmp_path/'a.png').convert('RGB')))


@pytest.mark.parametrize('fmt,array', [('png', lambda a: a.astype(np.uint16) * 257),           # PIL mode I;16
                                        ('tiff', lambda a: (a.astype(np.uint16) * 257).astype('>u2')),  # I;16B
                                        ('tiff', lambda a: a.astype(np.int32) * 257)])          # I
def test_16_bit_grey_gives_the_8_bit_tensor(tmp_path, fmt, array):
    "A digit re-saved with 16 bits (each byte × 257) reads as the same float tensor as the 8-bit original."
    pixels = np.asarray(Image.open(PNG/'train'/'train_000.png'))
    Image.fromarray(array(pixels)).save(tmp_path/f'a.{fmt}')
    shutil.copy(PNG/'train'/'train_000.png', tmp_path/'b.png')
    (tmp_path/'t.csv').write_text(f'file_name,label\na.{fmt},5\nb.png,5\n')
    ds = CSVImageDataset(tmp_path/'t.csv', tmp_path)
    deep, byte = ds[0][0], ds[1][0]
    assert Image.open(tmp_path/f'a.{fmt}').mode in ('I;16', 'I;16B', 'I') and deep.dtype == torch.float32
    assert deep.shape == (1, 28, 28) and (deep - byte).abs().max() <= 1 / 65535 and torch.equal(deep, byte)
    xb, _ = next(iter(torch.utils.data.DataLoader(ds, batch_size=2)))
    assert xb.shape == (2, 1, 28, 28)


@pytest.mark.parametrize('mode,channels', [('1', 1), ('L', 1), ('LA', 1), ('F', 1), ('P', 3), ('RGB', 3), ('RGBA', 3), ('CMYK', 3)])
def test_every_mode_is_converted_to_its_channels_in_0_1(tmp_path, mode, channels):
    grey = Image.open(PNG/'train'/'train_000.png')
    im = Image.fromarray(np.asarray(grey).astype(np.float32) / 255) if mode == 'F' else grey.convert(mode)
    im.save(tmp_path/'a.tif')
    (tmp_path/'t.csv').write_text('file_name,label\na.tif,5\n')
    x = CSVImageDataset(tmp_path/'t.csv', tmp_path)[0][0]
    ref = transforms.ToTensor()(grey if channels == 1 else grey.convert('RGB'))
    assert x.shape == (channels, 28, 28) and 0 <= x.min() and x.max() <= 1
    if mode == '1': ref = torch.from_numpy(np.array(Image.open(tmp_path/'a.tif'))).float()[None]  # (dithered) black and white
    assert torch.allclose(x, ref, atol=1e-6), "the grey levels (or colours) are kept"


def test_numeric_file_names_are_read_as_text(tmp_path):
    shutil.copy(PNG/'train'/'train_000.png', tmp_path/'007')
    (tmp_path/'t.csv').write_text('file_name,label\n007,7\n')
    assert CSVImageDataset(tmp_path/'t.csv', tmp_path).files == [tmp_path/'007']


def test_transform_and_other_columns(tmp_path):
    shutil.copy(PNG/'train'/'train_000.png', tmp_path/'a.png')
    (tmp_path/'t.csv').write_text('path,digit,extra\na.png,2,x\n')
    calls = []
    def tfm(x): calls.append(1); return x * 2
    ds = CSVImageDataset(tmp_path/'t.csv', tmp_path, transform=tfm, file_col='path', label_col='digit')
    x, y = ds[0]
    assert torch.equal(x, 2 * ds.image(0)) and y.item() == 2 and len(calls) == 1


def test_cache_keeps_decoded_images_and_still_transforms(tmp_path):
    for n in ('a.png', 'b.png'): shutil.copy(PNG/'train'/'train_000.png', tmp_path/n)
    (tmp_path/'t.csv').write_text('file_name,label\na.png,0\nb.png,1\n')
    plain = CSVImageDataset(tmp_path/'t.csv', tmp_path, transform=lambda x: x + torch.rand(()))
    cached = CSVImageDataset(tmp_path/'t.csv', tmp_path, transform=lambda x: x + torch.rand(()), cache=True)
    first = cached[0][0]
    (tmp_path/'a.png').unlink()  # from now on only the cache can give image 0
    second = cached[0][0]
    assert not torch.equal(first, second), "the (random) transform must run on every access, cache or not"
    assert torch.allclose(second - second.min(), cached.image(0) - cached.image(0).min())
    with pytest.raises(FileNotFoundError, match=r"t\.csv row 0: image .*a\.png not found"): plain[0]
    assert list(cached.cache) == [0]


def write_case(tmp_path, csv_text, files=()):
    (tmp_path/'t.csv').write_text(csv_text)
    for f in files: shutil.copy(PNG/'train'/'train_000.png', tmp_path/f)
    return tmp_path/'t.csv'


def test_missing_or_empty_csv(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'nope\.csv not found\.$'):  # the user's own file: no advice about the course's
        CSVImageDataset(tmp_path/'nope.csv', tmp_path)
    with pytest.raises(FileNotFoundError, match=r'nope\.csv not found\. The course.s data is made by `python -m helpers\.make_data`'):
        CSVImageDataset(data_dir()/'nope'/'nope.csv', tmp_path)
    with pytest.raises(ValueError, match=r't\.csv is empty: expected a header line file_name,label'):
        CSVImageDataset(write_case(tmp_path, ''), tmp_path)
    with pytest.raises(ValueError, match=r't\.csv has a header but no rows'):
        CSVImageDataset(write_case(tmp_path, 'file_name,label\n'), tmp_path)


def test_a_new_transform_may_change_the_shape(tmp_path):
    "The shape a batch must have is the one the current transform makes: a Resize after the first batch is no error."
    ds = CSVImageDataset(write_case(tmp_path, 'file_name,label\na.png,1\nb.png,2\n', ['a.png', 'b.png']), tmp_path)
    assert next(iter(torch.utils.data.DataLoader(ds, 2)))[0].shape == (2, 1, 28, 28)
    ds.transform = transforms.Resize((32, 32))
    assert next(iter(torch.utils.data.DataLoader(ds, 2)))[0].shape == (2, 1, 32, 32)


def test_missing_column_names_found_and_expected(tmp_path):
    csv = write_case(tmp_path, 'file,label\na.png,1\n', ['a.png'])
    with pytest.raises(ValueError) as e: CSVImageDataset(csv, tmp_path)
    msg = str(e.value)
    assert str(csv) in msg and "['file', 'label']" in msg and "expected ['file_name', 'label']" in msg and "missing ['file_name']" in msg


@pytest.mark.parametrize('bad', ['10', '-1', 'cat', '2.5', ''])
def test_label_outside_the_classes(tmp_path, bad):
    csv = write_case(tmp_path, f'file_name,label\na.png,1\nb.png,{bad}\n', ['a.png', 'b.png'])
    with pytest.raises(ValueError, match=r"t\.csv row 1 \(file_name='b\.png'\): label .* is not a class 0\.\.9"):
        CSVImageDataset(csv, tmp_path)


def test_missing_image_names_row_and_path(tmp_path):
    csv = write_case(tmp_path, 'file_name,label\na.png,1\nb.png,2\n', ['a.png'])
    with pytest.raises(FileNotFoundError) as e: CSVImageDataset(csv, tmp_path)
    assert 'row 1' in str(e.value) and str(tmp_path/'b.png') in str(e.value)


@pytest.mark.parametrize('content', [b'hello, not a picture', b''])
def test_file_that_is_not_an_image(tmp_path, content):
    csv = write_case(tmp_path, 'file_name,label\na.png,1\nb.png,2\n', ['a.png'])
    (tmp_path/'b.png').write_bytes(content)
    ds = CSVImageDataset(csv, tmp_path)
    ds[0]
    with pytest.raises(ValueError, match=rf"row 1: {tmp_path/'b.png'} is not an image PIL can read"): ds[1]
    dl = torch.utils.data.DataLoader(ds, batch_size=2)
    with pytest.raises(ValueError, match='not an image'): next(iter(dl))


# --- get_dataloaders ---------------------------------------------------------------------------------------------------

def test_get_dataloaders_defaults():
    train, valid, test = get_dataloaders(100)
    assert [len(dl.dataset) for dl in (train, valid, test)] == [256] * 3
    assert [len(dl) for dl in (train, valid, test)] == [3, 3, 3]
    assert isinstance(train.sampler, torch.utils.data.RandomSampler)
    assert all(isinstance(dl.sampler, torch.utils.data.SequentialSampler) for dl in (valid, test))
    assert all(dl.num_workers == 0 and dl.dataset.cache is None for dl in (train, valid, test))
    xb, yb = next(iter(valid))
    assert xb.shape == (100, 1, 28, 28) and torch.equal(yb, torch.tensor(pd.read_csv(PNG/'valid.csv').label[:100].to_numpy()))
    set_all_seeds(0); a = next(iter(train))[1]
    set_all_seeds(0); b = next(iter(train))[1]
    assert torch.equal(a, b) and not torch.equal(a, next(iter(train))[1])


def test_get_dataloaders_honours_every_argument(tmp_path):
    root = tmp_path/'png'
    shutil.copytree(PNG, root)
    df = pd.read_csv(root/'train.csv'); df[:10].to_csv(root/'train.csv', index=False)
    train, valid, test = get_dataloaders(4, num_workers=1, root=root, transform=lambda x: -x, train_transform=lambda x: x + 1,
                                         drop_last=True, cache=True, prefetch_factor=3, timeout=30)
    assert len(train.dataset) == 10 and len(train) == 2 and len(valid) == 64
    assert train.drop_last and not valid.drop_last and not test.drop_last
    assert all(dl.num_workers == 1 and dl.persistent_workers and dl.prefetch_factor == 3 and dl.timeout == 30 for dl in (train, valid, test))
    assert all(dl.dataset.cache == {} for dl in (train, valid, test))
    assert train.dataset[0][0].min() >= 1 and valid.dataset[0][0].max() <= 0
    batches = list(valid)  # through a worker process
    assert len(batches) == 64 and torch.equal(batches[0][0], torch.stack([valid.dataset[i][0] for i in range(4)]))
    assert get_dataloaders(4, num_workers=1, root=root, persistent_workers=False)[0].persistent_workers is False


# --- train_model ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('module', ['nb_05', 'nb_06'])
def test_train_model_without_a_test_loader_reads_no_test_split(module, loaders):
    "test_loader=None (while choosing): the history has no test accuracy; the same seed gives the same training."
    import importlib
    tm = importlib.import_module(f'exp.{module}').train_model
    runs = []
    for test_loader in (None, loaders[2]):
        set_all_seeds(0)
        model, lines = MLP(), []
        runs.append(tm(model, 1, loaders[0], loaders[1], test_loader, torch.optim.SGD(model.parameters(), lr=0.5), log=lines.append))
        assert any('test accuracy' in l for l in lines) == (test_loader is not None)
    assert set(runs[0]) == {'minibatch_loss', 'train_acc', 'valid_acc'} and 'test_acc' in runs[1]
    assert runs[0]['minibatch_loss'] == runs[1]['minibatch_loss']

def test_train_model_history_and_log(loaders):
    lines = []
    set_all_seeds(0)
    model = MLP()
    h = train_model(model, 2, *loaders, torch.optim.SGD(model.parameters(), lr=0.5), logging_interval=3, log=lines.append)
    n = len(loaders[0])
    assert set(h) == {'minibatch_loss', 'train_acc', 'valid_acc', 'test_acc'}
    assert len(h['minibatch_loss']) == 2 * n and all(isinstance(l, float) for l in h['minibatch_loss'])
    assert len(h['train_acc']) == len(h['valid_acc']) == 2
    assert h['valid_acc'][-1] == compute_accuracy(model, loaders[1]) and h['test_acc'] == compute_accuracy(model, loaders[2])
    batch_lines = [l for l in lines if '| batch' in l]
    assert len(batch_lines) == -(-2 * n // 3) and batch_lines[0].startswith('epoch 001/002 | batch 0000/0004 | loss')
    assert sum('| train' in l for l in lines) == 2 and lines[-1] == f"test accuracy {h['test_acc']:.2f}%"
    assert model.training, "train_model leaves the model in training mode"


def test_compute_accuracy_matches_sklearn_on_png_loaders(loaders):
    set_all_seeds(0)
    model = MLP()
    with torch.no_grad():
        pred = torch.cat([model(x).argmax(1) for x, _ in loaders[2]]); true = torch.cat([y for _, y in loaders[2]])
    assert compute_accuracy(model, loaders[2]) == pytest.approx(100 * accuracy_score(true, pred), abs=1e-9)


def test_train_model_on_in_memory_loaders_and_device_argument(loaders):
    "Lecture 03's get_dls loaders over tensors of rows (the PNG digits, flattened) train just as well."
    rows = lambda ds: (torch.stack([ds.image(i) for i in range(len(ds))]).view(len(ds), -1), ds.labels)
    train_dl, valid_dl = get_dls(Dataset(*rows(loaders[0].dataset)), Dataset(*rows(loaders[1].dataset)), 32)
    set_all_seeds(0)
    model = MLP()
    h = train_model(model, 5, train_dl, valid_dl, valid_dl, torch.optim.SGD(model.parameters(), lr=0.5), device='cpu', log=quiet)
    assert len(h['minibatch_loss']) == 5 * 8 and h['valid_acc'][-1] > 50, h['valid_acc']


def run(loaders, epochs, **kw):
    set_all_seeds(5)
    model = MLP()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)  # Adam has state of its own that the checkpoint must carry
    return train_model(model, epochs, *loaders, opt, log=quiet, **kw), model, opt


def test_save_atomic_replaces_in_one_step_and_leaves_nothing_on_failure(tmp_path):
    fn = tmp_path/'sub'/'f.txt'
    assert save_atomic(fn, lambda tmp: tmp.write_text('one')) == fn and fn.read_text() == 'one'
    def half_then_crash(tmp):
        tmp.write_text('half'); raise RuntimeError('crash while saving')
    with pytest.raises(RuntimeError, match='crash while saving'): save_atomic(fn, half_then_crash)
    assert fn.read_text() == 'one' and [p.name for p in fn.parent.iterdir()] == ['f.txt']


def test_save_and_load_checkpoint_restore_model_optimizer_rng_and_extras(tmp_path):
    torch.manual_seed(0)
    model = MLP(n_hidden=8); opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    F.cross_entropy(model(torch.rand(4, 784)), torch.tensor([0, 1, 2, 3])).backward(); opt.step()
    callbacks = {'early_stopping': {'best': float('inf'), 'wait': 2, 'monitor': 'valid_loss'}, 'order': ('a', 'b'), 'none': None}
    fn = save_checkpoint(tmp_path/'sub'/'ck.pt', model, opt, 3, {'loss': [1.0]}, scheduler={'last_epoch': 3}, callbacks=callbacks)
    after_save = torch.rand(3)
    other = MLP(n_hidden=8); other_opt = torch.optim.Adam(other.parameters(), lr=1e-3)
    state = load_checkpoint(fn, other, other_opt)
    assert state['epoch'] == 3 and state['history'] == {'loss': [1.0]} and state['scheduler'] == {'last_epoch': 3}
    assert state['callbacks'] == callbacks and state['optimizer_class'] == 'Adam' and len(state['sha256']) == 64
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))
    assert other_opt.state_dict()['state'][0]['step'] == 1
    assert torch.equal(torch.rand(3), after_save)  # the random state is the one at saving time


def test_checkpoint_contents(tmp_path, loaders):
    h, model, opt = run(loaders, 1, checkpoint_file=tmp_path/'sub'/'ck.pt')
    state = torch.load(tmp_path/'sub'/'ck.pt', weights_only=True)
    assert set(state) >= {'model', 'optimizer', 'epoch', 'history', 'torch_rng_state'}
    assert state['epoch'] == 1 and state['history']['minibatch_loss'] == h['minibatch_loss']
    assert all(torch.equal(state['model'][k], v) for k, v in model.state_dict().items())
    assert state['optimizer']['state'][0]['step'] == len(h['minibatch_loss'])
    assert not list(tmp_path.glob('sub/*.tmp'))


def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    fresh = lambda: get_dataloaders(64, cache=True)  # a resumed run starts from scratch: new loaders, model, optimizer
    straight, m1, o1 = run(fresh(), 3)
    run(fresh(), 2, checkpoint_file=tmp_path/'ck.pt')
    resumed, m2, o2 = run(fresh(), 3, checkpoint_file=tmp_path/'ck.pt', resume=True)
    assert resumed == straight
    assert all(torch.equal(p, q) for p, q in zip(m1.parameters(), m2.parameters()))
    assert all(torch.equal(o1.state[p]['exp_avg_sq'], o2.state[q]['exp_avg_sq']) for p, q in zip(m1.parameters(), m2.parameters()))
    assert torch.load(tmp_path/'ck.pt', weights_only=True)['epoch'] == 3


def test_resume_errors(tmp_path, loaders):
    with pytest.raises(ValueError, match='needs the checkpoint_file'): run(loaders, 1, resume=True)
    with pytest.raises(FileNotFoundError, match=r'no checkpoint .*nothing\.pt; pass resume=False'):
        run(loaders, 1, checkpoint_file=tmp_path/'nothing.pt', resume=True)


# --- plots -----------------------------------------------------------------------------------------------------------

def test_plot_training_loss(tmp_path):
    losses = list(np.linspace(2, 0.1, 60))
    fig = plot_training_loss(losses, num_epochs=3, averaging_iterations=10, results_dir=tmp_path/'res')
    ax = fig.axes[0]
    assert ax.get_title() == 'Training loss' and ax.get_xlabel() == 'Iterations' and ax.get_ylabel() == 'Loss'
    assert len(ax.lines) == 2
    raw, avg = ax.lines
    assert np.allclose(raw.get_ydata(), losses) and len(avg.get_xdata()) == 51 and avg.get_xdata()[0] == 9
    assert np.isclose(avg.get_ydata()[0], np.mean(losses[:10]))
    top = ax.child_axes[0]
    assert top.get_xlabel() == 'Epochs'
    fig.canvas.draw()
    assert np.allclose(top.get_xlim(), np.array(ax.get_xlim()) / 20), "the epoch axis is iterations / iterations per epoch"
    assert (tmp_path/'res'/'training_loss.png').stat().st_size > 0
    short = plot_training_loss([1.0, 0.5], num_epochs=1).axes[0]
    assert 'Running average (2 iterations)' in [l.get_label() for l in short.lines]
    with pytest.raises(ValueError, match='needs losses'): plot_training_loss([], 1)


def test_plot_accuracy(tmp_path):
    fig = plot_accuracy([50, 70, 80], [45, 60, 65], results_dir=tmp_path)
    ax = fig.axes[0]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ('Accuracy', 'Epoch', 'Accuracy (%)')
    assert [l.get_label() for l in ax.lines] == ['Training', 'Validation']
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3] and list(ax.lines[1].get_ydata()) == [45, 60, 65]
    assert (tmp_path/'accuracy.png').is_file()
    with pytest.raises(ValueError, match='one training and one validation accuracy per epoch'): plot_accuracy([1, 2], [1])


def test_show_examples_grayscale(tmp_path, loaders):
    set_all_seeds(0)
    model = MLP()
    model.train()
    fig = show_examples(model, loaders[2], n=6, ncols=3, results_dir=tmp_path)
    xb, yb = next(iter(loaders[2]))
    with torch.no_grad(): pred = model(xb[:6]).argmax(1)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [f'P: {p}\nT: {t}' for p, t in zip(pred.tolist(), yb[:6].tolist())]
    assert [ax.title.get_color() == 'red' for ax in fig.axes] == (pred != yb[:6]).tolist()
    assert fig.axes[0].images[0].get_array().shape == (28, 28) and model.training
    assert (tmp_path/'examples.png').is_file()


class TinyRGB(torch.nn.Module):
    def __init__(self): super().__init__(); self.lin = torch.nn.Linear(3 * 4 * 4, 2)
    def forward(self, x): return self.lin(x.flatten(1))


def test_show_examples_rgb_class_names_and_rows():
    x, y = torch.rand(5, 3, 4, 4) * 1.5, torch.tensor([0, 1, 0, 1, 1])
    dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=5)
    model = TinyRGB().eval()
    fig = show_examples(model, dl, class_names=['cat', 'dog'], n=4, ncols=2)
    assert len(fig.axes) == 4 and all(ax.get_title().split('\n')[1] in ('T: cat', 'T: dog') for ax in fig.axes)
    im = fig.axes[0].images[0].get_array()
    assert im.shape == (4, 4, 3) and im.max() <= 1, "colour images are drawn channels-last within [0, 1]"
    assert not model.training
    rows = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.rand(3, 784), torch.tensor([1, 2, 3])), batch_size=3)
    assert len(show_examples(MLP(), rows, ncols=3).axes) == 3


# --- facts lecture 05 states about transforms.v2 and worker processes (issue 12) -----------------------------------------

def test_v2_to_image_and_to_dtype_scale_like_the_data_set():
    from torchvision.transforms import v2
    from PIL import Image
    import warnings
    root = data_dir()/course_settings()['data']['digits_png']
    ds = CSVImageDataset(root/'train.csv', root/'train')
    with Image.open(ds.files[0]) as im:
        scaled = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])(im)
        unscaled = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=False)])(im)
    assert scaled.shape == (1, 28, 28) and scaled.dtype == torch.float32
    assert torch.allclose(scaled, ds[0][0], atol=1e-6) and unscaled.max() > 1 and torch.allclose(unscaled / 255, scaled, atol=1e-6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        v2.ToTensor()
    assert any('deprecated' in str(w.message) for w in caught)  # what the lecture shows


def test_dataloader_default_batch_size_is_one():
    assert torch.utils.data.DataLoader(list(range(3))).batch_size == 1


@pytest.mark.parametrize('method, works', [('fork', True), ('spawn', False)])
def test_a_data_set_class_from_main_needs_fork_for_workers(method, works):
    "The lecture's claim: workers started by spawn (or forkserver) cannot import a class defined in __main__ (a notebook)."
    import subprocess, sys
    code = ("import torch, torch.utils.data as tud\n"
            "class Numbers(tud.Dataset):\n"
            "    def __len__(self): return 4\n"
            "    def __getitem__(self, i): return torch.tensor(i)\n"
            f"print([b.tolist() for b in tud.DataLoader(Numbers(), batch_size=2, num_workers=1, multiprocessing_context={method!r})])\n")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    if works: assert r.returncode == 0 and r.stdout.strip() == '[[0, 1], [2, 3]]', r.stderr[-2000:]
    else: assert r.returncode != 0 and "Can't get attribute 'Numbers' on <module '__main__'" in r.stderr
