//! Scripted card stories, callable from tests and from `POST /_sim/scenarios/{name}`.

use ledger::controls::Channel;
use processor_protocol::Decision;
use serde::{Deserialize, Serialize};

use super::{
    AuthorizationOutcome, AuthorizeInput, Merchant, SimError, Simulator, merchant_online_books,
    merchant_online_casino,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// 12.50 at the prison canteen (POS, MCC 5411), cleared in full.
    CanteenPurchase,
    /// 20.00 online at a gambling merchant (ECOMMERCE, MCC 7995): expected to be declined,
    /// by the processor's spend controls or by Saldo.
    BlockedMccOnline,
    /// 30.00 authorized, cleared as 10.00 (not final) and 15.00 (final): 5.00 released.
    PartialClearing,
    /// 20.00 authorized, 5.00 reversed, 15.00 cleared.
    Reversal,
    /// 18.00 authorized, the hold expires, then the clearing of 18.00 arrives anyway.
    ExpiryThenLateClearing,
    /// 7.00 cleared with `authorization_id: null` (an offline transaction).
    ForcePost,
    /// 15.00 bought and cleared online, then 5.00 refunded.
    Refund,
    /// Saldo unreachable: the processor stands in and approves 10.00 within the spend
    /// controls; the STAND_IN advice is retried until Saldo is back; then the clearing.
    StandInWhileDown,
}

impl Scenario {
    pub const ALL: [Scenario; 8] = [
        Scenario::CanteenPurchase,
        Scenario::BlockedMccOnline,
        Scenario::PartialClearing,
        Scenario::Reversal,
        Scenario::ExpiryThenLateClearing,
        Scenario::ForcePost,
        Scenario::Refund,
        Scenario::StandInWhileDown,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioReport {
    pub scenario: Scenario,
    pub card_id: String,
    pub authorizations: Vec<AuthorizationOutcome>,
    pub transaction_ids: Vec<String>,
    /// Event types sent asynchronously, in emission order (advice, clearing, ...).
    pub events: Vec<String>,
    /// Whether the story ran to its end (it stops after a decline it cannot continue from).
    pub completed: bool,
}

/// Plays `scenario` on `card_id`; its in-prison purchases are at `canteen`.
pub(crate) async fn run(
    sim: &Simulator,
    scenario: Scenario,
    card_id: &str,
    canteen: Merchant,
) -> Result<ScenarioReport, SimError> {
    let emitted_before = sim.inner.state().emitted.len();
    let mut report = ScenarioReport {
        scenario,
        card_id: card_id.to_owned(),
        authorizations: Vec::new(),
        transaction_ids: Vec::new(),
        events: Vec::new(),
        completed: false,
    };
    // Authorizes and says whether the story can go on.
    async fn auth(
        sim: &Simulator,
        report: &mut ScenarioReport,
        input: AuthorizeInput,
    ) -> Result<Option<String>, SimError> {
        let outcome = sim.authorize(input).await?;
        let approved =
            (outcome.decision == Decision::Approve).then(|| outcome.authorization_id.clone());
        report.authorizations.push(outcome);
        Ok(approved)
    }

    match scenario {
        Scenario::CanteenPurchase => {
            let input = AuthorizeInput::new(card_id, 1250, canteen.clone());
            if let Some(auth_id) = auth(sim, &mut report, input).await? {
                report
                    .transaction_ids
                    .push(sim.clear(&auth_id, 1250, true)?);
                report.completed = true;
            }
        }
        Scenario::BlockedMccOnline => {
            let mut input = AuthorizeInput::new(card_id, 2000, merchant_online_casino());
            input.channel = Channel::Ecommerce;
            auth(sim, &mut report, input).await?;
            report.completed = true;
        }
        Scenario::PartialClearing => {
            let input = AuthorizeInput::new(card_id, 3000, canteen.clone());
            if let Some(auth_id) = auth(sim, &mut report, input).await? {
                report
                    .transaction_ids
                    .push(sim.clear(&auth_id, 1000, false)?);
                report
                    .transaction_ids
                    .push(sim.clear(&auth_id, 1500, true)?);
                report.completed = true;
            }
        }
        Scenario::Reversal => {
            let input = AuthorizeInput::new(card_id, 2000, canteen.clone());
            if let Some(auth_id) = auth(sim, &mut report, input).await? {
                sim.reverse(&auth_id, 500)?;
                report
                    .transaction_ids
                    .push(sim.clear(&auth_id, 1500, true)?);
                report.completed = true;
            }
        }
        Scenario::ExpiryThenLateClearing => {
            let input = AuthorizeInput::new(card_id, 1800, canteen.clone());
            if let Some(auth_id) = auth(sim, &mut report, input).await? {
                sim.expire(&auth_id)?;
                report
                    .transaction_ids
                    .push(sim.clear(&auth_id, 1800, true)?);
                report.completed = true;
            }
        }
        Scenario::ForcePost => {
            report
                .transaction_ids
                .push(sim.force_post(card_id, 700, canteen.clone())?);
            report.completed = true;
        }
        Scenario::Refund => {
            let mut input = AuthorizeInput::new(card_id, 1500, merchant_online_books());
            input.channel = Channel::Ecommerce;
            if let Some(auth_id) = auth(sim, &mut report, input).await? {
                let txn = sim.clear(&auth_id, 1500, true)?;
                report.transaction_ids.push(txn.clone());
                report.transaction_ids.push(sim.refund(
                    card_id,
                    Some(&txn),
                    500,
                    merchant_online_books(),
                )?);
                report.completed = true;
            }
        }
        Scenario::StandInWhileDown => {
            let was_down = sim.webhook_settings().down;
            sim.set_webhook_down(true);
            let input = AuthorizeInput::new(card_id, 1000, canteen.clone());
            let approved = auth(sim, &mut report, input).await;
            // Saldo comes back whatever happened, unless it was down before the story.
            sim.set_webhook_down(was_down);
            if let Some(auth_id) = approved? {
                report
                    .transaction_ids
                    .push(sim.clear(&auth_id, 1000, true)?);
                report.completed = true;
            }
        }
    }
    report.events = sim.inner.state().emitted[emitted_before..]
        .iter()
        .map(|m| m.event_type.clone())
        .collect();
    Ok(report)
}
