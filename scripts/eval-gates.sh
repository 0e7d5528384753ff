#!/usr/bin/env bash
# Regression gates: the eval on the gold set must stay a little under the numbers measured at the
# commit that set them (`ragqa eval`, eval/gold.jsonl, extractive, hybrid, k=5; README "Evaluation").
# recall@1 fell from 0.806 to 0.767 with the Snowball stemmer (issue 11: two of 39 questions moved to
# rank 2; gold2 unchanged). The learned answerability model (issue 15) traded gold's hand-set
# answer-type abstentions (abstention accuracy 0.583 before) for key-fact recall (0.744 before) and
# for transfer to other corpora. Retrained with answer-type/why features and perturbed questions
# (eval/perturb.py), measured on this tree: recall@1 0.767, key-fact recall 0.923, citation
# precision 1.000, abstention accuracy 0.417, false abstentions 0.000.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ragqa eval --gold eval/gold.jsonl --out eval/reports/ci \
  --min recall@1=0.74 recall@5=0.95 key_fact_recall=0.88 citation_precision=0.95 abstain_accuracy=0.35 \
  --max false_abstention_rate=0.05
