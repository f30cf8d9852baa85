"""What 钉钉 users do, as the frames the robot receives: a text in the one-to-one chat or an
@robot in a group (`/v1.0/im/bot/messages/get`), a tap on an action card's
`dtmd://dingtalkclient/sendMessage?content=…` link (the user's client sends that text), and a
press on an interactive card's button (`/v1.0/card/instances/callback`).

The robot message's fields are those the official SDKs parse (`ChatbotMessage`):
conversationId, conversationType ("1" one-to-one, "2" group), senderStaffId, senderNick,
senderId, msgId, msgtype "text", text.content, robotCode, isInAtList, atUsers,
sessionWebhook and sessionWebhookExpiredTime (ms), createAt (ms), chatbotCorpId,
senderCorpId, chatbotUserId, isAdmin, conversationTitle (groups). A quoted message is
`text.isReplyMsg` with `text.repliedMsg` {msgId, msgType, senderId, content: {text}} — as
钉钉's clients send it (community reports; not in the official reference: a guess).
The card callback's data is the SDK's `CardCallbackMessage` sample: corpId, userId,
userIdType, type "actionCallback", outTrackId, and `value`/`content` as JSON strings of
{"cardPrivateData": {"actionIds": [...], "params": {...}}}.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.fakedingtalk.state import FakeState, JSONDict

__all__ = ["card_callback_data", "link_text", "robot_message"]


def robot_message(
    state: FakeState,
    staff_id: str,
    text: str,
    *,
    conversation: str = "1",
    session_base: str,
    quoted: str | None = None,
    quoted_msg_id: str | None = None,
    at_robot: bool = True,
) -> JSONDict:
    """The data of a robot message frame: `conversation` "1" for the one-to-one chat, or a
    group's openConversationId (the person must be a member; the robot must be in it)."""
    with state.lock:
        person = state.staff.get(staff_id)
        if person is None:
            raise KeyError(f"no staff {staff_id}")
        now_ms = int(state.now() * 1000)
        data: dict[str, Any] = {
            "msgtype": "text",
            "text": {"content": text},
            "msgId": "msg" + uuid.uuid4().hex,
            "createAt": now_ms,
            "senderStaffId": staff_id,
            "senderNick": person.name,
            "senderId": f"$:LWCP_v1:${staff_id}",
            "senderCorpId": state.corp_id,
            "chatbotCorpId": state.corp_id,
            "chatbotUserId": "$:LWCP_v1:$robot",
            "robotCode": state.robot_code,
            "isAdmin": False,
        }
        if conversation == "1":
            conversation_id = person.conversation_id
            data.update(conversationType="1", conversationId=conversation_id, isInAtList=True)
        else:
            group = state.groups.get(conversation)
            if group is None:
                raise KeyError(f"no group {conversation}")
            if staff_id not in group.members:
                raise ValueError(f"{staff_id} is not in {conversation}")
            if not group.robot_in:
                raise ValueError(f"the robot is not in {conversation}")
            conversation_id = group.open_conversation_id
            data.update(
                conversationType="2",
                conversationId=conversation_id,
                conversationTitle=group.title,
                isInAtList=at_robot,
                atUsers=[{"dingtalkId": "$:LWCP_v1:$robot"}] if at_robot else [],
            )
        session, expiry = state.open_session(conversation_id)
        data["sessionWebhook"] = f"{session_base}/robot/sendBySession?session={session}"
        data["sessionWebhookExpiredTime"] = int(expiry * 1000)
        if quoted is not None or quoted_msg_id is not None:
            data["text"].update(
                isReplyMsg=True,
                repliedMsg={
                    "msgId": quoted_msg_id or "",
                    "msgType": "text",
                    "senderId": "$:LWCP_v1:$robot",
                    "content": {"text": quoted or ""},
                },
            )
        return data


def link_text(url: str) -> str:
    """The text a `dtmd://dingtalkclient/sendMessage?content=…` link makes the client send."""
    split = urlsplit(url)
    if (split.scheme, split.netloc, split.path) != ("dtmd", "dingtalkclient", "/sendMessage"):
        raise ValueError(f"not a sendMessage link: {url}")
    content = parse_qs(split.query).get("content")
    if not content:
        raise ValueError(f"no content in {url}")
    return content[0]


def card_callback_data(
    state: FakeState,
    staff_id: str,
    params: JSONDict,
    *,
    action_id: str = "action",
    out_track_id: str = "",
) -> JSONDict:
    """The data of a card callback frame: `params` are the pressed button's parameters."""
    with state.lock:
        if staff_id not in state.staff:
            raise KeyError(f"no staff {staff_id}")
        value = json.dumps(
            {"cardPrivateData": {"actionIds": [action_id], "params": params}},
            ensure_ascii=False,
        )
        return {
            "extension": "{}",
            "corpId": state.corp_id,
            "spaceType": "IM",
            "spaceId": "",
            "userIdType": 1,
            "type": "actionCallback",
            "userId": staff_id,
            "outTrackId": out_track_id or uuid.uuid4().hex,
            "content": value,
            "value": value,
        }
