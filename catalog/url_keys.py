"""Magento's URL key formatting (`Magento\\Framework\\Filter\\TranslitUrl`).

Letters are transliterated to ASCII (Magento's table: accented Latin letters,
German, Nordic, Cyrillic, Greek), every run of other characters becomes one `-`, the
result is lower-cased and trimmed of dashes: `"Crème brûlée (Große)"` →
`"creme-brulee-grosse"`. Characters Magento's table does not know are dropped
after a Unicode decomposition (which keeps the base letter of most accented ones).
"""

from __future__ import annotations

import re
import unicodedata

# Magento's table maps these to more than one letter, or to a letter that Unicode
# decomposition does not give; the others decompose to their base letter.
_SPECIAL = {
    "&amp;": "and",
    "@": "at",
    "©": "c",
    "®": "r",
    "™": "tm",
    "Æ": "ae",
    "æ": "ae",
    "Ǽ": "ae",
    "ǽ": "ae",
    "ß": "ss",
    "Ø": "o",
    "ø": "o",
    "Ǿ": "o",
    "ǿ": "o",
    "Œ": "oe",
    "œ": "oe",
    "Đ": "d",
    "đ": "d",
    "Ħ": "h",
    "ħ": "h",
    "ı": "i",
    "Ĳ": "ij",
    "ĳ": "ij",
    "ĸ": "k",
    "Ŀ": "l",
    "ŀ": "l",
    "Ł": "l",
    "ł": "l",
    "ŉ": "n",
    "Ŋ": "n",
    "ŋ": "n",
    "Ŧ": "t",
    "ŧ": "t",
    "ſ": "z",
    "Ə": "e",
    "ə": "e",
    "ƒ": "f",
    "þ": "p",
}
_CYRILLIC = dict(
    zip(
        "абвгдезийклмнопрстуфхцыэюяёєіїґ",
        [
            "a", "b", "v", "g", "d", "e", "z", "i", "y", "k", "l", "m", "n", "o", "p",
            "r", "s", "t", "u", "f", "h", "c", "y", "je", "ju", "ja", "jo", "e", "i",
            "i", "g",
        ],
        strict=True,
    )
)  # fmt: skip
_CYRILLIC.update({"ж": "zh", "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "a", "ь": "y"})
_GREEK = dict(
    zip(
        "αβγδεζηικλμνξοπρσςτυφω",
        "abgdeziiklmnxoprsstufo",
        strict=True,
    )
)
_GREEK.update({"θ": "th", "χ": "ch", "ψ": "ps"})

_TABLE: dict[str, str] = dict(_SPECIAL)
for _letter, _latin in (*_CYRILLIC.items(), *_GREEK.items()):
    _TABLE[_letter] = _latin
    _TABLE.setdefault(_letter.upper(), _latin)
_TABLE["Й"] = "y"
_TABLE["Υ"] = "y"

_KEYS = re.compile("|".join(re.escape(k) for k in sorted(_TABLE, key=len, reverse=True)))
_NOT_ALNUM = re.compile(r"[^0-9a-z]+", re.IGNORECASE)


def _ascii(match: re.Match[str]) -> str:
    return _TABLE[match.group(0)]


def format_url_key(text: str) -> str:
    """Return `text` formatted as a Magento URL key (possibly empty)."""
    # Before and after decomposition: "й" is in the table as one character, "ά" only
    # as its base letter "α".
    text = _KEYS.sub(_ascii, text)
    text = _KEYS.sub(_ascii, unicodedata.normalize("NFKD", text))
    text = text.encode("ascii", "ignore").decode("ascii")
    return _NOT_ALNUM.sub("-", text).lower().strip("-")
