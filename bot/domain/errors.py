"""Domain errors. Each carries a code and parameters; the message layer renders them."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the ledger was not met; nothing was changed."""

    code = "domain_error"

    def __init__(self, **params: Any) -> None:
        super().__init__(f"{self.code}: {params}")
        self.params = params


class TaskNotFound(DomainError):
    code = "task_not_found"


class InvalidTransition(DomainError):
    code = "invalid_transition"


class InvalidField(DomainError):
    """A field's value is not acceptable (field=…, value=…, expected=…)."""

    code = "invalid_field"


class InviteUnknown(DomainError):
    code = "invite_unknown"


class InviteUsed(DomainError):
    code = "invite_used"


class InviteExpired(DomainError):
    code = "invite_expired"


class AlreadyBound(DomainError):
    """This Telegram account is already bound to another person."""

    code = "already_bound"


class NotAllowed(DomainError):
    code = "not_allowed"
