"""RAG retrieval: recall@k and indexing speed of our nodes beside a plain-numpy TF-IDF.

The corpus is this repository's ``docs/`` folder, split by our ``text-split`` node; the
labelled set is ``QUESTIONS`` below (a question and the one docs file that answers it).
Both sides index the same chunks and answer the same questions:

* **ours**: the ``index-build`` + ``retrieve`` nodes through the engine (BM25, bm25s);
* **ours, embedding**: the same nodes with ``method: embedding`` and a *toy* model2vec
  model fitted here by latent semantic analysis (``llmos_jupyter._rag.lsa``, 64
  dimensions) on these very chunks — no model can be downloaded here, so this measures
  the method's plumbing and speed, not what a distilled model such as potion-base-8M
  would reach (skipped when model2vec is not installed);
* **baseline**: TF-IDF (log-scaled term frequency × smoothed idf, L2-normalised rows)
  with cosine similarity, in numpy over the same lower-cased word tokens and stop words.

recall@k is the share of questions whose answering file is among the sources of the top k
chunks. Indexing speed is chunks/s of building the index (ours: the node's own time from
its NodeResult, an index not yet on disk; the baseline: building the TF-IDF matrix).

    $ PYTHONPATH=. python benchmarks/rag.py            # ~15 s
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = [
    ("How does bubblewrap isolate an untrusted skill and what limits apply?", "isolation.md"),
    ("What happens to a node whose branch was not taken by a condition?", "control-flow.md"),
    ("How are workflow tests declared with approx and contains expectations?", "workflow-tests.md"),
    ("Which Dask scheduler address does the dask executor connect to?", "scale-out.md"),
    ("How does evolution mine repeated runs into compound skills with learned defaults?",
     "evolution.md"),
    ("How do I export skills in the Agent Skills format and import them back?", "agent-skills.md"),
    ("What does the llmos kernel complete after %%skill --uses?", "kernel.md"),
    ("How does the %%llm magic use the Anthropic API key and circuit breaker?", "llm.md"),
    ("How are the frontmatter inputs and outputs of a skill file written?", "skill-format.md"),
    ("What does llmos stats report about per-node p95 durations?", "stats.md"),
    ("How is the canvas widget drawn and which keyboard shortcuts does it have?", "canvas.md"),
    ("How does the JupyterLab sidebar open a workflow document?", "jupyterlab.md"),
]
STOP = None
TOKEN = re.compile(r"(?u)\b\w\w+\b")


def tokens(text: str) -> list[str]:
    return [t for t in TOKEN.findall(text.lower()) if t not in STOP]


def tfidf_recall(chunks: list[dict], k: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    vocab: dict[str, int] = {}
    rows = []
    for c in chunks:
        counts: dict[int, int] = {}
        for tok in tokens(c["text"]):
            j = vocab.setdefault(tok, len(vocab))
            counts[j] = counts.get(j, 0) + 1
        rows.append(counts)
    matrix = np.zeros((len(chunks), len(vocab)))
    for i, counts in enumerate(rows):
        for j, n in counts.items():
            matrix[i, j] = 1 + np.log(n)
    df = (matrix > 0).sum(axis=0)
    idf = np.log((1 + len(chunks)) / (1 + df)) + 1
    matrix *= idf
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-12
    build_s = time.perf_counter() - t0
    hits = 0
    for question, source in QUESTIONS:
        q = np.zeros(len(vocab))
        for tok in tokens(question):
            if tok in vocab:
                q[vocab[tok]] += 1
        q = np.where(q > 0, 1 + np.log(np.maximum(q, 1)), 0) * idf
        q /= np.linalg.norm(q) + 1e-12
        top = np.argsort(-(matrix @ q), kind="stable")[:k]
        hits += any(Path(chunks[i]["metadata"]["source"]).name == source for i in top)
    return hits / len(QUESTIONS), len(chunks) / build_s


def ours_recall(chunks: list[dict], k: int, **method) -> tuple[float, float]:
    from llmos_jupyter import Engine, SkillLibrary, Workflow

    engine = Engine(SkillLibrary(), trace=False, cache=False)
    build = Workflow(id="build")
    name = f"bench-docs-{method.get('method', 'bm25')}-{k}"  # not yet on disk: a real build
    build.add_node("index-build", id="index", params={"chunks": chunks, "name": name,
                                                      **method})
    res = engine.run(build)
    assert res.status == "completed", res.nodes["index"].error
    build_s = res.nodes["index"].duration_ms / 1e3
    hits = 0
    for question, source in QUESTIONS:
        wf = Workflow(id="ask")
        wf.add_node("retrieve", id="find", params={"index": {"name": name},
                                                   "query": question, "k": k})
        found = engine.run(wf).nodes["find"].outputs["chunks"]
        hits += any(Path(c["metadata"]["source"]).name == source for c in found)
    return hits / len(QUESTIONS), len(chunks) / build_s


def main() -> None:
    global STOP
    import bm25s.stopwords

    from llmos_jupyter import Engine, SkillLibrary, Workflow

    STOP = set(bm25s.stopwords.STOPWORDS_EN)
    os.environ["LLMOS_HOME"] = tempfile.mkdtemp(prefix="llmos-rag-bench-")
    os.chdir(REPO)
    wf = Workflow(id="chunks")
    wf.add_node("document-load", id="load", params={"path": "docs"})
    wf.add_node("text-split", id="split", params={"chunk_size": 800, "chunk_overlap": 100})
    wf.connect("load", "documents", "split", "documents")
    chunks = Engine(SkillLibrary(), trace=False).run(wf).nodes["split"].outputs["chunks"]
    print(f"corpus: docs/ — {len(chunks)} chunks of ≤ 800 characters; "
          f"{len(QUESTIONS)} labelled questions; {os.cpu_count()} cores")
    model = None
    try:
        from llmos_jupyter._rag.lsa import fit_lsa_model

        t0 = time.perf_counter()
        model = fit_lsa_model([c["text"] for c in chunks],
                              Path(os.environ["LLMOS_HOME"]) / "toy-lsa-model", dim=64)
        print(f"toy embedding model: LSA, 64 dimensions, fitted on these chunks in "
              f"{time.perf_counter() - t0:.2f} s")
    except ImportError:
        print("model2vec is not installed: no embedding column")
    print(f"{'k':>3} {'ours BM25 recall':>17} {'embedding (toy)':>16} {'TF-IDF recall':>14} "
          f"{'BM25/TF-IDF':>12}")
    speeds = None
    for k in (1, 3, 5):
        ours, ours_speed = ours_recall(chunks, k)
        emb, emb_speed = (ours_recall(chunks, k, method="embedding", embedding_model=str(model))
                          if model else (float("nan"), float("nan")))
        base, base_speed = tfidf_recall(chunks, k)
        speeds = speeds or (ours_speed, emb_speed, base_speed)
        ratio = ours / base if base else float("inf")
        print(f"{k:>3} {ours:>17.2f} {emb:>16.2f} {base:>14.2f} {ratio:>12.2f}")
    print(f"indexing: ours BM25 {speeds[0]:,.0f} chunks/s, embedding (toy model, 64-d) "
          f"{speeds[1]:,.0f} chunks/s, TF-IDF {speeds[2]:,.0f} chunks/s "
          f"(BM25/TF-IDF {speeds[0] / speeds[2]:.2f})")


if __name__ == "__main__":
    main()
