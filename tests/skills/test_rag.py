"""RAG nodes through the engine over a folder of documents written here (text, Markdown,
HTML with a script, a two-page PDF made by matplotlib): load → split → index → retrieve."""

from __future__ import annotations

import json

import pytest

from llmos_jupyter import Engine, SkillLibrary, Workflow

pytest.importorskip("bm25s")
pytest.importorskip("pypdf")

FACTS = {
    "volcano.txt": "Kilauea on Hawaii is a shield volcano whose lava lake glowed for years. "
                   "Basaltic lava flows are fluid and travel far.",
    "bees.md": "# Honey bees\n\nA worker honey bee performs a waggle dance to tell her "
               "sisters the direction and distance of nectar.\n\nDrones do not sting.",
    "trains.html": "<html><head><script>document.write('railway secret')</script>"
                   "<style>p{}</style></head><body><h1>Maglev</h1><p>The Shanghai maglev "
                   "train levitates on magnets and reaches 431 km/h.</p></body></html>",
}


def _pdf(path):
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["pdf.fonttype"] = 42  # TrueType: text extractable
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    with PdfPages(path) as pdf:
        for text in ("Page one is about glaciers carving fjords in Norway.",
                     "Page two explains how tardigrades survive dehydration as tuns."):
            fig = Figure(figsize=(8, 2))
            fig.text(0.05, 0.5, text)
            pdf.savefig(fig)


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    for name, text in FACTS.items():
        (folder / ("sub" if name == "bees.md" else "") / name).write_text(text)
    (folder / ".hidden.txt").write_text("tardigrades everywhere")  # skipped: hidden
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    _pdf(folder / "nature.pdf")
    monkeypatch.chdir(tmp_path)
    return folder


def pipeline(query, k=2, chunk_size=200, **index):
    wf = Workflow(id="rag")
    wf.add_node("document-load", id="load", params={"path": "corpus"})
    wf.add_node("text-split", id="split", params={"chunk_size": chunk_size, "chunk_overlap": 20})
    wf.add_node("index-build", id="index", params={"name": "facts", **index})
    wf.add_node("retrieve", id="find", params={"query": query, "k": k})
    wf.connect("load", "documents", "split", "documents")
    wf.connect("split", "chunks", "index", "chunks")
    wf.connect("index", "index", "find", "index")
    return wf


@pytest.fixture
def engine():
    e = Engine(SkillLibrary(), trace=False)
    yield e
    e.close()


def test_load_reads_every_kind_and_reports_what_it_skipped(corpus, engine):
    res = engine.run(pipeline("bees"))
    docs = res.nodes["load"].outputs["documents"]
    assert [d["id"] for d in docs] == ["corpus/nature.pdf#p1", "corpus/nature.pdf#p2",
                                       "corpus/sub/bees.md", "corpus/trains.html",
                                       "corpus/volcano.txt"]
    html = next(d for d in docs if d["id"].endswith(".html"))
    assert "431 km/h" in html["text"] and "railway secret" not in html["text"]
    assert docs[1]["metadata"] == {"source": "corpus/nature.pdf", "page": 2}
    assert "tardigrades" in docs[1]["text"]
    [skipped] = res.nodes["load"].outputs["skipped"]
    assert skipped["source"] == "corpus/broken.pdf" and skipped["reason"].startswith("PDF:")


@pytest.mark.parametrize("question,source", [
    ("How do worker bees tell the distance of nectar?", "corpus/sub/bees.md"),
    ("How fast is the maglev train in Shanghai?", "corpus/trains.html"),
    ("Which animals survive dehydration?", "corpus/nature.pdf"),
    ("What kind of volcano is Kilauea?", "corpus/volcano.txt"),
])
def test_bm25_finds_the_right_chunk(corpus, engine, question, source):
    res = engine.run(pipeline(question))
    found = res.nodes["find"].outputs["chunks"]
    assert found[0]["metadata"]["source"] == source
    assert found[0]["score"] > 0 and all(a["score"] >= b["score"] for a, b in zip(found, found[1:], strict=False))
    assert res.nodes["find"].outputs["context"].startswith(f"[1] {source}")


def test_the_index_is_rebuilt_only_when_the_chunks_change(corpus, engine, llmos_home):
    first = engine.run(pipeline("bees"))
    assert first.nodes["index"].outputs["index"]["rebuilt"] is True
    other = Engine(SkillLibrary(), trace=False)  # a fresh process' engine: no memory cache
    again = other.run(pipeline("bees"))
    assert again.nodes["index"].outputs["index"]["rebuilt"] is False
    (corpus / "volcano.txt").write_text("Mauna Loa is the largest volcano on Earth.")
    changed = other.run(pipeline("largest volcano"))
    assert changed.nodes["index"].outputs["index"]["rebuilt"] is True
    assert "Mauna Loa" in changed.nodes["find"].outputs["chunks"][0]["text"]
    meta = json.loads((llmos_home / "user" / "indexes" / "facts" / "meta.json").read_text())
    assert meta["count"] == changed.nodes["index"].outputs["index"]["count"]


def test_split_respects_size_overlap_and_boundaries(engine):
    text = " ".join(f"Sentence number {i} ends here." for i in range(200))
    wf = Workflow(id="s")
    wf.add_node("text-split", id="s", params={
        "documents": [{"id": "d", "text": text, "metadata": {"source": "x"}}],
        "chunk_size": 300, "chunk_overlap": 40})
    chunks = engine.run(wf).nodes["s"].outputs["chunks"]
    assert all(len(c["text"]) <= 300 for c in chunks)
    assert all(c["text"].endswith(".") for c in chunks[:-1])  # cut at sentence ends
    assert [c["metadata"]["chunk"] for c in chunks] == list(range(len(chunks)))
    for a, b in zip(chunks, chunks[1:], strict=False):  # consecutive chunks overlap
        assert b["metadata"]["start"] < a["metadata"]["start"] + len(a["text"])
    rebuilt = {}
    for c in chunks:  # the chunks cover the text
        rebuilt[c["metadata"]["start"]] = c["text"]
    assert text.startswith(chunks[0]["text"]) and text.endswith(chunks[-1]["text"])


def test_errors_name_the_problem(tmp_path, monkeypatch, engine):
    monkeypatch.chdir(tmp_path)
    wf = Workflow(id="e")
    wf.add_node("document-load", id="load", params={"path": "nowhere"})
    wf.add_node("retrieve", id="find", params={"index": {"name": "missing"}, "query": "q"})
    wf.add_node("index-build", id="bad", params={"chunks": [{"text": "x"}], "name": "../up"})
    res = engine.run(wf)
    assert res.nodes["load"].error.startswith("FileNotFoundError: no file or folder matches")
    assert "build it with index-build" in res.nodes["find"].error
    assert "index name" in res.nodes["bad"].error


# --- the embedding method: a real model2vec model fitted here (LSA, no download) ---------

PDF_PAGES = ("Page one is about glaciers carving fjords in Norway.",
             "Page two explains how tardigrades survive dehydration as tuns.")


def _fit(folder, extra=()):
    pytest.importorskip("model2vec")
    from llmos_jupyter._rag.lsa import fit_lsa_model

    return fit_lsa_model([*FACTS.values(), *PDF_PAGES, *extra], folder, dim=16)


@pytest.fixture
def toy_model(tmp_path):
    """A model2vec model whose vocabulary is the corpus' words, vectors by LSA."""
    return _fit(tmp_path / "toy-model")


def embedding_pipeline(query, model, k=2):
    return pipeline(query, k=k, method="embedding", embedding_model=str(model))


@pytest.mark.parametrize("question,source", [
    ("How do worker bees tell the distance of nectar?", "corpus/sub/bees.md"),
    ("How fast is the maglev train in Shanghai?", "corpus/trains.html"),
    ("Which animals survive dehydration?", "corpus/nature.pdf"),
    ("What kind of volcano is Kilauea?", "corpus/volcano.txt"),
])
def test_embedding_finds_the_right_chunk(corpus, engine, toy_model, question, source):
    res = engine.run(embedding_pipeline(question, toy_model))
    assert res.status == "completed", {n: r.error for n, r in res.nodes.items()}
    index = res.nodes["index"].outputs["index"]
    assert index["method"] == "embedding" and index["model"]["dim"] <= 16
    found = res.nodes["find"].outputs["chunks"]
    assert found[0]["metadata"]["source"] == source
    assert all(0 < c["score"] <= 1 + 1e-6 for c in found)
    assert all(a["score"] >= b["score"] for a, b in zip(found, found[1:], strict=False))
    assert res.nodes["find"].outputs["context"].startswith(f"[1] {source}")


def test_embedding_scores_are_cosines_of_model2vec_vectors(corpus, engine, toy_model):
    import numpy as np
    from model2vec import StaticModel

    res = engine.run(embedding_pipeline("glaciers and fjords", toy_model, k=3))
    found = res.nodes["find"].outputs["chunks"]
    model = StaticModel.from_pretrained(str(toy_model))
    q, c = model.encode(["glaciers and fjords", found[0]["text"]])
    assert found[0]["score"] == pytest.approx(
        float(q @ c / np.linalg.norm(q) / np.linalg.norm(c)), rel=1e-5)
    assert "glaciers" in found[0]["text"]
    unknown = engine.run(embedding_pipeline("zzzz qqqq", toy_model))
    assert unknown.nodes["find"].outputs == {"chunks": [], "context": ""}


def test_embedding_index_is_rebuilt_only_when_chunks_or_model_change(
        corpus, toy_model, tmp_path, llmos_home):
    first = Engine(SkillLibrary(), trace=False).run(embedding_pipeline("bees", toy_model))
    assert first.nodes["index"].outputs["index"]["rebuilt"] is True
    other = Engine(SkillLibrary(), trace=False)  # a fresh process' engine
    again = other.run(embedding_pipeline("bees", toy_model))
    assert again.nodes["index"].outputs["index"]["rebuilt"] is False
    assert again.nodes["find"].outputs == first.nodes["find"].outputs
    # A different model in the same folder: the node notices (not the engine's cache).
    _fit(toy_model, extra=["Mauna Loa is the largest volcano on Earth."])
    remodelled = other.run(embedding_pipeline("bees", toy_model))
    out = remodelled.nodes["index"].outputs["index"]
    assert out["rebuilt"] is True
    assert out["model"]["sha256"] != first.nodes["index"].outputs["index"]["model"]["sha256"]
    (corpus / "volcano.txt").write_text("Mauna Loa is the largest volcano on Earth.")
    changed = other.run(embedding_pipeline("largest volcano", toy_model))
    assert changed.nodes["index"].outputs["index"]["rebuilt"] is True
    assert "Mauna Loa" in changed.nodes["find"].outputs["chunks"][0]["text"]
    meta = json.loads((llmos_home / "user" / "indexes" / "facts" / "meta.json").read_text())
    assert meta["method"] == "embedding" and meta["model"]["path"] == str(toy_model.resolve())
    # bm25 over the same name replaces it, and back again rebuilds.
    assert other.run(pipeline("bees")).nodes["index"].outputs["index"]["rebuilt"] is True


def test_retrieve_refuses_a_model_changed_or_gone_since_the_build(corpus, toy_model, tmp_path):
    import shutil

    Engine(SkillLibrary(), trace=False).run(embedding_pipeline("bees", toy_model))
    ask = Workflow(id="ask")
    ask.add_node("retrieve", id="find", params={"index": {"name": "facts"}, "query": "bees"})
    _fit(toy_model, extra=["something new entirely"])
    res = Engine(SkillLibrary(), trace=False).run(ask)
    assert "changed since index 'facts' was built" in res.nodes["find"].error
    shutil.rmtree(toy_model)
    res = Engine(SkillLibrary(), trace=False).run(ask)
    assert res.nodes["find"].error.startswith("FileNotFoundError: index 'facts' was built with")
    assert "rebuild with index-build" in res.nodes["find"].error


def test_embedding_model_comes_from_the_config(corpus, engine, toy_model, llmos_home):
    llmos_home.mkdir(parents=True, exist_ok=True)
    (llmos_home / "config.toml").write_text(f'[rag]\nembedding_model = "{toy_model}"\n')
    res = engine.run(pipeline("What kind of volcano is Kilauea?", method="embedding"))
    assert res.nodes["index"].outputs["index"]["model"]["name"] == str(toy_model)
    assert res.nodes["find"].outputs["chunks"][0]["metadata"]["source"] == "corpus/volcano.txt"


def test_a_hub_id_is_used_from_the_local_cache_only(corpus, engine, toy_model, tmp_path,
                                                     monkeypatch):
    import shutil

    import huggingface_hub.constants

    # The Hugging Face cache layout: refs/main names the snapshot folder of the files.
    cache = tmp_path / "hf-cache"
    repo = cache / "models--someone--toy"
    shutil.copytree(toy_model, repo / "snapshots" / ("a" * 40))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a look-up of the network would fail loudly
    res = engine.run(embedding_pipeline("What kind of volcano is Kilauea?", "someone/toy"))
    assert res.nodes["find"].outputs["chunks"][0]["metadata"]["source"] == "corpus/volcano.txt"
    missing = engine.run(embedding_pipeline("bees", "someone/absent"))
    error = missing.nodes["index"].error
    assert "'someone/absent'" in error and "not in the local cache" in error
    assert "save_pretrained('PATH')" in error and "allow_download" in error


def test_embedding_errors_name_the_model_and_the_way_out(corpus, engine, tmp_path, monkeypatch):
    pytest.importorskip("model2vec")
    res = engine.run(embedding_pipeline("bees", "models/nowhere"))
    error = res.nodes["index"].error
    assert error.startswith("FileNotFoundError: embedding model 'models/nowhere' "
                            "(from the embedding_model input): no folder")
    assert ("StaticModel.from_pretrained('minishlab/potion-base-8M')"
            ".save_pretrained('PATH')") in error and "\n" not in error
    (tmp_path / "empty-model").mkdir()
    res = engine.run(embedding_pipeline("bees", tmp_path / "empty-model"))
    assert "is not a model2vec model folder" in res.nodes["index"].error
    no_model = pipeline("bees", method="embedding")  # no model named anywhere
    error = engine.run(no_model).nodes["index"].error
    assert error.startswith("ValueError: method 'embedding' needs a local model2vec model")
    assert "[rag] embedding_model" in error
    monkeypatch.setitem(__import__("sys").modules, "model2vec", None)  # not installed
    error = engine.run(embedding_pipeline("bees", tmp_path / "empty-model")).nodes["index"].error
    assert error.endswith('requires model2vec, which is not available here '
                          '(pip install "llmos-jupyter[rag]", or pip install model2vec)')
