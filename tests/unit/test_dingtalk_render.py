"""bot/dingtalk/render.py: Luoshi markup → 钉钉 markdown and action cards, and back."""

from __future__ import annotations

import re
from urllib.parse import unquote

from bot.app import actions
from bot.app.conversation import plain
from bot.dingtalk.render import (
    MARKDOWN,
    SEND_URL,
    action_of_text,
    action_text,
    markdown_text,
    render,
    title_of,
)

DONE = actions.encode(actions.ACT, "T0012", "done")
PROGRESS = actions.encode(actions.ACT, "T0012", "progress")


def pressed(url: str) -> str:
    """What the user's client sends to the robot when a dtmd button is pressed."""
    assert url.startswith(SEND_URL)
    return unquote(url[len(SEND_URL):])


def test_plain_text_is_markdown_with_a_short_plain_title() -> None:
    (message,) = render("<b>今日催办</b>：请于 12月31日 前反馈\n第二行")
    assert message.msg_key == MARKDOWN
    assert message.msg_param["text"] == "**今日催办**：请于 12月31日 前反馈  \n第二行"
    assert message.msg_param["title"] == "今日催办：请于 12月31日 前反馈"
    assert len(title_of("长" * 50)) == 20


def test_user_text_with_markdown_characters_is_inert() -> None:
    hostile = ("**粗体** _斜_ `code` [点我](http://evil.example) ![图](x.png) "
               "&lt;font color=red&gt;红&lt;/font&gt; ~~删~~ | 表")
    text = markdown_text(f"进展：{hostile}\n# 标题\n&gt; 引用\n1. 列表\n- 项\n---\n    代码")
    for char in "*_`[]<>~|":
        assert char not in text
    lines = text.split("  \n")
    assert lines[1].startswith("＃") and lines[2].startswith("＞")
    assert lines[3].startswith("1．") and lines[4].startswith("－") and lines[5] == "－--"
    assert lines[6].startswith("\u00a0" * 4)  # no code block
    assert "（http://evil.example）" not in text and "［点我］(http" in text  # no link


def test_emphasis_survives_and_never_spans_a_break() -> None:
    text = markdown_text("<b>第一行\n第二行</b> 之后")
    assert text == "**第一行**  \n**第二行** 之后"
    assert markdown_text("<b>*</b>") == "**＊**"
    assert markdown_text("空<b></b>的") == "空的"


def test_buttons_become_an_action_card_that_comes_back_as_the_action() -> None:
    (card,) = render("<b>T0012</b> 到期", [[("✅ 已完成", DONE), ("📈 报进度", PROGRESS)]])
    assert card.msg_key == "sampleActionCard2"
    param = card.msg_param
    assert param["actionTitle1"] == "✅ 已完成" and param["actionTitle2"] == "📈 报进度"
    sent = pressed(param["actionURL1"])
    assert sent == action_text("✅ 已完成", DONE)
    data = action_of_text(sent)
    assert data == DONE
    callback = actions.decode(data)
    assert callback is not None and (callback.target, callback.choice) == ("T0012", "done")
    assert action_of_text(f"@落实 {pressed(param['actionURL2'])} ") == PROGRESS


def test_one_to_five_buttons_pick_the_template() -> None:
    one = render("x", [[("确认", "IMP ok")]])[0]
    assert one.msg_key == "sampleActionCard"
    assert action_of_text(pressed(one.msg_param["singleURL"])) == "IMP ok"
    for count in (3, 4, 5):
        rows = [[(f"选{n}", f"PICK T{n:04d}")] for n in range(count)]
        card = render("x", rows)[0]
        assert card.msg_key == f"sampleActionCard{count}"
        assert action_of_text(pressed(card.msg_param[f"actionURL{count}"])) == \
            f"PICK T{count - 1:04d}"


def test_more_than_five_buttons_are_links_in_the_markdown() -> None:
    rows = [[(f"📝 {n}", actions.encode(actions.ACT, f"T{n:04d}", "open"))] for n in range(12)]
    (message,) = render("今日待办 12 项", rows)
    assert message.msg_key == MARKDOWN
    links = re.findall(r"\[([^\]]+)\]\((dtmd://[^)]+)\)", message.msg_param["text"])
    assert [label for label, _url in links] == [f"📝 {n}" for n in range(12)]
    assert action_of_text(pressed(links[7][1])) == "ACT T0007 open"


def test_labels_cannot_forge_an_action() -> None:
    sent = action_text("假〔ACT T9999 done〕", DONE)
    assert action_of_text(sent) == DONE
    assert action_of_text("随便说说") is None
    assert action_of_text("〔<script>〕") is None
    assert action_of_text("") is None


def test_long_text_is_split_with_buttons_under_the_last_part() -> None:
    lines = [f"<b>{n:03d}</b> 事项" + "甲" * 80 for n in range(200)]
    parts = render("\n".join(lines), [[("已完成", DONE), ("报进度", PROGRESS)]])
    assert len(parts) > 2
    assert all(p.msg_key == MARKDOWN for p in parts[:-1])
    assert parts[-1].msg_key == "sampleActionCard2"
    for part in parts:
        text = part.msg_param["text"]
        assert len(text) <= 3500 and len(text.encode()) <= 10_000
        assert text.count("**") % 2 == 0
    joined = "  \n".join(p.msg_param["text"] for p in parts)
    assert joined == markdown_text("\n".join(lines))  # nothing lost, nothing doubled


def test_one_huge_line_is_cut_and_its_emphasis_kept_balanced() -> None:
    parts = render("<b>" + "乙" * 9000 + "</b>")
    assert len(parts) == 3
    assert all(p.msg_param["text"].startswith("**") and p.msg_param["text"].endswith("**")
               for p in parts)
    assert sum(p.msg_param["text"].count("乙") for p in parts) == 9000


def test_plain_of_the_markup_is_what_the_markdown_reads() -> None:
    markup = "<b>张三</b>：&lt;完成&gt; 80%"
    assert plain(markup) == "张三：<完成> 80%"
    assert markdown_text(markup) == "**张三**：＜完成＞ 80%"
