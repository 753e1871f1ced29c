//! camt.053 bank statements, read by `recon::camt053::read_camt053` for the prison's trust
//! account. Properties: no panic; every line handed out is in the account's currency and
//! belongs to a statement of the file, in file order; each accepted statement's opening balance
//! plus its lines is its closing balance.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ledger::Currency;
use recon::camt053::{BankLine, StatementAccount, read_camt053};

fuzz_target!(|data: &[u8]| {
    let account = StatementAccount {
        iban: "FI2112345600000785".to_owned(),
        currency: Currency::EUR,
    };
    let mut lines: Vec<BankLine> = Vec::new();
    let result = read_camt053(data, &account, |line| {
        assert_eq!(line.currency, Currency::EUR);
        if let Some(last) = lines.last() {
            assert!(line.line_no > last.line_no || line.stmt_no > last.stmt_no);
        }
        lines.push(line);
        Ok(())
    });
    let Ok(summary) = result else {
        return;
    };
    assert_eq!(summary.line_count, lines.len() as u64);
    assert_eq!(summary.sha256_hex.len(), 64);
    for statement in &summary.statements {
        assert_eq!(statement.currency, Currency::EUR);
        let booked_minor = lines
            .iter()
            .filter(|line| line.stmt_no == statement.stmt_no)
            .try_fold(0i64, |sum, line| sum.checked_add(line.amount_minor))
            .expect("an accepted statement's lines add up in i64");
        assert_eq!(
            statement.opening_minor.checked_add(booked_minor),
            Some(statement.closing_minor),
            "statement {} does not add up",
            statement.stmt_no
        );
    }
    for line in &lines {
        assert!(
            summary
                .statements
                .iter()
                .any(|statement| statement.stmt_no == line.stmt_no),
            "line {} of no statement",
            line.line_no
        );
    }
});
