"""Render the modules' DOCUMENTATION, EXAMPLES and RETURN (and the verbs' declarations) to docs/modules.md.

    PYTHONPATH=<dir containing ansible_collections> python docs/generate.py [--check]

The module docs are the source (ansible-doc shows the same text); the "Verbs" table of each module
comes from the ENTRY declarations the modules and openqa-ctl are built from, so options and flags
cannot drift from the code. --check exits 1 when docs/modules.md is not up to date.
(antsibull-docs renders Sphinx/RST for docsite builds; this is a dependency-free Markdown page.)
"""

from __future__ import annotations

import ast
import json
import importlib
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "modules.md"
MODULES = ("openqa_test", "openqa_worker", "openqa_group", "openqa_build", "openqa_api")
ENTRIES = {"openqa_test": "_jobs", "openqa_worker": "_workers", "openqa_group": "_groups", "openqa_build": "_builds",
           "openqa_api": "_api"}
MARKUP = re.compile(r"\b(O|V|C|RV|E|I|B|M|L|U)\(([^()]*(?:\([^()]*\)[^()]*)*)\)")


def markup(text: object) -> str:
    """Ansible doc markup to Markdown: O(x) V(x) C(x) RV(x) E(x) -> `x`, I(x) -> *x*, B(x) -> **x**."""
    def one(match: re.Match) -> str:
        kind, body = match.groups()
        if kind == "I":
            return "*%s*" % body
        if kind == "B":
            return "**%s**" % body
        if kind in ("L", "U"):
            return body.rsplit(",", 1)[-1]
        return "`%s`" % body.replace("`", "")
    return MARKUP.sub(one, str(text)).replace("|", "\\|")


def paragraphs(value: object) -> str:
    items = value if isinstance(value, list) else [value]
    return " ".join(markup(item).strip() for item in items if item is not None)


def module_docs(name: str) -> dict:
    source = (ROOT / "plugins" / "modules" / (name + ".py")).read_text()
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
                found[node.targets[0].id] = ast.literal_eval(node.value)
    doc = yaml.safe_load(found["DOCUMENTATION"])
    for fragment in doc.get("extends_documentation_fragment", []):
        # openqa.client.FILE or openqa.client.FILE.SECTION (a class attribute named SECTION.upper())
        parts = fragment.split(".")
        section = parts[3].upper() if len(parts) > 3 else "DOCUMENTATION"
        fragment_source = (ROOT / "plugins" / "doc_fragments" / (parts[2] + ".py")).read_text()
        text = re.search(section + r' = r"""(.*?)"""', fragment_source, re.S).group(1)
        data = yaml.safe_load(text)
        for key, value in (data.get("options") or {}).items():
            doc["options"].setdefault(key, dict(value, fragment=True))
        for key, value in (data.get("attributes") or {}).items():
            doc.setdefault("attributes", {}).setdefault(key, value)
        doc["requirements"] = doc.get("requirements", []) + (data.get("requirements") or [])
    return {"doc": doc, "examples": found["EXAMPLES"].strip(), "returns": yaml.safe_load(found["RETURN"])}


def verbs_table(name: str) -> list:
    entry = importlib.import_module("ansible_collections.openqa.client.plugins.module_utils." + ENTRIES[name]).ENTRY
    lines = ["| action | what it does | options (**required**) | changes |", "|---|---|---|---|"]
    for action in entry.actions:
        opts = ", ".join(("**%s**" if o in action.required else "%s") % o for o in action.options) or "-"
        aliases = " (alias %s)" % ", ".join(action.aliases) if action.aliases else ""
        lines.append("| `%s`%s | %s | %s | %s |" % (action.name, aliases, markup(action.help), opts,
                                                    "yes (check mode: nothing posted)" if action.mutating else "no"))
    if len(entry.actions) == 1:  # api: no action, a path and KEY=VALUE arguments
        return lines + ["", "On the command line: `openqa-ctl %s [-X METHOD] PATH [KEY=VALUE ...] [--OPTION VALUE]` "
                        "(`openqa-ctl %s --help` lists the flags)." % (entry.name, entry.name)]
    cli = "openqa-ctl %s ACTION" % entry.name
    lines += ["", "On the command line: `%s --OPTION VALUE` (`%s --help` lists the flags; options with `_` also "
              "take `-`). An option that takes several values takes them repeated or comma-separated, in a task "
              "too: `--attributes id,result` is `--attributes id --attributes result` (file names excepted)."
              % (cli, cli.replace(" ACTION", " ACTION"))]
    return lines


def render_module(name: str) -> list:
    docs = module_docs(name)
    doc = docs["doc"]
    out = ["## %s" % doc["module"], "", "*%s*" % markup(doc["short_description"]), ""]
    out += ["- %s" % markup(line) for line in doc.get("description", [])] + [""]
    out += ["### Verbs", ""] + verbs_table(name) + [""]
    out += ["### Options", "", "| option | type | description |", "|---|---|---|"]
    for key in sorted(doc["options"], key=lambda k: (k != "action", bool(doc["options"][k].get("fragment")), k)):
        option = doc["options"][key]
        kind = option.get("type", "str")
        if option.get("elements"):
            kind = "list of %s" % option["elements"]
        extra = []
        if option.get("required"):
            extra.append("**required**")
        if "default" in option:
            extra.append("default: `%s`" % json.dumps(option["default"]).strip('"'))
        if option.get("choices"):
            extra.append("choices: %s" % ", ".join("`%s`" % c for c in option["choices"]))
        if option.get("aliases"):
            extra.append("aliases: %s" % ", ".join("`%s`" % a for a in option["aliases"]))
        description = "<br>".join(
            markup(line) for line in (option["description"] if isinstance(option["description"], list)
                                      else [option["description"]]))
        if option.get("fragment"):
            description = "(connection) " + description
        out.append("| `%s` | %s | %s%s |" % (key, kind, description, ("<br>" + "; ".join(extra)) if extra else ""))
    out += ["", "### Returns", "", "| key | type | returned | description |", "|---|---|---|---|"]
    for key, value in docs["returns"].items():
        out.append("| `%s` | %s | %s | %s |" % (key, value.get("type", ""), markup(value.get("returned", "")),
                                                paragraphs(value.get("description"))))
        for sub, subvalue in (value.get("contains") or {}).items():
            out.append("| `%s.%s` | %s | %s | %s |" % (key, sub, subvalue.get("type", ""),
                                                       markup(subvalue.get("returned", "")),
                                                       paragraphs(subvalue.get("description"))))
    if doc.get("requirements"):
        out += ["", "### Requirements", ""] + ["- %s" % markup(item) for item in doc["requirements"]]
    notes = doc.get("notes")
    if notes:
        out += ["", "### Notes", ""] + ["- %s" % markup(note) for note in notes]
    out += ["", "### Examples", "", "```yaml", docs["examples"], "```", ""]
    return out


def render() -> str:
    out = ["# Modules of openqa.client", "",
           "<!-- Generated by docs/generate.py from the modules' DOCUMENTATION, RETURN and EXAMPLES and the verbs'",
           "     declarations: edit those, then run `python docs/generate.py`. -->", "",
           "Every module takes `action:` (the proposal's verb; `openqa_api` takes `method:` and `path:` instead) and",
           "the connection options, which are best set once",
           "per play with `module_defaults: group/openqa.client.openqa:`. A module fails when the envelope's",
           "status is not 0 ([status codes](status-codes.md)); `status`, `msg`, `returns`, `credential_source`",
           "and `server` are returned either way. The same verbs run on the command line as `openqa-ctl ENTRY ACTION`",
           "(`--format json|yaml|table`). `ansible-doc openqa.client.MODULE` shows the same text.", ""]
    for name in MODULES:
        summary = markup(module_docs(name)["doc"]["short_description"])
        out.append("- [openqa.client.%s](#%s): %s" % (name, name, summary))
    out.append("")
    for name in MODULES:
        out += render_module(name)
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if OUT.read_text() != text:
            print("docs/modules.md is out of date: run python docs/generate.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print("wrote", OUT.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
