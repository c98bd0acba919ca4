"""The set-based ledger jobs live in ``members.jobs``; this module keeps their old import path."""

from ..jobs import ChunkResult, expire_points, member_id_ranges, release_pending_points
from ..jobs.points import expire_lots_chunk, release_pending_chunk

__all__ = [
    "ChunkResult",
    "expire_lots_chunk",
    "expire_points",
    "member_id_ranges",
    "release_pending_chunk",
    "release_pending_points",
]
