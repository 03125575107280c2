"""Build the course website into build/site/: Sphinx + myst-nb over the executed lectures and the README, offline.

    python -m tools.site          # what `make site` runs (after `npm ci --prefix site` has fetched MathJax)

The home page is the README followed by a hidden table of contents of the lectures; each lecture page shows the
committed outputs (nothing is executed). MathJax is copied from site/node_modules into the site, so no page loads a
script or stylesheet from elsewhere. Prints the build time and the site's size.
"""
from __future__ import annotations
import argparse, shutil, subprocess, sys, time
from pathlib import Path

from tools.notebooks import REPO, lecture_paths

SITE = REPO/'site'  # conf.py, package.json, package-lock.json; node_modules/ after `npm ci --prefix site`
OUT = REPO/'build'/'site'
MATHJAX = SITE/'node_modules'/'mathjax'/'es5'
# MathJax files the site does not use: other output formats and combined bundles, and the node entry point.
MATHJAX_UNUSED = ('*svg*', 'mml-*', 'tex-mml-*', 'tex-chtml-full*', 'node-main.js', 'latest.js')


def index_md() -> str:
    "The home page: the README, then the lectures as a hidden table of contents (the sidebar's entries)."
    toc = '\n'.join(f'nbs/{p.stem}' for p in lecture_paths())
    return (REPO/'README.md').read_text() + f'\n```{{toctree}}\n:hidden:\n:caption: Lectures\n\n{toc}\n```\n'


def build(out: Path = OUT) -> float:
    "Build the website into `out` (replacing it); the seconds it took."
    if not (MATHJAX/'tex-chtml.js').is_file():
        raise RuntimeError(f"MathJax is missing ({MATHJAX.relative_to(REPO)}): run `npm ci --prefix site` "
                         "(`make site` and `make test` do it).")
    t0 = time.perf_counter()
    src, doctrees = out.parent/f'{out.name}-src', out.parent/f'{out.name}-doctrees'
    for d in (src, out): shutil.rmtree(d, ignore_errors=True)
    (src/'nbs').mkdir(parents=True)
    (src/'index.md').write_text(index_md())
    for p in lecture_paths(): shutil.copy2(p, src/'nbs'/p.name)
    r = subprocess.run([sys.executable, '-m', 'sphinx', '-b', 'html', '-q', '-W', '--keep-going', '-E',
                        '-c', str(SITE), '-d', str(doctrees), str(src), str(out)], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"Sphinx failed (exit {r.returncode}):\n{r.stdout[-4000:]}{r.stderr[-4000:]}")
    shutil.copytree(MATHJAX, out/'_static'/'mathjax', ignore=shutil.ignore_patterns(*MATHJAX_UNUSED))
    return time.perf_counter() - t0


def size(path: Path) -> int:
    "Bytes in the files under `path`."
    return sum(f.stat().st_size for f in path.rglob('*') if f.is_file())


def main(argv=None) -> int:
    argparse.ArgumentParser(description="Build the course website into build/site/ (offline).").parse_args(argv)
    try: secs = build()
    except RuntimeError as e: sys.exit(str(e))
    print(f"website: {OUT.relative_to(REPO)}/index.html — built in {secs:.1f} s, {size(OUT)/2**20:.1f} MiB")
    return 0


if __name__ == '__main__': sys.exit(main())
