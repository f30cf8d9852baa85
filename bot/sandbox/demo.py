"""A demo ledger from the speech's projects, with deadlines spread around the sandbox's today."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.domain.calendar import WorkCalendar
from bot.domain.clock import FixedClock
from bot.domain.ledger import Ledger, NewTask
from bot.domain.model import DINGTALK, Address, Frequency, Person, Role

ADMIN_ID = 1001
ADMIN_NAME = "督查室王主任"
NEW_USER_ID = 9001
GROUP_ID = -1001000000001
GROUP_TITLE = "县政府督查室工作群"
DAYS_ON_LEDGER = 42

# (name, unit, Telegram id) — 承办人 of the demo tasks.
OFFICIALS = [
    ("张伟", "县自然资源局", 2001),
    ("李娜", "县工信局", 2002),
    ("刘洋", "县教育局", 2003),
    ("吴敏", "县卫健局", 2004),
    ("周强", "县发改局", 2005),
    ("孙丽", "县能源局", 2006),
    ("郑凯", "县农业农村局", 2007),
    ("冯婷", "县行政审批局", 2008),
]
# (name, 钉钉 staffId): officials bound on 钉钉 — 吴敏 (an overdue task: reminded every workday)
# instead of Telegram, 李娜 as well as on Telegram — so the page shows both channels side by side.
DINGTALK_OFFICIALS = [("吴敏", "wumin"), ("李娜", "lina")]
DINGTALK_ONLY = frozenset({"吴敏"})
LEADERS = [("陈副县长", 3001), ("王副县长", 3002), ("赵副县长", 3003)]


def _tasks(today: date, calendar: WorkCalendar) -> list[NewTask]:
    """Deadlines across the current quarter: overdue, this 旬, this month, next month, next
    quarter and long-running, so every kind of reminder shows up within a few simulated days."""
    def workdays_back(n: int) -> date:
        day = today
        for _ in range(n):
            day = calendar.previous_workday(day)
        return day

    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    xun_end = date(today.year, today.month, 10 if today.day <= 10 else 20) \
        if today.day <= 20 else month_end
    next_month_end = (month_end + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    quarter_end_month = ((today.month - 1) // 3 + 1) * 3
    quarter_end = (date(today.year, quarter_end_month, 28) + timedelta(days=4)).replace(
        day=1) - timedelta(days=1)
    next_quarter = quarter_end + timedelta(days=75)
    return [
        NewTask("世忻铁路复线保德段征地拆迁", "县自然资源局", ("张伟",), workdays_back(4),
                goal="完成沿线征地拆迁，保障施工进场", leader="陈副县长", category="重点项目"),
        NewTask("吉港冠宇水泥技改项目", "县工信局", ("李娜",), xun_end,
                goal="技改生产线建成试产", leader="王副县长", category="重点项目"),
        NewTask("职业中学新校区建设", "县教育局", ("刘洋",), month_end,
                goal="主体工程封顶", leader="赵副县长", category="民生实事"),
        NewTask("中医院迁建项目一期工程", "县卫健局", ("吴敏",), workdays_back(7),
                goal="一期主体完工", leader="赵副县长", category="民生实事"),
        NewTask("2023年工业增长点项目跟踪帮扶", "县发改局", ("周强", "李娜"), next_month_end,
                goal="及时协调解决困难问题，促进建成投产达效入统", leader="王副县长",
                co_units=("县工信局",)),
        NewTask("煤炭、电力、天然气重点企业监测帮扶", "县能源局", ("孙丽",), quarter_end,
                leader="王副县长", frequency=Frequency.XUN),
        NewTask("一季度新开工重大项目谋划储备", "县发改局", ("周强",), next_quarter,
                leader="陈副县长"),
        NewTask("乡村振兴示范村创建", "县农业农村局", ("郑凯",), None, leader="赵副县长",
                frequency=Frequency.XUN),
        NewTask("优化营商环境“一网通办”", "县行政审批局", ("冯婷",), month_end,
                leader="陈副县长"),
    ]


def seed_demo(ledger: Ledger, calendar: WorkCalendar, now: datetime) -> bool:
    """Fill an empty sandbox ledger. Returns False when there is already data."""
    if list(ledger.repo.tasks()):
        return False
    # Entered in the ledger six weeks ago (建账), so the bulletin and /score buttons have a
    # past 旬 and month to report on from the first minute.
    entered = Ledger(ledger.repo, FixedClock(now - timedelta(days=DAYS_ON_LEDGER)))
    for task in _tasks(now.date(), calendar):
        entered.add_task(task, who=ADMIN_NAME)
    people = []
    on_dingtalk = dict(DINGTALK_OFFICIALS)
    for name, unit, user_id in OFFICIALS:
        person = ledger.repo.get_person(name) or Person(name=name, unit=unit)
        person = person.with_changes(
            unit=unit, user_id=None if name in DINGTALK_ONLY else user_id, bound_at=now)
        if name in on_dingtalk:
            person = person.with_account(Address(DINGTALK, on_dingtalk[name]))
        people.append(person)
    for name, user_id in LEADERS:
        person = ledger.repo.get_person(name) or Person(name=name, role=Role.LEADER)
        people.append(person.with_changes(role=Role.LEADER, user_id=user_id, bound_at=now))
    ledger.seed_people(people)
    return True
