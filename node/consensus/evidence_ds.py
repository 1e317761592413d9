"""``hds@4`` whose row strength is chosen by the rows' marginal likelihood (type-II maximum
likelihood over a fixed grid) instead of by moments (issue #15; the benchmark candidate
``hds5_ev``, measured and not registered: it loses the selection rule and the small task,
BENCHMARKS.md).

Why. ``hds@1``..``hds@4`` shrink each annotator's confusion row toward its one-coin mean
``m`` with ``s`` pseudo-answers and estimate ``s`` by moments: the pooled Pearson
statistic of the rows against ``m`` is matched to its Dirichlet-multinomial expectation.
Moments weigh every row by its Pearson terms, which a few rows with tiny ``m_l`` dominate,
and the docstring of :meth:`HierarchicalDawidSkene._moment_strength` notes the estimate
runs high (toward one-coin). On the real sets where the default trails textbook
Dawid-Skene (dog, web, zencrowd_us, zheng_d_product) the likelier explanation is that ``s``
is too large. The textbook way to fit a prior's concentration is to maximise the marginal
likelihood of the data under it (the evidence, type-II ML): for a row of ``n`` answers
with counts ``c_l``, under ``Dirichlet(s m)``,

    log p(c | s) = lgamma(s) - lgamma(n + s) + sum_l [lgamma(c_l + s m_l) - lgamma(s m_l)]

(up to the multinomial coefficient, which does not depend on ``s``). The strength used is
the grid value with the largest sum over all rows of the task (ties to the smaller).

Constants, and how they were fixed: the grid is the powers of two from ``row_strength``
to ``max_strength``, i.e. ``hds@4``'s own bounds 4 and 64 (4, 8, 16, 32, 64), nothing
chosen on a data set; everything else (pooled start, early stop, skill and prior
strengths) is ``hds@4``'s. Counts are the expected counts of the current posteriors
(fractional), for which the gamma-function form is still the Dirichlet-multinomial
evidence's natural extension.

Determinism: ``lgamma`` is :func:`det_lgamma` (shift by eight and Stirling's series, from
:func:`~node.consensus.numerics.det_log` and elementwise IEEE operations); each row's
log-evidence is rounded to a multiple of 2**-20 before an int64 sum, so the totals are
order-free, and the grid argmax compares those exact totals.
"""

from __future__ import annotations

import numpy as np

from node.consensus.base import FloatArray
from node.consensus.early_stop_ds import EarlyStopDawidSkene
from node.consensus.numerics import det_log, fixed_point_sum, row_sum

EVIDENCE_DAWID_SKENE = "hds-evidence (unregistered)"
"""Not a protocol id: a benchmark candidate that lost the selection rule (BENCHMARKS.md,
issue #15), so no task can name it; registering it would take a new id in
:mod:`node.protocol.ids`."""

_HALF_LOG_2PI = 0.91893853320467274178
_SHIFT = 8


def det_lgamma(x: FloatArray) -> FloatArray:
    """``lgamma(x)`` for positive finite ``x`` from elementwise IEEE operations and
    :func:`det_log`: ``lgamma(x) = lgamma(x + 8) - log(x (x+1) ... (x+7))`` and Stirling's
    series at ``x + 8`` (error under 1e-11 there, enough to rank strengths)."""
    product = np.array(x, dtype=np.float64, copy=True)
    for step in range(1, _SHIFT):
        product = product * (x + float(step))
    z = x + float(_SHIFT)
    inv = 1.0 / z
    inv2 = inv * inv
    series = inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 / 1680.0)))
    logs = det_log(np.concatenate((z.reshape(-1), product.reshape(-1))))
    log_z = logs[: z.size].reshape(z.shape)
    log_product = logs[z.size :].reshape(z.shape)
    out: FloatArray = (z - 0.5) * log_z - z + _HALF_LOG_2PI + series - log_product
    return out


def _signed_fixed_sum(values: FloatArray) -> int:
    """Sum as integer multiples of 2**-20 (exact, order-free; signs allowed)."""
    return fixed_point_sum(values, 20)


class EvidenceDawidSkene(EarlyStopDawidSkene):
    """``hds@4`` with the adaptive row strength chosen by marginal likelihood over the
    grid ``row_strength * 2**j`` up to ``max_strength`` (``strength_grid``)."""

    algorithm = EVIDENCE_DAWID_SKENE

    @property
    def strength_grid(self) -> tuple[float, ...]:
        """Powers of two from ``row_strength`` to ``max_strength``."""
        grid = [self.row_strength]
        while grid[-1] * 2.0 <= self.max_strength:
            grid.append(grid[-1] * 2.0)
        return tuple(grid)

    def _moment_strength(self, rows: FloatArray, row_total: FloatArray, mean: FloatArray) -> float:
        """The grid strength whose Dirichlet-multinomial evidence of all rows is largest
        (replaces the moment estimate; the name is the hook ``hds@1``'s M-step calls)."""
        used = row_total > 0.0
        counts = rows[used]  # [r, K]
        totals = row_total[used]  # [r]
        means = mean[used]  # [r, K]
        if counts.size == 0:
            return self.max_strength
        grid = self.strength_grid
        strengths = np.array(grid, dtype=np.float64)[:, None]  # [g, 1]
        # One det_lgamma call for every term of every strength: [g, r] and [g, r, K].
        alpha = strengths[:, :, None] * means[None]  # [g, r, K]
        g, r, k = alpha.shape
        scalar_s = np.broadcast_to(strengths, (g, r))
        parts = np.concatenate(
            (
                scalar_s.reshape(-1),
                (scalar_s + totals[None]).reshape(-1),
                (alpha + counts[None]).reshape(-1),
                alpha.reshape(-1),
            )
        )
        lg = det_lgamma(parts)
        n = g * r
        lg_s = lg[:n].reshape(g, r)
        lg_ns = lg[n : 2 * n].reshape(g, r)
        lg_ac = lg[2 * n : 2 * n + g * r * k].reshape(g, r, k)
        lg_a = lg[2 * n + g * r * k :].reshape(g, r, k)
        per_row = lg_s - lg_ns + row_sum(lg_ac - lg_a)  # [g, r]
        totals_fixed = [_signed_fixed_sum(per_row[j]) for j in range(g)]
        best = max(range(g), key=lambda j: (totals_fixed[j], -j))
        return grid[best]
