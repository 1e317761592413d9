"""Consensus engine: label aggregation, rewards, and the content of the result document.

Entry points: :func:`node.consensus.task.run_consensus` (what a validator runs for a
task), the estimators in :mod:`node.consensus.registry`, and
:class:`node.consensus.answers.Answers` (the canonical long-format input). The document
forms, ids and the payout tree it fills are :mod:`node.protocol`. The package imports
nothing on its own; see ``README.md`` here for the determinism rule.
"""
