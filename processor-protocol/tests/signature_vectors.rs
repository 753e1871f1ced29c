//! Every vector of `shared/processor-spec/signature-vectors.json` (copied into fixtures/) must be
//! decided exactly as its `valid` says.

use processor_protocol::signature::{WebhookHeaders, WebhookSecret, sign, verify};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    tolerance_seconds: u64,
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    secret: String,
    webhook_id: String,
    webhook_timestamp: i64,
    body: String,
    signature_header: String,
    now: i64,
    valid: bool,
}

fn load() -> Vectors {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/signature-vectors.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("fixture json")
}

#[test]
fn every_vector_decides_as_published() {
    let file = load();
    assert_eq!(
        file.tolerance_seconds,
        processor_protocol::signature::TIMESTAMP_TOLERANCE_SECONDS
    );
    assert!(file.vectors.len() >= 10, "the fixture has lost vectors");
    let mut valid = 0;
    for v in &file.vectors {
        let secret = WebhookSecret::parse(&v.secret).expect("fixture secret");
        let timestamp = v.webhook_timestamp.to_string();
        let headers = WebhookHeaders {
            id: Some(&v.webhook_id),
            timestamp: Some(&timestamp),
            signature: Some(&v.signature_header),
        };
        let decision = verify(&[secret], headers, v.body.as_bytes(), v.now);
        assert_eq!(
            decision.is_ok(),
            v.valid,
            "vector {:?}: {decision:?}",
            v.name
        );
        if v.valid {
            valid += 1;
        }
    }
    assert!(
        valid > 0 && valid < file.vectors.len(),
        "fixture must hold both kinds"
    );
}

#[test]
fn our_signer_reproduces_every_valid_single_signature() {
    for v in load()
        .vectors
        .iter()
        .filter(|v| v.valid && !v.signature_header.contains(' '))
    {
        let secret = WebhookSecret::parse(&v.secret).unwrap();
        assert_eq!(
            sign(
                &secret,
                &v.webhook_id,
                v.webhook_timestamp,
                v.body.as_bytes()
            ),
            v.signature_header,
            "vector {:?}",
            v.name
        );
    }
}
