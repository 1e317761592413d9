"""How well each peer gateway has served us, and so whom to ask first and for how long.

Peers are strangers (anyone can announce one on chain), so the fetcher cannot afford to
treat them alike: a few dozen tarpits tried in turn, each with a 10 s timeout, once kept
annotators from joining a task for minutes. Each peer keeps a score from what it did:

* a **lie** (bytes that do not hash to the CID asked for, or an oversized block) bans it for
  ``ban_seconds``: honest peers never serve wrong bytes, so one lie is proof enough;
* **timeouts and errors** are strikes: a peer with strikes is asked last and given a short
  timeout (:data:`DEMOTED_TIMEOUT`); any valid answer clears them. Such a peer is never shut
  out completely: it may be the only one with the block (a requester's gateway that was
  restarting), and the hedged fetch only reaches it when better peers have not answered;
* **latency** (a moving average of answers, and of how long losers of a race had been
  waiting without answering) orders the rest, and **not-found** answers count a little
  against a peer (it answers fast, but rarely has what we need).

All of it is in memory, per fetcher: a restarted node learns again, in one fetch or two.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from node.peer_url import Peer

BAN_SECONDS = 600.0
"""How long a peer that served wrong bytes is not asked (it is also logged)."""
DEMOTED_TIMEOUT = 2.0
"""Seconds a peer with strikes (recent timeouts or errors) gets to deliver one block."""
UNKNOWN_LATENCY = 0.25
"""Latency assumed for a peer never heard from: after peers known to be fast."""
MISS_PENALTY = 0.5
"""Seconds added to a peer's cost for a not-found rate of 100%."""
SMOOTHING = 0.3
"""Weight of the newest observation in the moving averages."""
MAX_TRACKED = 4096
"""Scores kept at most: beyond that, peers not in the current list are forgotten."""


@dataclass
class PeerScore:
    """What one peer did (counts since this fetcher started) and what follows from it."""

    successes: int = 0
    not_found: int = 0
    timeouts: int = 0
    errors: int = 0
    mismatches: int = 0
    latency: float | None = None
    """Moving average of seconds to a verified answer (None: never answered)."""
    miss_rate: float = 0.0
    """Moving average of not-found answers among answers (0..1)."""
    strikes: int = 0
    """Timeouts and errors since the last valid answer."""
    banned_until: float = float("-inf")
    """``time.monotonic()`` until which the peer is not asked (it served wrong bytes)."""

    def banned(self, now: float) -> bool:
        return now < self.banned_until

    def cost(self) -> tuple[int, float]:
        """Sort key, lower first: strikes, then expected seconds to a useful answer."""
        latency = UNKNOWN_LATENCY if self.latency is None else self.latency
        return self.strikes, latency + MISS_PENALTY * self.miss_rate


def _average(old: float | None, new: float) -> float:
    return new if old is None else (1 - SMOOTHING) * old + SMOOTHING * new


class Scoreboard:
    """Scores of every peer asked, keyed by origin; thread-safe."""

    def __init__(
        self,
        *,
        ban_seconds: float = BAN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ban_seconds = ban_seconds
        self._clock = clock
        self._scores: dict[str, PeerScore] = {}
        self._lock = threading.Lock()

    def _score(self, peer: Peer) -> PeerScore:
        return self._scores.setdefault(peer.origin, PeerScore())

    def get(self, peer: Peer | str) -> PeerScore:
        """A copy of the score of ``peer`` (an origin string or a :class:`Peer`)."""
        origin = peer if isinstance(peer, str) else peer.origin
        with self._lock:
            return replace(self._scores.get(origin, PeerScore()))

    def rank(self, peers: Sequence[Peer]) -> tuple[list[Peer], list[Peer]]:
        """(peers to ask, best first; banned peers). Equal scores keep the given order."""
        now = self._clock()
        with self._lock:
            if len(self._scores) > MAX_TRACKED:
                current = {peer.origin for peer in peers}
                self._scores = {o: s for o, s in self._scores.items() if o in current}
            scored = [(self._scores.get(peer.origin, PeerScore()), peer) for peer in peers]
        banned = [peer for score, peer in scored if score.banned(now)]
        usable = [(score, peer) for score, peer in scored if not score.banned(now)]
        usable.sort(key=lambda pair: pair[0].cost())
        return [peer for _, peer in usable], banned

    def proven(self, peer: Peer, hedge_delay: float) -> bool:
        """Whether ``peer`` has answered before, faster than ``hedge_delay``, with no strike
        since: then one request is started for a block, else two at once."""
        with self._lock:
            score = self._scores.get(peer.origin)
            return (
                score is not None
                and score.strikes == 0
                and score.latency is not None
                and score.latency < hedge_delay
            )

    def timeout(self, peer: Peer, default: float) -> float:
        """Seconds ``peer`` gets for one block: ``default``, or less once it has strikes."""
        with self._lock:
            score = self._scores.get(peer.origin)
            strikes = 0 if score is None else score.strikes
        return min(default, DEMOTED_TIMEOUT) if strikes else default

    def banned_until(self, peer: Peer) -> float:
        with self._lock:
            return self._score(peer).banned_until

    def success(self, peer: Peer, seconds: float) -> None:
        with self._lock:
            score = self._score(peer)
            score.successes += 1
            score.strikes = 0
            score.latency = _average(score.latency, seconds)
            score.miss_rate = _average(score.miss_rate, 0.0)

    def missing(self, peer: Peer, seconds: float) -> None:
        """``peer`` answered that it has no such block: honest, but not useful this time."""
        with self._lock:
            score = self._score(peer)
            score.not_found += 1
            score.strikes = 0
            score.latency = _average(score.latency, seconds)
            score.miss_rate = _average(score.miss_rate, 1.0)

    def lied(self, peer: Peer) -> float:
        """``peer`` served bytes that are not the block: ban it; returns the ban's end."""
        with self._lock:
            score = self._score(peer)
            score.mismatches += 1
            score.banned_until = self._clock() + self.ban_seconds
            return score.banned_until

    def failed(self, peer: Peer, *, timed_out: bool) -> None:
        """``peer`` did not answer in time (``timed_out``) or answered with an error."""
        with self._lock:
            score = self._score(peer)
            if timed_out:
                score.timeouts += 1
            else:
                score.errors += 1
            score.strikes += 1

    def outrun(self, peer: Peer, waited: float) -> None:
        """Another peer answered while ``peer`` had been silent for ``waited`` seconds: a
        lower bound on its latency, counted only if it makes the peer look slower."""
        with self._lock:
            score = self._score(peer)
            if score.latency is None or waited > score.latency:
                score.latency = _average(score.latency, waited)
