"""Both channels in one event loop (issue 15): Telegram against the fake Bot API (its limits on)
and 钉钉 against the fake 钉钉, the real services on a real store, as `serve_both` wires them
(one `ChannelRouter` as the sender, 钉钉's runtime with its Stream, inbox and lanes).

Measured while 钉钉 frames stream in (DD_OFFICIALS officials each send DD_REPORTS reports, one
every FRAME_SPACING s over the Stream) and an admin's dispatch fans out reminders on both
channels at once (TG_OFFICIALS on Telegram, DD_OFFICIALS on 钉钉, one overdue task each):

* event-loop stall: the max lag of a 50 ms sleeper (bench_rhythm's `LoopLag`) over the whole
  run — goal ≤ 50 ms;
* 钉钉 fan-out: one-to-one reminders per second as the fake 钉钉 received them (batchSend,
  one recipient each; the fake's one-to-one sends are unthrottled);
* 钉钉 group fan-out: GROUP_MESSAGES bulletins to each of the admin and work groups while the
  reminders go out, against the fake's 20 a minute per group: the 21st waits for the minute
  (measured from the 1st's delivery), none is refused (this found the sender counting the
  minute from its reservations instead of 钉钉's answers). The bench lasts a minute for it;
* lost / twice: every reminder reached its official once (per channel), every report frame
  ACKed is applied exactly once (its text in one report).

The bot runs in-process (no `python -m bot`): the probe must sit on the bot's own loop. The
fakes do not: they run in a child process (bench/fakes_process.py, which says why: in one
process their threads held the GIL during the worst lags, 61–141 ms, when no bot callback was
running), so the probe measures the bot. The stall figure is also given for the dispatch and
reports alone, before the groups' minute of waiting.
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
from bench.fakes_process import FakesProcess
from bot.bootstrap import bootstrap
from bot.channels import ChannelRouter
from bot.config import parse_config
from bot.dingtalk.runtime import DingTalkRuntime
from bot.domain.clock import FixedClock
from bot.domain.model import DINGTALK, TELEGRAM, Address, Person
from bot.tg.app import build_application

TG_OFFICIALS = 100
DD_OFFICIALS = 100
DD_REPORTS = 3  # reports per 钉钉 official, streamed in during the dispatch
FRAME_SPACING = 0.005  # seconds between two frames pushed by the fake
DAY = date(2026, 12, 1)  # a Tuesday, a workday
GOAL_MS = 50.0
GROUP_LIMIT = 20  # the fake's (and 钉钉's) group robot limit, a minute
GROUP_MESSAGES = 22  # to each group: the 21st and 22nd must wait for the window, not fail
GROUPS = [("cidAdminGroup", "督查室群", -1001), ("cidWorkGroup", "工作群", -1002)]


def _people() -> list[Person]:
    officials = make_officials(TG_OFFICIALS + DD_OFFICIALS, units=20)
    return [p if i < TG_OFFICIALS else replace(p, user_id=None,
                                               accounts=(Address(DINGTALK, f"dd{i}"),))
            for i, p in enumerate(officials)]


async def _measure(tmp: Path) -> list[Row]:
    people = _people()
    seed(tmp / "data", people, [DAY - timedelta(days=3)] * len(people))
    dd_people = [p for p in people if p.user_id is None]
    fakes = FakesProcess(TOKEN, [(p.user_id, p.name) for p in people if p.user_id is not None],
                         [(p.accounts[0].id, p.name) for p in dd_people],
                         [(cid, title) for cid, title, _chat in GROUPS])
    try:
        config = parse_config({
            "telegram": {"token": TOKEN, "base_url": fakes.urls["base_url"],
                         "base_file_url": fakes.urls["base_file_url"]},
            "storage": {"dir": str(tmp / "data")},
            "dingtalk": {"client_id": "app", "client_secret": "s", "robot_code": "robot",
                         "api_base": fakes.urls["dd_url"]},
        })
        clock = FixedClock(datetime.combine(DAY, datetime.min.time(), TZ).replace(hour=10))
        services = bootstrap(config, clock=clock)
        app = build_application(services)
        await app.initialize()
        runtime = DingTalkRuntime(services)
        for cid, _title, chat in GROUPS:  # the admin and work groups as 钉钉 targets
            runtime.seen[chat] = ("group", cid)
        services.connect(ChannelRouter({TELEGRAM: services.sender,  # type: ignore[dict-item]
                                        DINGTALK: runtime.sender}), services.watch)
        stop = asyncio.Event()
        stream = asyncio.create_task(runtime.stream.run(stop))
        lag = LoopLag()
        group_at: dict[int, list[float]] = {chat: [] for _cid, _title, chat in GROUPS}

        async def bulletin(chat: int) -> None:
            for n in range(GROUP_MESSAGES):
                await runtime.sender.send(chat, f"通报 第{n + 1}条：本周督办事项进展")
                group_at[chat].append(time.monotonic())

        try:
            assert await fakes.call("wait_connected", 10)
            lag.start()
            start = time.monotonic()
            texts: dict[int, tuple[str, str]] = {}  # push order → (task, mark)
            items: list[tuple[str, str]] = []
            for k in range(DD_REPORTS):
                for n, person in enumerate(dd_people):
                    task = f"T{TG_OFFICIALS + n + 1:04d}"
                    texts[len(items)] = (task, f"第{k}次")
                    items.append((person.accounts[0].id, f"{task} 进度{10 + k}%，第{k}次报送"))
            await fakes.call("push", (items, FRAME_SPACING))
            groups = [asyncio.create_task(bulletin(chat)) for _cid, _title, chat in GROUPS]
            report = await asyncio.wait_for(services.rhythm().run(DAY), 600)
            dispatch_wall = time.monotonic() - start
            frames: list[str] = await fakes.call("pushed", 60)
            await runtime.intake.idle()
            wall = time.monotonic() - start
            dispatch_lags = list(lag.lags)
            await asyncio.wait_for(asyncio.gather(*groups), 300)
            group_wall = time.monotonic() - start
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
        got = await fakes.call("results")
    finally:
        fakes.close()
    dd_sent = [(target, at) for kind, target, text, at in got["dd_sent"]
               if kind == "oto" and "调度）" in text]
    dd_counts = Counter(target for target, _at in dd_sent)
    tg_counts = Counter(chat for chat, text in got["tg_sent"] if "调度）" in text)
    ats = [at for _target, at in dd_sent]
    span = (max(ats) - min(ats)) if ats else 0.0
    acks: dict[str, int | None] = got["acks"]
    acked = sum(code == 200 for code in acks.values())
    applied = Counter(key for r in reports for key in set(texts.values())
                      if r.task_id == key[0] and key[1] in r.text)
    lost = sum(applied[texts[i]] == 0 for i, f in enumerate(frames) if acks.get(f) == 200)
    twice = sum(n > 1 for n in applied.values())
    dd_missing = sum(dd_counts[p.accounts[0].id] == 0 for p in dd_people)
    dd_twice = sum(n > 1 for n in dd_counts.values())
    tg_missing = sum(tg_counts[p.user_id] == 0 for p in people if p.user_id is not None)
    in_groups = Counter(target for kind, target, _text, _at in got["dd_sent"] if kind == "group")
    refused = len(got["dd_refused"]) - sum(in_groups.values())
    waited = [at[GROUP_LIMIT] - at[0] for at in group_at.values() if len(at) > GROUP_LIMIT]
    lags = [x * 1000 for x in lag.lags]
    worst = max(lags, default=0.0)
    worst_dispatch = max(dispatch_lags, default=0.0) * 1000
    return [
        Row("both channels: event-loop stall (max lag, 50 ms probe)",
            f"{worst:.1f} ms over {group_wall:.1f} s ({len(lags)} probes); "
            f"{worst_dispatch:.1f} ms during the dispatch and reports ({wall:.1f} s)",
            f"≤ {GOAL_MS:.0f} ms", worst <= GOAL_MS),
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
        Row(f"钉钉 group fan-out ({GROUP_MESSAGES} to each of {len(GROUPS)} groups, "
            f"limit {GROUP_LIMIT}/min) during the dispatch",
            f"delivered {dict(in_groups)}, refused {refused}, throttled "
            f"{len(got['throttled'])}; message {GROUP_LIMIT + 1} waited "
            + ", ".join(f"{w:.1f} s" for w in waited) + " after the 1st",
            f"all, 0 refused, {GROUP_LIMIT + 1}st ≥ 60 s",
            refused == 0 and not got["throttled"]
            and all(n == GROUP_MESSAGES for n in in_groups.values())
            and len(in_groups) == len(GROUPS) and all(w >= 59.0 for w in waited)),
    ]


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="luoshi-bench-dd-") as tmp:
        return asyncio.run(_measure(Path(tmp)))


if __name__ == "__main__":
    for row in run():
        print(row)
