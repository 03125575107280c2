"""A real browser for the tests: Debian's headless Chromium driven by Selenium, and JupyterLab served on loopback.

Nothing here downloads a browser: Chromium and its driver are Debian's packages `chromium` and `chromium-driver`,
installed by `ensure_chromium` with apt-get when they are missing and the tests run as root.
"""
from __future__ import annotations
import json, os, secrets, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path

from tools.notebooks import REPO

OUT = REPO/'build'/'browser'  # screenshots and logs (git-ignored)
PACKAGES = {'chromium': 'chromium', 'chromedriver': 'chromium-driver'}  # executable -> Debian package
# JupyterLab user settings for the test: no autosave (the lectures on disk stay as committed), no news pop-up, and
# every cell drawn (JupyterLab 4 otherwise draws off-screen cells lazily, so their prompts could not be read).
LAB_SETTINGS = {
    '@jupyterlab/docmanager-extension/plugin': {'autosave': False},
    '@jupyterlab/apputils-extension/notification': {'fetchNews': 'false', 'checkForUpdates': False},
    '@jupyterlab/notebook-extension/tracker': {'windowingMode': 'none'},
}


def ensure_chromium() -> tuple[str, str]:
    "Paths of Chromium and its driver; as root, installs the missing Debian packages first (apt-get update + install)."
    missing = [pkg for exe, pkg in PACKAGES.items() if not shutil.which(exe)]
    if missing and os.geteuid() == 0 and shutil.which('apt-get'):
        env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
        for cmd in (['apt-get', 'update', '-q'], ['apt-get', 'install', '-y', '-q', *missing]):
            r = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if r.returncode:
                raise RuntimeError(f"`{' '.join(cmd)}` failed (exit {r.returncode}); install the Debian packages "
                                   f"{' '.join(missing)} by hand.\n{(r.stdout + r.stderr)[-3000:]}")
        missing = [pkg for exe, pkg in PACKAGES.items() if not shutil.which(exe)]
    if missing:
        raise RuntimeError(f"The browser tests need Debian's {' and '.join(missing)} (not found on PATH): run "
                           f"`sudo apt-get update && sudo apt-get install -y {' '.join(PACKAGES.values())}`.")
    return shutil.which('chromium'), shutil.which('chromedriver')


def chrome(width: int = 1280, height: int = 800):
    "A headless Chromium window of `width`×`height` CSS pixels, driven by Selenium through Debian's chromedriver."
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    browser, driver = ensure_chromium()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for a in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run',
              '--disable-extensions', '--disable-background-networking', '--hide-scrollbars',
              f'--window-size={width},{height}'):
        opts.add_argument(a)
    opts.unhandled_prompt_behavior = 'accept'  # leaving a notebook with unsaved changes: leave, never save
    OUT.mkdir(parents=True, exist_ok=True)
    return webdriver.Chrome(service=Service(driver, log_output=str(OUT/'chromedriver.log')), options=opts)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class JupyterLab:
    "JupyterLab serving `root` on 127.0.0.1 with the test's own settings and workspace folders; a context manager."
    def __init__(self, root: Path, env: dict, workdir: Path):
        self.root, self.env, self.workdir = root, env, workdir
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.url = f'http://127.0.0.1:{self.port}'

    def __enter__(self):
        settings = self.workdir/'settings'
        for plugin, values in LAB_SETTINGS.items():
            f = settings/f'{plugin}.jupyterlab-settings'
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(values))
        env = dict(os.environ, **self.env, JUPYTERLAB_SETTINGS_DIR=str(settings),
                   JUPYTERLAB_WORKSPACES_DIR=str(self.workdir/'workspaces'))
        cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ip=127.0.0.1', f'--port={self.port}',
               '--ServerApp.port_retries=0', f'--ServerApp.root_dir={self.root}', f'--IdentityProvider.token={self.token}']
        if os.geteuid() == 0: cmd.append('--allow-root')  # JupyterLab refuses root without it
        self.log = open(self.workdir/'jupyterlab.log', 'w')
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({self.proc.returncode}); see {self.workdir/'jupyterlab.log'}")
            try:
                self.api('status')
                return self
            except OSError: time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"JupyterLab did not answer on {self.url} within 60 s; see {self.workdir/'jupyterlab.log'}")

    def api(self, path: str, method: str = 'GET'):
        "Call the server's REST API (`/api/<path>`); the decoded JSON answer, or None."
        req = urllib.request.Request(f'{self.url}/api/{path}', method=method, headers={'Authorization': f'token {self.token}'})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        "Shut down every kernel the server runs (after each lecture, so they do not pile up)."
        for k in self.api('kernels'): self.api(f"kernels/{k['id']}", method='DELETE')

    def __exit__(self, *exc):
        self.proc.terminate()
        try: self.proc.wait(20)
        except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()
        self.log.close()
