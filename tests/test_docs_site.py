"""The documentation site as a reader sees it, and the docstrings it is rendered from.

The site is built once (``mkdocs build --strict``, into a temporary directory) and its HTML checked: no Sphinx role,
RST directive, Markdown or math source is left unrendered outside code and math elements; the mathematics is in
arithmatex elements that the vendored KaTeX renders offline; every page of the nav exists; and each API page holds
the public functions and classes of its module. The docstring checks (one numpydoc style) need only griffe, which
mkdocstrings installs.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: API page -> the modules whose public names it must document (``__all__``, else the public functions and
#: classes defined in the module).
API_PAGES = {
    "api/discrete": ["pidlearn.discrete"],
    "api/continuous": ["pidlearn.continuous"],
    "api/lattice": ["pidlearn.lattice"],
    "api/sxpid": ["pidlearn.sxpid", "pidlearn.results", "pidlearn.plotting"],
    "api/pid": ["pidlearn.measures"],
    "api/higher_order": ["pidlearn.higher_order"],
    "api/significance": ["pidlearn.significance"],
    "api/discretise": ["pidlearn.binning"],
    "api/backends_torch": ["pidlearn.backends.torch"],
    "api/backends_numpy": ["pidlearn.backends.numpy"],
    "api/bench": ["pidlearn.bench"],
}

#: Text that must not survive into a page outside code and math: what each pattern catches.
UNRENDERED = {
    r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc|ref|math|doc|term|const):": "a Sphinx role",
    r"(?m)^\s*\.\. [a-z-]+::": "an RST directive",
    r"[A-Za-z0-9)]::(?:\s|$)": "an RST literal-block marker",
    r"`": "a backtick (an unrendered code span or numpydoc default role)",
    r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{": "math source outside a math element",
    r"\$[^$\s][^$]{0,200}?[\\^_{][^$]{0,200}?\$": "inline $...$ math source outside a math element",
    r"\]\(|\]\[": "an unrendered Markdown link",
    r"\|\s*-{3,}\s*\|": "an unrendered Markdown table",
    r"\*\*\w": "unrendered Markdown bold",
    r"</?(?:autoref|code|span|div|a)\b|identifier=": "escaped HTML (markup shown as text)",
}


class _Text(HTMLParser):
    """Text of a page outside <code>, <pre>, <script>, <style> and math elements; and the math elements' sources."""

    SKIP = frozenset({"code", "pre", "script", "style", "kbd", "samp", "textarea"})
    VOID = frozenset({"br", "hr", "img", "input", "link", "meta", "source", "wbr", "col", "area", "base", "path"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, skipped, math)
        self.text: list[str] = []
        self.math: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        parent_skip = bool(self.stack) and self.stack[-1][1]
        parent_math = bool(self.stack) and self.stack[-1][2]
        is_math = "arithmatex" in classes
        if is_math and not parent_math:
            self.math.append("")
        self.stack.append((tag, parent_skip or tag in self.SKIP or is_math, parent_math or is_math))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        if self.stack and self.stack[-1][2]:
            self.math[-1] += data
        elif not (self.stack and self.stack[-1][1]):
            self.text.append(data)


def _parse(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    for module in ("mkdocs", "mkdocstrings", "material", "pymdownx"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f'{module} is not installed: the site needs the docs extra (pip install "pidlearn[docs]")')
    out = tmp_path_factory.mktemp("site")
    res = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, f"mkdocs build --strict failed:\n{res.stdout}\n{res.stderr}"
    return out


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if p.parts[len(site.parts)] not in ("assets", "search"))


def _nav_files() -> list[str]:
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))

    def walk(entry):
        if isinstance(entry, str):
            yield entry
        elif isinstance(entry, list):
            for item in entry:
                yield from walk(item)
        elif isinstance(entry, dict):
            for value in entry.values():
                yield from walk(value)

    return list(walk(config["nav"]))


def _html_of(site: Path, md: str) -> Path:
    stem = md[: -len(".md")]
    if stem == "index" or stem.endswith("/index"):
        return site / stem[: -len("index")] / "index.html"
    return site / stem / "index.html"


# ---------------------------------------------------------------------------------------------------------------
# the checker itself


def test_checker_finds_unrendered_markup():
    """The patterns fire on what they are meant to catch, and not on rendered code or math."""
    bad = {
        "<p>Result of :func:<code>permutation_test</code></p>": "a Sphinx role",
        "<p>.. math::</p>": "an RST directive",
        "<p>counting core::</p>": "an RST literal-block marker",
        "<p>an `ndarray` here</p>": "a backtick (an unrendered code span or numpydoc default role)",
        "<p>$$ I(X;Y) $$</p>": "math source outside a math element",
        r"<p>\(x\)</p>": "math source outside a math element",
        r"<p>with $\alpha_i$ the weights</p>": "inline $...$ math source outside a math element",
        "<p>see [the guide](guide.md)</p>": "an unrendered Markdown link",
        "<p>| a | b |\n|---|---|</p>": "an unrendered Markdown table",
        "<p>**bold** text</p>": "unrendered Markdown bold",
        '<td>&lt;autoref identifier="x" optional&gt;&lt;code&gt;x&lt;/code&gt;&lt;/autoref&gt;</td>': "escaped HTML "
        "(markup shown as text)",
    }
    for html, what in bad.items():
        text = "".join(_parse(html).text)
        found = [w for pattern, w in UNRENDERED.items() if re.search(pattern, text)]
        assert what in found, (html, found)
    good = (
        '<p>costs $5 and $6 <code>:func:`x` $$ \\(</code> <span class="arithmatex">\\(\\alpha_i\\)</span></p>'
        "<pre><code>a::\n`b`</code></pre><script>var a = '$$';</script>"
    )
    parsed = _parse(good)
    text = "".join(parsed.text)
    assert not [w for pattern, w in UNRENDERED.items() if re.search(pattern, text)], text
    assert parsed.math == ["\\(\\alpha_i\\)"]


# ---------------------------------------------------------------------------------------------------------------
# the built site


def test_no_page_shows_unrendered_markup(site):
    problems = []
    for page in _pages(site):
        text = "".join(_parse(page.read_text(encoding="utf-8")).text)
        for pattern, what in UNRENDERED.items():
            for m in re.finditer(pattern, text):
                context = text[max(0, m.start() - 60) : m.end() + 60].replace("\n", " ")
                problems.append(f"{page.relative_to(site)}: {what}: ...{context}...")
    assert not problems, f"{len(problems)} unrendered pieces:\n" + "\n".join(problems[:40])


def test_math_is_rendered_offline(site):
    """Formulas sit in arithmatex elements with TeX delimiters, and KaTeX comes with the site (no CDN)."""
    for asset in ("katex.min.js", "katex.min.css", "contrib/auto-render.min.js", "fonts/KaTeX_Main-Regular.woff2"):
        assert (site / "assets" / "katex" / asset).is_file(), f"the vendored KaTeX lacks {asset}"
    n_math = 0
    for page in _pages(site):
        html = page.read_text(encoding="utf-8")
        for src in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html):
            assert not src.startswith(("http:", "https:", "//")), f"{page.relative_to(site)} loads {src} from the web"
        for math in _parse(html).math:
            n_math += 1
            assert re.fullmatch(r"\s*(\\\(.*\\\)|\\\[.*\\\])\s*", math, re.S), f"{page}: malformed math {math!r}"
        if "arithmatex" in html:
            assert "katex.min.js" in html and "auto-render.min.js" in html and "math.js" in html, page
    assert n_math > 50, f"only {n_math} formulas on the whole site: is arithmatex enabled?"
    pid = _parse(_html_of(site, "guide/pid.md").read_text(encoding="utf-8"))
    assert any("i_{sx}" in m for m in pid.math), "the PID guide lost its shared-exclusion formula"


KATEX_CHECK = """
const katex = require(process.argv[process.argv.length - 1]);
const items = JSON.parse(require("fs").readFileSync(0, "utf8"));
const errors = [];
for (const [page, src] of items) {
  const m = src.trim().match(/^\\\\([\\[(])([\\s\\S]*)\\\\[\\])]$/);
  try { katex.renderToString(m[2], {displayMode: m[1] === "[", throwOnError: true}); }
  catch (e) { errors.push(page + ": " + e.message); }
}
console.log(JSON.stringify(errors));
"""


def test_every_formula_parses_with_katex(site):
    """Every formula of the site typesets with the vendored KaTeX (what the browser would show in red otherwise)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the formulas are checked by running the vendored KaTeX under node")
    items = [
        [str(page.relative_to(site)), math]
        for page in _pages(site)
        for math in _parse(page.read_text(encoding="utf-8")).math
    ]
    katex = site / "assets" / "katex" / "katex.min.js"
    res = subprocess.run(
        [node, "-e", KATEX_CHECK, str(katex)], input=json.dumps(items), capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    errors = json.loads(res.stdout)
    assert len(items) > 50
    assert not errors, f"{len(errors)} of {len(items)} formulas do not typeset:\n" + "\n".join(errors)


def test_every_nav_page_exists(site):
    files = _nav_files()
    assert len(files) >= 25, files
    for md in files:
        assert (DOCS / md).is_file(), f"mkdocs.yml's nav names docs/{md}, which does not exist"
        assert _html_of(site, md).is_file(), f"docs/{md} was not built"
    sections = {md.split("/")[0] for md in files}
    assert {"guide", "api", "results"} <= sections


def test_guide_pages_show_their_figures(site):
    html = _html_of(site, "guide/pid.md").read_text(encoding="utf-8")
    for img in re.findall(r'<img[^>]+src="([^"]+)"', html):
        assert (_html_of(site, "guide/pid.md").parent / img).resolve().is_file(), f"broken image {img}"
    assert "lattice_xor.png" in html
    assert (site / "figures" / "lattice_xor.png").is_file()


def _public_names(module) -> list[str]:
    """The public functions and classes of ``module``: those of ``__all__``, else those defined in it."""
    if module.exports is not None:
        names = [e if isinstance(e, str) else e.name for e in module.exports]
        members = [module.members.get(n) for n in names]
        targets = [m.final_target if m is not None and m.is_alias else m for m in members]
        return sorted(n for n, t in zip(names, targets, strict=True) if t is not None and (t.is_function or t.is_class))
    return sorted(
        name
        for name, member in module.members.items()
        if not name.startswith("_") and not member.is_alias and (member.is_function or member.is_class)
    )


@pytest.fixture(scope="module")
def package():
    griffe = pytest.importorskip("griffe", reason='griffe comes with the docs extra (pip install "pidlearn[docs]")')
    return griffe.load("pidlearn", search_paths=[str(ROOT)], docstring_parser="numpy", resolve_aliases=False)


def test_api_pages_document_the_public_functions(site, package):
    for page, modules in API_PAGES.items():
        html = (site / page / "index.html").read_text(encoding="utf-8")
        for path in modules:
            module = package.get_member(path.removeprefix("pidlearn."))
            names = _public_names(module)
            assert names, path
            missing = [n for n in names if f'id="{path}.{n}"' not in html]
            assert not missing, f"{page} does not document {path}.{missing}"


# ---------------------------------------------------------------------------------------------------------------
# docstrings: one numpydoc style

#: Public functions whose docstrings do not yet document every parameter (the lead's list to shrink: add a
#: numpydoc ``Parameters`` section). A function that gains one must leave this list; a new one must not join it.
UNDOCUMENTED_PARAMETERS = {
    "pidlearn.discrete.conditional_entropy",
    "pidlearn.discrete.conditional_entropy_from_pmf",
    "pidlearn.discrete.entropy_from_pmf",
    "pidlearn.discrete.joint_entropy",
    "pidlearn.discrete.multi_information",
    "pidlearn.discrete.multi_information_from_pmf",
    "pidlearn.discrete.mutual_information_from_pmf",
    "pidlearn.discrete.permutation_test",
    "pidlearn.lattice.parse_name",
    "pidlearn.sxpid.atom_null_distribution",
    "pidlearn.higher_order.n_multiplets",
    "pidlearn.significance.check_n_permutations",
    "pidlearn.significance.local_neighbours",
    "pidlearn.significance.local_permutation",
    "pidlearn.significance.p_values",
    "pidlearn.significance.permutation_seeds",
    "pidlearn.significance.permuted_index",
    "pidlearn.significance.strata",
    "pidlearn.significance.warn_if_undersampled",
    "pidlearn.backends.torch.functional.atom_names",
    "pidlearn.backends.torch.functional.entropy",
    "pidlearn.backends.torch.train.standardise",
    "pidlearn.backends.numpy.local_rule.atom_names",
    "pidlearn.backends.numpy.local_rule.goal_weights",
    "pidlearn.backends.numpy.memory.hopfield_weights",
    "pidlearn.backends.numpy.unsupervised.linear_probe",
    "pidlearn.backends.numpy.mole_objectives.make_objective",
    "pidlearn.backends.numpy.memory.random_patterns",
    "pidlearn.backends.numpy.unsupervised.random_projection_codes",
    "pidlearn.backends.numpy.memory.recall",
    "pidlearn.backends.numpy.memory.recall_capacity",
    "pidlearn.backends.numpy.train.standardise",
    "pidlearn.bench.estimators.all_estimators",
    "pidlearn.bench.tasks.all_tasks",
    "pidlearn.bench.batch.dask_client",
    "pidlearn.bench.estimators.get_estimator",
    "pidlearn.bench.tasks.get_task",
    "pidlearn.bench.runner.load_results",
    "pidlearn.bench.runner.summarize",
}

#: Docstrings that griffe's numpydoc parser cannot read cleanly (the lead's list to empty), with the problem.
MALFORMED = {
    "pidlearn.backends.torch.layers.InfomorphicLayer.forward": "a prose paragraph at the margin of the Parameters "
    "section (the 'Inputs must have the dtype...' paragraph) is read as parameters 'Inputs', 'a', 'widened', 'be': "
    "indent it under its parameter or move it to a Notes section",
}


def _public_api(package):
    """Every public function and class of the API pages, and the public methods of those classes."""
    seen = {}
    for modules in API_PAGES.values():
        for path in modules:
            module = package.get_member(path.removeprefix("pidlearn."))
            for name in _public_names(module):
                obj = module.members.get(name)
                if obj is None:
                    continue
                if obj.is_alias:
                    obj = obj.final_target
                if not (obj.is_function or obj.is_class):
                    continue
                seen[obj.path] = obj
                if obj.is_class:
                    for mname, member in obj.members.items():
                        if not mname.startswith("_") and not member.is_alias and member.is_function:
                            seen[member.path] = member
    return seen


def test_docstrings_parse_as_numpydoc(package, caplog):
    """Each public docstring has a summary line and parses as numpydoc without a warning; RST is limited to the
    roles and ``.. math::`` that the site converts (docs/_hooks/griffe_sphinx_roles.py)."""
    api = _public_api(package)
    assert len(api) > 150, len(api)
    problems = {}
    for path, obj in sorted(api.items()):
        doc = obj.docstring
        if doc is None or not doc.value.strip():
            if obj.is_function and obj.parent.is_class:
                continue  # undocumented methods are not rendered (a public method should still say what it does)
            problems[path] = "no docstring"
            continue
        if not doc.value.strip().split("\n", 1)[0].strip():
            problems[path] = "no summary line"
        directives = set(re.findall(r"(?m)^\s*\.\. ([a-z-]+)::", doc.value)) - {"math"}
        if directives:
            problems[path] = f"RST directives the site does not render: {sorted(directives)}"
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="griffe"):
            doc.parse("numpy")
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        if warnings:
            problems[path] = "; ".join(warnings)
    unexpected = {p: why for p, why in problems.items() if p not in MALFORMED}
    listed = "\n".join(f"{p}: {w}" for p, w in unexpected.items())
    assert not unexpected, f"docstrings that are not clean numpydoc:\n{listed}"
    fixed = set(MALFORMED) - set(problems)
    assert not fixed, f"now clean, remove from MALFORMED: {sorted(fixed)}"


def test_docstrings_document_every_parameter(package):
    from griffe import DocstringSectionKind

    kinds = (DocstringSectionKind.parameters, DocstringSectionKind.other_parameters)
    undocumented = {}
    for path, obj in _public_api(package).items():
        if not obj.is_function or obj.parent.is_class or obj.docstring is None:
            continue
        sections = obj.docstring.parse("numpy")
        documented = {p.name.lstrip("*") for s in sections if s.kind in kinds for p in s.value}
        missing = [p.name for p in obj.parameters if p.name not in ("self", "cls") and p.name not in documented]
        if missing:
            undocumented[path] = missing
    new = {p: m for p, m in undocumented.items() if p not in UNDOCUMENTED_PARAMETERS}
    assert not new, "public functions with undocumented parameters (add a numpydoc Parameters section):\n" + "\n".join(
        f"{p}: {m}" for p, m in sorted(new.items())
    )
    fixed = UNDOCUMENTED_PARAMETERS - set(undocumented)
    assert not fixed, f"these now document every parameter, remove them from UNDOCUMENTED_PARAMETERS: {sorted(fixed)}"


# ---------------------------------------------------------------------------------------------------------------
# the griffe extension that turns the docstrings' Sphinx markup into Markdown for the site


def test_sphinx_markup_becomes_markdown():
    griffe = pytest.importorskip("griffe", reason='griffe comes with the docs extra (pip install "pidlearn[docs]")')
    spec = importlib.util.spec_from_file_location("griffe_sphinx_roles", DOCS / "_hooks" / "griffe_sphinx_roles.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    pkg = griffe.load("pidlearn", search_paths=[str(ROOT)], resolve_aliases=False)
    collection = pkg.modules_collection
    numpy_backend = pkg.get_member("backends.numpy")
    sxpid = pkg.get_member("sxpid")

    def md(text, obj=sxpid):
        return ext.markdown_docstring(text, obj, collection)

    assert md(":func:`pidlearn.discrete.entropy`") == (
        '<autoref identifier="pidlearn.discrete.entropy" optional><code>pidlearn.discrete.entropy()</code></autoref>'
    )
    assert md(":class:`~pidlearn.results.PIDResult`") == (
        '<autoref identifier="pidlearn.results.PIDResult" optional><code>PIDResult</code></autoref>'
    )
    assert 'identifier="pidlearn.backends.numpy.local_rule"' in md(":mod:`.local_rule`", numpy_backend)
    assert 'identifier="pidlearn.sxpid.sxpid_from_pmf"' in md(":func:`sxpid_from_pmf`")  # a name in the module
    assert md(":data:`no_such_name`") == "<code>no_such_name</code>"  # unresolvable: code, never a broken link
    assert md("the ratio :math:`a^2`") == "the ratio $a^2$"
    assert md(":math:`I_\\min`") == "$I_{\\min}$"
    assert md(":math:`I_\\mathrm{MMI}`") == "$I_\\mathrm{MMI}$"
    assert md("Text:\n\n.. math::\n\n    a = b\n    + c\n\nmore") == "Text:\n\n\n$$\na = b\n+ c\n$$\n\nmore"
    assert md(".. math:: x = 1\n\nafter") == "\n$$\nx = 1\n$$\n\nafter"
    assert md("the identities::\n\n    H = 1") == "the identities:\n\n    H = 1"
    assert md("x : array-like, shape (n,)\n    The array-like input.") == (
        "x : array_like, shape (n,)\n    The array-like input."
    )
    assert md("n : int, default :data:`~pidlearn.higher_order.DEFAULT_MAX_MULTIPLETS`\n    See :func:`sxpid`.") == (
        "n : int, default DEFAULT_MAX_MULTIPLETS\n    See "
        '<autoref identifier="pidlearn.sxpid.sxpid" optional><code>sxpid()</code></autoref>.'
    )
    doc = "Summary.\n\nParameters\n----------\nx : int\n    The x.\n\nInputs must be floats.\n\nReturns\n-------\nint"
    assert md(doc) == doc.replace("\n\nInputs must", "\n\nNotes\n-----\nInputs must")
    assert md(doc.replace("Inputs must be floats.", "y : int\n    The y.")) == doc.replace(
        "Inputs must be floats.", "y : int\n    The y."
    )
