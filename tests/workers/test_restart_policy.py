"""The restart policy on its own, with a made-up clock: backoff, its reset, crash loops, and exit code 2."""

from __future__ import annotations

from wellqueue_tui.workers.restart_policy import RestartHistory, RestartPolicy
from wellqueue_tui.workers.worker_records import WorkerState

POLICY = RestartPolicy(
    initial_backoff_s=1, max_backoff_s=8, healthy_after_s=60, crash_loop_restarts=5, crash_loop_window_s=120
)


def test_the_backoff_doubles_up_to_the_maximum():
    history = RestartHistory(POLICY)
    delays = [history.after_exit(1, ran_for_s=1, now=t * 30).delay_s for t in range(6)]
    assert delays == [1, 2, 4, 8, 8, 8]  # one exit every 30 s: at most 4 in any 120 s window


def test_a_process_that_ran_healthily_restarts_after_the_initial_backoff_again():
    history = RestartHistory(POLICY)
    for now in (0, 10, 20):
        history.after_exit(1, ran_for_s=1, now=now)
    assert history.backoff_s == 8
    verdict = history.after_exit(1, ran_for_s=60, now=200)
    assert verdict.restarts and verdict.delay_s == 1


def test_more_exits_than_allowed_within_the_window_is_a_crash_loop():
    history = RestartHistory(POLICY)
    verdicts = [history.after_exit(1, ran_for_s=0.1, now=n) for n in range(6)]
    assert all(v.state is WorkerState.RESTARTING for v in verdicts[:5])
    assert verdicts[5].state is WorkerState.CRASH_LOOP and verdicts[5].exits_in_window == 6
    assert not verdicts[5].restarts


def test_exits_older_than_the_window_are_forgotten():
    history = RestartHistory(POLICY)
    for now in range(5):
        history.after_exit(1, ran_for_s=0.1, now=now)
    verdict = history.after_exit(1, ran_for_s=0.1, now=125)  # the first five are more than 120 s old
    assert verdict.state is WorkerState.RESTARTING and verdict.exits_in_window == 1


def test_exit_code_2_fails_the_slot_and_leaves_the_backoff_alone():
    history = RestartHistory(POLICY)
    history.after_exit(1, ran_for_s=1, now=0)
    verdict = history.after_exit(2, ran_for_s=1, now=1)
    assert verdict.state is WorkerState.FAILED and not verdict.restarts
    assert history.backoff_s == 2 and history.after_exit(1, ran_for_s=1, now=2).exits_in_window == 2


def test_an_operators_restart_forgets_the_history():
    history = RestartHistory(POLICY)
    for now in range(6):
        history.after_exit(1, ran_for_s=0.1, now=now)
    history.forget()
    verdict = history.after_exit(1, ran_for_s=0.1, now=7)
    assert verdict.state is WorkerState.RESTARTING and verdict.delay_s == 1 and verdict.exits_in_window == 1
