"""钉钉's OpenAPI, the small part the bot uses, over an injected `httpx.AsyncClient`.

* `access_token` — ``POST {api_base}/v1.0/oauth2/accessToken`` ``{"appKey", "appSecret"}`` →
  ``{"accessToken", "expireIn"}`` (seconds, 7,200 in practice). Cached until `TOKEN_MARGIN`
  seconds before it expires, on an injected monotonic clock; concurrent callers share one
  renewal (a lock). A call answered 401 (or ``InvalidAuthentication``) renews the token and
  is retried exactly once.
* `send_to_users` — ``POST /v1.0/robot/oToMessages/batchSend`` (≤ 20 userIds): the answer is
  ``{"processQueryKey", "invalidStaffIdList", "flowControlledStaffIdList"}`` with status 200
  even when recipients were refused; when *every* recipient was refused this raises
  `DingTalkError` (code ``invalidStaffIdList`` or ``flowControlledStaffIdList``), otherwise
  the refused ones are logged and the key returned.
* `send_to_group` — ``POST /v1.0/robot/groupMessages/send`` (openConversationId).
* `read_status` — ``GET /v1.0/robot/oToMessages/readStatus?robotCode=…&processQueryKey=…``
  (a GET with query parameters, as the official SDKs call it — BatchOTOQuery) →
  ``{"sendStatus", "messageReadInfoList": [{"name", "userId", "readStatus": "READ"|"UNREAD",
  "readTimestamp"}]}``: the userIds whose status is READ.
* `group_read_status` — ``POST /v1.0/robot/groupMessages/query`` ``{"openConversationId",
  "robotCode", "processQueryKey", "maxResults", "nextToken"}`` → ``{"sendStatus",
  "readUserIds", "nextToken", "hasMore"}``, all pages.
* `webhook_send` — a custom group robot's webhook (``https://oapi.dingtalk.com/robot/send?
  access_token=…``), signed: HMAC-SHA256 keyed by the secret over ``timestamp_ms + "\\n" +
  secret``, base64, URL-encoded, appended as ``&timestamp=…&sign=…``. Its answers are the old
  API's ``{"errcode", "errmsg"}`` (410100: sent too fast, throttled for 10 minutes).
* `open_connection` — ``POST /v1.0/gateway/connections/open`` ``{clientId, clientSecret,
  subscriptions, ua}`` → ``(endpoint, ticket)`` for Stream mode (bot/dingtalk/stream.py).

Errors are one typed exception, `DingTalkError(status, code, message)`: ``status`` is the
HTTP status (0 when the request never got an answer: network, timeout), ``code`` 钉钉's code
(the new API's ``{"code", "message"}``, the webhook's ``errcode``). bot/dingtalk/sender.py maps
them to the domain's outcomes. The client secret, the access token and the webhook's URL
(its ``access_token`` query) never reach a log line or an error message: requests are logged
by path only, and error texts pass through `redact`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote_plus, urlsplit

import httpx

log = logging.getLogger(__name__)

API_BASE = "https://api.dingtalk.com"
TOKEN_MARGIN = 300.0  # renew this many seconds before the token expires
MAX_USERS = 20  # userIds in one batchSend
TOKEN_CODES = frozenset({"InvalidAuthentication", "invalidAuthentication"})
UA = "luoshi/1.0 (python httpx)"


class DingTalkError(Exception):
    """钉钉 refused or could not be asked. `status` 0: no answer (network, timeout)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class DingTalkApi:
    """The OpenAPI calls the bot makes. `client` is owned by the caller (closed by it)."""

    def __init__(self, client: httpx.AsyncClient, *, client_id: str, client_secret: str,
                 robot_code: str = "", api_base: str = API_BASE,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall_ms: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        self.client = client
        self.client_id = client_id
        self._secret = client_secret
        self.robot_code = robot_code or client_id  # an internal app's robot: its AppKey
        self.api_base = api_base.rstrip("/")
        self._monotonic = monotonic
        self._wall_ms = wall_ms
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self._hidden: set[str] = {client_secret} if client_secret else set()

    def __repr__(self) -> str:  # never the secret
        return f"DingTalkApi(client_id={self.client_id!r}, api_base={self.api_base!r})"

    # --- secrets out of logs ------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """`text` with the secret, tokens and webhook secrets replaced by ***."""
        for secret in self._hidden:
            if secret:
                text = text.replace(secret, "***")
        return text

    def _hide(self, value: str) -> None:
        if value:
            self._hidden.add(value)

    # --- the access token -------------------------------------------------------------------

    async def access_token(self, *, renew: bool = False) -> str:
        """The app's access token: cached, renewed shortly before it expires (or now)."""
        stale = self._token
        async with self._lock:
            if self._token is not None and not (renew and self._token == stale) \
                    and self._monotonic() < self._expires:
                return self._token
            data = await self._call("POST", "/v1.0/oauth2/accessToken", token=False,
                                    json_body={"appKey": self.client_id,
                                               "appSecret": self._secret})
            token = data.get("accessToken")
            if not isinstance(token, str) or not token:
                raise DingTalkError(200, "noAccessToken", "the answer had no accessToken")
            expire_in = _number(data.get("expireIn"), 7200.0)
            self._hide(token)
            self._token = token
            margin = min(TOKEN_MARGIN, expire_in / 2)
            self._expires = self._monotonic() + expire_in - margin
            log.info("钉钉 access token obtained (valid %.0f s)", expire_in)
            return token

    # --- requests -----------------------------------------------------------------------------

    async def _call(self, method: str, path: str, *, token: bool = True,
                    json_body: Mapping[str, Any] | None = None,
                    params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """One OpenAPI request; with `token`, renewed and retried once on 401."""
        for attempt in (0, 1):
            headers: dict[str, str] = {}
            if token:
                headers["x-acs-dingtalk-access-token"] = await self.access_token(
                    renew=attempt == 1)
            response = await self._send(method, self.api_base + path, path, headers=headers,
                                        json_body=json_body, params=params)
            data = _json(response)
            if response.status_code < 300:
                return data
            code = str(data.get("code") or "") or f"http{response.status_code}"
            message = self.redact(str(data.get("message") or response.reason_phrase or ""))
            if token and attempt == 0 and (response.status_code == 401 or code in TOKEN_CODES):
                log.info("钉钉 %s: token refused (%s); renewing it and retrying once", path,
                         code)
                continue
            raise DingTalkError(response.status_code, code, message)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, method: str, url: str, label: str, *, headers: Mapping[str, str],
                    json_body: Mapping[str, Any] | None = None,
                    params: Mapping[str, str] | None = None) -> httpx.Response:
        try:
            response = await self.client.request(method, url, headers=headers, json=json_body,
                                                 params=params)
        except httpx.HTTPError as err:
            text = self.redact(str(err) or type(err).__name__)
            log.info("钉钉 %s %s: no answer (%s)", method, label, text)
            raise DingTalkError(0, "network", text) from None
        log.debug("钉钉 %s %s → %s", method, label, response.status_code)
        return response

    # --- robot messages -----------------------------------------------------------------------

    async def send_to_users(self, user_ids: Sequence[str], msg_key: str,
                            msg_param: Mapping[str, Any]) -> str:
        """A robot message to people one-to-one (≤ 20); returns the processQueryKey."""
        if not user_ids or len(user_ids) > MAX_USERS:
            raise ValueError(f"batchSend takes 1–{MAX_USERS} userIds, not {len(user_ids)}")
        data = await self._call("POST", "/v1.0/robot/oToMessages/batchSend", json_body={
            "robotCode": self.robot_code, "userIds": list(user_ids), "msgKey": msg_key,
            "msgParam": dump_param(msg_param)})
        invalid = _strings(data.get("invalidStaffIdList"))
        limited = _strings(data.get("flowControlledStaffIdList"))
        refused = invalid | limited
        if refused and refused >= set(user_ids):
            field = "invalidStaffIdList" if invalid else "flowControlledStaffIdList"
            raise DingTalkError(200, field, ", ".join(sorted(refused)))
        if refused:
            log.warning("钉钉 batchSend: not sent to %s (invalid %s, throttled %s)",
                        len(refused), sorted(invalid), sorted(limited))
        return _key(data)

    async def send_to_group(self, open_conversation_id: str, msg_key: str,
                            msg_param: Mapping[str, Any]) -> str:
        """A robot message to a group the robot is in; returns the processQueryKey."""
        data = await self._call("POST", "/v1.0/robot/groupMessages/send", json_body={
            "robotCode": self.robot_code, "openConversationId": open_conversation_id,
            "msgKey": msg_key, "msgParam": dump_param(msg_param)})
        return _key(data)

    async def read_status(self, process_query_key: str) -> set[str]:
        """The userIds who have read a one-to-one robot message (by its processQueryKey)."""
        data = await self._call("GET", "/v1.0/robot/oToMessages/readStatus", params={
            "robotCode": self.robot_code, "processQueryKey": process_query_key})
        entries = data.get("messageReadInfoList")
        read: set[str] = set()
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, dict) and entry.get("readStatus") == "READ" \
                    and isinstance(entry.get("userId"), str):
                read.add(entry["userId"])
        return read

    async def group_read_status(self, open_conversation_id: str,
                                process_query_key: str) -> set[str]:
        """The userIds who have read a group robot message (all pages)."""
        read: set[str] = set()
        next_token = ""
        for _page in range(100):
            body: dict[str, Any] = {"openConversationId": open_conversation_id,
                                    "robotCode": self.robot_code,
                                    "processQueryKey": process_query_key, "maxResults": 200}
            if next_token:
                body["nextToken"] = next_token
            data = await self._call("POST", "/v1.0/robot/groupMessages/query", json_body=body)
            read |= _strings(data.get("readUserIds"))
            next_token = str(data.get("nextToken") or "")
            if not data.get("hasMore") or not next_token:
                break
        return read

    # --- the custom group robot's webhook ---------------------------------------------------

    def signed_url(self, url: str, secret: str) -> str:
        """The webhook URL with ``timestamp`` and ``sign`` (HMAC-SHA256, base64, URL-encoded)."""
        timestamp = str(self._wall_ms())
        return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}" \
               f"&sign={webhook_sign(timestamp, secret)}"

    async def webhook_send(self, url: str, secret: str | None,
                           payload: Mapping[str, Any]) -> None:
        """Post `payload` (``{"msgtype": "markdown", "markdown": {…}}``) to a custom group
        robot; signed when it has a `secret`. Raises `DingTalkError` when refused."""
        self._hide(secret or "")
        query = urlsplit(url).query
        for pair in query.split("&"):
            name, _, value = pair.partition("=")
            if name == "access_token":
                self._hide(value)
        target = self.signed_url(url, secret) if secret else url
        response = await self._send("POST", target, "webhook", headers={},
                                    json_body=payload)
        data = _json(response)
        errcode = data.get("errcode", 0 if response.status_code < 300 else None)
        if response.status_code >= 300 or errcode not in (0, "0"):
            code = str(errcode) if errcode is not None else f"http{response.status_code}"
            raise DingTalkError(response.status_code, code,
                                self.redact(str(data.get("errmsg") or response.reason_phrase)))

    # --- Stream mode --------------------------------------------------------------------------

    async def open_connection(self, subscriptions: Iterable[Mapping[str, str]],
                              *, ua: str = UA) -> tuple[str, str]:
        """Open a Stream connection: the WebSocket endpoint and its one-time ticket."""
        data = await self._call("POST", "/v1.0/gateway/connections/open", token=False,
                                json_body={"clientId": self.client_id,
                                           "clientSecret": self._secret,
                                           "subscriptions": [dict(s) for s in subscriptions],
                                           "ua": ua})
        endpoint, ticket = data.get("endpoint"), data.get("ticket")
        if not isinstance(endpoint, str) or not isinstance(ticket, str) or not endpoint:
            raise DingTalkError(200, "noEndpoint", "the answer had no endpoint or ticket")
        self._hide(ticket)
        return endpoint, ticket


def webhook_sign(timestamp: str, secret: str) -> str:
    """钉钉's webhook signature: base64(HMAC-SHA256(secret, timestamp + "\\n" + secret)),
    URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(),
                      hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def dump_param(msg_param: Mapping[str, Any]) -> str:
    """msgParam as 钉钉 wants it: a JSON string (UTF-8 kept: an escaped CJK character takes six
    bytes of the 15,000-byte limit instead of three)."""
    return json.dumps(dict(msg_param), ensure_ascii=False, separators=(",", ":"))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _strings(value: object) -> set[str]:
    return {item for item in value if isinstance(item, str)} if isinstance(value, list) \
        else set()


def _number(value: object, default: float) -> float:
    try:
        return float(value) if isinstance(value, (int, float, str)) else default
    except ValueError:
        return default


def _key(data: Mapping[str, Any]) -> str:
    key = data.get("processQueryKey")
    if not isinstance(key, str) or not key:
        raise DingTalkError(200, "noProcessQueryKey", "the answer had no processQueryKey")
    return key
