"""The local embedding model loads with onnxruntime's telemetry off."""

from __future__ import annotations

import os
from typing import Any

import onnxruntime
import pytest

from mcp_server_jobs.embeddings import _load_local, local_model_path


def test_telemetry_is_off_before_the_model_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    monkeypatch.delenv("ORT_DISABLE_TELEMETRY", raising=False)
    real_session = onnxruntime.InferenceSession

    def session(*args: Any, **kwargs: Any) -> Any:
        events.append(f"session, ORT_DISABLE_TELEMETRY={os.environ.get('ORT_DISABLE_TELEMETRY')}")
        return real_session(*args, **kwargs)

    monkeypatch.setattr(onnxruntime, "disable_telemetry_events", lambda: events.append("telemetry off"))
    monkeypatch.setattr(onnxruntime, "InferenceSession", session)
    embedder = _load_local(local_model_path())
    assert events == ["telemetry off", "session, ORT_DISABLE_TELEMETRY=1"]
    assert len(embedder.embed_sync(["a sentence"])[0]) == 384
