"""钉钉 (DingTalk), the second channel: an adapter at the edge, like bot/tg/ for Telegram.

Modules (issue 15):

* `api.py` — the OpenAPI over httpx (async): the access token (cached until shortly before it
  expires, renewed on 401), one-to-one robot messages (`oToMessages/batchSend`), group robot
  messages (`groupMessages/send`), read status (`oToMessages/readStatus`), the custom group
  robot webhook (HMAC-SHA256 signed), and opening a Stream connection
  (`gateway/connections/open`). 钉钉's answers become the domain's outcomes: `Unreachable`
  (no such user, not in the organisation, the robot not in the group) or `DeliveryFailed`.
* `render.py` — a channel-neutral message (Luoshi markup, rows of (label, action) buttons) as
  钉钉 markdown and action cards (no HTML).
* `sender.py` — `DingTalkSender`, the services' `Sender` port for 钉钉 (`channel = "dingtalk"`):
  chats are the application's account numbers (bot/domain/accounts.py), resolved to a staffId
  or an openConversationId; groups paced at 20 messages a minute.
* `stream.py` — Stream mode, the inbound side: an outbound WebSocket (no public IP needed),
  every frame acknowledged, the SYSTEM ping answered, reconnected with backoff. Speaks the
  small documented protocol itself with httpx and `websockets`: the official `dingtalk-stream`
  SDK makes blocking `requests` calls and `time.sleep`s inside async code, which would stall
  the event loop shared with Telegram.

The fake 钉钉 server for tests and the sandbox is bot/fakedingtalk/ (the model: bot/fakeapi/).
"""
