#!/usr/bin/env python3
"""Copy the extension's repository name from its one place into the files that must spell it out.

The one place is the ``REPOSITORY = "owner/name"`` line of GradientTools/GradientTools.py (the module
builds its help-text link from it). Three files cannot refer to it and carry copies:

* CMakeLists.txt: EXTENSION_HOMEPAGE, EXTENSION_ICONURL, EXTENSION_SCREENSHOTURLS. The ExtensionsIndex
  checker (scripts/check_description_files.py, check_cmakelists_content) reads the icon and
  screenshot URLs from the file's text with a regular expression and downloads them, so a CMake
  variable there would fail its CI;
* GradientTools.json: scm_url (JSON has no variables);
* README.md: links to the repository.

To move the repository, change that one line, then run from the repository root::

    python scripts/sync_repository.py            # rewrite the copies
    python scripts/sync_repository.py --check    # only report copies that disagree (exit status 1)

The previous name is taken from GradientTools.json's scm_url; every occurrence of
``github.com/<previous>`` and ``raw.githubusercontent.com/<previous>/`` in the copies is replaced.
Testing/module/test_module_static.py checks that all copies agree with the module.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = os.path.join("GradientTools", "GradientTools.py")
INDEX_ENTRY = "GradientTools.json"
COPIES = ("CMakeLists.txt", INDEX_ENTRY, "README.md")


def repository_in_module(root: str) -> str:
    """The value of the module's ``REPOSITORY = "owner/name"`` assignment."""
    with open(os.path.join(root, MODULE), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == "REPOSITORY"):
            value = ast.literal_eval(node.value)
            if not isinstance(value, str) or value.count("/") != 1:
                raise SystemExit(f"{MODULE}: REPOSITORY must be 'owner/name', not {value!r}")
            return value
    raise SystemExit(f"{MODULE}: no REPOSITORY = 'owner/name' line")


def repository_in_index_entry(root: str) -> str:
    with open(os.path.join(root, INDEX_ENTRY), encoding="utf-8") as f:
        url = json.load(f)["scm_url"]
    prefix = "https://github.com/"
    if not (url.startswith(prefix) and url.endswith(".git")):
        raise SystemExit(f"{INDEX_ENTRY}: scm_url {url!r} is not https://github.com/owner/name.git")
    return url[len(prefix):-len(".git")]


def synced_text(text: str, previous: str, repository: str) -> str:
    """``text`` with every GitHub URL of ``previous`` pointing at ``repository`` instead."""
    pattern = r"((?:raw\.githubusercontent|github)\.com/)" + re.escape(previous) + r"(?![\w-])"
    return re.sub(pattern, lambda match: match.group(1) + repository, text)


def sync(root: str, check: bool) -> int:
    repository = repository_in_module(root)
    previous = repository_in_index_entry(root)
    stale = []
    for name in COPIES:
        path = os.path.join(root, name)
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
        new = synced_text(text, previous, repository)
        if new != text:
            stale.append(name)
            if not check:
                with open(path, "w", encoding="utf-8", newline="") as f:
                    f.write(new)
    if check and stale:
        print(f"not {repository} yet: {', '.join(stale)} (run python scripts/sync_repository.py)")
        return 1
    for name in stale:
        print(f"{name}: {previous} -> {repository}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report copies that disagree, change nothing")
    parser.add_argument("--root", default=ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    return sync(args.root, args.check)


if __name__ == "__main__":
    sys.exit(main())
