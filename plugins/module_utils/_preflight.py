# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""Check mode as a preflight: what a real run would be refused, found out without changing anything.

A check-mode answer is a prediction, so it rests only on what the client has read and re-checked: the key
a change would be signed with (``verify_write_access``) and the products and job templates ``POST isos``
would schedule from (``predict_isos``), re-checked here because openQA ignores the filters of ``GET
products`` on every version.
"""

from __future__ import annotations

import fnmatch
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AuthError,
    InvalidInputError,
    NotFoundError,
    OpenQAError,
    RefusedError,
)

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

# GET isos/N sits behind openQA's operator check on 4.6 and master alike (the rights every change needs)
# and changes nothing: for N=0 an operator's key is answered 404 "Scheduled product does not exist",
# a missing, wrong, expired or too weak key 403. master's GET auth checks only that the key is valid.
WRITE_ACCESS_PROBE = "isos/0"


def verify_write_access(client: Client, doing: str) -> t.List[str]:
    """Status 5 now when the key would be refused the change a real run makes (``doing`` names it); the
    warnings to add when the server does not answer the probe as openQA does (nothing verified then)."""
    try:
        client.get(WRITE_ACCESS_PROBE)
    except NotFoundError:
        return []
    except AuthError as error:
        raise AuthError("%s; a real run would be refused %s (check mode verified the key with GET %s, which "
                        "changes nothing)" % (error.message, doing, WRITE_ACCESS_PROBE)) from None
    except OpenQAError as error:
        return ["check mode could not verify the key with GET %s (%s): a real run may still be refused %s"
                % (WRITE_ACCESS_PROBE, error.message, doing)]
    return []


def _alternatives(value: str) -> t.Set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


def _products(client: Client, settings: t.Mapping[str, str]) -> t.List[dict]:
    """The products POST isos schedules from, chosen as openQA chooses them: DISTRI lower-cased, FLAVOR and
    ARCH exactly, VERSION exactly, and only when no product has the exact version, a version pattern
    (``*``; master also globs such as ``15*``)."""
    listed = client.get("products", {"distri": settings["DISTRI"].lower(), "flavor": settings["FLAVOR"],
                                     "arch": settings["ARCH"]}).get("Products") or []
    # openQA ignores these three filters and answers every product: they are applied here
    candidates = [p for p in listed if isinstance(p, dict) and p.get("distri") == settings["DISTRI"].lower()
                  and p.get("flavor") == settings["FLAVOR"] and p.get("arch") == settings["ARCH"]]
    exact = [p for p in candidates if p.get("version") == settings["VERSION"]]
    return exact or [p for p in candidates if "*" in str(p.get("version"))
                     and fnmatch.fnmatchcase(settings["VERSION"], str(p.get("version")))]


def predict_isos(client: Client, settings: t.Mapping[str, str], group: t.Optional[t.Mapping[str, t.Any]],
                 product_name: str) -> int:
    """Check mode of build new: what POST isos would refuse, read beforehand and failing as the real run
    would fail; returns how many jobs it would create (one per matching job template)."""
    products = _products(client, settings)
    if not products:
        raise InvalidInputError("openQA would schedule nothing: no products found for %s-%s-%s-%s; check DISTRI, "
                                "VERSION, FLAVOR and ARCH against its products"
                                % tuple(settings[key] for key in ("DISTRI", "VERSION", "FLAVOR", "ARCH")))
    query: t.Dict[str, t.Any] = {"arch": settings["ARCH"]}
    query.update({"group_id": group["id"]} if group is not None else {})
    listed = [tpl for tpl in client.get("job_templates", query).get("JobTemplates") or [] if isinstance(tpl, dict)
              and (group is None or tpl.get("group_name") == group.get("name"))]
    templates = []
    for product in products:
        own = [tpl for tpl in listed if (tpl.get("product") or {}).get("id") == product.get("id")]
        if not own:
            # openQA answers 404 for the first product without a template in the group
            raise NotFoundError("no job templates: openQA would find no templates for product %s-%s-%s-%s; check "
                                "--group and the group's job templates for %s"
                                % (tuple(product.get(key) for key in ("distri", "version", "flavor", "arch"))
                                   + (product_name,)))
        templates += own
    tests, machines = _alternatives(settings.get("TEST", "")), _alternatives(settings.get("MACHINE", ""))
    matching = [tpl for tpl in templates if (not tests or (tpl.get("test_suite") or {}).get("name") in tests)
                and (not machines or (tpl.get("machine") or {}).get("name") in machines)]
    if not matching:
        raise RefusedError("openQA would schedule no job for %s: no job template matches (check --group, TEST "
                           "and MACHINE)" % product_name, returns={"ids": [], "scheduled_product_id": None})
    return len(matching)
