"""Sphinx configuration of the course website (built by `python -m tools.site`, i.e. `make site`).

Pages are the executed lectures as committed (myst-nb, never re-executed) and the README as the home page; everything
a page loads is served by the site itself, MathJax included (npm's `mathjax`, pinned in site/package-lock.json).
"""
import configparser
from pathlib import Path

_course = configparser.ConfigParser()
_course.read(Path(__file__).resolve().parent.parent/'settings.ini')
_c = _course['course']

project = 'DL Foundations'
author = 'The DL Foundations authors'
extensions = ['myst_nb']
root_doc = 'index'
include_patterns = ['index.md', 'nbs/[0-9][0-9]_*.ipynb']
nb_execution_mode = 'off'  # the committed outputs are what the site shows
myst_enable_extensions = ['dollarmath', 'amsmath']
myst_heading_anchors = 3
html_theme = 'sphinx_book_theme'
html_title = project
html_baseurl = _c['site_url']
html_copy_source = False
html_show_sourcelink = False
html_theme_options = {
    'repository_url': f"https://github.com/{_c['repo_user']}/{_c['repo_name']}",
    'repository_branch': _c['branch'],
    'use_repository_button': True,
    'show_toc_level': 2,
}
mathjax_path = 'mathjax/tex-chtml.js'  # relative to _static/: copied there from site/node_modules by tools.site
