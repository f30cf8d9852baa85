"""A 钉钉 button's reference to the message it is about (bot/dingtalk/render.py): shown in
its own 〔↩…〕 before the action, read back apart from it; garbled ones are told apart."""

from __future__ import annotations

import pytest

from bot.dingtalk.render import (
    action_of_text,
    action_text,
    reference_of_text,
    with_reference,
)


def test_a_reference_rides_beside_the_action() -> None:
    [[(label, data), other]] = with_reference([[("确认交账", "SURE T0001 yes"),
                                                ("撤回", "UNDO R1")]], "msgAb+/9==",
                                               lambda d: d.startswith("SURE"))
    text = action_text(label, data)
    assert text == "确认交账〔↩msgAb+/9==〕〔SURE T0001 yes〕"
    assert action_of_text(text) == "SURE T0001 yes"
    assert reference_of_text(text) == "msgAb+/9=="
    assert other == ("撤回", "UNDO R1") and reference_of_text(action_text(*other)) is None


def test_garbled_references() -> None:
    assert reference_of_text("确认〔↩no way!〕〔DATE add ok T0001〕") == ""
    assert reference_of_text("确认〔↩〕〔DATE add ok T0001〕") == ""
    assert reference_of_text("just text") is None
    with pytest.raises(ValueError):
        with_reference([[("x", "PICK T1")]], "bad ref")
