"""The one permission table: which role may do which operator action, for the TUI and the CLI alike."""

from __future__ import annotations

from enum import StrEnum

from wellqueue_tui.auth.identity import Identity, Role


class Action(StrEnum):
    VIEW = "view"
    RETRY = "retry"
    RETRY_ALL = "retry_all"
    PROMOTE = "promote"
    PAUSE = "pause"
    RESUME = "resume"
    RUN_SCHEDULE = "run_schedule"
    REMOVE = "remove"
    CLEAN = "clean"
    DRAIN = "drain"
    SCHEDULE_ADD = "schedule_add"
    SCHEDULE_UPDATE = "schedule_update"
    SCHEDULE_REMOVE = "schedule_remove"
    SCHEDULE_PAUSE = "schedule_pause"
    SCHEDULE_RESUME = "schedule_resume"
    SCALE_WORKERS = "scale_workers"
    RESTART_WORKER = "restart_worker"
    VIEW_AUDIT = "view_audit"
    ISSUE_TOKEN = "issue_token"
    ENQUEUE = "enqueue"
    DEMO = "demo"
    REDIS_STOP = "redis_stop"
    ALERT_ADD = "alert_add"
    ALERT_UPDATE = "alert_update"
    ALERT_REMOVE = "alert_remove"
    ALERT_MUTE = "alert_mute"
    ALERT_UNMUTE = "alert_unmute"
    BREAKER_CONFIGURE = "breaker_configure"
    LIMIT = "limit"
    CANCEL = "cancel"


#: Weakest first: each role may do everything the roles before it may.
ROLE_ORDER = (Role.MANAGER, Role.OPERATOR, Role.ADMIN)

#: The weakest role allowed to perform each action. MANAGER is read-only; OPERATOR handles day-to-day
#: recovery (retry, promote, pause/resume or rate-limit a queue, run a schedule now, enqueue a job); everything
#: destructive or structural (remove, clean, drain, schedule edits, workers, tokens, the demo's jobs,
#: stopping the embedded Redis) is ADMIN only.
MINIMUM_ROLE: dict[Action, Role] = {
    Action.VIEW: Role.MANAGER,
    Action.VIEW_AUDIT: Role.MANAGER,
    Action.RETRY: Role.OPERATOR,
    Action.RETRY_ALL: Role.OPERATOR,
    Action.PROMOTE: Role.OPERATOR,
    Action.PAUSE: Role.OPERATOR,
    Action.RESUME: Role.OPERATOR,
    Action.RUN_SCHEDULE: Role.OPERATOR,
    Action.ENQUEUE: Role.OPERATOR,
    Action.REMOVE: Role.ADMIN,
    Action.CLEAN: Role.ADMIN,
    Action.DRAIN: Role.ADMIN,
    Action.SCHEDULE_ADD: Role.ADMIN,
    Action.SCHEDULE_UPDATE: Role.ADMIN,
    Action.SCHEDULE_REMOVE: Role.ADMIN,
    Action.SCHEDULE_PAUSE: Role.ADMIN,
    Action.SCHEDULE_RESUME: Role.ADMIN,
    Action.SCALE_WORKERS: Role.ADMIN,
    Action.RESTART_WORKER: Role.ADMIN,
    Action.ISSUE_TOKEN: Role.ADMIN,
    Action.DEMO: Role.ADMIN,
    Action.REDIS_STOP: Role.ADMIN,
    Action.ALERT_ADD: Role.ADMIN,
    Action.ALERT_UPDATE: Role.ADMIN,
    Action.ALERT_REMOVE: Role.ADMIN,
    Action.ALERT_MUTE: Role.OPERATOR,  # silencing a known incident is day-to-day work
    Action.ALERT_UNMUTE: Role.OPERATOR,
    Action.BREAKER_CONFIGURE: Role.ADMIN,
    Action.LIMIT: Role.OPERATOR,  # throttling a queue (or lifting it) during an incident is day-to-day work
    Action.CANCEL: Role.OPERATOR,  # stopping a runaway job is recovery too
}


class PermissionDenied(Exception):
    """The identity may not perform the action; the message names the role that would be needed (or the reason)."""

    def __init__(self, identity: Identity, action: Action, reason: str | None = None) -> None:
        self.identity = identity
        self.action = action
        super().__init__(reason or f"{action} needs {' or '.join(roles_allowed(action))}; you are {identity.role}")


def required_role(action: Action) -> Role:
    """The weakest role that may perform `action`."""
    return MINIMUM_ROLE[Action(action)]


def roles_allowed(action: Action) -> tuple[Role, ...]:
    """Every role that may perform `action`, weakest first."""
    return ROLE_ORDER[ROLE_ORDER.index(required_role(action)) :]


def allowed(role: Role, action: Action) -> bool:
    """Whether `role` may perform `action`."""
    return ROLE_ORDER.index(Role(role)) >= ROLE_ORDER.index(required_role(action))


def check(identity: Identity, action: Action) -> None:
    """Raise PermissionDenied unless the identity's role may perform `action`."""
    if not allowed(identity.role, action):
        raise PermissionDenied(identity, action)
