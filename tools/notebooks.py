"""Execute lecture notebooks in a fresh kernel and write them back in the committed format.

The committed format suits both nbdev-test and nbval: every code cell that has outputs keeps its execution count
(nbval rejects outputs without one, which is why `nbdev-clean` is not used on the lectures), cell ids are stable,
and metadata, object addresses and timings are stripped.
"""
from __future__ import annotations
import ast, copy, os, platform, re, time
from contextlib import contextmanager
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
NBS = REPO/'nbs'
# The notebook metadata JupyterLab writes when it opens a lecture with the course's kernel (measured with JupyterLab
# 4.6.6 and ipykernel 7.4): committing exactly this keeps an opened lecture unmodified. The version is the Python that
# runs the kernel, i.e. this interpreter.
KERNELSPEC = {'display_name': 'Python 3 (ipykernel)', 'language': 'python', 'name': 'python3'}
LANGUAGE_INFO = {'codemirror_mode': {'name': 'ipython', 'version': 3}, 'file_extension': '.py', 'mimetype': 'text/x-python',
                 'name': 'python', 'nbconvert_exporter': 'python', 'pygments_lexer': 'ipython3',
                 'version': platform.python_version()}
NB_METADATA = {'kernelspec': KERNELSPEC, 'language_info': LANGUAGE_INFO}
MARKER = '# Course set-up'  # in the first lines of the set-up cell (the second cell of every lecture, see tools.setup_cell)
# The set-up cell's metadata, the only cell metadata kept: collapsed in JupyterLab and in Colab's form view, and
# removed from the website (myst-nb's `remove-cell` tag).
SETUP_METADATA = {'cellView': 'form', 'jupyter': {'source_hidden': True}, 'tags': ['remove-cell']}
_ADDRESS = re.compile(r' at 0x[0-9a-fA-F]+')
LEAK = re.compile(r'(/root/|/home/[a-z]|/tmp/|/work/|/Users/|[A-Z]:\\{1,2}Users)')  # one backslash in text, two in JSON


LECTURE_NAME = re.compile(r'(\d\d)_[a-z0-9_]+\.ipynb')  # '03_minibatch_training.ipynb'; not a copy like '03_…-Copy1.ipynb'


def lecture_paths(selected=(), nbs: Path = NBS) -> list[Path]:
    "The lecture notebooks in order (`nbs/NN_name.ipynb`), or those whose name starts with one of `selected`."
    paths = sorted(p for p in nbs.glob('[0-9][0-9]_*.ipynb') if LECTURE_NAME.fullmatch(p.name))
    for a, b in zip(paths, paths[1:]):
        if a.name[:2] == b.name[:2]:
            raise SystemExit(f"nbs/{a.name} and nbs/{b.name} are both lecture {a.name[:2]} (both would write exp/nb_{a.name[:2]}.py): "
                             "rename your copy to start with '_' (e.g. _mine_" + b.name + "), or move it out of nbs/.")
    if not selected: return paths
    picks = lambda p, s: p.name[:2] == s if re.fullmatch(r'\d\d', s) else p.stem == s  # '03' or '03_minibatch_training'
    odd = [s for s in selected if re.fullmatch(r'\d', s)]
    if odd: raise SystemExit(f"lecture {odd[0]!r}: lecture numbers have two digits, e.g. 0{odd[0]} ({', '.join(p.stem for p in paths[:2])}, ...).")
    missing = [s for s in selected if not any(picks(p, s) for p in paths)]
    if missing: raise SystemExit(f"No lecture matches {missing}; lectures are: {', '.join(p.stem for p in paths)}")
    return [p for p in paths if any(picks(p, s) for s in selected)]


def own_names(stem: str) -> list[str]:
    "The names nbdev listed for `exp/<stem>.py` itself (its first `__all__`, before the chain adds earlier lectures')."
    tree = ast.parse((REPO/'exp'/f'{stem}.py').read_text())
    first = next(n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == '__all__')
    return ast.literal_eval(first.value)


def cell_ref(nb, i: int) -> str:
    "How every course tool names cell `i` (0-based index into `nb.cells`): 'cell 18 of 85 (id 38e95c7b)', counted from 1."
    return f"cell {i + 1} of {len(nb.cells)} (id {nb.cells[i].get('id', '?')})"


def _clean_text(t):
    return _ADDRESS.sub('', t) if isinstance(t, str) else [_ADDRESS.sub('', s) for s in t]


def _merge_streams(outputs: list) -> list:
    "Join consecutive stdout (or stderr) outputs into one: how the kernel splits them depends on timing."
    merged = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if out.output_type == 'stream' and prev is not None and prev.output_type == 'stream' and prev.name == out.name:
            prev.text = ''.join(prev.text) + ''.join(out.text)
        else: merged.append(out)
    return merged


def is_setup_cell(cell) -> bool:
    "Is `cell` the course's set-up cell (a code cell with the set-up marker in its first two lines)?"
    return cell.cell_type == 'code' and any(l.startswith(MARKER) for l in cell.source.splitlines()[:2])


def clean_metadata(nb) -> None:
    "Give `nb` the committed metadata in place: `NB_METADATA`, `SETUP_METADATA` on the set-up cell, none on other cells."
    nb.metadata = nbformat.from_dict(copy.deepcopy(NB_METADATA))
    nb.nbformat, nb.nbformat_minor = 4, 5
    for cell in nb.cells:
        cell.metadata = nbformat.from_dict(copy.deepcopy(SETUP_METADATA) if is_setup_cell(cell) else {})


def clean_notebook(nb) -> None:
    "Strip machine-specific metadata and object addresses from `nb` in place, join split streams; keep outputs and counts."
    clean_metadata(nb)
    for cell in nb.cells:
        if 'outputs' in cell: cell.outputs = _merge_streams(cell.outputs)
        for out in cell.get('outputs', []):
            if 'metadata' in out: out.metadata = nbformat.from_dict({})
            if 'text' in out: out.text = _clean_text(out.text)
            for k, v in out.get('data', {}).items():
                if k.startswith('text/'): out.data[k] = _clean_text(v)


# What no lecture output may show (the single test execution, `make course` and the browser test all look for these):
TRACEBACK = re.compile(r'Traceback \(most recent call last\)')
EXCEPTION_LINE = re.compile(r'^\w*(Error|Exception|Interrupt|Exit)\b.*$', re.M)
TEXT_BAR = re.compile(r'\d+%\|')  # a tqdm text bar, e.g. " 40%|████      | 2/5 [00:01<00:01,  1.9it/s]"
TQDM_WARNINGS = ('TqdmWarning', 'IProgress not found')  # tqdm.auto without ipywidgets


def _text(t) -> str: return ''.join(t) if isinstance(t, list) else t


def shown_lines(text: str) -> list[str]:
    "The lines a notebook shows for stream `text`: a carriage return overwrites its line, as in Jupyter."
    return [l.split('\r')[-1] for l in text.split('\n')]


def output_problems(outputs) -> list[str]:
    "What is wrong with one cell's outputs: an error or a printed traceback, a machine path, a tqdm warning or a text bar."
    found = []
    for out in outputs:
        if out.get('output_type') == 'error': found.append(f"error {out.get('ename')}: {out.get('evalue')}")
        text = _text(out.get('text', ''))
        if TRACEBACK.search(text):
            found.append(f"prints a traceback ({([m.group(0) for m in EXCEPTION_LINE.finditer(text)] or ['?'])[-1][:200]})")
        if any(w in text for w in TQDM_WARNINGS):
            found.append(f"prints a tqdm warning ({next(w for w in TQDM_WARNINGS if w in text)!r}: is ipywidgets installed?)")
        if any(TEXT_BAR.search(l) for l in shown_lines(text)):
            found.append("prints a text progress bar (tqdm.auto draws a widget where ipywidgets is installed)")
        texts = [text, *(_text(v) for k, v in out.get('data', {}).items() if k.startswith('text/')), *out.get('traceback', [])]
        for t in texts:
            if m := LEAK.search(t): found.append(f"shows a machine path: ...{t[max(0, m.start()-40):m.end()+40]!r}...")
    return found


def notebook_problems(nb) -> list[str]:
    "`output_problems` of every cell of `nb`, each as 'cell N of M (id X): what'."
    return [f"{cell_ref(nb, i)}: {p}" for i, c in enumerate(nb.cells) for p in output_problems(c.get('outputs', []))]


def failed_cell(nb):
    "(0-based index, 'Name: message') of the first cell with an error output, or None."
    for i, cell in enumerate(nb.cells):
        for out in cell.get('outputs', []):
            if out.get('output_type') == 'error': return i, f"{out.get('ename')}: {out.get('evalue')}"


@contextmanager
def environment(**values):
    "Set environment variables for the duration (the kernels started inside inherit them)."
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try: yield
    finally:
        for k, v in old.items():
            if v is None: os.environ.pop(k, None)
            else: os.environ[k] = v


def execute(path: Path, timeout: int = 1200, cwd: Path = None, kernel: str = 'python3'):
    "Run notebook `path` top to bottom in a fresh `kernel` (cwd: its folder); returns (nb, seconds, error or None)."
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    try: nb = nbformat.read(path, as_version=4)
    except Exception as e:  # not JSON, or not a notebook nbformat knows
        return None, 0.0, f"{path} is not a notebook nbformat can read ({type(e).__name__}: {str(e)[:200]}): restore it from git"
    client = NotebookClient(nb, kernel_name=kernel, timeout=timeout, record_timing=False,
                            extra_arguments=['--IPKernelApp.log_level=ERROR'],  # no start-up chatter on the terminal
                            resources={'metadata': {'path': str(cwd or path.parent)}})
    t0, err = time.perf_counter(), None
    try: client.execute()
    except CellExecutionError:
        i, msg = failed_cell(nb) or (None, 'error')
        err = f"{cell_ref(nb, i)}: {msg}" if i is not None else msg
    except Exception as e: err = f"{type(e).__name__}: {e}"
    return nb, time.perf_counter() - t0, err


# The splits rule (DESIGN.md): validation drives every choice; the test split is read once, at the end of a lecture.
TEST_SPLIT_READERS = ('get_test_data',)  # the only functions that hand out a test split (lecture 01)
_TEST_READ = re.compile(r'\b(?:' + '|'.join(TEST_SPLIT_READERS) + r')\s*\(|\bidx_digits\([^)]*train\s*=\s*False'
                        r'''|\bembedded_split\([^)]*\)\s*\[\s*['"]test['"]'''
                        r'|\btest_ds\s*\[')  # indexing a lecture's own test split (lecture 06's `test_ds`)
# A variable that holds a test split: `test_dl`, `test_ds`, `x_test`, `fy_test`, `data.test_dl`, ... Using one (not
# defining it, not `len(...)` of it) reads the test split.
TEST_SPLIT_NAME = re.compile(r'^(?:test_(?:dl|ds|loader|data|x|y|images|labels)|[a-z]*[xy]_test)$')
# The training command (lecture 07) reads the test split after training unless its settings say `evaluate_test: false`.
_COMMAND_LAUNCH = re.compile(r'-m\s+helpers\.train\b|[\'"]helpers\.train[\'"]|\btrain_command\s*\(|\bdlf-train\b')
_NO_TEST = re.compile(r'evaluate_test[\'"]?\s*[:=]\s*(?:False|false)\b')
# Calls that train or choose: none may run after the test split was read.
TRAIN_OR_CHOOSE = {'fit', 'train', 'train_scratch', 'train_epoch', 'train_model', 'train_network', 'backward', 'step',
                   'max', 'min', 'argmax', 'argmin', 'idxmax', 'idxmin', 'sorted', 'nlargest', 'nsmallest'}


def _python(src: str) -> str:
    "`src` without IPython magics and shell lines (`x = !cmd` becomes `x = None`), so that `ast` can parse it."
    lines = [l for l in src.splitlines() if not l.lstrip().startswith(('%', '!'))]
    return '\n'.join(re.sub(r'^(\s*[\w, ]+=\s*)!.*$', r'\1None', l) for l in lines)


def _called_names(src: str) -> set[str]:
    "Names of the functions and methods `src` calls (IPython magics and shell lines are skipped)."
    return {n.func.id if isinstance(n.func, ast.Name) else n.func.attr
            for n in ast.walk(ast.parse(_python(src))) if isinstance(n, ast.Call) and isinstance(n.func, (ast.Name, ast.Attribute))}


def _uses_test_variable(node) -> bool:
    """Whether `node` uses a variable holding a test split (`TEST_SPLIT_NAME`, also as `x.test_dl`) outside definitions
    (`def`, `lambda`) and `len(...)`, or passes a test loader to `train_model` (its 5th argument; `*loaders` counts)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)): return False
    if isinstance(node, ast.Call):
        name = getattr(node.func, 'id', getattr(node.func, 'attr', None))
        if name == 'len': return False
        if name == 'train_model' and (any(isinstance(a, ast.Starred) for a in node.args[:5]) or
                                      (len(node.args) >= 5 and not (isinstance(node.args[4], ast.Constant) and node.args[4].value is None))):
            return True
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
    if name and isinstance(node.ctx, ast.Load) and TEST_SPLIT_NAME.match(name): return True
    return any(_uses_test_variable(c) for c in ast.iter_child_nodes(node))


def reads_test_split(src: str) -> bool:
    """Whether code cell `src` reads a test split: a reader call (`_TEST_READ`), a test-split variable used
    (`_uses_test_variable`), or a run of the training command without `evaluate_test: false` in the cell."""
    launches = [l for l in src.splitlines() if _COMMAND_LAUNCH.search(l) and '--help' not in l
                and not l.lstrip().startswith(('#', 'from ', 'import '))]
    return bool(_TEST_READ.search(src) or _uses_test_variable(ast.parse(_python(src))) or (launches and not _NO_TEST.search(src)))


def split_rule_violations(nb) -> list[str]:
    """How lecture `nb` breaks the splits rule: the test split is read (`reads_test_split`: directly, through a variable
    holding it, or by a training-command run) by at most one code cell (outside `#| export` definitions), in the last
    section before `## Summary`, and no cell after it trains or chooses (`TRAIN_OR_CHOOSE`)."""
    cells, problems, section, summary = nb.cells, [], None, None
    sections, reads = {}, []
    for i, c in enumerate(cells):
        if c.cell_type == 'markdown':
            for line in c.source.splitlines():
                if line.startswith('## '):
                    section = line[3:].strip()
                    if section.lower().startswith('summary') and summary is None: summary = i
        elif not c.source.lstrip().startswith('#| export') and reads_test_split(c.source): reads.append(i)
        sections[i] = section
    if not reads: return []
    if len(reads) > 1: problems.append(f"{', '.join(cell_ref(nb, i) for i in reads)} read the test split: read it once")
    first = reads[0]
    last_section = sections[max(i for i in range(summary if summary is not None else len(cells)) if cells[i].cell_type == 'code')]
    if summary is None: problems.append("no '## Summary' section: the test split must be read in the section before it")
    elif first > summary or sections[first] != last_section:
        problems.append(f"{cell_ref(nb, first)} reads the test split in section {sections[first]!r}, not in the last "
                        f"section before the summary ({last_section!r})")
    for i in range(first + 1, len(cells)):
        if cells[i].cell_type == 'code':
            bad = _called_names(cells[i].source) & TRAIN_OR_CHOOSE
            if bad: problems.append(f"{cell_ref(nb, i)} calls {sorted(bad)} after the test split was read in {cell_ref(nb, first)}")
    return problems


def name_homes() -> dict:
    "Every name an exp module exports as its own → that module's stem ('nb_03', ...)."
    return {n: p.stem for p in sorted((REPO/'exp').glob('nb_*.py')) for n in own_names(p.stem)}
