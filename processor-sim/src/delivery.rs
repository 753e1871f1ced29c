//! Webhook delivery: signed POSTs to Saldo (3.1), the synchronous authorization request with
//! its deadline (3.3), and asynchronous messages with retries on the same webhook-id (3.2).

use std::sync::Arc;
use std::time::{Duration, Instant};

use processor_protocol::signature::{self, sign_all};
use processor_protocol::{AdviceReason, Decision, WebhookEnvelope, WebhookEvent};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{
    AuthorizationOutcome, AuthorizeInput, DecidedBy, Inner, MAX_RETRY_DELAY_MS, SimError,
    judge_answer, new_id, prepare_authorization, record_authorization,
};

#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) msg_id: String,
    pub(crate) event_type: String,
    /// Fixed once: every retry sends the same bytes under the same webhook-id.
    pub(crate) body: Arc<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptKind {
    /// `authorization.request`, answered within the deadline or not at all.
    Sync,
    First,
    Retry,
    /// A deliberate second delivery of a message (duplicate mode).
    Duplicate,
}

/// One POST the simulator made (or would have made, when the endpoint is down).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub msg_id: String,
    pub event_type: String,
    pub kind: AttemptKind,
    /// 1 for the first attempt, counting retries.
    pub attempt: u32,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

impl DeliveryAttempt {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// What one POST gave.
enum PostResult {
    Answered {
        status: u16,
        body: Vec<u8>,
    },
    /// Could not reach our endpoint at all (no URL, down switch, connection refused).
    Unreachable(String),
    /// Reached, but no complete answer in time.
    TimedOut,
    Failed(String),
}

impl Inner {
    async fn post(&self, message: &Message, timeout_ms: u64) -> PostResult {
        let (url, down) = {
            let state = self.state();
            (state.webhook.url.clone(), state.webhook.down)
        };
        let Some(url) = url else {
            return PostResult::Unreachable("no webhook url".into());
        };
        if down {
            return PostResult::Unreachable("endpoint down (simulated)".into());
        }
        // The timestamp is the attempt's; the id and body are the message's.
        let timestamp = super::now().unix_timestamp();
        let signature = sign_all(
            &self.config.webhook_secrets,
            &message.msg_id,
            timestamp,
            &message.body,
        );
        let sent = self
            .http
            .post(url)
            .timeout(Duration::from_millis(timeout_ms))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(signature::HEADER_ID, &message.msg_id)
            .header(signature::HEADER_TIMESTAMP, timestamp.to_string())
            .header(signature::HEADER_SIGNATURE, signature)
            .body(message.body.as_ref().clone())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) if e.is_connect() => return PostResult::Unreachable("connection failed".into()),
            Err(e) if e.is_timeout() => return PostResult::TimedOut,
            Err(e) => return PostResult::Failed(format!("transport error: {e}")),
        };
        let status = response.status().as_u16();
        match response.bytes().await {
            Ok(body) => PostResult::Answered {
                status,
                body: body.to_vec(),
            },
            Err(e) if e.is_timeout() => PostResult::TimedOut,
            Err(e) => PostResult::Failed(format!("reading answer: {e}")),
        }
    }

    fn log_attempt(
        &self,
        message: &Message,
        kind: AttemptKind,
        attempt: u32,
        result: &PostResult,
        started: Instant,
    ) {
        let (status, error) = match result {
            PostResult::Answered { status, .. } => (Some(*status), None),
            PostResult::Unreachable(e) | PostResult::Failed(e) => (None, Some(e.clone())),
            PostResult::TimedOut => (None, Some("timeout".to_owned())),
        };
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.state().deliveries.push(DeliveryAttempt {
            msg_id: message.msg_id.clone(),
            event_type: message.event_type.clone(),
            kind,
            attempt,
            status,
            error,
            elapsed_ms,
        });
    }

    /// One asynchronous attempt; `true` on a 2xx.
    async fn attempt(&self, message: &Message, kind: AttemptKind, attempt: u32) -> bool {
        let started = Instant::now();
        let result = self.post(message, self.config.webhook_timeout_ms).await;
        self.log_attempt(message, kind, attempt, &result, started);
        matches!(result, PostResult::Answered { status, .. } if (200..300).contains(&status))
    }
}

fn retry_delay_ms(base_ms: u64, retry_number: u32) -> u64 {
    1u64.checked_shl(retry_number.min(32))
        .and_then(|factor| base_ms.checked_mul(factor))
        .unwrap_or(MAX_RETRY_DELAY_MS)
        .min(MAX_RETRY_DELAY_MS)
}

/// First attempts go out one at a time in queue order, so without shuffling Saldo sees messages
/// in emission order unless a retry intervenes; retries run on their own.
pub(crate) async fn worker(inner: Arc<Inner>, mut queue: mpsc::UnboundedReceiver<Message>) {
    while let Some(message) = queue.recv().await {
        let delivered = inner.attempt(&message, AttemptKind::First, 1).await;
        let duplicate = inner.state().webhook.duplicate;
        if duplicate {
            inner.attempt(&message, AttemptKind::Duplicate, 1).await;
        }
        if delivered {
            inner.finish_one();
            continue;
        }
        let inner = inner.clone();
        tokio::spawn(async move {
            let max = inner.config.max_delivery_attempts.max(1);
            for attempt in 2..=max {
                let delay_ms = retry_delay_ms(inner.config.retry_base_delay_ms, attempt - 2);
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                if inner.attempt(&message, AttemptKind::Retry, attempt).await {
                    break;
                }
                if attempt == max {
                    tracing::warn!(msg_id = %message.msg_id, "webhook given up after {max} attempts");
                }
            }
            inner.finish_one();
        });
    }
}

/// The synchronous authorization (3.3) and what follows from it (3.4).
pub(crate) async fn authorize(
    inner: &Arc<Inner>,
    input: AuthorizeInput,
) -> Result<AuthorizationOutcome, SimError> {
    let (request, rule) = {
        let state = inner.state();
        prepare_authorization(&state, &inner.config, &input)?
    };

    if let Some(reason) = rule {
        let advice = {
            let mut state = inner.state();
            record_authorization(
                &mut state,
                &request,
                Decision::Decline,
                0,
                Some(AdviceReason::ProcessorRule),
            )
        };
        if let Some(advice) = advice {
            inner.emit(WebhookEvent::AuthorizationAdvice(advice));
        }
        return Ok(AuthorizationOutcome {
            authorization_id: request.authorization_id,
            decision: Decision::Decline,
            approved_amount_minor: 0,
            decided_by: DecidedBy::ProcessorRule,
            decline_reason: Some(reason),
            failure: None,
            duplicate_answer_matched: None,
        });
    }

    let envelope = WebhookEnvelope::new(
        WebhookEvent::AuthorizationRequest(request.clone()),
        super::now(),
    );
    let body = Arc::new(envelope.to_vec().unwrap_or_default());
    let message = Message {
        msg_id: new_id("msg"),
        event_type: envelope.event.event_type().to_owned(),
        body: body.clone(),
    };
    let deadline_ms = inner.config.auth_deadline_ms;
    let started = Instant::now();
    let result = inner.post(&message, deadline_ms).await;
    inner.log_attempt(&message, AttemptKind::Sync, 1, &result, started);

    // The same authorization_id delivered again (as its own message): the answer must match.
    let duplicate_answer_matched = if inner.state().webhook.duplicate {
        let again = Message {
            msg_id: new_id("msg"),
            event_type: message.event_type.clone(),
            body,
        };
        let started = Instant::now();
        let second = inner.post(&again, deadline_ms).await;
        inner.log_attempt(&again, AttemptKind::Duplicate, 1, &second, started);
        let answer = |r: &PostResult| match r {
            PostResult::Answered { status: 200, body } => {
                serde_json::from_slice::<processor_protocol::AuthorizationResponse>(body).ok()
            }
            _ => None,
        };
        Some(answer(&result).is_some() && answer(&result) == answer(&second))
    } else {
        None
    };

    let (decision, approved_minor, decided_by, decline_reason, failure, advice_reason) =
        match result {
            PostResult::Answered { status, body } => match judge_answer(&request, status, &body) {
                Ok((answer, approved)) => (
                    answer.decision,
                    approved,
                    DecidedBy::Saldo,
                    answer.decline_reason,
                    None,
                    None,
                ),
                Err(failure) => (
                    Decision::Decline,
                    0,
                    DecidedBy::Timeout,
                    None,
                    Some(failure),
                    Some(AdviceReason::Timeout),
                ),
            },
            PostResult::Unreachable(why) if inner.config.stand_in => (
                // The processor's fence was already applied above: within it, approve.
                Decision::Approve,
                request.amount,
                DecidedBy::StandIn,
                None,
                Some(why),
                Some(AdviceReason::StandIn),
            ),
            PostResult::Unreachable(why) | PostResult::Failed(why) => (
                Decision::Decline,
                0,
                DecidedBy::Timeout,
                None,
                Some(why),
                Some(AdviceReason::Timeout),
            ),
            PostResult::TimedOut => (
                Decision::Decline,
                0,
                DecidedBy::Timeout,
                None,
                Some(format!("no answer within {deadline_ms} ms")),
                Some(AdviceReason::Timeout),
            ),
        };

    let advice = {
        let mut state = inner.state();
        record_authorization(
            &mut state,
            &request,
            decision,
            approved_minor,
            advice_reason,
        )
    };
    if let Some(advice) = advice {
        inner.emit(WebhookEvent::AuthorizationAdvice(advice));
    }
    Ok(AuthorizationOutcome {
        authorization_id: request.authorization_id,
        decision,
        approved_amount_minor: approved_minor,
        decided_by,
        decline_reason,
        failure,
        duplicate_answer_matched,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_and_cap() {
        assert_eq!(retry_delay_ms(20, 0), 20);
        assert_eq!(retry_delay_ms(20, 1), 40);
        assert_eq!(retry_delay_ms(20, 3), 160);
        assert_eq!(retry_delay_ms(1000, 30), MAX_RETRY_DELAY_MS);
        assert_eq!(retry_delay_ms(u64::MAX, 2), MAX_RETRY_DELAY_MS);
    }
}
