"""Roles and identity (issue 11, part 6): one person per name however it is typed, 换绑 only
with an admin's consent, four eyes by user id, leaders covering for officials on leave, and
task ids of any length."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.adapters.docstore import DocStore
from bot.adapters.repository import StoreRepository
from bot.domain.clock import FixedClock
from bot.domain.errors import (
    AlreadyBound,
    InvalidField,
    InviteExpired,
    InviteUsed,
    NotAllowed,
    NothingPending,
    RebindPending,
    Superseded,
)
from bot.domain.ledger import Ledger, NewTask, ReportRole
from bot.domain.ledger_file import ParsedRow
from bot.domain.model import RebindStatus, Role, TaskStatus
from bot.domain.replies import Reading, ReplyKind
from bot.domain.text import normalize_name, normalize_task_id, split_names
from bot.messages import Messages
from tests.conftest import NOV27 as NOW
from tests.unit.conftest import make_ledger

TODAY = NOW.date()
ZW = "\u200b"  # zero-width space


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def ledger(clock: FixedClock) -> Ledger:
    return make_ledger(clock=clock)


def rail(**changes: object) -> NewTask:
    base = dict(title="世忻铁路复线保德段征地", lead_unit="县自然资源局", owners=("张三",),
                deadline=date(2026, 12, 31), leader="陈副县长")
    base.update(changes)
    return NewTask(**base)  # type: ignore[arg-type]


def row(**changes: object) -> ParsedRow:
    base = dict(row=2, task_id=None, title="中医院迁建项目一期工程", goal="", lead_unit="县卫健局",
                owners=("吴九",), leader="", co_units=(), deadline=date(2026, 12, 31),
                category="", frequency=None, remark="")
    base.update(changes)
    return ParsedRow(**base)  # type: ignore[arg-type]


# ---- names --------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", [
    "张三", f"张{ZW}三", f"{ZW}张三{ZW}", "张\u200d三", "张\u200e三", "张\u2060三", "\ufeff张三",
    "张\u00ad三", "张\u034f三", "张\ufe0f三", "张\u202e三", " 张三 ", "张　三", "张\t三",
    "张\x00三", "张\x1b三",
])
def test_every_invisible_variant_of_a_name_is_the_same_name(typed: str) -> None:
    assert normalize_name(typed) == "张三"


@pytest.mark.parametrize("typed,expected", [
    ("Ｚｈａｎｇ  Ｓａｎ", "Zhang San"),  # full-width, two spaces
    ("John\u200b  Smith", "John Smith"),
    ("阿卜杜·热合曼", "阿卜杜·热合曼"),
    ("", ""),
    (ZW * 3, ""),
])
def test_normalize_name_keeps_what_is_visible(typed: str, expected: str) -> None:
    assert normalize_name(typed) == expected


def test_split_names_normalises_each_name_and_drops_invisible_duplicates() -> None:
    assert split_names(f"张{ZW}三、张三，Ｌｉ Ｓｉ,{ZW}") == ("张三", "Li", "Si")
    assert split_names(f"张三、李{ZW}四、李四") == ("张三", "李四")


def test_a_zero_width_character_never_creates_a_second_person(ledger: Ledger) -> None:
    ledger.add_task(rail(owners=("张三",)), who="admin")
    ledger.add_task(rail(title="中医院迁建", owners=(f"张{ZW}三", "张三"),
                         leader=f"陈副{ZW}县长"), who="admin")
    assert sorted(p.name for p in ledger.repo.people()) == ["张三", "陈副县长"]
    assert [t.owners for t in ledger.live_tasks()] == [("张三",), ("张三",)]
    assert {t.leader for t in ledger.live_tasks()} == {"陈副县长"}
    assert [t.id for t in ledger.tasks_of_person(f"张{ZW}三")] == ["T0001", "T0002"]
    assert ledger.person_named(f" 张{ZW}三") == ledger.repo.get_person("张三")


def test_import_rows_normalise_owners_and_leaders(ledger: Ledger) -> None:
    ledger.add_task(rail(), who="admin")
    ledger.import_rows([row(owners=(f"张{ZW}三", "吴九"), leader=f"陈副县长{ZW}")],
                       who="admin")
    assert sorted(p.name for p in ledger.repo.people()) == ["吴九", "张三", "陈副县长"]
    imported = ledger.task("T0002")
    assert (imported.owners, imported.leader) == (("张三", "吴九"), "陈副县长")


def test_invites_and_leave_find_the_person_however_the_name_is_typed(ledger: Ledger) -> None:
    ledger.add_task(rail(), who="admin")
    invite = ledger.create_invite(f"张{ZW}三", "县自然资源局", admin_id=1)
    assert invite.name == "张三"
    person = ledger.redeem_invite(invite.code, user_id=501)
    assert person.name == "张三" and len(list(ledger.repo.people())) == 2
    on_leave = ledger.set_leave("\ufeff张三", date(2026, 12, 1), date(2026, 12, 5))
    assert on_leave.name == "张三" and on_leave.user_id == 501
    with pytest.raises(InvalidField):
        ledger.create_invite(ZW, "", admin_id=1)


def test_a_name_too_long_after_cleaning_is_refused(ledger: Ledger) -> None:
    with pytest.raises(InvalidField) as info:
        ledger.add_task(rail(owners=("长" * 31,)), who="admin")
    assert info.value.params["field"] == "owners"
    # Invisible characters do not count towards the limit.
    assert ledger.add_task(rail(owners=(ZW.join("长" * 30),)), who="admin").owners == (
        "长" * 30,)


# ---- 换绑: re-binding an already-bound person ---------------------------------------------


def bound(ledger: Ledger, name: str = "张三", user_id: int = 501) -> None:
    ledger.redeem_invite(ledger.create_invite(name, "", admin_id=1).code, user_id=user_id)


def ask_rebind(ledger: Ledger, user_id: int = 777, name: str = "张三") -> tuple[str, str]:
    """A second invite for `name`, redeemed by `user_id`: (invite code, request id)."""
    invite = ledger.create_invite(name, "", admin_id=1)
    with pytest.raises(RebindPending) as info:
        ledger.redeem_invite(invite.code, user_id=user_id)
    return invite.code, info.value.params["request_id"]


def test_redeeming_an_invite_of_a_bound_person_only_records_a_request(ledger: Ledger) -> None:
    bound(ledger)
    code, request_id = ask_rebind(ledger)
    # Nothing is rebound, the invite is not used, the request is durable.
    assert ledger.person_for_user(501) is not None and ledger.person_for_user(777) is None
    invite = ledger.repo.get_invite(code)
    assert invite is not None and invite.used_by is None
    request = ledger.repo.get_rebind(request_id)
    assert request is not None
    assert (request.name, request.old_user_id, request.new_user_id, request.status) == (
        "张三", 501, 777, RebindStatus.PENDING)
    assert ledger.pending_rebinds() == [request]


def test_the_same_account_asking_again_gets_the_same_request(ledger: Ledger) -> None:
    bound(ledger)
    code, request_id = ask_rebind(ledger)
    with pytest.raises(RebindPending) as info:
        ledger.redeem_invite(code, user_id=777)
    assert info.value.params["request_id"] == request_id and info.value.params["new"] is False
    assert len(ledger.pending_rebinds()) == 1
    # A third account with the same link is refused: the link is taken.
    with pytest.raises(InviteUsed):
        ledger.redeem_invite(code, user_id=888)


def test_confirm_rebind_binds_the_new_account_and_names_the_old_one(ledger: Ledger,
                                                                    clock: FixedClock) -> None:
    bound(ledger)
    code, request_id = ask_rebind(ledger)
    clock.advance(timedelta(hours=2))
    rebinding = ledger.confirm_rebind(request_id, who="admin:1", admin_id=1)
    assert (rebinding.old_user_id, rebinding.new_user_id) == (501, 777)
    assert rebinding.person.user_id == 777 and rebinding.person.bound_at == clock.now()
    assert ledger.person_for_user(501) is None
    assert ledger.person_for_user(777) == rebinding.person
    invite = ledger.repo.get_invite(code)
    assert invite is not None and invite.used_by == 777
    request = ledger.repo.get_rebind(request_id)
    assert request is not None and request.status is RebindStatus.CONFIRMED
    assert (request.decided_by, request.decided_by_id) == ("admin:1", 1)
    assert ledger.pending_rebinds() == []
    with pytest.raises(Superseded):  # a second press of the button
        ledger.confirm_rebind(request_id, who="admin:1", admin_id=1)
    # The new account tapping the link again is harmless.
    assert ledger.redeem_invite(code, user_id=777).user_id == 777


def test_refuse_rebind_keeps_the_binding_and_kills_the_link(ledger: Ledger) -> None:
    bound(ledger)
    code, request_id = ask_rebind(ledger)
    refused = ledger.refuse_rebind(request_id, who="admin:1", admin_id=1)
    assert refused.status is RebindStatus.REFUSED and refused.new_user_id == 777
    assert ledger.person_for_user(501) is not None and ledger.person_for_user(777) is None
    with pytest.raises(InviteUsed):
        ledger.redeem_invite(code, user_id=777)
    with pytest.raises(Superseded):
        ledger.confirm_rebind(request_id, who="admin:1", admin_id=1)
    with pytest.raises(NothingPending):
        ledger.refuse_rebind("B9999", who="admin:1", admin_id=1)


def test_an_admin_cannot_confirm_binding_their_own_account(ledger: Ledger) -> None:
    bound(ledger)
    _, request_id = ask_rebind(ledger, user_id=1)
    with pytest.raises(NotAllowed) as info:
        ledger.confirm_rebind(request_id, who="admin:1", admin_id=1)
    assert info.value.params["reason"] == "self_rebind"
    assert ledger.confirm_rebind(request_id, who="admin:2", admin_id=2).new_user_id == 1


def test_a_request_overtaken_by_another_binding_is_superseded(ledger: Ledger) -> None:
    bound(ledger)
    _, first = ask_rebind(ledger, user_id=777)
    _, second = ask_rebind(ledger, user_id=888)
    ledger.confirm_rebind(second, who="admin:1", admin_id=1)
    with pytest.raises(Superseded):
        ledger.confirm_rebind(first, who="admin:1", admin_id=1)
    assert ledger.person_for_user(888) is not None


def test_a_new_account_already_bound_to_someone_else_is_refused(ledger: Ledger) -> None:
    bound(ledger)
    bound(ledger, "李四", 777)
    invite = ledger.create_invite("张三", "", admin_id=1)
    with pytest.raises(AlreadyBound):
        ledger.redeem_invite(invite.code, user_id=777)
    assert ledger.pending_rebinds() == []


def test_an_expired_invite_makes_no_request(ledger: Ledger, clock: FixedClock) -> None:
    bound(ledger)
    invite = ledger.create_invite("张三", "", admin_id=1)
    clock.advance(timedelta(days=8))
    with pytest.raises(InviteExpired):
        ledger.redeem_invite(invite.code, user_id=777)
    assert ledger.pending_rebinds() == []


def test_rebind_requests_survive_a_restart_of_the_store(tmp_path: Path) -> None:
    store = DocStore.open(tmp_path)
    ledger = make_ledger(StoreRepository(store))
    bound(ledger)
    _, request_id = ask_rebind(ledger)
    store.close()
    store = DocStore.open(tmp_path)
    try:
        ledger = make_ledger(StoreRepository(store))
        assert [r.id for r in ledger.pending_rebinds()] == [request_id]
        rebinding = ledger.confirm_rebind(request_id, who="admin:1", admin_id=1)
        assert rebinding.old_user_id == 501
        assert ledger.person_for_user(777) is not None and ledger.person_for_user(501) is None
    finally:
        store.close()
    store = DocStore.open(tmp_path)
    try:
        repo = StoreRepository(store)
        request = repo.get_rebind(request_id)
        assert request is not None and request.status is RebindStatus.CONFIRMED
        assert repo.person_by_user(777) is not None and repo.person_by_user(501) is None
    finally:
        store.close()


def test_rebind_messages_render_in_both_languages() -> None:
    ledger = make_ledger()
    bound(ledger)
    with pytest.raises(RebindPending) as info:
        ledger.redeem_invite(ledger.create_invite("张三", "", admin_id=1).code, user_id=777)
    request = info.value.params["request"]
    for language in ("zh", "en"):
        msgs = Messages(language, today=lambda: TODAY)
        assert "张三" in msgs.error(info.value)  # the new account's notice
        question = msgs.rebind_question(request, unit="县自然资源局")
        assert "张三" in question and "777" in question and "501" in question
        assert msgs.catalog["btn_rebind_ok"] and msgs.catalog["btn_rebind_no"]
        for key in ("rebind_done", "rebind_refused", "rebind_refused_notice"):
            assert "张三" in msgs.t(key, name="张三")
        assert "张三" in msgs.t("rebind_old_notice", name="张三")
        assert "张三" in msgs.t("rebind_done_new", name="张三", unit="县自然资源局")
        assert msgs.error(NotAllowed(reason="self_rebind", task_id=request.id))
        assert msgs.error(Superseded(what="rebind", task_id=request.id))
        assert msgs.error(NothingPending(what="rebind", task_id=request.id))


# ---- four eyes by user id ----------------------------------------------------------------


def submitted(ledger: Ledger, *, who: str, user_id: int) -> str:
    task = ledger.add_task(rail(), who="admin")
    ledger.submit_report(task.id, Reading(ReplyKind.COMPLETION, progress=100, text="已完成"),
                         who=who, user_id=user_id)
    return task.id


def test_the_submitter_cannot_verify_even_under_another_name(ledger: Ledger) -> None:
    task_id = submitted(ledger, who="admin:1001", user_id=1001)
    # Renamed (or reported under a person's name): the user id still matches.
    with pytest.raises(NotAllowed) as info:
        ledger.verify(task_id, who="王主任", user_id=1001)
    assert info.value.params["reason"] == "self_verify"
    assert ledger.task(task_id).status is TaskStatus.SUBMITTED
    # Another account with the same display name may.
    assert ledger.verify(task_id, who="admin:1001", user_id=1002).status is TaskStatus.CLOSED


def test_without_a_user_id_the_names_are_compared_as_before(ledger: Ledger) -> None:
    task_id = submitted(ledger, who="张三", user_id=501)
    with pytest.raises(NotAllowed):
        ledger.verify(task_id, who="张三")
    assert ledger.verify(task_id, who="admin:1").status is TaskStatus.CLOSED


# ---- leaders covering for officials on leave ------------------------------------------------


def test_the_leader_covers_while_an_owner_is_on_leave(ledger: Ledger) -> None:
    task = ledger.add_task(rail(owners=("张三", "李四")), who="admin")
    other = ledger.add_task(rail(title="另一项", leader="王副县长"), who="admin")
    bound(ledger, "陈副县长", 900)
    assert ledger.reporting_role(task, "张三", TODAY) == ReportRole.OWNER
    assert ledger.reporting_role(task, "陈副县长", TODAY) == ReportRole.LEADER
    assert ledger.reporting_role(task, "王副县长", TODAY) is None
    assert ledger.tasks_to_report("陈副县长", TODAY) == []
    ledger.set_leave("李四", date(2026, 11, 26), date(2026, 11, 30))
    assert ledger.reporting_role(task, f"陈副{ZW}县长", TODAY) == ReportRole.COVERING
    assert ledger.covering(task, "陈副县长", TODAY)
    assert [t.id for t in ledger.tasks_to_report("陈副县长", TODAY)] == [task.id]
    assert [t.id for t in ledger.tasks_to_report("张三", TODAY)] == [task.id, other.id]
    # The day after the leave the leader is no longer asked, but may still report.
    after = date(2026, 12, 1)
    assert ledger.tasks_to_report("陈副县长", after) == []
    assert ledger.may_report(task, "陈副县长", after)
    assert not ledger.may_report(other, "陈副县长", TODAY)
    assert not ledger.may_report(task, "", TODAY)


def test_a_covering_leader_can_report_and_is_recorded_under_their_own_name(
        ledger: Ledger) -> None:
    task = ledger.add_task(rail(), who="admin")
    ledger.set_leave("张三", TODAY, TODAY)
    assert ledger.may_report(task, "陈副县长", TODAY)
    outcome = ledger.submit_report(task.id, Reading(ReplyKind.PROGRESS, progress=60,
                                                    text="进度60%"), who="陈副县长", user_id=900)
    assert outcome.report.who == "陈副县长" and outcome.task.progress == 60


def test_closed_tasks_are_not_asked_about(ledger: Ledger) -> None:
    task = ledger.add_task(rail(), who="admin")
    ledger.cancel_task(task.id, who="admin")
    ledger.set_leave("张三", TODAY, TODAY)
    assert ledger.tasks_to_report("陈副县长", TODAY) == []
    assert ledger.tasks_to_report("张三", TODAY) == []


def test_leader_role_is_kept_for_leaders(ledger: Ledger) -> None:
    ledger.add_task(rail(leader=f"陈副县长{ZW}"), who="admin")
    leader = ledger.repo.get_person("陈副县长")
    assert leader is not None and leader.role is Role.LEADER


# ---- task ids of any length -----------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("t1000000", "T1000000"), ("T999999", "T999999"), ("T1", "T0001"),
    ("t" + "9" * 19, "T" + "9" * 19), ("T" + "9" * 20, None),
    ("ZJ-2026-001", "ZJ-2026-001"), ("a1", "A1"), ("OK", None), ("-12", None),
    ("T0007-", None), ("T 7", None), ("Ｔ１０００００００", "T10000000"),
])
def test_task_ids_of_any_reasonable_length(text: str, expected: str | None) -> None:
    assert normalize_task_id(text) == expected


def test_after_an_imported_t999999_the_next_task_is_t1000000(ledger: Ledger) -> None:
    ledger.import_rows([row(task_id="T999999")], who="admin")
    task = ledger.add_task(rail(), who="admin")
    assert task.id == "T1000000"
    assert normalize_task_id(task.id.lower()) == task.id
    assert ledger.task(normalize_task_id("t1000000") or "").title == task.title
    # Every step of the loop works on it.
    ledger.submit_report(task.id, Reading(ReplyKind.COMPLETION, progress=100, text="已完成"),
                         who="张三", user_id=501)
    assert ledger.verify(task.id, who="admin:1", user_id=1).status is TaskStatus.CLOSED
    ledger.reopen(task.id, "复查", who="admin:1")
    assert ledger.cancel_task(task.id, who="admin:1").status is TaskStatus.CANCELLED
    again = ledger.import_rows([row(title="新任务", task_id=None)], who="admin")
    assert again.new == ["T1000001"]
