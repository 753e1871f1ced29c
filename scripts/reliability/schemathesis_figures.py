#!/usr/bin/env python3
"""Sums up schemathesis' NDJSON reports (one per role) for scripts/reliability/schemathesis.sh:
operations, cases, failed checks, operations answered only 401/403 under every role, and
operations that refused most of their schema-valid (positive) cases with 400/422. Exits 1 on any
server error or failed conformance check, or on an operation no role got past authorization."""
import collections
import json
import pathlib
import sys

# Operations no staff session can get past, by design: the kiosk (a registered kiosk device and
# a prisoner's session) and the webhooks (the processor's or the prison-management system's
# signature).
OUTSIDE_STAFF = ("/kiosk", "/webhooks/")

statuses = collections.defaultdict(collections.Counter)  # label -> status -> count
positive = collections.defaultdict(collections.Counter)  # label -> "refused"/"taken"
failures = collections.Counter()  # check name -> count
failed_labels = collections.defaultdict(set)  # check name -> labels
errors = []
cases = 0
for path in sys.argv[1:]:
    role = pathlib.Path(path).stem
    for line in open(path):
        event = json.loads(line)
        if "NonFatalError" in event:
            error = event["NonFatalError"]
            errors.append(f"{role}: {error.get('label')}: {str(error.get('value'))[:200]}")
            continue
        if "ScenarioFinished" not in event:
            continue
        recorder = event["ScenarioFinished"]["recorder"]
        label = recorder["label"]
        for case_id, interaction in recorder.get("interactions", {}).items():
            response = interaction.get("response")
            if not response:
                continue
            cases += 1
            status = response["status_code"]
            statuses[label][status] += 1
            case = recorder.get("cases", {}).get(case_id, {}).get("value", {})
            mode = case.get("meta", {}).get("generation", {}).get("mode")
            if mode == "positive" and status not in (401, 403):
                positive[label]["refused" if status in (400, 422) else "taken"] += 1
        for case_id, checks in recorder.get("checks", {}).items():
            for check in checks:
                if check["status"] == "failure":
                    failures[check["name"]] += 1
                    failed_labels[check["name"]].add(label)

denied_only = sorted(
    label for label, counts in statuses.items() if set(counts) <= {401, 403}
)
staff_denied = [l for l in denied_only if not l.split(" ", 1)[1].startswith(OUTSIDE_STAFF)]
mostly_refused = sorted(
    label
    for label, counts in positive.items()
    if counts["refused"] > counts["taken"]
)
server_errors = sum(n for counts in statuses.values() for s, n in counts.items() if s >= 500)
conformance = sum(n for name, n in failures.items() if name != "not_a_server_error")

print(f"schemathesis: {len(statuses)} operations, {cases} cases, {len(sys.argv) - 1} roles")
print(f"schemathesis: server errors (5xx) {server_errors}, conformance failures {conformance}")
for name, count in sorted(failures.items()):
    print(f"  failed {name}: {count} in {', '.join(sorted(failed_labels[name]))}")
print(f"schemathesis: operations answered only 401/403 under every role: {len(denied_only)}"
      f" ({len(denied_only) - len(staff_denied)} outside staff sessions: kiosk, webhook)")
for label in denied_only:
    print(f"  {label}")
print(f"schemathesis: operations refusing most schema-valid cases (400/422): {len(mostly_refused)}")
for label in mostly_refused:
    counts = positive[label]
    print(f"  {label}: {counts['refused']} of {counts['refused'] + counts['taken']}")
print(f"schemathesis: schemathesis errors {len(errors)}")
for error in errors:
    print(f"  {error}")
sys.exit(1 if server_errors or conformance or staff_denied or errors else 0)
