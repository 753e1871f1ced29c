#!/usr/bin/env python3
"""Seeds a running `saldo serve` through its own API for scripts/reliability/schemathesis.sh: a
member of staff of every role, prisoners with deposits, a depositor and an adjustment. Writes
the sessions (one line `role token`) and a schemathesis.toml that puts the real ids into the
path parameters, so generated requests get past authorization and reach the handlers.

usage: schemathesis_seed.py BASE_URL PRISON_ID ADMIN_USER ADMIN_PASSWORD OUT_DIR"""
import json
import pathlib
import sys
import urllib.error
import urllib.request

BASE, PRISON, ADMIN, PASSWORD, OUT = sys.argv[1:6]
OUT = pathlib.Path(OUT)
ROLES = ["officer", "finance", "finance_approver", "auditor", "admin"]


def call(method, path, token=None, body=None, expect=(200, 201)):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    if status not in expect:
        sys.exit(f"seed: {method} {path} answered {status}: {text[:300]!r}")
    return json.loads(text) if text else None


def login(username, password):
    return call("POST", "/api/staff/login", body={"username": username, "password": password})["token"]


tokens = {"admin": login(ADMIN, PASSWORD)}
for role in ROLES[:-1]:
    username = f"fuzz_{role}"
    call("POST", f"/api/staff/prisons/{PRISON}/staff", tokens["admin"],
         {"username": username, "password": PASSWORD, "roles": [role]})
    tokens[role] = login(username, PASSWORD)

people = []
for number in range(1, 4):
    admitted = call("POST", f"/api/staff/prisons/{PRISON}/prisoners", tokens["officer"], {
        "prisoner_number": f"FZ-{number:04}", "full_name": f"Fuzz Prisoner {number}",
        "preferred_language": "en", "pin": "4826",
    })
    person = admitted["person_id"]
    people.append(person)
    call("POST", f"/api/staff/prisons/{PRISON}/prisoners/{person}/deposits", tokens["finance"], {
        "idempotency_key": f"fuzz-deposit-{number}", "source": "cash_at_intake",
        "amount_minor": 10_000, "currency": "EUR",
    })
depositor = call("POST", f"/api/staff/prisons/{PRISON}/depositors", tokens["finance"],
                 {"full_name": "Fuzz Depositor"})["person_id"]
adjustment = call("POST", f"/api/staff/prisons/{PRISON}/prisoners/{people[0]}/adjustments",
                  tokens["finance"], {
                      "account": "spendable", "institution_account": "suspense",
                      "direction": "credit_prisoner", "amount_minor": 100, "currency": "EUR",
                      "reason_code": "correction", "reason": "seeded for fuzzing",
                  })["id"]

OUT.mkdir(parents=True, exist_ok=True)
(OUT / "sessions").write_text("".join(f"{role} {tokens[role]}\n" for role in ROLES))
values = lambda items: "[" + ", ".join(json.dumps(item) for item in items) + "]"
(OUT / "schemathesis.toml").write_text(f"""# Written by schemathesis_seed.py: the seeded ids in the path parameters.
[parameters]
"path.prison_id" = {json.dumps(PRISON)}
"path.person_id" = {{ dictionary = "people" }}
"path.depositor_id" = {json.dumps(depositor)}
"path.adjustment_id" = {json.dumps(adjustment)}
"query.prison_id" = {json.dumps(PRISON)}

[dictionaries.people]
values = {values(people)}
""")
print(f"seeded: {len(ROLES)} roles, {len(people)} prisoners, depositor, adjustment")
