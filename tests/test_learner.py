"Lecture 06's Learner: event order, cancellation, every callback, equivalence with lecture 05's loop, one read per epoch."
import io, logging
import pandas as pd, pytest, torch
from torch import nn
import torch.nn.functional as F
from torch.optim import lr_scheduler
from torch.utils.data import DataLoader as TorchDataLoader
from exp import nb_03
from exp.nb_06 import (EVENTS, HISTORY_COLUMNS, CancelBatchException, CancelEpochException, CancelFitException, Callback,
                       Learner, DeviceCB, FiniteLossCB, MetricsCB, TrainAccuracyCB, ProgressCB, ScheduleCB, EarlyStoppingCB,
                       CheckpointCB, LoggingCB, history_frame, train_network)
from exp.nb_05 import MLP, set_all_seeds, train_model, compute_accuracy, get_dls, Dataset


def digits(n=256, seed=0):
    "Random 784-pixel rows with a learnable rule (class = argmax of 10 pixel sums)."
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 784, generator=g)
    return x, x[:, :780].reshape(n, 10, 78).sum(-1).argmax(1)


def dls(bs=32, n=256):
    x, y = digits(n)
    xv, yv = digits(n // 2, seed=1)
    return get_dls(Dataset(x, y), Dataset(xv, yv), bs)


class Events(Callback):
    def __init__(self): self.seen = []
for _e in EVENTS: setattr(Events, _e, lambda self, learn, e=_e: self.seen.append(e))


def test_event_order_one_epoch():
    x, y = digits(8)
    ev = Events()
    Learner(MLP(), nb_03.DataLoader(Dataset(x, y), 4), nb_03.DataLoader(Dataset(x, y), 8), cbs=[ev]).fit(1)
    train_batch = ['before_batch', 'after_pred', 'after_loss', 'after_backward', 'after_step', 'after_batch']
    valid_batch = ['before_batch', 'after_pred', 'after_loss', 'after_batch']
    assert ev.seen == (['before_fit', 'before_epoch', 'before_train'] + 2 * train_batch + ['after_train', 'before_validate']
                       + valid_batch + ['after_validate', 'after_epoch', 'after_fit', 'cleanup_fit'])


def test_callbacks_run_in_order_then_in_the_order_added():
    calls = []
    def cb(name, order):
        c = type(name, (Callback,), {'order': order, 'before_fit': lambda self, learn: calls.append(name)})
        return c()
    x, y = digits(4)
    Learner(MLP(), nb_03.DataLoader(Dataset(x, y), 4), cbs=[cb('c', 5), cb('a', -1), cb('b', 5)]).fit(1)
    assert calls == ['a', 'c', 'b']


def test_misnamed_event_method_is_refused():
    class Typo(Callback):
        def after_bacth(self, learn): pass
    with pytest.raises(AttributeError, match="after_bacth"): Learner(MLP(), [], cbs=[Typo()])
    with pytest.raises(TypeError, match='Callback instances'): Learner(MLP(), [], cbs=[print])


def test_cancel_batch_skips_the_step_and_the_record():
    train_dl, _ = dls()
    class SkipAll(Callback):
        def after_loss(self, learn):
            if learn.training: raise CancelBatchException()
    model = MLP()
    before = [p.clone() for p in model.parameters()]
    ev = Events()
    learn = Learner(model, train_dl, cbs=[SkipAll(), ev])
    learn.fit(1)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # no step was taken
    assert ev.seen.count('after_cancel_batch') == len(train_dl) and 'after_batch' not in ev.seen
    assert 'after_backward' not in ev.seen and ev.seen[-2:] == ['after_fit', 'cleanup_fit']


def test_cancel_epoch_skips_the_rest_of_the_epoch_and_goes_on():
    train_dl, valid_dl = dls()
    class Stop3(Callback):
        def after_batch(self, learn):
            if learn.training and learn.iter == 2: raise CancelEpochException()
    ev = Events()
    learn = Learner(MLP(), train_dl, valid_dl, cbs=[Stop3(), ev])
    learn.fit(2)
    assert ev.seen.count('after_step') == 6 and ev.seen.count('after_cancel_epoch') == 2
    assert 'before_validate' not in ev.seen and 'after_epoch' not in ev.seen and 'after_fit' in ev.seen


def test_cancel_fit_ends_the_fit_and_says_why():
    train_dl, _ = dls()
    class StopAt(Callback):
        def before_epoch(self, learn):
            if learn.epoch == 2: raise CancelFitException('enough')
    ev = Events()
    learn = Learner(MLP(), train_dl, cbs=[StopAt(), ev])
    learn.fit(10)
    assert ev.seen.count('after_epoch') == 2 and 'after_fit' not in ev.seen
    assert ev.seen[-2:] == ['after_cancel_fit', 'cleanup_fit'] and str(learn.cancelled) == 'enough'


def test_errors_propagate_but_cleanup_runs_and_the_mode_is_restored():
    train_dl, _ = dls()
    class Boom(Callback):
        def after_loss(self, learn): raise RuntimeError('boom')
    ev = Events()
    model = MLP().eval()
    with pytest.raises(RuntimeError, match='boom'): Learner(model, train_dl, cbs=[Boom(), ev]).fit(1)
    assert ev.seen[-1] == 'cleanup_fit' and not model.training


def test_fit_only_callbacks_are_removed_afterwards():
    train_dl, _ = dls()
    learn, ev = Learner(MLP(), train_dl), Events()
    learn.fit(1, cbs=[ev])
    assert ev not in learn.cbs and 'before_fit' in ev.seen


def test_learner_equals_lecture_05_train_model_bit_for_bit():
    for bs in (32, 50):  # 50: the last batch is smaller
        set_all_seeds(3)
        m1 = MLP()
        train_dl, valid_dl = dls(bs)
        h = train_model(m1, 3, train_dl, valid_dl, valid_dl, torch.optim.SGD(m1.parameters(), lr=0.3, momentum=0.5),
                        log=lambda s: None)
        set_all_seeds(3)
        m2 = MLP()
        learn = Learner(m2, train_dl, valid_dl, F.cross_entropy, opt_func=lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.5),
                        lr=0.3, cbs=[DeviceCB('cpu'), MetricsCB(), TrainAccuracyCB()])
        learn.fit(3)
        assert learn.batch_losses == h['minibatch_loss']
        assert [r['train_acc'] for r in learn.history] == h['train_acc']
        assert [r['valid_acc'] for r in learn.history] == h['valid_acc']
        assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters()))


def test_metrics_history_record():
    train_dl, valid_dl = dls(bs=48)
    set_all_seeds(0)
    learn = Learner(MLP(), train_dl, valid_dl, lr=0.5, cbs=[MetricsCB(score_funcs={'n': lambda y, out: len(y)})])
    learn.fit(2)
    df = history_frame(learn.history)
    assert list(df.columns) == [*HISTORY_COLUMNS, 'train_n', 'valid_n', 'time']
    assert df['epoch'].tolist() == [1, 2] and df['time'].is_monotonic_increasing
    assert df['train_n'].tolist() == [256, 256] and df['valid_n'].tolist() == [128, 128]
    assert df['valid_acc'].iloc[-1] == compute_accuracy(learn.model, valid_dl)  # percent, counted the same way
    assert len(learn.batch_losses) == 2 * len(train_dl)
    with pytest.raises(TypeError, match='score_funcs must be a dict'): MetricsCB(score_funcs=[len])


def test_finite_loss_stops_before_the_step():
    x, y = digits(64)
    x[40] = float('nan')
    model = MLP()
    learn = Learner(model, nb_03.DataLoader(Dataset(x, y), 16), cbs=[FiniteLossCB(), MetricsCB()])
    with pytest.raises(FloatingPointError, match=r'epoch 1, training batch 2'): learn.fit(1)
    assert all(p.isfinite().all() for p in model.parameters()) and learn.batch_losses == []  # recorded per finished pass


class CountingData(torch.utils.data.Dataset):
    "64 items that count their reads (in shared memory, so worker processes count too)."
    def __init__(self): self.reads = torch.zeros((), dtype=torch.int64).share_memory_()
    def __len__(self): return 64
    def __getitem__(self, i):
        self.reads += 1
        return torch.zeros(1), torch.zeros(1)


@pytest.mark.parametrize('workers', [0, 2])
def test_progress_reads_each_loader_once_per_epoch(workers, capsys):
    data = CountingData()
    dl = TorchDataLoader(data, batch_size=8, shuffle=True, num_workers=workers)
    Learner(nn.Linear(1, 1), dl, dl, F.mse_loss, cbs=[MetricsCB(accuracy=False), ProgressCB()]).fit(2)
    assert data.reads.item() == 2 * 2 * 64  # two passes (train, valid) per epoch, each reads every item once
    err = capsys.readouterr().err
    assert 'epochs' in err and '2/2' in err and 'train_loss=' in err


def test_progress_keeps_the_shuffle_of_a_plain_loop():
    x, y = digits(64)
    ds = torch.utils.data.TensorDataset(x, y)
    order = lambda: [yb.tolist() for _, yb in TorchDataLoader(ds, batch_size=16, shuffle=True)]
    torch.manual_seed(0)
    plain = order() + order()
    seen = []
    class Seen(Callback):
        def before_batch(self, learn): seen.append(learn.yb.tolist())
    learn = Learner(MLP(), TorchDataLoader(ds, batch_size=16, shuffle=True), lr=0.0, cbs=[Seen(), ProgressCB()])
    torch.manual_seed(0)  # after the model's initialization: only the loader draws from here on
    learn.fit(2)
    assert seen == plain


def test_schedule_per_epoch_per_batch_and_plateau():
    train_dl, valid_dl = dls()
    learn = Learner(MLP(), train_dl, valid_dl, lr=0.4, cbs=[MetricsCB(), ScheduleCB(lambda o: lr_scheduler.StepLR(o, 1, 0.5))])
    learn.fit(3)
    assert [r['lr'] for r in learn.history] == [0.4, 0.2, 0.1]
    lrs = []
    class LRs(Callback):
        def after_step(self, learn): lrs.append(learn.opt.param_groups[0]['lr'])
    learn = Learner(MLP(), train_dl, lr=0.4, cbs=[LRs(), ScheduleCB(lambda o: lr_scheduler.LinearLR(o, 1.0, 0.0, 2 * len(train_dl)), per='batch')])
    learn.fit(2)
    n = 2 * len(train_dl)  # the rate each step used: LinearLR scales it by 1 - k/n after step k
    assert lrs == pytest.approx([0.4 * (1 - k / n) for k in range(n)])
    plateau = lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=0, factor=0.5)
    with pytest.raises(ValueError, match='needs validation data'): Learner(MLP(), train_dl, cbs=[MetricsCB(), ScheduleCB(plateau)]).fit(1)
    with pytest.raises(ValueError, match="per='epoch'"): Learner(MLP(), train_dl, valid_dl, cbs=[ScheduleCB(plateau, per='batch')]).fit(1)
    with pytest.raises(ValueError, match="'batch' or 'epoch'"): ScheduleCB(plateau, per='step')
    other = torch.optim.SGD(MLP().parameters(), lr=0.1)
    with pytest.raises(ValueError, match='different optimizer'): Learner(MLP(), train_dl, cbs=[ScheduleCB(lr_scheduler.StepLR(other, 1))]).fit(1)


class ValidLosses(Callback):
    "Replaces the recorded validation loss by a fixed sequence (to drive early stopping)."
    order = 5
    def __init__(self, seq): self.seq = seq
    def after_epoch(self, learn): learn.history[-1]['valid_loss'] = self.seq[learn.epoch]


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    train_dl, valid_dl = dls()
    snaps = {}
    class Snap(Callback):
        order = 30
        def after_epoch(self, learn): snaps[learn.epoch] = [p.clone() for p in learn.model.parameters()]
    es = EarlyStoppingCB(patience=2)
    learn = Learner(MLP(), train_dl, valid_dl, lr=0.3, cbs=[MetricsCB(), ValidLosses([3, 2, 2.5, 2.1, 1, 0]), es, Snap()])
    learn.fit(6)
    assert len(learn.history) == 4 and es.best_epoch == 2 and 'valid_loss has not improved for 2 epochs' in str(learn.cancelled)
    assert all(torch.equal(a, b) for a, b in zip(snaps[1], learn.model.parameters()))
    es = EarlyStoppingCB(monitor='valid_acc', mode='max', patience=1, restore_best=False)
    learn = Learner(MLP(), train_dl, valid_dl, cbs=[MetricsCB(), es])
    learn.fit(2)
    with pytest.raises(KeyError, match="monitors 'valid_R2'"): Learner(MLP(), train_dl, valid_dl, cbs=[MetricsCB(), EarlyStoppingCB('valid_R2', mode='max')]).fit(1)
    with pytest.raises(ValueError, match='mode'): EarlyStoppingCB(mode='up')


def full_setup(ck, resume=False, seed=1):
    train_dl, valid_dl = dls()
    set_all_seeds(seed)
    return Learner(MLP(), train_dl, valid_dl, lr=0.3, cbs=[
        MetricsCB(), ScheduleCB(lambda o: lr_scheduler.StepLR(o, 2, 0.5)), EarlyStoppingCB(patience=3), CheckpointCB(ck, resume)])


def test_checkpoint_resume_is_bit_identical(tmp_path):
    full = full_setup(tmp_path/'full.pt')
    full.fit(5)
    full_setup(tmp_path/'part.pt').fit(2)
    resumed = full_setup(tmp_path/'part.pt', resume=True, seed=77)
    resumed.fit(5)
    strip = lambda h: [{k: v for k, v in r.items() if k != 'time'} for r in h]
    assert strip(resumed.history) == strip(full.history) and resumed.batch_losses == full.batch_losses
    assert all(torch.equal(a, b) for a, b in zip(full.model.parameters(), resumed.model.parameters()))
    state = torch.load(tmp_path/'part.pt', weights_only=True)
    assert state['epoch'] == 5 and sorted(state['callbacks']) == ['EarlyStoppingCB', 'MetricsCB', 'ScheduleCB']


def test_checkpoint_refuses_another_setup(tmp_path):
    train_dl, _ = dls()
    Learner(MLP(), train_dl, cbs=[MetricsCB(), CheckpointCB(tmp_path/'ck.pt')]).fit(1)
    with pytest.raises(ValueError, match='callbacks that keep state'):
        Learner(MLP(), train_dl, cbs=[MetricsCB(), ScheduleCB(lambda o: lr_scheduler.StepLR(o, 1)), CheckpointCB(tmp_path/'ck.pt', True)]).fit(2)


def test_checkpoint_folder_that_is_a_file_fails_before_training(tmp_path):
    train_dl, _ = dls()
    (tmp_path/'file').write_text('not a folder')
    ev = Events()
    with pytest.raises(PermissionError, match='cannot write the checkpoint'):
        Learner(MLP(), train_dl, cbs=[ev, CheckpointCB(tmp_path/'file'/'ck.pt')]).fit(1)
    assert 'before_batch' not in ev.seen


def test_logging_to_a_logger_and_to_print(capsys):
    train_dl, valid_dl = dls()
    buf = io.StringIO()
    logger = logging.getLogger('test_learner'); logger.handlers[:] = [logging.StreamHandler(buf)]; logger.setLevel(logging.INFO)
    Learner(MLP(), train_dl, valid_dl, cbs=[MetricsCB(), LoggingCB(logger, every=3)]).fit(2)
    lines = buf.getvalue().splitlines()
    assert sum('| batch ' in l for l in lines) == -(-2 * len(train_dl) // 3)
    assert lines[-1].startswith('epoch 002/002 | train loss ') and 'valid acc ' in lines[-1] and lines[-1].endswith('%')
    Learner(MLP(), train_dl, cbs=[MetricsCB(), LoggingCB(every=100)]).fit(1)
    assert capsys.readouterr().out.startswith('epoch 001/001 | batch 0000/0008 | loss ')
    with pytest.raises(ValueError, match='add a MetricsCB'): Learner(MLP(), train_dl, cbs=[LoggingCB()]).fit(1)


def test_device_cb_moves_model_and_batches():
    train_dl, _ = dls()
    seen = []
    class Where(Callback):
        def after_pred(self, learn): seen.append((learn.xb.device.type, next(learn.model.parameters()).device.type))
    Learner(MLP(), train_dl, cbs=[DeviceCB('cpu'), Where()]).fit(1)
    assert set(seen) == {('cpu', 'cpu')}


def test_train_network_with_no_epochs_returns_an_empty_history_with_the_columns():
    train_dl, valid_dl = dls()
    h = train_network(MLP(), F.cross_entropy, train_dl, valid_dl, {'n': len}, epochs=0, device='cpu', progress=False)
    assert h.empty and list(h.columns) == ['epoch', 'total time', 'lr', 'train loss', 'test loss', 'train n', 'test n']
    h = train_network(MLP(), F.cross_entropy, train_dl, epochs=0, device='cpu', progress=False)
    assert list(h.columns) == ['epoch', 'total time', 'lr', 'train loss']
    with pytest.raises(ValueError, match='epochs must be a whole number >= 0, got -1'): Learner(MLP(), train_dl).fit(-1)



def test_a_skipped_batch_records_neither_loss_nor_learning_rate():
    "results.yaml pairs minibatch_loss with minibatch_lr: a cancelled batch must drop out of both."
    class SkipOdd(Callback):
        order = 1
        def after_loss(self, learn):
            if learn.training and learn.iter % 2: raise CancelBatchException()
    train_dl, valid_dl = dls()
    learn = Learner(MLP(), train_dl, valid_dl, cbs=[MetricsCB(), SkipOdd()])
    learn.fit(1)
    assert len(learn.batch_lrs) == len(learn.batch_losses) == -(-len(train_dl) // 2)


def test_one_callback_without_a_list():
    train_dl, valid_dl = dls()
    learn = Learner(MLP(), train_dl, valid_dl, cbs=MetricsCB())
    assert len(learn.cbs) == 1 and isinstance(learn.cbs[0], MetricsCB)


def test_score_functions_get_float_outputs_from_a_bfloat16_model():
    "NumPy has no bfloat16: MetricsCB hands score functions float32 outputs."
    set_all_seeds(0)
    dl = TorchDataLoader(torch.utils.data.TensorDataset(torch.rand(32, 784), torch.arange(32) % 10), 16)
    seen = []
    def score(y, out): seen.append(str(out.dtype)); return float((out.argmax(1) == y).mean())
    learn = Learner(nn.Sequential(MLP(), nn.Identity()).to(torch.bfloat16), dl, dl, cbs=[DeviceCB('cpu'), MetricsCB(score_funcs={'s': score})])
    learn.model.register_forward_pre_hook(lambda m, args: (args[0].to(torch.bfloat16),))
    learn.fit(1)
    assert seen and set(seen) == {'float32'} and 'valid_s' in learn.history[0]


def test_a_failed_cleanup_is_logged_where_errors_take_no_notes(caplog):
    "Python 3.10's exceptions have no add_note: the clean-up failure goes to the log, and the fit's own error is raised."
    class OldError(RuntimeError):
        def __getattribute__(self, name):
            if name == 'add_note': raise AttributeError(name)
            return super().__getattribute__(name)
    class Fails(Callback):
        def before_fit(self, learn): raise OldError('fit failed')
        def cleanup_fit(self, learn): raise ValueError('cleanup failed')
    dl = TorchDataLoader(torch.utils.data.TensorDataset(torch.rand(8, 784), torch.arange(8)), 4)
    with caplog.at_level(logging.ERROR), pytest.raises(OldError, match='fit failed'): Learner(MLP(), dl).fit(1, cbs=[Fails()])
    assert 'while cleaning up after OldError: Fails.cleanup_fit raised ValueError: cleanup failed' in caplog.text
