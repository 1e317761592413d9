"""Enhanced Bayesian classifier combination (EBCC; Li, Rubinstein & Cohn, "Exploiting
worker correlation for label aggregation in crowdsourcing", ICML 2019): a benchmark
candidate for issue #15, not a protocol algorithm.

Why measure it. EBCC leads the published tables on rte, zencrowd_us and zheng_d_possent
(BENCHMARKS.md, "Consensus on unseen data"). Where Dawid-Skene assumes annotators err
independently given the true class, EBCC lets them err *together*: each true class ``k``
is a mixture of ``M`` subtypes (an item of class ``k`` is of subtype ``m`` with probability
``pi[k, m]``), and each annotator has a confusion row per (class, subtype). Items that
fool everyone the same way form their own subtype instead of dragging the whole class's
confusion rows with them.

Model and mean-field variational updates (the paper's, written here from its equations):

    tau ~ Dir(alpha)                 (class prior; alpha = the vote's class counts,
                                      the reference's "empirical prior")
    pi[k] ~ Dir(a_pi / M)            (subtype weights of class k)
    v[j, k, m] ~ Dir(beta[k])        (beta[k, k] = a_v, beta[k, l] = b_v: a diagonal prior)
    q(z_i = k, g_i = m) = r[i, k, m]

    eta[k, m]       = a_pi / M + sum_i r[i, k, m]
    nu[k]           = alpha[k] + sum_{i, m} r[i, k, m]
    mu[j, k, m, l]  = beta[k, l] + sum_{i: j answered l on i} r[i, k, m]
    log r[i, k, m]  = E log pi[k, m] + E log tau[k] + sum_{j answered l on i} E log v[j, k, m, l]

(``E log`` of a Dirichlet component is ``digamma(a) - digamma(sum a)``.) Both sums over
answers are segment sums (``np.add.reduceat``) over chunks of rows: by item for the
E-step (rows are in item order already), by confusion cell ``annotator * K + label`` for
the counts; no loop over answers. digamma and log-gamma are computed here
(:func:`digamma`, :func:`gammaln`) so the node does not depend on scipy.

Initialization is random, as in the paper: ``r[i, k, :]`` is the vote share of class ``k``
times Dirichlet(1) subtype weights, drawn from an explicit ``np.random.Generator`` seeded
with ``seed``. The reference implementation's usage restarts from several seeds and keeps
the fit with the highest evidence lower bound (ELBO); ``restarts`` does the same with seeds
``seed, seed + 1, ...``. Hyperparameters are the paper's (``M = 10``, ``a_pi = 0.1``,
``a_v = 4``, ``b_v = 1``, empirical class prior); the paper iterates to an absolute
tolerance of 1e-3 on the class posteriors (at most 500 times), here a fixed count.

Determinism: same input and seed, same bytes on one machine (segment sums in canonical row
order, numpy's seeded generator). Across machines libm's log and the generator's Dirichlet
sampler may differ in the last bit, which is why it is not in the registry.
"""

from __future__ import annotations

import numpy as np

from node.consensus.answers import ROW_CHUNK, Answers
from node.consensus.base import (
    CategoricalEstimator,
    FloatArray,
    IntArray,
    check_iterations,
    initial_posteriors,
)
from node.consensus.numerics import from_ppb, to_ppb
from node.protocol.errors import InvalidParameterError

EBCC_ITERATIONS = 100
"""Fixed iteration count (the paper stops at a 1e-3 change, within 500)."""


_SHIFT = 6.0
"""digamma and log-gamma are shifted up to at least this before their asymptotic series."""


def digamma(x: FloatArray) -> FloatArray:
    """``psi(x)`` for ``x > 0``: ``psi(x) = psi(x + 6) - sum_{i<6} 1/(x + i)``, and at
    ``x + 6 >= 6`` the asymptotic series to ``x**-10`` (truncation error below 1e-11).
    The shift is unconditional: six divisions cost less than masking per element."""
    value = np.asarray(x, dtype=np.float64)
    total = 1.0 / value
    for step in range(1, int(_SHIFT)):
        total += 1.0 / (value + float(step))
    value = value + _SHIFT
    inv2 = 1.0 / (value * value)
    series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 / 132))))
    out: FloatArray = np.log(value) - 0.5 / value - series - total
    return out


def gammaln(x: FloatArray) -> FloatArray:
    """``log Gamma(x)`` for ``x > 0``: shifted like :func:`digamma`, then Stirling's series
    to ``x**-7``."""
    value = np.asarray(x, dtype=np.float64)
    total = np.zeros_like(value)
    for _ in range(int(_SHIFT)):
        small = value < _SHIFT
        total -= np.where(small, np.log(value), 0.0)
        value = np.where(small, value + 1.0, value)
    inv = 1.0 / value
    inv2 = inv * inv
    series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)))
    stirling = (value - 0.5) * np.log(value) - value + 0.5 * np.log(2.0 * np.pi) + series
    out: FloatArray = total + stirling
    return out


class _Segments:
    """The two sums over answers of an iteration, with the row orders computed once per fit.

    Columns are laid out as ``(features, items)`` or ``(features, cells)`` so that each
    chunk is one ``take`` and one ``np.add.reduceat`` along contiguous memory; chunks of
    :data:`ROW_CHUNK` rows bound the gathered block."""

    def __init__(self, answers: Answers) -> None:
        self.n_items = answers.n_items
        self.n_cells = answers.n_annotators * answers.n_classes
        order = np.argsort(answers.key, kind="stable")
        keys, items = answers.key[order], answers.item[order]
        self.by_cell: list[tuple[IntArray, IntArray, IntArray]] = []
        for begin in range(0, len(order), ROW_CHUNK):
            chunk = keys[begin : begin + ROW_CHUNK]
            starts = _run_starts(chunk)
            self.by_cell.append((items[begin : begin + ROW_CHUNK], starts, chunk[starts]))
        self.by_item: list[tuple[IntArray, IntArray, int, int]] = []
        for row_start, row_stop, item_start, item_stop in answers.item_chunks:
            starts = _run_starts(answers.item[row_start:row_stop])
            self.by_item.append((answers.key[row_start:row_stop], starts, item_start, item_stop))

    def cell_sums(self, columns: FloatArray) -> FloatArray:
        """``out[:, j * K + l]``: sum of ``columns[:, i]`` over the answers ``l`` of ``j``."""
        out = np.zeros((columns.shape[0], self.n_cells))
        for items, starts, present in self.by_cell:
            out[:, present] += np.add.reduceat(columns.take(items, axis=1), starts, axis=1)
        return out

    def item_sums(self, columns: FloatArray) -> FloatArray:
        """``out[:, i]``: sum of ``columns[:, j * K + l]`` over the answers of item ``i``
        (every item has one, and rows are in item order)."""
        out = np.empty((columns.shape[0], self.n_items))
        for keys, starts, item_start, item_stop in self.by_item:
            block = columns.take(keys, axis=1)
            out[:, item_start:item_stop] = np.add.reduceat(block, starts, axis=1)
        return out


def _run_starts(sorted_keys: IntArray) -> IntArray:
    """Positions where a run of equal keys begins."""
    if len(sorted_keys) == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    return np.concatenate([np.zeros(1, dtype=np.int64), change.astype(np.int64)])


def _dirichlet_expected_log(concentration: FloatArray) -> FloatArray:
    """``E[log x]`` under Dirichlet(``concentration``) along the last axis."""
    out: FloatArray = digamma(concentration) - digamma(concentration.sum(axis=-1))[..., None]
    return out


def _dirichlet_entropy(concentration: FloatArray) -> float:
    """Total entropy of the Dirichlets along the last axis (summed over the others)."""
    total = concentration.sum(axis=-1)
    size = concentration.shape[-1]
    log_beta = gammaln(concentration).sum(axis=-1) - gammaln(total)
    spread = (total - size) * digamma(total) - ((concentration - 1.0) * digamma(concentration)).sum(
        axis=-1
    )
    return float((log_beta + spread).sum())


class EnhancedBayesianClassifierCombination(CategoricalEstimator):
    """EBCC: Bayesian classifier combination whose classes are mixtures of subtypes."""

    algorithm = "ebcc-candidate"
    """A benchmark name, not a protocol id: no task can name it (not in the registry)."""

    elbo_: float = float("nan")
    """Evidence lower bound of the kept fit (the best over the restarts)."""
    converged_at_: int = -1
    """In the kept fit, the first iteration whose class posteriors moved less than 1e-3."""

    def __init__(
        self,
        n_iter: int = EBCC_ITERATIONS,
        subtypes: int = 10,
        a_pi: float = 0.1,
        a_v: float = 4.0,
        b_v: float = 1.0,
        empirical_prior: bool = True,
        seed: int = 1234,
        restarts: int = 1,
    ) -> None:
        for name, value in (("a_pi", a_pi), ("a_v", a_v), ("b_v", b_v)):
            if not value > 0 or not np.isfinite(value):
                raise InvalidParameterError(f"{name} must be positive and finite, got {value!r}")
        if not isinstance(subtypes, int) or subtypes < 1:
            raise InvalidParameterError(f"subtypes must be a positive int, got {subtypes!r}")
        if not isinstance(restarts, int) or restarts < 1:
            raise InvalidParameterError(f"restarts must be a positive int, got {restarts!r}")
        self.n_iter = check_iterations(n_iter)
        self.subtypes = subtypes
        self.a_pi, self.a_v, self.b_v = float(a_pi), float(a_v), float(b_v)
        self.empirical_prior = bool(empirical_prior)
        self.seed = int(seed)
        self.restarts = restarts

    def params(self) -> dict[str, int | str]:
        return {
            "n_iter": self.n_iter,
            "subtypes": self.subtypes,
            "a_pi": repr(self.a_pi),
            "a_v": repr(self.a_v),
            "b_v": repr(self.b_v),
            "empirical_prior": int(self.empirical_prior),
            "seed": self.seed,
            "restarts": self.restarts,
        }

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        start = from_ppb(initial_posteriors(answers, gold))
        segments = _Segments(answers)
        best: tuple[float, FloatArray, int] | None = None
        for restart in range(self.restarts):
            rng = np.random.default_rng(self.seed + restart)
            posterior, elbo, converged = self._run(start, gold, answers, segments, rng)
            if best is None or elbo > best[0]:
                best = (elbo, posterior, converged)
        assert best is not None  # restarts >= 1
        self.elbo_, posterior, self.converged_at_ = best
        return to_ppb(posterior)

    def _run(
        self,
        start: FloatArray,
        gold: IntArray,
        answers: Answers,
        segments: _Segments,
        rng: np.random.Generator,
    ) -> tuple[FloatArray, float, int]:
        """One variational fit from one random start: class posteriors, ELBO, convergence."""
        k, m, w, n_items = answers.n_classes, self.subtypes, answers.n_annotators, answers.n_items
        beta = np.full((k, k), self.b_v)
        np.fill_diagonal(beta, self.a_v)
        alpha = start.sum(axis=0) if self.empirical_prior else np.ones(k)
        clamp = gold >= 0
        outside_gold = np.ones((int(np.count_nonzero(clamp)), k, 1))
        outside_gold[np.arange(len(outside_gold)), gold[clamp]] = 0.0
        r = rng.dirichlet(np.ones(m), size=(n_items, k)) * start[:, :, None]
        z = start
        converged = -1
        for iteration in range(1, self.n_iter + 1):
            eta = self.a_pi / m + r.sum(axis=0)
            nu = alpha + r.sum(axis=(0, 2))
            # counts[k * M + m, j * K + l]: sum of r[i, k, m] over the answers l of j
            counts = segments.cell_sums(np.ascontiguousarray(r.reshape(n_items, k * m).T))
            mu = beta[None, :, None, :] + counts.reshape(k, m, w, k).transpose(2, 0, 1, 3)
            log_pi = _dirichlet_expected_log(eta)
            log_tau = _dirichlet_expected_log(nu)
            log_v = _dirichlet_expected_log(mu)  # [j, k, m, l]
            table = np.ascontiguousarray(log_v.transpose(1, 2, 0, 3).reshape(k * m, w * k))
            log_r = np.ascontiguousarray(segments.item_sums(table).T).reshape(n_items, k, m)
            log_r += log_pi[None, :, :] + log_tau[None, :, None]
            log_r[clamp] = np.where(outside_gold > 0, -np.inf, log_r[clamp])
            log_r -= log_r.reshape(n_items, -1).max(axis=1)[:, None, None]
            r = np.exp(log_r)
            r /= r.reshape(n_items, -1).sum(axis=1)[:, None, None]
            previous, z = z, r.sum(axis=2)
            if converged < 0 and np.allclose(previous, z, atol=1e-3):
                converged = iteration
        if self.n_iter == 0:
            return z, float("-inf"), converged
        elbo = self._elbo(eta, nu, mu, log_pi, log_tau, log_v, r)
        return z, elbo, converged

    @staticmethod
    def _elbo(
        eta: FloatArray,
        nu: FloatArray,
        mu: FloatArray,
        log_pi: FloatArray,
        log_tau: FloatArray,
        log_v: FloatArray,
        r: FloatArray,
    ) -> float:
        """The reference's bound: expected log-densities (up to constants) plus the
        entropies of every variational factor; only compared between restarts."""
        expected = float(((eta - 1.0) * log_pi).sum() + ((nu - 1.0) * log_tau).sum())
        expected += float(((mu - 1.0) * log_v).sum())
        entropy = _dirichlet_entropy(nu) + _dirichlet_entropy(eta) + _dirichlet_entropy(mu)
        flat = r.reshape(len(r), -1)
        positive = flat > 0
        entropy -= float((flat[positive] * np.log(flat[positive])).sum())
        return expected + entropy
