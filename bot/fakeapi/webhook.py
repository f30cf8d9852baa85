"""Webhook delivery for the fake Bot API: Telegram's side of `setWebhook`.

Once the bot set a webhook, Telegram POSTs every queued update to its URL (a JSON body, the
header ``X-Telegram-Bot-Api-Secret-Token`` carrying the secret given to `setWebhook`), up to
`max_connections` at a time, and keeps an update — retrying it with a growing delay — until a
2xx came back; `getWebhookInfo` counts what is still pending and names the last error.
`WebhookPoster` does the same against a `FakeBotApi`, on its own threads (the fake's state
is thread-safe; the bot under test runs on its own event loop or process):

* the queue is the api's update queue (the same one getUpdates reads); an update leaves it on
  a 2xx answer, and only updates of the kinds in `setWebhook`'s `allowed_updates` are sent;
* `concurrency` threads post (never more at once than `max_connections`); with one, updates
  go strictly in order, each retried until it is taken;
* test hooks, for a load balancer in front of several workers and for Telegram's own
  redeliveries: `targets` (post each delivery to one of these URLs, chosen by a seeded RNG,
  instead of the webhook's URL) and `duplicate_rate` (after a 2xx, deliver the same update
  again with this probability, possibly to another target);
* every attempt is recorded in `deliveries`; `wait_idle` blocks until nothing is pending;
* `stop` ends the threads promptly, closing any request in progress.

Nothing is posted while no webhook is set (getUpdates works then), so a server that never
sees `setWebhook` never opens a connection.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.fakeapi.protocol import JSONDict

if TYPE_CHECKING:
    from bot.fakeapi.core import FakeBotApi

_LOGGER = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BACKOFF = (0.02, 0.05, 0.1, 0.2, 0.5)  # seconds before a retry, one step per failure
TIMEOUT = 10.0  # seconds one POST may take


@dataclass(frozen=True)
class Delivery:
    """One POST of one update: where, and what came back (None: no answer at all)."""

    update_id: int
    url: str
    status: int | None
    duplicate: bool = False
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _Job:
    update: JSONDict
    duplicate: bool
    failures: int = 0
    not_before: float = 0.0


class WebhookPoster:
    """Delivers a `FakeBotApi`'s queued updates to its webhook (see the module docstring)."""

    def __init__(self, api: FakeBotApi, *, concurrency: int = 4, seed: int = 0,
                 targets: Sequence[str] = (), duplicate_rate: float = 0.0,
                 backoff: Sequence[float] = BACKOFF, timeout: float = TIMEOUT) -> None:
        self.api = api
        self.concurrency = max(1, concurrency)
        self.targets = list(targets)
        self.duplicate_rate = duplicate_rate
        self.rng = random.Random(seed)
        self.backoff = tuple(backoff) or BACKOFF
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._jobs: dict[int, _Job] = {}  # update_id → its retry state (first deliveries)
        self._duplicates: deque[_Job] = deque()
        self._in_flight: set[int] = set()  # ids of updates being posted (first deliveries)
        self._posting = 0  # POSTs under way, duplicates included
        self._connections: set[http.client.HTTPConnection] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def configure(self, *, targets: Sequence[str] | None = None,
                  duplicate_rate: float | None = None, seed: int | None = None) -> None:
        """The test hooks, changed while running."""
        with self.api._cond:
            if targets is not None:
                self.targets = list(targets)
            if duplicate_rate is not None:
                self.duplicate_rate = duplicate_rate
            if seed is not None:
                self.rng = random.Random(seed)
            self.api._cond.notify_all()

    # ---- life cycle ----------------------------------------------------------------------

    def start(self) -> WebhookPoster:
        if not self._threads:
            self._stopping = False
            for n in range(self.concurrency):
                thread = threading.Thread(target=self._run, name=f"fake-webhook-{n}",
                                          daemon=True)
                thread.start()
                self._threads.append(thread)
        return self

    def stop(self) -> None:
        """End the threads; a POST under way is cut off (its update stays queued)."""
        with self.api._cond:
            self._stopping = True
            connections = list(self._connections)
            self.api._cond.notify_all()
        for connection in connections:
            if connection.sock is not None:
                try:
                    connection.sock.shutdown(2)
                except OSError:
                    pass
        for thread in self._threads:
            thread.join(timeout=self.timeout + 1)
        self._threads = []

    def __enter__(self) -> WebhookPoster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- what tests look at --------------------------------------------------------------

    def pending(self) -> int:
        """Updates not yet taken (a 2xx), plus duplicates still to be sent."""
        with self.api._lock:
            return len(self._deliverable()) + len(self._duplicates) + self._posting

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Block until every queued update was taken and every duplicate sent."""
        self.api.wait_until(
            lambda: not self._deliverable() and not self._duplicates and not self._posting,
            timeout=timeout)

    def delivered(self, update_id: int) -> list[Delivery]:
        with self.api._lock:
            return [d for d in self.deliveries if d.update_id == update_id]

    # ---- delivering ----------------------------------------------------------------------

    def _deliverable(self) -> list[JSONDict]:
        """The queued updates the webhook takes (others are dropped, as Telegram does)."""
        api = self.api
        if not api._webhook_url:
            return []
        allowed = api._webhook_allowed
        kept = [u for u in api._updates if next(k for k in u if k != "update_id") in allowed]
        if len(kept) != len(api._updates):
            api._updates = kept
        return kept

    def _next(self, now: float) -> tuple[_Job, str, str] | float | None:
        """A job to post now (with its URL and secret), else the seconds until one may be
        ready (None: nothing is waiting)."""
        api = self.api
        url = api._webhook_url
        if not url or self._posting >= min(self.concurrency, api._webhook_max_connections):
            return None
        if self._duplicates and self._duplicates[0].not_before <= now:
            job = self._duplicates.popleft()
            return job, self._target(url), api._webhook_secret
        wait: float | None = None
        queue = self._deliverable()
        if self.concurrency == 1 or api._webhook_max_connections == 1:
            queue = queue[:1]  # strictly in order
        for update in queue:
            update_id = update["update_id"]
            if update_id in self._in_flight:
                continue
            job = self._jobs.setdefault(update_id, _Job(update, duplicate=False))
            if job.not_before <= now:
                self._in_flight.add(update_id)
                return job, self._target(url), api._webhook_secret
            wait = min(wait, job.not_before - now) if wait is not None else job.not_before - now
        if self._duplicates:
            ahead = self._duplicates[0].not_before - now
            wait = min(wait, ahead) if wait is not None else ahead
        return wait

    def _target(self, url: str) -> str:
        """The webhook's URL, or one of the test's `targets` (a load balancer's choice)."""
        return self.rng.choice(self.targets) if self.targets else url

    def _run(self) -> None:
        cond = self.api._cond
        while True:
            with cond:
                while True:
                    if self._stopping:
                        return
                    picked = self._next(time.monotonic())
                    if isinstance(picked, tuple):
                        break
                    cond.wait(picked)
                job, url, secret = picked
                self._posting += 1
            status, error = self._post(url, secret, job.update)
            with cond:
                self._posting -= 1
                self._done(job, url, status, error)
                cond.notify_all()

    def _done(self, job: _Job, url: str, status: int | None, error: str) -> None:
        api = self.api
        update_id = job.update["update_id"]
        delivery = Delivery(update_id, url, status, job.duplicate, error)
        self.deliveries.append(delivery)
        if not job.duplicate:
            self._in_flight.discard(update_id)
        if delivery.ok:
            if job.duplicate:
                return
            self._jobs.pop(update_id, None)
            api._updates = [u for u in api._updates if u["update_id"] != update_id]
            if self.duplicate_rate and self.rng.random() < self.duplicate_rate:
                self._duplicates.append(_Job(job.update, duplicate=True))
            return
        api._webhook_last_error = (int(api.clock()), error or f"Wrong response from the "
                                   f"webhook: {status} {http.client.responses.get(status or 0)}")
        job.failures += 1
        job.not_before = time.monotonic() + self.backoff[min(job.failures - 1,
                                                             len(self.backoff) - 1)]
        if job.duplicate:
            self._duplicates.append(job)  # a redelivery is retried like any delivery

    def _post(self, url: str, secret: str, update: JSONDict) -> tuple[int | None, str]:
        parts = urlsplit(url)
        kind = (http.client.HTTPSConnection if parts.scheme == "https"
                else http.client.HTTPConnection)
        connection = kind(parts.hostname or "127.0.0.1", parts.port, timeout=self.timeout)
        body = json.dumps(update, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        if secret:
            headers[SECRET_HEADER] = secret
        try:
            connection.connect()  # connected before `stop` can see it: it can cut it off
        except OSError as err:
            return None, f"Connection failed: {err!r}"
        with self.api._lock:
            if self._stopping:
                connection.close()
                return None, "stopped"
            self._connections.add(connection)
        try:
            path = parts.path or "/"
            connection.request("POST", path + (f"?{parts.query}" if parts.query else ""),
                               body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status, ""
        except (OSError, http.client.HTTPException) as err:
            return None, f"Connection failed: {err!r}"
        finally:
            with self.api._lock:
                self._connections.discard(connection)
            connection.close()
