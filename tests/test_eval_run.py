"""Gold loading, the ``eval`` command line, and an end-to-end run on eval/gold.jsonl."""

import argparse
import json
from pathlib import Path

import pytest

from rag.errors import GoldFileError, RagError
from rag.evaluation import load_gold
from rag.evaluation.cli import add_parser, run_cli

ROOT = Path(__file__).resolve().parents[1]
DOC = "Flynn resigned. He is on the EU sanctions list. Trump’s ‘deal’\nwith Russia is unclear."


def _line(**over):
    rec = {"id": "q01", "question": "Why?", "answer": "Sanctions.", "evidence": ["on the EU sanctions list"],
           "answerable": True, "key_facts": ["sanctions"]}
    rec.update(over)
    return json.dumps({k: v for k, v in rec.items() if v is not ...}, ensure_ascii=False)


def _write(tmp_path, lines, name="gold.jsonl"):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def _parser():
    p = argparse.ArgumentParser(prog="ragqa")
    add_parser(p.add_subparsers(dest="command"))
    return p


# -- gold files --------------------------------------------------------------------------------
def test_load_gold_valid(tmp_path):
    p = _write(tmp_path, [_line(), "", _line(id="q02", evidence=["Trump’s ‘deal’ with Russia"]),
                          _line(id="q03", answer=None, evidence=[], answerable=False, key_facts=[])])
    items = load_gold(p, [DOC])
    assert [i.id for i in items] == ["q01", "q02", "q03"]
    assert items[1].line == 3 and items[2].answer == "" and items[0].evidence == ("on the EU sanctions list",)


def test_load_gold_reports_every_problem_with_id_and_line(tmp_path):
    p = _write(tmp_path, [
        _line(),
        "{not json",
        _line(id="q03", evidence=["a quote that is not there"]),
        _line(id="q04", answerable="yes"),
        _line(id="q05", question=...),
        _line(id="q06", evidence=[]),
        _line(id="q07", key_facts="sanctions"),
        _line(id="q01"),
        "[1, 2]",
    ])
    with pytest.raises(GoldFileError) as info:
        load_gold(p, {"doc": DOC})
    msg = str(info.value)
    assert "8 problem(s)" in msg
    for expected in [
        "line 2: not valid JSON",
        "line 3 (q03): evidence not found in the documents: 'a quote that is not there'",
        "line 4 (q04): field 'answerable' must be true or false",
        "line 5 (q05): missing field 'question'",
        "line 6 (q06): answerable question with no evidence quotes",
        "line 7 (q07): field 'key_facts' must be a list of strings",
        "line 8 (q01): duplicate id (first on line 1)",
        "line 9 (?): expected a JSON object",
    ]:
        assert f"{p} {expected}" in msg, expected
    assert len(info.value.problems) == 8
    assert isinstance(info.value, RagError)


def test_load_gold_match_single_problem(tmp_path):
    p = _write(tmp_path, [_line(), _line(id="q02", evidence=["he is on the EU  sanctions\nlist", "not in it"])])
    with pytest.raises(GoldFileError, match=r"line 2 \(q02\): evidence not found in the documents: 'not in it'"):
        load_gold(p, [DOC])
    assert load_gold(p, None)[1].id == "q02"  # without documents the quote check is skipped


def test_load_gold_empty_and_missing_files(tmp_path):
    with pytest.raises(GoldFileError, match="no questions"):
        load_gold(_write(tmp_path, [""]), [DOC])
    with pytest.raises(GoldFileError, match="cannot read gold file"):
        load_gold(tmp_path / "nope.jsonl", [DOC])


def test_bundled_gold_files_are_valid():
    from rag.ingest.formats import load_bundled
    from rag.store.indexer import collect

    assert len(load_gold(ROOT / "eval" / "gold.jsonl", [load_bundled().text])) == 51
    docs, _ = collect([ROOT / "eval" / "corpus2"], 25 * 2**20)
    assert len(load_gold(ROOT / "eval" / "gold2.jsonl", [d.text for d in docs])) == 40


# -- command line --------------------------------------------------------------------------------
def test_parser_registers_eval():
    args = _parser().parse_args(["eval", "--mode", "hybrid", "dense", "lexical", "-k", "3", "--corpus", "a", "b",
                                 "--min", "recall@5=0.9", "mrr@10=0.5", "--max", "false_abstention_rate=0.2"])
    assert args.func is run_cli and args.modes == ["hybrid", "dense", "lexical"] and args.k == 3
    assert args.corpus == ["a", "b"] and args.min_gates == ["recall@5=0.9", "mrr@10=0.5"]
    with pytest.raises(SystemExit):
        _parser().parse_args(["eval", "--index", "x", "--corpus", "y"])


def test_unknown_gate_metric_fails_before_running(tmp_path):
    args = _parser().parse_args(["eval", "--out", str(tmp_path), "--min", "recal@5=0.9"])
    with pytest.raises(ValueError, match=r"unknown metric 'recal@5'\. Valid metrics: .*recall@5"):
        run_cli(args)
    assert not any(tmp_path.iterdir())


def test_gate_failure_exit_status(tmp_path, monkeypatch, capsys):
    import rag.evaluation.runner as runner

    fake = _fake_results()
    monkeypatch.setattr(runner, "evaluate", lambda *a, **kw: fake)
    args = _parser().parse_args(["eval", "--out", str(tmp_path), "--min", "recall@5=0.9", "mrr@10=0.1",
                                 "--max", "false_abstention_rate=0.0"])
    assert run_cli(args) == 1
    err = capsys.readouterr().err
    assert "FAIL: recall@5 = 0.500 < 0.900" in err
    assert "FAIL: false_abstention_rate = 0.500 > 0.000" in err
    assert "mrr@10" not in err
    args = _parser().parse_args(["eval", "--out", str(tmp_path), "--min", "recall@5=0.5"])
    assert run_cli(args) == 0
    for name in ("results.json", "report.md", "recall_at_k.png", "outcomes.png"):
        assert (tmp_path / name).stat().st_size > 0


def _fake_results():
    """A two-question results dict in the shape ``evaluate`` returns."""
    retrieval = {"passages": [], "search_ms": 1.0, "metrics": {"recall@1": 0.5, "recall@3": 0.5, "recall@5": 0.5,
                                                               "recall@10": 1.0, "mrr@10": 1.0, "ndcg@10": 0.9},
                 "first_relevant_rank": 1}
    answer = {"text": "X [¶1].", "abstained": False, "citations": [], "timings_ms": {},
              "metrics": {"key_fact_recall": 1.0, "token_f1": 0.5, "key_facts_found": ["x"]}, "outcome": "correct"}
    agg = {"recall@1": 0.5, "recall@3": 0.5, "recall@5": 0.5, "recall@10": 1.0, "mrr@10": 1.0, "ndcg@10": 0.9,
           "search_p50_ms": 1.0, "search_p95_ms": 2.0, "key_fact_recall": 1.0, "token_f1": 0.5,
           "citation_precision": 1.0, "citation_recall": 0.5, "cited_sentence_share": 1.0, "abstain_accuracy": None,
           "false_abstention_rate": 0.5}
    agg |= {f"latency_{t}_{p}_ms": 1.0 for t in ("retrieve", "generate", "total") for p in ("p50", "p95")}
    return {"config": {"gold": ["g.jsonl"], "index": "bundled article", "corpus": [], "generator": "extractive",
                       "modes": ["hybrid"], "answer_mode": "hybrid", "k": 5, "k_retrieval": 10, "model": "m",
                       "documents": 1, "chunks": 3, "created": "now", "seconds": 0.1},
            "counts": {"questions": 2, "answerable": 2, "unanswerable": 0}, "aggregates": agg,
            "by_mode": {"hybrid": {k: agg[k] for k in list(agg)[:8]}},
            "recall_curve": {"hybrid": [0.5] * 9 + [1.0]},
            "outcomes": {"correct": 1, "partial": 0, "wrong": 0, "abstained-correctly": 0, "false-abstention": 1,
                         "missed-abstention": 0},
            "questions": [{"id": f"q{i}", "answerable": True, "key_facts": ["x"], "retrieval": {"hybrid": retrieval},
                           "answer": answer, "outcome": o} for i, o in ((1, "correct"), (2, "false-abstention"))]}


# -- end to end (real models) ------------------------------------------------------------------
@pytest.mark.slow
def test_eval_end_to_end_on_bundled_gold(tmp_path, capsys):
    args = _parser().parse_args(["eval", "--gold", str(ROOT / "eval" / "gold.jsonl"), "--generator", "extractive",
                                 "--mode", "hybrid", "lexical", "--out", str(tmp_path), "--quiet",
                                 "--min", "recall@5=0.5", "--max", "false_abstention_rate=1"])
    assert run_cli(args) == 0
    out = capsys.readouterr().out
    assert "recall@5" in out and "PASS" in out
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["aggregates"]["recall@5"] > 0.5
    assert set(results["by_mode"]) == {"hybrid", "lexical"}
    assert len(results["questions"]) == 51 and results["counts"]["unanswerable"] == 12
    q = results["questions"][0]
    assert {"passages", "metrics"} <= set(q["retrieval"]["hybrid"]) and "text" in q["retrieval"]["hybrid"]["passages"][0]
    assert {"text", "citations", "metrics", "timings_ms", "answerability"} <= set(q["answer"]) and q["outcome"]
    for name in ("key_fact_recall", "token_f1", "citation_precision", "abstain_accuracy", "latency_total_p95_ms"):
        assert results["aggregates"][name] is not None, name
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "![Recall@k per mode](recall_at_k.png)" in report and "| q01 |" in report
    for png in ("recall_at_k.png", "outcomes.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_eval_corpus_gold_error_and_gate(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Heaps\n\nA heap keeps the smallest item at index zero.\n\n"
                                 "Pushing an item costs logarithmic time.\n", encoding="utf-8")
    good = _write(tmp_path, [json.dumps({"id": "h1", "question": "Where is the smallest item of a heap?",
                                         "answer": "At index zero.", "evidence": ["smallest item at index zero"],
                                         "answerable": True, "key_facts": ["index zero"]})])
    bad = _write(tmp_path, [json.dumps({"id": "h9", "question": "?", "answer": "x", "evidence": ["not in corpus"],
                                        "answerable": True, "key_facts": []})], "bad.jsonl")
    base = ["eval", "--corpus", str(corpus), "--out", str(tmp_path / "out"), "--quiet", "--retrieval-only"]
    with pytest.raises(GoldFileError, match=r"bad.jsonl line 1 \(h9\): evidence not found in the documents"):
        run_cli(_parser().parse_args(base + ["--gold", str(good), str(bad)]))
    assert run_cli(_parser().parse_args(base + ["--gold", str(good), "--min", "recall@1=1.01"])) == 1
    assert "FAIL: recall@1 = 1.000 < 1.010" in capsys.readouterr().err
