"""Every number a lecture's prose states must be shown by the lecture itself: a maintainers' check.

    python -m tools.claims [NN ...]   # each number no cell shows, one line each; exit 1 if there is one

For every markdown cell of `nbs/NN_*.ipynb` it lists the numbers that no code cell of the same lecture shows, in its
source (comments aside: a comment computes nothing) or in its committed outputs. A number is shown when some number
there rounds to it at the precision the text writes it with: text 93.1 is shown by an output 93.08, text 60,000 by 60000, 1e-3 by 0.001, "17 %" also by 0.17,
"1.2 M" by 1,234,567 and 3.4 × 10^{38} by 3.4028e+38. Signs are ignored (an en dash in "08–10" is not a minus).

Not claims, so not checked: the numbers inside words and names (`nb_05`, float32, Fashion-MNIST, ResNet-18), section
numbers of headings and numbered-list markers, references to lectures, cells, figures, tables, exercises, sections and
steps ("lecture 06", "sections 2 and 3"), version numbers ("Python 3.11", "torch 2.14.1", "YAML 1.1"), dates
(2024-01-01), years in citations ("(Kingma & Ba, 2015)"), link targets and HTML tags, and LaTeX math that defines
something: in math only a number after `=`, `\\approx`, `<`, `>`, `\\le`, `\\ge`, or a math span that is a number alone
($10^{-6}$), counts as a claim. The `## Exercises` section is not read either: its numbers are the exercises' inputs.
What else the text may state without a computing cell (a definition, a convention) is in `ALLOWED`, each with its
reason: keep it short. It reads the notebooks without running them (no kernel).
"""
from __future__ import annotations
import bisect, re, sys
from pathlib import Path
from typing import NamedTuple

import nbformat

from tools.notebooks import cell_ref, lecture_paths

REPO = Path(__file__).resolve().parent.parent

# Numbers a lecture's text may state that no cell computes: definitions and conventions only, each with its reason.
ALLOWED: dict[str, list[tuple[str, str]]] = {
    '01': [('60,000', "MNIST's and Fashion-MNIST's published training files: the data sets' definition (offline, the "
                      "lecture has no full set to count)"),
           ('10,000', "their published test files, and the validation part get_data takes of 60,000 (`len(x) // 6`)"),
           ('70,000', "60,000 + 10,000: the whole published data set"),
           ('50,000', "the classic MNIST training part, 60,000 less the 10,000 for validation: a convention of the "
                      "literature")],
}


class Number(NamedTuple):
    "A number as the text writes it: `value`, to half of `resolution` (one unit of its last written digit) either side."
    text: str
    value: float
    resolution: float
    percent: bool = False


_SUPER = str.maketrans('⁰¹²³⁴⁵⁶⁷⁸⁹⁻', '0123456789-')
_DIGITS = r'\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+'
# scientific notation as prose and LaTeX write it: 3.4 × 10^{38}, 3\cdot10^{-3}, 10^{-6}, 10⁻⁶, 1e-3
_POWER = re.compile(r'(?:(' + _DIGITS + r')\s*(?:×|\\times|\\cdot|·|\*)\s*)?'
                    r'10\s*(?:\^\s*\{?\s*([-−]?\d+)\s*\}?|([⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))')
# a number not inside a word or a name: not after a letter, digit, `_` or `.`, nor after a hyphen that follows a letter
# (Fashion-MNIST), nor before `_` (05_custom) or letters other than a unit (RTX 30xx, but 2x, 5k, 3 s, 28x28, 1st)
_UNITS = r'(?:x|k|K|M|G|B|KB|MB|GB|KiB|MiB|GiB|s|ms|us|µs|ns|h|min|D|d|th|st|nd|rd)\b|x(?=\d)'
_NUMBER = re.compile(r'(?<![\w.])(?<![A-Za-z]-)(' + _DIGITS + r')(?:[eE]([-+−]?\d+))?(?!\d)(?![\w.]*_)(?!\.\d)'
                     r'(?=' + _UNITS + r'|[^A-Za-z]|$)(?:\s?(%|[kKM]\b))?')
_MULTIPLIER = {'k': 1e3, 'K': 1e3, 'M': 1e6}

# What is not a claim (each match is blanked out of the text before numbers are read).
_REFERENCES = re.compile(
    r'\b(?:[Ll]ectures?|[Cc]ells?|[Ff]ig(?:ure)?s?\.?|[Tt]ables?|[Ee]xercises?|[Ss]ections?|[Ss]teps?|[Cc]hapters?|§)'
    r'\s*\d+(?:\.\d+)*(?:\s*(?:[–,-]|and|or|to)\s*\d+(?:\.\d+)*)*')
_VERSIONS = re.compile(
    r'\b(?:Python|python|PyTorch|torch|torchvision|nbdev|CUDA|Jupyter(?:Lab)?|ipykernel|NumPy|numpy|PyYAML|pyyaml|YAML'
    r'|Sphinx|mystmd|pandas|matplotlib|[Vv]ersion|v)\s*\d+(?:\.\d+)*\+?|\b\d+\.\d+\.\d+(?:\.\d+)*')
_DATES = re.compile(r'\b\d{4}-\d{2}-\d{2}\b')
_CITATION_YEARS = re.compile(r'(?<=[A-Za-z.],\s)(?:19|20)\d\d[a-z]?\b')  # (Loshchilov & Hutter, 2019), (He et al., 2015)
_HEADING_NUMBER = re.compile(r'^(#{1,6}\s+)(\d+(?:\.\d+)*[.)]?)(?=\s)', re.M)
_LIST_MARKER = re.compile(r'^(\s*)(\d+[.)])(?=\s)', re.M)
_HTML = re.compile(r'<!--.*?-->|<[^>\n]+>', re.S)
_LINK_TARGET = re.compile(r'(\]\()[^)]*(\))|https?://\S+')
_MATH = re.compile(r'\$\$(.+?)\$\$|\$([^$\n]+?)\$', re.S)
# a number on the right of = ≈ < > ≤ ≥ that stands alone there (`1/N = 0.5`, not `\\sigma(z) = 1/(1 + e^{-z})`)
_MATH_CLAIM = re.compile(r'(?:=|\\approx|≈|<|>|\\le|\\ge|\\leq|\\geq)\s*[-−]?\s*'
                         r'((?:' + _DIGITS + r')(?:\s*(?:\\times|\\cdot)\s*10\^\{?[-−]?\d+\}?)?)'
                         r'(?=\s*(?:$|[,;)\]}]|\\(?:quad|qquad|text|dots|[,;])))')
_MATH_NUMBER_ALONE = re.compile(r'\s*(?:' + _DIGITS + r')?\s*(?:(?:\\times|\\cdot)?\s*10\^\{?[-−]?\d+\}?)?\s*')


def _blank(m: re.Match) -> str: return ' ' * len(m.group(0))


def _power_to_e(m: re.Match) -> str:
    mantissa = m.group(1) or '1'
    exponent = (m.group(2) or m.group(3).translate(_SUPER)).replace('−', '-')
    return f'{mantissa}e{exponent}'


def _math_claims(body: str) -> str:
    "The part of a LaTeX span that states something: the span if it is a number alone, else the numbers after = ≈ < >."
    if re.search(r'\d', body) and _MATH_NUMBER_ALONE.fullmatch(body): return f' {body} '
    return ' '.join(f' {m.group(1)} ' for m in _MATH_CLAIM.finditer(body))


def prose(markdown: str) -> str:
    "`markdown` with everything that is not a claim blanked out (see the module's docstring), powers of ten as `1e-6`."
    text = _HTML.sub(' ', markdown)
    text = _LINK_TARGET.sub(lambda m: f'{m.group(1)}{m.group(2)}' if m.group(1) else ' ', text)
    text = _MATH.sub(lambda m: _math_claims(m.group(1) or m.group(2)), text)
    text = _HEADING_NUMBER.sub(lambda m: m.group(1) + ' ' * len(m.group(2)), text)
    text = _LIST_MARKER.sub(lambda m: m.group(1) + ' ' * len(m.group(2)), text)
    for pattern in (_DATES, _CITATION_YEARS, _VERSIONS, _REFERENCES): text = pattern.sub(_blank, text)
    return _POWER.sub(_power_to_e, text)


def _parse(digits: str, exponent: str | None) -> tuple[float, float]:
    "(value, resolution) of '60,000', '93.1', '.5' with an optional exponent: resolution is one unit of the last digit."
    digits = digits.replace(',', '')
    decimals = len(digits.split('.')[1]) if '.' in digits else 0
    scale = 10.0 ** int(exponent.replace('−', '-')) if exponent else 1.0
    return float(digits) * scale, 10.0 ** -decimals * scale


def claims(markdown: str) -> list[Number]:
    "The numbers markdown cell `markdown` states (what `prose` leaves of it)."
    found = []
    for m in _NUMBER.finditer(prose(markdown)):
        value, resolution = _parse(m.group(1), m.group(2))
        suffix = m.group(3) or ''
        factor = _MULTIPLIER.get(suffix, 1.0)
        found.append(Number(m.group(0).strip(), value * factor, resolution * factor, suffix == '%'))
    return found


# Numbers as code and outputs show them: 60_000, 60,000, 1e-3, 3.4028e+38, .5 (each group of 60,000 counts too)
_SHOWN = re.compile(r'(?<![\w.])(\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE]([-+]?\d+))?')


def shown_values(texts) -> list[float]:
    "Every number in `texts` (code and outputs), sorted, without signs: '1,000' counts as 1000 and as 1 and 000."
    values = set()
    for text in texts:
        for m in _SHOWN.finditer(text):
            digits = m.group(1).replace('_', '')
            values.add(_parse(digits.rstrip('.') or '0', m.group(2))[0])
        for m in re.finditer(r'(?<![\d.])\d{1,3}(?:,\d{3})+(?:\.\d+)?', text):
            values.add(float(m.group(0).replace(',', '')))
    return sorted(values)


def _rounds_to(values: list[float], value: float, resolution: float) -> bool:
    "Does some number in sorted `values` round to `value` at `resolution` (either way at the halfway point)?"
    half = resolution / 2 * (1 + 1e-9) + 1e-12 * abs(value)
    i = bisect.bisect_left(values, abs(value) - half)
    return i < len(values) and values[i] <= abs(value) + half


def is_shown(number: Number, values: list[float]) -> bool:
    "Is `number` shown by `values` (sorted absolute values), also as a fraction when the text writes it in percent?"
    return (_rounds_to(values, number.value, number.resolution)
            or number.percent and _rounds_to(values, number.value / 100, number.resolution / 100))


_COMMENT = re.compile(r'(?:^|(?<=\s))#.*$', re.M)  # a comment states what it likes: not shown by the code


def _text(t) -> str: return ''.join(t) if isinstance(t, list) else t  # the JSON keeps text as a string or a list of lines


def _source(cell) -> str: return _text(cell['source'])


def _outputs_text(cell) -> list[str]:
    "The text a code cell shows: its streams and every text/* form of its results (not images)."
    texts = []
    for out in cell.get('outputs', []):
        texts.append(_text(out.get('text', '')))
        texts += [_text(v) for k, v in out.get('data', {}).items() if k.startswith('text/')]
    return texts


def prose_cells(nb: dict):
    "(index, text) of each markdown cell of `nb`, without the `## Exercises` section: an exercise's numbers are its inputs."
    exercises = False
    for i, cell in enumerate(nb['cells']):
        if cell['cell_type'] != 'markdown': continue
        kept = []
        for line in _source(cell).splitlines():
            if line.startswith('## '): exercises = line[3:].strip().lower().startswith('exercises')
            if not exercises: kept.append(line)
        if kept: yield i, '\n'.join(kept)


def unshown(nb: dict, nn: str, allowed: dict = ALLOWED) -> list[tuple[int, str]]:
    "(cell index, number as written) for every number a markdown cell of lecture `nn` states and no code cell shows."
    code = [c for c in nb['cells'] if c['cell_type'] == 'code']
    values = shown_values([_COMMENT.sub('', _source(c)) for c in code] + [t for c in code for t in _outputs_text(c)])
    exempt = [n for text, _ in allowed.get(nn, []) for n in claims(text)]
    found = []
    for i, text in prose_cells(nb):
        for number in claims(text):
            if is_shown(number, values): continue
            if any(abs(number.value) == abs(e.value) for e in exempt): continue
            found.append((i, number.text))
    return found


def lecture_report(path: Path) -> list[str]:
    "One line per number lecture `path` states without a cell showing it: 'NN_name: cell 5 of 40 (id x): 93.1'."
    nb = nbformat.read(path, as_version=4)
    return [f"{path.stem}: {cell_ref(nb, i)}: {text}" for i, text in unshown(nb, path.name[:2])]


def lectures(selected: list[str]) -> list[Path]:
    "The lectures in `REPO`'s nbs/, in order, or those whose name starts with one of `selected`."
    return lecture_paths(selected, REPO/'nbs')


def main(argv: list[str]) -> int:
    "List every number the selected lectures (default: all) state without a cell showing it; 1 if there is one, else 0."
    lines = [line for path in lectures(argv) for line in lecture_report(path)]
    for line in lines: print(line)
    if lines: print(f"{len(lines)} numbers in the lectures' text are shown by no cell: compute and print each in a cell, "
                    "reword the sentence, or (definitions only) add it to tools/claims.py's ALLOWED with its reason")
    return 1 if lines else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
