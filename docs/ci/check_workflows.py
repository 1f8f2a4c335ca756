#!/usr/bin/python3
"""Checks the CI workflow files of docs/ci/: each parses as YAML and has the
shape its CI system reads, and every gpt2-oracle command in their scripts
names a verb (and subcommand) that exists, with options that command has.

usage: check_workflows.py GPT2_ORACLE WORKFLOW.yml...
Exits 0 when all hold, 1 otherwise (each problem on one line).
"""
import re
import shlex
import subprocess
import sys

import yaml

problems = []
OPERATORS = ("|", "||", "&&", ";", "&")


def help_text(binary, words):
    run = subprocess.run([binary] + words + ["--help"], capture_output=True, text=True)
    if run.returncode != 0:
        return None
    return run.stdout


def subcommands(text):
    """The names under 'Subcommands:' in CLI11's help."""
    names, inside = [], False
    for line in text.splitlines():
        if line.startswith("Subcommands:"):
            inside = True
            continue
        if inside:
            match = re.match(r"^  (\S+)", line)
            if match:
                names.append(match.group(1))
            elif line.strip() and not line.startswith(" "):
                inside = False
    return names


def scripts_of(path, document):
    """Every shell script in the file, by where it is."""
    out = []
    if "jobs" in document:  # GitHub Actions
        if "on" not in document and True not in document:  # YAML 1.1 reads `on` as true
            problems.append(path + ": no 'on' (a workflow's triggers)")
        for name, job in document["jobs"].items():
            if "runs-on" not in job or not isinstance(job.get("steps"), list):
                problems.append("%s: job %s: expected runs-on and steps" % (path, name))
                continue
            for i, step in enumerate(job["steps"]):
                if "run" in step:
                    out.append(("%s: job %s, step %d" % (path, name, i + 1), step["run"]))
                elif "uses" not in step:
                    problems.append("%s: job %s, step %d: neither run nor uses" % (path, name, i + 1))
    else:  # GitLab CI
        if not isinstance(document.get("stages"), list):
            problems.append(path + ": no stages (neither a GitHub workflow nor a GitLab pipeline)")
            return out
        for name, job in document.items():
            if not isinstance(job, dict):
                continue
            for key in ("before_script", "script", "after_script"):
                for line in job.get(key, []) or []:
                    out.append(("%s: %s.%s" % (path, name, key), line))
            if name not in ("default", "variables") and "script" in job:
                if job.get("stage", "test") not in document["stages"]:
                    problems.append("%s: job %s: stage %s is not in stages" % (path, name, job.get("stage")))
    return out


def commands_in(script):
    """The argument lists after each gpt2-oracle in a shell script."""
    joined = re.sub(r"\\\n\s*", " ", script)
    for line in joined.splitlines():
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError as e:
            yield None, "cannot split %r: %s" % (line, e)
            continue
        # A command runs gpt2-oracle when it is the command's first word, or
        # the program mpirun/mpiexec starts (not `chmod +x gpt2-oracle`).
        start = 0
        for i, token in enumerate(tokens):
            if token in OPERATORS:
                start = i + 1
                continue
            is_binary = token == "gpt2-oracle" or token.endswith("/gpt2-oracle")
            launched = i == start or (tokens[start] in ("mpirun", "mpiexec") and i > start)
            if is_binary and launched:
                args = []
                for t in tokens[i + 1:]:
                    if t in OPERATORS or t.startswith(">") or t.startswith("2>"):
                        break
                    args.append(t)
                yield args, None


def main():
    binary, paths = sys.argv[1], sys.argv[2:]
    top = help_text(binary, [])
    if top is None:
        print("check_workflows: %s --help failed" % binary)
        return 1
    verbs = subcommands(top)
    checked = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            try:
                document = yaml.safe_load(f)
            except yaml.YAMLError as e:
                problems.append("%s: not YAML: %s" % (path, str(e).replace("\n", " ")))
                continue
        if not isinstance(document, dict):
            problems.append(path + ": expected a mapping at the top")
            continue
        for where, script in scripts_of(path, document):
            for args, error in commands_in(str(script)):
                if error:
                    problems.append("%s: %s" % (where, error))
                    continue
                if not args or args[0] not in verbs:
                    problems.append("%s: gpt2-oracle %s: no such verb (known: %s)"
                                    % (where, args[0] if args else "", ", ".join(verbs)))
                    continue
                words = [args[0]]
                text = help_text(binary, words)
                subs = subcommands(text)
                if subs:
                    if len(args) < 2 or args[1] not in subs:
                        problems.append("%s: gpt2-oracle %s: expected one of %s"
                                        % (where, args[0], ", ".join(subs)))
                        continue
                    words.append(args[1])
                    text = help_text(binary, words)
                for option in (a.split("=")[0] for a in args if a.startswith("--")):
                    if not re.search(r"(^|[\s,])" + re.escape(option) + r"\b", text, re.M):
                        problems.append("%s: gpt2-oracle %s: no option %s"
                                        % (where, " ".join(words), option))
                checked += 1
    for p in problems:
        print("check_workflows: " + p)
    if not problems:
        print("check_workflows: %d files parse, %d gpt2-oracle commands exist" % (len(paths), checked))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
