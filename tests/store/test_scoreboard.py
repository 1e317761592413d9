"""Peer scores: liars banned for the ban period, failing peers last and brief, fast first."""

from __future__ import annotations

from node.peer_url import parse_peer
from node.store.scoreboard import DEMOTED_TIMEOUT, Scoreboard

FAST, SLOW, FLAKY, LIAR, NEW = (parse_peer(f"http://peer-{n}.example:80") for n in range(5))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_peers_are_ranked_by_what_they_did() -> None:
    clock = Clock()
    board = Scoreboard(ban_seconds=60.0, clock=clock)
    board.success(FAST, 0.01)
    board.success(SLOW, 0.01)
    board.outrun(SLOW, 0.9)  # silent for 0.9 s while another peer answered
    board.failed(FLAKY, timed_out=True)
    board.lied(LIAR)
    ranked, banned = board.rank([LIAR, FLAKY, NEW, SLOW, FAST])
    assert ranked == [FAST, NEW, SLOW, FLAKY]
    assert banned == [LIAR]
    assert board.proven(FAST, 0.2) and not board.proven(NEW, 0.2)
    assert board.timeout(FLAKY, 10.0) == DEMOTED_TIMEOUT
    assert board.timeout(NEW, 10.0) == 10.0
    board.missing(FLAKY, 0.01)  # any honest answer clears the strikes
    assert board.timeout(FLAKY, 10.0) == 10.0
    clock.now += 60.0
    assert board.rank([LIAR])[1] == []  # the ban is over
    assert board.get(LIAR).mismatches == 1


def test_not_found_answers_count_a_little_against_a_peer() -> None:
    board = Scoreboard()
    for _ in range(3):
        board.missing(SLOW, 0.01)
        board.success(FAST, 0.05)
    assert board.rank([SLOW, FAST])[0] == [FAST, SLOW]
