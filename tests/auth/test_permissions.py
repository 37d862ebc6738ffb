"""The permission table: every role against every action, and the denial message."""

from __future__ import annotations

import pytest

from wellqueue_tui.auth.identity import LOCAL_DEV, Identity, Role
from wellqueue_tui.auth.permissions import Action, PermissionDenied, allowed, check, required_role, roles_allowed

M, O, A = Role.MANAGER, Role.OPERATOR, Role.ADMIN  # noqa: E741  (one letter per role keeps the table below readable)

#: Written out by hand from the issue, independently of MINIMUM_ROLE: who may do what.
EXPECTED: dict[Action, set[Role]] = {
    Action.VIEW: {M, O, A},
    Action.VIEW_AUDIT: {M, O, A},
    Action.RETRY: {O, A},
    Action.RETRY_ALL: {O, A},
    Action.PROMOTE: {O, A},
    Action.PAUSE: {O, A},
    Action.RESUME: {O, A},
    Action.RUN_SCHEDULE: {O, A},
    Action.ENQUEUE: {O, A},
    Action.REMOVE: {A},
    Action.CLEAN: {A},
    Action.DRAIN: {A},
    Action.SCHEDULE_ADD: {A},
    Action.SCHEDULE_UPDATE: {A},
    Action.SCHEDULE_REMOVE: {A},
    Action.SCHEDULE_PAUSE: {A},
    Action.SCHEDULE_RESUME: {A},
    Action.SCALE_WORKERS: {A},
    Action.RESTART_WORKER: {A},
    Action.ISSUE_TOKEN: {A},
    Action.DEMO: {A},
    Action.REDIS_STOP: {A},
    Action.ALERT_ADD: {A},
    Action.ALERT_UPDATE: {A},
    Action.ALERT_REMOVE: {A},
    Action.ALERT_MUTE: {O, A},
    Action.ALERT_UNMUTE: {O, A},
    Action.BREAKER_CONFIGURE: {A},
    Action.LIMIT: {O, A},
    Action.CANCEL: {O, A},
}


def test_expected_table_covers_every_action() -> None:
    assert set(EXPECTED) == set(Action)
    assert [action.value for action in Action] == [
        "view", "retry", "retry_all", "promote", "pause", "resume", "run_schedule", "remove", "clean", "drain",
        "schedule_add", "schedule_update", "schedule_remove", "schedule_pause", "schedule_resume",
        "scale_workers", "restart_worker", "view_audit", "issue_token", "enqueue", "demo", "redis_stop",
        "alert_add", "alert_update", "alert_remove", "alert_mute", "alert_unmute", "breaker_configure", "limit",
        "cancel",
    ]  # fmt: skip


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", list(Role))
def test_matrix(role: Role, action: Action) -> None:
    expected = role in EXPECTED[action]
    assert allowed(role, action) is expected
    identity = Identity(sub="someone", role=role)
    if expected:
        check(identity, action)
    else:
        with pytest.raises(PermissionDenied):
            check(identity, action)


@pytest.mark.parametrize("action", list(Action))
def test_required_role_is_the_weakest_allowed(action: Action) -> None:
    weakest = next(role for role in (M, O, A) if role in EXPECTED[action])
    assert required_role(action) is weakest
    assert set(roles_allowed(action)) == EXPECTED[action]


def test_denial_names_the_needed_roles_and_the_caller_role() -> None:
    with pytest.raises(PermissionDenied) as info:
        check(Identity(sub="mona", role=M), Action.RETRY)
    assert str(info.value) == "retry needs OPERATOR or ADMIN; you are MANAGER"
    assert info.value.action is Action.RETRY and info.value.identity.sub == "mona"
    with pytest.raises(PermissionDenied, match=r"^drain needs ADMIN; you are OPERATOR$"):
        check(Identity(sub="olga", role=O), Action.DRAIN)


def test_actions_given_as_plain_strings_are_checked_too() -> None:
    assert allowed(Role.OPERATOR, "retry") and not allowed(Role.OPERATOR, "drain")
    with pytest.raises(ValueError):
        allowed(Role.ADMIN, "format_disk")


def test_local_dev_may_do_everything() -> None:
    for action in Action:
        check(LOCAL_DEV, action)
