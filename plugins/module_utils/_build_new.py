# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""build new: ``POST isos``, made idempotent by first listing the jobs of the same product and build."""

from __future__ import annotations

import time
import typing as t

from ansible_collections.openqa.client.plugins.module_utils._api import file_pairs
from ansible_collections.openqa.client.plugins.module_utils._build_jobs import (
    CANCELLED_BY_A_PERSON,
    PAGE_SIZE,
    alternatives,
    one_group,
)
from ansible_collections.openqa.client.plugins.module_utils._job_reads import (
    group_filter,
    id_list,
    resolve_group,
    search_pages,
)
from ansible_collections.openqa.client.plugins.module_utils._preflight import (
    predict_isos,
    verify_write_access,
)
from ansible_collections.openqa.client.plugins.module_utils._waiting import then_wait
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AmbiguousError,
    InvalidInputError,
    NotFoundError,
    RefusedError,
    Result,
    ServerError,
    Status,
    UnreachableError,
)

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client


# What identifies a scheduled build: the settings POST isos requires, and BUILD.
PRODUCT_SETTINGS = ("DISTRI", "VERSION", "FLAVOR", "ARCH")
# Jobs in these results no longer stand for a scheduled build: new may schedule it again. A job a person
# cancelled (user_cancelled) still stands: their decision is left alone unless force.
DROPPED_RESULTS = frozenset({"obsoleted"})
BUILD_IDENTITY = PRODUCT_SETTINGS + ("BUILD",)


def _iso_pairs(params: t.Mapping[str, t.Any]) -> t.List[t.Tuple[str, str]]:
    """The POST isos parameters in order, as openqa-cli schedule sends them: --vars, then --param-file
    (KEY=PATH, the file's content), then the group as _GROUP_ID or _GROUP. A key given several times is
    sent several times."""
    pairs = []
    for key, value in list(params["vars"] or []) + file_pairs(params["param_file"]):
        # openQA upper-cases every key but async, which switches to asynchronous scheduling.
        pairs.append((key if key == "async" else key.upper(), value))
    group_keys = {"_GROUP", "_GROUP_ID"} & {pair[0] for pair in pairs}
    if params["group"] is not None:
        if group_keys:
            raise AmbiguousError("ambiguous options: --group and --vars %s both name the group; give it once"
                                 % "/".join(sorted(group_keys)))
        key, value = group_filter(params["group"])
        pairs.append(("_GROUP_ID" if key == "groupid" else "_GROUP", str(value)))
    return pairs


def _product_name(settings: t.Mapping[str, str]) -> str:
    return "%s build %s" % ("-".join(settings.get(k, "?") for k in PRODUCT_SETTINGS), settings.get("BUILD"))


def _scheduled_jobs(client: Client, settings: t.Mapping[str, str]) -> t.Dict[int, dict]:
    """The current jobs of this product and build that still stand (not obsoleted nor replaced by a
    restart), by id; TEST and MACHINE, when given, narrow it as they narrow POST isos."""
    query: t.Dict[str, t.Any] = {key.lower(): settings[key] for key in BUILD_IDENTITY}
    # openQA stores a job's DISTRI lower-cased (JobSettings) and GET jobs compares it exactly
    query["distri"] = settings["DISTRI"].lower()
    if settings.get("_GROUP_ID"):
        query["groupid"] = int(settings["_GROUP_ID"])  # digits: checked by _resolve_group_of_new
    elif settings.get("_GROUP"):
        query["group"] = settings["_GROUP"]
    tests = set(alternatives(settings.get("TEST", "")))
    machines = set(alternatives(settings.get("MACHINE", "")))
    standing = {}
    # paged with explicit limits: newer openQA cuts an unlimited listing at 1000 jobs
    for job in search_pages(client, query, page_size=PAGE_SIZE).values():
        if job.get("clone_id") or job.get("result") in DROPPED_RESULTS:
            continue
        if (tests and job.get("test") not in tests) or \
                (machines and (job.get("settings") or {}).get("MACHINE") not in machines):
            continue
        standing[int(job["id"])] = job
    return standing


def new(client: Client, params: dict) -> Result:
    pairs = _iso_pairs(params)
    settings = dict(pairs)  # what identifies the build: the last value of a repeated key
    missing = [key for key in BUILD_IDENTITY if not settings.get(key)]
    if missing:
        raise InvalidInputError("missing parameters: %s: 'build new' needs DISTRI, VERSION, FLAVOR, ARCH (as "
                                "POST isos does) and BUILD (the build's identity); give them with --vars KEY=VALUE"
                                % " ".join(missing))
    group = _resolve_group_of_new(client, settings)
    standing = _scheduled_jobs(client, settings)
    existing = sorted(standing)
    if existing and not params["force"]:
        cancelled = [job_id for job_id in existing if standing[job_id].get("result") == CANCELLED_BY_A_PERSON]
        by_a_person = "; %s cancelled by a person, which is left alone" % id_list(cancelled) if cancelled else ""
        result = Result(returns={"ids": existing, "scheduled_product_id": None},
                        message="already scheduled: %d jobs of %s%s; force schedules it again"
                        % (len(existing), _product_name(settings), by_a_person))
        return _wait_for_build(client, params, result)
    if client.check_mode:
        jobs = predict_isos(client, settings, group, _product_name(settings))
        unverified = verify_write_access(client, "scheduling %s (POST isos)" % _product_name(settings))
        return Result(returns={"ids": [], "scheduled_product_id": None}, changed=True, warnings=unverified,
                      message="would schedule %s (POST isos): %d jobs, one per matching job template"
                      % (_product_name(settings), jobs))
    result = _post_isos(client, settings, pairs, existing)
    if params["wait"] and result.status == Status.OK and settings.get("async") not in (None, "", "0"):
        started = time.monotonic()
        result = _await_async_product(client, params, result)
        params = dict(params, timeout=max(0.0, params["timeout"] - (time.monotonic() - started)))
    return _wait_for_build(client, params, result)


def _resolve_group_of_new(client: Client, settings: t.Mapping[str, str]) -> t.Optional[dict]:
    """The group POST isos is given, read before posting: openQA would schedule a product (and
    for an unknown name, jobs of every group) rather than refuse an unknown group."""
    group_id, name = settings.get("_GROUP_ID", "").strip(), settings.get("_GROUP")
    if not group_id and not name:
        return None
    if group_id and not (group_id.isascii() and group_id.isdigit()):
        raise InvalidInputError("_GROUP_ID=%s is not a group id: give the id's digits, or the name as --group"
                                % group_id)
    try:
        _query, groups = resolve_group(client, groupid=int(group_id)) if group_id else resolve_group(client, name=name)
    except NotFoundError as error:
        raise NotFoundError("%s; nothing was scheduled" % error.message) from None
    return one_group(groups, group_id or name)


def _wait_for_build(client: Client, params: t.Mapping[str, t.Any], result: Result) -> Result:
    """new --wait: the scheduled jobs' results go next to their ids."""
    return then_wait(client, params, result, (result.returns or {}).get("ids") or [],
                     lambda waited: dict(result.returns, results=waited))


def _await_async_product(client: Client, params: t.Mapping[str, t.Any], result: Result) -> Result:
    """async=1 with --wait: poll the scheduled product (GET isos/N) until openQA has created its jobs."""
    product_id = result.returns["scheduled_product_id"]
    give_up_at = time.monotonic() + params["timeout"]
    while True:
        product = client.get("isos/%d" % int(product_id))
        if product.get("status") == "scheduled":
            break
        if time.monotonic() + params["interval"] > give_up_at:
            message = ("scheduled product %s is still %r after %.0f s: openQA has not created its jobs (is its "
                       "gru service running?)" % (product_id, product.get("status"), params["timeout"]))
            return Result(returns=result.returns, status=Status.TIMEOUT, changed=True, message=message)
        client.progress("scheduled product %s is %s; waiting for openQA to create its jobs"
                        % (product_id, product.get("status")))
        time.sleep(params["interval"])
    outcome = product.get("results") or {}
    answer = {"ids": outcome.get("successful_job_ids") or [], "failed": outcome.get("failed_job_info") or [],
              "scheduled_product_id": product_id}
    if outcome.get("error"):
        answer["error"] = outcome["error"]
    return _interpret_isos_answer(product.get("settings") or {}, answer)


def _post_isos(client: Client, settings: t.Dict[str, str], pairs: t.List[t.Tuple[str, str]],
               existing: t.List[int]) -> Result:
    try:
        answer = client.post("isos", pairs)
    except NotFoundError as error:
        # openQA answers 404 when the group has no job template for the product.
        raise NotFoundError("no job templates: %s; check --group and the group's job templates for %s"
                            % (error.message, _product_name(settings))) from None
    except (UnreachableError, ServerError) as error:
        return _outcome_after_failed_post(client, settings, existing, error)
    return _interpret_isos_answer(settings, answer)


def _outcome_after_failed_post(client: Client, settings: t.Mapping[str, str], existing: t.List[int],
                               error: Exception) -> Result:
    """The POST may have reached openQA: read what it scheduled instead of posting twice."""
    try:
        created = sorted(set(_scheduled_jobs(client, settings)) - set(existing))
    except (UnreachableError, ServerError):
        raise UnreachableError("%s; POST isos may or may not have scheduled %s, and reading it back failed too: "
                               "check the server before running it again" % (error, _product_name(settings))) from None
    if not created:
        raise UnreachableError("%s; openQA shows no new job of %s, so nothing was scheduled: run it again (it "
                               "schedules only what is not scheduled yet)" % (error, _product_name(settings)))
    return Result(returns={"ids": created, "scheduled_product_id": None}, changed=True,
                  warnings=["the answer to POST isos was lost (%s); openQA shows %d new jobs of %s, so it was "
                            "scheduled once; the scheduled product id is unknown" % (error, len(created),
                                                                                     _product_name(settings))])


def _interpret_isos_answer(settings: t.Mapping[str, str], answer: t.Mapping[str, t.Any]) -> Result:
    """POST isos answers 200 for most failures: read error, failed and count."""
    ids = sorted(int(i) for i in answer.get("ids") or [])
    returns = {"ids": ids, "scheduled_product_id": answer.get("scheduled_product_id")}
    if answer.get("error"):
        raise InvalidInputError("openQA scheduled nothing: %s; check DISTRI, VERSION, FLAVOR and ARCH against "
                                "its products" % answer["error"], returns=returns)
    failed = answer.get("failed") or []
    if failed:
        returns["failed"] = failed
        message = "openQA created %d jobs and failed %d: %s" % (len(ids), len(failed), _failure_text(failed))
        return Result(returns=returns, status=Status.REFUSED, changed=True, message=message)
    if "ids" not in answer:
        return Result(returns=returns, changed=True, message="scheduled %s asynchronously as scheduled product %s"
                      % (_product_name(settings), answer.get("scheduled_product_id")),
                      warnings=["scheduled asynchronously (async): openQA creates the jobs later; see GET isos/%s, "
                                "or add --wait" % answer.get("scheduled_product_id")])
    if not ids:
        raise RefusedError("openQA scheduled no job for %s: no job template matches (check --group, TEST "
                           "and MACHINE)" % _product_name(settings), returns=returns)
    # every mutating action says what it did, as test restart does
    return Result(returns=returns, changed=True, message="scheduled %s as jobs %s (scheduled product %s)"
                  % (_product_name(settings), id_list(ids), answer.get("scheduled_product_id")))


def _failure_text(failed: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    """openQA repeats one message per job: list each message once, with its jobs."""
    jobs_by_message: t.Dict[str, t.List[str]] = {}
    for entry in failed:
        messages = entry.get("error_messages") or [entry.get("error_message")]
        who = "job %s" % entry["job_id"] if entry.get("job_id") else "test %s" % entry.get("job_name")
        for message in messages:
            jobs_by_message.setdefault(str(message).split("\n", maxsplit=1)[0], []).append(who)
    return "; ".join("%s (%s)" % (message, ", ".join(who)) for message, who in jobs_by_message.items())
