"""Both channels in one event loop (issue 15): Telegram against the fake Bot API (its limits on)
and 钉钉 against the fake 钉钉, the real services on a real store, as `serve_both` wires them
(one `ChannelRouter` as the sender, 钉钉's runtime with its Stream, inbox and lanes).

Measured while 钉钉 frames stream in (DD_OFFICIALS officials each send DD_REPORTS reports, one
every FRAME_SPACING s over the Stream) and an admin's dispatch fans out reminders on both
channels at once (TG_OFFICIALS on Telegram, DD_OFFICIALS on 钉钉, one overdue task each):

* event-loop stall: the max lag of a 50 ms sleeper (bench_rhythm's `LoopLag`) over the whole
  run — goal ≤ 50 ms;
* 钉钉 fan-out: one-to-one reminders per second as the fake 钉钉 received them (batchSend,
  one recipient each; the fake's one-to-one sends are unthrottled, groups are limited to 20 a
  minute and not exercised here: the sender's group pacing is tested in tests/chat);
* lost / twice: every reminder reached its official once (per channel), every report frame
  ACKed is applied exactly once (its text in one report).

The bot runs in-process (no `python -m bot`): the probe must sit on the bot's own loop.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

from bench.bench_faults import seed
from bench.bench_rhythm import LoopLag
from bench.common import TOKEN, TZ, Row, make_officials
from bot.bootstrap import bootstrap
from bot.channels import ChannelRouter
from bot.config import parse_config
from bot.dingtalk.runtime import DingTalkRuntime
from bot.domain.clock import FixedClock
from bot.domain.model import DINGTALK, TELEGRAM, Address, Person
from bot.fakeapi import FakeBotApi, FakeBotApiServer
from bot.fakedingtalk import FakeDingTalk
from bot.tg.app import build_application

TG_OFFICIALS = 100
DD_OFFICIALS = 100
DD_REPORTS = 3  # reports per 钉钉 official, streamed in during the dispatch
FRAME_SPACING = 0.005  # seconds between two frames pushed by the fake
DAY = date(2026, 12, 1)  # a Tuesday, a workday
GOAL_MS = 50.0


def _people() -> list[Person]:
    officials = make_officials(TG_OFFICIALS + DD_OFFICIALS, units=20)
    return [p if i < TG_OFFICIALS else replace(p, user_id=None,
                                               accounts=(Address(DINGTALK, f"dd{i}"),))
            for i, p in enumerate(officials)]


async def _measure(tmp: Path) -> list[Row]:
    people = _people()
    seed(tmp / "data", people, [DAY - timedelta(days=3)] * len(people))
    api = FakeBotApi(token=TOKEN, bot_username="luoshi_bench_bot")
    api.rate_limit(global_per_sec=30, per_chat_per_sec=1, per_group_per_min=20)
    dd_people = [p for p in people if p.user_id is None]
    for person in people:
        if person.user_id is not None:
            api.add_user(person.user_id, person.name)
            api.send_text(person.user_id, "/start")
    with FakeBotApiServer(api) as server, \
            FakeDingTalk(client_id="app", client_secret="s", robot_code="robot") as fake:
        for person in dd_people:
            fake.add_staff(person.accounts[0].id, person.name)
        config = parse_config({
            "telegram": {"token": TOKEN, "base_url": server.base_url,
                         "base_file_url": server.base_file_url},
            "storage": {"dir": str(tmp / "data")},
            "dingtalk": {"client_id": "app", "client_secret": "s", "robot_code": "robot",
                         "api_base": fake.url},
        })
        clock = FixedClock(datetime.combine(DAY, datetime.min.time(), TZ).replace(hour=10))
        services = bootstrap(config, clock=clock)
        app = build_application(services)
        await app.initialize()
        runtime = DingTalkRuntime(services)
        services.connect(ChannelRouter({TELEGRAM: services.sender,  # type: ignore[dict-item]
                                        DINGTALK: runtime.sender}), services.watch)
        stop = asyncio.Event()
        stream = asyncio.create_task(runtime.stream.run(stop))
        lag = LoopLag()
        try:
            assert await fake.wait_connected(10)
            lag.start()
            start = time.monotonic()
            texts: dict[str, tuple[str, str]] = {}  # frame → (task, mark)
            frames: list[str] = []

            def stream_in() -> None:
                for k in range(DD_REPORTS):
                    for n, person in enumerate(dd_people):
                        text = f"T{TG_OFFICIALS + n + 1:04d} 进度{10 + k}%，第{k}次报送"
                        frames.append(fake.send_text(person.accounts[0].id, text))
                        texts[frames[-1]] = (f"T{TG_OFFICIALS + n + 1:04d}", f"第{k}次")
                        time.sleep(FRAME_SPACING)

            pusher = asyncio.get_running_loop().run_in_executor(None, stream_in)
            report = await asyncio.wait_for(services.rhythm().run(DAY), 600)
            dispatch_wall = time.monotonic() - start
            await pusher
            for frame in frames:
                await fake.wait_acked(frame, 60)
            await runtime.intake.idle()
            wall = time.monotonic() - start
            await lag.stop()
        finally:
            stop.set()
            await stream
            await runtime.close()
            await services.background_idle()
            await app.shutdown()
            reports = list(services.ledger.repo.reports())
            if services.close is not None:
                services.close()
        dd_sent = [m for m in fake.sent if m.kind == "oto" and "调度）" in m.text]
        dd_counts = Counter(m.target for m in dd_sent)
        tg_counts = Counter(m["chat"]["id"] for m in api.sent if "调度）" in m.get("text", ""))
        span = (max(m.at for m in dd_sent) - min(m.at for m in dd_sent)) if dd_sent else 0.0
        acked = sum(fake.frame(f).ack_code == 200 for f in frames)
        applied = Counter(key for r in reports for key in set(texts.values())
                          if r.task_id == key[0] and key[1] in r.text)
        lost = sum(applied[texts[f]] == 0 for f in frames if fake.frame(f).ack_code == 200)
        twice = sum(n > 1 for n in applied.values())
        dd_missing = sum(dd_counts[p.accounts[0].id] == 0 for p in dd_people)
        dd_twice = sum(n > 1 for n in dd_counts.values())
        tg_missing = sum(tg_counts[p.user_id] == 0 for p in people if p.user_id is not None)
    lags = [x * 1000 for x in lag.lags]
    worst = max(lags, default=0.0)
    return [
        Row("both channels: event-loop stall (max lag, 50 ms probe)",
            f"{worst:.1f} ms over {wall:.1f} s ({len(lags)} probes)", f"≤ {GOAL_MS:.0f} ms",
            worst <= GOAL_MS),
        Row("dispatch on both channels", f"sent {report.sent}, wall {dispatch_wall:.1f} s; "
            f"Telegram reached {TG_OFFICIALS - tg_missing}/{TG_OFFICIALS}"),
        Row("钉钉 fan-out rate (one-to-one)",
            f"{len(dd_sent)} reminders in {span:.2f} s = "
            f"{(len(dd_sent) - 1) / span if span else 0:.0f}/s"),
        Row("钉钉 reminders lost / twice", f"{dd_missing} / {dd_twice}", "0 / 0",
            dd_missing == 0 and dd_twice == 0),
        Row("钉钉 report frames ACKed / lost / applied twice",
            f"{acked}/{len(frames)} / {lost} / {twice}", "all / 0 / 0",
            acked == len(frames) and lost == 0 and twice == 0),
    ]


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="luoshi-bench-dd-") as tmp:
        return asyncio.run(_measure(Path(tmp)))


if __name__ == "__main__":
    for row in run():
        print(row)
