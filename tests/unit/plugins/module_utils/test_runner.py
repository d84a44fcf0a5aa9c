"""run_module: what a module answers when the action crashes or requests is missing."""

from __future__ import annotations

import typing as t

import pytest
from ansible.module_utils.basic import missing_required_lib

from ansible_collections.openqa.client.plugins.module_utils import _runner, client
from ansible_collections.openqa.client.plugins.module_utils._spec import Action, Entry, Option


class Exited(Exception):
    pass


class FakeModule:
    """The part of AnsibleModule run_module uses; exit_json/fail_json record and stop like the real ones."""

    outcome: t.Dict[str, t.Any] = {}

    def __init__(self, argument_spec: dict, supports_check_mode: bool) -> None:
        self.params = {name: spec.get("default") for name, spec in argument_spec.items()}
        self.params.update(action="go", host="http://127.0.0.1:9")
        self.check_mode = False
        self.no_log_values: t.Set[str] = set()

    warnings: t.List[str] = []

    def warn(self, message: str) -> None:
        FakeModule.warnings.append(message)

    def fail_json(self, **kwargs: t.Any) -> None:
        FakeModule.outcome = dict(kwargs, failed=True)
        raise Exited()

    def exit_json(self, **kwargs: t.Any) -> None:
        FakeModule.outcome = kwargs
        raise Exited()


def _crash(client: t.Any, params: dict) -> t.Any:
    # not one of the shape errors execute() turns into status 6: a bug of ours
    raise RuntimeError("a bug")


CRASHING = Entry("demo", "", options=(), actions=(Action("go", _crash, ""),))


def test_an_unexpected_exception_fails_with_msg_and_exception():
    with pytest.raises(Exited):
        _runner.run_module(FakeModule, CRASHING, True, missing_required_lib)
    outcome = FakeModule.outcome
    assert outcome["failed"] and outcome["status"] == 6 and outcome["changed"] is False
    assert outcome["msg"].startswith("internal error (RuntimeError: a bug)")
    assert "Traceback" in outcome["exception"] and "_crash" in outcome["exception"]


def _warns(client: t.Any, params: dict) -> t.Any:
    from ansible_collections.openqa.client.plugins.module_utils.envelope import Result

    return Result(warnings=["scheduled asynchronously; see GET isos/7, or add --wait"])


def test_warnings_are_worded_for_a_task_too():
    FakeModule.warnings = []
    waiting = Entry("demo", "", options=(Option("wait", "", type="bool", default=False),),
                    actions=(Action("go", _warns, ""),))
    with pytest.raises(Exited):
        _runner.run_module(FakeModule, waiting, True, missing_required_lib)
    assert FakeModule.outcome["status"] == 0
    assert FakeModule.warnings == ["scheduled asynchronously; see GET isos/7, or add wait"]


def test_missing_requests_is_ansibles_missing_required_lib_message(monkeypatch):
    monkeypatch.setattr(client, "HAS_REQUESTS", False)
    with pytest.raises(Exited):
        _runner.run_module(FakeModule, CRASHING, True, missing_required_lib)
    assert FakeModule.outcome["failed"] and FakeModule.outcome["msg"] == missing_required_lib("requests")
    assert "Failed to import the required Python library (requests)" in FakeModule.outcome["msg"]


@pytest.mark.parametrize("message, expected", [
    ("'test status' needs --id", "action=status needs id"),
    ("ambiguous options: --parent and --skip_children exclude each other; give one",
     "ambiguous options: parent and skip_children exclude each other; give one"),
    ("--to-api-key needs --to; --from is the server", "to_api_key needs to; host is the server"),
    ("--vars KEY=VALUE", "vars KEY=VALUE"),
    # not an option of this entry, a flag glued to a word, another entry's action
    ("--worker-host or --bogus", "--worker-host or --bogus"),
    ("x--id and 'build info'", "x--id and 'build info'"),
])
def test_messages_are_worded_for_a_task(message: str, expected: str) -> None:
    from ansible_collections.openqa.client.plugins.module_utils._jobs import ENTRY

    assert _runner.task_wording(ENTRY, message) == expected
