# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Connection options shared by every openqa.client module."""

    DOCUMENTATION = r"""
requirements:
  - requests (the Python library) on the host that runs the module
options:
  host:
    description:
      - The openQA server, as a URL (V(https://openqa.example.com), V(http://127.0.0.1:9526)) or a bare host name.
      - A bare name means https, except V(localhost), V(127.0.0.1) and V(::1), which mean http (as openqa-cli does).
      - V(o3), V(osd) and V(odn) are shortcuts for openqa.opensuse.org, openqa.suse.de and openqa.debian.net.
      - When not set, the environment variable E(OPENQA_HOST) is used, then V(http://localhost).
      - Redirects are never followed (they would carry the signed request elsewhere); a redirect fails with
        status 4 naming its target, so fix the host (https instead of http, a path prefix).
      - C(user:password@) in the URL is sent as HTTP basic auth (for a reverse proxy) and masked in every output.
    type: str
    aliases: [from]
  api_key:
    description:
      - The API key. When neither O(api_key) nor O(api_secret) is set, E(OPENQA_API_KEY) and E(OPENQA_API_SECRET) are
        used, then the section for this host in C(client.conf), looked up as openqa-cli does
        (E(OPENQA_CONFIG), C(~/.config/openqa), C(/etc/openqa), C(/usr/etc/openqa), with C(client.conf.d/*.conf)).
      - A credential is sent only to the instance it was given for. E(OPENQA_API_KEY)/E(OPENQA_API_SECRET) belong to
        the server E(OPENQA_HOST) names; without E(OPENQA_HOST), only to a task (or lookup, or inventory source)
        without a O(host) of its own. A O(host) of another server (each instance of an inventory, a lookup with its
        own O(host)) reads anonymously with a warning, and a change there fails with status 5 before it is sent.
      - The modules' result C(credential_source) says where the credentials came from.
      - Read actions work without credentials.
    type: str
  api_secret:
    description:
      - The API secret belonging to O(api_key). It is never logged nor returned.
    type: str
  validate_certs:
    description:
      - Verify the server's TLS certificate. Turn it off only for a server you trust on a network you trust.
      - O(validate_certs) and O(ca_path) win over E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE).
    type: bool
    default: true
  ca_path:
    description:
      - A CA bundle file or directory to verify the server's certificate with.
    type: str
  request_timeout:
    description:
      - How long to wait for one answer, in seconds or with a unit (V(90), V(2m)).
    type: str
    default: 30s
  retries:
    description:
      - How often a read is retried after a connection error, 408, 429 or 5xx, with exponential backoff
        and jitter (Retry-After is honoured).
      - A POST is only re-sent when it provably never reached the server; otherwise the action re-reads the
        server's state instead, so nothing is done twice.
    type: int
    default: 5
  deadline:
    description:
      - The overall time budget of one request including its retries (V(120), V(5m)).
      - It bounds the whole answer too, so a server that sends slowly is cut off when the deadline passes.
    type: str
    default: 2m
  max_answer_mb:
    description:
      - The largest answer accepted from the server, in MB after decompression, counted while it arrives.
        A larger one fails with status 6 naming this limit.
    type: int
    default: 256
"""

    # Attributes every module shares; each module adds its own check_mode.
    ATTRIBUTES = r"""
attributes:
  diff_mode:
    support: none
    description:
      - No diff is produced, with or without C(--diff). What a change would do is in the result instead, also
        in check mode - RV(returns) lists the jobs that would be restarted, stopped or cloned and C(msg) says
        what would be done, for example V(would restart 4711, 4712).
  action_group:
    support: full
    membership: [openqa.client.openqa]
    description: Use C(group/openqa.client.openqa) in C(module_defaults) to set the connection options once.
"""
