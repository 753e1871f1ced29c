//! Policies: the rules a card is evaluated against, as templates per prison and regime plus
//! per-person overrides, each identified by id and version.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::ControlsError;
use super::request::{Channel, is_valid_country, is_valid_mcc};
use crate::money::{Currency, Money};

/// Merchant category codes blocked in every policy unless a per-person override with a reason
/// and an approver lifts one. Each turns card money into something untraceable or into a stake:
/// see docs/controls.md for the reasoning. Sorted, so the list reads the same everywhere.
pub const SAFE_DEFAULT_BLOCKED_MCCS: &[(&str, &str)] = &[
    ("4829", "wire transfers and money orders"),
    ("6010", "manual cash disbursement at a bank counter"),
    ("6050", "quasi-cash at a financial institution"),
    (
        "6051",
        "quasi-cash: foreign currency, money orders, crypto-assets, traveller's cheques",
    ),
    ("6211", "securities brokers and dealers"),
    ("6538", "person-to-person money transfer funding"),
    ("6540", "stored-value and prepaid card purchase or load"),
    ("7800", "government-owned lotteries"),
    ("7801", "government-licensed online casinos"),
    ("7802", "government-licensed horse and dog racing"),
    ("7995", "betting, casino chips, lottery tickets"),
    ("9406", "government-owned lotteries (outside the US)"),
];

pub fn is_safe_default_blocked(mcc: &str) -> bool {
    SAFE_DEFAULT_BLOCKED_MCCS
        .iter()
        .any(|(code, _)| *code == mcc)
}

/// Spending limits; `None` means no limit of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub per_authorization: Option<Money>,
    pub daily: Option<Money>,
    pub weekly: Option<Money>,
    pub monthly: Option<Money>,
}

impl Limits {
    pub const NONE: Limits = Limits {
        per_authorization: None,
        daily: None,
        weekly: None,
        monthly: None,
    };

    fn all(&self) -> [Option<Money>; 4] {
        [
            self.per_authorization,
            self.daily,
            self.weekly,
            self.monthly,
        ]
    }

    fn validate(&self, currency: Currency) -> Result<(), ControlsError> {
        self.all()
            .into_iter()
            .flatten()
            .try_for_each(|limit| validate_amount(limit, currency))
    }
}

fn validate_amount(amount: Money, currency: Currency) -> Result<(), ControlsError> {
    if amount.currency != currency {
        return Err(ControlsError::CurrencyMismatch {
            expected: currency,
            found: amount.currency,
        });
    }
    if amount.amount_minor < 0 {
        return Err(ControlsError::NegativeAmount);
    }
    Ok(())
}

/// Which merchant countries are allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "countries", rename_all = "snake_case")]
pub enum CountryRule {
    Any,
    Only(BTreeSet<String>),
}

impl CountryRule {
    pub fn only(countries: &[&str]) -> CountryRule {
        CountryRule::Only(countries.iter().map(|c| (*c).to_owned()).collect())
    }

    pub fn allows(&self, country: &str) -> bool {
        match self {
            CountryRule::Any => true,
            CountryRule::Only(allowed) => allowed.contains(country),
        }
    }
}

/// Channels and countries allowed in one mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeRules {
    pub channels: BTreeSet<Channel>,
    pub countries: CountryRule,
}

impl ModeRules {
    pub fn new(channels: &[Channel], countries: CountryRule) -> ModeRules {
        ModeRules {
            channels: channels.iter().copied().collect(),
            countries,
        }
    }
}

/// Merchant category rules. Blocks always win over allows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MccRules {
    /// `Some`: only these categories (merchants on the inside list are exempt). `None`: any.
    pub allow: Option<BTreeSet<String>>,
    /// Blocked on top of the safe defaults.
    pub block: BTreeSet<String>,
    /// Safe-default categories lifted for this policy, only ever by an override.
    pub unblocked_defaults: BTreeSet<String>,
}

impl MccRules {
    pub fn is_blocked(&self, mcc: &str) -> bool {
        self.block.contains(mcc)
            || (is_safe_default_blocked(mcc) && !self.unblocked_defaults.contains(mcc))
    }

    pub fn is_allowed(&self, mcc: &str) -> bool {
        self.allow.as_ref().is_none_or(|allow| allow.contains(mcc))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    ClosedPrison,
    OpenPrison,
    Remand,
}

/// Which mode's rules an override changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Inside,
    Leave,
    Released,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OverrideRef {
    pub id: String,
    pub version: u32,
}

/// The policy that made a decision: the template's id and version and every override applied.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PolicyRef {
    pub id: String,
    pub version: u32,
    pub overrides: Vec<OverrideRef>,
}

/// The effective rules for one card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub id: String,
    pub version: u32,
    pub regime: Regime,
    pub currency: Currency,
    /// The prison's own merchants (canteen, phone provider): the only ones usable `Inside`, and
    /// exempt from the MCC allow list in every mode.
    pub inside_merchants: BTreeSet<String>,
    pub blocked_merchants: BTreeSet<String>,
    pub mcc: MccRules,
    pub inside: ModeRules,
    pub leave: ModeRules,
    pub released: ModeRules,
    /// Limits while `Inside`.
    pub limits: Limits,
    /// Proposed to staff when they grant a leave; the leave carries its own copy.
    pub default_leave_limits: Limits,
    pub released_limits: Limits,
    /// Most a prisoner may hold; credits beyond it are refused or parked by the caller.
    pub max_balance: Option<Money>,
    /// Overrides applied by `with_overrides`, in order.
    pub overrides: Vec<OverrideRef>,
}

/// Cents of euro, for the templates.
const fn eur(cents: i64) -> Money {
    Money {
        amount_minor: cents,
        currency: Currency::EUR,
    }
}

fn merchants(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| (*id).to_owned()).collect()
}

impl Policy {
    /// Closed prison: the card works only at the prison's merchants, cash is never allowed
    /// (in Finland a closed-prison prisoner may hold no means of payment but the card), leave
    /// purchases stay in the home country.
    pub fn closed_prison(
        id: &str,
        version: u32,
        home_country: &str,
        inside_merchants: &[&str],
    ) -> Policy {
        use Channel::*;
        Policy {
            id: id.to_owned(),
            version,
            regime: Regime::ClosedPrison,
            currency: Currency::EUR,
            inside_merchants: merchants(inside_merchants),
            blocked_merchants: BTreeSet::new(),
            mcc: MccRules::default(),
            inside: ModeRules::new(&[Pos, Contactless], CountryRule::only(&[home_country])),
            leave: ModeRules::new(
                &[Pos, Contactless, Ecommerce],
                CountryRule::only(&[home_country]),
            ),
            released: ModeRules::new(&Channel::ALL, CountryRule::Any),
            limits: Limits {
                per_authorization: Some(eur(50_00)),
                daily: Some(eur(50_00)),
                weekly: Some(eur(100_00)),
                monthly: Some(eur(250_00)),
            },
            default_leave_limits: Limits {
                per_authorization: Some(eur(100_00)),
                daily: Some(eur(150_00)),
                weekly: Some(eur(300_00)),
                monthly: Some(eur(500_00)),
            },
            released_limits: Limits::NONE,
            max_balance: Some(eur(1_500_00)),
            overrides: Vec::new(),
        }
    }

    /// Open prison: prisoners may hold money, so online purchases are allowed inside and cash on
    /// leave; limits are wider.
    pub fn open_prison(
        id: &str,
        version: u32,
        home_country: &str,
        inside_merchants: &[&str],
    ) -> Policy {
        use Channel::*;
        Policy {
            id: id.to_owned(),
            version,
            regime: Regime::OpenPrison,
            currency: Currency::EUR,
            inside_merchants: merchants(inside_merchants),
            blocked_merchants: BTreeSet::new(),
            mcc: MccRules::default(),
            inside: ModeRules::new(
                &[Pos, Contactless, Ecommerce],
                CountryRule::only(&[home_country]),
            ),
            leave: ModeRules::new(&Channel::ALL, CountryRule::only(&[home_country])),
            released: ModeRules::new(&Channel::ALL, CountryRule::Any),
            limits: Limits {
                per_authorization: Some(eur(150_00)),
                daily: Some(eur(150_00)),
                weekly: Some(eur(400_00)),
                monthly: Some(eur(1_000_00)),
            },
            default_leave_limits: Limits {
                per_authorization: Some(eur(300_00)),
                daily: Some(eur(300_00)),
                weekly: Some(eur(600_00)),
                monthly: Some(eur(1_200_00)),
            },
            released_limits: Limits::NONE,
            max_balance: Some(eur(3_000_00)),
            overrides: Vec::new(),
        }
    }

    /// Remand: not convicted, but an investigation may be running, so no online purchases or
    /// cash (they reach people outside unseen) and tight limits, as in a closed prison.
    pub fn remand(id: &str, version: u32, home_country: &str, inside_merchants: &[&str]) -> Policy {
        use Channel::*;
        Policy {
            id: id.to_owned(),
            version,
            regime: Regime::Remand,
            currency: Currency::EUR,
            inside_merchants: merchants(inside_merchants),
            blocked_merchants: BTreeSet::new(),
            mcc: MccRules::default(),
            inside: ModeRules::new(&[Pos, Contactless], CountryRule::only(&[home_country])),
            leave: ModeRules::new(&[Pos, Contactless], CountryRule::only(&[home_country])),
            released: ModeRules::new(&Channel::ALL, CountryRule::Any),
            limits: Limits {
                per_authorization: Some(eur(50_00)),
                daily: Some(eur(50_00)),
                weekly: Some(eur(100_00)),
                monthly: Some(eur(250_00)),
            },
            default_leave_limits: Limits {
                per_authorization: Some(eur(50_00)),
                daily: Some(eur(100_00)),
                weekly: Some(eur(200_00)),
                monthly: Some(eur(300_00)),
            },
            released_limits: Limits::NONE,
            max_balance: Some(eur(1_000_00)),
            overrides: Vec::new(),
        }
    }

    /// The reference every decision records.
    pub fn reference(&self) -> PolicyRef {
        PolicyRef {
            id: self.id.clone(),
            version: self.version,
            overrides: self.overrides.clone(),
        }
    }

    pub fn rules(&self, scope: Scope) -> &ModeRules {
        match scope {
            Scope::Inside => &self.inside,
            Scope::Leave => &self.leave,
            Scope::Released => &self.released,
        }
    }

    fn rules_mut(&mut self, scope: Scope) -> &mut ModeRules {
        match scope {
            Scope::Inside => &mut self.inside,
            Scope::Leave => &mut self.leave,
            Scope::Released => &mut self.released,
        }
    }

    /// This policy with per-person overrides applied in order. Every override needs an id, a
    /// reason and an approver other than the requester (four eyes); a bad one fails the whole
    /// call, so a half-applied policy never exists.
    pub fn with_overrides(&self, overrides: &[PolicyOverride]) -> Result<Policy, ControlsError> {
        let mut policy = self.clone();
        for item in overrides {
            item.validate(policy.currency)?;
            policy.apply(&item.change);
            policy.overrides.push(OverrideRef {
                id: item.id.clone(),
                version: item.version,
            });
        }
        Ok(policy)
    }

    fn apply(&mut self, change: &OverrideChange) {
        match change {
            OverrideChange::AllowMerchant { merchant_id } => {
                self.blocked_merchants.remove(merchant_id);
                self.inside_merchants.insert(merchant_id.clone());
            }
            OverrideChange::BlockMerchant { merchant_id } => {
                self.inside_merchants.remove(merchant_id);
                self.blocked_merchants.insert(merchant_id.clone());
            }
            OverrideChange::AllowMcc { mcc } => {
                self.mcc.block.remove(mcc);
                if is_safe_default_blocked(mcc) {
                    self.mcc.unblocked_defaults.insert(mcc.clone());
                }
                if let Some(allow) = self.mcc.allow.as_mut() {
                    allow.insert(mcc.clone());
                }
            }
            OverrideChange::BlockMcc { mcc } => {
                self.mcc.unblocked_defaults.remove(mcc);
                self.mcc.block.insert(mcc.clone());
            }
            OverrideChange::SetChannels { scope, channels } => {
                self.rules_mut(*scope).channels = channels.clone();
            }
            OverrideChange::SetCountries { scope, countries } => {
                self.rules_mut(*scope).countries = countries.clone();
            }
            OverrideChange::SetLimits { scope, limits } => match scope {
                Scope::Inside => self.limits = *limits,
                Scope::Leave => self.default_leave_limits = *limits,
                Scope::Released => self.released_limits = *limits,
            },
            OverrideChange::SetMaxBalance { max_balance } => self.max_balance = *max_balance,
        }
    }

    /// Whether a credit of `credit` fits under the maximum balance, given the balance now (the
    /// caller decides which sub-accounts count; the whole of a prisoner's money is the usual
    /// choice). `Exceeds` says how much of the credit would still fit.
    pub fn check_max_balance(
        &self,
        current_balance: Money,
        credit: Money,
    ) -> Result<MaxBalanceCheck, ControlsError> {
        validate_amount(credit, self.currency)?;
        let Some(max) = self.max_balance else {
            return Ok(MaxBalanceCheck::Fits);
        };
        let after = current_balance.checked_add(credit)?;
        if after.amount_minor <= max.amount_minor {
            return Ok(MaxBalanceCheck::Fits);
        }
        let room = max.checked_sub(current_balance)?;
        Ok(MaxBalanceCheck::Exceeds {
            room: Money::new(room.amount_minor.max(0), self.currency),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum MaxBalanceCheck {
    Fits,
    Exceeds { room: Money },
}

/// One change to a person's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum OverrideChange {
    /// Adds a merchant to the inside list (and unblocks it).
    AllowMerchant {
        merchant_id: String,
    },
    BlockMerchant {
        merchant_id: String,
    },
    /// Unblocks a category, including a safe default, and adds it to the allow list if any.
    AllowMcc {
        mcc: String,
    },
    BlockMcc {
        mcc: String,
    },
    SetChannels {
        scope: Scope,
        channels: BTreeSet<Channel>,
    },
    SetCountries {
        scope: Scope,
        countries: CountryRule,
    },
    /// `Scope::Leave` sets the default proposed for new leaves; a running leave keeps its own.
    SetLimits {
        scope: Scope,
        limits: Limits,
    },
    SetMaxBalance {
        max_balance: Option<Money>,
    },
}

/// A per-person exception to a template, with who asked, who approved and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyOverride {
    pub id: String,
    pub version: u32,
    pub reason: String,
    /// Pseudonymous staff ids.
    pub requested_by: String,
    pub approved_by: String,
    pub change: OverrideChange,
}

impl PolicyOverride {
    fn validate(&self, currency: Currency) -> Result<(), ControlsError> {
        let invalid = |problem: &'static str| ControlsError::InvalidOverride {
            id: self.id.clone(),
            problem,
        };
        if self.id.trim().is_empty() {
            return Err(invalid("missing id"));
        }
        if self.reason.trim().is_empty() {
            return Err(invalid("missing reason"));
        }
        if self.approved_by.trim().is_empty() {
            return Err(invalid("missing approver"));
        }
        if self.approved_by == self.requested_by {
            return Err(invalid("approver is the requester"));
        }
        match &self.change {
            OverrideChange::AllowMerchant { merchant_id }
            | OverrideChange::BlockMerchant { merchant_id } => {
                if merchant_id.is_empty() {
                    return Err(invalid("empty merchant id"));
                }
            }
            OverrideChange::AllowMcc { mcc } | OverrideChange::BlockMcc { mcc } => {
                if !is_valid_mcc(mcc) {
                    return Err(invalid("MCC is not four digits"));
                }
            }
            OverrideChange::SetChannels { .. } => {}
            OverrideChange::SetCountries { countries, .. } => {
                if let CountryRule::Only(list) = countries
                    && !list.iter().all(|c| is_valid_country(c))
                {
                    return Err(invalid("country is not an ISO alpha-2 code"));
                }
            }
            OverrideChange::SetLimits { limits, .. } => limits.validate(currency)?,
            OverrideChange::SetMaxBalance { max_balance } => {
                if let Some(max) = max_balance {
                    validate_amount(*max, currency)?;
                }
            }
        }
        Ok(())
    }
}
