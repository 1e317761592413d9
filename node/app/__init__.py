"""The node as one process: the services the API and the role duties share.

:mod:`node.app.runtime` is the composition root (:class:`~node.app.runtime.NodeServices`,
built from :class:`~node.config.NodeSettings`); the other modules are the use cases the API
exposes (submitting labels, reading tasks, progress, earnings and results) written against
the database repositories, so that the HTTP layer in :mod:`node.api` only maps requests to
calls. Nothing here imports FastAPI.
"""
