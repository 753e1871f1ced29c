//! The processor's webhook as the adapter receives it (`card-adapter::webhook` calls
//! `WebhookEnvelope::from_slice` on the verified body): the envelope and every event's data.
//! Properties: no panic; an accepted envelope is written and read back unchanged; accepted
//! amounts are non-negative with a currency code and ids are present; a body signed with any
//! message id verifies, and the input's own header text never panics the verifier.
#![no_main]

use libfuzzer_sys::fuzz_target;
use processor_protocol::signature::{self, WebhookHeaders, WebhookSecret};
use processor_protocol::{CurrencyCode, WebhookEnvelope, WebhookEvent};

/// A fixed time inside any timestamp the fuzzer may write, so runs are repeatable.
const NOW_UNIX: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = WebhookEnvelope::from_slice(data) {
        check_event(&envelope.event);
        let written = envelope
            .to_vec()
            .expect("an accepted envelope can be written");
        let again =
            WebhookEnvelope::from_slice(&written).expect("a written envelope is read back");
        assert_eq!(again, envelope, "round trip changed the envelope");
    }
    check_signature(data);
});

fn check_currency(currency: &CurrencyCode) {
    assert!(CurrencyCode::new(currency.as_str()).is_ok(), "{currency:?}");
}

fn check_event(event: &WebhookEvent) {
    match event {
        WebhookEvent::AuthorizationRequest(d) => {
            assert!(d.amount >= 0 && d.merchant_amount >= 0);
            assert!(!d.authorization_id.is_empty() && !d.card_id.is_empty());
            check_currency(&d.currency);
            check_currency(&d.merchant_currency);
        }
        WebhookEvent::AuthorizationAdvice(d) => {
            assert!(d.authorization.amount >= 0);
            assert!(d.approved_amount_minor() >= 0);
            check_currency(&d.authorization.currency);
        }
        WebhookEvent::AuthorizationReversal(d) => {
            assert!(d.amount >= 0 && !d.authorization_id.is_empty());
            check_currency(&d.currency);
        }
        WebhookEvent::AuthorizationExpired(d) => assert!(!d.authorization_id.is_empty()),
        WebhookEvent::TransactionClearing(d) => {
            assert!(d.amount >= 0 && !d.transaction_id.is_empty() && !d.card_id.is_empty());
            check_currency(&d.currency);
        }
        WebhookEvent::TransactionRefund(d) => {
            assert!(d.amount >= 0 && !d.transaction_id.is_empty() && !d.card_id.is_empty());
            check_currency(&d.currency);
        }
        WebhookEvent::CardStateChanged(d) => assert!(!d.card_id.is_empty()),
        WebhookEvent::Unknown { event_type, .. } => assert!(!event_type.is_empty()),
    }
    assert!(!event.event_type().is_empty());
}

/// The first line is taken as a message id, the second as a timestamp header, the third as a
/// signature header; the whole input is the body.
fn check_signature(data: &[u8]) {
    let secret = WebhookSecret::from_bytes(vec![7; 32]).expect("a 32-byte key");
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\n');
    let (id, timestamp, header) = (parts.next(), parts.next(), parts.next());
    // Whatever the headers say, the verifier answers without panicking.
    let _ = signature::verify(
        std::slice::from_ref(&secret),
        WebhookHeaders {
            id,
            timestamp,
            signature: header,
        },
        data,
        NOW_UNIX,
    );
    // A body signed now with a non-empty id verifies.
    if let Some(id) = id.filter(|id| !id.is_empty()) {
        let signed = signature::sign(&secret, id, NOW_UNIX, data);
        let now = NOW_UNIX.to_string();
        let verified = signature::verify(
            std::slice::from_ref(&secret),
            WebhookHeaders {
                id: Some(id),
                timestamp: Some(&now),
                signature: Some(&signed),
            },
            data,
            NOW_UNIX,
        );
        assert!(verified.is_ok(), "{verified:?}");
    }
}
