"""Every template under ``templates/`` has its visible words marked for translation.

Each template is split with Django's own lexer. Whatever a tag or a variable makes, the inside of
``{% blocktranslate %}`` and ``{% comment %}``, and template comments are left out; the rest is
read as HTML (plain text for ``.txt`` mails). A text node, or an attribute a person reads or
hears (``title``, ``alt``, ``placeholder``, ``aria-label``, a button's ``value``), that still
holds two Latin letters in a row is English nobody can translate. Words that are names, not
English, are allowed below.

What this cannot see: string literals in tag arguments (``{% include ... with label="..." %}``)
and filter arguments (``|default:"..."``); write those with ``_("...")`` or ``{% translate %}``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.template.base import Lexer, TokenType

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"

# Names, not words: the program's brand.
ALLOWED = {"Rewards Club"}
SPOKEN_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label"}
# Elements whose text is never translated: code, and what is not shown.
UNSHOWN_ELEMENTS = {"code", "kbd", "samp", "script", "style"}
# Tags whose inside is translated as one message, or never shown, up to their closing tag.
SKIPPED_BLOCKS = {
    "blocktranslate": "endblocktranslate",
    "blocktrans": "endblocktrans",
    "comment": "endcomment",
}
# ``{% block body_class %}`` and the like hold class names.
UNSHOWN_TEMPLATE_BLOCKS = {"body_class"}
# A stand-in for whatever a tag or variable makes: a space, so HTML around it still parses and
# it never counts as English.
MARK = " "
WORD = re.compile(r"[A-Za-z]{2,}")
# A site path (``/portal/``) or an address in a mail is not English.
PATH = re.compile(r"(?:https?://|/)\S*")


def template_paths() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*") if p.suffix in {".html", ".txt"})


def literal_text(source: str) -> str:
    """The template's own text, every tag, variable and skipped block replaced by ``MARK``."""
    parts: list[str] = []
    closing: str | None = None
    for token in Lexer(source).tokenize():
        if closing is not None:
            if token.token_type == TokenType.BLOCK and token.contents.split()[0] == closing:
                closing = None
            continue
        if token.token_type == TokenType.TEXT:
            parts.append(token.contents)
            continue
        if token.token_type == TokenType.BLOCK:
            name, *args = token.contents.split()
            closing = SKIPPED_BLOCKS.get(name)
            if name == "block" and args and args[0] in UNSHOWN_TEMPLATE_BLOCKS:
                closing = "endblock"
        parts.append(MARK)
    return "".join(parts)


def english(text: str) -> str | None:
    words = " ".join(PATH.sub(" ", text).split())
    for name in ALLOWED:
        words = words.replace(name, "")
    return words if WORD.search(words) else None


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._unshown = 0  # how deep inside UNSHOWN_ELEMENTS the text is

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in UNSHOWN_ELEMENTS:
            self._unshown += 1
        values = dict(attrs)
        spoken = set(SPOKEN_ATTRIBUTES)
        if tag == "input" and values.get("type") in {"submit", "button", "reset"}:
            spoken.add("value")
        for name in sorted(spoken & values.keys()):
            if words := english(values[name] or ""):
                self.found.append(f'{tag} {name}="{words}"')

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in UNSHOWN_ELEMENTS and self._unshown:
            self._unshown -= 1

    def handle_data(self, data: str) -> None:
        if not self._unshown and (words := english(data)):
            self.found.append(words)


def untranslated(path: Path) -> list[str]:
    text = literal_text(path.read_text())
    if path.suffix == ".txt":
        return [words for line in text.splitlines() if (words := english(line))]
    reader = _Reader()
    reader.feed(text)
    reader.close()
    return reader.found


def test_the_reader_finds_english_and_passes_marked_text(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        '{% load i18n %}<h1>{% translate "Points" %}</h1><p title="{{ a }} seats">{{ b }}</p>'
        "{% blocktranslate %}You have {{ n }} points{% endblocktranslate %}"
        '<input type="submit" value="Reverse"><script>let x = "code";</script>{# a note #}'
        '<p>Rewards Club · {{ c }}</p><p>Check in: {{ d }}</p><tr{% if e %} class="mine"{% endif %}>'
        '<p><code>check_ledger</code> <a href="/portal/">{{ f }}</a></p>'
        '<p>{% translate "broken\n line" %}</p>'
    )
    assert untranslated(page) == [
        'p title="seats"',
        'input value="Reverse"',
        "Check in:",
        '{% translate "broken line" %}',
    ]


@pytest.mark.parametrize("path", template_paths(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_unmarked_english(path):
    assert untranslated(path) == []
