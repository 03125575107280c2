"""Every fault a user can cause, in one table. Each case makes its fault in a temporary folder, does what the user did,
and checks the error (its type, or the command's exit status), that the message names the file, row or key, and that
no file was lost, changed or half-written.

To add a case: write a `setup(tmp, monkeypatch)` that makes the fault and returns a namespace `c`, and add a `Fault` row
to FAULTS with `run(c)` (raises, or returns a command's exit status), the expected error, `names(c)` (the pieces the
message must contain) and, if needed, `after(c)` for further checks (the model untouched, a rerun works, ...).
"""
import errno, gzip, os, shutil, sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import matplotlib.figure, nbformat, numpy as np, pytest, torch, yaml
from PIL import Image

from torchvision import transforms

from exp import nb_00, nb_01, nb_03, nb_07, nb_09
from exp.nb_04 import MLP
from exp.nb_05 import CSVImageDataset, CheckpointError, get_dataloaders, load_checkpoint, save_checkpoint, train_model
from exp.nb_06 import RegressionDataset
from exp.nb_07 import PLOT_FILES, load_settings, run_record, save_yaml
from helpers import train_command as cmd
from tools import export as export_tool
from tools.notebooks import REPO, execute

PNG = nb_01.data_dir()/nb_01.course_settings()['data']['digits_png']
QUICK = REPO/'settings'/'quick.yaml'


@dataclass
class Fault:
    "One fault a user can cause, and what must happen."
    id: str
    setup: Callable          # setup(tmp, monkeypatch) -> c: makes the fault
    run: Callable            # run(c): raises, or returns the command's exit status
    error: object            # the exception type, or the command's exit status (int)
    names: Callable          # names(c) -> what the message must contain: the file, row, key, value, what to do
    after: Callable = None   # after(c): further checks once the fault happened


# --- the PNG+CSV data set (lecture 05) ---------------------------------------------------------------------------------

def digit(mode='L', size=28) -> Image.Image:
    im = Image.open(PNG/'train'/'train_000.png')
    return (im if mode == 'L' else im.convert(mode)).resize((size, size))


def data_case(csv_text: str, images: dict = None) -> Callable:
    "A setup writing `csv_text` as t.csv and `images` ({file name: PIL image}) beside it."
    def setup(tmp, mp):
        for name, im in (images or {}).items(): im.save(tmp/name)
        (tmp/'t.csv').write_text(csv_text)
        return SimpleNamespace(csv=tmp/'t.csv', dir=tmp)
    return setup


build = lambda c: CSVImageDataset(c.csv, c.dir)
first_item = lambda c: build(c)[0]
def all_batches(batch_size: int, num_workers: int = 0) -> Callable:
    return lambda c: list(torch.utils.data.DataLoader(build(c), batch_size=batch_size, num_workers=num_workers))

two = 'file_name,label\na.png,1\nb.png,2\n'
lab = Image.fromarray(np.asarray(digit('RGB'))).convert('LAB')
f_255 = Image.fromarray(np.asarray(digit()).astype(np.float32))  # float pixels 0..255, not 0..1
i_big = Image.fromarray(np.asarray(digit()).astype(np.int32) * 300)  # 32-bit integers up to 76,500: not 16-bit grey

def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def latin_1(tmp, mp):
    "t.csv saved in Latin-1 (Excel's 'CSV' on Windows), with an umlaut in a file name."
    (tmp/'t.csv').write_bytes('file_name,label\nzähl.png,3\n'.encode('latin-1'))
    return SimpleNamespace(csv=tmp/'t.csv', dir=tmp)


def change_transform_under_workers(c):
    ds = build(c)
    dl = torch.utils.data.DataLoader(ds, 2, num_workers=1, persistent_workers=True)
    list(dl)
    ds.transform = transforms.RandomRotation(10)
    return list(dl)


def own_splits(*splits) -> Callable:
    "The user's own PNG+CSV folder holding the given splits, two images each."
    def setup(tmp, mp):
        for s in splits:
            (tmp/s).mkdir()
            for name in ('a.png', 'b.png'): digit().save(tmp/s/name)
            (tmp/f'{s}.csv').write_text(two)
        return SimpleNamespace(dir=tmp)
    return setup


DATA = [
    Fault('csv row with an extra field', data_case('file_name,label\na.png,1\n\nb.png,2,3\n', {'a.png': digit(), 'b.png': digit()}),
          build, ValueError, lambda c: [c.csv, 'row 1 has 3 fields, the header 2 (file_name,label)', 'double quotes']),
    Fault('csv empty file name', data_case('file_name,label\na.png,1\n,2\n', {'a.png': digit()}),
          build, ValueError, lambda c: [c.csv, 'row 1: the file_name cell is empty']),
    Fault('image mode LAB', data_case('file_name,label\na.tif,1\n', {'a.tif': lab}),
          first_item, ValueError, lambda c: [c.csv, 'row 0', c.dir/'a.tif', "image mode 'LAB' is not supported"]),
    Fault('float image outside 0..1', data_case('file_name,label\na.tif,1\n', {'a.tif': f_255}),
          first_item, ValueError, lambda c: [c.dir/'a.tif', "mode 'F' with values 0..255; expected 0..1"]),
    Fault('32-bit image outside 16 bits', data_case('file_name,label\na.tif,1\n', {'a.tif': i_big}),
          first_item, ValueError, lambda c: [c.dir/'a.tif', "mode 'I' with values 0..76500; expected 0..65535"]),
    Fault('mixed sizes in a batch', data_case(two, {'a.png': digit(), 'b.png': digit(size=32)}),
          all_batches(2), ValueError, lambda c: [c.csv, 'row 1', c.dir/'b.png', 'gives a 1×32×32 tensor', 'row 0 (a.png) gave 1×28×28']),
    Fault('mixed channels in a batch, with a worker', data_case(two, {'a.png': digit(), 'b.png': digit('RGB')}),
          all_batches(2, num_workers=1), ValueError, lambda c: [c.csv, 'row 1', c.dir/'b.png', '3×28×28', '1×28×28']),
    Fault('mixed sizes across batches', data_case(two, {'a.png': digit(), 'b.png': digit(size=20)}),
          all_batches(1), ValueError, lambda c: [c.dir/'b.png', 'gives a 1×20×20 tensor', 'row 0 (a.png) gave 1×28×28']),
    Fault("csv read by lecture 03's DataLoader", data_case(two, {'a.png': digit(), 'b.png': digit()}),
          lambda c: next(iter(nb_03.DataLoader(build(c), 2))), TypeError, lambda c: ['one row number', 'collate_fn=collate']),
    Fault('csv not UTF-8', latin_1, build, ValueError,
          lambda c: [c.csv, 'not UTF-8 text (byte 0xe4 on line 2)', "'CSV UTF-8'"]),
    Fault('transform ToTensor on a tensor', data_case(two, {'a.png': digit(), 'b.png': digit()}),
          lambda c: CSVImageDataset(c.csv, c.dir, transform=transforms.ToTensor())[0], TypeError,
          lambda c: [c.csv, 'row 0', 'ToTensor', 'float C×H×W tensor', 'drop ToTensor']),
    Fault('transform changed under persistent workers', data_case(two, {'a.png': digit(), 'b.png': digit()}),
          change_transform_under_workers, RuntimeError, lambda c: [c.csv, 'changed after', 'persistent_workers', 'make a new loader']),
    Fault('get_dataloaders on a folder without a test split', own_splits('train', 'valid'),
          lambda c: get_dataloaders(8, root=c.dir), FileNotFoundError,
          lambda c: [c.dir, 'test.csv missing', 'a CSVImageDataset for each split']),
    Fault('regression csv empty', lambda tmp, mp: SimpleNamespace(csv=write(tmp/'e.csv', '')),
          lambda c: RegressionDataset(c.csv), ValueError, lambda c: [c.csv, 'is empty', 'x,y', 'one row per point']),
    Fault('regression csv header only', lambda tmp, mp: SimpleNamespace(csv=write(tmp/'h.csv', 'x,y\n')),
          lambda c: RegressionDataset(c.csv), ValueError, lambda c: [c.csv, 'has a header but no rows: no points']),
]


# --- checkpoints (lecture 05) ------------------------------------------------------------------------------------------

def checkpoint_case(damage: Callable = None, target=lambda: MLP(n_hidden=8), optimizer=torch.optim.Adam, kind='train_model'):
    "A setup saving a checkpoint of a trained MLP (Adam) as ck.pt, then `damage(path, model)`; c.target is the model to load into."
    def setup(tmp, mp):
        torch.manual_seed(0)
        model = MLP(n_hidden=8); opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        torch.nn.functional.cross_entropy(model(torch.rand(4, 784)), torch.tensor([0, 1, 2, 3])).backward(); opt.step()
        path = save_checkpoint(tmp/'ck.pt', model, opt, 1, {'minibatch_loss': [1.0], 'train_acc': [], 'valid_acc': []}, kind=kind)
        if damage: damage(path, model)
        m = target()
        return SimpleNamespace(path=path, target=m, opt=optimizer(m.parameters(), lr=1e-3),
                               before=[p.detach().clone() for p in m.parameters()])
    return setup


def flip_a_weight_bit(path, model):
    raw = bytearray(path.read_bytes())
    at = raw.find(model.hidden.weight.detach().numpy().tobytes()[:64])
    assert at > 0
    raw[at + 10] ^= 1
    path.write_bytes(raw)


def untouched(c):
    assert all(torch.equal(p, q) for p, q in zip(c.before, c.target.parameters())), "a refused load must not change the model"
    assert not c.opt.state, "nor the optimizer"


load = lambda c: load_checkpoint(c.path, c.target, c.opt, kind='train_model')
truncate = lambda path, model: path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])
tiny_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.rand(8, 784), torch.arange(8)), batch_size=4)


def resume_train_model(c):
    return train_model(c.target, 2, tiny_loader, tiny_loader, tiny_loader, c.opt, checkpoint_file=c.path, resume=True, log=lambda s: None)


def save_numpy_extra(c):
    save_checkpoint(c.path, c.target, c.opt, 2, {}, best=np.float64(0.5))


CHECKPOINTS = [
    Fault('checkpoint with one flipped bit', checkpoint_case(flip_a_weight_bit), load, CheckpointError,
          lambda c: [c.path, 'is damaged', 'SHA-256', 'Nothing was loaded'], untouched),
    Fault('checkpoint truncated', checkpoint_case(truncate), load, CheckpointError,
          lambda c: [c.path, 'truncated', 'Nothing was loaded'], untouched),
    Fault('checkpoint empty', checkpoint_case(lambda p, m: p.write_bytes(b'')), load, CheckpointError,
          lambda c: [c.path, 'is empty (0 bytes)'], untouched),
    Fault('checkpoint is a pickled model', checkpoint_case(lambda p, m: torch.save(m, p)), load, CheckpointError,
          lambda c: [c.path, 'cannot be read as a checkpoint', 'not written by save_checkpoint'], untouched),
    Fault('checkpoint is a bare state_dict', checkpoint_case(lambda p, m: torch.save(m.state_dict(), p)), load, CheckpointError,
          lambda c: [c.path, 'is not a checkpoint of save_checkpoint'], untouched),
    Fault('checkpoint of another architecture', checkpoint_case(target=lambda: MLP(n_hidden=9)), load, CheckpointError,
          lambda c: [c.path, 'another model', 'hidden.weight is 8×784 there, 9×784 here'], untouched),
    Fault('checkpoint of another optimizer class', checkpoint_case(optimizer=torch.optim.SGD), load, CheckpointError,
          lambda c: [c.path, 'optimizer Adam, this one is SGD'], untouched),
    Fault('checkpoint of another kind of run', checkpoint_case(kind='train_network'), resume_train_model, CheckpointError,
          lambda c: [c.path, "saved by 'train_network', not by 'train_model'"], untouched),
    Fault('checkpoint without a kind', checkpoint_case(kind=None), resume_train_model, CheckpointError,
          lambda c: [c.path, "a run that records no kind, not by 'train_model'"], untouched),
    Fault('checkpoint extra torch.load cannot read back', checkpoint_case(), save_numpy_extra, TypeError,
          lambda c: [c.path, 'weights_only=True', 'numpy']),  # the earlier ck.pt is kept as it was
]


# --- the training command ------------------------------------------------------------------------------------------------

def with_keys(text: str, extra: str) -> str:
    "Settings `text` with each `key: value` line of `extra` replacing that key's line, or added at the end."
    lines = text.splitlines()
    for e in extra.splitlines():
        at = [i for i, l in enumerate(lines) if l.startswith(e.split(':')[0] + ':')]
        if at: lines[at[0]] = e
        else: lines.append(e)
    return '\n'.join(lines) + '\n'


def command_case(extra_settings: str = '', results=None, prepare: Callable = None, flags=()):
    "A setup writing settings s.yaml (quick.yaml + `extra_settings`) and `prepare(c, monkeypatch)`; c.args are the command's."
    def setup(tmp, mp):
        (tmp/'s.yaml').write_text(with_keys(QUICK.read_text(), extra_settings))
        c = SimpleNamespace(settings=tmp/'s.yaml', dir=Path(results) if results else tmp/'r', tmp=tmp)
        if prepare: prepare(c, mp)
        c.args = ['--settings_path', str(c.settings), '--results_path', str(c.dir), *flags]
        return c
    return setup


run_command = lambda c: cmd.train_command(c.args)


def write_idx(path: Path, a: np.ndarray) -> None:
    path.write_bytes(bytes([0, 0, 8, a.ndim]) + b''.join(int(n).to_bytes(4, 'big') for n in a.shape) + a.astype(np.uint8).tobytes())


def mnist_files(damage=None) -> Callable:
    "A `prepare` making a tiny MNIST in its own data folder (optionally damaged by `damage(raw folder)`), offline."
    def prepare(c, mp):
        raw = c.tmp/'data'/'MNIST'/'raw'; raw.mkdir(parents=True)
        rng = np.random.default_rng(0)
        write_idx(raw/'train-images-idx3-ubyte', rng.integers(0, 256, (60, 28, 28)))
        write_idx(raw/'train-labels-idx1-ubyte', np.arange(60) % 10)
        write_idx(raw/'t10k-images-idx3-ubyte', rng.integers(0, 256, (20, 28, 28)))  # the official test split's files
        write_idx(raw/'t10k-labels-idx1-ubyte', np.arange(20) % 10)
        if damage: damage(raw)
        mp.setattr(nb_01, 'data_dir', lambda: c.tmp/'data')
        mp.setenv('DLF_OFFLINE', '1')
        c.raw = raw
    return prepare


def finished_run(run_text: str = None) -> Callable:
    "A `prepare` filling the results folder as a finished run leaves it (run.yaml as the command writes it, or `run_text`)."
    def prepare(c, mp):
        c.dir.mkdir()
        save_yaml(run_record(load_settings(QUICK)), c.dir/'run.yaml')
        for f in ('results.yaml', 'training.log', 'checkpoint.pt', *PLOT_FILES): (c.dir/f).write_text(f'old {f}\n')
        if run_text is not None: (c.dir/'run.yaml').write_text(run_text)
    return prepare


def interrupted_run(run_text: str = None, checkpoint: bytes = b'PK\x03\x04 cut off') -> Callable:
    "A `prepare` leaving the results folder as a run stopped after an epoch (run.yaml, log, checkpoint.pt)."
    def prepare(c, mp):
        finished_run(run_text)(c, mp)
        for f in ('results.yaml', *PLOT_FILES): (c.dir/f).unlink()
        (c.dir/'checkpoint.pt').write_bytes(checkpoint)
    return prepare


def failing_model(exc) -> Callable:
    "A `prepare` making the building of the model — after the checks, the data and the run record — raise `exc`."
    def prepare(c, mp):
        build = nb_07.MODELS['mlp']
        def fail(s):
            if torch.get_default_device().type == 'meta': return build(s)  # the settings check counts its parameters
            raise exc
        mp.setitem(nb_07.MODELS, 'mlp', fail)
        c.undo = mp.undo
    return prepare


def ctrl_c(*args, **kwargs): raise KeyboardInterrupt


def restartable(c):
    "No checkpoint was claimed, and the same command (no --overwrite) now trains to the end."
    log = (c.dir/'training.log').read_text()
    assert '--resume' not in log and not (c.dir/'checkpoint.pt').exists()
    c.undo()
    assert cmd.train_command(c.args) == 0
    log = (c.dir/'training.log').read_text()
    assert 'finished no epoch; starting afresh' in log and (c.dir/'results.yaml').is_file()


def nothing_created(c): assert not c.dir.exists()


def edited_batch_size(c, mp):
    "A `prepare`: a real run stopped after its epochs (results removed), then run.yaml and the settings edited to batch 16."
    assert cmd.train_command(['--settings_path', str(c.settings), '--results_path', str(c.dir)]) == 0
    for f in ('results.yaml', *PLOT_FILES): (c.dir/f).unlink()
    for f in (c.settings, c.dir/'run.yaml'): f.write_text(f.read_text().replace('batch_size: 32', 'batch_size: 16'))


def sigterm(*args, **kwargs): raise cmd.Terminated


def held_by_another_run(c, mp):
    "A `prepare` in which another run (here: a lock held by this process) uses the results folder."
    c.holder = nb_07.ResultsLock(c.dir)
    c.holder.acquire(log=lambda m: None)


def release_holder(c):
    "The refused run changed nothing; once the holder releases the folder, the same command runs."
    assert (c.dir/'.run.lock').read_text().startswith(f'process {os.getpid()} on'), "the refused run touched the lock"
    c.holder.release()
    assert cmd.train_command(c.args) == 0


def quick_settings_without(key: str) -> Callable:
    "A prepare step: the course's settings.ini read from a copy whose [quick] section lacks `key`."
    def prepare(c, mp):
        ini = c.tmp/'settings.ini'
        ini.write_text(''.join(l for l in (REPO/'settings.ini').read_text().splitlines(True) if not l.startswith(f'{key} ')))
        read = nb_00.course_settings
        mp.setattr(nb_00, 'course_settings', lambda path=None: read(ini if path is None else path))
        mp.setenv('DLF_QUICK', '1')
    return prepare


def unforeseen_at_load(c, mp):
    "Loading the data fails in a way no check foresaw (a bug, a library's own error)."
    def fail(*args, **kwargs): raise ZeroDivisionError('unforeseen')
    mp.setattr(cmd, 'load_data', fail)


def cnn_only(c, mp):
    "Settings for model: cnn without the MLP's key num_hidden."
    c.settings.write_text(c.settings.read_text().replace('num_hidden: 32\n', ''))


def disk_full_at_the_plots(c, mp):
    "Saving a figure writes part of the file, then finds the disk full."
    def savefig(self, fname, *args, **kwargs):
        Path(fname).write_bytes(b'\x89PNG half')
        raise OSError(errno.ENOSPC, 'No space left on device', str(fname))
    mp.setattr(matplotlib.figure.Figure, 'savefig', savefig)
    c.mp = mp


def resume_writes_the_results(c):
    "No half PNG and no results.yaml; once there is room, --resume writes them from the last checkpoint."
    assert sorted(p.name for p in c.dir.iterdir()) == ['checkpoint.pt', 'run.yaml', 'training.log']
    c.mp.undo()
    assert cmd.train_command(c.args + ['--resume']) == 0
    assert {'results.yaml', *PLOT_FILES} <= {p.name for p in c.dir.iterdir()}


COMMAND = [
    Fault('an unforeseen error before training', command_case(prepare=unforeseen_at_load), run_command, 1,
          lambda c: ['error: the run could not start: ZeroDivisionError: unforeseen'], nothing_created),
    Fault('disk full while the results are written', command_case(prepare=disk_full_at_the_plots), run_command, 1,
          lambda c: [f'cannot write into {c.dir} (No space left on device)', 'make room there', '--resume'], resume_writes_the_results),
    Fault("settings.ini's [quick] without train_size", command_case(prepare=quick_settings_without('train_size')), run_command, 2,
          lambda c: [c.tmp/'settings.ini', '[quick] lacks train_size', 'git checkout settings.ini'], nothing_created),
    Fault('a batch of one image for batch norm', command_case('model: cnn\nchannels: [8, 8, 8, 8, 8, 8]\nbatch_size: 3\n', prepare=cnn_only),
          run_command, 2, lambda c: ['batch_size 3 with 1,000 training images gives a training batch of one image',
          'Expected more than 1 value per channel', 'another batch_size'], nothing_created),
    Fault('results folder not writable', command_case(results='/sys/kernel'), run_command, 2,
          lambda c: ['cannot write into the results folder /sys/kernel', 'Nothing was changed']),
    Fault('results folder cannot be made', command_case(results='/sys/dlf-no-such/run'), run_command, 2,
          lambda c: ['cannot write into the results folder /sys/dlf-no-such/run'], nothing_created),
    Fault('MNIST files missing offline', command_case('dataset: mnist\n', prepare=mnist_files(lambda raw: shutil.rmtree(raw))),
          run_command, 2, lambda c: ["dataset 'mnist'", c.raw, 'DLF_OFFLINE', "e.g. `dataset: embedded`"], nothing_created),
    Fault('truncated IDX file', command_case('dataset: mnist\n', prepare=mnist_files(
          lambda raw: (raw/'train-images-idx3-ubyte').write_bytes((raw/'train-images-idx3-ubyte').read_bytes()[:5000]))),
          run_command, 2, lambda c: ["dataset 'mnist'", c.raw/'train-images-idx3-ubyte'], nothing_created),
    Fault('label out of range', command_case('dataset: mnist\n', prepare=mnist_files(
          lambda raw: write_idx(raw/'train-labels-idx1-ubyte', np.r_[np.arange(7) % 10, 10, np.arange(52) % 10]))),
          run_command, 2, lambda c: ["dataset 'mnist'", 'label 10 (example 7)', 'classes 0..9', 'label file is damaged'], nothing_created),
    Fault("Ctrl-C while the command loads the data", command_case(prepare=lambda c, mp: mp.setattr(nb_07, 'get_data', ctrl_c)),
          run_command, 130, lambda c: ['interrupted before training started; nothing was written'], nothing_created),
    Fault('Ctrl-C while training builds its model', command_case(prepare=failing_model(KeyboardInterrupt())), run_command, 130,
          lambda c: ['interrupted; no epoch finished, so there is no checkpoint', 'run the same command again'], restartable),
    Fault('failure after training started', command_case(prepare=failing_model(OSError('disk unplugged'))), run_command, 1,
          lambda c: ['training failed: OSError: disk unplugged', 'no epoch finished', c.dir/'training.log'], restartable),
    Fault('cnn with a zero channel count', command_case('model: cnn\nchannels: [16, 0]\n'), run_command, 2,
          lambda c: [c.settings, "key 'channels' cannot be [16, 0]", 'whole numbers >= 1'], nothing_created),
    Fault('unknown model name', command_case('model: resnet\n'), run_command, 2,
          lambda c: [c.settings, "key 'model' cannot be 'resnet'", 'one of mlp, cnn'], nothing_created),
    Fault('--overwrite with a bad key in the new settings', command_case('batch_size: 0\n', prepare=finished_run(),
          flags=['--overwrite']), run_command, 2, lambda c: [c.settings, "key 'batch_size' cannot be 0"]),
    Fault('--overwrite with the settings file as a results file', command_case(prepare=lambda c, mp: (
          finished_run()(c, mp), (c.dir/'results.yaml').write_text(QUICK.read_text()), setattr(c, 'settings', c.dir/'results.yaml')),
          flags=['--overwrite']), run_command, 2,
          lambda c: [f'--settings_path {c.dir/"results.yaml"} is a file the command writes into its results folder']),
    Fault("--overwrite with the user's own run.yaml in the results folder", command_case(
          prepare=finished_run('# my notes\n' + QUICK.read_text()), flags=['--overwrite']), run_command, 2,
          lambda c: [c.dir/'run.yaml', 'not a run record the command wrote', 'Nothing was changed']),
    Fault('--resume with a corrupt run.yaml', command_case(prepare=interrupted_run(run_text='settings: [\n'), flags=['--resume']),
          run_command, 2, lambda c: [c.dir/'run.yaml', 'is missing or damaged', '--overwrite']),
    Fault('--resume with a run.yaml of another shape', command_case(prepare=interrupted_run(run_text='fast\n'), flags=['--resume']),
          run_command, 2, lambda c: [c.dir/'run.yaml', 'is missing or damaged']),
    Fault('--resume from a truncated checkpoint', command_case(prepare=interrupted_run(), flags=['--resume']), run_command, 1,
          lambda c: [c.dir/'checkpoint.pt', 'truncated', '--overwrite']),
    Fault('--resume after a start that finished no epoch', command_case(prepare=lambda c, mp: (
          finished_run()(c, mp), [(c.dir/f).unlink() for f in ('results.yaml', 'checkpoint.pt', *PLOT_FILES)]),
          flags=['--resume']), run_command, 2, lambda c: [c.dir, 'finished no epoch', 'without --resume']),
    # issue 24: settings files, environment, results folder, signals
    Fault('settings file that is not text', command_case(prepare=lambda c, mp: c.settings.write_bytes(b'\x89PNG\r\n\x1a\n\x00\xff')),
          run_command, 2, lambda c: [c.settings, 'is not a text file (UTF-8)', 'settings/quick.yaml'], nothing_created),
    Fault('settings key given twice', command_case(prepare=lambda c, mp: c.settings.write_text(c.settings.read_text() + 'learning_rate: 0.1\n')),
          run_command, 2,
          lambda c: [c.settings, "key 'learning_rate' is given twice (lines", 'keep one'], nothing_created),
    Fault('learning rate too large for a float', command_case('learning_rate: 1e400\n'.replace('learning_rate', 'momentum')),
          run_command, 2, lambda c: [c.settings, "key 'momentum' must be a number, got '1e400'", 'not a finite number'], nothing_created),
    Fault('channels with model mlp', command_case('channels: [8, 16]\n'), run_command, 2,
          lambda c: [c.settings, "key 'channels' is used by model cnn only, not 'mlp'", 'remove it'], nothing_created),
    Fault('num_hidden with model cnn', command_case('model: cnn\n'), run_command, 2,
          lambda c: [c.settings, "key 'num_hidden' is used by model mlp only, not 'cnn'"], nothing_created),
    Fault('a network too large for the memory', command_case('model: cnn\nchannels: [1000000000000]\n', prepare=cnn_only), run_command, 2,
          lambda c: [c.settings, '7,851,000,000,000,010 parameters', 'Make it smaller'], nothing_created),
    Fault('DLF_QUICK=2', command_case(prepare=lambda c, mp: mp.setenv('DLF_QUICK', '2')), run_command, 2,
          lambda c: ["DLF_QUICK='2' is not understood", 'use 1 (on) or 0 (off)'], nothing_created),
    Fault('results path a loop of symbolic links', command_case(prepare=lambda c, mp: c.dir.symlink_to(c.dir)), run_command, 2,
          lambda c: [f'--results_path {c.dir} is a symbolic link', 'a loop of links', 'Nothing was changed']),
    Fault('results path a dangling symbolic link', command_case(prepare=lambda c, mp: c.dir.symlink_to(c.tmp/'gone')), run_command, 2,
          lambda c: [f'--results_path {c.dir} is a symbolic link to {c.tmp/"gone"}, which does not exist']),
    Fault('results path a file', command_case(prepare=lambda c, mp: c.dir.write_text('notes')), run_command, 2,
          lambda c: [f'{c.dir} exists and is not a folder']),
    Fault('a second run on a folder in use', command_case(prepare=held_by_another_run), run_command, 2,
          lambda c: [c.dir, 'is in use by another run', f'process {os.getpid()} on', 'Wait until it ends'], release_holder),
    Fault('SIGTERM while training builds its model', command_case(prepare=failing_model(cmd.Terminated())), run_command, 143,
          lambda c: ['terminated (SIGTERM); no epoch finished', 'run the same command again'], restartable),
    Fault('SIGTERM while the command loads the data', command_case(prepare=lambda c, mp: mp.setattr(nb_07, 'get_data', sigterm)),
          run_command, 143, lambda c: ['terminated (SIGTERM) before training started'], nothing_created),
    Fault('--resume with run.yaml edited to another batch size', command_case(prepare=edited_batch_size, flags=['--resume']),
          run_command, 1, lambda c: ['cannot resume', c.dir/'checkpoint.pt', 'training batches per epoch', 'same batch size'],
          lambda c: (c.dir/'results.yaml').exists() and pytest.fail('it trained on')),
    Fault('adamw with learning_rate × weight_decay >= 1', command_case('optimizer: adamw\nweight_decay: 2.0\n'), run_command, 2,
          lambda c: [c.settings, 'learning_rate 0.5 × weight_decay 2 = 1', 'must stay above 0', 'weight_decay < 2'], nothing_created),
    Fault('MNIST files of 5 images', command_case('dataset: mnist\n', prepare=mnist_files(lambda raw: (
          write_idx(raw/'train-images-idx3-ubyte', np.zeros((5, 28, 28))), write_idx(raw/'train-labels-idx1-ubyte', np.arange(5))))),
          run_command, 2, lambda c: ["dataset 'mnist'", 'hold 5 image(s), too few to keep a sixth'], nothing_created),
    Fault('image and label files swapped', command_case('dataset: mnist\n', prepare=mnist_files(lambda raw: (
          (raw/'train-images-idx3-ubyte').rename(raw/'x'), (raw/'train-labels-idx1-ubyte').rename(raw/'train-images-idx3-ubyte'),
          (raw/'x').rename(raw/'train-labels-idx1-ubyte')))),
          run_command, 2, lambda c: ["dataset 'mnist'", 'Are the image and label files swapped'], nothing_created),
    Fault('images of another size', command_case('dataset: mnist\n', prepare=mnist_files(lambda raw: write_idx(
          raw/'train-images-idx3-ubyte', np.zeros((60, 32, 32))))),
          run_command, 2, lambda c: ["dataset 'mnist'", 'images of shape (1024,)', 'take 28×28 images'], nothing_created),
    Fault('results folder = the settings file\'s folder', command_case(prepare=lambda c, mp: setattr(c, 'dir', c.tmp)), run_command, 2,
          lambda c: [f'--results_path {c.tmp} is the folder of the settings file', 'Choose a folder of its own']),
    Fault('settings path relative to the repository, used from nbs/', command_case(prepare=lambda c, mp: (
          mp.chdir(REPO/'nbs'), setattr(c, 'settings', Path('settings/quick.yaml')))), run_command, 2,
          lambda c: ['settings/quick.yaml: cannot read the settings file', 'from here that file is ../settings/quick.yaml'], nothing_created),
    Fault('gzip file without .gz', command_case('dataset: mnist\n', prepare=mnist_files(lambda raw: (raw/'train-labels-idx1-ubyte').write_bytes(
          gzip.compress((raw/'train-labels-idx1-ubyte').read_bytes())))), run_command, 2,
          lambda c: ['train-labels-idx1-ubyte is gzip-compressed', 'rename it to train-labels-idx1-ubyte.gz'], nothing_created),
    Fault('test labels file missing', command_case('dataset: mnist\n', prepare=mnist_files(lambda raw: (raw/'t10k-labels-idx1-ubyte').unlink())),
          run_command, 2, lambda c: ['no IDX file t10k-labels-idx1-ubyte[.gz]'], nothing_created),
]


# --- train_network and the Learner (lecture 06) ---------------------------------------------------------------------------

def regression_loader(nan_row: int = None, n: int = 64):
    "A shuffled loader of y = 2x points; with `nan_row`, that input is NaN."
    x = torch.linspace(-1, 1, n).view(-1, 1)
    if nan_row is not None: x = x.clone(); x[nan_row] = float('nan')
    return torch.utils.data.DataLoader(nb_07.Dataset(x, 2 * x), batch_size=16, shuffle=True)


def tanh_net(hidden: int = 8): return torch.nn.Sequential(torch.nn.Linear(1, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))


def network_case(saved_by: str = 'train_network', target=tanh_net, optimizer=torch.optim.SGD) -> Callable:
    "A setup with a one-epoch checkpoint ck.pt of `saved_by` ('train_network' or 'train_model'); c.target is the model to resume."
    def setup(tmp, mp):
        torch.manual_seed(0)
        c = SimpleNamespace(path=tmp/'ck.pt', target=target(), optimizer=optimizer)
        model = tanh_net()
        if saved_by == 'train_network':
            nb_07.train_network(model, torch.nn.functional.mse_loss, regression_loader(), epochs=1, device='cpu',
                                checkpoint_file=c.path, progress=False)
        else:  # what train_model writes after one epoch
            save_checkpoint(c.path, model, torch.optim.AdamW(model.parameters()), 1,
                            {'minibatch_loss': [1.0], 'train_acc': [], 'valid_acc': []}, kind='train_model')
        c.before = [p.detach().clone() for p in c.target.parameters()]
        return c
    return setup


def resume_network(c, nan_row=None):
    "Resume train_network from c.path into c.target for 2 epochs in total."
    return nb_07.train_network(c.target, torch.nn.functional.mse_loss, regression_loader(nan_row), epochs=2, device='cpu',
                               optimizer=c.optimizer(c.target.parameters()), checkpoint_file=c.path, resume=True, progress=False)


def target_untouched(c): assert all(torch.equal(a, b) for a, b in zip(c.before, c.target.parameters())), "the model was changed"


def unwritable_checkpoint(tmp, mp):
    (tmp/'file').write_text('a file, not a folder')
    return SimpleNamespace(path=tmp/'file'/'ck.pt', target=tanh_net(), calls=[])


def train_into(c):
    "train_network with a checkpoint path; counts the batches it trained on."
    class Count(nb_07.Callback):
        def after_step(self, learn): c.calls.append(1)
    learn = nb_07.Learner(c.target, regression_loader(), loss_func=torch.nn.functional.mse_loss,
                          cbs=[Count(), nb_07.CheckpointCB(c.path)])
    learn.fit(1)


def learner_case():
    "A setup with a small network c.target (and its weights in c.before) and a path c.path for a checkpoint."
    def setup(tmp, mp):
        torch.manual_seed(0)
        c = SimpleNamespace(path=tmp/'ck', target=tanh_net())
        c.before = [p.detach().clone() for p in c.target.parameters()]
        return c
    return setup


class BrokenCleanup(nb_07.Callback):
    "A fit-only callback that skips every batch (if it stayed, no later fit would train) and fails to clean up."
    def before_batch(self, learn): raise nb_07.CancelBatchException()
    def cleanup_fit(self, learn): raise RuntimeError('cleanup failed')


class Closes(nb_07.Callback):
    "A callback whose clean-up must run even when another's fails."
    order = 99
    def __init__(self): self.closed = 0
    def cleanup_fit(self, learn): self.closed += 1


def fit_with_broken_cleanup(c):
    c.closes = Closes()
    c.learn.add_cb(c.closes)
    c.learn.model.eval()
    c.learn.fit(1, cbs=[BrokenCleanup()])


def empty_loader(): return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.rand(0, 1), torch.rand(0, 1)), 16)


class Nothing(torch.utils.data.IterableDataset):
    "A stream that ends at once: its loader cannot tell its length beforehand."
    def __iter__(self): return iter(())


class Dicts(torch.utils.data.Dataset):
    "Items as dicts, as many data sets from other libraries give them."
    def __len__(self): return 32
    def __getitem__(self, i): return {'image': torch.rand(784), 'label': i % 10}


class TwoOutputs(torch.nn.Module):
    "A model whose forward returns two tensors."
    def __init__(self): super().__init__(); self.m = nb_07.MLP()
    def forward(self, x): h = self.m(x); return h, h.detach()


def stats_in_eval_mode(c):
    model = nb_09.get_cnn([4])
    stats = nb_09.ActivationStats([model[1]])
    with torch.no_grad(): model.eval()(torch.rand(2, 784))  # evaluation batches are not recorded
    stats.plot_hists()


def learner_still_sound(c):
    "Every other clean-up ran, the mode came back, the fit-only callback is gone: the next fit trains."
    assert c.closes.closed == 1 and not c.learn.model.training
    assert not any(isinstance(cb, BrokenCleanup) for cb in c.learn.cbs)
    before = [p.detach().clone() for p in c.learn.model.parameters()]
    c.learn.fit(1)
    assert any(not torch.equal(a, b) for a, b in zip(before, c.learn.model.parameters())), "the next fit trained nothing"


def learner_checkpoint(tmp, mp):
    "A setup with a one-epoch Learner checkpoint ck.pt (batches of 16: 4 per epoch); c.target is the model to resume."
    torch.manual_seed(0)
    c = SimpleNamespace(path=tmp/'ck.pt', target=tanh_net())
    nb_07.Learner(tanh_net(), regression_loader(), loss_func=torch.nn.functional.mse_loss, cbs=[nb_07.CheckpointCB(c.path)]).fit(1)
    c.before = [p.detach().clone() for p in c.target.parameters()]
    return c


def resume_learner(c, batch_size: int):
    dl = torch.utils.data.DataLoader(regression_loader().dataset, batch_size=batch_size, shuffle=True)
    nb_07.Learner(c.target, dl, loss_func=torch.nn.functional.mse_loss, cbs=[nb_07.CheckpointCB(c.path, resume=True)]).fit(2)


LEARNER = [
    Fault('train_network checkpoint folder not writable', unwritable_checkpoint, lambda c: nb_07.train_network(
          c.target, torch.nn.functional.mse_loss, regression_loader(), epochs=1, device='cpu', checkpoint_file=c.path, progress=False),
          PermissionError, lambda c: [f'cannot write the checkpoint {c.path}', 'choose a folder']),
    Fault('Learner checkpoint folder not writable: nothing trained', unwritable_checkpoint, train_into, PermissionError,
          lambda c: [c.path], lambda c: c.calls == [] or pytest.fail('it trained before failing')),
    Fault('train_network resumed into another architecture', network_case(target=lambda: tanh_net(9)), resume_network,
          CheckpointError, lambda c: [c.path, 'holds the weights of another model', 'Nothing was loaded'], target_untouched),
    Fault('train_network resumed with another optimizer class', network_case(optimizer=torch.optim.AdamW),
          resume_network, CheckpointError, lambda c: [c.path, 'optimizer SGD, this one is AdamW'], target_untouched),
    Fault("train_network resumed from train_model's checkpoint", network_case(saved_by='train_model'), resume_network,
          CheckpointError, lambda c: [c.path, "saved by 'train_model', not by 'learner'"], target_untouched),
    Fault("train_model resumed from train_network's checkpoint", network_case(), lambda c: train_model(
          c.target, 2, regression_loader(), regression_loader(), regression_loader(), torch.optim.AdamW(c.target.parameters()),
          loss_func=torch.nn.functional.mse_loss, checkpoint_file=c.path, resume=True, log=lambda m: None),
          CheckpointError, lambda c: [c.path, "saved by 'learner', not by 'train_model'"], target_untouched),
    Fault('train_network resumed with another schedule set-up', network_case(), lambda c: nb_07.train_network(
          c.target, torch.nn.functional.mse_loss, regression_loader(), epochs=2, device='cpu', checkpoint_file=c.path,
          resume=True, progress=False, lr_schedule=lambda o: torch.optim.lr_scheduler.StepLR(o, 1)),
          CheckpointError, lambda c: [c.path, "callbacks that keep state ['MetricsCB']", 'Nothing was loaded'], target_untouched),
    Fault('train_network on a NaN input row keeps the last good checkpoint', network_case(target=tanh_net),
          lambda c: resume_network(c, nan_row=5), FloatingPointError,
          lambda c: ['the loss is nan in epoch 2, training batch', 'NaN or infinite values in the inputs'],
          lambda c: all(p.isfinite().all() for p in c.target.parameters()) or pytest.fail('NaN weights')),
    Fault('a callback whose cleanup_fit raises', lambda tmp, mp: SimpleNamespace(learn=nb_07.Learner(tanh_net(), regression_loader(),
          loss_func=torch.nn.functional.mse_loss, cbs=[nb_07.DeviceCB('cpu')])), fit_with_broken_cleanup, RuntimeError,
          lambda c: ['cleanup failed'], learner_still_sound),
    Fault('Learner resumed with another batch size', learner_checkpoint, lambda c: resume_learner(c, batch_size=8), CheckpointError,
          lambda c: [c.path, 'saved by a run with 4 training batches per epoch; this one has 8', 'Nothing was loaded'], target_untouched),
    Fault('optimizer built on another model (model cell run again)', learner_case(), lambda c: nb_07.Learner(c.target,
          regression_loader(), loss_func=torch.nn.functional.mse_loss, opt_func=lambda p, lr: torch.optim.SGD(tanh_net().parameters(), lr)).fit(1),
          ValueError, lambda c: ["the optimizer's parameters are not this model's", 'was the model cell run again'], target_untouched),
    Fault('EarlyStoppingCB on a score, no mode', learner_case(), lambda c: nb_07.EarlyStoppingCB('valid_R2'), ValueError,
          lambda c: ["cannot tell whether 'valid_R2' improves", "mode='max'"]),
    Fault('EarlyStoppingCB on valid_loss without validation data', learner_case(), lambda c: nb_07.Learner(c.target,
          regression_loader(), loss_func=torch.nn.functional.mse_loss, cbs=[nb_07.MetricsCB(accuracy=False), nb_07.EarlyStoppingCB()]).fit(2),
          ValueError, lambda c: ["monitors 'valid_loss', which needs validation data"], target_untouched),
    Fault('a second MetricsCB', learner_case(), lambda c: nb_07.Learner(c.target, regression_loader(),
          cbs=[nb_07.MetricsCB(accuracy=False)]).fit(1, cbs=[nb_07.MetricsCB(accuracy=False)]), ValueError,
          lambda c: ['already has a MetricsCB'], target_untouched),
    Fault('the same callback twice', learner_case(), lambda c: nb_07.Learner(c.target, regression_loader(),
          cbs=[cb := nb_07.DeviceCB('cpu'), cb]), ValueError, lambda c: ['this DeviceCB is already one of'], target_untouched),
    Fault('accuracy on a regression', learner_case(), lambda c: nb_07.Learner(c.target, regression_loader(),
          loss_func=torch.nn.functional.mse_loss, cbs=[nb_07.MetricsCB()]).fit(1), ValueError,
          lambda c: ['needs class scores (N × classes) and integer targets', 'outputs 16 × 1', 'MetricsCB(accuracy=False)']),
    Fault('loss_func a class', learner_case(), lambda c: nb_07.Learner(c.target, regression_loader(), loss_func=torch.nn.MSELoss),
          TypeError, lambda c: ['loss_func is the class MSELoss', 'MSELoss()']),
    Fault('opt_func an optimizer', learner_case(), lambda c: nb_07.Learner(c.target, regression_loader(),
          opt_func=torch.optim.SGD(c.target.parameters(), lr=0.1)), TypeError, lambda c: ['opt_func is an optimizer (SGD)', 'opt_func=torch.optim.SGD']),
    Fault('fit with a float', learner_case(), lambda c: nb_07.Learner(c.target, regression_loader(),
          loss_func=torch.nn.functional.mse_loss).fit(2.5), ValueError, lambda c: ['epochs must be a whole number >= 0, got 2.5'], target_untouched),
    Fault('checkpoint path a folder', learner_case(), lambda c: (c.path.mkdir(), nb_07.Learner(c.target, regression_loader(),
          loss_func=torch.nn.functional.mse_loss, cbs=[nb_07.CheckpointCB(c.path)]).fit(1)), IsADirectoryError,
          lambda c: [f'the checkpoint path {c.path} is a folder', 'checkpoint.pt'], target_untouched),
    Fault('Learner resumed to fewer epochs than it holds', learner_checkpoint, lambda c: nb_07.Learner(c.target, regression_loader(),
          loss_func=torch.nn.functional.mse_loss, cbs=[nb_07.CheckpointCB(c.path, resume=True)]).fit(0), CheckpointError,
          lambda c: [c.path, 'holds 1 finished epochs; fitting to 0 leaves nothing to train', 'more than 1 epochs'], target_untouched),
    Fault('BatchNorm with one value per channel', learner_case(), lambda c: nb_09.BatchNorm(4)(torch.randn(1, 4)), ValueError,
          lambda c: ['more than 1 value per channel', '(1, 4)', 'batches of at least 2']),
    Fault('RandomFlipCB on images of another size', learner_case(), lambda c: nb_09.Learner(nb_09.get_cnn([4]), [(torch.rand(2, 56 * 56),
          torch.tensor([0, 1]))], cbs=[nb_09.RandomFlipCB(1.0)]).fit(1), ValueError, lambda c: ['RandomFlipCB(size=28)', 'the batch is 2 × 3136']),
    Fault('Dataset of NumPy arrays', learner_case(), lambda c: nb_07.Dataset(np.zeros((4, 2)), np.zeros(4)), TypeError,
          lambda c: ['Dataset needs tensors; x is a numpy.ndarray', 'torch.as_tensor(x, dtype=torch.float32)']),
    Fault('DataLoader with a float batch size', learner_case(), lambda c: nb_07.DataLoader(regression_loader().dataset, 64 / 10),
          ValueError, lambda c: ['batch size must be a whole number >= 1, got 6.4', 'len(ds) // 10']),
    Fault('DeviceCB on a device the machine lacks', lambda tmp, mp: (mp.setattr(torch.cuda, 'is_available', lambda: False),
          SimpleNamespace())[1], lambda c: nb_07.DeviceCB('cuda'), RuntimeError,
          lambda c: ["DeviceCB('cuda'): this machine has no CUDA device", "DeviceCB('cpu')"]),
    Fault('the loss as the Learner\'s third argument', learner_case(), lambda c: nb_07.Learner(c.target, regression_loader(),
          torch.nn.functional.mse_loss), TypeError, lambda c: ["the third argument is the validation loader, and 'mse_loss' is a function",
          'loss_func=...']),
    Fault('a loss with one value per sample', learner_case(), lambda c: nb_07.Learner(c.target, regression_loader(),
          loss_func=torch.nn.MSELoss(reduction='none')).fit(1), ValueError,
          lambda c: ['loss_func gave (16, 1) values, not one number', "reduction='mean'"], target_untouched),
    Fault('an empty training loader, no callbacks', learner_case(), lambda c: nb_07.Learner(c.target, empty_loader(),
          loss_func=torch.nn.functional.mse_loss).fit(1), ValueError,
          lambda c: ['the training loader gives no batches', 'drop_last=True', 'Nothing was trained'], target_untouched),
    Fault('an empty validation loader: refused before training', learner_case(), lambda c: nb_07.Learner(c.target,
          regression_loader(), empty_loader(), loss_func=torch.nn.functional.mse_loss).fit(1), ValueError,
          lambda c: ['the validation loader gives no batches', 'Nothing was trained'], target_untouched),
    Fault('a loader over an iterable data set that gives nothing', learner_case(), lambda c: nb_07.Learner(c.target,
          torch.utils.data.DataLoader(Nothing()), loss_func=torch.nn.functional.mse_loss).fit(1), ValueError,
          lambda c: ['the training loader gives no batches'], target_untouched),
    Fault('a loader of dict batches', learner_case(), lambda c: nb_07.Learner(nb_07.MLP(), torch.utils.data.DataLoader(Dicts(), 16),
          cbs=[nb_07.DeviceCB('cpu')]).fit(1), TypeError,
          lambda c: ['the training loader gives batches that are a dict (keys image, label)', '(inputs, targets) pairs', 'tuple (x, y)']),
    Fault('a model that returns a tuple', learner_case(), lambda c: nb_07.Learner(TwoOutputs(), tiny_loader).fit(1), TypeError,
          lambda c: ['the model returned a tuple of 2 items', 'return one tensor from forward']),
    Fault('a loss that is a Python number', learner_case(), lambda c: nb_07.Learner(c.target, regression_loader(),
          loss_func=lambda p, y: ((p - y) ** 2).mean().item()).fit(1), TypeError,
          lambda c: ['loss_func gave a float, not a tensor', 'torch operations'], target_untouched),
    Fault('MLP on colour 32×32 images', learner_case(), lambda c: nb_07.MLP()(torch.rand(4, 3, 32, 32)), ValueError,
          lambda c: ['MLP(n_in=784) got inputs of 3072 values each', '4 × 3072', 'MLP(n_in=3072)', 'transforms.Grayscale']),
    Fault('CNN on colour 32×32 images', learner_case(), lambda c: nb_09.get_cnn([4])(torch.rand(4, 3, 32, 32)), ValueError,
          lambda c: ['AsImages(1, 28, 28) takes 784 values an item and got 3072', '4 × 3 × 32 × 32', 'get_cnn(size=...)']),
    Fault('ActivationStats without a training batch', learner_case(), stats_in_eval_mode, ValueError,
          lambda c: ['ActivationStats recorded no training batch for layer 0', 'training mode only']),
    Fault('logging every 0 batches', learner_case(), lambda c: nb_07.LoggingCB(every=0), ValueError,
          lambda c: ['a whole number >= 1; got 0']),
    Fault('train_model logging every 0 batches', learner_case(), lambda c: train_model(c.target, 1, regression_loader(),
          regression_loader(), None, torch.optim.SGD(c.target.parameters(), lr=0.1), logging_interval=0), ValueError,
          lambda c: ['logging_interval is a number of minibatches >= 1, got 0'], target_untouched),
]


# --- the export command (tools/export.py) --------------------------------------------------------------------------------

def repo_copy(break_cell: bool = True, drop_nbdev_config: bool = False, import_error: bool = False) -> Callable:
    """A setup copying the lectures, exp/ and the configuration to tmp/repo; breaks a `def` line of lecture 03's export
    cells (a syntax error), or with `import_error` adds a line to that cell that fails only when the module is imported."""
    def setup(tmp, mp):
        root = tmp/'repo'; root.mkdir()
        for f in ('pyproject.toml', 'settings.ini'): shutil.copy(REPO/f, root/f)
        shutil.copytree(REPO/'nbs', root/'nbs', ignore=shutil.ignore_patterns('.ipynb_checkpoints'))
        shutil.copytree(REPO/'exp', root/'exp', ignore=shutil.ignore_patterns('__pycache__'))
        c = SimpleNamespace(root=root)
        if break_cell:
            path = root/'nbs'/'03_minibatch_training.ipynb'
            nb = nbformat.read(path, as_version=4)
            c.pos, cell = next((i, x) for i, x in enumerate(nb.cells, 1)
                               if x.cell_type == 'code' and x.source.startswith('#| export') and '\ndef ' in x.source)
            c.id, c.line = cell.id, cell.source.split('\n').index(next(l for l in cell.source.split('\n') if l.startswith('def '))) + 1
            if import_error:
                c.line = len(cell.source.split('\n')) + 1
                cell.source += '\nscale = undefined_name'
            else: cell.source = cell.source.replace('\ndef ', '\ndef (', 1)
            nbformat.write(nb, path)
        if drop_nbdev_config:
            text = (root/'pyproject.toml').read_text()
            (root/'pyproject.toml').write_text(text[:text.index('[tool.nbdev]')])
        return c
    return setup


def slow_import(tmp, mp):
    "A repository copy whose modules take longer to import than the export allows (here: a timeout of 0.01 s)."
    c = repo_copy(break_cell=False)(tmp, mp)
    mp.setattr(export_tool, 'IMPORT_TIMEOUT_S', 0.01)
    return c


def python_without_nbdev(tmp, mp):
    "A repository copy, exported by a Python that has no nbdev-export beside it (nbdev installed with --user)."
    c = repo_copy(break_cell=False)(tmp, mp)
    mp.setattr(sys, 'executable', str(tmp/'bin'/'python3'))
    return c


def unreadable_lecture(tmp, mp):
    "A lecture file that is not JSON: what a merge conflict or a cut-off save leaves."
    (tmp/'03_minibatch_training.ipynb').write_text('{')
    return SimpleNamespace(path=tmp/'03_minibatch_training.ipynb')


def run_lecture(c):
    "Execute the lecture as tools.run_course does; the failure it would print is raised."
    nb, seconds, error = execute(c.path)
    if error: raise RuntimeError(error)


EXPORT = [
    Fault('nbdev-export not beside this Python', python_without_nbdev, lambda c: export_tool.export(c.root), export_tool.ExportError,
          lambda c: [f"nbdev-export is not installed beside {c.root.parent/'bin'/'python3'}", 'make export', 'exp/ was not touched']),
    Fault('a lecture that is not JSON, run without export', unreadable_lecture, run_lecture, RuntimeError,
          lambda c: [c.path, 'is not a notebook nbformat can read', 'NotJSONError', 'restore it from git']),
    Fault('syntax error in an export cell', repo_copy(), lambda c: export_tool.export(c.root), export_tool.ExportError,
          lambda c: ['nbs/03_minibatch_training.ipynb', f'cell {c.pos} of', f'(id {c.id})', f'line {c.line}: SyntaxError',
                     'exp/ was not touched']),
    Fault('export cell that fails on import', repo_copy(import_error=True), lambda c: export_tool.export(c.root),
          export_tool.ExportError, lambda c: ['exp/nb_03.py fails on import', "NameError: name 'undefined_name' is not defined",
                                              'nbs/03_minibatch_training.ipynb', f'cell {c.pos} of', f'(id {c.id})',
                                              f'line {c.line}', 'scale = undefined_name', 'exp/ was restored']),
    Fault('nbdev-export fails', repo_copy(break_cell=False, drop_nbdev_config=True), lambda c: export_tool.export(c.root),
          export_tool.ExportError, lambda c: ['nbdev-export failed', 'exp/ was restored']),
    Fault('importing exp/ too slow', slow_import, lambda c: export_tool.export(c.root), export_tool.ExportError,
          lambda c: ['did not finish in 0.01 s', 'exp/ was restored']),
]

FAULTS = DATA + CHECKPOINTS + COMMAND + LEARNER + EXPORT


def snapshot(d: Path) -> dict:
    return {p.relative_to(d): p.read_bytes() for p in sorted(d.rglob('*')) if p.is_file()}


@pytest.mark.parametrize('fault', FAULTS, ids=[f.id for f in FAULTS])
def test_fault(fault, tmp_path, monkeypatch, capsys):
    c = fault.setup(tmp_path, monkeypatch)
    before = snapshot(tmp_path)
    if isinstance(fault.error, int):
        assert fault.run(c) == fault.error
        out = capsys.readouterr()
        msg = out.out + out.err
        assert 'Traceback' not in msg
    else:
        with pytest.raises(fault.error) as e: fault.run(c)
        msg = str(e.value)
    for piece in fault.names(c): assert str(piece) in msg, f"{piece!r} not in the message:\n{msg}"
    assert 'weights_only=False' not in msg
    now = snapshot(tmp_path)
    assert [f for f in before if f not in now] == [], "files were lost"
    kept = lambda f: now[f] == before[f] or (f.suffix == '.log' and now[f].startswith(before[f]))  # logs may only grow
    assert [f for f in before if f in now and not kept(f)] == [], "files were changed"
    assert [f for f in now if f.name.endswith('.tmp') or f.name.startswith('.dlf-probe')] == [], "half-written files were left"
    for f in now:
        if f not in before and f.suffix == '.yaml': yaml.safe_load(now[f])  # what the fault left behind is complete
    if fault.after: fault.after(c)
