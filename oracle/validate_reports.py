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
    if len(cases) != len(results) or len(results) == 0:
        fail("%d JUnit test cases for %d JSON results" % (len(cases), len(results)))
    failed_json = [r["name"] for r in results if not r["passed"]]
    failed_xml = [c.get("name") for c in cases if c.find("failure") is not None]
    if failed_json != failed_xml:
        fail("failures differ: JSON %s, JUnit %s" % (failed_json, failed_xml))
    if int(root.get("failures")) != len(failed_xml):
        fail("the failures attribute says %s, found %d" % (root.get("failures"), len(failed_xml)))
    for case, result in zip(cases, results):
        name = case.get("name")
        if result["scenario"] not in name or "[" + result["kernel"] + "]" not in name:
            fail("test case name %r does not carry scenario and kernel" % name)
        names = [t["tensor"] for t in result["tensors"]]
        if names[0] != "embed" or names[-2:] != ["ln_f", "logits"]:
            fail("tensors are not in forward order: %s" % names)
        for t in result["tensors"]:
            if t["verdict"] == "pass" and not t["max_abs_error"] <= t["budget"]:
                fail("%s %s passes with error %s above budget %s"
                     % (name, t["tensor"], t["max_abs_error"], t["budget"]))
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
