#!/usr/bin/env bash
# The main job: set up (first run only) and open the chat on the bundled article at http://127.0.0.1:7860
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
export GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/ragqa chat "$@"
