//! HTTP hygiene shared by the staff API and the kiosk: strict JSON and form bodies whose
//! rejections are problem+json, security headers, and the same-origin check on unsafe methods.
use std::net::IpAddr;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// No request body Saldo accepts is larger than this.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;

/// Staff and kiosk bodies are small; anything bigger is refused before parsing.
pub const MAX_FORM_OR_JSON_BYTES: usize = 16 * 1024;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// A typed JSON answer sent with its object keys in alphabetical order, at every depth.
///
/// The answers that were once built with `json!` went out that way (serde_json's map is ordered
/// by key); a typed body keeps those bytes while its struct, in the order the OpenAPI document
/// lists the fields, is what the document describes.
pub struct SortedJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for SortedJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_value(&self.0) {
            Ok(value) => axum::Json(value).into_response(),
            Err(error) => {
                tracing::error!(%error, "answer not serialisable");
                Problem::internal().into_response()
            }
        }
    }
}

/// A JSON body: `application/json`, at most [`MAX_FORM_OR_JSON_BYTES`], parsed strictly (the
/// target types use `deny_unknown_fields`). Every rejection is problem+json.
pub struct ApiJson<T>(pub T);

async fn read_body(body: Body) -> Result<axum::body::Bytes, Problem> {
    axum::body::to_bytes(body, MAX_FORM_OR_JSON_BYTES)
        .await
        .map_err(|_| {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                Some(format!(
                    "a request body may hold at most {MAX_FORM_OR_JSON_BYTES} bytes"
                )),
            )
        })
}

fn content_type_is(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case(expected))
}

/// serde's messages can quote the offending value (a name, a number), so only messages that
/// name fields alone are passed on.
fn safe_detail(message: &str) -> String {
    let head = message.split(" at line ").next().unwrap_or(message);
    if head.starts_with("unknown field") || head.starts_with("missing field") {
        head.to_owned()
    } else {
        "a field has the wrong type or an invalid value".to_owned()
    }
}

/// PostgreSQL's text holds no NUL character, so no request may carry one into a field: it would
/// reach the database as an error (a 500) instead of a refusal. A JSON string can only hold it
/// escaped, so only a body with `\u0000` is read a second time to look.
fn json_holds_nul(bytes: &[u8]) -> bool {
    fn holds(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(text) => text.contains('\0'),
            serde_json::Value::Array(items) => items.iter().any(holds),
            serde_json::Value::Object(fields) => fields
                .iter()
                .any(|(name, value)| name.contains('\0') || holds(value)),
            _ => false,
        }
    }
    bytes.windows(6).any(|window| window == b"\\u0000")
        && serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|value| holds(&value))
}

/// A form or query string holds a NUL only percent-encoded.
fn urlencoded_holds_nul(text: &[u8]) -> bool {
    text.windows(3).any(|window| window == b"%00")
}

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !content_type_is(req.headers(), "application/json") {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                Some("send application/json".to_owned()),
            ));
        }
        let bytes = read_body(req.into_body()).await?;
        match serde_json::from_slice::<T>(&bytes) {
            Ok(_) if json_holds_nul(&bytes) => Err(Problem::unprocessable(
                "invalid_body",
                "text may not contain the NUL character",
            )),
            Ok(value) => Ok(ApiJson(value)),
            Err(error) if error.is_data() => Err(Problem::unprocessable(
                "invalid_body",
                safe_detail(&error.to_string()),
            )),
            Err(_) => Err(Problem::bad_request(
                "malformed_json",
                "the body is not well-formed JSON",
            )),
        }
    }
}

/// An `application/x-www-form-urlencoded` body (kiosk forms), parsed strictly.
pub struct HtmlForm<T>(pub T);

impl<T, S> FromRequest<S> for HtmlForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !content_type_is(req.headers(), "application/x-www-form-urlencoded") {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                Some("send a form".to_owned()),
            ));
        }
        let bytes = read_body(req.into_body()).await?;
        if urlencoded_holds_nul(&bytes) {
            return Err(Problem::unprocessable(
                "invalid_form",
                "the form has missing, unknown or invalid fields",
            ));
        }
        let request = Request::builder()
            .method(Method::POST)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(bytes))
            .map_err(|_| Problem::internal())?;
        match axum::Form::<T>::from_request(request, &()).await {
            Ok(axum::Form(value)) => Ok(HtmlForm(value)),
            Err(_) => Err(Problem::unprocessable(
                "invalid_form",
                "the form has missing, unknown or invalid fields",
            )),
        }
    }
}

/// Security headers on every answer of the staff API and the kiosk. `no-store` because answers
/// carry personal data that must not linger in browser or proxy caches.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// CSRF defence for cookie-authenticated posts: a browser names the site a request comes from
/// (`Sec-Fetch-Site`, `Origin`); anything not from this origin is refused. Clients that send
/// neither (curl, services with bearer tokens) carry no ambient cookie risk and pass.
pub async fn same_origin_only(request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    if !is_same_origin(request.headers()) {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "cross_site_request",
            Some("this request did not come from Saldo's own pages".to_owned()),
        )
        .into_response();
    }
    next.run(request).await
}

fn is_same_origin(headers: &HeaderMap) -> bool {
    // A browser's own word (scripts cannot set it) settles it. It must come first: under our
    // `Referrer-Policy: no-referrer` browsers send `Origin: null` even on same-origin form posts.
    if let Some(site) = headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
    {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(host) = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let origin = origin.to_str().unwrap_or("");
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or("");
    !origin_host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// Reverse proxies (addresses or CIDR blocks, `SALDO_TRUSTED_PROXIES`) whose forwarding headers
/// are believed. From any other peer `X-Forwarded-For` and `X-Forwarded-Proto` are ignored: a
/// client could otherwise pick its own address (and escape the per-address sign-in lockout) or
/// claim https.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<(IpAddr, u8)>,
}

impl TrustedProxies {
    pub fn none() -> TrustedProxies {
        TrustedProxies::default()
    }

    /// `10.0.0.5, 192.168.10.0/24 ::1` (commas or spaces). An empty text trusts no one.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let mut networks = Vec::new();
        for item in text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
        {
            let (address, prefix) = match item.split_once('/') {
                Some((address, prefix)) => (address, Some(prefix)),
                None => (item, None),
            };
            let address: IpAddr = address
                .parse()
                .map_err(|_| format!("{item} is not an IP address or CIDR block"))?;
            let address = address.to_canonical();
            let max_prefix = if address.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max_prefix,
                Some(prefix) => prefix
                    .parse::<u8>()
                    .ok()
                    .filter(|prefix| *prefix <= max_prefix)
                    .ok_or_else(|| format!("{item} has an invalid prefix length"))?,
            };
            networks.push((address, prefix));
        }
        Ok(TrustedProxies { networks })
    }

    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.networks
            .iter()
            .any(|&(network, prefix)| match (network, address) {
                (IpAddr::V4(network), IpAddr::V4(address)) => {
                    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                    u32::from(network) & mask == u32::from(address) & mask
                }
                (IpAddr::V6(network), IpAddr::V6(address)) => {
                    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                    u128::from(network) & mask == u128::from(address) & mask
                }
                _ => false,
            })
    }
}

/// Where a request comes from: the client's address (for sign-in throttling) and whether it
/// reached us over https (the cookie's `Secure` flag). From a trusted proxy, its
/// `X-Forwarded-For` (the right-most address that is not itself a trusted proxy) and its
/// `X-Forwarded-Proto`; from anyone else, the connection alone. `forced` (the setting
/// `SALDO_COOKIE_SECURE=true`) makes it https in any case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOrigin {
    pub ip: String,
    pub https: bool,
}

impl ClientOrigin {
    pub fn of(parts: &Parts, proxies: &TrustedProxies, forced: bool) -> ClientOrigin {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip().to_canonical());
        let Some(peer) = peer else {
            return ClientOrigin {
                ip: "unknown".to_owned(),
                https: forced,
            };
        };
        if !proxies.contains(peer) {
            return ClientOrigin {
                ip: peer.to_string(),
                https: forced,
            };
        }
        let forwarded_for = header_list(&parts.headers, "x-forwarded-for");
        let client = forwarded_for
            .iter()
            .rev()
            .map(|item| item.parse::<IpAddr>().map(|ip| ip.to_canonical()))
            .find(|ip| !matches!(ip, Ok(ip) if proxies.contains(*ip)));
        let ip = match client {
            Some(Ok(ip)) => ip.to_string(),
            // A forwarded address that is not an address: the proxy vouches for garbage, so the
            // request counts against the proxy itself rather than an address it could choose.
            Some(Err(_)) | None => peer.to_string(),
        };
        let https = forced
            || header_list(&parts.headers, "x-forwarded-proto")
                .last()
                .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
        ClientOrigin { ip, https }
    }
}

/// The comma-separated values of every occurrence of a header, in order.
fn header_list(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect()
}

/// A cookie value from the `Cookie` header(s).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure over https.
pub fn session_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age_seconds: i64,
    https: bool,
) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age_seconds}; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The request id set by the outer layer, for access log rows.
pub fn request_id(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .map(|id| id.chars().take(100).collect())
}

/// The purpose a member of staff gives for consulting personal data (LED article 25 asks for the
/// justification of every consultation): a code from a closed list, so no free text (which could
/// itself carry personal data) lands in the access log; plus an optional case reference.
#[derive(Debug, Clone)]
pub struct StatedPurpose {
    pub purpose: crate::identity::access_log::Purpose,
    pub case_ref: Option<String>,
}

pub const PURPOSE_HEADER: &str = "saldo-purpose";
pub const CASE_REF_HEADER: &str = "saldo-case-ref";

impl<S: Send + Sync> FromRequestParts<S> for StatedPurpose {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let text = parts
            .headers
            .get(PURPOSE_HEADER)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| {
                Problem::bad_request(
                    "purpose_required",
                    "state the purpose of this consultation in the Saldo-Purpose header",
                )
            })?;
        let purpose = crate::identity::access_log::Purpose::parse_staff(text).ok_or_else(|| {
            Problem::bad_request("purpose_invalid", "Saldo-Purpose is not a known purpose")
        })?;
        let case_ref = match parts.headers.get(CASE_REF_HEADER) {
            None => None,
            Some(value) => {
                let text = value.to_str().unwrap_or("");
                let valid = (1..=64).contains(&text.len())
                    && text
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c));
                if !valid {
                    return Err(Problem::bad_request(
                        "case_ref_invalid",
                        "Saldo-Case-Ref is 1 to 64 of A-Z a-z 0-9 _ . / -",
                    ));
                }
                Some(text.to_owned())
            }
        };
        Ok(StatedPurpose { purpose, case_ref })
    }
}

/// Path parameters whose rejection is problem+json (a malformed id is a 400, never plain text).
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|_| Problem::bad_request("invalid_path", "a path parameter is malformed"))
    }
}

/// A query string parsed strictly, rejected as problem+json.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let invalid = || {
            Problem::bad_request(
                "invalid_query",
                "the query has unknown or malformed parameters",
            )
        };
        if urlencoded_holds_nul(parts.uri.query().unwrap_or("").as_bytes()) {
            return Err(invalid());
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|_| invalid())
    }
}

/// A known path with the wrong method: problem+json rather than an empty 405.
/// The outer body limit (`MAX_BODY_BYTES`, for every route, the webhook and CSV imports
/// included) refuses from `Content-Length` alone with a plain-text 413: every error here is
/// problem+json, so it is re-worded.
pub async fn oversized_as_problem(response: Response) -> Response {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/problem+json"));
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE || is_problem {
        return response;
    }
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        Some(format!(
            "a request body may hold at most {} bytes",
            MAX_BODY_BYTES
        )),
    )
    .into_response()
}

pub async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        Some("this route does not take that method".to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(peer: &str, headers: &[(&str, &str)]) -> Parts {
        let mut request = axum::http::Request::builder();
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let peer: std::net::SocketAddr = peer.parse().unwrap();
        request
            .extension(axum::extract::ConnectInfo(peer))
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[test]
    fn trusted_proxies_parse_addresses_and_blocks_and_refuse_garbage() {
        let proxies = TrustedProxies::parse("10.0.0.5, 192.168.10.0/24 fd00::/8").unwrap();
        assert!(proxies.contains("10.0.0.5".parse().unwrap()));
        assert!(!proxies.contains("10.0.0.6".parse().unwrap()));
        assert!(proxies.contains("192.168.10.200".parse().unwrap()));
        assert!(!proxies.contains("192.168.11.1".parse().unwrap()));
        assert!(proxies.contains("fd12::1".parse().unwrap()));
        // An IPv4 peer seen through an IPv6 socket is the same peer.
        assert!(proxies.contains("::ffff:10.0.0.5".parse().unwrap()));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(
            TrustedProxies::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        for bad in ["10.0.0", "10.0.0.0/33", "::/129", "proxy.example"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarding_headers_count_only_from_a_trusted_proxy() {
        let proxies = TrustedProxies::parse("10.0.0.5").unwrap();
        let forwarded = [
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
        ];
        assert_eq!(
            ClientOrigin::of(&parts("198.51.100.1:4000", &forwarded), &proxies, false),
            ClientOrigin {
                ip: "198.51.100.1".into(),
                https: false
            },
            "a client's own headers are ignored"
        );
        assert_eq!(
            ClientOrigin::of(&parts("10.0.0.5:4000", &forwarded), &proxies, false),
            ClientOrigin {
                ip: "203.0.113.9".into(),
                https: true
            }
        );
        // A client-supplied entry left of the one the proxy appended does not count.
        let appended = [("x-forwarded-for", "1.2.3.4, 203.0.113.9")];
        assert_eq!(
            ClientOrigin::of(&parts("10.0.0.5:4000", &appended), &proxies, false).ip,
            "203.0.113.9"
        );
        // Garbage from the proxy: the request counts against the proxy's own address.
        let garbage = [("x-forwarded-for", "not-an-address")];
        assert_eq!(
            ClientOrigin::of(&parts("10.0.0.5:4000", &garbage), &proxies, false).ip,
            "10.0.0.5"
        );
    }
}
