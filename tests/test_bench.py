"The benchmark's code paths at tiny sizes. No timing target is checked here: speed is reported by `python -m bench.run`."
import math
import nbformat, pytest, torch
from nbformat.v4 import new_code_cell, new_notebook

import exp.nb_05
from exp.nb_10 import MLP, get_cnn
from exp.nb_01 import embedded_digits, to_float_rows
from tools.notebooks import REPO
from bench import cnn, course, distributed, distributed_gpu, fashion, loading, optimizers, run, training
from bench.timing import Row, Section, Target, interleaved, rate, ratios


def finite_positive(rows): return all(len(r.values) and all(math.isfinite(v) and v > 0 for v in r.values) for r in rows)


def test_row_and_target():
    r = Row('x', [3.0, 1.0, 2.0], fmt='{:.1f}')
    assert r.median == 2.0 and r.spread() == '1.0–3.0' and Row('y', [5.0]).spread() == '—'
    assert Target('a', 0.95, 0.9).met and Target('a', 0.95, 0.9).verdict() == 'met'
    assert Target('b', 0.45, 0.9).verdict() == 'missed by 50%'
    assert Target('c', 130, 120, '<=').verdict() == 'missed by 8%' and Target('d', 100, 120, '<=').met


def test_interleaved_rotates_and_ratios():
    calls = []
    got = interleaved({k: (lambda k=k: calls.append(k) or len(calls)) for k in 'abc'}, 3)
    assert calls == list('abcbcacab')  # every method once per repeat, a different one first each time
    assert {k: len(v) for k, v in got.items()} == {'a': 3, 'b': 3, 'c': 3}
    assert ratios([2, 6], [1, 3]) == [2, 2]
    n = []
    assert rate(lambda: n.append(1), 10, 0.0) > 0 and len(n) == 1


def test_training_section_tiny():
    s = training.training_section(batch_sizes=(32,), repeats=2, n_train=96, epochs=1, matmul_n=64, matmul_time=0.0)
    names = [r.name for r in s.rows]
    assert 'bs 32: slicing loop (baseline)' in names and 'bs 32: get_dls + fit / slicing' in names
    assert 'bs 32: Learner + MetricsCB (the history) / shuffled hand-written loop' in names
    assert "bs 32: Learner with the command's per-batch callbacks (device, finite loss, metrics) / slicing" in names
    assert 'bs 32: one do-nothing callback on every event, per batch' in names
    rates = [r for r in s.rows if r.unit in ('samples/s', '×', 'GFLOP/s')]
    assert any(n.startswith('FLOP ceiling') for n in names) and finite_positive(rates)
    assert all(len(r.values) == 2 and all(math.isfinite(v) for v in r.values) for r in s.rows)  # costs may be < 0 in noise
    assert [t.name for t in s.targets] == ['bs 32: course: Learner + MetricsCB (the history) / slicing loop',
                                           'bs 32: course: get_dls + fit / slicing loop']


def test_course_paths_train():
    xt, yt, xv, yv = embedded_digits()
    x, v = to_float_rows(xt[:64]), to_float_rows(xv[:16])
    for f in (training.course_train_model, training.course_learner, training.course_fit):
        assert f(x, yt[:64], v, yv[:16], bs=32, epochs=1) is None
    assert training.FLOP_PER_SAMPLE == 319_600


def test_optimizers_section_tiny():
    s = optimizers.optimizers_section(repeats=2, steps=3)
    names = [r.name for r in s.rows]
    assert names[:4] == [f'{m}: time per step' for m in optimizers.METHODS]
    assert names[4:] == ['course adam / torch Adam, default', 'course adam / torch Adam, foreach=False',
                         'course adam / torch Adam, foreach=True'] and finite_positive(s.rows)
    assert all(len(r.values) == 2 for r in s.rows)
    t = s.targets[0]
    assert t.bound == 2.0 and t.op == '<=' and t.measured == s.rows[4].median and 'foreach' in s.notes[0]


def test_optimizers_section_times_the_same_update():
    "The timed optimizers make the same Adam step (so the comparison is fair): equal weights after 3 steps."
    opts = {name: optimizers.ready(make) for name, make in optimizers.METHODS.items()}
    for o in opts.values():
        for _ in range(3): o.step()
    weights = [torch.cat([p.detach().flatten() for p in o.param_groups[0]['params']]) for o in opts.values()]
    assert all(torch.allclose(w, weights[0], atol=1e-6) for w in weights[1:])


def test_loading_section_tiny():
    s = loading.loading_section(repeats=1, batch_size=128, min_time=0.0)
    assert [r.name for r in s.rows][-2] == 'cache / plain' and finite_positive(s.rows)
    assert s.targets[0].name == 'cache (epoch ≥ 2) / plain' and '768 PNGs' in s.notes[0]


def test_as_tensors_matches_the_dataset():
    plain = exp.nb_05.get_dataloaders(64)
    x, y = loading.as_tensors(plain)
    assert x.shape == (768, 1, 28, 28) and y.dtype == torch.int64
    assert torch.equal(x[0], plain[0].dataset[0][0]) and int(y[-1]) == int(plain[2].dataset[255][1])


def test_fashion_skips_with_install_hint(monkeypatch, capsys):
    def absent(*args, **kwargs): raise FileNotFoundError('no files')
    monkeypatch.setattr(fashion, 'get_data', absent)
    assert fashion.load_fashion() is None
    s = fashion.fashion_section()
    assert s.rows == [] and s.targets == [] and 'apt-get install dataset-fashion-mnist' in s.notes[0]
    assert run.main(['--quick', '--sections', 'fashion']) == 0
    progress = capsys.readouterr().out.split('\n\n')[0]  # the lines printed while the sections run, before the table
    assert 'fashion done in' in progress and 'SKIPPED' in progress and 'apt-get install dataset-fashion-mnist' in progress


def test_fashion_section_tiny_reads_test_once_per_model(monkeypatch):
    "Curves and the time-to-accuracy mark come from validation; each trained model reads the test images once, after training."
    xt, yt, xv, yv = embedded_digits()
    x, y = to_float_rows(xt), yt
    data = (x[:400], y[:400]), (x[400:600], y[400:600]), (to_float_rows(xv[:200]), yv[:200])
    reads, acc = [], fashion.compute_accuracy
    def counting(model, dl, *a):
        if dl.dataset.x.shape[0] == 200 and torch.equal(dl.dataset.y, data[2][1]): reads.append(model)
        return acc(model, dl, *a)
    monkeypatch.setattr(fashion, 'compute_accuracy', counting)
    s = fashion.fashion_section(course_repeats=2, sklearn_repeats=1, data=data, epochs=2, sklearn_max_iter=2, cnn_epochs=2)
    assert len(reads) == 3 and len({id(m) for m in reads}) == 3  # 2 MLPs + 1 CNN, once each
    rows = {r.name: r for r in s.rows}
    cnn_test, cnn_secs = rows['course CNN: test accuracy (read once, after training)'], rows['course CNN: seconds of training (whole fit_one_cycle)']
    assert s.rows[0].name == 'course CNN: validation accuracy' and len(cnn_test.values) == 1 and 0 <= cnn_test.values[0] <= 100
    assert cnn_secs.values[0] > 0
    mlp = rows['course MLP: test accuracy (read once, after training)']
    assert len(mlp.values) == 2 and all(0 <= a <= 100 for a in mlp.values)
    assert any('not converged' in n for n in s.notes) and any(n.startswith('Course CNN: ') for n in s.notes)
    assert any('400 training / 200 validation / 200 test images' in n for n in s.notes)
    assert s.rows[-1].name.startswith('published: MLP 256-128-100') and s.rows[-1].values == [88.33]
    names = [t.name for t in s.targets]
    assert names[:3] == ['course CNN test accuracy (%), reported', 'course CNN seconds of training', 'course MLP test accuracy (%), reported']
    assert s.targets[0].bound == 92.5 and s.targets[1].bound == 300 and s.targets[1].op == '<='


def test_the_mlp_recipe_is_the_one_chosen_on_validation():
    import json
    record = json.loads((fashion.Path(fashion.__file__).parent/'mlp_recipe.json').read_text())
    assert fashion.mlp_recipe() == record['chosen']
    best = max((r for r in record['runs'] if r['seed'] == 0), key=lambda r: r['valid_acc'])
    assert best['valid_acc'] <= next(r['valid_acc'] for r in record['runs'] if r['recipe'] == record['chosen'] and r['seed'] == 0)


def test_cnn_section_tiny():
    s = cnn.cnn_section(repeats=2, n_train=640)
    assert [r.name for r in s.rows] == ['CNN: hand-written loop (baseline)', 'CNN: course Learner + MetricsCB',
                                        'CNN: course fit_one_cycle (course AdamW, one-cycle, validation)',
                                        'CNN: Learner + MetricsCB / hand-written loop']
    assert finite_positive(s.rows) and all(len(r.values) == 2 for r in s.rows)
    assert [t.name for t in s.targets] == ['CNN: course Learner / hand-written loop'] and s.targets[0].bound == 0.9


def test_cnn_paths_train_the_same_model(monkeypatch):
    "The Learner and the hand-written loop of section 7 start from the same weights and both train them."
    x, y = to_float_rows(embedded_digits()[0][:64]), embedded_digits()[1][:64]
    before = [p.clone() for p in cnn._model_opt()[0].parameters()]
    made, make = [], cnn._model_opt
    monkeypatch.setattr(cnn, '_model_opt', lambda seed=0: made.append(make(seed)) or made[-1])
    for f in (cnn.hand_loop, cnn.course_learner): f(x, y, bs=32, epochs=1)
    assert len(made) == 2 and all(not torch.equal(a, b) for m, _ in made for a, b in zip(before, m.parameters()) if a.ndim > 1)


def test_time_to():
    curve = [(1.0, 80.0), (2.0, 85.0), (3.0, 84.0)]
    assert fashion.time_to(curve, 84.5) == 2.0 and fashion.time_to(curve, 90) is None


def test_course_section_runs_copies_in_both_modes(tmp_path):
    nb = tmp_path/'99_probe.ipynb'
    nbformat.write(new_notebook(cells=[new_code_cell("import os\nassert os.environ['DLF_QUICK'] == '1', 'default mode'")]), nb)
    before = nb.read_bytes()
    s = course.course_section({'quick': 1, 'default': 1}, paths=[nb])
    assert [r.name for r in s.rows] == ['quick: 99_probe', 'quick: total of 1 lecture', 'default: 99_probe',
                                        'default: total of 1 lecture'] and finite_positive(s.rows)
    assert any(n.startswith('FAILED: default mode, run 1: 99_probe') for n in s.notes)
    assert not any('quick mode' in n for n in s.notes if n.startswith('FAILED'))
    assert nb.read_bytes() == before and not list(REPO.glob('.bench-course-*'))


def test_main_partial_run_writes_only_where_asked(tmp_path, capsys):
    results = run.RESULTS.read_bytes() if run.RESULTS.exists() else None
    out = tmp_path/'r.md'
    assert run.main(['--quick', '--sections', 'loading', '--out', str(out)]) == 0
    text = out.read_text()
    assert '## Machine' in text and '- torch threads:' in text and '| measurement | median | min–max |' in text
    assert 'no target is judged' in text and '- none measured' in text  # quick sizes judge no target
    assert run.main(['--quick', '--sections', 'loading']) == 0
    assert 'results not written' in capsys.readouterr().out
    assert (run.RESULTS.read_bytes() if run.RESULTS.exists() else None) == results


def test_bad_repeats_are_refused(capsys):
    with pytest.raises(SystemExit): run.main(['--course-repeats', '2', '0'])
    assert "argument --course-repeats: '0' is not a repeat count; use 1 or more" in capsys.readouterr().err


def test_report_format():
    s = Section('9. Demo', rows=[Row('thing', [1.0, 2.0, 4.0], 'x', '{:.1f}', 'note')],
                targets=[Target('thing', 2.0, 3.0)], notes=['hello'])
    text = run.report([s], {'CPU': 'test'}, 'python -m bench.run', 60)
    assert '| thing | 2.0 | 1.0–4.0 | 3 | x | note |' in text and '- thing: 2.00 (target >= 3.00) — missed by 33%' in text
    assert '- CPU: test' in text and '- 9. hello' in text


def test_distributed_section_tiny():
    "One launch of 1 and one of 2 processes (torchrun, gloo): throughputs and the efficiency computed from them."
    s = distributed.distributed_section(repeats=1, batch_sizes=(16,), epochs=2, n_train=128, cnn_batch_sizes=())
    names = [r.name for r in s.rows]
    assert names == ['MLP 784-100-10, batch 16 per process, 1 process: training throughput',
                     'MLP 784-100-10, batch 16 per process, 2 processes: training throughput',
                     'MLP 784-100-10, batch 16 per process: scaling efficiency, throughput 2 / (2 × throughput 1)']
    assert finite_positive(s.rows) and all(len(r.values) == 1 for r in s.rows)
    one, two, eff = (r.values[0] for r in s.rows)
    assert eff == pytest.approx(two / (2 * one))


def test_distributed_worker_trains_the_cnn():
    "The section's CNN rows come from the same worker with --model cnn: one launch of one process here."
    assert distributed.throughput(1, bs=16, epochs=2, n_train=64, model='cnn') > 0
    assert distributed.n_weights(get_cnn()) == 117_882 and distributed.n_weights(MLP()) == 79_510


def test_efficiency_rows_pair_the_repeats():
    rows = distributed.efficiency_rows({1: [100.0, 200.0], 4: [200.0, 400.0]}, 'x')
    assert rows[-1].name == 'x: scaling efficiency, throughput 4 / (4 × throughput 1)' and rows[-1].values == [0.5, 0.5]
    assert len(distributed.efficiency_rows({1: [5.0]}, 'one GPU')) == 1  # nothing to compare: no efficiency row


def test_gpu_script_without_gpus_says_so(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 0)
    assert distributed_gpu.main([]) == 1
    assert 'no CUDA GPU on this machine' in capsys.readouterr().err
