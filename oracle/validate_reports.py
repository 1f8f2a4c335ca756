#!/usr/bin/python3
"""Parses a conformance report's JSON and JUnit XML back and checks that they
agree with each other and with the expected outcome.

usage: validate_reports.py REPORT.json REPORT.xml EXPECTED_FAILURES
  EXPECTED_FAILURES: a number, or "some" (at least one)
Exits 0 when both files parse and agree, 1 otherwise (with the reason).
"""
import json
import sys
import xml.etree.ElementTree as ET


def fail(message):
    print("validate_reports: " + message)
    sys.exit(1)


def main():
    json_path, junit_path, expected = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(json_path, encoding="utf-8") as f:
        # Strict JSON: NaN/Infinity literals are not JSON.
        report = json.load(f, parse_constant=lambda c: fail("non-JSON constant " + c))
    root = ET.parse(junit_path).getroot()
    if root.tag != "testsuites":
        fail("JUnit root is <%s>, expected <testsuites>" % root.tag)
    cases = root.findall("./testsuite/testcase")
    results = report["results"]
    # JUnit: one test case per result for its trace, one for a batch's declared
    # invariance, then one per replayed op.
    expected_cases = []
    for r in results:
        expected_cases.append((r["name"], not r["trace_passed"]))
        invariance = (r.get("batch") or {}).get("invariance") or {}
        if invariance.get("declared"):
            expected_cases.append(("batch invariance: " + r["name"], not invariance["invariant"]))
        for op in (r.get("replay") or {}).get("ops", []):
            where = op["op"] + (", block.%d" % op["layer"] if op["layer"] is not None else "")
            expected_cases.append(("replay %s: %s" % (where, r["name"]), op["verdict"] != "pass"))
    if len(cases) != len(expected_cases) or len(results) == 0:
        fail("%d JUnit test cases for %d expected from the JSON" % (len(cases), len(expected_cases)))
    for case, (name, failed) in zip(cases, expected_cases):
        if case.get("name") != name:
            fail("JUnit test case %r, expected %r" % (case.get("name"), name))
        if (case.find("failure") is not None) != failed:
            fail("JUnit test case %r: failure element disagrees with the JSON" % name)
    failed_json = [r["name"] for r in results if not r["passed"]]
    failed_xml = [c.get("name") for c in cases if c.find("failure") is not None]
    if int(root.get("failures")) != len(failed_xml):
        fail("the failures attribute says %s, found %d" % (root.get("failures"), len(failed_xml)))
    for result in results:
        name = result["name"]
        invariance = (result.get("batch") or {}).get("invariance") or {}
        invariant = invariance.get("invariant") is not False
        if result["passed"] != (result["trace_passed"] and
                                (result.get("replay") or {"passed": True})["passed"] and invariant):
            fail("%s: passed is not trace_passed, replay's passed and batch invariance" % name)
        if result.get("batch"):
            verdict = result["batch"]["verdict"]
            expected_verdict = ("FAIL" if not result["trace_passed"] else
                                "pass" if invariant else "within budget, not batch-invariant")
            if verdict != expected_verdict:
                fail("%s: batch verdict %r, expected %r" % (name, verdict, expected_verdict))
        names = [t["tensor"] for t in result["tensors"]]
        if result.get("failure") is not None:
            # The set failed to run (a plugin crashed or hung): nothing judged.
            if names or result["trace_passed"] or result["passed"]:
                fail("%s: a failure to run, yet tensors judged or passed" % name)
            continue
        if names[0] != "embed" or names[-2:] != ["ln_f", "logits"]:
            fail("tensors are not in forward order: %s" % names)
        seen_finding = False
        for t in result["tensors"]:
            if t["verdict"] == "pass" and not t["max_abs_error"] <= t["budget"]:
                fail("%s %s passes with error %s above budget %s"
                     % (name, t["tensor"], t["max_abs_error"], t["budget"]))
            if t["verdict"] == "absent":
                continue
            if t["non_finite"] != (t["max_abs_error"] is None):
                fail("%s %s: a non-finite tensor, and only it, has no error figure" % (name, t["tensor"]))
            if t["non_finite"] and t["first_non_finite"] is None:
                fail("%s %s: non-finite without its location" % (name, t["tensor"]))
            if seen_finding and t["verdict"] == "pass":
                fail("%s %s passes after a finding (it must read downstream)" % (name, t["tensor"]))
            seen_finding = seen_finding or t["verdict"] in ("FAIL", "NON-FINITE")
        for op in (result.get("replay") or {}).get("ops", []):
            if op["verdict"] != "pass" and not op["reproduce"]:
                fail("%s replay %s: beyond budget without a reproducer" % (name, op["op"]))
    if report["passed"] != (len(failed_json) == 0):
        fail("top-level passed flag disagrees with the results")
    if expected == "some":
        if not failed_json:
            fail("expected failures, found none")
    elif len(failed_json) != int(expected):
        fail("expected %s failures, found %d: %s" % (expected, len(failed_json), failed_json))
    print("validate_reports: %d results, %d failures, JSON and JUnit agree"
          % (len(results), len(failed_json)))


main()
