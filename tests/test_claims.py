"""tools/claims.py: every number a lecture's markdown states is shown by a code cell of the lecture (source or output)."""
import json
import pytest
from nbformat import v4

from tools import claims
from tools.claims import ALLOWED, claims as numbers_in, lectures, main, unshown


def notebook(*cells):
    "A notebook from ('md', text), ('code', source) and ('code', source, printed output) tuples."
    made = []
    for kind, text, *out in cells:
        if kind == 'md': made.append(v4.new_markdown_cell(text))
        else: made.append(v4.new_code_cell(text, outputs=[v4.new_output('stream', name='stdout', text=o) for o in out]))
    return v4.new_notebook(cells=made)


def found(nb, allowed=None):
    return [text for _, text in unshown(nb, '99', allowed or {})]


@pytest.mark.parametrize('path', lectures([]), ids=lambda p: p.stem)
def test_every_number_in_a_lecture_is_shown_by_its_cells(path):
    nb = json.loads(path.read_text())
    missing = [f"cell {i + 1} (id {nb['cells'][i].get('id')}): {text}" for i, text in unshown(nb, path.name[:2])]
    assert not missing, (f"{path.name} states numbers no cell of it shows — compute and print each, reword, or (definitions "
                         f"only) allow-list it in tools/claims.py:\n  " + '\n  '.join(missing))


def test_an_uncomputed_number_is_caught_and_a_printed_one_accepted():
    text = ('md', 'The network reaches 93.1 % validation accuracy.')
    assert found(notebook(text, ('code', 'acc = train()'))) == ['93.1 %']
    assert found(notebook(text, ('code', 'acc = train()\nprint(acc)', '93.08\n'))) == []  # rounds to what the text says
    assert found(notebook(text, ('code', 'print(acc)', '93.18\n'))) == ['93.1 %']          # rounds to 93.2: not shown
    assert found(notebook(text, ('code', 'acc = train()  # 93.1 when measured once'))) == ['93.1 %']  # a comment shows nothing


@pytest.mark.parametrize('written, shown', [
    ('60,000 images', '60000'), ('1,000 steps', 'n = 1_000'), ('lr 1e-3', 'lr=0.001'), ('lr 0.001', 'lr=1e-3'),
    ('17 % of them', '0.17'), ('2× faster', 'ratio 2.04'), ('about 1.2 M parameters', '1,234,567'),
    ('$e^{88.7} \\approx 3.4 \\times 10^{38}$', '3.4028e+38'), ('within $10^{-6}$', 'tol = 1e-6'),
    ('$m = 784$', 'x.view(-1, 784)'),
    ('5k images', '5000'), ('a drop of −0.5', '-0.5'), ('0.50', '0.5'),
])
def test_the_same_number_in_other_spellings_is_shown(written, shown):
    assert found(notebook(('md', written), ('code', shown))) == []
    assert found(notebook(('md', written), ('code', 'pass'))) != []


def test_what_is_not_a_claim_is_not_checked():
    md = """# 05 — A title
## 3.2 A numbered section

1. a list item
2) another
See lecture 06, lectures 08–10, cell 12, figure 3, sections 2 and 3, exercise 4, step 0.
Python 3.11, torch 2.14.1, PyYAML 6.0 and YAML 1.1; measured 2026-11-22; (Kingma & Ba, 2015) and (He et al., 2015).
Names: `nb_05`, float32, Fashion-MNIST, ResNet-18, RTX 30xx, 05_custom_dataloader.ipynb,
[a link](https://x.org/abs/1412.6980).
Math that defines: $\\sigma(z) = 1/(1 + e^{-z})$, $W_2 \\in R^{n \\times 10}$, $\\frac{2}{10N}$.

## Exercises

1. Try learning rates 0.05, 0.5 and 5."""
    assert numbers_in(md.split('## Exercises')[0]) == [] and found(notebook(('md', md))) == []


def test_a_number_is_found_in_a_sentence_with_references_and_markup():
    md = "Lecture 04 chose **1.0** on validation; here (section 2) it reaches *87.3 %* in `12.5 s`."
    assert [n.text for n in numbers_in(md)] == ['1.0', '87.3 %', '12.5']


def test_the_allow_list_exempts_a_definition_only_where_listed():
    nb = notebook(('md', 'MNIST has 60,000 training images.'))
    assert found(nb) == ['60,000']
    assert found(nb, {'99': [('60,000', 'the published training split')]}) == []
    assert found(nb, {'98': [('60,000', 'another lecture')]}) == ['60,000']


def test_every_allowed_entry_has_a_reason_and_one_number():
    for nn, entries in ALLOWED.items():
        for number, reason in entries:
            assert len(numbers_in(number)) == 1 and len(reason.split()) >= 4, (nn, number, reason)


def test_the_command_lists_and_fails(capsys, monkeypatch, tmp_path):
    nbs = tmp_path/'nbs'
    nbs.mkdir()
    (nbs/'00_x.ipynb').write_text(json.dumps(notebook(('md', 'It takes 42 s.'), ('code', 'pass'))))
    monkeypatch.setattr(claims, 'REPO', tmp_path)
    assert main([]) == 1
    out = capsys.readouterr().out
    assert '00_x: cell 1 of 2' in out and out.splitlines()[0].endswith(': 42')
    (nbs/'00_x.ipynb').write_text(json.dumps(notebook(('md', 'It takes 42 s.'), ('code', 'print(t)', '42.0\n'))))
    assert main(['00']) == 0 and capsys.readouterr().out == ''


def test_it_reads_every_lecture():
    "Every lecture parses: each unshown number comes with its cell and its text."
    for path in lectures([]):
        for i, text in unshown(json.loads(path.read_text()), path.name[:2]): assert isinstance(i, int) and text, (path.name, i)
