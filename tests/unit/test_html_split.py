"""The one splitter every outgoing text goes through: parts fit, parse, and join back."""

from __future__ import annotations

import html

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.fakeapi.core import parse_entities
from bot.messages import esc
from bot.tg.html_split import CAPTION_LIMIT, TEXT_LIMIT, clip, split_html, split_parts, utf16_len

# User text full of what breaks naive cuts: HTML specials, emoji (2 UTF-16 units), newlines.
_CHARS = st.sampled_from([*"ab进度60%<>&\"' \n", "😀", "&amp;", "\u200b"])
_USER_TEXT = st.lists(_CHARS, min_size=0, max_size=400).map("".join)


@st.composite
def rendered(draw: st.DrawFn) -> str:
    """A message as we render them: escaped user text, some of it inside <b>/<i>/<a> tags."""
    pieces = []
    for _ in range(draw(st.integers(1, 12))):
        text = esc(draw(_USER_TEXT))
        wrap = draw(st.sampled_from(["", "b", "i", "a", "code"]))
        if wrap == "a":
            pieces.append(f'<a href="tg://user?id=7">{text}</a>')
        elif wrap:
            pieces.append(f"<{wrap}>{text}</{wrap}>")
        else:
            pieces.append(text)
        pieces.append(draw(st.sampled_from(["", "\n", " "])))
    return "".join(pieces)


def visible(part: str) -> str:
    plain, _entities = parse_entities(part, "HTML")  # raises on invalid HTML
    return plain


@settings(max_examples=300, deadline=None)
@given(rendered(), st.integers(min_value=40, max_value=300))
def test_parts_fit_parse_and_join_back(text: str, limit: int) -> None:
    assume(visible(text))
    parts = split_parts(text, limit)
    for part in parts:
        assert utf16_len(visible(part.html)) <= limit
        assert visible(part.html)  # Telegram refuses an empty text
    original = html.unescape(_strip_tags(text))
    joined = "".join(html.unescape(_strip_tags(p.html)) + p.separator for p in parts)
    # Only whitespace may go missing: Telegram trims each message, and a part that would be
    # all whitespace is not sent.
    assert "".join(joined.split()) == "".join(original.split())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("ab<>&进😀")), min_size=1, max_size=80),
                min_size=1, max_size=80))
def test_plain_lines_join_back_exactly(lines: list[str]) -> None:
    text = "\n".join(esc(line) for line in lines)
    parts = split_parts(text, 120)
    assert "".join(p.html + p.separator for p in parts) == text


def test_short_text_is_one_part() -> None:
    assert split_html("已记录 <b>T0001</b>") == ["已记录 <b>T0001</b>"]


def test_a_long_note_is_never_cut_inside_an_entity() -> None:
    """The /task bug: a long note of '<' split inside '&lt;' showed a literal 'lt;'."""
    text = "<b>T0001</b> 最新进展：" + esc("<" * 5000)
    parts = split_html(text)
    assert len(parts) == 2
    assert all(len(visible(p)) <= TEXT_LIMIT for p in parts)
    assert "".join(visible(p) for p in parts) == visible(text)
    assert "lt;" not in "".join(visible(p) for p in parts)


def test_prefers_line_breaks() -> None:
    lines = [f"{n}. T{n:04d} 任务" for n in range(600)]
    parts = split_html("\n".join(lines))
    assert all(len(p) <= TEXT_LIMIT for p in parts)
    assert "\n".join(parts) == "\n".join(lines)


def test_bold_spanning_a_cut_is_closed_and_reopened() -> None:
    text = "<b>" + "字" * 5000 + "</b>"
    first, second = split_html(text)
    assert first.startswith("<b>") and first.endswith("</b>")
    assert second.startswith("<b>") and second.endswith("</b>")


def test_clip_counts_emoji_as_two() -> None:
    assert clip("😀" * 10, 8) == "😀😀😀…"
    assert utf16_len(clip("进" * 2000, CAPTION_LIMIT)) <= CAPTION_LIMIT


def _strip_tags(text: str) -> str:
    import re

    return re.sub(r"<[^<>]*>", "", text)
