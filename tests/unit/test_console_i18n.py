"""The console's strings: English and Korean have the same keys, and every key a page names exists."""

from __future__ import annotations

import re
from pathlib import Path

import localcvm.console
from localcvm.console import i18n

CONSOLE = Path(localcvm.console.__file__).parent
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z_]+\.[A-Za-z0-9_.]*[A-Za-z0-9_])["']""")


def test_every_language_has_the_same_keys():
    en, ko = set(i18n.catalogue("en")), set(i18n.catalogue("ko"))
    assert en == ko, f"only in en: {sorted(en - ko)}; only in ko: {sorted(ko - en)}"


def test_korean_strings_are_korean():
    """No English left behind in the Korean catalogue (IDs, codes and names like SSH aside)."""
    ko = i18n.catalogue("ko")
    hangul = re.compile(r"[\uac00-\ud7a3]")
    untranslated = [k for k, v in ko.items() if not hangul.search(v) and k not in {"images.col.id", "instances.col.id"}]
    assert not untranslated, untranslated


def test_every_key_the_pages_name_exists():
    en = i18n.catalogue("en")
    used = set()
    for path in list(CONSOLE.glob("templates/*.html")) + list(CONSOLE.glob("*.py")):
        used |= set(LITERAL_KEY.findall(path.read_text()))
    missing = sorted(k for k in used if k not in en)
    assert not missing, missing


def test_language_from_cookie_then_accept_language():
    assert i18n.pick_language("ko", "en-US,en;q=0.9") == "ko"
    assert i18n.pick_language(None, "ko-KR,ko;q=0.9,en;q=0.8") == "ko"
    assert i18n.pick_language(None, "en;q=0.5,ko;q=0.9") == "ko"
    assert i18n.pick_language(None, "fr-FR,de;q=0.8") == "en"
    assert i18n.pick_language("xx", "") == "en"


def test_format_values_fill_both_languages():
    assert "3" in i18n.Translator("ko")("common.total", n=3)
    assert i18n.Translator("en")("common.page", page=2, pages=5) == "Page 2 of 5"
