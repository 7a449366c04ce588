"""The one retry helper: attempts, deadline, waits and which exceptions end the loop."""

import pytest

from kldrift.retry import Backoff, retry


class _Flaky:
    """Fails `failures` times with `error`, then returns "done"."""

    def __init__(self, failures, error=ConnectionError):
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"failure {self.calls}")
        return "done"


def _always(exc):
    return True


def test_waits_double_from_first_until_the_action_succeeds():
    waits, action = [], _Flaky(3)
    assert retry(action, _always, Backoff(first=0.25, tries=5), sleep=waits.append) == "done"
    assert waits == [0.25, 0.5, 1.0] and action.calls == 4


def test_the_last_exception_is_raised_when_the_tries_run_out():
    waits, action = [], _Flaky(10)
    with pytest.raises(ConnectionError, match="failure 3"):
        retry(action, _always, Backoff(first=1.0, tries=3), sleep=waits.append)
    assert waits == [1.0, 2.0] and action.calls == 3


def test_an_exception_that_is_not_retryable_ends_at_once():
    action = _Flaky(5, error=KeyError)
    with pytest.raises(KeyError):
        retry(action, lambda e: isinstance(e, ConnectionError), Backoff(first=1.0), sleep=None)
    assert action.calls == 1


def test_within_ends_the_attempts_when_the_time_is_up():
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    action = _Flaky(100)
    backoff = Backoff(first=1.0, cap=4.0, within=10.0)
    with pytest.raises(ConnectionError):
        retry(action, _always, backoff, sleep=sleep, clock=lambda: now[0])
    # Waits 1, 2, 4, 4 bring the clock to 11 > 10 after the fifth attempt fails.
    assert action.calls == 5 and now[0] == 11.0


def test_the_cap_and_jitter_bound_every_wait_even_after_many_retries():
    plain, jittered = Backoff(first=0.05, cap=1.0), Backoff(first=0.05, cap=1.0, jitter=True)
    assert [plain.wait(n) for n in (1, 2, 5, 6, 10_000)] == [0.05, 0.1, 0.8, 1.0, 1.0]
    for n in (1, 3, 10_000):
        assert plain.wait(n) <= jittered.wait(n) < 2 * plain.wait(n)
    assert Backoff(first=0.0).wait(3) == 0.0
