"""DriftReport -> JUnit XML: one testcase per column, failures exactly when the gate fails."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TextIO

from kldrift.options import Status
from kldrift.registry import METRICS
from kldrift.report import relationships
from kldrift.report.text import METRIC_LABELS, column_reason, p_value, score
from kldrift.result import ColumnDrift, DriftReport, PairDrift

#: Characters XML 1.0 cannot hold at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def dumps(report: DriftReport) -> str:
    """The report as a JUnit XML document.

    A column counted against the gate is a <failure> when the gate fails, so test-report viewers
    go red exactly when kldrift exits 1; tolerated drift and warnings become <system-out> notes.
    Columns missing from current or retyped get a testcase too, since they count as drift.
    """
    verdict = report.verdict
    failing = set(verdict.failing) if not verdict.passed else set()
    suite_name = f"kldrift compare {report.reference} {report.current}"
    suites = ET.Element("testsuites", name="kldrift")
    suite = ET.SubElement(suites, "testsuite", name=_text(suite_name))
    properties = ET.SubElement(suite, "properties")
    for name, value in [
        ("reference", report.reference),
        ("current", report.current),
        ("summary", report.summary),
        ("gate.passed", str(verdict.passed).lower()),
        ("gate.rule", verdict.rule),
        ("gate.reason", verdict.reason),
    ]:
        ET.SubElement(properties, "property", name=name, value=_text(value))

    for column in report.columns:
        case = _testcase(suite, "kldrift.columns", column.name)
        detail = _detail(report, column)
        message = f"{column.status.value}: {column_reason(report, column)}"
        if column.name in failing:
            failure = ET.SubElement(
                case, "failure", type=column.status.value, message=_text(message)
            )
            failure.text = _text(detail)
        elif column.status is not Status.ok:
            note = "tolerated by the gate: " if column.status is Status.drift else ""
            ET.SubElement(case, "system-out").text = _text(f"{note}{message}\n{detail}")
    for pair in report.pairs:
        # The gate names a pair as "X × Y", so a failing pair's case is named the same.
        case = _testcase(suite, "kldrift.relationships", pair.name)
        message = f"{pair.status.value}: {relationships.reason(report, pair)}"
        detail = _pair_detail(report, pair)
        if pair.name in failing:
            failure = ET.SubElement(case, "failure", type=pair.status.value, message=_text(message))
            failure.text = _text(detail)
        elif pair.status is not Status.ok:
            note = "tolerated by the gate: " if pair.status is Status.drift else ""
            ET.SubElement(case, "system-out").text = _text(f"{note}{message}\n{detail}")
    for change in report.breaking_schema_changes:
        case = _testcase(suite, "kldrift.schema", change.column)
        if change.column in failing:
            ET.SubElement(case, "failure", type="schema", message=_text(change.description))
        else:
            ET.SubElement(case, "system-out").text = _text(change.description)

    tests = len(suite.findall("testcase"))
    failures = len(suite.findall("testcase/failure"))
    for element in (suites, suite):
        element.set("tests", str(tests))
        element.set("failures", str(failures))
        element.set("errors", "0")
    suite.set("skipped", "0")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write(report: DriftReport, out: TextIO) -> None:
    """Write the JUnit XML document to `out`."""
    out.write(dumps(report))


def _testcase(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=classname, name=_text(name), time="0")


def _detail(report: DriftReport, column: ColumnDrift) -> str:
    unit = report.options.unit
    metric = report.thresholds.metric
    return (
        f"{column.name} ({column.kind.value}, {column.dtype}): KL {score(column.kl)}, "
        f"noise {score(column.noise_floor)}, {METRIC_LABELS[metric]} "
        f"{score(column.score(metric))}, H(P,Q) {score(column.cross_entropy)}, "
        f"H(P) {score(column.entropy)} {unit}; G-test p {p_value(column.p_value)}, "
        f"p adj. {p_value(column.p_adjusted)}; "
        f"null share {column.null_share_reference:.1%} -> {column.null_share_current:.1%}; "
        f"warn at {column.warn:g}, drift at {column.threshold:g}"
        f"{' nats' if METRICS[metric].unit == 'nats' else ''}, alpha {report.thresholds.alpha:g}"
    )


def _pair_detail(report: DriftReport, pair: PairDrift) -> str:
    lines = [
        f"{pair.name}: relationship {score(pair.relationship)} "
        f"(noise {score(pair.noise_floor.relationship)}), joint KL {score(pair.kl.joint)} "
        f"{report.options.unit}; G-test of the association "
        f"p {p_value(pair.p_value)}, p adj. {p_value(pair.p_adjusted)}; "
        f"warn at {pair.warn:g}, drift at {pair.threshold:g} nats",
        *relationships.cells(pair),
    ]
    return "\n".join(lines)


def _text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
