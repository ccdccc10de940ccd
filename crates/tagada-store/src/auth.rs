//! Who may use the JSON API and the dashboard: API tokens, users and their
//! sessions. Secrets are never stored: tokens and session ids are kept as
//! SHA-256 hashes (they are long random strings), passwords as argon2 PHC
//! strings made by the caller.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::Result;

/// What a token or a user may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    /// Everything, including tokens and users.
    Admin,
    /// Every buyer and invoice; no tokens or users.
    Accountant,
    /// Only the buyers whose `sales_rep` is this name.
    SalesRep { rep: String },
}

impl Role {
    pub fn name(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Accountant => "accountant",
            Role::SalesRep { .. } => "sales_rep",
        }
    }

    /// The stored pair `(role, rep)` back into a role.
    pub fn from_parts(role: &str, rep: Option<String>) -> Option<Role> {
        match (role, rep) {
            ("admin", _) => Some(Role::Admin),
            ("accountant", _) => Some(Role::Accountant),
            ("sales_rep", Some(rep)) if !rep.trim().is_empty() => Some(Role::SalesRep { rep }),
            _ => None,
        }
    }

    pub fn rep(&self) -> Option<&str> {
        match self {
            Role::SalesRep { rep } => Some(rep),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiToken {
    pub name: String,
    /// SHA-256 (hex) of the token; the token itself is shown once.
    pub token_hash: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    /// Unique, compared case-insensitively.
    pub username: String,
    /// An argon2 PHC string.
    pub password_hash: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    #[serde(skip_serializing)]
    pub password_hash: String,
    pub role: Role,
    pub created_at: Timestamp,
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub user: User,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// SHA-256 (hex) of the session's CSRF token.
    pub csrf_hash: String,
}

#[async_trait]
pub trait AuthStore: Send + Sync {
    async fn create_api_token(&self, token: &NewApiToken, now: Timestamp) -> Result<ApiToken>;
    /// The live (not revoked) token with this hash; marks it used at `now`.
    async fn use_api_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<ApiToken>>;
    async fn list_api_tokens(&self) -> Result<Vec<ApiToken>>;
    /// False when there is no such live token.
    async fn revoke_api_token(&self, id: i64, now: Timestamp) -> Result<bool>;

    /// Fails with `Conflict` when the username is taken.
    async fn create_user(&self, user: &NewUser, now: Timestamp) -> Result<User>;
    async fn find_user(&self, username: &str) -> Result<Option<User>>;
    async fn list_users(&self) -> Result<Vec<User>>;
    async fn set_user_password(&self, id: i64, password_hash: &str) -> Result<bool>;

    async fn create_session(
        &self,
        session_hash: &str,
        user_id: i64,
        csrf_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<()>;
    /// The session (and its enabled user) if it has not expired at `now`.
    async fn find_session(&self, session_hash: &str, now: Timestamp) -> Result<Option<Session>>;
    async fn delete_session(&self, session_hash: &str) -> Result<()>;
}
