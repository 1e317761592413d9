#!/usr/bin/env bash
# Set up (idempotent) and run the labelnet demo network: a devnet, one requester, replayed
# annotators, spammers and validators as separate processes, ending in demo-output/report.html.
# Arguments go to `labelnet demo` (e.g. --dataset web --items 500 --annotators 12).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/labelnet demo "$@"
