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


class TaskNotLive(DomainError):
    """The task is closed or cancelled: no reports on it."""

    code = "task_not_live"


class AlreadySubmitted(DomainError):
    """交账 twice: the task is already waiting for 核账."""

    code = "already_submitted"


class UndoRefused(DomainError):
    """撤回 is not possible (reason=expired|done|superseded|not_yours|unknown)."""

    code = "undo_refused"


class NothingPending(DomainError):
    """No open 困难 / pending extension request to act on (what=difficulty|extension)."""

    code = "nothing_pending"


class Superseded(DomainError):
    """A button for a request that is no longer the current one (what=submission|extension):
    a newer 交账 or 延期申请 replaced it, or it was already decided."""

    code = "superseded"


class AlreadyRecorded(DomainError):
    """This message was already recorded as a report (a second button press)."""

    code = "already_recorded"


class RebindPending(DomainError):
    """Not a failure: the invited person is already bound to another Telegram account, so the
    redemption was recorded as a 换绑 request (durable) for an admin to confirm; nothing was
    rebound yet. Params: request (the RebindRequest), name, request_id, new (bool: False when
    the same account had already asked)."""

    code = "rebind_pending"
