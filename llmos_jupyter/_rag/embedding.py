"""The ``embedding`` index method: a user's local model2vec model, vectors in numpy.

model2vec (MinishLab; Tulkens & van Dongen 2024) models are *static* embeddings: a text's
vector is the mean of its tokens' vectors (no transformer at run time, no torch), so a CPU
embeds thousands of chunks per second. The model is the user's — this module never
downloads one unless asked to (``allow_download``):

* a folder holding a model saved by ``StaticModel.save_pretrained`` (``model.safetensors``,
  ``tokenizer.json``, ``config.json``), or
* a Hugging Face id (``owner/name``) whose snapshot is already in the local Hugging Face
  cache (``$HF_HUB_CACHE``, by ``huggingface_hub.snapshot_download(local_files_only=True)``).

The model's identity is the SHA-256 of its files (:func:`model_sha256`), so an index is
rebuilt when the model changes and a retrieval refuses a model that is not the one the
index was built with. Chunk and query vectors are L2-normalised float32, so the dot
product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmos_jupyter._exceptions import RequirementMissing

if TYPE_CHECKING:
    import numpy as np

__all__ = ["GET_MODEL", "ModelRef", "embed", "load_model", "model_sha256", "resolve_model",
           "top_k"]

GET_MODEL = ("python -c \"from model2vec import StaticModel; "
             "StaticModel.from_pretrained('minishlab/potion-base-8M').save_pretrained('PATH')\"")
"""The one command (run once, with network) that puts a small general model in PATH."""

INSTALL = 'pip install "llmos-jupyter[rag]"'
_FILE_HASHES: dict[tuple[str, int, int, int], str] = {}
_MODELS: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class ModelRef:
    """A resolved local model: ``name`` as the user gave it, ``path`` its folder (absolute),
    ``sha256`` the identity from :func:`model_sha256`."""

    name: str
    path: Path
    sha256: str


def require_model2vec(skill_id: str) -> Any:
    """The ``model2vec`` module.

    Raises:
        RequirementMissing: model2vec is not installed (one line naming the rag extra).
    """
    try:
        import model2vec
    except ImportError:
        raise RequirementMissing(skill_id, "model2vec",
                                 hint=f"{INSTALL}, or pip install model2vec") from None
    return model2vec


def _configured() -> tuple[str, Path, str]:
    """(spec, base folder for a relative path, where it came from) from ``[rag]``."""
    from llmos_jupyter._config import config_path, config_section

    path = config_path()
    spec = config_section("rag").get("embedding_model")
    if spec is None or spec == "":
        raise ValueError(
            "method 'embedding' needs a local model2vec model: set the embedding_model input "
            f"or `[rag] embedding_model = \"PATH\"` in {path}. Get one once (with network): "
            f"{GET_MODEL}")
    if not isinstance(spec, str):
        raise ValueError(f"{path}: [rag] embedding_model must be a string (a folder or a "
                         f"Hugging Face id), not {type(spec).__name__}")
    return spec, path.parent, f"[rag] embedding_model in {path}"


def _looks_like_hub_id(spec: str) -> bool:
    if spec.count("/") != 1 or spec.startswith((".", "/", "~")) or "\\" in spec:
        return False
    try:
        from huggingface_hub.utils import validate_repo_id

        validate_repo_id(spec)
    except ImportError:
        return False
    except Exception:  # HFValidationError: not a valid id
        return False
    return True


def _from_hub_cache(spec: str, allow_download: bool) -> Path | None:
    """The snapshot folder of hub model ``spec`` (downloaded only when allowed), or None."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:
        return None
    # What model2vec reads (its own and the sentence-transformers layouts) and the card:
    # no other files of the repository (ONNX exports, training data).
    patterns = ["*.json", "*.safetensors", "*/*.json", "*/*.safetensors", "README.md"]
    try:
        return Path(snapshot_download(spec, repo_type="model", allow_patterns=patterns,
                                      local_files_only=True))
    except LocalEntryNotFoundError:
        if not allow_download:
            return None
    try:
        return Path(snapshot_download(spec, repo_type="model", allow_patterns=patterns))
    except Exception as exc:  # network, auth, no such repository: one line, then stop
        raise FileNotFoundError(f"embedding model {spec!r}: download from Hugging Face "
                                f"failed ({type(exc).__name__}: {exc})") from None


def resolve_model(given: str | None, *, allow_download: bool = False,
                  skill_id: str = "index-build") -> ModelRef:
    """Find the user's model: ``given`` (the node's ``embedding_model``; relative to the
    working folder) or else ``[rag] embedding_model`` of ``config.toml`` (relative to
    ``$LLMOS_HOME``); ``~`` is expanded in both.

    Raises:
        RequirementMissing: model2vec is not installed.
        ValueError: no model named anywhere (says where to name one and how to get one).
        FileNotFoundError: the name is neither a model folder nor a Hugging Face id in the
            local cache (names the model, the cache folder, and the command to get one).
    """
    require_model2vec(skill_id)
    if given:
        spec, base, where = given, Path.cwd(), "the embedding_model input"
    else:
        spec, base, where = _configured()
    path = Path(spec).expanduser()
    if not path.is_absolute():
        path = base / path
    folder: Path | None = path if path.is_dir() else None
    hub = folder is None and _looks_like_hub_id(spec)
    if hub:
        folder = _from_hub_cache(spec, allow_download)
    if folder is None:
        if hub:
            from huggingface_hub.constants import HF_HUB_CACHE

            what = (f"no folder {str(path)!r} and Hugging Face model {spec!r} is not in the "
                    f"local cache ({HF_HUB_CACHE})")
        else:
            what = f"no folder {str(path)!r}"
        raise FileNotFoundError(
            f"embedding model {spec!r} (from {where}): {what}. llmos does not download "
            f"models at run time unless the node's allow_download input is true; get one "
            f"once with {GET_MODEL} and name PATH as embedding_model")
    folder = folder.resolve()
    if not (folder / "model.safetensors").is_file() and \
            not any(folder.glob("*/model.safetensors")):
        raise FileNotFoundError(
            f"embedding model {spec!r} (from {where}): {str(folder)!r} holds no "
            f"model.safetensors, so it is not a model2vec model folder (save one with "
            f"StaticModel.save_pretrained; e.g. {GET_MODEL})")
    return ModelRef(spec, folder, model_sha256(folder))


def model_sha256(folder: Path) -> str:
    """SHA-256 over the model folder's files (relative path and content of each, sorted;
    hidden files and folders left out). Each file's digest is remembered by path, size,
    modification time and inode, so an unchanged 30 MB model is not read again."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        st = path.stat()  # (follows the hub cache's symlinks to its blobs)
        key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
        with _lock:
            digest = _FILE_HASHES.get(key)
        if digest is None:
            with open(path, "rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
            with _lock:
                if len(_FILE_HASHES) > 256:
                    _FILE_HASHES.clear()
                _FILE_HASHES[key] = digest
        h.update(f"{rel.as_posix()}\0{digest}\0".encode())
    return h.hexdigest()


def load_model(ref: ModelRef, skill_id: str = "index-build") -> Any:
    """The ``model2vec.StaticModel`` in ``ref.path`` (kept per path and hash: a process
    loads a model once). Loads from the local folder only: no network.

    Raises:
        RequirementMissing: model2vec is not installed.
        FileNotFoundError: the folder is not a loadable model2vec model (model2vec's reason).
    """
    key = (str(ref.path), ref.sha256)
    with _lock:
        model = _MODELS.get(key)
    if model is not None:
        return model
    model2vec = require_model2vec(skill_id)
    try:
        model = model2vec.StaticModel.from_pretrained(str(ref.path), force_download=False)
    except (ValueError, OSError, KeyError) as exc:
        raise FileNotFoundError(f"embedding model {ref.name!r} in {str(ref.path)!r} could "
                                f"not be loaded by model2vec: {exc}") from None
    with _lock:
        if len(_MODELS) >= 4:  # a few models at most: each may be tens of MB
            _MODELS.pop(next(iter(_MODELS)))
        _MODELS[key] = model
    return model


def embed(model: Any, texts: list[str]) -> np.ndarray:
    """``(len(texts), dim)`` float32 rows of unit length (a text none of whose tokens the
    model knows gets a zero row). Texts longer than the model's ``max_length`` tokens
    (512 unless its config says otherwise) are embedded from their first tokens."""
    import numpy as np

    vectors = np.asarray(model.encode(list(texts), show_progress_bar=False,
                                      use_multiprocessing=False), dtype=np.float32)
    vectors = vectors.reshape(len(texts), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    np.divide(vectors, norms, out=vectors, where=norms > 0)
    return vectors


def top_k(vectors: np.ndarray, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` rows of ``vectors`` (unit rows, ``(n, dim)``) most cosine-similar to the
    unit vector ``query`` (``(dim,)``), best first, as ``(row, cosine)`` with cosine > 0
    (ties keep index order)."""
    import numpy as np

    scores = vectors @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return [(int(i), float(scores[i])) for i in order if scores[i] > 0]
