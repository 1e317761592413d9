"""Named crash points for fault-injection tests.

The crash-safety tests must kill a node at exact moments (after a commit transaction was
sent but before its hash was recorded, say) that no outside timing can hit reliably. A
duty calls ``crash_point("name")`` at each such moment; when ``LABELNET_CRASH_AT`` names it,
the process kills itself with SIGKILL, exactly as an out-of-memory kill or a power cut
would end it. Unset (always, outside those tests), the call does nothing.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "LABELNET_CRASH_AT"


def crash_point(name: str) -> None:
    """Die here, at once and without cleanup, if the environment asks for it."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
