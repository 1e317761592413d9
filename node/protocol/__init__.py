"""The protocol: the rules and bytes every honest node must reproduce exactly.

Canonical JSON, CIDs and UnixFS DAGs, CAR streams, every task document (manifest, item
page, gold, label batch, result) with one builder and one parse-and-verify each, the Merkle
trees and commitments, algorithm and rule ids, the reward parameters, and which label
values each task kind allows. It is the ground floor of ``node``: it imports nothing from
``node`` but :mod:`node.errors` (the root of every deliberate error, itself importing
nothing), and everything above uses it rather than re-implementing any of it. The
import contracts in ``.importlinter`` hold this. The package imports nothing on its own.
"""
