//! Who is asking: API tokens (`tagada tokens create`), dashboard users
//! (`tagada users add`, argon2id passwords) and their sessions, and what
//! each role may see.
//!
//! Tokens, session ids and CSRF tokens are 256-bit random strings; only
//! their SHA-256 is stored, so the database lets no one in. A sales rep
//! sees only the buyers whose `sales_rep` is their name.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jiff::{SignedDuration, Timestamp};
use sha2::Digest;
use tagada_core::ledger::Buyer;
use tagada_store::{ApiToken, NewApiToken, NewUser, Role, Store, StoreError, User};

/// Prefix of API tokens (so a leaked one is recognisable in a scan).
pub const TOKEN_PREFIX: &str = "tgd_";
/// Shortest password `tagada users add` accepts.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// How long a dashboard session lasts.
pub const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(12);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("wrong username or password")]
    BadCredentials,
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name or the username (for logs and notes).
    pub name: String,
    pub role: Role,
}

impl Principal {
    /// Whether this principal may see (and act on) the buyer.
    pub fn sees(&self, buyer: &Buyer) -> bool {
        match &self.role {
            Role::Admin | Role::Accountant => true,
            Role::SalesRep { rep } => buyer
                .sales_rep
                .as_deref()
                .is_some_and(|r| r.trim().eq_ignore_ascii_case(rep.trim())),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Admins and accountants: the whole ledger.
    pub fn sees_everything(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Accountant)
    }
}

/// 32 random bytes, URL-safe base64 without padding.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    base64url(&bytes)
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// SHA-256 of a secret, hex: what the store keeps.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

/// Makes an API token; the token itself is returned once and never stored.
pub async fn create_token(
    store: &dyn Store,
    name: &str,
    role: Role,
    now: Timestamp,
) -> Result<(String, ApiToken), AuthError> {
    if name.trim().is_empty() {
        return Err(AuthError::Refused("a token needs a name".into()));
    }
    let token = format!("{TOKEN_PREFIX}{}", random_secret());
    let made = store
        .create_api_token(
            &NewApiToken {
                name: name.trim().to_string(),
                token_hash: secret_hash(&token),
                role,
            },
            now,
        )
        .await?;
    Ok((token, made))
}

/// The principal behind a bearer token, if it is live.
pub async fn authenticate_token(
    store: &dyn Store,
    token: &str,
    now: Timestamp,
) -> Result<Option<Principal>, AuthError> {
    let token = token.trim();
    if !token.starts_with(TOKEN_PREFIX) || token.len() < TOKEN_PREFIX.len() + 32 {
        return Ok(None);
    }
    Ok(store
        .use_api_token(&secret_hash(token), now)
        .await?
        .map(|t| Principal {
            name: t.name,
            role: t.role,
        }))
}

fn hash_password(password: &str) -> Result<String, AuthError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AuthError::Refused(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the operating system's random source");
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| AuthError::Refused(format!("salt: {e}")))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Refused(format!("hashing the password: {e}")))
}

/// Adds a dashboard user with an argon2id password hash.
pub async fn add_user(
    store: &dyn Store,
    username: &str,
    password: &str,
    role: Role,
    now: Timestamp,
) -> Result<User, AuthError> {
    let username = username.trim();
    if username.is_empty() || username.chars().any(char::is_whitespace) {
        return Err(AuthError::Refused(
            "a username is one word, without spaces".into(),
        ));
    }
    let password_hash = hash_password(password)?;
    match store
        .create_user(
            &NewUser {
                username: username.to_string(),
                password_hash,
                role,
            },
            now,
        )
        .await
    {
        Err(StoreError::Conflict(_)) => Err(AuthError::Refused(format!(
            "the username `{username}` is taken"
        ))),
        other => Ok(other?),
    }
}

/// Sets a user's password (their sessions end).
pub async fn set_password(
    store: &dyn Store,
    username: &str,
    password: &str,
) -> Result<(), AuthError> {
    let user = store
        .find_user(username)
        .await?
        .ok_or_else(|| AuthError::Refused(format!("no user `{username}`")))?;
    store
        .set_user_password(user.id, &hash_password(password)?)
        .await?;
    Ok(())
}

/// A new dashboard session: its id (for the cookie) and CSRF token (for
/// forms), both shown once.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub session_id: String,
    pub csrf_token: String,
    pub user: User,
    pub expires_at: Timestamp,
}

/// Checks a username and password and opens a session. The same answer
/// whether the user is unknown or the password wrong (and the same work:
/// an unknown user still costs one argon2 verification).
pub async fn login(
    store: &dyn Store,
    username: &str,
    password: &str,
    now: Timestamp,
) -> Result<NewSession, AuthError> {
    let user = store.find_user(username).await?;
    let (hash, user) = match user {
        Some(u) if !u.disabled => (u.password_hash.clone(), Some(u)),
        _ => (DUMMY_HASH.to_string(), None),
    };
    let ok = PasswordHash::new(&hash)
        .map(|parsed| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        return Err(AuthError::BadCredentials);
    };
    let session_id = random_secret();
    let csrf_token = random_secret();
    let expires_at = now.saturating_add(SESSION_LIFETIME).unwrap_or(now);
    store
        .create_session(
            &secret_hash(&session_id),
            user.id,
            &secret_hash(&csrf_token),
            now,
            expires_at,
        )
        .await?;
    Ok(NewSession {
        session_id,
        csrf_token,
        user,
        expires_at,
    })
}

/// A hash of no one's password, verified when the username is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$dGFnYWRhLWR1bW15LXNhbHQ$3wOBbdaJ2QZ/xoQmHtXFzVoS1nGIw0mmOkwZ6Wk3o2U";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_url_safe() {
        let a = random_secret();
        let b = random_secret();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(secret_hash("x").len(), 64);
        assert_eq!(base64url(b"\xff\xfe"), "__4");
    }

    #[test]
    fn passwords_are_argon2id_and_verify() {
        assert!(hash_password("short").is_err());
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(
            argon2::Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        assert!(
            argon2::Argon2::default()
                .verify_password(b"wrong horse battery", &parsed)
                .is_err()
        );
        // the placeholder parses, so an unknown user costs a verification too
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn reps_see_their_own_buyers() {
        let mut b = Buyer::new(tagada_core::BuyerId::new(1), "Acme");
        b.sales_rep = Some("Meera".into());
        let meera = Principal {
            name: "m".into(),
            role: Role::SalesRep {
                rep: "meera".into(),
            },
        };
        let arjun = Principal {
            name: "a".into(),
            role: Role::SalesRep {
                rep: "Arjun".into(),
            },
        };
        assert!(meera.sees(&b));
        assert!(!arjun.sees(&b));
        b.sales_rep = None;
        assert!(!meera.sees(&b));
        let acc = Principal {
            name: "x".into(),
            role: Role::Accountant,
        };
        assert!(acc.sees(&b));
    }
}
