//! Staff authentication and authorization, and the kiosk's device and prisoner sessions.
//!
//! Every staff route names a [`Policy`] in its handler's signature through [`RequireRole`]: the
//! roles allowed and the prison scope needed. A grant is a (role, prison) pair, so staff of prison
//! A hold no role at all in prison B.
pub mod kiosk;
pub mod sign_in;
pub mod throttle;

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header;
use axum::http::request::Parts;
use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::identity::access_log::{Accessor, ActorKind, Purpose};
use crate::problem::Problem;
use crate::secret;
use crate::state::AppState;

pub const STAFF_COOKIE: &str = "saldo_staff";
/// A staff session ends after this long without a request…
pub const STAFF_IDLE_SECONDS: i32 = 30 * 60;
/// …and after this long in any case.
pub const STAFF_ABSOLUTE_SECONDS: i32 = 12 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Prison officer: admission, PINs, case look-ups.
    Officer,
    /// Finance staff: deposits, balances, the books.
    Finance,
    /// Finance staff who may also approve (adjustments, held deposits, per-person overrides,
    /// policies); has finance's rights.
    FinanceApprover,
    /// Auditor / data protection officer: the access log and the books, no case data.
    Auditor,
    /// Administrator: staff accounts and kiosk devices, no case data.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Officer,
        Role::Finance,
        Role::FinanceApprover,
        Role::Auditor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Finance => "finance",
            Role::FinanceApprover => "finance_approver",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

/// Which prison a route's data belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The `{prison_id}` in the route's path: the caller needs a listed role in that prison.
    PathPrison,
    /// Service-wide figures holding no person-level data (the trial balance): a listed role in
    /// any prison is enough.
    AnyPrison,
}

/// A route's access rule. One marker type per rule, named in the handler's signature.
pub trait Policy: Send + Sync + 'static {
    const ROLES: &'static [Role];
    const SCOPE: Scope;
}

macro_rules! policy {
    ($(#[$doc:meta])* $name:ident, [$($role:ident),*], $scope:ident) => {
        $(#[$doc])*
        pub struct $name;
        impl Policy for $name {
            const ROLES: &'static [Role] = &[$(Role::$role),*];
            const SCOPE: Scope = Scope::$scope;
        }
    };
}

policy!(
    /// Admission and PINs.
    Officers, [Officer], PathPrison
);
policy!(
    /// Consulting a prisoner's record, balances and statement.
    CaseReaders, [Officer, Finance, FinanceApprover], PathPrison
);
policy!(
    /// Deposits and depositors.
    FinanceStaff, [Finance, FinanceApprover], PathPrison
);
policy!(
    /// The access log of a prison.
    Auditors, [Auditor], PathPrison
);
policy!(
    /// Staff accounts and kiosk devices of a prison.
    Admins, [Admin], PathPrison
);
policy!(
    /// The trial balance (service-wide totals, no person-level lines).
    BookReaders, [Finance, FinanceApprover, Auditor], AnyPrison
);
policy!(
    /// Deciding ledger adjustments (and never one's own: checked by the handler and the database).
    Approvers, [FinanceApprover], PathPrison
);
policy!(
    /// Reading a prison's spending-control policies (prison-level rules, no person-level data).
    PolicyReaders, [Finance, FinanceApprover, Admin], PathPrison
);
policy!(
    /// Publishing and assigning a prison's spending-control policies: a finance approver or an
    /// administrator (per-person overrides are [`Approvers`] only: they touch case data).
    PolicyMakers, [FinanceApprover, Admin], PathPrison
);
policy!(
    /// The processor outbox's dead calls (service-wide: one program, no person-level data shown).
    OutboxOperators, [Admin, Finance, FinanceApprover], AnyPrison
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Grant {
    pub prison_id: Uuid,
    pub role: Role,
}

/// A signed-in member of staff (a valid, unexpired session).
#[derive(Debug, Clone)]
pub struct Staff {
    pub id: Uuid,
    pub username: String,
    pub grants: Vec<Grant>,
    pub session_sha256: Vec<u8>,
    pub request_id: Option<String>,
}

impl Staff {
    pub fn may(&self, roles: &[Role], prison_id: Uuid) -> bool {
        self.grants
            .iter()
            .any(|grant| grant.prison_id == prison_id && roles.contains(&grant.role))
    }

    pub fn accessor(&self, purpose: Purpose, case_ref: Option<String>) -> Accessor {
        Accessor {
            actor_kind: ActorKind::Staff,
            actor_id: Some(self.id),
            purpose,
            case_ref,
            request_id: self.request_id.clone(),
        }
    }
}

/// The session token: a bearer token (JSON API clients) or the session cookie (browsers).
fn presented_token(parts: &Parts) -> Result<Option<&str>, Problem> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let text = value.to_str().map_err(|_| Problem::unauthenticated())?;
        return match text.strip_prefix("Bearer ") {
            Some(token) => Ok(Some(token.trim())),
            None => Err(Problem::unauthenticated()),
        };
    }
    Ok(crate::http::cookie(&parts.headers, STAFF_COOKIE))
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = presented_token(parts)?.ok_or_else(Problem::unauthenticated)?;
        if !secret::looks_like_token(token) {
            return Err(Problem::unauthenticated());
        }
        let digest = secret::token_sha256(token);
        let client = state.pool.get().await?;
        // Checks and touches the session in one statement: idle and absolute expiry both apply.
        let touch = client
            .prepare_cached(
                "update auth.staff_sessions s set last_seen_at = now()
                 from auth.staff st
                 where s.token_sha256 = $1 and st.id = s.staff_id
                   and s.ended_at is null and s.expires_at > now()
                   and s.last_seen_at > now() - $2::int * interval '1 second'
                   and st.disabled_at is null
                 returning st.id, st.username",
            )
            .await?;
        let row = client
            .query_opt(&touch, &[&digest, &STAFF_IDLE_SECONDS])
            .await?
            .ok_or_else(Problem::unauthenticated)?;
        let id: Uuid = row.get("id");
        Ok(Staff {
            id,
            username: row.get("username"),
            grants: grants_of(&client, id).await?,
            session_sha256: digest,
            request_id: crate::http::request_id(parts),
        })
    }
}

pub async fn grants_of(
    client: &impl GenericClient,
    staff_id: Uuid,
) -> Result<Vec<Grant>, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "select prison_id, role from auth.staff_grants where staff_id = $1 order by prison_id, role",
        )
        .await?;
    Ok(client
        .query(&statement, &[&staff_id])
        .await?
        .iter()
        .filter_map(|row| {
            Some(Grant {
                prison_id: row.get("prison_id"),
                role: Role::parse(row.get("role"))?,
            })
        })
        .collect())
}

/// A member of staff allowed by policy `P`; `prison_id` is the path's prison for
/// [`Scope::PathPrison`] policies.
pub struct RequireRole<P: Policy> {
    pub staff: Staff,
    pub prison_id: Option<Uuid>,
    policy: PhantomData<P>,
}

impl<P: Policy> RequireRole<P> {
    /// The path's prison (always present for [`Scope::PathPrison`] policies).
    pub fn prison(&self) -> Result<Uuid, Problem> {
        self.prison_id.ok_or_else(Problem::internal)
    }
}

impl<P: Policy> FromRequestParts<AppState> for RequireRole<P> {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let staff = Staff::from_request_parts(parts, state).await?;
        let prison_id = match P::SCOPE {
            Scope::AnyPrison => {
                if !staff
                    .grants
                    .iter()
                    .any(|grant| P::ROLES.contains(&grant.role))
                {
                    tracing::warn!(staff.id = %staff.id, "access refused: no role for this route");
                    return Err(Problem::forbidden());
                }
                None
            }
            Scope::PathPrison => {
                let params = RawPathParams::from_request_parts(parts, state)
                    .await
                    .map_err(|_| Problem::internal())?;
                let prison_id = params
                    .iter()
                    .find(|(name, _)| *name == "prison_id")
                    .and_then(|(_, value)| value.parse::<Uuid>().ok())
                    .ok_or_else(|| {
                        Problem::bad_request("invalid_path", "the prison id is not a UUID")
                    })?;
                if !staff.may(P::ROLES, prison_id) {
                    tracing::warn!(staff.id = %staff.id, %prison_id, "access refused: no role in this prison");
                    return Err(Problem::forbidden());
                }
                Some(prison_id)
            }
        };
        Ok(RequireRole {
            staff,
            prison_id,
            policy: PhantomData,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Staff accounts and sessions

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("database error")]
    Database(tokio_postgres::Error),
    #[error("that username is taken")]
    UsernameTaken,
    #[error("{1}")]
    Invalid(&'static str, &'static str),
}

ledger::database_error_from!(StaffError, Database);

impl From<StaffError> for Problem {
    fn from(error: StaffError) -> Problem {
        match error {
            StaffError::Database(error) => Problem::from(error),
            StaffError::UsernameTaken => {
                Problem::conflict("username_taken", "that username is taken")
            }
            StaffError::Invalid(code, message) => Problem::unprocessable(code, message),
        }
    }
}

pub fn validate_username(username: &str) -> Result<(), StaffError> {
    let ok = (3..=64).contains(&username.len())
        && username.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    ok.then_some(()).ok_or(StaffError::Invalid(
        "username_invalid",
        "a username is 3 to 64 of a-z 0-9 . _ -",
    ))
}

/// Passwords: 12 to 256 characters (length beats composition rules; NIST SP 800-63B).
pub fn validate_password(password: &str) -> Result<(), StaffError> {
    let count = password.chars().count();
    (12..=256)
        .contains(&count)
        .then_some(())
        .ok_or(StaffError::Invalid(
            "password_invalid",
            "a password is 12 to 256 characters",
        ))
}

/// Creates a staff account with its grants. The password is hashed by the caller
/// ([`secret::hash`]) so no database transaction waits on argon2.
pub async fn create_staff(
    client: &impl GenericClient,
    username: &str,
    password_hash: &str,
    grants: &[Grant],
) -> Result<Uuid, StaffError> {
    validate_username(username)?;
    let id = Uuid::now_v7();
    let insert = client
        .prepare_cached("insert into auth.staff (id, username, password_hash) values ($1, $2, $3)")
        .await?;
    match client
        .execute(&insert, &[&id, &username, &password_hash])
        .await
    {
        Ok(_) => {}
        Err(error)
            if error
                .as_db_error()
                .is_some_and(|db| db.constraint() == Some("staff_username_key")) =>
        {
            return Err(StaffError::UsernameTaken);
        }
        Err(error) => return Err(error.into()),
    }
    let grant = client
        .prepare_cached(
            "insert into auth.staff_grants (staff_id, prison_id, role) values ($1, $2, $3)
             on conflict do nothing",
        )
        .await?;
    for g in grants {
        client
            .execute(&grant, &[&id, &g.prison_id, &g.role.as_str()])
            .await?;
    }
    Ok(id)
}

pub struct NewSession {
    pub token: String,
    pub expires_at: OffsetDateTime,
}

pub async fn start_staff_session(
    client: &impl GenericClient,
    staff_id: Uuid,
) -> Result<NewSession, tokio_postgres::Error> {
    let (token, digest) = secret::new_token();
    let statement = client
        .prepare_cached(
            "insert into auth.staff_sessions (token_sha256, staff_id, expires_at)
             values ($1, $2, now() + $3::int * interval '1 second')
             returning expires_at",
        )
        .await?;
    let expires_at = client
        .query_one(&statement, &[&digest, &staff_id, &STAFF_ABSOLUTE_SECONDS])
        .await?
        .get("expires_at");
    Ok(NewSession { token, expires_at })
}

pub async fn end_staff_session(
    client: &impl GenericClient,
    session_sha256: &[u8],
) -> Result<(), tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "update auth.staff_sessions set ended_at = now() where token_sha256 = $1 and ended_at is null",
        )
        .await?;
    client.execute(&statement, &[&session_sha256]).await?;
    Ok(())
}
