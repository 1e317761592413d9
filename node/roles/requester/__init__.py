"""The requester's tools: post tasks, keep and reveal hidden gold, follow and fetch results.

Plain Python over the chain bindings and a content store (no web framework): the CLI, the
SDK and the demo all call these functions, and the requester's node runs
:class:`~node.roles.requester.duty.RequesterDuty` to reveal gold on time.
"""
