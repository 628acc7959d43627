"""A small model2vec model fitted to a corpus by latent semantic analysis, offline.

Latent semantic analysis (Deerwester, Dumais, Furnas, Landauer & Harshman 1990): the
term × text matrix of log-scaled term frequency times inverse document frequency,
``X[t, d] = log(1 + tf) · log(n / df)``, is factored by a truncated SVD
``X ≈ U_k Σ_k V_kᵀ``; the rows of ``U_k Σ_k`` are the words' vectors. Words that occur in
the same texts get nearby vectors, so the mean of a text's word vectors (what model2vec
computes) places it near texts about the same things, including texts that share few of
its exact words.

The model is a toy next to a distilled model such as potion-base-8M: it knows only the
corpus' words and its geometry comes from that corpus alone (fitted on the texts it
then indexes). It exists so tests and benchmarks can exercise the ``embedding`` index
method with a real model2vec model and no download, and so a user without network can
still try the method on their own documents.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["fit_lsa_model"]

UNK = "[UNK]"


def _tokenizer(vocab: dict[str, int]):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    tok = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    # NFKC then lower case; words are runs of \w (punctuation becomes separate tokens).
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return tok


def _u_sigma(x: np.ndarray, dim: int) -> np.ndarray:
    """``U_k Σ_k`` of the SVD of ``x`` (m × n) for the ``k ≤ dim`` non-zero singular values,
    from the eigenvectors of the smaller Gram matrix: with ``XᵀX = V Σ² Vᵀ``,
    ``X V = U Σ``. An ``n × n`` symmetric eigenproblem (a few hundred texts) is far
    cheaper than the SVD of the ``m × n`` matrix (thousands of words) and exact; the
    columns' signs are arbitrary, which cosine similarity does not see."""
    import numpy as np

    m, n = x.shape
    gram = x.T @ x if n <= m else x @ x.T
    w, v = np.linalg.eigh(gram)  # ascending
    top = np.argsort(-w, kind="stable")[:dim]
    top = top[w[top] > max(w.max(initial=0.0), 0.0) * 1e-12]
    if n <= m:
        return x @ v[:, top]
    return v[:, top] * np.sqrt(w[top])


def fit_lsa_model(texts: list[str], folder: str | Path, *, dim: int = 64) -> Path:
    """Fit LSA word vectors to ``texts`` and save them as a model2vec model in ``folder``
    (``StaticModel.save_pretrained``: ``model.safetensors``, ``tokenizer.json``,
    ``config.json``); returns the folder.

    The vocabulary is every word of two or more characters in ``texts`` (after NFKC and
    lower-casing, split like the tokenizer splits: runs of letters/digits/underscore);
    other tokens are unknown and ignored when embedding. ``dim`` is capped by the rank of
    the matrix (at most the number of texts). Words in every text get zero vectors (idf 0).

    Raises:
        ValueError: ``texts`` has no word of two or more characters, or ``dim`` < 1.
    """
    import numpy as np
    from model2vec import StaticModel

    if dim < 1:
        raise ValueError(f"dim must be at least 1, got {dim}")
    probe = _tokenizer({UNK: 0})
    counts: list[Counter[str]] = []
    for text in texts:
        words = probe.pre_tokenizer.pre_tokenize_str(probe.normalizer.normalize_str(text))
        counts.append(Counter(w for w, _ in words if len(w) > 1 and any(ch.isalnum() for ch in w)))
    words = sorted(set().union(*counts))
    if not words:
        raise ValueError("no words of two or more characters in texts: nothing to fit")
    row = {w: i for i, w in enumerate(words)}
    x = np.zeros((len(words), len(texts)))
    for d, c in enumerate(counts):
        for w, n in c.items():
            x[row[w], d] = np.log1p(n)
    df = np.count_nonzero(x, axis=1)
    x *= np.log(len(texts) / df)[:, None]
    word_vectors = _u_sigma(x, dim)
    k = word_vectors.shape[1]
    vectors = np.zeros((len(words) + 1, max(k, 1)), dtype=np.float32)  # (rank 0: one column)
    vectors[1:, :k] = word_vectors  # row 0: the unknown token
    tokenizer = _tokenizer({UNK: 0, **{w: i + 1 for i, w in enumerate(words)}})
    folder = Path(folder)
    StaticModel(vectors=vectors, tokenizer=tokenizer, normalize=True).save_pretrained(folder)
    return folder
