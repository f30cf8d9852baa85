"""A fake 钉钉 (DingTalk) for tests and the sandbox, in the style of bot/fakeapi/.

* `state` — the organisation (staff, groups), tokens and tickets that expire on an injected
  clock (`ManualClock`), messages the robot sent.
* `openapi` — the HTTP answers: `oauth2/accessToken`, `gateway/connections/open`,
  `robot/oToMessages/batchSend`, `robot/groupMessages/send`, `robot/oToMessages/readStatus`,
  the custom robot webhook (HMAC-checked, `webhook_sign`) and session webhooks; 钉钉's limits
  (20 a minute per group, identical content dropped within a day) and error codes.
* `stream` — the Stream WebSocket: tickets checked, frames pushed, ACKs recorded, unACKed
  frames delivered again on the next connection; faults (drop, refuse, delay, disconnect).
* `users` — what users do, as frames: texts, quoted replies, dtmd:// links, card callbacks.
* `server` — `FakeDingTalk`: all of it on real sockets on 127.0.0.1, with inspection.
"""

from bot.fakedingtalk.openapi import webhook_sign
from bot.fakedingtalk.server import FakeDingTalk
from bot.fakedingtalk.state import ManualClock, SentMessage
from bot.fakedingtalk.stream import Frame

__all__ = ["FakeDingTalk", "Frame", "ManualClock", "SentMessage", "webhook_sign"]
