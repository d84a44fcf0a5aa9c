# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""Investigating a failed job (``test investigate``), as os-autoinst/scripts' openqa-investigate does.

Up to four clones of the failed job, each named ``TEST:investigate:KIND``:
``retry`` (the job again: sporadic?), ``last_good_tests`` (its build with the test code of the scenario's
last good run, CASEDIR pinned to that run's TEST_GIT_HASH: test regression?), ``last_good_build`` (the last
good run's build with today's tests: product regression?) and ``last_good_tests_and_build`` (both old:
the environment?). Clones leave the group and the build, drop every PUBLISH_* setting, carry
OPENQA_INVESTIGATE_ORIGIN and get the origin's priority plus prio_add. They are made by ``test clone``
(idempotent: an identical clone is found, not made twice), and listed in one comment on the origin in
openqa-investigate's format; that comment is how a rerun finds the investigation (changed false, same ids).
``conclude`` turns the finished investigation into a verdict, posted once through ``test comment``.

The scenario's last good run: openQA's own investigation data (``/tests/N/investigation_ajax``, the test
page's "Investigation" tab, which openqa-investigate reads; master also keeps to the job's history
isolation keys), and where that has nothing to say because the job has no result directory, the newest
earlier passed or softfailed job of the scenario over the API (docs/compatibility.md).
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    InvalidInputError,
    NotFoundError,
    OpenQAError,
    Result,
    failed_after,
)
from ansible_collections.openqa.client.plugins.module_utils._clone import clone
from ansible_collections.openqa.client.plugins.module_utils._comments import comment, job_comments
from ansible_collections.openqa.client.plugins.module_utils._job_reads import (
    OK_RESULTS,
    get_job,
    is_final,
    jobs_in,
    list_jobs,
    matches_filters,
)

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

KINDS = ("retry", "last_good_tests", "last_good_build", "last_good_tests_and_build")
INVESTIGATED_RESULTS = frozenset({"failed", "incomplete", "timeout_exceeded"})
# openQA results that say a job did not run to an end (openqa-investigate's is-cancelled)
CANCELLED_RESULTS = frozenset({"none", "skipped", "user_cancelled", "user_restarted", "parallel_restarted",
                               "obsoleted"})
DEFAULT_CASEDIR = "https://github.com/os-autoinst/os-autoinst-distri-opensuse.git"
_HEADER = "Automatic investigation jobs for job %d:"
# a line per job: ours "* *TEST:investigate:KIND*: t#ID", openqa-investigate's also ":HASH" or ":BUILD" after KIND
_LINE = re.compile(r"^\* \*[^*\n]*:investigate:(%s)(?::[^*\n]*)?\*: t#(\d+)" % "|".join(KINDS), re.MULTILINE)
_SCENARIO = ("DISTRI", "VERSION", "FLAVOR", "ARCH", "TEST", "MACHINE")
_CLUSTER_KINDS = ("Parallel", "Directly chained")
VERDICTS = {
    "sporadic": "the retry passed: likely a sporadic failure",
    "product regression": "the jobs with the last good build passed: likely a product regression",
    "test regression": "the jobs with the last good tests passed: likely a test regression",
    "infrastructure": "all investigation jobs failed: likely the test environment (settings, external "
                      "resources, infrastructure)",
    "not sporadic": "the retry failed too: likely not a sporadic failure",
    "unclear": "the investigation jobs disagree: look at them",
    "cancelled": "an investigation job did not run to its end: nothing to conclude",
}


def investigate(client: Client, params: dict) -> Result:
    """Investigate each job (or say why not); with conclude, the verdict of finished investigations."""
    try:
        exclude = re.compile(params["exclude_group"]) if params["exclude_group"] else None
    except re.error as exc:
        raise InvalidInputError("exclude_group %r is not a regular expression (%s)"
                                % (params["exclude_group"], exc)) from None
    entries: t.List[dict] = []
    warnings: t.List[str] = []
    changed = False
    for job_id in dict.fromkeys(params["id"]):
        try:
            entry, made = _investigate_one(client, job_id, params, exclude, warnings)
            entries.append(entry)
            changed = changed or made
            if params["conclude"] and entry["jobs"]:
                changed = _conclude(client, entry) or changed
        except OpenQAError as error:
            changed = changed or error.changed
            if not changed:
                raise
            done = Result(returns=entries, changed=changed, warnings=warnings, message=_summary(entries))
            return failed_after(done, "investigating job %d" % job_id, error)
    return Result(returns=entries, changed=changed, warnings=warnings, message=_summary(entries))


def _investigate_one(client: Client, job_id: int, params: dict, exclude: t.Optional[t.Pattern[str]],
                     warnings: t.List[str]) -> t.Tuple[dict, bool]:
    job = get_job(client, job_id)
    entry: dict = {"id": job_id, "skipped": None, "existing": False, "last_good": None, "last_good_source": None,
                   "jobs": {}, "not_cloned": {}, "comment": None, "verdict": None, "verdict_text": None}
    entry["skipped"] = _skip_reason(job, params, exclude)
    if entry["skipped"]:
        return entry, False
    found = _existing_investigation(client, job_id)
    if found:
        entry.update(existing=True, jobs=found[1], comment=found[0])
        return entry, False
    good_id, entry["last_good_source"] = _last_good(client, job)
    entry["last_good"] = good_id
    plans = _plans(client, job, good_id, entry["not_cloned"])
    vars_common = _common_vars(client, job)
    priority = int(job["priority"]) + params["prio_add"] if job.get("priority") is not None else None
    changed = False
    clones: t.Dict[str, t.Optional[int]] = {}
    for kind, (source_id, extra) in plans.items():
        try:
            made = clone(client, _clone_params(source_id, vars_common + extra + [("TEST", _name(job, kind))]))
        except OpenQAError as error:
            if not changed:
                raise
            entry["jobs"] = clones
            raise type(error)("%s (cloning %s; made so far: %s; rerun to finish)"
                              % (error.message, kind, clones), changed=True) from None
        clones[kind] = made.returns["id"]
        changed = changed or made.changed
        warnings += made.warnings
        if made.changed and priority is not None and not client.check_mode:
            # POST jobs stores _PRIORITY of a clone as a plain setting: openqa-investigate sets it afterwards too
            client.post("jobs/%d/prio" % made.returns["id"], {"prio": priority})
    entry["jobs"] = clones
    text = _comment_text(job, clones)
    posted = comment(client, {"id": [job_id], "text": text, "remove": False})
    entry["comment"] = text
    return entry, changed or posted.changed


def _skip_reason(job: dict, params: dict, exclude: t.Optional[t.Pattern[str]]) -> t.Optional[str]:
    """Why openqa-investigate would leave this job alone, or None."""
    settings = job.get("settings") or {}
    test = str(job.get("test") or settings.get("TEST") or "")
    if ":investigate:" in test or settings.get("OPENQA_INVESTIGATE_ORIGIN"):
        return "it is an investigation job itself"
    if not is_final(job) or job.get("result") not in INVESTIGATED_RESULTS:
        return "not failed (%s)" % (job.get("result") if is_final(job) else job.get("state"))
    cluster = sorted({kind for side in ("parents", "children") for kind in _CLUSTER_KINDS
                      if (job.get(side) or {}).get(kind)})
    if cluster:
        return "in a %s cluster, which investigation jobs cannot reproduce" % " and ".join(cluster).lower()
    if str(settings.get("NO_INVESTIGATION") or "") == "1":
        return "NO_INVESTIGATION=1 is set"
    if job.get("clone_id"):
        return "already restarted as %s" % job["clone_id"]
    if not job.get("group_id") and not params["include_no_group"]:
        return "not in a job group (include_no_group investigates it)"
    group = "%s / %s" % (job.get("parent_group") or "", job.get("group") or "")
    if exclude and exclude.search(group):
        return "its group %r matches exclude_group %r" % (group, exclude.pattern)
    return None


def _existing_investigation(client: Client, job_id: int) -> t.Optional[t.Tuple[str, t.Dict[str, int]]]:
    """The origin's investigation comment (ours or openqa-investigate's) and the jobs it lists, by kind."""
    header = _HEADER % job_id
    for entry in sorted(job_comments(client, job_id), key=lambda c: int(c["id"])):
        text = str(entry.get("text") or "")
        if text.startswith(header):
            return text, {kind: int(new) for kind, new in _LINE.findall(text)}
    return None


def _last_good(client: Client, job: dict) -> t.Tuple[t.Optional[int], str]:
    """The scenario's last good job before this one, and where it was learnt."""
    job_id = int(job["id"])
    try:
        data = client.get("/tests/%d/investigation_ajax" % job_id)
    except NotFoundError:
        data = {"error": "no investigation data"}
    if isinstance(data, dict) and "error" not in data:
        good = data.get("last_good")
        text = str(good.get("text")) if isinstance(good, dict) else ""
        return (int(text) if text.isdigit() else None), "investigation_ajax"
    if isinstance(data, dict) and str(data.get("error", "")).startswith("No previous job"):
        return None, "investigation_ajax"
    settings = job.get("settings") or {}
    scenario = {key.lower(): settings[key] for key in _SCENARIO if settings.get(key)}
    filters = dict(scenario, state="done", result=sorted(OK_RESULTS))
    earlier = [other for other in jobs_in(client.get("jobs", dict(filters, before=job_id, limit=1)))
               if matches_filters(other, filters) and int(other["id"]) < job_id]
    return (max(int(other["id"]) for other in earlier) if earlier else None), "jobs API"


def _vars(client: Client, job_id: int) -> dict:
    """The job's vars.json (what the worker ran with: TEST_GIT_HASH, TEST_GIT_URL); {} when it has none."""
    try:
        answer = client.get("/tests/%d/file/vars.json" % job_id)
    except NotFoundError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _plans(client: Client, job: dict, good_id: t.Optional[int],
           not_cloned: t.Dict[str, str]) -> t.Dict[str, t.Tuple[int, t.List[t.Tuple[str, str]]]]:
    """kind -> (job to clone, extra settings); why each other kind is not cloned goes to ``not_cloned``."""
    job_id = int(job["id"])
    plans: t.Dict[str, t.Tuple[int, t.List[t.Tuple[str, str]]]] = {"retry": (job_id, [])}
    if good_id is None:
        for kind in KINDS[1:]:
            not_cloned[kind] = "no good run of the scenario before this job"
        return plans
    now, then = _vars(client, job_id), _vars(client, good_id)
    good = get_job(client, good_id)
    tests_differ = bool(now.get("TEST_GIT_HASH") and then.get("TEST_GIT_HASH")) and \
        now["TEST_GIT_HASH"] != then["TEST_GIT_HASH"]
    builds_differ = (job.get("settings") or {}).get("BUILD") != (good.get("settings") or {}).get("BUILD")
    casedir = [("CASEDIR", "%s#%s" % (_repository(job, now), then.get("TEST_GIT_HASH")))]
    if tests_differ:
        plans["last_good_tests"] = (job_id, casedir)
    else:
        unrecorded = [str(i) for i, found in ((job_id, now), (good_id, then)) if not found.get("TEST_GIT_HASH")]
        not_cloned["last_good_tests"] = ("no TEST_GIT_HASH in the vars.json of job %s" % " and ".join(unrecorded)
                                         if unrecorded else "the same TEST_GIT_HASH as the last good job %d" % good_id)
    if builds_differ:
        plans["last_good_build"] = (good_id, [])
    else:
        not_cloned["last_good_build"] = "the same build as the last good job %d" % good_id
    if tests_differ and builds_differ:
        plans["last_good_tests_and_build"] = (good_id, casedir)
    else:
        not_cloned["last_good_tests_and_build"] = "it would repeat %s" % (
            "last_good_build" if builds_differ else "last_good_tests" if tests_differ else "retry")
    return plans


def _repository(job: dict, job_vars: t.Mapping[str, t.Any]) -> str:
    """The test repository to pin: TEST_GIT_URL as the worker recorded it, else CASEDIR without a refspec."""
    url = job_vars.get("TEST_GIT_URL") or (job.get("settings") or {}).get("CASEDIR") or DEFAULT_CASEDIR
    return str(url).split("#", 1)[0]


def _common_vars(client: Client, job: dict) -> t.List[t.Tuple[str, str]]:
    pairs = [("_GROUP_ID", "0"), ("BUILD", ""), ("_TRIGGER_JOB_DONE_HOOK", "1"),
             ("OPENQA_INVESTIGATE_ORIGIN", "%s/t%d" % (client.base_url, int(job["id"])))]
    return pairs + [(key, "") for key in sorted(job.get("settings") or {}) if key.startswith("PUBLISH_")]


def _name(job: dict, kind: str) -> str:
    return "%s:investigate:%s" % (job.get("test") or (job.get("settings") or {}).get("TEST"), kind)


def _clone_params(source_id: int, pairs: t.List[t.Tuple[str, str]]) -> dict:
    """``test clone`` of the job alone, as openqa-investigate calls openqa-clone-job (--skip-chained-deps)."""
    return {"id": [source_id], "vars": pairs, "to": None, "skip_deps": False, "clone_children": False,
            "skip_chained_deps": True, "max_depth": 1, "parental_inheritance": False, "repeat": 1,
            "ignore_missing_assets": False, "force": False, "wait": False}


def _comment_text(job: dict, clones: t.Mapping[str, t.Optional[int]]) -> str:
    lines = ["* *%s*: t#%s" % (_name(job, kind), "?" if new is None else new) for kind, new in clones.items()]
    return "%s\n\n%s" % (_HEADER % int(job["id"]), "\n".join(lines))


def verdict(results: t.Mapping[str, str]) -> str:
    """The verdict from each investigation job's result (openqa-investigate's identify-issue-type)."""
    ok = {kind: result in OK_RESULTS for kind, result in results.items()}
    if ok.get("retry"):
        return "sporadic"
    if any(result in CANCELLED_RESULTS for result in results.values()):
        return "cancelled"
    if ok.get("last_good_build") and not ok.get("last_good_tests"):
        return "product regression"
    if ok.get("last_good_tests") and not ok.get("last_good_build"):
        return "test regression"
    if len(results) == 1:
        return "not sporadic"
    return "infrastructure" if not any(ok.values()) else "unclear"


def _conclude(client: Client, entry: dict) -> bool:
    """The verdict once every investigation job is final ("pending" before); posted once on the origin."""
    ids = {kind: new for kind, new in entry["jobs"].items() if new is not None}
    if not ids:
        return False
    jobs = list_jobs(client, ids.values())
    if not all(new in jobs and is_final(jobs[new]) for new in ids.values()):
        entry["verdict"] = "pending"
        return False
    results = {kind: str(jobs[new].get("result")) for kind, new in ids.items()}
    entry["verdict"] = verdict(results)
    entry["verdict_text"] = VERDICTS[entry["verdict"]]
    lines = ["* %s: t#%d %s" % (kind, ids[kind], result) for kind, result in results.items()]
    text = "Investigation of job %d concluded: %s.\n\n%s" % (entry["id"], entry["verdict_text"], "\n".join(lines))
    return comment(client, {"id": [entry["id"]], "text": text, "remove": False}).changed


def _summary(entries: t.Sequence[dict]) -> str:
    parts = []
    for entry in entries:
        if entry["skipped"]:
            parts.append("job %d skipped: %s" % (entry["id"], entry["skipped"]))
            continue
        jobs = ", ".join("%s %s" % (kind, "(new)" if new is None else new) for kind, new in entry["jobs"].items())
        state = "already investigated" if entry["existing"] else "investigated"
        verdict_part = "; verdict: %s" % entry["verdict"] if entry["verdict"] else ""
        parts.append("job %d %s by %s%s" % (entry["id"], state, jobs, verdict_part))
    return "; ".join(parts) or "no jobs"
