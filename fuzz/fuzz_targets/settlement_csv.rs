//! The processor's settlement file, read by the protocol's one reader (`recon` imports with it).
//! Properties: no panic; a file read to its end has a trailer whose count and net are its rows';
//! every row has the file's date and a currency; written back by `SettlementWriter`, the rows
//! read back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use processor_protocol::CurrencyCode;
use processor_protocol::settlement::{SettlementReader, SettlementRow, SettlementWriter};

fuzz_target!(|data: &[u8]| {
    let Some((rows, trailer)) = read_all(data) else {
        return;
    };
    assert_eq!(trailer.record_count, rows.len() as u64);
    let mut net_minor = 0i64;
    for row in &rows {
        assert!(!row.record_id.is_empty());
        assert_eq!(row.settlement_date, trailer.settlement_date);
        assert!(CurrencyCode::new(row.currency.as_str()).is_ok());
        net_minor = net_minor
            .checked_add(row.amount_minor)
            .expect("an accepted file's net fits in i64");
    }
    assert_eq!(net_minor, trailer.net_minor);

    let mut writer =
        SettlementWriter::new(Vec::new(), trailer.settlement_date).expect("writes to memory");
    for row in &rows {
        writer.write_row(row).expect("an accepted row can be written");
    }
    let (written, written_trailer) = writer.finish().expect("the trailer is written");
    assert_eq!(written_trailer.record_count, trailer.record_count);
    assert_eq!(written_trailer.net_minor, trailer.net_minor);
    let (again, again_trailer) = read_all(&written).unwrap_or_else(|| {
        panic!(
            "a written file is read back: {}",
            String::from_utf8_lossy(&written)
        )
    });
    assert_eq!(again, rows, "round trip changed the rows");
    assert_eq!(again_trailer.net_minor, trailer.net_minor);
});

fn read_all(
    data: &[u8],
) -> Option<(
    Vec<SettlementRow>,
    processor_protocol::settlement::SettlementTrailer,
)> {
    let mut reader = SettlementReader::new(data).ok()?;
    let rows = reader.by_ref().collect::<Result<Vec<_>, _>>().ok()?;
    let trailer = reader
        .trailer()
        .expect("a file read to its end without error has its trailer");
    Some((rows, trailer))
}
