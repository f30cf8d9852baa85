"""The fake 钉钉's HTTP answers: the OpenAPI (`api.dingtalk.com/v1.0/…`), the custom group
robot webhook (`oapi.dingtalk.com/robot/send`) and session webhooks — as pure functions of the
state and the request, served by server.py.

Error answers. The OpenAPI answers errors with an HTTP status and `{"code", "message",
"requestid"}`; the webhook answers HTTP 200 with `{"errcode", "errmsg"}`. Where the codes come
from (documented = open.dingtalk.com or the official SDKs; guess = not found, plausible):

* 401 `InvalidAuthentication` "不合法的access_token" for a missing, wrong or expired token —
  documented (the SDKs renew their token on 401).
* batchSend answers 200 with `invalidStaffIdList` (unknown users) and
  `flowControlledStaffIdList` (over the per-person daily limit) — documented fields.
* identical content to the same person within a day: reported as sent, never shown —
  documented behaviour of 工作通知, assumed here for robot messages too.
* webhook 310000 "sign not match" / "invalid timestamp" (timestamp more than an hour off),
  130101 "send too fast, exceed 20 times per minute" — documented; 300001 "token is not
  exist" for an unknown access_token — a guess.
* guesses: `invalidClientIdOrSecret` (400) for wrong app credentials, `robot.not.exist`
  (400) for a wrong robotCode, `invalidParameter.openConversationId` (400) for an unknown
  group, `robot.not.in.group` (400) when the robot was not added,
  `Forbidden.AccessDenied.QpsLimitForAppkeyAndApi` (403) when a group got more than 20
  messages in a minute, `ServiceUnavailable` (503) for an injected failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from email.message import Message
from typing import Any

from bot.fakedingtalk.state import FakeState, JSONDict

__all__ = ["ERRORS", "Answer", "answer", "webhook_sign"]

#: (HTTP status, answer body).
Answer = tuple[int, JSONDict]

ERRORS: dict[str, tuple[int, str]] = {
    "InvalidAuthentication": (401, "不合法的access_token"),
    "invalidClientIdOrSecret": (400, "无效的clientId或者clientSecret"),
    "robot.not.exist": (400, "机器人不存在"),
    "invalidParameter.openConversationId": (400, "群会话不存在"),
    "robot.not.in.group": (400, "机器人不在群内"),
    "invalidParameter": (400, "参数错误"),
    "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi": (403, "调用该接口触发了限流"),
    "ServiceUnavailable": (503, "服务暂不可用"),
    "NotFound": (404, "Not Found"),
}

#: The webhook's rate limit window and its penalty (documented: 20 a minute, then 10 min).
MINUTE = 60.0
THROTTLE_PENALTY = 600.0


def error(code: str) -> Answer:
    status, message = ERRORS[code]
    return status, {"code": code, "message": message, "requestid": uuid.uuid4().hex}


def webhook_sign(secret: str, timestamp_ms: int | str) -> str:
    """The custom robot's signature: base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))
    (URL-encode it in the query string)."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def answer(
    state: FakeState,
    method: str,
    path: str,
    query: dict[str, list[str]],
    headers: Message,
    body: JSONDict,
    *,
    stream_endpoint: str,
) -> Answer:
    """Route one request (the body already decoded from JSON)."""
    with state.lock:
        state.requests.append((method, path, body))
        if path == "/robot/send":
            return _webhook(state, query, body)
        if path == "/robot/sendBySession":
            return _session_reply(state, query, body)
        if state.http_failures > 0:
            state.http_failures -= 1
            return error("ServiceUnavailable")
    if method == "GET" and path == "/v1.0/robot/oToMessages/readStatus":
        # The SDKs (BatchOTOQuery) ask with GET and query parameters, not a body.
        if not state.token_valid(headers.get("x-acs-dingtalk-access-token")):
            return error("InvalidAuthentication")
        if query.get("robotCode", [""])[0] != state.robot_code:
            return error("robot.not.exist")
        return _read_status(state, {"processQueryKey": query.get("processQueryKey", [""])[0]})
    if method != "POST":
        return error("NotFound")
    if path == "/v1.0/oauth2/accessToken":
        return _access_token(state, body)
    if path == "/v1.0/gateway/connections/open":
        return _open_connection(state, body, stream_endpoint)
    routes = {
        "/v1.0/robot/oToMessages/batchSend": _batch_send,
        "/v1.0/robot/groupMessages/send": _group_send,
    }
    route = routes.get(path)
    if route is None:
        return error("NotFound")
    if not state.token_valid(headers.get("x-acs-dingtalk-access-token")):
        return error("InvalidAuthentication")
    if body.get("robotCode") != state.robot_code:
        return error("robot.not.exist")
    return route(state, body)


def _access_token(state: FakeState, body: JSONDict) -> Answer:
    if (body.get("appKey"), body.get("appSecret")) != (state.client_id, state.client_secret):
        return error("invalidClientIdOrSecret")
    token, expire_in = state.issue_token()
    return 200, {"accessToken": token, "expireIn": expire_in}


def _open_connection(state: FakeState, body: JSONDict, endpoint: str) -> Answer:
    if (body.get("clientId"), body.get("clientSecret")) != (
        state.client_id,
        state.client_secret,
    ):
        return error("invalidClientIdOrSecret")
    subscriptions = body.get("subscriptions")
    if not isinstance(subscriptions, list) or not subscriptions:
        return error("invalidParameter")
    return 200, {"endpoint": endpoint, "ticket": state.issue_ticket()}


def _param(body: JSONDict) -> JSONDict | None:
    raw = body.get("msgParam")
    try:
        param = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    return param if isinstance(param, dict) else None


def _batch_send(state: FakeState, body: JSONDict) -> Answer:
    user_ids = body.get("userIds")
    msg_key = body.get("msgKey")
    param = _param(body)
    if (
        not isinstance(user_ids, list)
        or not 1 <= len(user_ids) <= 20
        or not isinstance(msg_key, str)
        or param is None
    ):
        return error("invalidParameter")
    key = uuid.uuid4().hex
    invalid: list[str] = []
    flow_controlled: list[str] = []
    with state.lock:
        for user_id in map(str, user_ids):
            if user_id not in state.staff:
                invalid.append(user_id)
                continue
            same, count = state.delivered_today(user_id, msg_key, param)
            if count >= state.per_person_daily_limit:
                flow_controlled.append(user_id)
                continue
            state.record("oto", user_id, msg_key, param, process_query_key=key, dropped=same)
    return 200, {
        "processQueryKey": key,
        "invalidStaffIdList": invalid,
        "flowControlledStaffIdList": flow_controlled,
    }


def _over_limit(state: FakeState, group_id: str, limit: int) -> bool:
    """Count a send to `group_id`; True when it is over `limit` in the last minute (the group
    is then throttled for ten minutes)."""
    now = state.now()
    if state.throttled_until.get(group_id, 0.0) > now:
        return True
    hits = [at for at in state.group_hits.get(group_id, []) if at > now - MINUTE]
    if len(hits) >= limit:
        state.throttled_until[group_id] = now + THROTTLE_PENALTY
        state.group_hits[group_id] = hits
        return True
    hits.append(now)
    state.group_hits[group_id] = hits
    return False


def _group_send(state: FakeState, body: JSONDict) -> Answer:
    group_id = str(body.get("openConversationId", ""))
    msg_key = body.get("msgKey")
    param = _param(body)
    if not isinstance(msg_key, str) or param is None:
        return error("invalidParameter")
    with state.lock:
        group = state.groups.get(group_id)
        if group is None:
            return error("invalidParameter.openConversationId")
        if not group.robot_in:
            return error("robot.not.in.group")
        if _over_limit(state, group_id, state.group_per_minute):
            return error("Forbidden.AccessDenied.QpsLimitForAppkeyAndApi")
        key = uuid.uuid4().hex
        state.record("group", group_id, msg_key, param, process_query_key=key)
    return 200, {"processQueryKey": key}


def _read_status(state: FakeState, body: JSONDict) -> Answer:
    key = body.get("processQueryKey")
    with state.lock:
        sent = [m for m in state.sent if m.kind == "oto" and m.process_query_key == key]
        if not key or not sent:
            return error("invalidParameter")
        infos: list[dict[str, Any]] = []
        for message in sent:
            person = state.staff.get(message.target)
            info: dict[str, Any] = {
                "name": person.name if person else "",
                "userId": message.target,
                "readStatus": "READ" if message.read_at is not None else "UNREAD",
            }
            if message.read_at is not None:
                info["readTimestamp"] = int(message.read_at * 1000)
            infos.append(info)
    return 200, {"sendStatus": "SUCCESS", "messageReadInfoList": infos}


def _webhook_error(errcode: int, errmsg: str) -> Answer:
    return 200, {"errcode": errcode, "errmsg": errmsg}


def _webhook(state: FakeState, query: dict[str, list[str]], body: JSONDict) -> Answer:
    token = (query.get("access_token") or [""])[0]
    group = next((g for g in state.groups.values() if g.webhook_token == token and token), None)
    if group is None:
        return _webhook_error(300001, "token is not exist")
    if group.webhook_secret:
        timestamp = (query.get("timestamp") or [""])[0]
        sign = (query.get("sign") or [""])[0]
        try:
            skew = abs(state.now() * 1000 - int(timestamp))
        except ValueError:
            return _webhook_error(310000, "invalid timestamp")
        if skew > 3600 * 1000:
            return _webhook_error(310000, "invalid timestamp")
        expected = webhook_sign(group.webhook_secret, timestamp)
        if not hmac.compare_digest(expected, sign):
            return _webhook_error(310000, "sign not match")
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str) or not isinstance(body.get(msgtype), dict):
        return _webhook_error(40035, "缺少参数 msgtype")
    if _over_limit(state, "webhook:" + group.open_conversation_id, 20):
        return _webhook_error(130101, "send too fast, exceed 20 times per minute")
    state.record("webhook", group.open_conversation_id, msgtype, dict(body[msgtype]))
    return _webhook_error(0, "ok")


def _session_reply(state: FakeState, query: dict[str, list[str]], body: JSONDict) -> Answer:
    session = (query.get("session") or [""])[0]
    conversation, expiry = state.sessions.get(session, ("", 0.0))
    if not conversation or state.now() >= expiry:
        return _webhook_error(300001, "session is expired or not exist")
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str) or not isinstance(body.get(msgtype), dict):
        return _webhook_error(40035, "缺少参数 msgtype")
    state.record("session", conversation, msgtype, dict(body[msgtype]))
    return _webhook_error(0, "ok")
