"""A channel-neutral message as 钉钉 robot messages: (msgKey, msgParam).

Input: text in Luoshi markup (escaped text and ``<b>`` only, bot/app/conversation.py) and
rows of (label, action data) buttons. Output: the robot message templates of the robot
APIs (`oToMessages/batchSend`, `groupMessages/send`):

* no buttons → ``sampleMarkdown`` ``{"title", "text"}``;
* 1 button → ``sampleActionCard`` ``{"title", "text", "singleTitle", "singleURL"}``;
* 2–5 buttons → ``sampleActionCard2`` … ``sampleActionCard5`` ``{"title", "text",
  "actionTitle1", "actionURL1", …}`` (buttons stacked vertically; rows are flattened);
* more than 5 (the daily digest has one 📝 per task) → ``sampleMarkdown`` with the
  actions listed under the text as links, one line per row of buttons. No template takes
  more than five (``sampleActionCard6`` is two buttons side by side, ``buttonTitle1/2``).

**How a button comes back to the bot.** Two documented ways exist:

1. ``dtmd://dingtalkclient/sendMessage?content=<url-encoded text>`` as the button's (or a
   markdown link's) URL: pressing it makes the user's own client send that text to the
   robot, which arrives over Stream as an ordinary robot message (topic
   ``/v1.0/im/bot/messages/get``);
2. interactive cards (卡片平台): a card template created beforehand in the developer console,
   sent with ``card/instances/createAndDeliver``, whose button callbacks come over Stream
   on the card callback topic.

We use (1). It needs no card template (one more thing a county's IT staff would have to
create, publish and keep in step with the code), works with the standard templates of both
send APIs and with the markdown list form, rides on the robot-message topic the inbound side
already handles, and leaves a visible trace in the chat ("已完成〔ACT T0012 done〕") of what
was pressed. The cost: the text is visible and anyone could type it — which changes nothing,
since action data is never trusted (bot/app/actions.py decodes the shape; the use cases check
who pressed and whether the action is still valid). `action_text` builds the text,
`action_of_text` reads the action data back out of a received message (or None).

**Which message a button is about.** 钉钉 does not say which message a pressed button was
under. A question that quotes a message (which task a report was about, 确认交账？, an unusual
date) has buttons that must read that message again, so bot/dingtalk/inbound.py gives their
data a *reference* — the quoted message's msgId — after `REF_MARK` (`with_reference`), outside
the action codec (whose 64 bytes are Telegram's limit). `action_text` shows it in a second
〔〕 before the action: ``确认交账〔↩msg1a2b〕〔SURE …〕``; `action_of_text` is unchanged and
`reference_of_text` reads it back. Like the action it is never trusted: the inbound side
resolves it through its inbox and checks whose message and which chat it is.

Caveat for groups: in a group the robot only receives messages that @ it; whether the
client's dtmd text counts as one depends on the client, so buttons are dependable in
one-to-one chats (reminders, digests, confirmations), and in groups (the admin group's
核账 buttons) the inbound side should accept the text wherever it arrives. If that proves
unreliable in real groups, interactive cards are the upgrade path; this module is the only
place that would change on the way out.

**Markdown.** 钉钉 markdown is a subset (headings, quotes, emphasis, links, images, lists,
``<font>``). Luoshi markup's ``<b>`` becomes ``**…**``; everything else is literal text that
must stay inert, whoever wrote it (an official's report, a task title): the characters
that would make markup — ``* _ ` [ ] < > ~ |`` anywhere, ``# - + =`` and ``1.`` at a line's
start, and leading spaces (a code block) — are replaced by their full-width forms (or a
no-break space). We do not rely on backslash escapes: the client's support for them is not
documented, and a full-width ``＊`` reads the same to a Chinese reader. Line breaks are hard
breaks (two spaces before the newline), so lines stay lines.

**Length.** ``groupMessages/send`` documents msgParam ≤ 15,000 bytes; the markdown is split
at line breaks into parts of at most `PART_CHARS` characters and `PART_BYTES` UTF-8 bytes
(each line's emphasis closed and reopened, so no part breaks a ``**`` pair), the buttons
under the last part.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from bot.domain.ports import Buttons

MARKDOWN = "sampleMarkdown"
SINGLE_CARD = "sampleActionCard"
CARD_KEYS = {2: "sampleActionCard2", 3: "sampleActionCard3", 4: "sampleActionCard4",
             5: "sampleActionCard5"}
MAX_CARD_BUTTONS = 5
PART_CHARS = 3500  # characters of markdown in one message
PART_BYTES = 10_000  # UTF-8 bytes of markdown in one message (msgParam ≤ 15,000 bytes)
TITLE_CHARS = 20  # the title shows in the chat list and notifications
LABEL_CHARS = 20  # a button's title
SEND_URL = "dtmd://dingtalkclient/sendMessage?content="
BREAK = "  \n"  # a hard line break

_OPEN, _CLOSE = "〔", "〕"
REF_MARK = "↩"  # data "<action>↩<msgId>": the action, and the message it is about
_REF_DATA = re.compile(r"[A-Za-z0-9+/=_.:-]{1,128}")
_REF = re.compile(rf"{_OPEN}{REF_MARK}([^{_OPEN}{_CLOSE}]*){_CLOSE}\s*{_OPEN}[^{_OPEN}{_CLOSE}]*"
                  rf"{_CLOSE}\s*$")
_DATA = re.compile(r"[A-Za-z0-9_ -]{1,64}")
_ACTION = re.compile(rf"{_OPEN}([A-Za-z0-9_ -]{{1,64}}){_CLOSE}\s*$")
_TOKEN = re.compile(r"</?b>|&[a-zA-Z]+;|&#\d+;|&#x[0-9a-fA-F]+;|.", re.DOTALL)
_INLINE = str.maketrans({"*": "＊", "_": "＿", "`": "｀", "[": "［", "]": "］", "<": "＜",
                         ">": "＞", "~": "～", "|": "｜"})
_LINE_START = {"#": "＃", "-": "－", "+": "＋", "=": "＝"}
_ORDERED = re.compile(r"^(\d+)\.(?=\s|$)")
_LABEL_OUT = str.maketrans({_OPEN: "(", _CLOSE: ")", "\n": " ", "\r": " "})


@dataclass(frozen=True)
class Rendered:
    """One robot message: the template's key and its parameters (msgParam, as a mapping)."""

    msg_key: str
    msg_param: dict[str, str] = field(default_factory=dict)


# --- actions ---------------------------------------------------------------------------------

def action_text(label: str, data: str) -> str:
    """The text a button makes the user's client send to the robot: the label, then the
    action data in 〔〕 (read back by `action_of_text`), after the reference of the message
    it is about, if the data carries one (`with_reference`)."""
    data, marked, ref = data.partition(REF_MARK)
    if _DATA.fullmatch(data) is None:
        raise ValueError(f"action data not sendable through 钉钉: {data!r}")
    if marked and _REF_DATA.fullmatch(ref) is None:
        raise ValueError(f"message reference not sendable through 钉钉: {ref!r}")
    shown = f"{_OPEN}{REF_MARK}{ref}{_CLOSE}" if marked else ""
    return f"{clean_label(label)}{shown}{_OPEN}{data}{_CLOSE}"


def referable(ref: str) -> bool:
    """Whether a msgId can be carried by a button (`with_reference`)."""
    return _REF_DATA.fullmatch(ref) is not None


def with_reference(buttons: Buttons, ref: str,
                   about: Callable[[str], bool] = lambda data: True) -> Buttons:
    """The buttons, those whose data is `about` the message also naming it (`ref`, a msgId)."""
    if not referable(ref):
        raise ValueError(f"message reference not sendable through 钉钉: {ref!r}")
    return [[(label, f"{data}{REF_MARK}{ref}" if about(data) else data) for label, data in row]
            for row in buttons]


def reference_of_text(text: str) -> str | None:
    """The message reference in a pressed button's text: None without one, "" when it is
    there but garbled (not a msgId a button could carry: refuse it)."""
    match = _REF.search(text.strip()) if text else None
    if match is None:
        return None
    ref = match.group(1)
    return ref if _REF_DATA.fullmatch(ref) else ""


def action_url(label: str, data: str) -> str:
    """The dtmd link of a button: pressing it sends `action_text` to the robot."""
    return SEND_URL + quote(action_text(label, data), safe="")


def action_of_text(text: str) -> str | None:
    """The action data in a received message (a pressed button's text), or None when the
    text is not one. Only the shape is checked: decode it with bot/app/actions.py and trust
    nothing."""
    match = _ACTION.search(text.strip()) if text else None
    return match.group(1) if match else None


def clean_label(label: str) -> str:
    """A button's label as a plain, short title (no 〔〕, no line breaks)."""
    label = " ".join(label.translate(_LABEL_OUT).split())
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"


# --- markdown --------------------------------------------------------------------------------

def inert(text: str) -> str:
    """One line of literal text (no markup, entities resolved) made inert in 钉钉 markdown."""
    text = text.translate(_INLINE)
    stripped = text.lstrip(" ")
    indent = len(text) - len(stripped)
    if stripped[:1] in _LINE_START:
        stripped = _LINE_START[stripped[0]] + stripped[1:]
    stripped = _ORDERED.sub(r"\1．", stripped)
    return "\u00a0" * indent + stripped


def _balanced_lines(markup: str) -> list[str]:
    """The markup's lines, each with its own <b>…</b> (emphasis across a line break is
    closed at the line's end and reopened on the next line)."""
    lines: list[str] = []
    bold = False
    for raw in markup.replace("\r\n", "\n").split("\n"):
        line = ("<b>" if bold else "") + raw
        for tag in re.findall(r"</?b>", raw):
            bold = tag == "<b>"
        lines.append(line + ("</b>" if bold else ""))
    return lines


def line_markdown(line: str) -> str:
    """One line of Luoshi markup (balanced) as 钉钉 markdown."""
    out: list[str] = []
    plain: list[str] = []
    bold: list[str] | None = None
    at_start = True

    def flush() -> None:
        nonlocal at_start
        if plain:
            chunk = "".join(plain)
            rendered = inert(chunk) if at_start else chunk.translate(_INLINE)
            (bold if bold is not None else out).append(rendered)
            at_start = False
            plain.clear()

    for token in _TOKEN.findall(line):
        if token == "<b>":
            flush()
            if bold is None:
                bold = []
        elif token == "</b>":
            flush()
            if bold is not None:
                inner = "".join(bold).strip()
                if inner:
                    out.append(f"**{inner}**")
                bold = None
        else:
            plain.append(html.unescape(token) if token.startswith("&") else token)
    flush()
    if bold is not None:  # unclosed: keep the text, drop the emphasis
        out.append("".join(bold))
    return "".join(out).rstrip()


def markdown_text(markup: str) -> str:
    """Luoshi markup as 钉钉 markdown: emphasis as **…**, user text inert, hard line breaks."""
    return BREAK.join(line_markdown(line) for line in _balanced_lines(markup))


def title_of(markup: str) -> str:
    """The message's title: its first non-empty line as plain text, short."""
    for line in markup.splitlines():
        text = " ".join(html.unescape(re.sub(r"</?b>", "", line)).split())
        if text:
            return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS - 1] + "…"
    return "落实"


# --- messages --------------------------------------------------------------------------------

def _fits(text: str, chars: int, size: int) -> bool:
    return len(text) <= chars and len(text.encode()) <= size


def split_markdown(markup: str, *, chars: int = PART_CHARS,
                   size: int = PART_BYTES) -> list[str]:
    """The markup as markdown parts, each within `chars` characters and `size` bytes, split
    at line breaks (a line longer than that alone is cut between characters, its emphasis
    closed and reopened)."""
    parts: list[str] = []
    current: list[str] = []
    for line in _balanced_lines(markup):
        for piece in _cut_line(line, chars, size):
            if current and not _fits(BREAK.join([*current, piece]), chars, size):
                parts.append(BREAK.join(current))
                current = []
            current.append(piece)
    if current or not parts:
        parts.append(BREAK.join(current))
    return parts


def _cut_line(line: str, chars: int, size: int) -> list[str]:
    rendered = line_markdown(line)
    if _fits(rendered, chars, size):
        return [rendered]
    pieces: list[str] = []
    bold = False  # the emphasis before the current token
    chunk: list[str] = []
    used_chars = used_bytes = 0  # the chunk's rendered size, counted as it grows
    for token in _TOKEN.findall(line):
        if token in ("<b>", "</b>"):
            width = 2  # "**"
            weight = 2
        else:
            rendered = (html.unescape(token) if token.startswith("&") else token)
            rendered = rendered.translate(_INLINE)
            width, weight = len(rendered), len(rendered.encode())
        # 8: room for closing and reopening the emphasis, and a line-start mark
        if chunk and (used_chars + width + 8 > chars or used_bytes + weight + 8 > size):
            pieces.append(line_markdown("".join(chunk) + ("</b>" if bold else "")))
            chunk = ["<b>"] if bold else []
            used_chars = used_bytes = 2 if bold else 0
        chunk.append(token)
        used_chars += width
        used_bytes += weight
        if token in ("<b>", "</b>"):
            bold = token == "<b>"
    if chunk:
        pieces.append(line_markdown("".join(chunk) + ("</b>" if bold else "")))
    return [piece for piece in pieces if piece] or [""]


def _flat(buttons: Buttons | None) -> list[tuple[str, str]]:
    return [(label, data) for row in (buttons or ()) for label, data in row]


def links_markdown(buttons: Buttons) -> str:
    """Buttons as dtmd links, one line per row (for more buttons than a card holds)."""
    rows: list[str] = []
    for row in buttons:
        links = [f"[{inert(clean_label(label))}]({action_url(label, data)})"
                 for label, data in row]
        if links:
            rows.append(" · ".join(links))
    return BREAK.join(rows)


def message(title: str, text: str, buttons: Buttons | None = None) -> Rendered:
    """One robot message from a title, ready markdown and buttons."""
    flat = _flat(buttons)
    if not flat:
        return Rendered(MARKDOWN, {"title": title, "text": text})
    if len(flat) == 1:
        label, data = flat[0]
        return Rendered(SINGLE_CARD, {"title": title, "text": text,
                                      "singleTitle": clean_label(label),
                                      "singleURL": action_url(label, data)})
    if len(flat) <= MAX_CARD_BUTTONS:
        param = {"title": title, "text": text}
        for number, (label, data) in enumerate(flat, start=1):
            param[f"actionTitle{number}"] = clean_label(label)
            param[f"actionURL{number}"] = action_url(label, data)
        return Rendered(CARD_KEYS[len(flat)], param)
    assert buttons is not None
    return Rendered(MARKDOWN, {"title": title,
                               "text": text + BREAK + BREAK + links_markdown(buttons)})


def render(markup: str, buttons: Buttons | None = None, *, chars: int = PART_CHARS,
           size: int = PART_BYTES) -> list[Rendered]:
    """A channel-neutral message (Luoshi markup, rows of buttons) as the robot messages to
    send, in order: the text split when long, the buttons under the last part."""
    title = title_of(markup)
    flat = _flat(buttons)
    links = links_markdown(buttons) if buttons and len(flat) > MAX_CARD_BUTTONS else ""
    room = len(links) + 2 * len(BREAK) if links else 0
    room_bytes = len(links.encode()) + 2 * len(BREAK) if links else 0
    parts = split_markdown(markup, chars=max(200, chars - room), size=max(600, size - room_bytes))
    rendered = [message(title, part) for part in parts[:-1]]
    rendered.append(message(title, parts[-1], buttons))
    return rendered

