"""The helper announces a job's change once per ask, and announces the jobs it stops watching."""

from __future__ import annotations

from provider.privsep.watched_jobs import WatchedJobs


def test_a_change_is_announced_once_after_each_ask() -> None:
    watched = WatchedJobs()
    assert not watched.changed("a" * 32)  # never asked about: nothing to announce
    assert watched.asked("a" * 32) == []
    assert watched.changed("a" * 32)
    assert not watched.changed("a" * 32)  # not asked since: the API keeps nothing of it
    watched.asked("a" * 32)
    watched.asked("a" * 32)
    assert watched.changed("a" * 32)
    assert not watched.changed("a" * 32)


def test_the_least_recently_asked_is_dropped_and_given_to_announce() -> None:
    watched = WatchedJobs(max_jobs=2)
    assert watched.asked("a" * 32) == []
    assert watched.asked("b" * 32) == []
    assert watched.asked("a" * 32) == []  # "b" is now the least recently asked
    assert watched.asked("c" * 32) == ["b" * 32]
    assert len(watched) == 2
    assert not watched.changed("b" * 32)
    assert watched.changed("a" * 32) and watched.changed("c" * 32)
