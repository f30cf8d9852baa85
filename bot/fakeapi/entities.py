"""Outgoing text as Telegram reads it: parse modes (HTML, MarkdownV2, legacy Markdown) into
plain text plus entities, with tdlib's "can't parse entities" errors, Telegram's trimming of
leading/trailing whitespace and its auto-detected entities (commands, mentions, hashtags,
URLs, e-mails). Lengths and offsets are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.fakeapi.protocol import ApiError, JSONDict, _bad_request


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units (the unit of Telegram entity offsets)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _u16(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _entity_error(detail: str) -> ApiError:
    return _bad_request(f"can't parse entities: {detail}")


_HTML_ENTITY = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,7}|lt|gt|amp|quot);")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


def _decode_html_entity(text: str, index: int) -> tuple[str | None, int]:
    match = _HTML_ENTITY.match(text, index)
    if not match:
        return None, index
    name = match.group(1)
    if name.startswith("#"):
        code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None, index
        return chr(code), match.end()
    return _HTML_NAMED[name], match.end()


def _parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Telegram's HTML parse mode (mirrors tdlib's parse_html, including its error texts)."""
    out: list[str] = []
    u16 = 0
    entities: list[JSONDict] = []
    stack: list[tuple[str, int, dict[str, str]]] = []
    n = len(text)
    i = 0

    def unclosed(begin: int) -> ApiError:
        return _entity_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")

    while i < n:
        ch = text[i]
        if ch == "&":
            decoded, end = _decode_html_entity(text, i)
            if decoded is not None:
                out.append(decoded)
                u16 += _u16(decoded)
                i = end
                continue
        if ch != "<":
            out.append(ch)
            u16 += _u16(ch)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            if not stack:
                raise _entity_error(
                    f"Unexpected end tag at byte offset {_byte_offset(text, begin)}"
                )
            j = i + 1
            while j < n and not text[j].isspace() and text[j] != ">":
                j += 1
            end_name = text[i + 1 : j].lower()
            while j < n and text[j].isspace():
                j += 1
            if j >= n or text[j] != ">":
                raise _entity_error(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            tag, offset, open_attrs = stack.pop()
            if end_name and end_name != tag:
                raise _entity_error(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{tag}>", found "</{end_name}>"'
                )
            i = j + 1
            if u16 > offset:
                _close_html_entity(entities, tag, offset, u16 - offset, open_attrs, out)
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise unclosed(begin)
        tag = text[i:j].lower()
        if tag not in _HTML_TAGS:
            raise _entity_error(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        attrs: dict[str, str] = {}
        i = j
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise unclosed(begin)
            if text[i] == ">":
                i += 1
                break
            name_start = i
            while i < n and not text[i].isspace() and text[i] not in "=>":
                i += 1
            attr_name = text[name_start:i].lower()
            if not attr_name:
                raise _entity_error(
                    f'Empty attribute name in the tag "{tag}" at byte offset '
                    f"{_byte_offset(text, begin)}"
                )
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise unclosed(begin)
            if text[i] != "=":
                if tag == "blockquote" and attr_name == "expandable":
                    attrs["expandable"] = ""
                    continue
                raise _entity_error(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {_byte_offset(text, begin)}"
                )
            i += 1
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise unclosed(begin)
            if text[i] in "'\"":
                quote = text[i]
                i += 1
                value: list[str] = []
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        decoded, end = _decode_html_entity(text, i)
                        if decoded is not None:
                            value.append(decoded)
                            i = end
                            continue
                    value.append(text[i])
                    i += 1
                if i < n:
                    i += 1
                attr_value = "".join(value)
            else:
                token_start = i
                while i < n and (text[i].isalnum() or text[i] in ".-"):
                    i += 1
                attr_value = text[token_start:i].lower()
                if i < n and not text[i].isspace() and text[i] != ">":
                    raise _entity_error(
                        "Unexpected end of name token at byte offset "
                        f"{_byte_offset(text, token_start)}"
                    )
            if i >= n:
                raise unclosed(begin)
            attrs[attr_name] = attr_value
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise _entity_error(
                f'Tag "span" must have class "tg-spoiler" at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        stack.append((tag, u16, attrs))
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        entity.pop("_language", None)
    return "".join(out), entities


def _close_html_entity(
    entities: list[JSONDict],
    tag: str,
    offset: int,
    length: int,
    attrs: dict[str, str],
    out: list[str],
) -> None:
    kind = _HTML_TAGS[tag]
    entity: JSONDict = {"type": kind, "offset": offset, "length": length}
    if kind == "text_link":
        url = attrs.get("href", "")
        if not url:
            return
        if url.startswith("tg://user?id="):
            user_id = url.removeprefix("tg://user?id=")
            if user_id.isdigit():
                entity = {
                    "type": "text_mention",
                    "offset": offset,
                    "length": length,
                    "user": {"id": int(user_id), "is_bot": False, "first_name": ""},
                }
                entities.append(entity)
                return
        entity["url"] = url
    elif kind == "code":
        language = attrs.get("class", "")
        if language.startswith("language-"):
            entity["_language"] = language.removeprefix("language-")
    elif kind == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == offset
            and last["length"] == length
        ):
            entities.pop()
            if last.get("_language"):
                entity["language"] = last["_language"]
    elif kind == "blockquote":
        if "expandable" in attrs:
            entity["type"] = "expandable_blockquote"
    elif kind == "custom_emoji":
        emoji_id = attrs.get("emoji-id", "")
        if not emoji_id:
            return
        entity["custom_emoji_id"] = emoji_id
    entities.append(entity)


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_TYPE_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "code": "Code",
    "pre": "Pre",
    "custom_emoji": "CustomEmoji",
}


@dataclass
class _OpenEntity:
    kind: str
    offset: int
    byte_offset: int
    start: int
    argument: str | None = None


def _parse_markdown_v2(text: str) -> tuple[str, list[JSONDict]]:
    """Telegram's MarkdownV2 parse mode (mirrors tdlib's parse_markdown_v2)."""
    out: list[str] = []
    u16 = 0
    entities: list[JSONDict] = []
    stack: list[_OpenEntity] = []
    quote_start: int | None = None
    n = len(text)
    i = 0

    def peek(k: int) -> str:
        return text[k] if k < n else ""

    def escapable(k: int) -> bool:
        return k < n and 0 < ord(text[k]) <= 126

    while i < n:
        ch = text[i]
        if ch == "\\" and escapable(i + 1):
            out.append(text[i + 1])
            u16 += 1
            i += 2
            continue
        in_code = bool(stack) and stack[-1].kind in ("code", "pre")
        if ch == ">" and not in_code and (i == 0 or text[i - 1] == "\n"):
            if quote_start is None:
                quote_start = u16
            i += 1
            continue
        if ch not in ("`" if in_code else _MDV2_RESERVED):
            if ch == "\n" and quote_start is not None and peek(i + 1) != ">":
                if u16 > quote_start:
                    entities.append(
                        {"type": "blockquote", "offset": quote_start, "length": u16 - quote_start}
                    )
                quote_start = None
            out.append(ch)
            u16 += _u16(ch)
            i += 1
            continue
        top = stack[-1].kind if stack else None
        is_end = (
            (top == "bold" and ch == "*")
            or (top == "italic" and ch == "_" and peek(i + 1) != "_")
            or (top == "code" and ch == "`")
            or (top == "pre" and text.startswith("```", i))
            or (top in ("text_link", "custom_emoji") and ch == "]")
            or (top == "underline" and text.startswith("__", i))
            or (top == "strikethrough" and ch == "~")
            or (top == "spoiler" and text.startswith("||", i))
        )
        if not is_end:
            byte_offset = _byte_offset(text, i)
            argument: str | None = None
            if ch == "_":
                if peek(i + 1) == "_":
                    kind = "underline"
                    i += 1
                else:
                    kind = "italic"
            elif ch == "*":
                kind = "bold"
            elif ch == "~":
                kind = "strikethrough"
            elif ch == "|" and peek(i + 1) == "|":
                kind = "spoiler"
                i += 1
            elif ch == "[":
                kind = "text_link"
            elif ch == "`":
                if text.startswith("```", i):
                    kind = "pre"
                    i += 3
                    language_end = i
                    while (
                        language_end < n
                        and not text[language_end].isspace()
                        and text[language_end] != "`"
                    ):
                        language_end += 1
                    if i != language_end and language_end < n and text[language_end] != "`":
                        argument = text[i:language_end]
                        i = language_end
                    if peek(i) in ("\n", "\r"):
                        if peek(i + 1) in ("\n", "\r") and text[i] != text[i + 1]:
                            i += 2
                        else:
                            i += 1
                    i -= 1
                else:
                    kind = "code"
            elif ch == "!" and peek(i + 1) == "[":
                kind = "custom_emoji"
                i += 1
            else:
                raise _entity_error(
                    f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
                )
            stack.append(_OpenEntity(kind, u16, byte_offset, len(out), argument))
            i += 1
            continue
        opened = stack.pop()
        skip = u16 == opened.offset
        entity: JSONDict = {"type": opened.kind, "offset": opened.offset, "length": 0}
        if opened.kind in ("underline", "spoiler"):
            i += 1
        elif opened.kind == "pre":
            i += 2
            if opened.argument:
                entity["language"] = opened.argument
        elif opened.kind in ("text_link", "custom_emoji"):
            if peek(i + 1) != "(":
                url = "".join(out[opened.start :])
            else:
                i += 2
                url_start = i
                url_chars: list[str] = []
                while i < n and text[i] != ")":
                    if text[i] == "\\" and escapable(i + 1):
                        url_chars.append(text[i + 1])
                        i += 2
                        continue
                    url_chars.append(text[i])
                    i += 1
                if i >= n:
                    raise _entity_error(
                        f"Can't find end of a URL at byte offset {_byte_offset(text, url_start)}"
                    )
                url = "".join(url_chars)
            if opened.kind == "custom_emoji":
                emoji_id = url.removeprefix("tg://emoji?id=")
                skip = skip or emoji_id == url or not emoji_id
                entity["custom_emoji_id"] = emoji_id
            elif url.startswith("tg://user?id=") and url[13:].isdigit():
                entity = {
                    "type": "text_mention",
                    "offset": opened.offset,
                    "length": 0,
                    "user": {"id": int(url[13:]), "is_bot": False, "first_name": ""},
                }
            else:
                skip = skip or not url
                entity["url"] = url
        if not skip:
            entity["length"] = u16 - opened.offset
            entities.append(entity)
        i += 1
    if stack:
        opened = stack[-1]
        name = _MDV2_TYPE_NAMES[opened.kind]
        if opened.kind == "pre" and opened.argument:
            name = "PreCode"
        raise _entity_error(f"Can't find end of {name} entity at byte offset {opened.byte_offset}")
    if quote_start is not None and u16 > quote_start:
        entities.append({"type": "blockquote", "offset": quote_start, "length": u16 - quote_start})
    return "".join(out), entities


def _parse_markdown(text: str) -> tuple[str, list[JSONDict]]:
    """Telegram's legacy Markdown parse mode (mirrors tdlib's parse_markdown)."""
    out: list[str] = []
    u16 = 0
    entities: list[JSONDict] = []
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            u16 += 1
            i += 2
            continue
        if ch not in "_*`[":
            out.append(ch)
            u16 += _u16(ch)
            i += 1
            continue
        begin = i
        end_char = "]" if ch == "[" else ch
        i += 1
        is_pre = False
        language = ""
        if ch == "`" and text.startswith("``", i):
            i += 2
            is_pre = True
            language_end = i
            while (
                language_end < n and not text[language_end].isspace() and text[language_end] != "`"
            ):
                language_end += 1
            if i != language_end and language_end < n and text[language_end] != "`":
                language = text[i:language_end]
                i = language_end
            if i < n and text[i] in "\n\r":
                if i + 1 < n and text[i + 1] in "\n\r" and text[i] != text[i + 1]:
                    i += 2
                else:
                    i += 1
        start_index = len(out)
        offset = u16
        while i < n and (text[i] != end_char or (is_pre and not text.startswith("``", i + 1))):
            out.append(text[i])
            u16 += _u16(text[i])
            i += 1
        if i >= n:
            raise _entity_error(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )
        if u16 > offset:
            entity: JSONDict = {"type": "", "offset": offset, "length": u16 - offset}
            if ch == "_":
                entity["type"] = "italic"
            elif ch == "*":
                entity["type"] = "bold"
            elif ch == "[":
                if i + 1 < n and text[i + 1] == "(":
                    i += 2
                    url_chars: list[str] = []
                    while i < n and text[i] != ")":
                        url_chars.append(text[i])
                        i += 1
                    url = "".join(url_chars)
                else:
                    url = "".join(out[start_index:])
                entity["type"] = "text_link"
                entity["url"] = url
            elif is_pre:
                entity["type"] = "pre"
                if language:
                    entity["language"] = language
            else:
                entity["type"] = "code"
            if entity["type"] != "text_link" or entity["url"]:
                entities.append(entity)
        if is_pre:
            i += 2
        i += 1
    return "".join(out), entities


_AUTO_ENTITY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("url", re.compile(r"(?i)(?<![\w@/])(?:https?://|www\.)[^\s<>\"]+")),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("bot_command", re.compile(r"(?<![^\s(\[{\"'])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")),
    ("mention", re.compile(r"(?<![\w@/.])@[A-Za-z][A-Za-z0-9_]{2,31}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#(?=\w*[^\W\d])\w+")),
)
_NO_AUTO_INSIDE = frozenset({"code", "pre", "text_link", "custom_emoji", "url", "email"})


def _auto_entities(text: str, existing: list[JSONDict]) -> list[JSONDict]:
    """Entities Telegram detects by itself (commands, mentions, hashtags, URLs, e-mails)."""
    taken = [
        (e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] in _NO_AUTO_INSIDE
    ]
    found: list[JSONDict] = []
    for kind, pattern in _AUTO_ENTITY_PATTERNS:
        for match in pattern.finditer(text):
            value = match.group(0)
            if kind == "url":
                value = value.rstrip(".,;:!?)]}'")
                if not value or value.lower() in ("http://", "https://", "www."):
                    continue
            offset = utf16_len(text[: match.start()])
            end = offset + utf16_len(value)
            if any(start < end and offset < stop for start, stop in taken):
                continue
            taken.append((offset, end))
            found.append({"type": kind, "offset": offset, "length": end - offset})
    found.sort(key=lambda e: (e["offset"], -e["length"]))
    return found


def _trim(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Strip leading/trailing whitespace like Telegram does, keeping entities consistent."""
    whitespace = " \t\r\n\v\f"
    stripped_left = text.lstrip(whitespace)
    shift = utf16_len(text[: len(text) - len(stripped_left)])
    result = stripped_left.rstrip(whitespace)
    total = utf16_len(result)
    fixed: list[JSONDict] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return result, fixed


def parse_entities(
    text: str,
    parse_mode: str | None = None,
    entities: list[JSONDict] | None = None,
) -> tuple[str, list[JSONDict]]:
    """Turn outgoing text into (plain text, entities) the way Telegram does.

    Explicit `entities` win over `parse_mode`. Leading/trailing whitespace is trimmed and
    commands, mentions, hashtags, URLs and e-mails are detected. Raises `ApiError` (400) on
    markup Telegram would reject or an unknown parse mode.
    """
    if entities:
        plain, parsed = text, [dict(e) for e in entities]
    elif parse_mode is None or parse_mode == "":
        plain, parsed = text, []
    else:
        mode = parse_mode.lower()
        if mode == "html":
            plain, parsed = _parse_html(text)
        elif mode == "markdownv2":
            plain, parsed = _parse_markdown_v2(text)
        elif mode == "markdown":
            plain, parsed = _parse_markdown(text)
        else:
            raise _bad_request(f"unsupported parse_mode {parse_mode}")
    plain, parsed = _trim(plain, parsed)
    parsed.extend(_auto_entities(plain, parsed))
    parsed.sort(key=lambda e: (e["offset"], -e["length"]))
    return plain, parsed
