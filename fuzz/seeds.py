#!/usr/bin/env python3
"""Writes the committed seed corpora (fuzz/corpus/<target>/seed-*): small valid and nearly valid
inputs shaped like the tests' samples. Run from anywhere; it replaces only seed-* files."""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"


def write(target, seeds):
    folder = ROOT / target
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("seed-*"):
        old.unlink()
    for index, seed in enumerate(seeds):
        data = seed if isinstance(seed, bytes) else seed.encode()
        (folder / f"seed-{index:03}").write_bytes(data)


MERCHANT = {"id": "m_1", "name": "Prison shop", "mcc": "5411", "city": "Helsinki", "country": "FI"}
REQUEST = {
    "authorization_id": "auth_1", "card_id": "card_1", "cardholder_id": "ch_1",
    "amount": 1250, "currency": "EUR", "merchant_amount": 1250, "merchant_currency": "EUR",
    "merchant": MERCHANT, "channel": "POS", "partial_approval_capable": True,
}


def envelope(kind, data, timestamp="2026-11-26T10:15:02Z"):
    return json.dumps({"type": kind, "timestamp": timestamp, "data": data})


def webhook_seeds():
    events = [
        ("authorization.request", REQUEST),
        ("authorization.request", {**REQUEST, "channel": "ECOMMERCE", "parent_authorization_id": "auth_0", "amount": 0}),
        ("authorization.request", {**REQUEST, "merchant": {**MERCHANT, "mcc": "54x1", "id": ""}}),
        ("authorization.advice", {**REQUEST, "decision": "APPROVE", "approved_amount": 1000, "reason": "STAND_IN"}),
        ("authorization.advice", {**REQUEST, "decision": "DECLINE", "reason": "TIMEOUT"}),
        ("authorization.reversal", {"authorization_id": "auth_1", "card_id": "card_1", "amount": 250, "currency": "EUR"}),
        ("authorization.expired", {"authorization_id": "auth_1", "card_id": "card_1"}),
        ("transaction.clearing", {"transaction_id": "txn_1", "authorization_id": "auth_1", "card_id": "card_1", "amount": 1250, "currency": "EUR", "merchant": MERCHANT, "cleared_at": "2026-11-26T10:15:02Z", "final": True}),
        ("transaction.clearing", {"transaction_id": "txn_2", "card_id": "card_1", "amount": 99, "currency": "SEK", "merchant": MERCHANT, "cleared_at": "2026-11-26T10:15:02.123+02:00", "final": False}),
        ("transaction.refund", {"transaction_id": "txn_3", "original_transaction_id": "txn_1", "card_id": "card_1", "amount": 500, "currency": "EUR", "merchant": MERCHANT, "cleared_at": "2026-11-27T08:00:00Z"}),
        ("card.state_changed", {"card_id": "card_1", "state": "PAUSED", "previous_state": "ACTIVE", "reason": "lost", "changed_by": "PROCESSOR"}),
        ("card.state_changed", {"card_id": "card_1", "state": "CLOSED", "previous_state": "PAUSED", "changed_by": "API"}),
        ("cardholder.updated", {"cardholder_id": "ch_1", "note": [1, 2.5, None, {"a": "b"}]}),
        ("transaction.clearing", {"transaction_id": "txn_4", "card_id": "card_1", "amount": -5, "currency": "EUR", "merchant": MERCHANT, "cleared_at": "2026-11-26T10:15:02Z", "final": True}),
        ("authorization.reversal", {"authorization_id": "auth_1", "card_id": "card_1", "amount": 9223372036854775807, "currency": "eur"}),
    ]
    seeds = [envelope(kind, data) for kind, data in events]
    seeds += [
        envelope("authorization.expired", {"authorization_id": "a", "card_id": "c"}, "1999-12-31T23:59:60Z"),
        envelope("", {}),
        '{"type":"authorization.request","timestamp":"2026-11-26T10:15:02Z"}',
        '{"type":"x","timestamp":"2026-13-01T00:00:00Z","data":null}',
        "msg_1\n1800000000\nv1,AAAA\n" + envelope("authorization.expired", {"authorization_id": "a", "card_id": "c"}),
        "msg_2\n-1\nv1,not base64 v2,x\n{}",
        "[]", "null", "{", '"\\ud800"',
    ]
    return seeds


HEADER = "record_id,settlement_date,type,transaction_id,authorization_id,card_id,amount,currency,mcc,cleared_at"


def settlement(rows, date="2026-11-26", trailer=None, header=HEADER):
    lines = [header]
    net = 0
    for index, (kind, txn, auth, card, amount, currency, mcc, cleared) in enumerate(rows):
        lines.append(f"r{index},{date},{kind},{txn},{auth},{card},{amount},{currency},{mcc},{cleared}")
        net += amount
    lines.append(trailer if trailer is not None else f"TRAILER,{date},,{len(rows)},,,{net},EUR,,")
    return "\n".join(lines) + "\n"


def settlement_seeds():
    clearing = ("CLEARING", "txn_1", "auth_1", "card_1", 1250, "EUR", "5411", "2026-11-26T10:15:02Z")
    refund = ("REFUND", "txn_2", "", "card_1", -250, "EUR", "5411", "2026-11-26T11:00:00+02:00")
    fee = ("FEE", "", "", "", 99, "EUR", "", "")
    adjustment = ("ADJUSTMENT", '"correction, ""see"" ticket 7"', "", "", -10, "EUR", "", "")
    seeds = [
        settlement([]),
        settlement([clearing]),
        settlement([clearing, refund, fee, adjustment]),
        settlement([fee, fee]),
        settlement([clearing], trailer="TRAILER,2026-11-26,,2,,,1250,EUR,,"),
        settlement([clearing], trailer="TRAILER,2026-11-26,,1,,,1,EUR,,"),
        settlement([clearing]).replace("\n", "\r\n"),
        "\ufeff" + settlement([refund]),
        settlement([clearing])[:-30],
        settlement([clearing]) + "\n\nr9,2026-11-26,FEE,,,,1,EUR,,\n",
        settlement([("CLEARING", "txn_1", "auth_1", "card_1", 9223372036854775807, "EUR", "5411", "")]),
        settlement([("FEE", "", "", "", 1, "eur", "54", "yesterday")]),
        settlement([clearing], date="2026-02-30"),
        settlement([clearing], header=HEADER.upper()),
        HEADER + "\n",
        "",
        settlement([("CLEARING", '"txn, 1"', "auth_1", "card_1", 7, "SEK", "5812", "2026-11-26T23:59:59.999999999Z")]),
    ]
    return seeds


def amount(minor):
    return f"{abs(minor) // 100}.{abs(minor) % 100:02}"


def camt053(statement_id, opening, lines, closing=None, iban="FI2112345600000785", currency="EUR", status="BOOK"):
    closing = opening + sum(line[1] for line in lines) if closing is None else closing
    ind = lambda m: "DBIT" if m < 0 else "CRDT"
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
<BkToCstmrStmt>
<GrpHdr><MsgId>MSG-{statement_id}</MsgId><CreDtTm>2026-11-26T06:00:00Z</CreDtTm></GrpHdr>
<Stmt>
<Id>{statement_id}</Id>
<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{currency}</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="{currency}">{amount(opening)}</Amt><CdtDbtInd>{ind(opening)}</CdtDbtInd><Dt><Dt>2026-11-26</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="{currency}">{amount(closing)}</Amt><CdtDbtInd>{ind(closing)}</CdtDbtInd><Dt><Dt>2026-11-26</Dt></Dt></Bal>
"""
    for index, (e2e, minor) in enumerate(lines):
        xml += f"""<Ntry><NtryRef>{index}</NtryRef><Amt Ccy="{currency}">{amount(minor)}</Amt><CdtDbtInd>{ind(minor)}</CdtDbtInd><Sts><Cd>{status}</Cd></Sts>
<BookgDt><Dt>2026-11-26</Dt></BookgDt><AcctSvcrRef>BANK-{index}</AcctSvcrRef>
<NtryDtls><TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs><Amt Ccy="{currency}">{amount(minor)}</Amt><CdtDbtInd>{ind(minor)}</CdtDbtInd><RmtInf><Ustrd>payment &amp; reference {index}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
"""
    return xml + "</Stmt>\n</BkToCstmrStmt>\n</Document>\n"


def camt053_seeds():
    seeds = [
        camt053("STMT-1", 0, []),
        camt053("STMT-1", 0, [("E2E-1", 1000)]),
        camt053("STMT-2", 2600, [("E2E-DEPOSIT", 1000), ("E2E-PREFUND", -50000), ("E2E-PAYOUT", -1200)]),
        camt053("STMT-3", 0, [("E2E-1", 1000)], closing=999),
        camt053("STMT-4", 100, [("E2E-1", 5)], iban="FI21 1234 5600 0007 85"),
        camt053("STMT-5", 100, [("E2E-1", 5)], iban="DE89370400440532013000"),
        camt053("STMT-6", 100, [("E2E-1", 5)], currency="SEK"),
        camt053("STMT-7", 100, [("E2E-1", 5)], status="PDNG"),
        camt053("STMT-8", 100, [("NOTPROVIDED", 5)], currency="XYZ"),
        camt053("STMT-9", 0, [("E2E-1", 1000)])[:400],
        camt053("STMT-10", 0, [("E2E-1", 1000)]).replace("1000", "99999999999999999999"),
        camt053("STMT-11", 0, [("E2E-1", 1000)]).replace("10.00", "10.001"),
        camt053("STMT-12", 0, [("E2E-1", 1000)]).replace("<TxDtls>", "<TxDtls><TxDtls>"),
    ]
    two = camt053("A", 0, [("E2E-1", 100)])
    second = camt053("B", 100, [("E2E-2", -50)])
    stmt2 = second[second.index("<Stmt>"):second.index("</Stmt>") + len("</Stmt>")]
    seeds.append(two.replace("</Stmt>", "</Stmt>\n" + stmt2, 1))
    seeds += ["", "<Document/>", "<?xml version=\"1.0\"?><Document><BkToCstmrStmt></BkToCstmrStmt></Document>",
              "<Document><BkToCstmrStmt><Stmt><Ntry><Amt Ccy=\"EUR\">1</Amt></Ntry></Stmt></BkToCstmrStmt></Document>"]
    return seeds


def payroll_seeds():
    pid = "0190f3c2-7b1e-7000-8000-000000000001"
    return [
        f"person_id,amount,currency\n{pid},12.50,EUR\n",
        f"person_id,amount,currency\r\n{pid},12.50,EUR\n\n\"{pid}\",\"3\",\"EUR\"\n",
        f"currency,amount_minor,person_id\nEUR,100,{pid}\nEUR,1.5,{pid}\nEUR,0,{pid}\nSEK,1,{pid}\nEUR,1,nope\nEUR,1\n",
        "prisoner_number,amount,currency\nA-1001,10.00,EUR\nA-1002,0.01,EUR\n",
        "prisoner_number,amount_minor,currency\nA-1001,2500,EUR\n",
        "\ufeffPRISONER_NUMBER,AMOUNT,CURRENCY\nA-1,1,EUR\n",
        "amount,currency\n",
        "person_id,currency,currency\n",
        "person_id,amount,currency,extra\n",
        "",
        f"person_id,amount,currency\n{pid},1.005,EUR\n",
        f"person_id,amount,currency\n{pid},-1.00,EUR\n{pid},1e3,EUR\n{pid},.5,EUR\n{pid},5.,EUR\n",
        f"person_id,amount_minor,currency\n{pid},9223372036854775807,EUR\n{pid},-0,EUR\n",
        "prisoner_number,amount,currency\n" + "X" * 33 + ",1,EUR\n\"a\"b\",1,EUR\n",
        f"person_id,amount,currency\n{pid},99999999999999999999.99,EUR\n",
    ]


write("webhook_envelope", webhook_seeds())
write("settlement_csv", settlement_seeds())
write("camt053", camt053_seeds())
write("payroll_csv", payroll_seeds())
