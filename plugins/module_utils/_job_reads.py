# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""Reading jobs: status words, listings by id, paging through searches, clone chains.

Shared by the test, build and worker entries and by waiting.
"""

from __future__ import annotations

import typing as t

from ansible_collections.openqa.client.plugins.module_utils.envelope import InvalidInputError, NotFoundError

# openQA states (lib/OpenQA/Jobs/Constants.pm) folded into the proposal's two pending words.
PENDING_STATES = {"scheduled": "scheduled", "assigned": "scheduled",
                  "setup": "running", "running": "running", "uploading": "running"}
FINAL_STATES = frozenset({"done", "cancelled"})
OK_RESULTS = frozenset({"passed", "softfailed"})
# Long id lists make long URLs; past this many ids one poll becomes several requests.
IDS_PER_REQUEST = 200
# A restart chain longer than this is a loop or a runaway retry, not something to follow.
MAX_CLONE_HOPS = 50

DEPENDENCY_TYPES = ("Chained", "Directly chained", "Parallel")
MAX_LIMIT = 10000  # openQA's misc_limits.generic_max_limit


def job_status(job: t.Mapping[str, t.Any]) -> str:
    """One word for a job's (state, result) pair; see the status table in the module docs."""
    state, result = job.get("state"), job.get("result")
    if state in PENDING_STATES:
        return PENDING_STATES[state]
    if result and result != "none":
        return result
    return state or "unknown"


def is_final(job: t.Mapping[str, t.Any]) -> bool:
    return job.get("state") in FINAL_STATES


def list_jobs(client: t.Any, job_ids: t.Iterable[int]) -> t.Dict[int, dict]:
    """Jobs by id, in as few ``GET jobs?ids=`` requests as the URL length allows; unknown ids are absent."""
    ids = sorted(set(job_ids))
    found: t.Dict[int, dict] = {}
    for start in range(0, len(ids), IDS_PER_REQUEST):
        chunk = ids[start:start + IDS_PER_REQUEST]
        # an explicit limit: newer openQA cuts every listing at 1000 jobs unless told otherwise
        for job in client.get("jobs", {"ids": chunk, "limit": len(chunk)})["jobs"]:
            found[int(job["id"])] = job
    return found


def unknown_jobs_error(client: t.Any, missing: t.Iterable[int]) -> NotFoundError:
    return NotFoundError("unknown test: there is no job %s on %s"
                         % (", ".join(str(i) for i in sorted(missing)), client.base_url))


def one_id(params: t.Mapping[str, t.Any], action: str) -> int:
    ids = params["id"]
    if len(ids) != 1:
        raise InvalidInputError("'test %s' takes one --id, got %d" % (action, len(ids)))
    return ids[0]


def get_job(client: t.Any, job_id: int, follow: bool = False) -> dict:
    """``follow``: the newest clone of the job where the server follows restarts (``follow=1``, newer than
    4.6) in this one request; 4.6 ignores it and answers the job itself (clone_id set: see newest_clone)."""
    try:
        return client.get("jobs/%d" % job_id, {"follow": 1} if follow else None)["job"]
    except NotFoundError:
        raise unknown_jobs_error(client, [job_id])


def get_jobs(client: t.Any, job_ids: t.Iterable[int]) -> t.Dict[int, dict]:
    """All of these jobs in one listing request; any unknown id is status 2."""
    job_ids = list(job_ids)
    jobs = list_jobs(client, job_ids)
    missing = set(job_ids) - set(jobs)
    if missing:
        raise unknown_jobs_error(client, missing)
    return jobs


def clone_chain(client: t.Any, job: dict) -> t.List[dict]:
    """The job and its restarts (clone_id), oldest first, one request per restart; 4.6 has no follow=1."""
    chain = [job]
    while chain[-1].get("clone_id") and len(chain) <= MAX_CLONE_HOPS:
        chain.append(get_job(client, int(chain[-1]["clone_id"])))
    return chain


def newest_clone(client: t.Any, job: dict) -> dict:
    """The newest restart of the job: one ``follow=1`` request where the server follows clones, else one
    request per restart (openQA 4.6 ignores follow=1: its answer still has a clone_id, so the walk goes on)."""
    if job.get("clone_id"):
        job = get_job(client, int(job["clone_id"]), follow=True)
    return clone_chain(client, job)[-1]


def parent_ids(job: t.Mapping[str, t.Any]) -> t.List[int]:
    parents = job.get("parents") or {}
    return sorted({int(i) for kind in DEPENDENCY_TYPES for i in parents.get(kind) or []})


def id_list(ids: t.Iterable[int]) -> str:
    return ", ".join(str(i) for i in ids)


def group_filter(group: t.Any) -> t.Tuple[str, t.Any]:
    """A group given as ASCII digits is a group id, anything else a name: the ``GET jobs`` filter for it."""
    text = str(group)
    if text.isascii() and text.isdigit():
        return "groupid", int(text)
    return "group", text


def search_pages(client: t.Any, filters: t.Mapping[str, t.Any], *, limit: t.Optional[int] = None,
                 page_size: int = 0, older: t.Optional[t.Callable[[dict], bool]] = None,
                 before: t.Optional[int] = None) -> t.Dict[int, dict]:
    """The newest ``limit`` jobs matching (all of them when None, below ``before``), newest first in
    pages; stop early once a page is all ``older``.

    openQA takes each page in descending id order but sorts it by id as a string, so the
    next page starts below the smallest id seen (``before``), not at an offset. Pages double
    in size, so a shallow search stays cheap and a deep one takes few requests. A page that
    brings no job not seen before ends the search: a server that ignores ``before`` cannot
    make it loop.
    """
    found: t.Dict[int, dict] = {}
    page_size = page_size or limit or MAX_LIMIT
    while limit is None or len(found) < limit:
        want = min(page_size, MAX_LIMIT, limit - len(found) if limit is not None else MAX_LIMIT)
        page = client.get("jobs", dict(filters, limit=want, before=before))["jobs"]
        known = len(found)
        for job in page:
            found[int(job["id"])] = job
        if len(page) < want or len(found) == known or (older and all(older(job) for job in page)):
            break
        before = min(int(job["id"]) for job in page)
        page_size *= 2
        client.progress("searched %d jobs, down to id %d" % (len(found), before))
    return found
