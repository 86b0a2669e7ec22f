"""The customer page's message catalogues (livelens/web/locales/*.json): every language
says the same things, with the same placeholders, and every text the page asks for
exists; and the server's first paint picks the browser's language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from livelens.http.pages import LANGUAGES, pick_language, render_join

WEB = Path(__file__).resolve().parents[2] / "livelens" / "web"
LOCALES = WEB / "locales"
PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")


def catalogue(code: str) -> dict[str, str]:
    data = json.loads((LOCALES / f"{code}.json").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


ENGLISH = catalogue("en")
OTHERS = [code for code in LANGUAGES if code != "en"]


def test_the_languages_are_the_same_on_server_page_and_disk() -> None:
    assert LANGUAGES == ("en", "nl", "de", "fr", "es")
    assert sorted(p.stem for p in LOCALES.glob("*.json")) == sorted(LANGUAGES)
    offered = re.findall(r"\['([a-z]{2})', '", (WEB / "i18n.js").read_text("utf-8"))
    assert tuple(offered) == LANGUAGES


@pytest.mark.parametrize("code", OTHERS)
def test_every_language_has_exactly_the_english_keys(code: str) -> None:
    theirs = catalogue(code)
    assert sorted(set(ENGLISH) - set(theirs)) == [], "missing"
    assert sorted(set(theirs) - set(ENGLISH)) == [], "not in English"


@pytest.mark.parametrize("code", OTHERS)
def test_every_text_has_the_english_placeholders(code: str) -> None:
    theirs = catalogue(code)
    different = {
        key: (sorted(PLACEHOLDER.findall(text)), sorted(PLACEHOLDER.findall(theirs[key])))
        for key, text in ENGLISH.items()
        if key in theirs
        and sorted(set(PLACEHOLDER.findall(text))) != sorted(set(PLACEHOLDER.findall(theirs[key])))
    }
    assert different == {}


@pytest.mark.parametrize("code", LANGUAGES)
def test_texts_are_plain_non_empty_strings(code: str) -> None:
    for key, text in catalogue(code).items():
        assert isinstance(text, str) and text.strip(), key
        assert "<" not in text and "{{" not in text, key  # text nodes only, no markup
        bare = PLACEHOLDER.sub("", text)
        assert "{" not in bare and "}" not in bare, key  # a broken {placeholder}


def test_plural_texts_come_in_one_and_other() -> None:
    bases = {key.rsplit(".", 1)[0] for key in ENGLISH if key.endswith((".one", ".other"))}
    for base in bases:
        assert f"{base}.one" in ENGLISH and f"{base}.other" in ENGLISH, base
        assert "{count}" in ENGLISH[f"{base}.other"], base


def keys_named_in(source: str) -> set[str]:
    """Quoted strings that look like catalogue keys ('consent.title', 'footer')."""
    prefixes = {key.split(".")[0] for key in ENGLISH}
    quoted = re.findall(r"'([a-z][A-Za-z]*(?:\.[A-Za-z]+)*)'", source)
    return {q for q in quoted if q.split(".")[0] in prefixes and ("." in q or q in ENGLISH)}


def customer_page_source() -> str:
    """The customer page's code: customer.js, the entry module, and its modules in customer/."""
    files = [WEB / "customer.js", *sorted((WEB / "customer").glob("*.js"))]
    return "\n".join(path.read_text("utf-8") for path in files)


def test_every_key_the_page_names_exists_in_english() -> None:
    named = keys_named_in(customer_page_source())
    assert {"consent.title", "problem.noWebrtc.title", "chat.unread"} <= named
    known = set(ENGLISH) | {key.rsplit(".", 1)[0] for key in ENGLISH}
    assert sorted(named - known) == []
    # Keys made from a prefix and a code the page knows.
    for kind in ("blocked", "missing", "insecure", "busy"):
        assert {f"media.{kind}.{part}" for part in ("title", "text", "todo")} <= set(ENGLISH)
    for level in ("good", "fair", "poor", "connecting", "offline"):
        assert f"quality.{level}" in ENGLISH


def test_the_join_page_template_names_only_english_keys() -> None:
    template = (WEB / "join.html").read_text("utf-8")
    markers = set(re.findall(r"\{\{([A-Za-z0-9_.]+)\}\}", template))
    assert markers == {"lang", "page.title", "boot.opening", "boot.noscript"}
    assert markers - {"lang"} <= set(ENGLISH)


def test_the_first_paint_is_in_the_language_and_escaped() -> None:
    template = (WEB / "join.html").read_text("utf-8")
    page = render_join(template, {**ENGLISH, **catalogue("nl")}, "nl")
    assert '<html lang="nl">' in page
    assert f"<title>{catalogue('nl')['page.title']}</title>" in page
    assert "{{" not in page
    hostile = render_join("<p>{{x}}</p>", {"x": '<img src=x onerror="y">'}, "en")
    assert hostile == "<p>&lt;img src=x onerror=&quot;y&quot;&gt;</p>"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("nl", "nl"),
        ("nl-NL,nl;q=0.9", "nl"),
        ("de-CH, en;q=0.5", "de"),
        ("ja, fr;q=0.8, es;q=0.9", "es"),  # the best supported, not the first
        ("pt-BR, it", "en"),  # nothing supported: English
        ("fr;q=0, nl;q=0.1", "nl"),  # q=0: not acceptable
        ("es;q=0.5, de;q=0.5", "es"),  # a tie: the one listed first
        ("fr;q=abc, nl;q=0.3", "nl"),
        ("EN-gb", "en"),
    ],
)
def test_the_server_picks_the_browsers_language(header: str | None, language: str) -> None:
    assert pick_language(header) == language
