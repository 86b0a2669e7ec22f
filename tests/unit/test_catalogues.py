"""The message catalogues: the customer page's (livelens/web/locales/*.json) and the
console's (livelens/web/locales/console/<part>/*.json). In each, every language says the
same things, with the same placeholders, and every text the page asks for exists; and
the server's first paint picks the browser's language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from livelens.http.pages import LANGUAGES, pick_language, render_join

WEB = Path(__file__).resolve().parents[2] / "livelens" / "web"
LOCALES = WEB / "locales"
PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")


def catalogue(code: str, folder: Path = LOCALES) -> dict[str, str]:
    data = json.loads((folder / f"{code}.json").read_text("utf-8"))
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


# -- the console: one catalogue directory per part, each with its own key prefix --------

CONSOLE_PARTS = {"console/live": "live", "console/admin": "console", "console/player": "player"}
CONSOLE_KEY = re.compile(r"'([a-z][A-Za-z]*(?:\.[A-Za-z0-9_]+)+)'")


def console_source() -> str:
    """The console's code: every module of the web directory but the customer page's."""
    files = [*sorted(WEB.glob("*.js")), *sorted((WEB / "views").glob("*.js"))]
    return "\n".join(path.read_text("utf-8") for path in files if path.name != "customer.js")


@pytest.mark.parametrize("part", sorted(CONSOLE_PARTS))
def test_a_console_catalogue_has_every_language_and_its_own_prefix(part: str) -> None:
    folder = LOCALES / part
    assert sorted(p.stem for p in folder.glob("*.json")) == sorted(LANGUAGES)
    prefix = CONSOLE_PARTS[part]
    assert [key for key in catalogue("en", folder) if not key.startswith(f"{prefix}.")] == []


def each_part(codes: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    return [(part, code) for part in sorted(CONSOLE_PARTS) for code in codes]


@pytest.mark.parametrize(("part", "code"), each_part(OTHERS))
def test_a_console_language_has_the_english_keys_and_placeholders(part: str, code: str) -> None:
    folder = LOCALES / part
    english, theirs = catalogue("en", folder), catalogue(code, folder)
    assert sorted(set(english) - set(theirs)) == [], "missing"
    assert sorted(set(theirs) - set(english)) == [], "not in English"
    different = {
        key: text
        for key, text in english.items()
        if set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(theirs[key]))
    }
    assert different == {}


@pytest.mark.parametrize(("part", "code"), each_part(LANGUAGES))
def test_console_texts_are_plain_with_plurals_in_one_and_other(part: str, code: str) -> None:
    texts = catalogue(code, LOCALES / part)
    for key, text in texts.items():
        assert isinstance(text, str) and text.strip(), key
        assert "{{" not in text, key
        bare = PLACEHOLDER.sub("", text)
        assert "{" not in bare and "}" not in bare, key
    bases = {key.rsplit(".", 1)[0] for key in texts if key.endswith((".one", ".other"))}
    for base in bases:
        assert f"{base}.one" in texts and f"{base}.other" in texts, base
        assert "{count}" in texts[f"{base}.other"], base


@pytest.mark.parametrize("part", sorted(CONSOLE_PARTS))
def test_every_key_the_console_names_exists_in_english(part: str) -> None:
    english = catalogue("en", LOCALES / part)
    prefix = CONSOLE_PARTS[part]
    named = {key for key in CONSOLE_KEY.findall(console_source()) if key.split(".")[0] == prefix}
    known = set(english) | {key.rsplit(".", 1)[0] for key in english}
    assert sorted(named - known) == []


def test_the_console_s_keys_made_from_codes_exist() -> None:
    english = catalogue("en", LOCALES / "console/admin")
    assert {"console.nav.sessions", "console.login.submit", "console.language.label"} <= set(
        english
    )
    outcomes = ("declined", "expired", "dropped")
    columns = {
        "users": ("user", "role", "totp", "status", "added", "actions"),
        "reports": (
            "period",
            "sessions",
            "completed",
            "duration",
            "agent",
            "joinWait",
            "rating",
            *outcomes,
        ),
        "log": ("time", "event", "from", "details", "action", "by", "target"),
        "exports": ("asked", "what", "state", "size", "kept"),
    }
    for section, names in columns.items():
        assert {f"console.{section}.col.{name}" for name in names} <= set(english), section
    for group in ("day", "week", "month"):
        assert f"console.reports.per.{group}" in english
        chart = f"console.reports.chart.{group}"
        assert {f"{chart}.one", f"{chart}.other"} <= english.keys()
