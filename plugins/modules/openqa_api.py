#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: openqa_api
short_description: Send one signed request to any openQA API route
version_added: 1.0.0
description:
  - The escape hatch for what no other module covers, like C(openqa-cli api).
  - The request goes through the same client as every module, so it is signed with the API key, a read is retried on
    transient failures until O(deadline), and errors have the usual status codes (2 not found, 4 rejected parameters,
    5 authentication, 6 server failure).
  - The same call is available on the command line as C(openqa-ctl api [-X METHOD] PATH [KEY=VALUE ...]).
options:
  method:
    description:
      - The HTTP method. Only a V(GET) is retried; a V(POST), V(PUT) or V(DELETE) is sent once.
      - In check mode a V(GET) is sent and any other method is not; its result is then V(changed=true) and
        RV(returns) describes the request that would be sent.
    type: str
    choices: [GET, POST, PUT, DELETE]
    default: GET
  path:
    description:
      - The route, relative to O(apibase) as C(openqa-cli api) takes it, so V(jobs/1) and V(/jobs/1) both mean
        C(/api/v1/jobs/1).
      - A full URL is invalid input (status 4); the server is O(host). Required.
    type: str
  params:
    description:
      - Parameters, the query of a V(GET) and the form of the other methods (the query when O(body) or O(data_file)
        is given).
      - A dictionary, where a list value sends its key once per item (V(jobs=[1, 2]) sends C(jobs=1&jobs=2)), or a list
        of C(KEY=VALUE) strings, where a key may repeat.
    type: raw
  param_file:
    description:
      - C(KEY=PATH) items; each sends C(KEY) with the content of the file C(PATH) on the controlled node.
      - As C(openqa-cli api --param-file).
    type: list
    elements: str
  body:
    description:
      - The request body. A dictionary or list is sent as JSON with C(Content-Type application/json), a string as it is.
      - Mutually exclusive with O(data_file).
    type: raw
  data_file:
    description:
      - A file on the controlled node whose content is the request body (at most 64 MiB).
    type: str
  json:
    description:
      - Send the body labelled C(Content-Type application/json), as C(openqa-cli api --json).
    type: bool
    default: false
  apibase:
    description:
      - The base O(path) is relative to. V(/) reaches the routes outside the API, such as
        V(/dashboard_build_results).
    type: str
    default: /api/v1
extends_documentation_fragment:
  - openqa.client.connection
  - openqa.client.connection.attributes
attributes:
  check_mode:
    support: full
    description: A V(GET) runs; any other method is not sent and is reported as a change.
author:
  - openqa.client contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Read a job's details
  openqa.client.openqa_api:
    host: https://openqa.example.com
    path: jobs/4242/details
  register: job

- name: Set a job's priority with a raw POST
  openqa.client.openqa_api:
    host: https://openqa.example.com
    method: POST
    path: jobs/4242/prio
    params:
      prio: 30

- name: Post job templates as YAML from a file
  openqa.client.openqa_api:
    host: https://openqa.example.com
    method: POST
    path: job_templates_scheduling/1
    params:
      schema: JobTemplates-01.yaml
    param_file:
      - template=templates/group1.yaml
"""

RETURN = r"""
returns:
  description:
    - The server's JSON answer, as it sent it.
    - In check mode for a method other than V(GET), the request that would be sent (C(method), C(path), C(params) as
      key/value pairs, C(body_bytes)).
  returned: success
  type: raw
  sample: {"job": {"id": 4242, "state": "done", "result": "passed"}}
status:
  description:
    - The status code of the proposal's envelope; 0 is ok, 2 not found (HTTP 404), 4 invalid input (HTTP 400),
      5 authentication, 6 a server failure or an answer that is not JSON (the message holds its first line).
  returned: always
  type: int
  sample: 0
msg:
  description: The envelope's message, the method, path and HTTP status, or what went wrong.
  returned: always
  type: str
  sample: "GET /api/v1/jobs/4242/details: HTTP 200"
credential_source:
  description: Where the API credentials came from (options, environment, client.conf section) or V(none (anonymous)).
  returned: when the connection options were valid
  type: str
  sample: none (anonymous)
server:
  description:
    - The openQA server the action talked to, as outputs show it (C(user:password@) in O(host) becomes C(***@)),
      for reports that name the server.
  returned: when the connection options were valid
  type: str
  sample: https://openqa.example.com
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.openqa.client.plugins.module_utils._runner import run_module
from ansible_collections.openqa.client.plugins.module_utils._api import ENTRY


def main() -> None:
    run_module(AnsibleModule, ENTRY, supports_check_mode=True, missing_lib=missing_required_lib)


if __name__ == "__main__":
    main()
