"""Is ONNX with length-sorted batches faster than ``SentenceTransformer.encode`` (which sorts by
length itself) on document-length paragraphs? ``python bench/embed_lengths.py [N]`` embeds the
first N (default 300) SQuAD part A contexts both ways, after one warm-up batch each, and prints
wall and CPU seconds (CPU: less sensitive to a shared machine) and the min cosine between them."""

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parent))

from squad_corpus import contexts  # noqa: E402

n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
texts = contexts()[:n]
from rag.config import Config  # noqa: E402
from rag.embed.base import resolve_model  # noqa: E402
from rag.embed.registry import make_query_embedder  # noqa: E402

onnx = make_query_embedder(Config(backend="onnx"))
from sentence_transformers import SentenceTransformer  # noqa: E402

st = SentenceTransformer(resolve_model(Config().model), device="cpu")
res = {"paragraphs": n, "median_chars": sorted(map(len, texts))[n // 2], "load": [round(os.getloadavg()[0], 2)]}
for name, fn in (("sentence-transformers encode(batch_size=32)",
                  lambda t: st.encode(t, batch_size=32, normalize_embeddings=True)),
                 ("ONNX embed_many (length-sorted batches of 32)", lambda t: onnx.embed_many(t, 32))):
    fn(texts[:32])
    w, c = time.perf_counter(), time.process_time()
    vecs = fn(texts)
    res[name] = {"wall_s": time.perf_counter() - w, "cpu_s": time.process_time() - c}
    res.setdefault("vectors", []).append(vecs)
a, b = res.pop("vectors")
res["min_cosine"] = float((a * b).sum(axis=1).min())
res["load"].append(round(os.getloadavg()[0], 2))
print(json.dumps(res, indent=1))
