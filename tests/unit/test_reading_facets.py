"""One reply, every facet: what the reader finds, how the ledger applies it in one change,
and `python -m bot read`."""

from __future__ import annotations

import io
import json
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import read_cli
from bot.cli import main as cli_main
from bot.domain.clock import FixedClock
from bot.domain.errors import UndoRefused
from bot.domain.ledger import Ledger, NewTask
from bot.domain.model import TaskStatus
from bot.domain.replies import ReplyKind, read_reply
from tests.conftest import TZ
from tests.unit.conftest import make_ledger

TODAY = date(2026, 12, 10)
DEADLINE = date(2026, 12, 31)
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read(text: str, deadline: date | None = DEADLINE):  # type: ignore[no-untyped-def]
    return read_reply(text, today=TODAY, deadline=deadline)


# ---- the reader -------------------------------------------------------------------------


def test_one_reply_carries_progress_a_difficulty_and_an_extension() -> None:
    reading = read("完成了55%，因为配套资金没到，申请延期到2月10日")
    assert reading.progress == 55
    assert reading.difficulty is not None and "资金" in reading.difficulty
    assert reading.extension and reading.new_deadline == date(2027, 2, 10)
    assert not reading.done and not reading.confirm
    assert reading.facets() == ("progress", "difficulty", "extension")


@pytest.mark.parametrize("text", [
    "已完成", "已办结", "全部完成，请核验", "整改已到位", "可以交账", "办妥了", "已全部验收合格",
    "这个任务已经全部弄完了，请核账",
])
def test_standard_completions_are_handed_in_without_asking(text: str) -> None:
    reading = read(text)
    assert reading.done and reading.progress == 100 and not reading.confirm


@pytest.mark.parametrize("text", [
    "等弄完了再拍照片报给您", "不用延期，肯定能按期完成", "全部弄完估计还要半个月",
    "主体已完工，外墙还没刷", "前期手续已办完，下月进场施工", "摸底登记已完成，接下来评估",
    "除了两家企业，其余都完成了", "完成啥呀，才开了个头", "进度百分只六十", "完成了吗？",
    "基本完成", "快完成了", "哪里完成了，人都没凑齐",
])
def test_what_is_not_the_whole_task_done_now_is_never_handed_in(text: str) -> None:
    assert not read(text).done


@pytest.mark.parametrize("text", ["方案已制定完成", "招标已完成"])
def test_a_completed_step_is_asked_about(text: str) -> None:
    reading = read(text)
    assert reading.confirm and not reading.done and reading.kind is ReplyKind.NOTE


def test_a_completion_next_to_a_problem_is_asked_about() -> None:
    reading = read("已完成，但验收时群众不同意签字")
    assert reading.confirm and reading.difficulty is not None


@pytest.mark.parametrize(("text", "progress"), [
    ("40户里完成了30户", 75), ("共15家企业已整改12家", 80), ("已签约60户，总数80户", 75),
    ("完成了2/5", 40), ("八成五", 85), ("还差两成", 80), ("上周30%，今天到了65%", 65),
    ("已完成70户，还剩30户", 70), ("游客满意度96%，进度60%", 60), ("群众知晓率90%", None),
    ("完成投资1200万元", None), ("进度还是0，材料没到", 0),
])
def test_progress_figures(text: str, progress: int | None) -> None:
    assert read(text).progress == progress


@pytest.mark.parametrize("text", ["进度120%", "进度-5%"])
def test_an_impossible_progress_is_not_taken_but_flagged(text: str) -> None:
    reading = read(text)
    assert reading.progress is None and reading.odd_progress is not None


@pytest.mark.parametrize(("text", "new_deadline"), [
    ("申请延期20天", date(2027, 1, 20)),  # from the deadline, not from today
    ("要往后延两周", date(2027, 1, 14)),
    ("申请推到2月5号", date(2027, 2, 5)),
    ("缓一缓到月底", date(2026, 12, 31)),
    ("能否延期到1.31", date(2027, 1, 31)),
    ("希望延期到元月20日", date(2027, 1, 20)),
    ("申请延期一个月", date(2027, 1, 31)),
    ("延期申请：因资金未到位停工近20天，申请延期40天", date(2027, 2, 9)),
])
def test_extension_dates(text: str, new_deadline: date) -> None:
    reading = read(text)
    assert reading.extension and reading.new_deadline == new_deadline


def test_a_relative_extension_of_an_overdue_task_counts_from_today() -> None:
    reading = read("申请延期5天", deadline=date(2026, 11, 30))
    assert reading.new_deadline == date(2026, 12, 15)


@pytest.mark.parametrize("text", ["春节以后完成，申请延期", "再宽限几天", "往后推几天"])
def test_a_vague_extension_asks_for_a_date_and_proposes_one(text: str) -> None:
    reading = read(text)
    assert reading.extension and reading.new_deadline is None
    assert reading.suggested_deadline is not None and reading.suggested_deadline > DEADLINE


@pytest.mark.parametrize("text", ["上回申请的延期不需要了", "延期的事已经批了", "不用延期",
                                  "要是下周材料还不到，我们再申请延期"])
def test_past_withdrawn_or_conditional_extensions_are_not_requests(text: str) -> None:
    assert not read(text).extension


@pytest.mark.parametrize("text", ["老百姓不配合", "人员紧张", "有几户一直不肯签字",
                                  "协调了几次都没结果", "企业老板电话打不通", "资金还差一块",
                                  "价格谈不下来", "施工方不愿意进场", "缺懂技术的人",
                                  "连续降雨影响工期"])
def test_obstacles_are_difficulties(text: str) -> None:
    assert read(text).difficulty is not None


@pytest.mark.parametrize("text", ["困难不是很大", "有困难会第一时间报告", "之前的困难已经解决",
                                  "帮助困难群众20户", "没什么困难"])
def test_what_is_not_a_difficulty_now(text: str) -> None:
    assert read(text).difficulty is None


# ---- properties ---------------------------------------------------------------------------

OTHER_THINGS = st.sampled_from([
    "完成投资1200万元", "12月5日召开了推进会", "走访群众120户", "群众满意度96%",
    "同比增长15%", "发放宣传资料3000份", "财政拨付资金80万元", "2026年11月30日前已报送",
])


@FAST
@given(st.integers(0, 99), OTHER_THINGS, st.booleans())
def test_money_dates_and_counts_of_other_things_never_change_the_progress(
        figure: int, other: str, before: bool) -> None:
    base = f"进度{figure}%"
    text = f"{other}，{base}" if before else f"{base}，{other}"
    assert read(text).progress == figure


NEGATIONS = st.sampled_from(["未", "没", "尚未", "还没", "没有", "还没有"])
CLAUSES = st.lists(st.sampled_from(["路面硬化", "，", "。", "已", "全部", "主体工程", "请核验",
                                    "进度80%", "群众满意", "整改"]), max_size=6).map("".join)


@FAST
@given(CLAUSES, NEGATIONS, st.sampled_from(["完成", "办结", "完工", "竣工"]), CLAUSES)
def test_a_negated_completion_clause_never_yields_done(before: str, negation: str, verb: str,
                                                       after: str) -> None:
    reading = read(f"{before}{negation}{verb}{after}")
    assert not reading.done


# ---- the ledger applies every facet in one change -------------------------------------------


@pytest.fixture
def ledger() -> Ledger:
    clock = FixedClock(datetime(2026, 12, 10, 9, 0, tzinfo=TZ))
    ledger = make_ledger(clock=clock)
    ledger.add_task(NewTask(title="中医院迁建", lead_unit="县卫健局", owners=("张三",),
                            deadline=DEADLINE, leader="李县长"), who="王主任")
    return ledger


def test_all_facets_land_together_in_one_commit(ledger: Ledger) -> None:
    commits = []
    original = ledger.repo.commit
    ledger.repo.commit = lambda change: (commits.append(change), original(change))  # type: ignore[method-assign,func-returns-value]
    outcome = ledger.submit_report("T0001", read("完成了55%，因为配套资金没到，申请延期到2月10日"),
                                   who="张三", user_id=7)
    assert len(commits) == 1
    assert outcome.task.progress == 55 and outcome.task.status is TaskStatus.OPEN
    assert outcome.difficulty is not None and outcome.extension is not None
    assert outcome.extension.new_deadline == date(2027, 2, 10)
    assert outcome.report.kind == "extension"
    assert [d.id for d in ledger.repo.difficulties_of("T0001")] == [outcome.difficulty.id]


def test_undo_takes_back_every_facet(ledger: Ledger) -> None:
    outcome = ledger.submit_report("T0001", read("进度40%，资金没到位，申请延期到1月20日"),
                                   who="张三", user_id=7)
    ledger.undo_report(outcome.report.id, user_id=7)
    task = ledger.task("T0001")
    assert task.progress == 0
    assert all(d.withdrawn for d in ledger.repo.difficulties_of("T0001"))
    assert all(e.status.value == "withdrawn" for e in ledger.repo.extensions_of("T0001"))


def test_a_progress_report_after_handing_in_takes_the_submission_back(ledger: Ledger) -> None:
    done = ledger.submit_report("T0001", read("已完成"), who="张三", user_id=7)
    assert done.task.status is TaskStatus.SUBMITTED
    outcome = ledger.submit_report("T0001", read("进度45%"), who="张三", user_id=7)
    assert outcome.withdrew_submission and outcome.withdrawn_submission == done.report.id
    task = ledger.task("T0001")
    assert (task.status, task.progress, task.submission) == (TaskStatus.OPEN, 45, "")
    # 撤回 of that report hands the task in again, as it was.
    ledger.undo_report(outcome.report.id, user_id=7)
    task = ledger.task("T0001")
    assert (task.status, task.progress, task.submission) == (
        TaskStatus.SUBMITTED, 100, done.report.id)


def test_a_note_after_handing_in_keeps_the_submission(ledger: Ledger) -> None:
    ledger.submit_report("T0001", read("已完成"), who="张三", user_id=7)
    outcome = ledger.submit_report("T0001", read("照片稍后补充"), who="张三", user_id=7)
    assert not outcome.withdrew_submission
    assert ledger.task("T0001").status is TaskStatus.SUBMITTED


def test_the_history_does_not_repeat_the_figure(ledger: Ledger) -> None:
    ledger.submit_report("T0001", read("进度90%"), who="张三", user_id=7)
    notes = [entry.note for entry in ledger.repo.history("T0001") if entry.action == "progress"]
    assert notes == ["进度90%"]


def test_undo_of_someone_elses_report_is_refused(ledger: Ledger) -> None:
    outcome = ledger.submit_report("T0001", read("进度30%"), who="张三", user_id=7)
    with pytest.raises(UndoRefused):
        ledger.undo_report(outcome.report.id, user_id=8)


# ---- python -m bot read ---------------------------------------------------------------------


def test_read_command_prints_one_json_object_per_line() -> None:
    out = io.StringIO()
    lines = io.StringIO("完成了55%，因为配套资金没到，申请延期到2月10日\n已完成\n"
                        "方案已制定完成\n收到\n")
    assert read_cli.main(["--json", "--today", "2026-12-10"], stdin=lines, stdout=out) == 0
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["progress"], r["done"], r["confirm"], r["difficulty"], r["extension"],
             r["new_deadline"]) for r in results] == [
        (55, False, False, True, True, "2027-02-10"),
        (100, True, False, False, False, None),
        (None, False, True, False, False, None),
        (None, False, False, False, False, None),
    ]
    assert results[3]["ack"] is True


def test_read_command_describes_a_reply_in_chinese() -> None:
    out = io.StringIO()
    assert read_cli.main(["--today", "2026-12-10", "--deadline", "2026-12-31", "申请延期20天"],
                         stdout=out) == 0
    assert "申请延期至 2027-01-20" in out.getvalue()


def test_read_command_needs_no_config_and_rejects_a_bad_date(
        capsys: pytest.CaptureFixture[str], tmp_path: object, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(str(tmp_path))  # no config.toml here
    monkeypatch.delenv("BOT_CONFIG", raising=False)
    assert cli_main(["read", "--json", "--today", "2026-12-10", "进度60%"]) == 0
    assert json.loads(capsys.readouterr().out)["progress"] == 60
    assert cli_main(["read", "--today", "12/10", "进度60%"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
