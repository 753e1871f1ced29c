//! The prisons' published policies.
use crate::services::ServiceError;
use crate::state::AppState;
use ledger::controls::Regime;
use ledger::policy_store::{self, AssignedPolicy};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

pub const REGIMES: [Regime; 3] = [Regime::ClosedPrison, Regime::OpenPrison, Regime::Remand];

/// One regime's policy in effect now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegimePolicy {
    /// `closed_prison`, `open_prison` or `remand`.
    #[schema(example = "closed_prison")]
    pub regime: String,
    /// `None`: no policy assigned, so cards of this regime are declined (fail closed).
    #[schema(value_type = Option<Object>)]
    pub assignment: Option<AssignedPolicy>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PrisonPolicies {
    pub regimes: Vec<RegimePolicy>,
}

/// The policy in effect now for each regime of the prison. Shared with the policies page.
pub async fn current(state: &AppState, prison_id: Uuid) -> Result<PrisonPolicies, ServiceError> {
    let client = state.pool.get().await?;
    let now = OffsetDateTime::now_utc();
    let mut regimes = Vec::new();
    for regime in REGIMES {
        regimes.push(RegimePolicy {
            regime: policy_store::regime_str(regime).to_owned(),
            assignment: policy_store::assigned_policy(&client, prison_id, regime, now).await?,
        });
    }
    Ok(PrisonPolicies { regimes })
}
