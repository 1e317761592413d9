"""Synthetic crowd tasks with known truth: the regimes ``bench_consensus.py`` measures on.

Real data sets are few, and an estimator chosen on them is fitted to them. A synthetic
grid cannot be overfitted the same way: every regime is drawn from a stated generator,
and the grid spans what a decentralized network will see (2 to 20 classes, 1 to 10
answers per item, a handful to thousands of annotators, skills from uniform to a few
experts among many spammers, class priors from uniform to 95% one class, confusions
between neighbouring grades, annotators with only a few answers each).

A regime is a base task with one or two factors changed (the "short" grid, for CI) or a
random draw of every factor (the "full" grid). Each regime is generated from its own seed,
so a regime's data never depends on which other regimes run.

Dominant annotators (``DOMINANT``, activity ``dominant_*``; written before any run, from no
real set): the ``D = min(6, max(3, round(w / 20)))`` first annotators give a share
``S = min(0.7, 0.95 D / r)`` of the answers (0.7 unless ``r`` is too large for ``D``
annotators to give that much; each answers an item with probability ``S r / D``, at most
``r`` of them per item), and the other ``r - m`` answers of an item come from the rest,
evenly. The rest answer by the regime's ``skill`` and ``confusion``; the dominant ones by
the kind after ``dominant_``:

* ``correlated``: accuracy uniform in 0.80-0.95, errors toward class 0 (the most frequent
  class under every prior here) as in ``biased``; and on a shared fifth of the items
  (``HARD_SHARE``) each of them answers class 0 with probability ``LURE`` = 0.8 whatever
  the truth, so their false positives fall on the same items (the errors are correlated,
  about twice as often together as were they independent; a model of independent
  annotators overrates their agreement);
* ``informative``: Dawid-Skene's own model, strongly: annotator ``d`` is right with
  probability 0.95 on the classes ``c`` with ``c + d`` even and ``1/k + (1 - 1/k) / 4`` on
  the others, where 70% of its errors go to the next class ``(c + 1) mod k`` (so its
  answers stay informative through the confusion, and a one-coin row loses that);
* ``experts``: the most accurate: one-coin rows, accuracy uniform in 0.90-0.97.

``dominant_grid`` crosses the three kinds with 2, 4 and 10 classes and two sizes (500 items,
40 annotators, 4 answers per item, uniform prior; 5,000 items, 150 annotators, 5 answers,
Zipf prior), uniform skills and one-coin rows for the rest, seeds 1 and 2.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

SKILLS = ("uniform", "good", "experts_spammers", "adversarial_few")
PRIORS = ("uniform", "zipf", "skew80", "skew95")
CONFUSIONS = ("one_coin", "neighbours", "biased", "class_dependent")
ACTIVITY = ("even", "sparse")
DOMINANT = ("dominant_correlated", "dominant_informative", "dominant_experts")
"""Activities where a few annotators give most answers; not in ``ACTIVITY``, whose draws in
:func:`full_grid` must stay as they were."""
DOMINANT_SHARE = 0.7
HARD_SHARE = 0.2
LURE = 0.8


@dataclass(frozen=True)
class Regime:
    """One synthetic task family; :func:`generate` draws its data from ``seed``."""

    classes: int = 4
    items: int = 500
    per_item: int = 5
    annotators: int = 50
    skill: str = "uniform"
    prior: str = "uniform"
    confusion: str = "one_coin"
    activity: str = "even"
    seed: int = 0

    @property
    def name(self) -> str:
        return (
            f"K{self.classes}-n{self.items}-r{self.per_item}-w{self.annotators}-"
            f"{self.skill}-{self.prior}-{self.confusion}-{self.activity}-s{self.seed}"
        )

    def as_dict(self) -> dict[str, int | str]:
        return {**asdict(self), "name": self.name}


@dataclass(frozen=True)
class Task:
    """Generated answers (integer codes) and the truth of every item."""

    item: IntArray
    annotator: IntArray
    label: IntArray
    truth: IntArray
    accuracy: FloatArray  # each annotator's expected accuracy


def class_prior(kind: str, k: int) -> FloatArray:
    if kind == "uniform":
        return np.full(k, 1.0 / k)
    if kind == "zipf":
        weights: FloatArray = 1.0 / np.arange(1, k + 1)
        return weights / float(weights.sum())
    top = {"skew80": 0.8, "skew95": 0.95}[kind]
    out: FloatArray = np.r_[top, np.full(k - 1, (1.0 - top) / (k - 1))]
    return out


def skills(kind: str, w: int, k: int, rng: np.random.Generator) -> FloatArray:
    """Per annotator, the probability of answering the true class."""
    chance = 1.0 / k
    if kind == "uniform":
        return rng.uniform(chance, 0.95, w)
    if kind == "good":
        return 0.55 + 0.4 * rng.beta(4.0, 2.0, w)
    if kind == "experts_spammers":
        expert = rng.random(w) < 0.15
        expert[0] = True
        return np.where(expert, rng.uniform(0.85, 0.95, w), chance)
    # adversarial_few: mostly decent, a tenth answer worse than chance
    bad = rng.random(w) < 0.1
    return np.where(bad, chance * 0.3, rng.uniform(0.6, 0.9, w))


def confusion_rows(kind: str, acc: FloatArray, k: int, rng: np.random.Generator) -> FloatArray:
    """``[w, true, answer]`` confusion matrices with diagonal ``acc`` per annotator."""
    w = len(acc)
    if kind == "one_coin":
        off = np.ones((k, k)) - np.eye(k)
        shape = np.broadcast_to(off, (w, k, k))
    elif kind == "neighbours":  # ordinal grades: errors fall mostly on adjacent grades
        distance = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(np.float64)
        off = np.where(distance > 0, 0.25 ** (distance - 1), 0.0)
        shape = np.broadcast_to(off, (w, k, k))
    elif kind == "class_dependent":  # Dawid-Skene's own model: accuracy differs by class
        row_acc = np.clip(acc[:, None] + rng.normal(0.0, 0.2, (w, k)), 0.02, 0.99)
        errors = rng.dirichlet(np.ones(max(k - 1, 1)), size=(w, k))
        matrix = np.zeros((w, k, k))
        for true in range(k):
            others = [c for c in range(k) if c != true]
            matrix[:, true, others] = (1.0 - row_acc[:, true])[:, None] * errors[:, true, : k - 1]
            matrix[:, true, true] = row_acc[:, true]
        return matrix
    else:  # biased: each annotator errs toward a favourite class of their own (biased_0: 0)
        favourite = np.zeros(w, dtype=np.int64) if kind == "biased_0" else rng.integers(0, k, w)
        base = np.ones((w, k, k)) * 0.2
        base[np.arange(w), :, favourite] += 3.0
        shape = base * (1.0 - np.eye(k))[None]
    shape = shape / np.maximum(shape.sum(axis=2, keepdims=True), 1e-300)
    matrix = (1.0 - acc)[:, None, None] * shape
    matrix[:, np.arange(k), np.arange(k)] = acc[:, None]
    if k == 1:
        matrix[:] = 1.0
    result: FloatArray = matrix
    return result


def generate(regime: Regime) -> Task:
    """Answers for ``regime``: every item gets ``per_item`` answers from distinct
    annotators (fewer if there are not that many), chosen evenly or, for ``sparse``
    activity, by a heavy-tailed activity so that most annotators give only a few answers."""
    rng = np.random.default_rng([regime.seed, regime.classes, regime.items, regime.per_item])
    k, n, w = regime.classes, regime.items, regime.annotators
    truth = rng.choice(k, size=n, p=class_prior(regime.prior, k)).astype(np.int64)
    acc = skills(regime.skill, w, k, rng)
    matrix = confusion_rows(regime.confusion, acc, k, rng)
    r = min(regime.per_item, w)
    if regime.activity in DOMINANT:
        return _generate_dominant(regime, truth, acc, matrix, rng)
    activity = np.ones(w) if regime.activity == "even" else 1.0 / np.arange(1, w + 1) ** 1.1
    activity = activity / activity.sum()
    if r == w:
        chosen = np.broadcast_to(np.arange(w), (n, w))
    elif w <= 256:  # r distinct annotators per item: Gumbel top-r on log-activity
        keys = np.log(activity)[None, :] - np.log(-np.log(rng.random((n, w))))
        chosen = np.argpartition(-keys, r - 1, axis=1)[:, :r]
    else:  # many annotators: draw with replacement; a repeated pair is dropped below
        chosen = rng.choice(w, size=(n, r), p=activity)
    item = np.repeat(np.arange(n, dtype=np.int64), r)
    annotator = chosen.reshape(-1).astype(np.int64)
    label = _draw_labels(matrix, truth, item, annotator, rng)
    pair = item * w + annotator
    _, first = np.unique(pair, return_index=True)
    keep = np.sort(first)
    return Task(item[keep], annotator[keep], label[keep], truth, acc)


def _draw_labels(
    matrix: FloatArray,
    truth: IntArray,
    item: IntArray,
    annotator: IntArray,
    rng: np.random.Generator,
) -> IntArray:
    k = matrix.shape[1]
    cumulative = np.cumsum(matrix[annotator, truth[item]], axis=1)
    draw = rng.random(len(item))[:, None]
    label: IntArray = np.minimum((draw > cumulative).sum(axis=1), k - 1).astype(np.int64)
    return label


def dominant_count(annotators: int) -> int:
    """How many annotators dominate a ``dominant_*`` regime (3 to 6, about 5%)."""
    return min(6, max(3, round(annotators / 20)))


def dominant_share(annotators: int, per_item: int) -> float:
    """The share of the answers the dominant annotators give (0.7 when they can)."""
    return min(DOMINANT_SHARE, 0.95 * dominant_count(annotators) / per_item)


def _dominant_rows(kind: str, d: int, k: int, rng: np.random.Generator) -> FloatArray:
    """``[d, true, answer]`` confusion matrices of the dominant annotators (module docstring)."""
    if kind == "dominant_correlated":
        return confusion_rows("biased_0", rng.uniform(0.80, 0.95, d), k, rng)
    if kind == "dominant_experts":
        return confusion_rows("one_coin", rng.uniform(0.90, 0.97, d), k, rng)
    poor = 1.0 / k + (1.0 - 1.0 / k) / 4.0
    matrix = np.zeros((d, k, k))
    for a in range(d):
        for c in range(k):
            right = 0.95 if (c + a) % 2 == 0 else poor
            matrix[a, c, c] = right
            others = [o for o in range(k) if o != c]
            if not others:
                continue
            matrix[a, c, others] = (1.0 - right) * 0.3 / len(others)
            matrix[a, c, (c + 1) % k] += (1.0 - right) * 0.7
    return matrix


def _generate_dominant(
    regime: Regime, truth: IntArray, acc: FloatArray, matrix: FloatArray, rng: np.random.Generator
) -> Task:
    """The ``dominant_*`` activities (module docstring); continues :func:`generate`'s draws."""
    k, n, w = regime.classes, regime.items, regime.annotators
    d = dominant_count(w)
    r = min(regime.per_item, w)
    if w < d + r:
        raise ValueError(f"{regime.name}: too few annotators for {d} dominant ones")
    matrix = matrix.copy()
    matrix[:d] = _dominant_rows(regime.activity, d, k, rng)
    acc = acc.copy()
    acc[:d] = np.einsum("c,acc->a", class_prior(regime.prior, k), matrix[:d])
    answers = rng.random((n, d)) < dominant_share(w, r) * r / d
    # at most r dominant answers per item: keep the first r of them
    answers &= np.cumsum(answers, axis=1) <= r
    rest = r - answers.sum(axis=1)
    keys = rng.random((n, w - d))
    rank = np.argsort(np.argsort(keys, axis=1, kind="stable"), axis=1, kind="stable")
    others = rank < rest[:, None]
    taken = np.concatenate([answers, others], axis=1)
    item, annotator = (a.astype(np.int64) for a in np.nonzero(taken))
    label = _draw_labels(matrix, truth, item, annotator, rng)
    if regime.activity == "dominant_correlated":
        hard = rng.random(n) < HARD_SHARE
        lure = rng.random(len(item)) < LURE
        label = np.where((annotator < d) & hard[item] & lure, 0, label)
    return Task(item, annotator, label, truth, acc)


def generate_large(regime: Regime, chunk: int = 50_000) -> Task:
    """:func:`generate` for millions of items, in chunks of items (same distribution,
    memory bounded by the chunk, not by ``annotators x items``)."""
    if regime.items <= chunk:
        return generate(regime)
    parts = []
    for start in range(0, regime.items, chunk):
        size = min(chunk, regime.items - start)
        part = generate(replace(regime, items=size, seed=regime.seed * 1_000_003 + start))
        parts.append((part, start))
    first = parts[0][0]
    return Task(
        item=np.concatenate([p.item + start for p, start in parts]),
        annotator=np.concatenate([p.annotator for p, _ in parts]),
        label=np.concatenate([p.label for p, _ in parts]),
        truth=np.concatenate([p.truth for p, _ in parts]),
        accuracy=first.accuracy,
    )


BASE = Regime()


def short_grid() -> list[Regime]:
    """The base task and one factor changed at a time (plus a few hard pairs)."""
    variations: list[Regime] = [BASE]
    variations += [replace(BASE, classes=k) for k in (2, 3, 10, 20)]
    variations += [replace(BASE, items=n) for n in (20, 100, 3000)]
    variations += [replace(BASE, per_item=r) for r in (1, 2, 3, 10)]
    variations += [replace(BASE, annotators=w) for w in (5, 10, 1000)]
    variations += [replace(BASE, skill=s) for s in SKILLS[1:]]
    variations += [replace(BASE, prior=p) for p in PRIORS[1:]]
    variations += [replace(BASE, confusion=c) for c in CONFUSIONS[1:]]
    variations += [replace(BASE, activity="sparse", annotators=500)]
    dependent = replace(BASE, confusion="class_dependent")
    variations += [
        replace(dependent, classes=2, prior="skew80"),
        replace(dependent, classes=5, activity="sparse", annotators=200),
        replace(dependent, classes=10, per_item=4, items=700, prior="zipf", annotators=30),
        replace(dependent, per_item=10, annotators=20),
    ]
    variations += [
        replace(BASE, classes=10, per_item=4, items=700, prior="zipf", annotators=30),
        replace(
            BASE,
            classes=5,
            confusion="neighbours",
            prior="zipf",
            activity="sparse",
            annotators=200,
            per_item=6,
        ),
        replace(BASE, classes=2, prior="skew95", skill="experts_spammers", per_item=6),
        replace(
            BASE,
            classes=2,
            items=100,
            annotators=6,
            per_item=6,
            prior="skew80",
            skill="experts_spammers",
        ),
        replace(BASE, classes=20, per_item=3, annotators=1000, activity="sparse"),
    ]
    variations += [replace(BASE, annotators=40, per_item=4, activity=a) for a in DOMINANT]
    return variations


def dominant_grid() -> list[Regime]:
    """Every ``dominant_*`` activity with 2, 4 and 10 classes, at two sizes, seeds 1 and 2."""
    sizes = (
        replace(BASE, items=500, annotators=40, per_item=4, prior="uniform"),
        replace(BASE, items=5000, annotators=150, per_item=5, prior="zipf"),
    )
    return [
        replace(size, classes=k, activity=activity, seed=seed)
        for activity, k, size, seed in itertools.product(DOMINANT, (2, 4, 10), sizes, (1, 2))
    ]


def full_grid(count: int, max_items: int, seed: int = 15) -> list[Regime]:
    """``count`` regimes with every factor drawn at random (items log-uniform up to
    ``max_items``), after the short grid with three seeds each; then :func:`dominant_grid`
    (those of its regimes the short grid does not already hold)."""
    out = [replace(r, seed=s) for r, s in itertools.product(short_grid(), range(3))]
    out += random_grid(count, max_items, seed)
    seen = {r.name for r in out}
    return out + [r for r in dominant_grid() if r.name not in seen]


HELD_OUT_SEED = 2026
"""The draw of :func:`held_out_grid`: made after ``hds@6`` was chosen, never used to choose."""


def random_grid(count: int, max_items: int, seed: int, first: int = 100) -> list[Regime]:
    """``count`` regimes with every factor drawn from ``seed``; regime ``i``'s data seed is
    ``first + i``."""
    rng = np.random.default_rng(seed)
    out = []
    for index in range(count):
        items = int(np.exp(rng.uniform(np.log(20), np.log(max_items))))
        out.append(
            Regime(
                classes=int(rng.choice([2, 3, 4, 5, 7, 10, 15, 20])),
                items=items,
                per_item=int(rng.integers(1, 11)),
                annotators=int(np.exp(rng.uniform(np.log(4), np.log(3000)))),
                skill=str(rng.choice(SKILLS)),
                prior=str(rng.choice(PRIORS)),
                confusion=str(rng.choice(CONFUSIONS)),
                activity=str(rng.choice(ACTIVITY)),
                seed=first + index,
            )
        )
    return out


def held_out_grid(count: int, max_items: int) -> list[Regime]:
    """Random regimes no selection has seen: :func:`random_grid` from
    :data:`HELD_OUT_SEED`, data seeds from 10,000 (the selection grid's run from 100)."""
    return random_grid(count, max_items, HELD_OUT_SEED, first=10_000)


SECOND_HELD_OUT_SEED = 2027
"""The draw of :func:`second_held_out_grid`: made when the first held-out draw had been
looked at to design ``hds@9``'s anchored polish (session 19), so no longer unseen."""


def second_held_out_grid(count: int, max_items: int) -> list[Regime]:
    """Random regimes no design has seen: :func:`random_grid` from
    :data:`SECOND_HELD_OUT_SEED`, data seeds from 20,000."""
    return random_grid(count, max_items, SECOND_HELD_OUT_SEED, first=20_000)
