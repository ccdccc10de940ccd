//! Service-account authentication: the downloaded key file, the signed JWT
//! assertion and the token endpoint's jwt-bearer grant, with the access
//! token cached until shortly before it expires.
//!
//! The private key and the access token are [`SecretString`]s: they never
//! show in `Debug` output, logs or errors. A refused grant reports the
//! endpoint's `error` and `error_description`, never the assertion.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::table::TableError;

/// The OAuth scope for reading and writing spreadsheets.
pub const SHEETS_SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";
/// The grant type of the service-account flow.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google's token endpoint (a key file names its own `token_uri`).
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// How long an assertion is valid: Google accepts at most an hour.
pub const ASSERTION_LIFETIME: SignedDuration = SignedDuration::from_hours(1);
/// A cached token is renewed when less than this remains.
pub const REFRESH_MARGIN: SignedDuration = SignedDuration::from_mins(5);

/// Where the token source reads the time: a closure, so tests can move it.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Why a key file could not be used. Every variant names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{file}: cannot read: {reason}")]
    Read { file: String, reason: String },
    #[error("{file}: not a JSON object: {reason}")]
    NotJson { file: String, reason: String },
    #[error("{file}: field `{field}` is missing or not text")]
    MissingField { file: String, field: &'static str },
    #[error("{file}: field `type` is `{found}`, expected `service_account`")]
    NotServiceAccount { file: String, found: String },
    #[error("{file}: field `private_key` is not a usable RSA key: {reason}")]
    BadPrivateKey { file: String, reason: String },
}

impl From<KeyError> for TableError {
    fn from(e: KeyError) -> Self {
        TableError::Auth(e.to_string())
    }
}

/// A downloaded service-account key (the JSON file from the Cloud console).
#[derive(Clone)]
pub struct ServiceAccountKey {
    /// `type`: always `service_account`.
    pub key_type: String,
    pub project_id: String,
    /// The JWT header's `kid`.
    pub private_key_id: String,
    /// The PEM text (`-----BEGIN PRIVATE KEY-----`, PKCS#8).
    pub private_key: SecretString,
    /// The account's address: the sheet must be shared with it.
    pub client_email: String,
    pub token_uri: String,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("project_id", &self.project_id)
            .field("private_key_id", &self.private_key_id)
            .field("private_key", &"***")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountKey {
    /// Reads and checks a key file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<ServiceAccountKey, KeyError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::Read {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        ServiceAccountKey::from_json(&text, &file)
    }

    /// Parses a key's JSON text; `source` names it in errors. The private
    /// key is checked to be an RSA key that can sign.
    pub fn from_json(text: &str, source: &str) -> Result<ServiceAccountKey, KeyError> {
        let value: Value = serde_json::from_str(text).map_err(|e| KeyError::NotJson {
            file: source.to_owned(),
            // The error's position only: serde's message may quote the text.
            reason: format!("line {} column {}", e.line(), e.column()),
        })?;
        let Some(obj) = value.as_object() else {
            return Err(KeyError::NotJson {
                file: source.to_owned(),
                reason: "not an object".to_owned(),
            });
        };
        let field = |name: &'static str| -> Result<String, KeyError> {
            obj.get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned)
                .ok_or(KeyError::MissingField {
                    file: source.to_owned(),
                    field: name,
                })
        };
        let key_type = field("type")?;
        if key_type != "service_account" {
            return Err(KeyError::NotServiceAccount {
                file: source.to_owned(),
                found: key_type,
            });
        }
        let key = ServiceAccountKey {
            key_type,
            project_id: field("project_id")?,
            private_key_id: field("private_key_id")?,
            private_key: SecretString::from(field("private_key")?),
            client_email: field("client_email")?,
            token_uri: obj
                .get("token_uri")
                .and_then(Value::as_str)
                .unwrap_or(DEFAULT_TOKEN_URI)
                .to_owned(),
        };
        key.signer().map_err(|reason| KeyError::BadPrivateKey {
            file: source.to_owned(),
            reason,
        })?;
        Ok(key)
    }

    /// The RSA key pair of [`ServiceAccountKey::private_key`].
    fn signer(&self) -> Result<RsaKeyPair, String> {
        let der = pem_to_der(self.private_key.expose_secret())?;
        RsaKeyPair::from_pkcs8(&der)
            .or_else(|_| RsaKeyPair::from_der(&der))
            .map_err(|e| format!("rejected ({e})"))
    }
}

/// The base64 body of a PEM block (PKCS#8 `PRIVATE KEY` or PKCS#1
/// `RSA PRIVATE KEY`), decoded.
fn pem_to_der(pem: &str) -> Result<Vec<u8>, String> {
    let mut body = String::new();
    let mut inside = false;
    for line in pem.lines().map(str::trim) {
        if line.starts_with("-----BEGIN") {
            inside = true;
        } else if line.starts_with("-----END") {
            break;
        } else if inside {
            body.push_str(line);
        }
    }
    if body.is_empty() {
        return Err("no PEM block".to_owned());
    }
    STANDARD
        .decode(body.as_bytes())
        .map_err(|_| "the PEM body is not base64".to_owned())
}

/// The JWT header of an assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtHeader {
    pub alg: String,
    pub typ: String,
    pub kid: String,
}

/// The claim set of an assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtClaims {
    pub iss: String,
    pub scope: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

impl JwtClaims {
    /// The claims for `key` issued at `now`: valid for an hour.
    pub fn new(key: &ServiceAccountKey, now: Timestamp) -> JwtClaims {
        let iat = now.as_second();
        JwtClaims {
            iss: key.client_email.clone(),
            scope: SHEETS_SCOPE.to_owned(),
            aud: key.token_uri.clone(),
            iat,
            exp: iat + ASSERTION_LIFETIME.as_secs(),
        }
    }
}

/// A signed assertion (`header.claims.signature`, each base64url): the
/// key's RS256 signature over the first two parts.
pub fn sign_assertion(key: &ServiceAccountKey, now: Timestamp) -> Result<SecretString, TableError> {
    let signer = key.signer().map_err(|reason| {
        TableError::Auth(format!(
            "the service-account private key is not usable: {reason}"
        ))
    })?;
    sign_with(&signer, key, now)
}

fn sign_with(
    signer: &RsaKeyPair,
    key: &ServiceAccountKey,
    now: Timestamp,
) -> Result<SecretString, TableError> {
    let header = JwtHeader {
        alg: "RS256".to_owned(),
        typ: "JWT".to_owned(),
        kid: key.private_key_id.clone(),
    };
    let claims = JwtClaims::new(key, now);
    let signing_input = format!("{}.{}", b64_json(&header), b64_json(&claims));
    let mut sig = vec![0; signer.public_modulus_len()];
    signer
        .sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signing_input.as_bytes(),
            &mut sig,
        )
        .map_err(|_| TableError::Auth("signing the assertion failed".to_owned()))?;
    Ok(SecretString::from(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(sig)
    )))
}

/// A JWT part: its JSON, base64url without padding.
fn b64_json<T: Serialize>(part: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(part).unwrap_or_default())
}

/// The token endpoint's answer.
#[derive(Debug, Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    expires_in: i64,
    #[serde(default)]
    #[allow(dead_code)]
    token_type: Option<String>,
}

/// The OAuth error answer (`{"error":"invalid_grant","error_description":…}`).
#[derive(Debug, Deserialize)]
pub struct OAuthError {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

struct Cached {
    token: SecretString,
    expires_at: Timestamp,
}

/// Access tokens for one service account: fetched with the jwt-bearer
/// grant, cached, renewed when less than [`REFRESH_MARGIN`] remains. One
/// fetch at a time: callers arriving during a fetch wait for its token.
pub struct TokenSource {
    key: ServiceAccountKey,
    signer: RsaKeyPair,
    http: reqwest::Client,
    clock: Clock,
    cache: tokio::sync::Mutex<Option<Cached>>,
    requests: AtomicU64,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("client_email", &self.key.client_email)
            .field("token_uri", &self.key.token_uri)
            .field("requests", &self.requests.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// A token source for `key`, reading the time from `clock`.
    pub fn new(key: ServiceAccountKey, clock: Clock) -> Result<TokenSource, TableError> {
        let signer = key.signer().map_err(|reason| {
            TableError::Auth(format!(
                "the service-account private key is not usable: {reason}"
            ))
        })?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| TableError::Transport(e.to_string()))?;
        Ok(TokenSource {
            key,
            signer,
            http,
            clock,
            cache: tokio::sync::Mutex::new(None),
            requests: AtomicU64::new(0),
        })
    }

    pub fn key(&self) -> &ServiceAccountKey {
        &self.key
    }

    /// Token requests made so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// A valid access token: the cached one, or a new one when none is
    /// cached or the cached one has less than [`REFRESH_MARGIN`] left.
    pub async fn access_token(&self) -> Result<SecretString, TableError> {
        let mut cache = self.cache.lock().await;
        let now = (self.clock)();
        if let Some(c) = cache.as_ref()
            && c.expires_at.duration_since(now) > REFRESH_MARGIN
        {
            return Ok(c.token.clone());
        }
        let fresh = self.fetch(now).await?;
        let token = fresh.token.clone();
        *cache = Some(fresh);
        Ok(token)
    }

    /// Forgets `token` if it is the cached one (the API refused it), so the
    /// next call fetches another.
    pub async fn invalidate(&self, token: &SecretString) {
        let mut cache = self.cache.lock().await;
        if cache
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == token.expose_secret())
        {
            *cache = None;
        }
    }

    async fn fetch(&self, now: Timestamp) -> Result<Cached, TableError> {
        let assertion = sign_with(&self.signer, &self.key, now)?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let resp = self
            .http
            .post(&self.key.token_uri)
            .form(&[
                ("grant_type", JWT_BEARER_GRANT),
                ("assertion", assertion.expose_secret()),
            ])
            .send()
            .await
            .map_err(|e| TableError::Transport(format!("token endpoint: {}", e.without_url())))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| TableError::Transport(format!("token endpoint: {}", e.without_url())))?;
        if status.is_success() {
            let t: TokenResponse = serde_json::from_slice(&body).map_err(|_| {
                TableError::Malformed("the token endpoint's answer is not a token".to_owned())
            })?;
            let expires_at = now
                .checked_add(SignedDuration::from_secs(t.expires_in.max(0)))
                .unwrap_or(now);
            tracing::debug!(client_email = %self.key.client_email, expires_in = t.expires_in, "access token fetched");
            return Ok(Cached {
                token: t.access_token,
                expires_at,
            });
        }
        match serde_json::from_slice::<OAuthError>(&body) {
            Ok(e) if status.is_client_error() => Err(TableError::Auth(format!(
                "token endpoint refused the grant for {}: {}{}",
                self.key.client_email,
                e.error,
                e.error_description
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ))),
            _ => Err(TableError::Transport(format!(
                "token endpoint answered HTTP {}",
                status.as_u16()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ServiceAccountKey {
        ServiceAccountKey {
            key_type: "service_account".into(),
            project_id: "p".into(),
            private_key_id: "kid1".into(),
            private_key: SecretString::from(String::new()),
            client_email: "sync@p.iam.gserviceaccount.com".into(),
            token_uri: "http://127.0.0.1:9/token".into(),
        }
    }

    #[test]
    fn claims_are_an_hour_for_the_spreadsheets_scope() {
        let now: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let c = JwtClaims::new(&key(), now);
        assert_eq!(c.iss, "sync@p.iam.gserviceaccount.com");
        assert_eq!(c.scope, SHEETS_SCOPE);
        assert_eq!(c.aud, "http://127.0.0.1:9/token");
        assert_eq!(c.iat, 1_735_689_600);
        assert_eq!(c.exp, 1_735_693_200);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"iss": c.iss, "scope": SHEETS_SCOPE, "aud": c.aud,
                "iat": 1_735_689_600, "exp": 1_735_693_200})
        );
    }

    #[test]
    fn signed_assertion_has_the_header_and_claims() {
        use aws_lc_rs::encoding::AsDer;
        let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(der.as_ref())
        );
        let mut k = key();
        k.private_key = SecretString::from(pem);
        let now: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let jwt = sign_assertion(&k, now).unwrap();
        let parts: Vec<&str> = jwt.expose_secret().split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: JwtHeader =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header.alg, "RS256");
        assert_eq!(header.typ, "JWT");
        assert_eq!(header.kid, "kid1");
        let claims: JwtClaims =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims, JwtClaims::new(&k, now));
        let public = aws_lc_rs::signature::KeyPair::public_key(&pair);
        aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            public.as_ref(),
        )
        .verify(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
        )
        .unwrap();
        assert!(!format!("{k:?}").contains("BEGIN"));
    }

    #[test]
    fn key_errors_name_the_file_and_field() {
        let e = ServiceAccountKey::from_json(r#"{"type":"service_account"}"#, "/keys/a.json")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "/keys/a.json: field `project_id` is missing or not text"
        );
        let e = ServiceAccountKey::from_json(
            r#"{"type":"service_account","project_id":"p","private_key_id":"k",
                "private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                "client_email":"a@b"}"#,
            "k.json",
        )
        .unwrap_err();
        assert!(matches!(e, KeyError::BadPrivateKey { .. }), "{e}");
        assert!(!e.to_string().contains("AAAA"));
        let e = ServiceAccountKey::from_json("{", "k.json").unwrap_err();
        assert!(e.to_string().starts_with("k.json: not a JSON object"));
    }
}
