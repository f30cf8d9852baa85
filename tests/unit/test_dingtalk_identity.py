"""People on 钉钉 (issue 15, items 4 and 5): binding by invite on any channel (and 换绑 there),
finding a person by a foreign account number, 钉钉 admins and groups, the 钉钉UserID column,
and one reminder on one channel (channel_for, last_channel)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

import tests.conftest as people
from bot.app import commands, reports
from bot.app.conversation import Caller, Said
from bot.config import AccessConfig, Config, DingTalkConfig
from bot.domain.accounts import account_number, group_number
from bot.domain.errors import AlreadyBound, InviteUsed, RebindPending, Superseded
from bot.domain.ledger import Ledger
from bot.domain.model import (
    DINGTALK,
    TELEGRAM,
    Address,
    Person,
    RebindRequest,
    channel_for,
)
from bot.domain.ports import Change
from bot.ledger_io import import_ledger_file
from bot.services import Services
from tests.conftest import NOV27
from tests.support.fake_channel import FakeSender, RecordingConversation
from tests.support.fakes import FakeRepository
from tests.unit.conftest import ADMIN, ZHANG, progress

DING_ZHANG = Address(DINGTALK, "zhang3")
DING_ZHANG_NO = account_number(DING_ZHANG)


def redeem_on_dingtalk(ledger: Ledger, name: str, userid: str) -> Person:
    invite = ledger.create_invite(name, "县自然资源局", admin_id=ADMIN.user_id)
    address = Address(DINGTALK, userid)
    return ledger.redeem_invite(invite.code, account_number(address), address)


# ---- documents ---------------------------------------------------------------------------


def test_old_documents_load_and_telegram_documents_keep_their_form() -> None:
    old_person = {"name": "张三", "unit": "县自然资源局", "role": "official", "user_id": 2001,
                  "bound_at": "2026-11-27T09:00:00+08:00", "unreachable_since": None,
                  "leave_from": None, "leave_to": None}
    person = Person.from_doc(old_person)
    assert person.accounts == () and person.last_channel == ""
    assert person.to_doc() == old_person
    old_request = {"id": "B0001", "name": "张三", "invite": "code1", "old_user_id": 2001,
                   "new_user_id": 2777, "requested_at": "2026-11-27T09:00:00+08:00",
                   "status": "pending", "decided_by": "", "decided_by_id": None,
                   "decided_at": None}
    request = RebindRequest.from_doc(old_request)
    assert request.channel == TELEGRAM and request.new == Address(TELEGRAM, "2777")
    assert request.to_doc() == old_request


def test_new_fields_round_trip() -> None:
    person = Person("张三", user_id=2001, accounts=(DING_ZHANG,), last_channel=DINGTALK)
    assert Person.from_doc(person.to_doc()) == person
    assert person.bound and person.reachable
    assert Person("李四", accounts=(DING_ZHANG,)).bound
    request = RebindRequest("B0002", "张三", "code2", 5, 6, NOV27,
                            new_address=Address(DINGTALK, "new"), old_address=DING_ZHANG)
    assert RebindRequest.from_doc(request.to_doc()) == request
    assert request.channel == DINGTALK


# ---- one reminder, one channel -------------------------------------------------------------


BOTH = Person("张三", user_id=2001, accounts=(DING_ZHANG,))
TG = Address(TELEGRAM, "2001")


@pytest.mark.parametrize(("person", "prefer", "last", "running", "expected"), [
    (BOTH, "last", None, None, TG),  # never used either: Telegram's first
    (BOTH.with_changes(last_channel=DINGTALK), "last", None, None, DING_ZHANG),
    (BOTH, "last", DINGTALK, None, DING_ZHANG),  # last_used given explicitly
    (BOTH.with_changes(last_channel=DINGTALK), "telegram", None, None, TG),  # preference wins
    (BOTH, "dingtalk", TELEGRAM, None, DING_ZHANG),
    (BOTH.with_changes(last_channel=DINGTALK), "last", None, (TELEGRAM,), TG),  # not running
    (BOTH, "dingtalk", None, (TELEGRAM,), TG),
    (Person("李四", accounts=(DING_ZHANG,)), "telegram", None, None, DING_ZHANG),
    (Person("李四", accounts=(DING_ZHANG,)), "last", None, (TELEGRAM,), None),
    (Person("王五"), "last", None, None, None),
])
def test_channel_for_picks_one_address(person: Person, prefer: str, last: str | None,
                                       running: tuple[str, ...] | None,
                                       expected: Address | None) -> None:
    assert channel_for(person, prefer, last, running) == expected


def test_a_report_records_the_channel_it_came_through(ledger: Ledger, repo: FakeRepository,
                                                      task: object,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    bind_tg = ledger.create_invite(ZHANG.who, "", admin_id=ADMIN.user_id)
    ledger.redeem_invite(bind_tg.code, ZHANG.user_id)
    assert ledger.person_named(ZHANG.who).last_channel == ""  # type: ignore[union-attr]
    bound = redeem_on_dingtalk(ledger, ZHANG.who, "zhang3")
    assert bound.addresses == (Address(TELEGRAM, str(ZHANG.user_id)), DING_ZHANG)
    assert bound.last_channel == DINGTALK  # binding there is using it
    changes: list[Change] = []
    commit = repo.commit

    def spy(change: Change) -> None:
        changes.append(change)
        commit(change)

    monkeypatch.setattr(repo, "commit", spy)
    ledger.submit_report("T0001", progress(60), who=ZHANG.who, user_id=ZHANG.user_id)
    [change] = changes  # the report and last_channel: one change
    assert change.reports and [p.last_channel for p in change.people] == [TELEGRAM]
    ledger.submit_report("T0001", progress(70), who=ZHANG.who, user_id=ZHANG.user_id)
    assert changes[-1].people == []  # unchanged: not written again
    ledger.submit_report("T0001", progress(80), who=ZHANG.who, user_id=DING_ZHANG_NO)
    assert ledger.person_named(ZHANG.who).last_channel == DINGTALK  # type: ignore[union-attr]


def test_a_person_on_one_channel_gets_no_last_channel(ledger: Ledger, task: object) -> None:
    redeem_on_dingtalk(ledger, ZHANG.who, "zhang3")
    ledger.submit_report("T0001", progress(60), who=ZHANG.who, user_id=DING_ZHANG_NO)
    person = ledger.person_named(ZHANG.who)
    assert person is not None and person.last_channel == "" and person.reachable


# ---- binding on 钉钉 ---------------------------------------------------------------------


def test_binding_on_dingtalk_adds_the_account_and_finds_the_person(ledger: Ledger) -> None:
    invite = ledger.create_invite("张三", "县自然资源局", admin_id=ADMIN.user_id)
    bound = ledger.redeem_invite(invite.code, DING_ZHANG_NO, DING_ZHANG)
    assert bound.user_id is None and bound.accounts == (DING_ZHANG,)
    assert bound.bound_at is not None
    assert ledger.person_for_user(DING_ZHANG_NO) == bound
    assert ledger.account_owner(DING_ZHANG_NO) == (bound, DING_ZHANG)
    assert ledger.person_for_user(account_number(Address(DINGTALK, "nobody"))) is None
    used = ledger.repo.get_invite(invite.code)
    assert used is not None and used.used_by == DING_ZHANG_NO
    # The same link tapped twice: nothing to do.
    assert ledger.redeem_invite(invite.code, DING_ZHANG_NO, DING_ZHANG) == bound


def test_a_dingtalk_account_bound_to_someone_else_is_refused(ledger: Ledger) -> None:
    redeem_on_dingtalk(ledger, "张三", "zhang3")
    invite = ledger.create_invite("李四", "", admin_id=ADMIN.user_id)
    with pytest.raises(AlreadyBound):
        ledger.redeem_invite(invite.code, DING_ZHANG_NO, DING_ZHANG)


def test_the_number_must_be_the_accounts(ledger: Ledger) -> None:
    invite = ledger.create_invite("张三", "", admin_id=ADMIN.user_id)
    with pytest.raises(ValueError, match="zhang3"):
        ledger.redeem_invite(invite.code, 12345, DING_ZHANG)


def test_rebinding_on_dingtalk_asks_the_admins_and_keeps_telegram(ledger: Ledger) -> None:
    first = ledger.create_invite(ZHANG.who, "", admin_id=ADMIN.user_id)
    ledger.redeem_invite(first.code, ZHANG.user_id)
    redeem_on_dingtalk(ledger, ZHANG.who, "zhang3")
    new = Address(DINGTALK, "zhang3-new")
    invite = ledger.create_invite(ZHANG.who, "", admin_id=ADMIN.user_id)
    with pytest.raises(RebindPending) as pending:
        ledger.redeem_invite(invite.code, account_number(new), new)
    request = pending.value.params["request"]
    assert (request.old_user_id, request.new_user_id) == (DING_ZHANG_NO, account_number(new))
    assert (request.old_address, request.new_address) == (DING_ZHANG, new)
    assert ledger.repo.get_rebind(request.id) == request
    done = ledger.confirm_rebind(request.id, who=ADMIN.who, admin_id=ADMIN.user_id)
    assert done.person.user_id == ZHANG.user_id  # Telegram untouched
    assert done.person.accounts == (new,)
    assert ledger.person_for_user(account_number(new)) == done.person
    assert ledger.person_for_user(DING_ZHANG_NO) is None  # the index follows the change
    used = ledger.repo.get_invite(invite.code)
    assert used is not None and used.used_by == account_number(new)
    with pytest.raises(InviteUsed):
        ledger.redeem_invite(invite.code, DING_ZHANG_NO, DING_ZHANG)


def test_a_rebind_is_superseded_when_the_dingtalk_account_changed(ledger: Ledger) -> None:
    redeem_on_dingtalk(ledger, "张三", "zhang3")
    new = Address(DINGTALK, "zhang3-new")
    invite = ledger.create_invite("张三", "", admin_id=ADMIN.user_id)
    with pytest.raises(RebindPending) as pending:
        ledger.redeem_invite(invite.code, account_number(new), new)
    person = ledger.person_named("张三")
    assert person is not None
    ledger.repo.commit(Change(people=[person.with_account(Address(DINGTALK, "third"))]))
    with pytest.raises(Superseded):
        ledger.confirm_rebind(pending.value.params["request"].id, who=ADMIN.who,
                              admin_id=ADMIN.user_id)


def test_a_telegram_account_and_a_dingtalk_one_are_not_a_rebind(ledger: Ledger) -> None:
    redeem_on_dingtalk(ledger, ZHANG.who, "zhang3")
    invite = ledger.create_invite(ZHANG.who, "", admin_id=ADMIN.user_id)
    bound = ledger.redeem_invite(invite.code, ZHANG.user_id)  # Telegram after 钉钉
    assert bound.user_id == ZHANG.user_id and bound.accounts == (DING_ZHANG,)
    assert bound.last_channel == TELEGRAM


def test_finding_people_by_foreign_numbers_is_cheap(ledger: Ledger) -> None:
    crowd = [Person(f"官员{i}", user_id=10_000 + i, accounts=(Address(DINGTALK, f"u{i}"),))
             for i in range(500)]
    ledger.repo.commit(Change(people=crowd))
    numbers = [account_number(Address(DINGTALK, f"u{i}")) for i in range(500)]
    assert ledger.person_for_user(numbers[0]) == crowd[0]  # builds the index
    start = time.perf_counter()
    for number in numbers:
        ledger.person_for_user(number)
    per_hit = (time.perf_counter() - start) / len(numbers)
    stranger = account_number(Address(DINGTALK, "stranger"))
    start = time.perf_counter()
    for _ in range(20):
        assert ledger.person_for_user(stranger) is None  # a miss rescans (numbers cached)
    per_miss = (time.perf_counter() - start) / 20
    assert per_hit < 0.0005 and per_miss < 0.01, (per_hit, per_miss)


# ---- the services: 钉钉 admins and groups ----------------------------------------------------


def dingtalk_services(services: Services) -> Services:
    services.config = Config(
        access=AccessConfig(admins=frozenset({people.ADMIN}),
                            dingtalk_admins=frozenset({"manager4220"})),
        dingtalk=DingTalkConfig(client_id="a", client_secret="b", robot_code="a",
                                admin_group="cidAdmin", work_group="cidWork"))
    return services


def test_dingtalk_admins_are_admins(services: Services) -> None:
    services = dingtalk_services(services)
    manager = account_number(Address(DINGTALK, "manager4220"))
    assert services.is_admin(manager) and services.is_admin(people.ADMIN)
    assert not services.is_admin(account_number(Address(DINGTALK, "zhang3")))
    assert not services.is_admin(group_number(Address(DINGTALK, "cidAdmin")))
    assert services.is_known(manager)
    assert services.admin_accounts() == [Address(TELEGRAM, str(people.ADMIN)),
                                         Address(DINGTALK, "manager4220")]


def test_groups_and_numbers_back_to_addresses(services: Services, ledger: Ledger) -> None:
    services = dingtalk_services(services)
    admin_group = group_number(Address(DINGTALK, "cidAdmin"))
    assert services.admin_group_numbers() == {DINGTALK: admin_group}
    assert services.work_group_numbers() == {DINGTALK: group_number(Address(DINGTALK, "cidWork"))}
    assert services.address_of(admin_group) == Address(DINGTALK, "cidAdmin")
    assert services.address_of(people.ZHANG) == Address(TELEGRAM, str(people.ZHANG))
    assert services.address_of(account_number(Address(DINGTALK, "manager4220"))) == \
        Address(DINGTALK, "manager4220")
    redeem_on_dingtalk(services.ledger, "张三", "zhang3")
    assert services.address_of(DING_ZHANG_NO) == DING_ZHANG
    assert services.address_of(account_number(Address(DINGTALK, "who"))) is None
    person = services.ledger.person_named("张三")
    assert person is not None and services.reminder_address(person) == DING_ZHANG


# ---- the application: a caller on 钉钉, and the code typed as text ---------------------------


DING_CALLER = Caller.on(DINGTALK, "zhang3", "张三")


def test_a_dingtalk_caller() -> None:
    assert DING_CALLER.user_id == DING_ZHANG_NO
    assert DING_CALLER.address == DING_ZHANG
    assert DING_CALLER.label == "张三（zhang3）"
    assert Caller(2001).address == Address(TELEGRAM, "2001")


@pytest.mark.parametrize(("text", "code"), [
    ("绑定 ABC123", "ABC123"), ("绑定ABC123", "ABC123"), ("绑定：ABC123", "ABC123"),
    ("  /start ABC123 ", "ABC123"), ("/start@luoshi_bot Ab-c_12", "Ab-c_12"),
    ("绑定 ＡＢＣ１２３", "ABC123"), ("绑定", None), ("进度60%", None), ("绑定 ABC 123", None),
    ("请帮我绑定 ABC123", None),
])
def test_the_invite_code_in_a_message(text: str, code: str | None) -> None:
    assert commands.invite_code_in(text) == code


async def test_binding_on_dingtalk_by_typing_the_code(services: Services,
                                                      conversation: RecordingConversation,
                                                      ledger: Ledger) -> None:
    invite = services.ledger.create_invite("张三", "县自然资源局", admin_id=people.ADMIN)
    said = Said(chat_id=DING_ZHANG_NO, message_id=1, text=f"绑定 {invite.code}")
    await reports.on_plain(services, conversation, DING_CALLER, said)
    person = services.person(DING_CALLER.user_id)
    assert person is not None and person.accounts == (DING_ZHANG,)
    assert "张三" in conversation.texts[-1]


async def test_the_welcome_says_where_reminders_will_go(
        services: Services, conversation: RecordingConversation, sender: FakeSender) -> None:
    """Bound on 钉钉 while the config prefers Telegram (both running): the welcome must not
    promise reminders "here"."""
    from dataclasses import replace

    from bot.channels import ChannelRouter
    from bot.config import ChannelsConfig

    dingtalk = FakeSender()
    dingtalk.channel = "dingtalk"
    services.connect(ChannelRouter({"telegram": sender, "dingtalk": dingtalk}))
    services.config = replace(services.config, channels=ChannelsConfig(prefer="telegram"))
    first = services.ledger.create_invite("张三", "县自然资源局", admin_id=people.ADMIN)
    services.ledger.redeem_invite(first.code, people.ZHANG)  # on Telegram already
    second = services.ledger.create_invite("张三", "县自然资源局", admin_id=people.ADMIN)
    said = Said(chat_id=DING_ZHANG_NO, message_id=2, text=f"绑定 {second.code}")
    await reports.on_plain(services, conversation, DING_CALLER, said)
    welcome = conversation.texts[-1]
    assert "调度提醒发到您的Telegram" in welcome and "将发到这里" not in welcome


async def test_a_telegram_user_may_type_the_code_too(services: Services,
                                                     conversation: RecordingConversation) -> None:
    invite = services.ledger.create_invite("李四", "", admin_id=people.ADMIN)
    said = Said(chat_id=people.LI, message_id=1, text=f"/start {invite.code}")
    await reports.on_plain(services, conversation, Caller(people.LI, "李四"), said)
    person = services.person(people.LI)
    assert person is not None and person.user_id == people.LI and person.accounts == ()


async def test_the_code_in_a_group_is_not_redeemed(services: Services,
                                                   conversation: RecordingConversation) -> None:
    invite = services.ledger.create_invite("李四", "", admin_id=people.ADMIN)
    said = Said(chat_id=-5, message_id=1, text=f"绑定 {invite.code}", private=False)
    assert not await commands.bind_by_text(services, Caller(people.LI), said, conversation)
    assert services.person(people.LI) is None


async def test_a_dingtalk_rebind_names_the_accounts_to_the_admins(
        services: Services, conversation: RecordingConversation) -> None:
    redeem_on_dingtalk(services.ledger, "张三", "zhang3")
    invite = services.ledger.create_invite("张三", "", admin_id=people.ADMIN)
    new_phone = Caller.on(DINGTALK, "zhang3-new", "张三")
    await commands.start(services, new_phone, [invite.code], conversation)
    [request] = services.ledger.pending_rebinds()
    assert request.new_address == Address(DINGTALK, "zhang3-new")
    asked = "\n".join(text for _chat, text, _buttons in _sent(services))
    assert "zhang3" in asked and "zhang3-new" in asked


def _sent(services: Services) -> list[tuple[int, str, object]]:
    sender = services.sender
    return [(m.chat_id, m.text, None) for m in sender.sent]  # type: ignore[union-attr]


# ---- the 钉钉UserID column -------------------------------------------------------------------


HEADER = "任务,牵头单位,责任人,完成时限,钉钉UserID"


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return "\n".join((header, *rows)).encode("utf-8")


def test_the_column_binds_each_owner_on_dingtalk(ledger: Ledger) -> None:
    invite = ledger.create_invite("李四", "", admin_id=ADMIN.user_id)
    ledger.redeem_invite(invite.code, 2002)
    result = import_ledger_file(ledger, "台账.csv", csv_file(
        "世忻铁路复线保德段征地,县自然资源局,张三、李四,2026-12-31,zhang3、li4",
        "吉港冠宇水泥技改,县工信局,王五,2026-12-31,"), who="督查室", year=2026, dry_run=False)
    assert not result.errors
    assert result.summary is not None and result.summary.accounts == ["张三", "李四"]
    zhang, li = ledger.person_named("张三"), ledger.person_named("李四")
    assert zhang is not None and zhang.accounts == (DING_ZHANG,)
    assert li is not None and li.user_id == 2002 and li.accounts == (Address(DINGTALK, "li4"),)
    wang = ledger.person_named("王五")
    assert wang is not None and wang.accounts == ()
    again = import_ledger_file(ledger, "台账.csv", csv_file(
        "世忻铁路复线保德段征地,县自然资源局,张三、李四,2026-12-31,zhang3、li4"),
        who="督查室", year=2026, dry_run=False)
    assert again.summary is not None and again.summary.accounts == []


@pytest.mark.parametrize("header", ["钉钉ID", "钉钉 userid", "userid", "UserID", "钉钉账号"])
def test_every_name_of_the_column(ledger: Ledger, header: str) -> None:
    import_ledger_file(ledger, "台账.csv", csv_file(
        "世忻铁路复线保德段征地,县自然资源局,张三,2026-12-31,zhang3",
        header=f"任务,牵头单位,责任人,完成时限,{header}"), who="督查室", year=2026,
        dry_run=False)
    person = ledger.person_named("张三")
    assert person is not None and person.accounts == (DING_ZHANG,)


def test_a_count_that_does_not_match_the_owners_is_an_error_row(ledger: Ledger) -> None:
    result = import_ledger_file(ledger, "台账.csv", csv_file(
        "世忻铁路复线保德段征地,县自然资源局,张三、李四,2026-12-31,zhang3"),
        who="督查室", year=2026, dry_run=False)
    assert [(e.column, e.problem) for e in result.errors] == [("钉钉UserID", "dingtalk_ids")]
    assert ledger.person_named("张三") is None


def test_a_userid_bound_to_another_person_is_left_alone(ledger: Ledger) -> None:
    redeem_on_dingtalk(ledger, "赵六", "zhang3")
    result = import_ledger_file(ledger, "台账.csv", csv_file(
        "世忻铁路复线保德段征地,县自然资源局,张三,2026-12-31,zhang3"),
        who="督查室", year=2026, dry_run=False)
    assert result.summary is not None
    assert result.summary.account_conflicts == ["zhang3（赵六）"]
    person = ledger.person_named("张三")
    assert person is not None and person.accounts == ()


def test_invites_expire_the_same_on_every_channel(ledger: Ledger) -> None:
    from bot.domain.errors import InviteExpired
    from bot.domain.ledger import INVITE_VALID_FOR

    invite = ledger.create_invite("张三", "", admin_id=ADMIN.user_id)
    ledger.clock.advance(INVITE_VALID_FOR + timedelta(minutes=1))  # type: ignore[attr-defined]
    with pytest.raises(InviteExpired):
        ledger.redeem_invite(invite.code, DING_ZHANG_NO, DING_ZHANG)
