# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""Rule-based labelling of failed jobs (``test label``), the job of os-autoinst/scripts' auto-review
(openqa-label-known-issues).

A rule is ``{pattern, label, retry, force_result}``. The pattern, a regular expression, is searched in the
job's reason followed by its ``autoinst-log.txt`` as one text (``.`` matches a newline only with ``(?s)``,
as auto-review's ``grep -Pz``). The log is streamed to a scratch file by ``test download``'s fetcher, with
its size cap and the client's deadline, and read back only when within the cap. The first matching rule
labels the job through ``test comment`` (idempotent); ``retry`` restarts it once (``max_attempts`` 2, so a
rerun or the restarted job's failure is not restarted again); ``force_result`` writes openQA's
``label:force_result:RESULT:`` comment, refused unless ``allow_force_result`` (auto-review's default too).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    InvalidInputError,
    NotFoundError,
    OpenQAError,
    RefusedError,
    Result,
    failed_after,
)
from ansible_collections.openqa.client.plugins.module_utils._comments import comment
from ansible_collections.openqa.client.plugins.module_utils._download import (
    DEFAULT_ASSET_LIMIT,
    fetch_job_file,
    parse_size,
)
from ansible_collections.openqa.client.plugins.module_utils._job_reads import (
    OK_RESULTS,
    first_failed_module,
    get_jobs,
    id_list,
    job_status,
)
from ansible_collections.openqa.client.plugins.module_utils._restart import restart_jobs

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

LOG = "autoinst-log.txt"
RULE_KEYS = ("pattern", "module", "label", "retry", "force_result")
# the results openQA's label:force_result accepts (OpenQA::Jobs::Constants' RESULTS a person may set)
FORCE_RESULTS = ("none", "passed", "softfailed", "failed", "incomplete", "skipped", "obsoleted",
                 "parallel_failed", "parallel_restarted", "user_cancelled", "user_restarted",
                 "timeout_exceeded")
# a job restarted by a retry rule is left alone once its scenario has run this often
RETRY_ATTEMPTS = 2


class Rule(t.NamedTuple):
    number: int
    pattern: t.Optional[t.Pattern[str]]
    module: t.Optional[t.Pattern[str]]
    label: str
    retry: bool
    force_result: t.Optional[str]

    @property
    def text(self) -> str:
        """The comment: openQA's force_result label, when asked for, in front of the label."""
        return "label:force_result:%s:%s" % (self.force_result, self.label) if self.force_result else self.label


def load_rules(value: t.Any, allow_force_result: bool) -> t.List[Rule]:
    """Rules from a list (inline) or a file name (YAML or JSON); every rule checked before any job is read."""
    raw = _read_rules_file(value) if isinstance(value, str) else value
    if not isinstance(raw, list) or not raw:
        raise InvalidInputError("rules must be a non-empty list of {pattern, label, retry, force_result}, inline "
                                "or in a YAML/JSON file")
    return [_rule(number, item, allow_force_result) for number, item in enumerate(raw, 1)]


def _read_rules_file(path: str) -> t.Any:
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise InvalidInputError("cannot read the rules file %s: %s" % (path, exc.strerror or exc)) from None
    try:
        import yaml  # guarded: the CLI without PyYAML still reads JSON rules
    except ImportError:
        yaml = None
    if yaml is not None:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInputError("the rules file %s is not valid YAML: %s" % (path, exc)) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInputError("the rules file %s is not valid JSON (PyYAML is not installed for YAML): %s"
                                % (path, exc)) from None


def _rule(number: int, item: t.Any, allow_force_result: bool) -> Rule:
    where = "rule %d" % number
    if not isinstance(item, dict):
        raise InvalidInputError("%s is not a mapping: write it as {pattern: REGEX, label: TEXT}" % where)
    unknown = sorted(set(item) - set(RULE_KEYS))
    if unknown:
        raise InvalidInputError("%s has unknown keys %s: a rule has %s" % (where, ", ".join(unknown),
                                                                           ", ".join(RULE_KEYS)))
    label = item.get("label")
    if item.get("pattern") is None and item.get("module") is None:
        raise InvalidInputError("%s has no pattern: give a regular expression searched in the reason and %s (or "
                                "module, one the name of the first failed test module must match)" % (where, LOG))
    if not isinstance(label, str) or not label.strip():
        raise InvalidInputError("%s has no label: give the comment text, e.g. 'poo#1234 known issue'" % where)
    pattern, module = (_regex(where, key, item.get(key)) for key in ("pattern", "module"))
    retry = item.get("retry") or False
    if not isinstance(retry, bool):
        raise InvalidInputError("%s: retry must be true or false, got %r" % (where, retry))
    force_result = item.get("force_result")
    if force_result is not None:
        if force_result not in FORCE_RESULTS:
            raise InvalidInputError("%s: force_result %r is not an openQA result (%s)"
                                    % (where, force_result, ", ".join(FORCE_RESULTS)))
        if not allow_force_result:
            raise RefusedError("%s sets force_result %s: refused unless allow_force_result is given (as "
                               "auto-review, which disables it by default); nothing was done"
                               % (where, force_result))
    return Rule(number, pattern, module, label.strip(), retry, force_result)


def _regex(where: str, key: str, value: t.Any) -> t.Optional[t.Pattern[str]]:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidInputError("%s: %s must be a non-empty regular expression, got %r" % (where, key, value))
    try:
        return re.compile(value)
    except re.error as exc:
        raise InvalidInputError("%s: %s %r is not a regular expression (%s)" % (where, key, value, exc)) from None


def first_match(rules: t.Sequence[Rule], module: t.Optional[str], text: t.Callable[[], str]) -> t.Optional[Rule]:
    """The first rule whose module matches the first failed module (whole name) and whose pattern is found in
    the text; the text (reason and log) is read only when a rule with a pattern gets that far."""
    for rule in rules:
        if rule.module is not None and not (module and rule.module.fullmatch(module)):
            continue
        if rule.pattern is None or rule.pattern.search(text()):
            return rule
    return None


def job_text(client: Client, job: dict, limit: int, warnings: t.List[str]) -> str:
    """The job's reason, a newline, then its autoinst-log.txt when it has one within ``limit`` bytes."""
    reason = str(job.get("reason") or "")
    job_id = int(job["id"])
    with tempfile.TemporaryDirectory(prefix="openqa-label-") as scratch:
        target = os.path.join(scratch, LOG)
        try:
            outcome, size = fetch_job_file(client, job_id, LOG, target, limit)
        except NotFoundError:
            warnings.append("job %d has no %s: matched against its reason only" % (job_id, LOG))
            return reason
        if outcome == "too large":
            warnings.append("job %d: %s (%d bytes) is larger than log_size_limit %d: matched against its reason "
                            "only" % (job_id, LOG, size, limit))
            return reason
        with open(target, "rb") as handle:
            log = handle.read(limit + 1)
    return reason + "\n" + log.decode("utf-8", errors="replace")


class _JobText:
    """The job's reason and log, fetched the first time a rule asks for them."""

    def __init__(self, client: Client, job: dict, limit: int, warnings: t.List[str]) -> None:
        self.client, self.job, self.limit, self.warnings = client, job, limit, warnings
        self.text: t.Optional[str] = None

    def __call__(self) -> str:
        if self.text is None:
            self.text = job_text(self.client, self.job, self.limit, self.warnings)
        return self.text


def label(client: Client, params: dict) -> Result:
    """Label each failed job by the first rule matching its reason and log; returns one entry per job.

    Every job is matched first (nothing is posted before all logs are read); then each label is posted in one
    ``test comment`` for all its jobs (one bulk request where openQA has it), the retries are one restart.
    """
    rules = load_rules(params["rules"], bool(params["allow_force_result"]))
    limit = parse_size(params["log_size_limit"] or DEFAULT_ASSET_LIMIT, "log_size_limit")
    job_ids = list(dict.fromkeys(params["id"]))
    jobs = get_jobs(client, job_ids)
    warnings: t.List[str] = []
    entries: t.Dict[int, dict] = {}
    matched: t.Dict[int, Rule] = {}
    for job_id in job_ids:
        job = jobs[job_id]
        entry = entries[job_id] = {"id": job_id, "status": job_status(job), "outcome": "unknown", "rule": None,
                                   "label": None, "commented": False, "restarted": None}
        if job.get("state") != "done" or job.get("result") in OK_RESULTS:
            # as auto-review: only jobs that ran to a result that is not ok have a failure to label
            entry["outcome"] = "not failed" if job.get("result") in OK_RESULTS else "not run"
            continue
        rule = first_match(rules, first_failed_module(job), _JobText(client, job, limit, warnings))
        if rule is not None:
            matched[job_id] = rule
            entry.update(outcome="labelled", rule=rule.number, label=rule.text)
    changed = False
    step = "labelling"
    try:
        for text in dict.fromkeys(rule.text for rule in matched.values()):
            posted = comment(client, {"id": [i for i, rule in matched.items() if rule.text == text], "text": text,
                                      "remove": False})
            for job_id in posted.returns:
                entries[job_id]["commented"] = True
            changed = changed or posted.changed
        step = "retrying"
        changed = _retry(client, [i for i, rule in matched.items() if rule.retry], entries, warnings) or changed
        step = "reading the forced results of"
        forced = {i: rule.force_result for i, rule in matched.items() if rule.force_result}
        if forced and not client.check_mode:
            _check_forced(client, forced, entries, warnings)
    except OpenQAError as error:
        done = Result(returns=list(entries.values()), changed=changed, warnings=warnings,
                      message=_summary(entries.values()))
        return failed_after(done, "%s jobs %s" % (step, id_list(matched)), error)
    return Result(returns=list(entries.values()), changed=changed, warnings=warnings,
                  message=_summary(entries.values()))


def _retry(client: Client, job_ids: t.List[int], entries: t.Dict[int, dict], warnings: t.List[str]) -> bool:
    """Restart the jobs of retry rules once, in one request; a job that ran twice already is left alone."""
    if not job_ids:
        return False
    restarted = restart_jobs(client, job_ids, max_attempts=RETRY_ATTEMPTS)
    for job_id in job_ids:
        entries[job_id]["restarted"] = restarted.returns["clones"].get(str(job_id))
    warnings += restarted.warnings
    left = [i for i in job_ids if entries[i]["restarted"] is None]
    if left and not client.check_mode:
        warnings.append("jobs %s: %s" % (id_list(left), restarted.message))
    return restarted.changed


def _check_forced(client: Client, forced: t.Dict[int, str], entries: t.Dict[int, dict],
                  warnings: t.List[str]) -> None:
    """The results after label:force_result, read back in one listing: the answer says what openQA made of it."""
    jobs = get_jobs(client, list(forced))
    for job_id, result in forced.items():
        entries[job_id]["status"] = job_status(jobs[job_id])
        if entries[job_id]["status"] != result:
            warnings.append("job %d: openQA did not apply label:force_result:%s (it is %s: check the server's "
                            "force_result_regex)" % (job_id, result, entries[job_id]["status"]))


def _summary(entries: t.Iterable[dict]) -> str:
    by_outcome: t.Dict[str, t.List[int]] = {}
    for entry in entries:
        by_outcome.setdefault(entry["outcome"], []).append(entry["id"])
    return "; ".join("%s: %s" % (outcome, id_list(ids)) for outcome, ids in sorted(by_outcome.items()))
