"""The course website: built offline from the executed lectures and the README (as `make site` does), with no script or
stylesheet from elsewhere, lecture links as page links, the set-up cell hidden, and a lecture page that shows its
title, rendered math and a plot in headless Chromium (screenshot in build/browser/)."""
import configparser, functools, http.server, json, re, threading, time
from html.parser import HTMLParser
from urllib.parse import urlparse
import nbformat, pytest, yaml
from tools import site
from tools.browser import OUT as SHOTS, chrome
from tools.notebooks import REPO, lecture_paths
from tools.setup_cell import setup_source

LECTURES = lecture_paths()
SITE_URL = configparser.ConfigParser()
SITE_URL.read(REPO/'settings.ini')
SITE_URL = SITE_URL['course']['site_url']


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    "The website, built into a temporary folder (build/site/ is left as `make site` made it); records time and size."
    out = tmp_path_factory.mktemp('site')/'html'
    secs = site.build(out)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS/'site-build.txt').write_text(f'build seconds\t{secs:.1f}\nsize MiB\t{site.size(out)/2**20:.1f}\n')
    return out


class _Refs(HTMLParser):
    "Collects (tag, url) for every script and stylesheet a page loads."
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'script' and a.get('src'): self.refs.append((tag, a['src']))
        if tag == 'link' and {'stylesheet', 'preload', 'modulepreload'} & set((a.get('rel') or '').split()):
            self.refs.append((tag, a.get('href', '')))


def _external(url: str) -> bool: return bool(urlparse(url).scheme or url.startswith('//'))


def test_every_page_loads_only_its_own_scripts_and_stylesheets(built):
    pages = [p for p in sorted(built.rglob('*.html')) if '_static' not in p.parts]  # _static/ holds theme templates
    assert len(pages) >= len(LECTURES) + 1
    for page in pages:
        parser = _Refs()
        parser.feed(page.read_text())
        external = [r for r in parser.refs if _external(r[1])]
        assert not external, f"{page.relative_to(built)} loads from elsewhere: {external}"
        for tag, url in parser.refs:  # and what it loads is there
            assert (page.parent/urlparse(url).path).is_file(), f"{page.relative_to(built)}: {url} is missing"
    css = [f for f in built.rglob('*.css') if re.search(r'@import\s+(url\()?["\']?(https?:)?//|url\(["\']?(https?:)?//', f.read_text())]
    assert not css, f"stylesheets that fetch from elsewhere: {css}"


def test_math_is_served_by_the_site(built):
    page = (built/'nbs'/f'{_lecture_with_math_and_plot().stem}.html').read_text()
    assert re.search(r'<script[^>]+src="\.\./_static/mathjax/tex-chtml\.js', page)
    pinned = json.loads((site.SITE/'package-lock.json').read_text())['packages']['node_modules/mathjax']['version']
    assert f'VERSION="{pinned}"' in (built/'_static'/'mathjax'/'tex-chtml.js').read_text()


def test_lectures_are_pages_linked_from_the_home_page(built):
    home = (built/'index.html').read_text()
    for p in LECTURES:
        assert (built/'nbs'/f'{p.stem}.html').is_file(), p.name
        assert f'href="nbs/{p.stem}.html"' in home, f"the home page does not link {p.stem}.html"
    for page in built.rglob('*.html'):  # links between lectures became page links too
        local_ipynb = [h for h in re.findall(r'href="([^"]+\.ipynb)"', page.read_text()) if not _external(h)]
        assert not local_ipynb, f"{page.relative_to(built)} links notebooks, not pages: {local_ipynb}"


def test_setup_cell_is_not_on_the_site(built):
    marker = setup_source().splitlines()[0].removeprefix('#@title ')
    for p in LECTURES:
        assert marker not in (built/'nbs'/f'{p.stem}.html').read_text(), f"{p.stem}.html shows the set-up cell"


def test_readme_links_the_published_site():
    assert SITE_URL.startswith('https://') and SITE_URL.endswith('/')
    assert f']({SITE_URL})' in (REPO/'README.md').read_text(), f"the README must link the site at {SITE_URL} (settings.ini)"


def test_pages_workflow_builds_with_make_site():
    wf = yaml.safe_load((REPO/'.github'/'workflows'/'site.yml').read_text())
    steps = [s for job in wf['jobs'].values() for s in job['steps']]
    assert any(s.get('run', '').strip() == 'make site' for s in steps)
    assert any(s.get('uses', '').startswith('actions/upload-pages-artifact') and s['with']['path'] == 'build/site' for s in steps)
    assert any(s.get('uses', '').startswith('actions/deploy-pages') for s in steps)


def _lecture_with_math_and_plot():
    "The first lecture with both an equation in its text and a plot among its outputs."
    for p in LECTURES:
        nb = nbformat.read(p, as_version=4)
        if any(c.cell_type == 'markdown' and re.search(r'\$[^$\n]+\$', c.source) for c in nb.cells) and \
           any('image/png' in o.get('data', {}) for c in nb.cells for o in c.get('outputs', [])):
            return p
    pytest.fail("no lecture has both an equation and a plot to check the site with")


PAGE_JS = """
const h = document.querySelector('main h1, article h1');
const math = document.querySelectorAll('mjx-container').length, pending = document.querySelectorAll('span.math').length;
const imgs = [...document.querySelectorAll('.cell_output img')].map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0}));
return {title: h ? h.textContent.replace(/[#¶]\\s*$/, '').trim() : null, top: h ? h.getBoundingClientRect().top : null,
        math, errors: document.querySelectorAll('mjx-merror').length, imgs, height: innerHeight};
"""


def test_lecture_page_shows_title_math_and_plot(built):
    lecture = _lecture_with_math_and_plot()
    title = next(l[2:].strip() for c in nbformat.read(lecture, as_version=4).cells if c.cell_type == 'markdown'
                 for l in c.source.splitlines() if l.startswith('# '))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try: driver = chrome(1280, 800)
    except RuntimeError as e: pytest.fail(str(e), pytrace=False)
    try:
        driver.get(f'http://127.0.0.1:{server.server_address[1]}/nbs/{lecture.stem}.html')
        deadline = time.monotonic() + 30
        while (state := driver.execute_script(PAGE_JS))['math'] == 0 and time.monotonic() < deadline: time.sleep(0.3)
        shot = SHOTS/f'site-{lecture.stem}.png'
        driver.save_screenshot(str(shot))
        driver.execute_script("document.querySelector('mjx-container').scrollIntoView({block: 'center'})")
        driver.save_screenshot(str(SHOTS/f'site-{lecture.stem}-math.png'))
        driver.execute_script("document.querySelector('.cell_output img').scrollIntoView({block: 'center'})")
        driver.save_screenshot(str(SHOTS/f'site-{lecture.stem}-plot.png'))
    finally:
        driver.quit()
        server.shutdown()
    assert state['title'] == title and 0 <= state['top'] < state['height'], f"title {state['title']!r} at {state['top']} — {shot}"
    assert state['math'] > 0 and state['errors'] == 0, f"MathJax rendered {state['math']} equations, {state['errors']} errors — {shot}"
    assert state['imgs'] and all(i['ok'] for i in state['imgs']), f"plots not loaded: {state['imgs']} — {shot}"
