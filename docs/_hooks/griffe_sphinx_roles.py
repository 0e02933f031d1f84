"""Griffe extension for the docs site: turn the Sphinx markup left in numpydoc docstrings into Markdown.

mkdocstrings renders docstrings as Markdown, where ``:func:`name``` would show literally. When griffe has loaded the
package, every docstring is rewritten once:

* ``:func:`x```, ``:class:`~a.b.C```, ``:mod:`.local_rule``` (any role, ``~``, ``!`` and ``title <target>`` forms)
  become an optional cross-reference ``<autoref identifier="full.path" optional><code>x</code></autoref>``:
  a link when the target is rendered on an API page, plain code otherwise (never a broken link);
* ``:math:`x``` becomes ``$x$`` and a ``.. math::`` directive a ``$$ ... $$`` block (arithmatex, KaTeX); a
  command as a bare sub- or superscript (``I_\\min``, which LaTeX takes and KaTeX refuses) gets braces;
* a paragraph ending in ``::`` (an RST literal block follows) ends in ``:``;
* in a ``name : type, default ...`` line (shown as plain text) a role becomes its bare name, and ``array-like``
  numpydoc's ``array_like`` (griffe would read the type as the expression ``array - like``);
* an RST definition list in the free text (a term at the margin, its definition indented below it) becomes a bold
  term and its dedented definition;
* a prose paragraph at the margin of a ``Parameters`` section (numpydoc reads it as more parameters) is moved under a
  ``Notes`` heading (``tests/test_docs_site.py`` still reports the docstring).

Loaded by ``mkdocs.yml`` (``plugins.mkdocstrings.handlers.python.options.extensions``). Only the rendered text
changes; the docstrings in the source are untouched.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?P<role>[a-z]+):`(?P<body>[^`]+)`")
TITLED = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^>]+)>$")
MATH_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<rest>.*)$")
BARE_SCRIPT = re.compile(r"([_^])(\\[A-Za-z]+)(?![A-Za-z{])")
LITERAL_MARKER = re.compile(r"(?<=\S)::$")
TYPE_LINE = re.compile(r"^\s*\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*\s+:\s")


def _exists(collection: Any, path: str) -> bool:
    try:
        collection.get_member(path)
    except (KeyError, ValueError, AttributeError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return False
    return True


def _resolve(obj: griffe.Object, target: str, collection: Any) -> str | None:
    """Full dotted path of ``target`` as written in the docstring of ``obj``, or None."""
    module = obj.module
    if target.startswith("."):
        bases = [module.path] if module.is_init_module else []
        bases.append(module.path.rsplit(".", 1)[0])
        for base in bases:
            if _exists(collection, base + target):
                return base + target
        return None
    if target.split(".", 1)[0] in collection.members:
        return target
    head, _, tail = target.partition(".")
    scope: griffe.Object | None = obj
    while scope is not None:
        try:
            resolved = scope.resolve(head)
        except (griffe.NameResolutionError, AttributeError, KeyError):
            scope = scope.parent
            continue
        return f"{resolved}.{tail}" if tail else resolved
    return None


def _title(body: str) -> str:
    """What a role shows: ``title <target>`` -> title, ``~a.b.c`` -> c, else the target."""
    titled = TITLED.match(body)
    if titled:
        return titled["title"]
    body = body.lstrip("!")
    return body[1:].rsplit(".", 1)[-1] if body.startswith("~") else body


def _target(body: str) -> str:
    titled = TITLED.match(body)
    return titled["target"] if titled else body.lstrip("!").lstrip("~")


def _role(match: re.Match, obj: griffe.Object, collection: Any) -> str:
    role, body = match["role"], match["body"].strip()
    if role == "math":
        return "$" + BARE_SCRIPT.sub(r"\1{\2}", body) + "$"
    title, target = _title(body), _target(body)
    if role in ("func", "meth") and not title.endswith(")"):
        title += "()"
    code = f"<code>{html.escape(title)}</code>"
    path = _resolve(obj, target, collection)
    if path is None:
        return code
    return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'


def _math_blocks(text: str) -> str:
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        m = MATH_DIRECTIVE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent = len(m["indent"].expandtabs())
        body = [m["rest"]] if m["rest"].strip() else []
        i += 1
        while i < len(lines) and (not lines[i].strip() or len(lines[i].expandtabs()) - len(lines[i].lstrip()) > indent):
            body.append(lines[i].strip())
            i += 1
        while body and not body[-1]:
            body.pop()
        while body and not body[0]:
            body.pop(0)
        body = [BARE_SCRIPT.sub(r"\1{\2}", b) for b in body if b]
        out += ["", m["indent"] + "$$", *(m["indent"] + b for b in body), m["indent"] + "$$", ""]
    return "\n".join(out)


PARAM_LINE = re.compile(r"^\*{0,2}[A-Za-z_][\w]*(?:\s*,\s*\*{0,2}[A-Za-z_]\w*)*\s*(?::.*)?$")


def _prose_in_parameters(text: str) -> str:
    lines = text.split("\n")
    in_params = False
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1].strip()) and line.strip():
            in_params = line.strip() in ("Parameters", "Other Parameters")
            continue
        if (
            in_params
            and line
            and not line[0].isspace()
            and i > 0
            and not lines[i - 1].strip()
            and not PARAM_LINE.match(line.strip())
        ):
            return "\n".join([*lines[:i], "Notes", "-----", *lines[i:]])
    return text


SECTION_RULE = re.compile(r"^\s*-{3,}\s*$")


def _definition_lists(text: str) -> str:
    lines, out = text.split("\n"), []
    i = 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and SECTION_RULE.match(lines[i + 1]) and line.strip():
            return "\n".join(out + lines[i:])  # numpydoc sections from here on: left to the numpydoc parser
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        is_term = (
            i > 0
            and line.strip()
            and not line[0].isspace()
            and not re.match(r"[*+-] |\d+\. |>>>|\.\. ", line)
            and len(line) < 80
            and nxt.startswith("    ")
            and nxt.strip()
            and (not lines[i - 1].strip() or lines[i - 1].startswith("    "))
        )
        if not is_term:
            out.append(line)
            i += 1
            continue
        out += ["", f"**{line.strip()}**", ""]
        i += 1
        while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
            if not lines[i].strip() and not (i + 1 < len(lines) and lines[i + 1].startswith("    ")):
                break
            out.append(lines[i][4:])
            i += 1
    return "\n".join(out)


def markdown_docstring(text: str, obj: griffe.Object, collection: Any) -> str:
    """The docstring ``text`` of ``obj`` with its Sphinx roles and directives turned into Markdown."""
    text = _prose_in_parameters(_definition_lists(_math_blocks(text)))
    lines = []
    for line in text.split("\n"):
        line = LITERAL_MARKER.sub(":", line)
        if TYPE_LINE.match(line):  # "name : type, default ...": rendered as plain text, so no HTML in it
            line = ROLE.sub(lambda m: _title(m["body"].strip()), line.replace("array-like", "array_like"))
        else:
            line = ROLE.sub(lambda m: _role(m, obj, collection), line)
        lines.append(line)
    return "\n".join(lines)


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring of a loaded package (see the module docstring)."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        seen: set[int] = set()
        stack: list[griffe.Object] = [pkg]
        while stack:
            obj = stack.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if obj.docstring is not None:
                obj.docstring.value = markdown_docstring(obj.docstring.value, obj, loader.modules_collection)
            stack.extend(m for m in obj.members.values() if not m.is_alias)
