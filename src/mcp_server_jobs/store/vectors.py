"""An in-memory copy of the job vectors of one model, for brute-force cosine search.

The rows live in SQLite (`job_vectors`); this copy is brought up to date before each search by
reading the jobs whose `job_changes.seq` passed the last one seen, so another process's writes show
up too. Filters (owner, status, type) are numpy masks applied before ranking.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from mcp_server_jobs.models import JobStatus, JobType

_T = TypeVar("_T", bound=np.generic)
_STATUS_CODES = {status.value: code for code, status in enumerate(JobStatus)}
_TYPE_CODES = {job_type.value: code for code, job_type in enumerate(JobType)}


@dataclass(frozen=True)
class IndexRow:
    """One changed job as the index needs it; `vector` is None when it has none from this model."""

    pk: int
    job_id: str
    user_id: str
    status: str
    job_type: str
    change_seq: int
    vector: bytes | None


def to_blob(vector: NDArray[np.float32]) -> bytes:
    """A vector as stored: float32, little-endian."""
    return np.asarray(vector, dtype="<f4").tobytes()


class VectorIndex:
    """Vectors of one model with each job's owner, status and type, searchable by cosine."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.seen = 0  # the highest change seq applied
        self.dim: int | None = None
        self._rows: dict[int, int] = {}  # job pk -> row
        self._ids: list[str] = []
        self._user_codes: dict[str, int] = {}
        self._size = 0
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._user = np.zeros(0, dtype=np.int32)
        self._status = np.zeros(0, dtype=np.int8)
        self._type = np.zeros(0, dtype=np.int8)
        self._has = np.zeros(0, dtype=bool)

    def __len__(self) -> int:
        return int(self._has[: self._size].sum())

    def reserve(self, rows: int) -> None:
        """Make room for `rows` jobs in all (avoids regrowing while a large database loads)."""
        if rows <= len(self._user):
            return
        size = self._size
        if self.dim is not None:
            self._matrix = _grown(self._matrix, rows, size)
        self._user = _grown(self._user, rows, size)
        self._status = _grown(self._status, rows, size)
        self._type = _grown(self._type, rows, size)
        self._has = _grown(self._has, rows, size)

    def apply(self, rows: Iterable[IndexRow]) -> None:
        """Take in changed jobs (in change seq order)."""
        for row in rows:
            vector = None if row.vector is None else np.frombuffer(row.vector, dtype="<f4")
            if vector is not None and self.dim is None:
                self.dim = len(vector)
                self._matrix = np.zeros((len(self._user), self.dim), dtype=np.float32)
            if vector is not None and len(vector) != self.dim:
                vector = None  # the same model id with another size: treat as missing
            at = self._rows.get(row.pk)
            if at is None:
                at = self._append(row.pk, row.job_id)
            self._user[at] = self._user_codes.setdefault(row.user_id, len(self._user_codes))
            self._status[at] = _STATUS_CODES[row.status]
            self._type[at] = _TYPE_CODES[row.job_type]
            self._has[at] = vector is not None
            if vector is not None:
                self._matrix[at] = vector
            self.seen = max(self.seen, row.change_seq)

    def _append(self, pk: int, job_id: str) -> int:
        if self._size == len(self._user):
            self.reserve(max(1024, self._size + self._size // 2))
        at = self._size
        self._size += 1
        self._rows[pk] = at
        self._ids.append(job_id)
        return at

    def search(
        self,
        user_id: str,
        vector: NDArray[np.float32],
        *,
        statuses: Sequence[JobStatus],
        job_types: Sequence[JobType],
        include_archived: bool,
        limit: int,
        min_similarity: float,
    ) -> list[tuple[str, float]]:
        """The user's best-matching job ids with their cosine similarity, best first."""
        user = self._user_codes.get(user_id)
        if user is None or self.dim is None or len(vector) != self.dim:
            return []
        n = self._size
        mask = self._has[:n] & (self._user[:n] == user)
        if statuses:
            mask &= _allowed(_STATUS_CODES, [s.value for s in statuses], len(JobStatus))[self._status[:n]]
        elif not include_archived:
            mask &= self._status[:n] != _STATUS_CODES[JobStatus.ARCHIVED.value]
        if job_types:
            mask &= _allowed(_TYPE_CODES, [t.value for t in job_types], len(JobType))[self._type[:n]]
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            return []
        query = np.asarray(vector, dtype=np.float32)
        # A full matrix-vector product streams memory once; gathering rows first only pays
        # when the filters leave a small part of it.
        scores = (self._matrix[:n] @ query)[rows] if rows.size * 3 > n else np.take(self._matrix, rows, axis=0) @ query
        keep = scores >= min_similarity
        rows, scores = rows[keep], scores[keep]
        if rows.size > limit:
            top = np.argpartition(-scores, limit - 1)[:limit]
            rows, scores = rows[top], scores[top]
        order = np.argsort(-scores, kind="stable")
        return [(self._ids[rows[i]], float(scores[i])) for i in order]


def _allowed(codes: dict[str, int], values: Sequence[str], size: int) -> NDArray[np.bool_]:
    table = np.zeros(size, dtype=bool)
    table[[codes[v] for v in values]] = True
    return table


def _grown(array: NDArray[_T], rows: int, used: int) -> NDArray[_T]:
    grown = np.zeros((rows, *array.shape[1:]), dtype=array.dtype)
    grown[:used] = array[:used]
    return grown
