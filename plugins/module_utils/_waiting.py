# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""Waiting for jobs to finish, shared by the test and build entries.

One poll is one ``GET jobs?ids=A&ids=B...`` for every job still pending (the listing carries
state, result and clone_id), so waiting for many jobs costs no more requests than for one.
"""

from __future__ import annotations

import time
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.envelope import OpenQAError, Result, Status, failed_after
from ansible_collections.openqa.client.plugins.module_utils._job_reads import (
    MAX_CLONE_HOPS,
    OK_RESULTS,
    is_final,
    job_status,
    list_jobs,
    relative_ids,
    unknown_jobs_error,
)

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client


class _Tracker:
    """Which job currently stands for each requested id (itself or its newest clone)."""

    def __init__(self, job_ids: t.Sequence[int], follow: bool) -> None:
        self.follow = follow
        self.current = {job_id: job_id for job_id in job_ids}
        self.final: t.Dict[int, dict] = {}
        self.latest: t.Dict[int, dict] = {}
        self.hops = {job_id: 0 for job_id in job_ids}

    def pending_ids(self) -> t.List[int]:
        return sorted({current for origin, current in self.current.items() if origin not in self.final})

    def update(self, jobs: t.Mapping[int, dict]) -> bool:
        """Take one poll's answer; True when a restart was found (worth polling again at once)."""
        moved = False
        for origin, current in self.current.items():
            if origin in self.final:
                continue
            job = jobs[current]
            self.latest[origin] = job
            clone = job.get("clone_id")
            if self.follow and clone and self.hops[origin] < MAX_CLONE_HOPS:
                self.current[origin] = int(clone)
                self.hops[origin] += 1
                moved = True
            elif is_final(job):
                self.final[origin] = job
        return moved

    def not_ok(self) -> t.Dict[int, dict]:
        return {origin: job for origin, job in self.final.items() if job_status(job) not in OK_RESULTS}

    def restarted(self, clones: t.Mapping[int, t.Optional[int]]) -> bool:
        """Follow restarts made by this wait (old id -> new id): those jobs are pending again."""
        moved = False
        for origin, current in self.current.items():
            new = clones.get(current)
            if new:
                self.current[origin] = new
                # until the next poll: the restarted job's scenario, as openQA copies it into the clone
                self.latest[origin] = dict(self.latest[origin], id=new, state="scheduled", result="none",
                                           clone_id=None, modules=[])
                self.final.pop(origin, None)
                moved = True
        return moved

    def words(self) -> t.Dict[str, str]:
        return {str(origin): job_status(self.latest[origin]) for origin in self.current if origin in self.latest}

    def current_words(self) -> t.Dict[str, str]:
        """The words by the id of the job that now stands for each requested one (a restart's own id)."""
        return {str(job["id"]): job_status(job) for job in self.latest_jobs()}

    def latest_jobs(self) -> t.List[dict]:
        return [self.latest[origin] for origin in self.current if origin in self.latest]


# Given the final jobs that are not ok (by the id they were asked for) and what tells the wait's returns
# at any later time, restarts those it should and answers {old id: new id}; nothing restarted ends the wait.
Retry = t.Callable[[t.Dict[int, dict], t.Callable[[], t.Any]], t.Mapping[int, t.Optional[int]]]
# Turns the jobs as last seen (each requested job or the clone standing for it) into the wait's returns.
Describe = t.Callable[[t.List[dict]], t.Any]


def wait_for_jobs(client: Client, job_ids: t.Sequence[int], *, timeout: float, interval: float,
                  follow: bool = True, listed: t.Optional[t.Mapping[int, dict]] = None,
                  retry: t.Optional[Retry] = None, describe: t.Optional[Describe] = None) -> Result:
    """Poll until every job is final; returns ``{str(id): status word}`` for the ids asked for.

    ``listed``: the jobs as the caller just listed them (build wait); they count as the first poll.
    ``retry``: called with the jobs that are final and not ok (and whose relatives are final), as soon as
    there are any; the jobs it restarts are waited for in the same polls (build wait --max-attempts).
    ``describe``: returns made from the jobs as last polled instead of the words (build wait answers
    what build info would, from the same listing); the messages then name the current jobs too.

    With ``follow`` a restarted job is replaced by its clone (the word is the clone's).
    In check mode it polls once and returns at once: a preflight's verdict, status 0 (would pass), NOT_OK
    (would fail) or UNDECIDED when jobs are still pending (cannot know yet).
    Status NOT_OK when any final word is not passed/softfailed, TIMEOUT when time ran out
    (the words then show what is still scheduled or running), NOT_FOUND for unknown ids.
    """
    tracker = _Tracker(list(dict.fromkeys(job_ids)), follow)
    give_up_at = time.monotonic() + timeout
    first = dict(listed or {})

    def answer() -> t.Any:
        return describe(tracker.latest_jobs()) if describe is not None else tracker.words()

    # messages name the jobs the returns name: the requested ids, or with describe the current jobs
    words = tracker.words if describe is None else tracker.current_words

    while True:
        wanted = tracker.pending_ids()
        jobs = first if first and set(wanted) <= set(first) else list_jobs(client, wanted)
        first = {}
        missing = set(wanted) - set(jobs)
        if missing:
            raise unknown_jobs_error(client, missing)
        if tracker.update(jobs):
            continue
        # a failure is restarted as soon as it is final, not when the slowest job is: from this poll's
        # listing, so a poll is still one request (and one POST when something is restarted)
        settled = _settled(tracker.not_ok(), tracker.pending_ids())
        if settled and retry is not None and tracker.restarted(retry(settled, answer)):
            continue
        if not tracker.pending_ids():
            return _finished(words(), answer(), client.check_mode)
        if client.check_mode:
            # a final failure nothing will restart already decides the verdict, pending jobs or not
            return _not_waiting(words(), answer(), {} if retry is not None else tracker.not_ok())
        remaining = give_up_at - time.monotonic()
        if remaining <= 0:
            return _timed_out(words(), answer(), timeout)
        client.progress(_progress_line(words()))
        time.sleep(min(interval, remaining))


def _settled(bad: t.Dict[int, dict], pending: t.Sequence[int]) -> t.Dict[int, dict]:
    """The final not-ok jobs whose cluster is final too: openQA restarts a job with its parents and
    children, so one with a relative still running waits for it."""
    waiting = set(pending)
    return {origin: job for origin, job in bad.items() if not waiting.intersection(relative_ids(job))}


def _finished(words: t.Dict[str, str], returns: t.Any, check_mode: bool) -> Result:
    """Every job is final: ok (check mode: the gate would pass) or status 7 (would fail)."""
    bad = {job_id: word for job_id, word in words.items() if word not in OK_RESULTS}
    prefix = "check mode: would fail: " if check_mode else ""
    if bad:
        return Result(returns=returns, status=Status.NOT_OK, message="%sfinished, not ok: %s"
                      % (prefix, ", ".join("%s %s" % item for item in sorted(bad.items()))))
    return Result(returns=returns, message="check mode: would pass: every job is final and ok" if check_mode else "ok")


def _timed_out(words: t.Dict[str, str], returns: t.Any, timeout: float) -> Result:
    pending = sorted(job_id for job_id, word in words.items() if word in ("scheduled", "running"))
    return Result(returns=returns, status=Status.TIMEOUT,
                  message="timeout after %.0f s: still pending: %s" % (timeout, ", ".join(pending)))


def _not_waiting(words: t.Dict[str, str], returns: t.Any, settled_bad: t.Mapping[int, dict]) -> Result:
    """Check mode does not block: with jobs pending, the verdict is "would fail" when a final job is not ok
    and nothing will restart it, else not known yet (status 10, never a pass)."""
    pending = sorted(job_id for job_id, word in words.items() if word in ("scheduled", "running"))
    waiting = "%d jobs are pending (%s)" % (len(pending), ", ".join(pending))
    if settled_bad:
        failed = ", ".join("%s %s" % (job["id"], job_status(job)) for _origin, job in sorted(settled_bad.items()))
        return Result(returns=returns, status=Status.NOT_OK,
                      message="check mode: would fail: finished, not ok: %s; %s" % (failed, waiting))
    return Result(returns=returns, status=Status.UNDECIDED,
                  message="check mode: cannot know yet: %s; a real run waits until they are final" % waiting)


def _progress_line(words: t.Dict[str, str]) -> str:
    counts: t.Dict[str, int] = {}
    for word in words.values():
        counts[word] = counts.get(word, 0) + 1
    return "waiting for %d jobs: %s" % (len(words), ", ".join("%d %s" % (n, w) for w, n in sorted(counts.items())))


def then_wait(client: Client, params: t.Mapping[str, t.Any], result: Result, job_ids: t.Sequence[int],
              shape: t.Callable[[t.Any], t.Any]) -> Result:
    """--wait after an action that created jobs (restart, clone, build new): the wait decides the status.

    ``shape`` turns the wait's ``{id: word}`` into the action's returns (its shape plus ``results``).
    A poll that fails keeps the action's change and new ids.
    """
    if not params.get("wait") or result.status != Status.OK or client.check_mode or not job_ids:
        return result
    try:
        waited = wait_for_jobs(client, list(job_ids), timeout=params["timeout"], interval=params["interval"])
    except OpenQAError as error:
        return failed_after(result, "waiting for %s" % ", ".join(str(i) for i in job_ids), error)
    message = waited.message if result.message == "ok" else "%s; %s" % (result.message, waited.message)
    return Result(returns=shape(waited.returns), status=waited.status, changed=result.changed,
                  message=message, warnings=result.warnings)
