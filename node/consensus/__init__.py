"""Consensus engine: label aggregation, rewards, the result document and the payout tree.

Entry points: :func:`node.consensus.task.run_consensus` (what a validator runs for a
task), the estimators in :mod:`node.consensus.registry`, and
:class:`node.consensus.answers.Answers` (the canonical long-format input). The package
imports nothing on its own, so ``node.consensus.merkle`` stays cheap to import; see
``README.md`` here for the determinism rule.
"""
