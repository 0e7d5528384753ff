#!/usr/bin/env bash
# Regression gates: the eval on the gold set must stay at (a little under) today's numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ragqa eval --gold eval/gold.jsonl --out eval/reports/ci \
  --min recall@5=0.90 recall@1=0.70 --min key_fact_recall=0.70 --min abstain_accuracy=0.5
