"""A policy pack that judges nothing and writes down, one JSON line each, every request
the engine sends its analyzer (Configure, Analyze, AnalyzeStack) to the file
MATRA_ANALYZER_RECORD names: what the real engine hands the rules, for the tests that
hold the emulated path (tests/policy_harness.py) to it."""

import json
import os

from google.protobuf import json_format
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer

RECORD = os.environ["MATRA_ANALYZER_RECORD"]


def _recorded(method: str) -> None:
    answer = getattr(_PolicyAnalyzerServicer, method)

    def recording(self, request, context):  # type: ignore[no-untyped-def]
        with open(RECORD, "a", encoding="utf-8") as out:
            entry = {"method": method, "request": json_format.MessageToDict(request)}
            out.write(json.dumps(entry) + "\n")
        return answer(self, request, context)

    setattr(_PolicyAnalyzerServicer, method, recording)


for _method in ("Configure", "Analyze", "AnalyzeStack"):
    _recorded(_method)

PolicyPack(
    name="analyzer-recorder",
    policies=[
        ResourceValidationPolicy(
            name="record-only",
            description="Judges nothing: the pack only records what it is sent.",
            validate=lambda args, report: None,
            enforcement_level=EnforcementLevel.ADVISORY,
        )
    ],
)
