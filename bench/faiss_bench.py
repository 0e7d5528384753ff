"""FAISS at scale on synthetic clustered 384-d vectors: build time, index size, single-query search
latency and recall@10 against exact search, for IndexFlatIP, IndexHNSWFlat and IndexIVFFlat.

``python bench/faiss_bench.py --sizes 100000 1000000 --out faiss.json``. Run as its own process
by ``bench/run.py`` so the gigabytes it allocates are returned when it ends.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

DIM = 384
CENTRES = 1000
# Per-point noise of the same norm as its centre: a point's cosine to its centre is ~0.7 and to
# another point of its cluster ~0.5, about what MiniLM gives related paragraphs.
NOISE = 1.0
N_QUERIES = 1000  # recall is averaged over these
N_LATENCY = 300  # single-query latencies are timed over these
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, (64, 96, 128)
IVF_NPROBE = (8, 16, 32)


def clustered(n: int, seed: int, centres: np.ndarray, chunk: int = 100_000) -> np.ndarray:
    """``n`` unit vectors: a random centre each plus isotropic gaussian noise, normalised."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), dtype=np.float32)
    for i in range(0, n, chunk):
        m = min(chunk, n - i)
        x = centres[rng.integers(0, len(centres), m)]
        x += rng.standard_normal((m, DIM), dtype=np.float32) * np.float32(NOISE / np.sqrt(DIM))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[i : i + m] = x
    return out


def _size(faiss, index) -> int:
    return int(faiss.serialize_index(index).nbytes)


def _latency(index, queries: np.ndarray, k: int, one_thread_too: bool = True) -> dict:
    """Single-query latency with FAISS's default threads (what ragqa runs) and, if asked, with one
    thread (FAISS parallelises even one query; on 2 busy cores that can cost more than it gains)."""
    import faiss

    slow = isinstance(index, faiss.IndexFlat) and index.ntotal >= 500_000  # ~100 ms a query: fewer samples
    count = 50 if slow else N_LATENCY
    out, default = {}, faiss.omp_get_max_threads()
    for label, threads in (("", default), ("_1t", 1)) if one_thread_too else (("", default),):
        faiss.omp_set_num_threads(threads)
        index.search(queries[:1], k)  # warm
        times = []
        for q in queries[:count]:
            t = time.perf_counter()
            index.search(q.reshape(1, -1), k)
            times.append(time.perf_counter() - t)
        ms = np.array(times) * 1000
        out[f"p50_ms{label}"] = float(np.median(ms))
        out[f"p95_ms{label}"] = float(np.percentile(ms, 95))
    faiss.omp_set_num_threads(default)
    return out


def _recall(index, queries: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    _, ids = index.search(queries, k)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ids, truth[:, :k])]))


def bench(n: int, centres: np.ndarray, queries: np.ndarray, log=print) -> list[dict]:
    import faiss

    rows = []
    t = time.perf_counter()
    data = clustered(n, seed=n, centres=centres)
    log(f"  {n:,} vectors generated in {time.perf_counter() - t:.1f} s")

    flat = faiss.IndexFlatIP(DIM)
    t = time.perf_counter()
    flat.add(data)
    build = time.perf_counter() - t
    truth = flat.search(queries, 10)[1]
    row = {"n": n, "index": "FlatIP", "params": "", "build_s": build, "bytes": n * DIM * 4, "recall@10": 1.0,
           **_latency(flat, queries, 10), "k50_p50_ms": _latency(flat, queries, 50, False)["p50_ms"]}
    rows.append(row)
    log(f"  FlatIP: p50 {row['p50_ms']:.2f} ms ({row['p50_ms_1t']:.2f} ms on 1 thread)")
    del flat

    hnsw = faiss.IndexHNSWFlat(DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    t = time.perf_counter()
    hnsw.add(data)
    build = time.perf_counter() - t
    size = _size(faiss, hnsw)
    log(f"  HNSW build {build:.1f} s")
    for ef in HNSW_EF_SEARCH:
        hnsw.hnsw.efSearch = ef
        row = {"n": n, "index": "HNSWFlat", "params": f"M={HNSW_M} efC={HNSW_EF_CONSTRUCTION} efS={ef}",
               "ef_search": ef, "build_s": build, "bytes": size, "recall@10": _recall(hnsw, queries, truth),
               **_latency(hnsw, queries, 10), "k50_p50_ms": _latency(hnsw, queries, 50, False)["p50_ms"]}
        rows.append(row)
        log(f"  HNSW efS={ef}: p50 {row['p50_ms']:.3f} ms recall@10 {row['recall@10']:.4f}")
    del hnsw

    nlist = int(np.sqrt(n))
    quant = faiss.IndexFlatIP(DIM)
    ivf = faiss.IndexIVFFlat(quant, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    t = time.perf_counter()
    train = data[np.random.default_rng(1).choice(n, min(n, 40 * nlist), replace=False)]
    ivf.train(train)
    ivf.add(data)
    build = time.perf_counter() - t
    size = _size(faiss, ivf)
    for nprobe in IVF_NPROBE:
        ivf.nprobe = nprobe
        row = {"n": n, "index": "IVFFlat", "params": f"nlist={nlist} nprobe={nprobe}", "build_s": build,
               "bytes": size, "recall@10": _recall(ivf, queries, truth), **_latency(ivf, queries, 10),
               "k50_p50_ms": _latency(ivf, queries, 50, False)["p50_ms"]}
        rows.append(row)
        log(f"  IVF nprobe={nprobe}: p50 {row['p50_ms']:.3f} ms recall@10 {row['recall@10']:.4f}")
    return rows


def flat_curve(sizes, centres: np.ndarray, queries: np.ndarray) -> list[dict]:
    """Exact-search latency (top 50, as the retriever asks) at the sizes ``EXACT_MAX`` is chosen among."""
    import faiss

    data = clustered(max(sizes), seed=7, centres=centres)
    rows = []
    for n in sizes:
        flat = faiss.IndexFlatIP(DIM)
        flat.add(data[:n])
        rows.append({"n": n, "k": 50, **_latency(flat, queries, 50)})
    return rows


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    import faiss

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((CENTRES, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    queries = clustered(N_QUERIES, seed=12345, centres=centres)
    t0 = time.perf_counter()
    result = {"threads": faiss.omp_get_max_threads(), "dim": DIM, "centres": CENTRES, "noise": NOISE,
              "queries": N_QUERIES, "flat_curve": flat_curve([5_000, 10_000, 20_000, 50_000, 100_000], centres,
                                                             queries), "rows": []}
    for n in args.sizes:
        print(f"FAISS {n:,}", flush=True)
        result["rows"] += bench(n, centres, queries, log=lambda s: print(s, flush=True))
    result["seconds"] = time.perf_counter() - t0
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
