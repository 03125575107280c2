"""The splits rule: validation drives every choice, the test split is read once at the end of a lecture.

`get_test_data` is the only function that hands out a test split; `tools.notebooks.split_rule_violations` checks a
lecture for reading it — directly, through a variable that holds it (`test_dl`, `x_test`, `train_model`'s 5th argument)
or by launching the training command without `evaluate_test: false` — more than once, anywhere but the last section
before its summary, or training or choosing (`TRAIN_OR_CHOOSE`) after reading it. Every lecture is held to it (tools/rules.py, tests/test_lectures.py); here the
rule itself is tested."""
import nbformat, pytest
from tools.notebooks import lecture_paths, reads_test_split, split_rule_violations


def test_lecture_04_reports_test_accuracy():
    "Lecture 04 does read the test split (so the rule above is not met vacuously there)."
    nb = nbformat.read(lecture_paths(['04'])[0], as_version=4)
    assert sum('get_test_data(' in c.source for c in nb.cells if c.cell_type == 'code') == 1


def lecture(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(s[3:]) if s.startswith('md:') else nbformat.v4.new_code_cell(s) for s in cells]
    return nb


GOOD = ('md:## Training', 'history = fit(3, model, loss_func, opt, *dls)', 'lr = max(lrs, key=score.get)',
        'md:## The test set, read once', 'x_test, y_test = get_test_data()\nprint(compute_accuracy(model, test_dl))',
        'md:## Summary', 'def answer(x): raise NotImplementedError', "solved = check('04', 'answer', answer)")


def test_the_rule_passes_a_lecture_that_follows_it():
    assert split_rule_violations(lecture(*GOOD)) == []
    assert split_rule_violations(lecture('md:## Exports', "#| export\ndef get_test_data(dataset=None): ...", *GOOD[:3], 'md:## Summary')) == []


@pytest.mark.parametrize('cells, message', [
    (('md:## Test first', 'x, y = get_test_data()', *GOOD), 'read it once'),
    (('md:## Data', 'x_test, y_test = get_test_data()', 'md:## Training', 'fit(3, model, loss_func, opt, *dls)', 'md:## Summary'),
     "section 'Data', not in the last section before the summary ('Training')"),
    ((*GOOD[:5], 'lr = max(lrs, key=test_score.get)', *GOOD[5:]), "calls ['max'] after the test split was read"),
    ((*GOOD[:5], 'model.train(); loss.backward(); opt.step()', *GOOD[5:]), "calls ['backward', 'step', 'train'] after"),
    (('md:## Data', "x, y = idx_digits('mnist', train=False)", *GOOD[:3], 'md:## Summary'), "section 'Data', not in the last"),
    (('md:## Data', "ix = embedded_split()['test']", 'fit(1, m, l, o, *dls)', 'md:## Summary'), "calls ['fit'] after"),
    ((*GOOD[:5],), "no '## Summary' section"),
    # a variable holding the test split, used: a read
    (('md:## Data', 'h = train_model(m, 2, train_dl, valid_dl, test_dl, opt)', *GOOD[:3], 'md:## Summary'), "section 'Data'"),
    (('md:## Data', 'h = train_model(m, 2, *get_dataloaders(32), opt)', *GOOD[:3], 'md:## Summary'), "section 'Data'"),
    (('md:## Data', 'show_examples(model, test_dl)', *GOOD[:3], 'md:## Summary'), "section 'Data'"),
    (('md:## Data', 'print(compute_accuracy(learn.model, data.test_dl))', *GOOD[:3], 'md:## Summary'), "section 'Data'"),
    # the training command reads the test split after training unless told `evaluate_test: false`
    (('md:## Command', 'out = !python -m helpers.train --settings_path s.yaml --results_path r', *GOOD[:3], 'md:## Summary'),
     "section 'Command'"),
    (('md:## Command', "job = run_torchrun(['-m', 'helpers.train', '--settings_path', p, '--results_path', r], nproc=2)",
      *GOOD[:3], 'md:## Summary'), "section 'Command'"),
    (('md:## Command', "train_command(['--settings_path', 's.yaml', '--results_path', 'r'])", *GOOD[:3], 'md:## Summary'),
     "section 'Command'"),
])
def test_the_rule_catches_each_violation(cells, message):
    problems = split_rule_violations(lecture(*cells))
    assert problems, "the rule missed a violation"
    if message: assert any(message in p for p in problems), problems


@pytest.mark.parametrize('cell', [
    'h = train_model(m, 2, train_dl, valid_dl, None, opt)',            # no test loader: nothing read
    'train_dl, valid_dl, test_dl = get_dataloaders(32)',               # defining is not reading
    'print(len(test_ds), len(data.test_dl))',                         # nor is a size
    'def run(dl):\n    return train_model(m, 1, *get_dataloaders(8), opt)',  # a definition reads nothing until called
    'help_text = !python -m helpers.train --help',                     # --help trains nothing
    "s = dict(base, evaluate_test=False)\nout = !python -m helpers.train --settings_path {s} --results_path r",
    "save_yaml({'evaluate_test': False}, p)\njob = run_torchrun(['-m', 'helpers.train', '--settings_path', p], nproc=2)",
    "from helpers.train_command import DIST_TIMEOUT_S",
    "print(results['test_acc'])",                                       # a number already reported, not the split
])
def test_what_does_not_read_the_test_split(cell):
    assert not reads_test_split(cell), cell
    assert split_rule_violations(lecture('md:## Training', cell, 'fit(1, m, l, o, *dls)', 'md:## Summary')) == []
