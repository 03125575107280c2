"""What only a browser shows: the lectures opened in JupyterLab 4 in Debian's headless Chromium, and Run All from the menu.

The lectures are executed once in the test run, by nbval (tools/pytest_lectures.py), and every check of their outputs
is made from that run; executing every lecture a second time in a browser would double the suite's time and find
nothing those checks miss. What only the browser shows is checked here: opening each lecture leaves it unmodified and
shows its title on the first screen; and Run All from the menus runs a notebook that uses the course as a learner's
own would — its set-up cell finding the repository, the newest module's star import, the Learner with its progress
bars drawn as widgets — in quick mode, on the embedded data, without downloads (the kernels inherit DLF_QUICK,
DLF_DATASET and DLF_OFFLINE from the server). One JupyterLab and one browser serve every test. Screenshots of failures
and of each lecture's first screen, and the server's log, go to build/browser/ (git-ignored).
"""
import re, time
import nbformat, pytest
from tools.browser import OUT, JupyterLab, chrome
from tools.notebooks import EXCEPTION_LINE, NB_METADATA, REPO, TEXT_BAR, TQDM_WARNINGS, TRACEBACK, lecture_paths, shown_lines
from tools.setup_cell import setup_source

LECTURES = lecture_paths()
QUICK = {'DLF_QUICK': '1', 'DLF_DATASET': 'embedded', 'DLF_OFFLINE': '1'}
TIMEOUT = 600  # seconds for one notebook's Run All

# What the page shows, read in one call: the kernel's state and, per cell, its prompt, outputs and widget bars.
STATE_JS = """
const ind = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')];
const tab = document.querySelector('.lm-TabBar-tab.jp-mod-current');
return {status: ind ? ind.dataset.status : null, dirty: tab ? tab.classList.contains('jp-mod-dirty') : null,
        cells: cells.map(c => ({code: c.classList.contains('jp-CodeCell'),
            prompt: (c.querySelector('.jp-InputPrompt') || {}).textContent || '',
            outputs: [...c.querySelectorAll('.jp-OutputArea-output')].map(o => ({
                mime: o.getAttribute('data-mime-type') || (o.querySelector('[data-mime-type]') || {getAttribute: () => ''}).getAttribute('data-mime-type') || '',
                text: o.innerText})),
            bars: c.querySelectorAll('.widget-progress, .widget-hprogress').length}))};
"""
TITLE_JS = """
const h = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMarkdown h1');
if (!h) return null;
const r = h.getBoundingClientRect();
return {text: h.textContent, top: r.top, bottom: r.bottom, width: innerWidth, height: innerHeight};
"""


@pytest.fixture(scope='module')
def browser():
    "JupyterLab on loopback and a 1280×800 Chromium window, shared by the tests."
    OUT.mkdir(parents=True, exist_ok=True)
    try: driver = chrome(1280, 800)
    except RuntimeError as e: pytest.fail(str(e), pytrace=False)
    try:
        with JupyterLab(REPO, QUICK, OUT) as lab:
            yield lab, driver
    finally:
        driver.quit()


def _wait(driver, test, timeout, what):
    "Poll the page state until `test(state)` holds for two polls in a row; the last state."
    deadline, ok = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        state = driver.execute_script(STATE_JS)
        ok = ok + 1 if test(state) else 0
        if ok == 2: return state
        time.sleep(0.5)
    raise TimeoutError(f"{what}: not done within {timeout} s")


def _menu(driver, top: str, item: str) -> None:
    "Click menu `top` in JupyterLab's menu bar, then its entry `item`."
    from selenium.webdriver.common.by import By
    driver.find_element(By.XPATH, f"//li[contains(@class,'lm-MenuBar-item')][.//div[text()='{top}']]").click()
    driver.find_element(By.XPATH, f"//li[contains(@class,'lm-Menu-item')][.//div[text()='{item}']]").click()


def _shot(driver, name: str, cell: int = None) -> str:
    "Save a screenshot (scrolled to `cell` when given) under build/browser/; its path."
    if cell is not None:
        driver.execute_script("document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')"
                              "[arguments[0]].scrollIntoView({block: 'center'})", cell)
    path = OUT/f'{name}.png'
    driver.save_screenshot(str(path))
    return str(path.relative_to(REPO))


def open_notebook(lab, driver, rel: str, n_cells: int) -> dict:
    "Open `rel` (path under the repository) in JupyterLab and wait for its cells and an idle kernel; the page state."
    driver.get(f'{lab.url}/lab/tree/{rel}?token={lab.token}&reset')
    return _wait(driver, lambda s: s['status'] == 'idle' and len(s['cells']) == n_cells, 120, f'opening {rel}')


def run_all(driver, rel: str) -> dict:
    """Clear every output and Run All from the menus; wait until every cell ran (or the run stopped); the page state.

    A collapsed cell shows no prompt, so all code is expanded afterwards to read every execution count."""
    _menu(driver, 'Edit', 'Clear Outputs of All Cells')
    _menu(driver, 'Run', 'Run All Cells')
    started = time.monotonic()
    _wait(driver, lambda s: s['status'] == 'idle' and time.monotonic() - started > 2 and
          not any('*' in c['prompt'] for c in s['cells']), TIMEOUT, f'Run All in {rel}')
    _menu(driver, 'View', 'Expand All Code')
    return _wait(driver, lambda s: all(c['prompt'].strip() for c in s['cells'] if c['code']), 10, f'expanding {rel}')


def problems(state: dict, nb) -> list[tuple[int, str]]:
    "(cell index, what is wrong) for every unrun cell, error, tqdm warning or text progress bar on the page."
    found = []
    for i, (cell, src) in enumerate(zip(state['cells'], nb.cells)):
        if not cell['code'] or not src.source.strip(): continue
        first = src.source.strip().splitlines()[0][:60]
        if not re.fullmatch(r'\s*\[\d+\]:\s*', cell['prompt']):
            found.append((i, f"not run (prompt {cell['prompt'].strip() or '[ ]:'!r}) — `{first}`"))
        for out in cell['outputs']:
            text = out['text']
            if ('stderr' in out['mime'] or 'error' in out['mime']) and TRACEBACK.search(text):
                msg = ([m.group(0) for m in EXCEPTION_LINE.finditer(text)] or text.strip().splitlines())[-1]
                found.append((i, f"error: {msg[:300]} — `{first}`"))
            hit = next((w for w in TQDM_WARNINGS if w in text), None)
            if hit: found.append((i, f"prints {hit!r} (is ipywidgets installed?) — `{first}`"))
            if any(TEXT_BAR.search(l) for l in shown_lines(text)):
                found.append((i, f"prints a text progress bar instead of a widget — `{first}`"))
    return found


def open_checks(lab, driver, path) -> list[str]:
    """Open `path` as a learner would; what is wrong, one line each, with screenshots: opening marks it modified, or
    its title (first heading) is not on the first screen."""
    nb, rel, name = nbformat.read(path, as_version=4), str(path.relative_to(REPO)), path.stem
    open_notebook(lab, driver, rel, len(nb.cells))
    time.sleep(1)  # JupyterLab writes the kernel's metadata just after the kernel is ready
    failures = []
    if driver.execute_script(STATE_JS)['dirty']:
        failures.append(f"{path.name}: opening it marks it modified (its metadata differs from what JupyterLab writes: "
                        f"run `python -m tools.setup_cell`) — {_shot(driver, f'{name}-modified-on-open')}")
    title, first_screen = driver.execute_script(TITLE_JS), _shot(driver, f'{name}-first-screen')
    if not title or title['top'] < 0 or title['bottom'] > title['height']:
        failures.append(f"{path.name}: its title (first heading) is not on the first screen: {title} — {first_screen}")
    return failures


def check_notebook(lab, driver, path) -> list[str]:
    "`open_checks`, then clear the outputs and Run All: also each cell left unrun, or showing an error, a tqdm warning or a text bar."
    failures = open_checks(lab, driver, path)
    nb = nbformat.read(path, as_version=4)
    state = run_all(driver, str(path.relative_to(REPO)))
    for i, what in problems(state, nb):
        failures.append(f"{path.name} cell {i + 1} of {len(nb.cells)}: {what} — {_shot(driver, f'{path.stem}-cell{i}', i)}")
    lab.shutdown_kernels()
    return failures


@pytest.mark.parametrize('path', LECTURES, ids=lambda p: p.stem)
def test_lecture_opens_unmodified_with_its_title_on_the_first_screen(browser, path):
    lab, driver = browser
    failures = open_checks(lab, driver, path)
    lab.shutdown_kernels()
    assert not failures, '\n'.join(failures)


def _scratch(name: str, sources: list[str], metadata=NB_METADATA):
    "A notebook under build/browser/ (git-ignored, inside the server's root) with code cells `sources`."
    path = OUT/f'{name}.ipynb'
    nbformat.write(nbformat.v4.new_notebook(metadata=metadata, cells=[
        nbformat.v4.new_markdown_cell(f'# {name}')] + [nbformat.v4.new_code_cell(s) for s in sources]), path)
    return path


def test_run_all_uses_the_course_with_widget_progress_bars(browser):
    """Run All in a notebook outside nbs/ that uses the course as a learner's own would: the set-up cell finds the
    repository, the newest module's star import gives the Learner, whose ProgressCB draws widget bars (no text bar, no
    warning); the kernel got the server's quick settings."""
    lab, driver = browser
    newest = sorted(p.stem for p in (REPO/'exp').glob('nb_*.py'))[-1]
    path = _scratch('course-check', [setup_source(), f"import os, torch\nfrom exp.{newest} import *\n"
                     "x, y = torch.rand(64, 784), torch.randint(0, 10, (64,))\n"
                     "learn = Learner(MLP(), *get_dls(Dataset(x, y), Dataset(x, y), 16), cbs=[MetricsCB(), ProgressCB()])\n"
                     "learn.fit(2)\n"
                     "print({k: os.environ.get(k) for k in ['DLF_QUICK', 'DLF_DATASET', 'DLF_OFFLINE']})"])
    assert check_notebook(lab, driver, path) == []
    cell, shot = driver.execute_script(STATE_JS)['cells'][2], _shot(driver, 'course-check-after-run', 2)
    assert cell['bars'] >= 1, f"expected widget progress bars, found none: {cell['outputs']} — {shot}"
    assert any(str(QUICK) in o['text'] for o in cell['outputs']), f"the kernel did not get {QUICK}: {cell['outputs']}"


def test_the_check_finds_what_a_learner_would_see(browser):
    "The checker itself: stale metadata, a text progress bar, an error and the unrun cell after it are all named."
    path = _scratch('failing-check', ["print('fine')",
                                      "from tqdm.std import tqdm\nfor _ in range(2):\n    for _ in tqdm(range(3)): pass",
                                      "raise ValueError('boom')", "print('never')"],
                    metadata={'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}})
    failures = check_notebook(*browser, path)
    expected = ['opening it marks it modified', 'cell 3 of 5: prints a text progress bar instead of a widget',
                'cell 4 of 5: error: ValueError: boom', "cell 5 of 5: not run (prompt '[ ]:')"]
    assert len(failures) == len(expected) and all(e in f for e, f in zip(expected, failures)), '\n'.join(failures)
    assert all((REPO/f.rsplit(' — ', 1)[1]).is_file() for f in failures)  # a screenshot of each


def test_missing_chromium_is_installed_as_root_else_named(monkeypatch):
    "Set-up on a fresh machine: as root apt-get update, then install both packages; otherwise a message naming them."
    from tools import browser
    installed, calls = set(), []
    monkeypatch.setattr(browser.shutil, 'which', lambda exe: f'/usr/bin/{exe}' if exe in installed or exe == 'apt-get' else None)
    def run(cmd, **kw):
        calls.append(cmd)
        if cmd[:2] == ['apt-get', 'install']: installed.update(['chromium', 'chromedriver'])
        return browser.subprocess.CompletedProcess(cmd, 0, '', '')
    monkeypatch.setattr(browser.subprocess, 'run', run)
    monkeypatch.setattr(browser.os, 'geteuid', lambda: 0)
    assert browser.ensure_chromium() == ('/usr/bin/chromium', '/usr/bin/chromedriver')
    assert calls == [['apt-get', 'update', '-q'], ['apt-get', 'install', '-y', '-q', 'chromium', 'chromium-driver']]
    installed.clear()
    monkeypatch.setattr(browser.os, 'geteuid', lambda: 1000)
    with pytest.raises(RuntimeError, match=r"need Debian's chromium and chromium-driver .*apt-get install -y chromium chromium-driver"):
        browser.ensure_chromium()
