# SPDX-License-Identifier: MIT
"""What jobctl, jobd, the README, the manual pages, data/jobd.conf and the
completion scripts each say about verbs, options and keys, parsed into
plain sets and dicts, for test_docs.py and test_completion.py.

Conventions of the sources (kept so that they can be compared):
- data/man/jobctl.1.scd: the verbs are the "*verb*" entries of "# COMMANDS";
  options are the "*-x*, *--long*" entries of "# OPTIONS" (every verb's, and
  the bare command's; an entry whose text says "(without a verb)" is the
  bare command's only), "# VERB OPTIONS" (the verbs are named in the text
  as "*verb*, *verb*:") and "# JOB SETTINGS" (add and update; an entry whose
  text starts "*update*:" is update's only).
- data/man/jobd.conf.5.scd: "# [Group]" headings, "*Key=*" entries.
- data/man/jobd.8.scd: the "*--option*" entries of "# OPTIONS".
- README.md: the tour is every ```sh block of "## Two commands" and
  "## A short jobctl tour"; each "jobctl VERB" there is a verb it lists.
"""
import os
import re
import subprocess

SOURCE = os.environ.get("MESON_SOURCE_ROOT",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
JOBCTL = os.environ.get("JOBCTL", "jobctl")
JOBD = os.environ.get("JOBD", "jobd")

OPTION_RE = re.compile(r"(?:^|[\s,*])(--?[A-Za-z0-9][\w-]*)")


def source_path(*parts):
    return os.path.join(SOURCE, *parts)


def read_source(*parts):
    with open(source_path(*parts), encoding="utf-8") as f:
        return f.read()


def run_help(argv):
    env = dict(os.environ, LC_ALL="C", LANGUAGE="")
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, timeout=30)
    assert result.returncode == 0, "%s failed: %s" % (" ".join(argv), result.stderr)
    return result.stdout


def help_options(text):
    """The options of a GOption --help text (every section, -h/--help too)."""
    found = set()
    for line in text.splitlines():
        if not re.match(r"^\s+-", line):
            continue
        first_column = re.split(r"\s{2,}", line.strip())[0]
        for part in first_column.split(","):
            name = part.strip().split("=")[0]
            if re.fullmatch(r"--?[A-Za-z0-9][\w-]*", name):
                found.add(name)
    return found


def jobctl_verbs():
    """The verbs `jobctl --help` lists, in order."""
    text = run_help([JOBCTL, "--help"])
    section = text.split("Verbs:", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in section.splitlines() if line.strip()]


def jobctl_options():
    """{None: options of the bare command, verb: options of `jobctl VERB --help`}."""
    options = {None: help_options(run_help([JOBCTL, "--help"]))}
    for verb in jobctl_verbs():
        options[verb] = help_options(run_help([JOBCTL, verb, "--help"]))
    return options


def scd_sections(text):
    """{heading: body} of an scdoc page's "# HEADING" sections."""
    sections = {}
    current = None
    for line in text.splitlines():
        if line.startswith("# "):
            current = line[2:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return sections


def scd_entries(lines):
    """(term line, text) of each entry: a line starting with "*" or "_"
    followed by tab-indented text."""
    entries = []
    for line in lines:
        if line.startswith("*") or line.startswith("_"):
            entries.append([line, ""])
        elif line.startswith("\t") and entries:
            entries[-1][1] += line.strip() + " "
    return entries


def man_jobctl_verbs():
    sections = scd_sections(read_source("data", "man", "jobctl.1.scd"))
    verbs = []
    for term, _ in scd_entries(sections.get("COMMANDS", [])):
        match = re.match(r"^\*([a-z][\w-]*)\*", term)
        if match:
            verbs.append(match.group(1))
    return verbs


def man_jobctl_options(verbs):
    """{None: bare command's options, verb: options} as jobctl.1 documents them."""
    sections = scd_sections(read_source("data", "man", "jobctl.1.scd"))
    options = {None: set()}
    for verb in verbs:
        options[verb] = set()

    def names(term):
        return set(re.findall(r"\*(--?[A-Za-z0-9][\w-]*)\*", term))

    for term, text in scd_entries(sections.get("OPTIONS", [])):
        options[None] |= names(term)
        if "(without a verb)" not in text:
            for verb in verbs:
                options[verb] |= names(term)
    for term, text in scd_entries(sections.get("VERB OPTIONS", [])):
        for group in re.findall(r"((?:\*[a-z][\w-]*\*,?\s*)+):", text):
            for verb in re.findall(r"\*([a-z][\w-]*)\*", group):
                options.setdefault(verb, set()).update(names(term))
    for term, text in scd_entries(sections.get("JOB SETTINGS", [])):
        for verb in (["update"] if text.startswith("*update*:") else ["add", "update"]):
            options.setdefault(verb, set()).update(names(term))
    return options


def readme_tour():
    """The jobctl command lines of the README's tour: [(verb, [options])]."""
    text = read_source("README.md")
    lines = []
    for heading in ("## Two commands", "## A short jobctl tour"):
        section = text.split(heading, 1)[1].split("\n## ", 1)[0]
        for block in re.findall(r"```sh\n(.*?)```", section, re.S):
            lines.extend(block.replace("\\\n", " ").splitlines())
    tour = []
    for line in lines:
        words = line.split("#", 1)[0].split()
        if len(words) < 2 or words[0] != "jobctl":
            continue
        words = words[:words.index("--")] if "--" in words else words
        verb = next((w for w in words[1:] if not w.startswith("-")), None)
        used = [w.split("=")[0] for w in words[1:] if w.startswith("-")]
        tour.append((verb, used))
    return tour


def conf_keys():
    """{group: [keys]} that data/jobd.conf documents ("#Key=default")."""
    keys = {}
    group = None
    for line in read_source("data", "jobd.conf").splitlines():
        match = re.match(r"^\[(\w+)\]", line)
        if match:
            group = match.group(1)
            keys.setdefault(group, [])
            continue
        match = re.match(r"^#([A-Za-z][A-Za-z0-9]*)=", line)
        if match and group:
            keys[group].append(match.group(1))
    return keys


def man_conf_keys():
    keys = {}
    for heading, lines in scd_sections(read_source("data", "man", "jobd.conf.5.scd")).items():
        match = re.match(r"^\[(\w+)\]$", heading)
        if not match:
            continue
        keys[match.group(1)] = [m.group(1) for term, _ in scd_entries(lines)
                                for m in [re.match(r"^\*([A-Za-z][A-Za-z0-9]*)=\*", term)] if m]
    return keys


def man_jobd_options():
    sections = scd_sections(read_source("data", "man", "jobd.8.scd"))
    found = set()
    for term, _ in scd_entries(sections.get("OPTIONS", [])):
        found |= set(re.findall(r"\*(--?[A-Za-z0-9][\w-]*)\*", term))
    return found


def jobd_options():
    return help_options(run_help([JOBD, "--help"]))
