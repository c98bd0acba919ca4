"""Helpers for tests of any registered job: a job made to die partway through a run."""

from __future__ import annotations

from dataclasses import replace

from members.jobs import JOBS


class Killed(Exception):
    pass


def killed_after(monkeypatch, name: str, chunks: int) -> None:
    """Make job ``name`` die in chunk ``chunks + 1``, after that chunk did its work but before it
    committed (a worker killed mid-transaction)."""
    job = JOBS[name]
    calls = {"n": 0}

    def chunk(**kwargs):
        result = job.chunk(**kwargs)
        calls["n"] += 1
        if calls["n"] > chunks:
            raise Killed()
        return result

    monkeypatch.setitem(JOBS, name, replace(job, chunk=chunk))
