#!/usr/bin/env bash
# The test suite: set up (first run only), install Chromium for the browser tests if missing,
# run pytest, then the evaluation with regression gates.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test: installing Debian chromium for the browser tests" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "test: could not install chromium" >&2
  else
    echo "test: /usr/bin/chromium missing; install it with: sudo apt-get install -y chromium" >&2
  fi
fi
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
bash scripts/eval-gates.sh
