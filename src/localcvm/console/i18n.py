"""English and Korean strings of the console: one JSON file per language, the same keys in each."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

LANGUAGES = ("en", "ko")
LANGUAGE_NAMES = {"en": "English", "ko": "한국어"}
DEFAULT = "en"


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    text = resources.files("localcvm.console").joinpath("translations", f"{lang}.json").read_text(encoding="utf-8")
    return json.loads(text)


def pick_language(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's language if it names one; else the best of Accept-Language; else English."""
    if cookie in LANGUAGES:
        return cookie
    best, best_q = DEFAULT, -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


class Translator:
    def __init__(self, lang: str):
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self.strings = catalogue(self.lang)

    def __call__(self, key: str, **values) -> str:
        text = self.strings.get(key)
        if text is None:  # a missing key is a bug the unit test catches; show the English one meanwhile
            text = catalogue(DEFAULT).get(key, key)
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self.strings
