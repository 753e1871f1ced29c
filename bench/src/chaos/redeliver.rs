//! `saldo-chaos redeliver`: what the processor does after an outage. Asynchronous messages that
//! were not acknowledged are delivered again (same webhook-id, same body) until they are; an
//! authorization request that was not answered is not retried (protocol 3.3): its
//! `authorization.advice` with reason TIMEOUT is sent instead, which releases anything held for
//! it. A random share of acknowledged messages is delivered again too, and the answer must be
//! the first one.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::record::{self, Delivery, Line, Recorder};
use super::{Message, Target, deliver, event_type};

#[derive(Debug, Clone, Args)]
pub struct RedeliverOptions {
    #[command(flatten)]
    pub target: Target,
    #[arg(long)]
    pub record: PathBuf,
    /// Acknowledged messages delivered again, in percent.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub share_percent: u32,
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Give up on a message after retrying it this long.
    #[arg(long, default_value_t = 120)]
    pub give_up_s: u64,
    #[arg(long, default_value_t = 2)]
    pub seed: u64,
}

/// One message to deliver again, with the first answer when it was acknowledged.
struct Redelivery {
    message: Message,
    first_answer: Option<serde_json::Value>,
}

/// The TIMEOUT advice for an unanswered request: its fields plus decision, amount and reason.
fn timeout_advice(request: &Delivery) -> anyhow::Result<Message> {
    let mut body: serde_json::Value = serde_json::from_str(&request.body)?;
    body["type"] = "authorization.advice".into();
    body["data"]["decision"] = "DECLINE".into();
    body["data"]["approved_amount"] = 0.into();
    body["data"]["reason"] = "TIMEOUT".into();
    Ok(Message {
        event_id: format!("{}_adv", request.event_id.trim_end_matches("_req")),
        event_type: record::AUTHORIZATION_ADVICE,
        authorization_id: request.authorization_id.clone(),
        card_id: request.card_id.clone(),
        amount_minor: request.amount_minor,
        transaction_id: None,
        body: serde_json::to_string(&body)?,
    })
}

fn plan(lines: &[Line], share_percent: u32, seed: u64) -> anyhow::Result<Vec<Redelivery>> {
    let mut first: HashMap<&str, &Delivery> = HashMap::new();
    let mut acked: HashMap<&str, &Delivery> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for delivery in record::deliveries(lines) {
        if !first.contains_key(delivery.event_id.as_str()) {
            order.push(&delivery.event_id);
            first.insert(&delivery.event_id, delivery);
        }
        if delivery.acked {
            acked.entry(&delivery.event_id).or_insert(delivery);
        }
    }
    let advised: HashSet<&str> = record::deliveries(lines)
        .filter(|d| d.event_type == record::AUTHORIZATION_ADVICE && d.acked)
        .map(|d| d.authorization_id.as_str())
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut plan = Vec::new();
    for event_id in order {
        let delivery = first[event_id];
        let Some(kind) = event_type(&delivery.event_type) else {
            anyhow::bail!("unknown event type {} in the record", delivery.event_type);
        };
        match acked.get(event_id) {
            Some(acked) => {
                if rng.random_ratio(share_percent, 100) {
                    plan.push(Redelivery {
                        message: Message::from_delivery(acked, kind),
                        first_answer: acked.answer.clone(),
                    });
                }
            }
            None if kind == record::AUTHORIZATION_REQUEST => {
                if !advised.contains(delivery.authorization_id.as_str()) {
                    plan.push(Redelivery {
                        message: timeout_advice(delivery)?,
                        first_answer: None,
                    });
                }
            }
            None => plan.push(Redelivery {
                message: Message::from_delivery(delivery, kind),
                first_answer: None,
            }),
        }
    }
    plan.shuffle(&mut rng);
    Ok(plan)
}

pub async fn run(options: &RedeliverOptions) -> anyhow::Result<bool> {
    let lines = record::read(&options.record)?;
    let plan = plan(&lines, options.share_percent, options.seed)?;
    let unacked = plan.iter().filter(|r| r.first_answer.is_none()).count();
    let again = plan.len() - unacked;
    let secret = Arc::new(options.target.secret()?);
    let url = Arc::new(options.target.webhook_url());
    let client = crate::load::http_client(options.concurrency);
    let recorder = Recorder::open(&options.record, false)?;
    let queue = Arc::new(std::sync::Mutex::new(plan));
    let give_up = Duration::from_secs(options.give_up_s);
    let mut tasks = Vec::new();
    for _ in 0..options.concurrency.max(1) {
        let (queue, secret, url, client, recorder) = (
            queue.clone(),
            secret.clone(),
            url.clone(),
            client.clone(),
            recorder.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut changed = Vec::new();
            let mut gave_up = Vec::new();
            loop {
                let next = queue.lock().ok().and_then(|mut queue| queue.pop());
                let Some(redelivery) = next else { break };
                let started = Instant::now();
                let mut pause = Duration::from_millis(100);
                loop {
                    let delivery = deliver(&client, &url, &secret, &redelivery.message, true).await;
                    let _ = recorder.write(&Line::Delivery(delivery.clone()));
                    if delivery.acked {
                        if let Some(first) = &redelivery.first_answer
                            && delivery.answer.as_ref() != Some(first)
                        {
                            changed.push(format!(
                                "{}: first {first}, now {}",
                                delivery.event_id,
                                delivery.answer.unwrap_or_default()
                            ));
                        }
                        break;
                    }
                    if started.elapsed() > give_up {
                        gave_up.push(delivery.event_id);
                        break;
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
            }
            (changed, gave_up)
        }));
    }
    let mut changed = Vec::new();
    let mut gave_up = Vec::new();
    for task in tasks {
        let (c, g) = task.await?;
        changed.extend(c);
        gave_up.extend(g);
    }
    println!(
        "redeliver: {unacked} unacknowledged delivered again (or advised TIMEOUT), {again} acknowledged delivered again, {} answers changed, {} given up",
        changed.len(),
        gave_up.len()
    );
    for change in changed.iter().take(10) {
        println!("  answer changed: {change}");
    }
    for event_id in gave_up.iter().take(10) {
        println!("  never acknowledged: {event_id}");
    }
    Ok(changed.is_empty() && gave_up.is_empty())
}
