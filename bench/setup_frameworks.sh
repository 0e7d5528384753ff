#!/usr/bin/env bash
# Optional: an isolated venv with LangChain and LlamaIndex for the comparison in bench/run.py.
# Kept apart from .venv because their pins (e.g. huggingface-hub<2) would downgrade packages ragqa
# uses. The venv sees .venv's packages (torch, sentence-transformers, faiss) through a .pth file,
# after its own, so only what they pin differently is installed twice.
set -euo pipefail
cd "$(dirname "$0")/.."
FW=${RAGQA_BENCH_FW_VENV:-$HOME/.cache/ragqa/bench-fw}
PY=${PYTHON:-python3}
[ -x "$FW/bin/python" ] || "$PY" -m venv "$FW"
site_main=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
site_fw=$("$FW/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$site_main" > "$site_fw/zz-ragqa-main.pth"
"$FW/bin/python" -m pip install -q langchain-community langchain-huggingface llama-index-core \
  llama-index-embeddings-huggingface llama-index-vector-stores-faiss psutil
echo "frameworks venv ready: $FW/bin/python"
