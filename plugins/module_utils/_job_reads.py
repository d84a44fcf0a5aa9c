# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""Reading jobs: status words, listings by id, paging through searches, clone chains.

Shared by the test, build and worker entries and by waiting.
"""

from __future__ import annotations

import difflib
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    InvalidInputError,
    NotFoundError,
    ServerError,
)

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

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
# GET jobs filters on a job setting; openQA skips such a filter when its value is 0 (Perl's false).
SETTING_FILTERS = ("build", "distri", "version", "flavor", "arch", "test", "machine")
# 10 million jobs at 10,000 a page: a search that needs more pages has met a server that does not page.
MAX_PAGES = 1000


def id_of(job: t.Any, path: str = "jobs") -> int:
    """A job's id, or status 6 when the server's job is not an object with an integer id."""
    value = job.get("id") if isinstance(job, dict) else None
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise ServerError("openQA answered %s with a job that has no integer id (%s)"
                          % (path, _shape(job.get("id") if isinstance(job, dict) else job)))
    return int(value)


def jobs_in(answer: t.Any, path: str = "jobs") -> t.List[dict]:
    """The ``jobs`` list of a listing answer, each an object with an id; status 6 for any other shape."""
    jobs = answer.get("jobs") if isinstance(answer, dict) else None
    if not isinstance(jobs, list):
        raise ServerError("openQA answered %s without a list of jobs (%s)" % (path, _shape(answer)))
    for job in jobs:
        id_of(job, path)
    return jobs


def _shape(value: t.Any) -> str:
    text = repr(value)
    return "got %s %s" % (type(value).__name__, text if len(text) <= 60 else text[:57] + "...")


def matches_filters(job: dict, filters: t.Any) -> bool:
    """Whether a listed job satisfies every GET jobs filter asked for.

    The server's filtering is checked again: openQA skips a filter whose value is 0, and a server that
    is not openQA may skip any. A job that does not match is dropped, so nothing acts on it.
    """
    # the HTTP client's module is imported when a verb runs, not when help lists the entries
    from ansible_collections.openqa.client.plugins.module_utils.client import param_pairs

    wanted: t.Dict[str, set] = {}
    for key, value in param_pairs(filters):
        wanted.setdefault(key, set()).add(value)
    settings = job.get("settings")
    if not isinstance(settings, dict):
        settings = {}
    for key, values in wanted.items():
        if key in SETTING_FILTERS:
            actual = job.get("test") if key == "test" else settings.get(key.upper())
        elif key == "groupid":
            actual = job.get("group_id") or 0
        elif key in ("group", "state", "result"):
            actual = job.get(key)
        elif key == "ids":
            actual = job.get("id")
        else:
            continue
        if str(actual) not in values:
            return False
    return True


def refuse_ignored_filters(filters: t.Any) -> None:
    """openQA answers every job for build=0 (or distri=0, ...): such a search cannot be asked of it."""
    from ansible_collections.openqa.client.plugins.module_utils.client import param_pairs

    ignored = ["%s=%s" % (key, value) for key, value in param_pairs(filters)
               if key in SETTING_FILTERS and value == "0"]
    if ignored:
        raise InvalidInputError("cannot search for %s: openQA ignores a job filter whose value is 0 and "
                                "would answer every job; no job was read or changed" % ", ".join(ignored))


def job_status(job: t.Mapping[str, t.Any]) -> str:
    """One word for a job's (state, result) pair; see the status table in the module docs."""
    state, result = job.get("state"), job.get("result")
    if state in PENDING_STATES:
        return PENDING_STATES[state]
    if result and result != "none":
        return result
    return state or "unknown"


def first_failed_module(job: t.Mapping[str, t.Any]) -> t.Optional[str]:
    """The name of the job's first failed test module (the listing's ``modules``), or None."""
    return next((module["name"] for module in job.get("modules") or [] if module.get("result") == "failed"), None)


def is_final(job: t.Mapping[str, t.Any]) -> bool:
    return job.get("state") in FINAL_STATES


def list_jobs(client: Client, job_ids: t.Iterable[int]) -> t.Dict[int, dict]:
    """Jobs by id, in as few ``GET jobs?ids=`` requests as the URL length allows; unknown ids are absent."""
    ids = sorted(set(job_ids))
    found: t.Dict[int, dict] = {}
    for start in range(0, len(ids), IDS_PER_REQUEST):
        chunk = ids[start:start + IDS_PER_REQUEST]
        # an explicit limit: newer openQA cuts every listing at 1000 jobs unless told otherwise
        for job in jobs_in(client.get("jobs", {"ids": chunk, "limit": len(chunk)})):
            if id_of(job) in chunk:
                found[id_of(job)] = job
    return found


def unknown_jobs_error(client: Client, missing: t.Iterable[int]) -> NotFoundError:
    return NotFoundError("unknown test: there is no job %s on %s"
                         % (", ".join(str(i) for i in sorted(missing)), client.base_url))


def one_id(params: t.Mapping[str, t.Any], action: str) -> int:
    ids = params["id"]
    if len(ids) != 1:
        raise InvalidInputError("'test %s' takes one --id, got %d" % (action, len(ids)))
    return ids[0]


def get_job(client: Client, job_id: int, follow: bool = False) -> dict:
    """``follow``: the newest clone of the job where the server follows restarts (``follow=1``, newer than
    4.6) in this one request; 4.6 ignores it and answers the job itself (clone_id set: see newest_clone)."""
    path = "jobs/%d" % job_id
    try:
        answer = client.get(path, {"follow": 1} if follow else None)
    except NotFoundError:
        raise unknown_jobs_error(client, [job_id]) from None
    job = answer.get("job") if isinstance(answer, dict) else None
    if not isinstance(job, dict):
        raise ServerError("openQA answered %s without a job object (%s)" % (path, _shape(answer)))
    return job


def get_jobs(client: Client, job_ids: t.Iterable[int]) -> t.Dict[int, dict]:
    """All of these jobs in one listing request; any unknown id is status 2."""
    job_ids = list(job_ids)
    jobs = list_jobs(client, job_ids)
    missing = set(job_ids) - set(jobs)
    if missing:
        raise unknown_jobs_error(client, missing)
    return jobs


def clone_chain(client: Client, job: dict) -> t.List[dict]:
    """The job and its restarts (clone_id), oldest first, one request per restart; 4.6 has no follow=1."""
    chain = [job]
    while chain[-1].get("clone_id") and len(chain) <= MAX_CLONE_HOPS:
        chain.append(get_job(client, int(chain[-1]["clone_id"])))
    return chain


def newest_clone(client: Client, job: dict) -> dict:
    """The newest restart of the job: one ``follow=1`` request where the server follows clones, else one
    request per restart (openQA 4.6 ignores follow=1: its answer still has a clone_id, so the walk goes on)."""
    if job.get("clone_id"):
        job = get_job(client, int(job["clone_id"]), follow=True)
    return clone_chain(client, job)[-1]


def parent_ids(job: t.Mapping[str, t.Any]) -> t.List[int]:
    parents = job.get("parents") or {}
    return sorted({int(i) for kind in DEPENDENCY_TYPES for i in parents.get(kind) or []})


def relative_ids(job: t.Mapping[str, t.Any]) -> t.List[int]:
    """Parents and children of every dependency kind: the jobs openQA may restart in the same cluster."""
    relatives = {int(i) for side in ("parents", "children") for kind in DEPENDENCY_TYPES
                 for i in (job.get(side) or {}).get(kind) or []}
    return sorted(relatives)


def id_list(ids: t.Iterable[int]) -> str:
    return ", ".join(str(i) for i in ids)


def group_filter(group: t.Any) -> t.Tuple[str, t.Any]:
    """A group given as ASCII digits is a group id, anything else a name: the ``GET jobs`` filter for it."""
    text = str(group)
    if text.isascii() and text.isdigit():
        return "groupid", int(text)
    return "group", text


def resolve_group(client: Client, group: t.Any = None, groupid: t.Optional[int] = None,
                  name: t.Optional[str] = None) -> t.Tuple[t.Dict[str, t.Any], t.List[dict]]:
    """The ``GET jobs`` filter for the group a user named and the groups it names (``id``, ``name``; both
    empty when none is named), after checking that it exists.

    openQA filters jobs by an unknown group name or id to no job at all, and POST isos schedules every
    group's templates for one, so an unknown group would read as "no build" or change the wrong thing:
    it is status 2 here, naming the near matches. A name matches as openQA's job listing (``group=``) and
    POST isos (``_GROUP``) match it, exactly and case-sensitively; digits are a group id, 0 the jobs
    without a group; ``name`` is a name even when it is all digits (POST isos' ``_GROUP``). Several groups
    may share a name under different parents. One request (``GET job_groups``).
    """
    if groupid is None and group is None and name is None:
        return {}, []
    key: str
    value: t.Any
    if name is not None:
        key, value = "group", name
    else:
        key, value = ("groupid", groupid) if groupid is not None else group_filter(group)
    if key == "groupid" and value == 0:
        return {"groupid": 0}, [{"id": 0, "name": None}]
    groups = [g for g in client.get("job_groups") if isinstance(g, dict)]
    field = "id" if key == "groupid" else "name"
    named = [g for g in groups if str(g.get(field)) == str(value)]
    if not named and key == "groupid":
        raise NotFoundError("unknown group: there is no job group %d on %s (openqa-ctl group search lists them)"
                            % (value, client.base_url))
    if not named:
        raise NotFoundError("unknown group: there is no job group named %r on %s%s"
                            % (value, client.base_url, _near_groups(str(value), groups)))
    return {key: value}, named


def _near_groups(wanted: str, groups: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    """The groups a typo or a case difference probably meant, as the end of an unknown group's message."""
    folded = wanted.casefold()
    close = set(difflib.get_close_matches(folded, [str(g.get("name")).casefold() for g in groups], cutoff=0.6))
    near = [g for g in groups if str(g.get("name")).casefold() in close
            or folded in str(g.get("name")).casefold() or str(g.get("name")).casefold() in folded]
    rule = "; group names match exactly, case included"
    if not near:
        return rule + " (openqa-ctl group search lists them)"
    return rule + ": did you mean %s?" % ", ".join("%r (id %s)" % (g.get("name"), g.get("id")) for g in near[:5])


def search_pages(client: Client, filters: t.Mapping[str, t.Any], *, limit: t.Optional[int] = None,
                 page_size: int = 0, older: t.Optional[t.Callable[[dict], bool]] = None,
                 before: t.Optional[int] = None) -> t.Dict[int, dict]:
    """The newest ``limit`` jobs matching (all of them when None, below ``before``), newest first in
    pages; stop early once a page is all ``older``.

    openQA takes each page in descending id order but sorts it by id as a string, so the
    next page starts below the smallest id seen (``before``), not at an offset. Pages double
    in size, so a shallow search stays cheap and a deep one takes few requests. A page that
    brings a job seen before, or one not below ``before``, ends the search: a server that ignores
    ``before`` or repeats ids cannot make it loop. Jobs that do not match every filter are dropped.
    """
    refuse_ignored_filters(filters)
    found: t.Dict[int, dict] = {}
    seen: t.Set[int] = set()
    page_size = page_size or limit or MAX_LIMIT
    for _page in range(MAX_PAGES):
        if limit is not None and len(found) >= limit:
            return found
        want = min(page_size, MAX_LIMIT, limit - len(found) if limit is not None else MAX_LIMIT)
        page = jobs_in(client.get("jobs", dict(filters, limit=want, before=before)))[:want]
        ids = [id_of(job) for job in page]
        repeated = bool(seen.intersection(ids)) or len(set(ids)) < len(ids) or \
            (before is not None and any(i >= before for i in ids))
        seen.update(ids)
        found.update((i, job) for i, job in zip(ids, page, strict=True)
                     if i not in found and matches_filters(job, filters))
        if len(page) < want or repeated or (older and all(older(job) for job in page)):
            return found
        before = min(ids)
        page_size *= 2
        client.progress("searched %d jobs, down to id %d" % (len(seen), before))
    raise ServerError("%s answered more than %d pages of jobs: it does not page like openQA"
                      % (client.base_url, MAX_PAGES))
