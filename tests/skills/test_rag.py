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


def pipeline(query, k=2, chunk_size=200):
    wf = Workflow(id="rag")
    wf.add_node("document-load", id="load", params={"path": "corpus"})
    wf.add_node("text-split", id="split", params={"chunk_size": chunk_size, "chunk_overlap": 20})
    wf.add_node("index-build", id="index", params={"name": "facts"})
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
    assert found[0]["score"] > 0 and all(a["score"] >= b["score"] for a, b in zip(found, found[1:]))
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
    for a, b in zip(chunks, chunks[1:]):  # consecutive chunks overlap
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
