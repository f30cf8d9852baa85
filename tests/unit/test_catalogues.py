"""The Chinese and English message catalogues (bot/messages.py) say the same things: the same
keys, and in each text the same {placeholders}, so that switching `language` never raises a
KeyError or drops a value."""

from __future__ import annotations

import re
import string

from bot.domain.rhythm import ReminderKind
from bot.messages import CATALOGS, EN, ZH
from tests.conftest import ROOT


def placeholders(text: str) -> set[str]:
    """The replacement fields of a str.format text, e.g. {"name", "n:>3", "task!r"}."""
    fields = set()
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is not None:
            fields.add(name + (f"!{conversion}" if conversion else "")
                       + (f":{spec}" if spec else ""))
    return fields


def test_both_languages_are_catalogued() -> None:
    assert set(CATALOGS) == {"zh", "en"}
    assert CATALOGS["zh"] is ZH and CATALOGS["en"] is EN


def test_same_keys() -> None:
    assert sorted(set(ZH) - set(EN)) == [], "keys missing from EN"
    assert sorted(set(EN) - set(ZH)) == [], "keys missing from ZH"


def _fields_or_error(text: str) -> list[str]:
    try:
        return sorted(placeholders(text))
    except ValueError as err:  # reported by the test below too
        return [f"<invalid: {err}>"]


def test_same_placeholders() -> None:
    differ = {}
    for key in sorted(set(ZH) & set(EN)):
        zh, en = _fields_or_error(ZH[key]), _fields_or_error(EN[key])
        if zh != en:
            differ[key] = (zh, en)
    assert differ == {}, "key: (ZH placeholders, EN placeholders)"


def test_every_text_is_a_non_empty_format_string() -> None:
    bad = {}
    for language, catalog in sorted(CATALOGS.items()):
        for key, text in catalog.items():
            try:
                placeholders(text)  # a stray "{" or "}" raises ValueError
            except ValueError as err:
                bad[f"{language}.{key}"] = str(err)
            if not isinstance(text, str) or not text.strip():
                bad[f"{language}.{key}"] = "empty"
    assert bad == {}


# A key literally named in the code: .t("key", …), .raw("key", …), catalog["key"].
_USED = re.compile(r"""(?:\.(?:t|raw)\(\s*|catalog\[\s*)["']([a-z0-9_]+)["'](?=\s*[,)\]])""")


def test_keys_used_in_the_code_exist() -> None:
    used: dict[str, str] = {}
    for path in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "jobs").rglob("*.py")]):
        for match in _USED.finditer(path.read_text(encoding="utf-8")):
            used.setdefault(match.group(1), str(path.relative_to(ROOT)))
    # Keys built from an enum: kind_<ReminderKind> and secure_<ReminderKind>.
    for kind in ReminderKind:
        used.setdefault(f"kind_{kind.value}", "bot/messages.py")
        used.setdefault(f"secure_{kind.value}", "bot/messages.py")
    assert len(used) > 100  # the pattern still finds the calls
    missing = {key: where for key, where in used.items() if key not in ZH}
    assert missing == {}
