//! The payroll file (`ledger::payroll_file`, read by the payroll import). Properties: no panic;
//! every accepted line has a positive amount in euros and a payee, lines in file order after the
//! header; a refused file names each bad line once, after the header or at it.
#![no_main]

use ledger::Currency;
use ledger::payroll_file::{self, Payee};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The import takes the body as UTF-8 text.
    let Ok(csv) = std::str::from_utf8(data) else {
        return;
    };
    let line_count = csv.split('\n').count();
    match payroll_file::parse(csv) {
        Ok(lines) => {
            let mut previous = 1;
            for line in &lines {
                assert!(line.amount.is_positive(), "{line:?}");
                assert_eq!(line.amount.currency, Currency::EUR);
                assert!(line.line > previous && line.line <= line_count, "{line:?}");
                previous = line.line;
                if let Payee::Number(number) = &line.payee {
                    assert!(!number.is_empty() && number.chars().count() <= 32);
                }
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            let mut previous = 0;
            for error in &errors {
                assert!(error.line > previous && error.line <= line_count.max(1), "{error:?}");
                assert!(!error.code.is_empty());
                previous = error.line;
            }
        }
    }
});
