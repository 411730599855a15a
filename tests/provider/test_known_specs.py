"""KnownSpecs: the specs the API keeps of the jobs it polls, bounded in count and bytes."""

from __future__ import annotations

from provider.privsep.known_specs import KnownSpecs
from tests.workflows.support import make_spec
from workflows.spec import JobSpec


def _spec(n: int) -> JobSpec:
    return make_spec().model_copy(update={"job_id": f"{n:032x}"})


def test_a_kept_spec_is_found_by_its_job() -> None:
    known = KnownSpecs()
    spec = _spec(1)
    known.keep(spec, 100)
    assert known.get(spec.job_id) is spec
    assert known.get(_spec(2).job_id) is None


def test_past_the_count_the_longest_unused_goes_first() -> None:
    known = KnownSpecs(max_jobs=2)
    one, two, three = _spec(1), _spec(2), _spec(3)
    known.keep(one, 10)
    known.keep(two, 10)
    assert known.get(one.job_id) is one  # now used after two
    known.keep(three, 10)
    assert known.get(two.job_id) is None
    assert known.get(one.job_id) is one and known.get(three.job_id) is three
    assert len(known) == 2


def test_past_the_bytes_the_oldest_go_and_one_too_big_is_never_kept() -> None:
    known = KnownSpecs(max_jobs=100, max_bytes=1000)
    specs = [_spec(n) for n in range(4)]
    for spec in specs:
        known.keep(spec, 300)
    assert [known.get(s.job_id) is not None for s in specs] == [False, True, True, True]
    huge = _spec(9)
    known.keep(huge, 1001)
    assert known.get(huge.job_id) is None
    assert len(known) == 3


def test_keeping_a_spec_again_counts_its_bytes_once() -> None:
    known = KnownSpecs(max_jobs=100, max_bytes=1000)
    spec, other = _spec(1), _spec(2)
    for _ in range(10):
        known.keep(spec, 400)
    known.keep(other, 400)
    assert known.get(spec.job_id) is spec and known.get(other.job_id) is other
