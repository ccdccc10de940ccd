//! API tokens, users and sessions (see `tagada_store::auth`).

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::FromRow;
use tagada_store::{ApiToken, AuthStore, NewApiToken, NewUser, Result, Role, Session, User};

use crate::SqliteStore;
use crate::conv::{corrupt, db, micros, opt_ts, ts};

#[derive(Debug, FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    role: String,
    rep: Option<String>,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = tagada_store::StoreError;
    fn try_from(r: TokenRow) -> Result<ApiToken> {
        const T: &str = "api_tokens";
        Ok(ApiToken {
            id: r.id,
            name: r.name,
            role: Role::from_parts(&r.role, r.rep)
                .ok_or_else(|| corrupt(T, format!("role `{}`", r.role)))?,
            created_at: ts(T, r.created_at)?,
            last_used_at: opt_ts(T, r.last_used_at)?,
            revoked_at: opt_ts(T, r.revoked_at)?,
        })
    }
}

#[derive(Debug, FromRow)]
struct UserRow {
    id: i64,
    username: String,
    password_hash: String,
    role: String,
    rep: Option<String>,
    created_at: i64,
    disabled: bool,
}

impl TryFrom<UserRow> for User {
    type Error = tagada_store::StoreError;
    fn try_from(r: UserRow) -> Result<User> {
        const T: &str = "users";
        Ok(User {
            id: r.id,
            username: r.username,
            password_hash: r.password_hash,
            role: Role::from_parts(&r.role, r.rep)
                .ok_or_else(|| corrupt(T, format!("role `{}`", r.role)))?,
            created_at: ts(T, r.created_at)?,
            disabled: r.disabled,
        })
    }
}

macro_rules! token_cols {
    () => {
        "id, name, role, rep, created_at, last_used_at, revoked_at"
    };
}

macro_rules! user_cols {
    () => {
        "id, username, password_hash, role, rep, created_at, disabled"
    };
}

#[async_trait]
impl AuthStore for SqliteStore {
    async fn create_api_token(&self, token: &NewApiToken, now: Timestamp) -> Result<ApiToken> {
        let mut tx = self.write().await?;
        let row: TokenRow = sqlx::query_as(concat!(
            "INSERT INTO api_tokens (name, token_hash, role, rep, created_at) \
             VALUES (?, ?, ?, ?, ?) RETURNING ",
            token_cols!()
        ))
        .bind(&token.name)
        .bind(&token.token_hash)
        .bind(token.role.name())
        .bind(token.role.rep())
        .bind(micros(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        ApiToken::try_from(row)
    }

    async fn use_api_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<ApiToken>> {
        let mut tx = self.write().await?;
        let row: Option<TokenRow> = sqlx::query_as(concat!(
            "UPDATE api_tokens SET last_used_at = ? \
             WHERE token_hash = ? AND revoked_at IS NULL RETURNING ",
            token_cols!()
        ))
        .bind(micros(now))
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        row.map(ApiToken::try_from).transpose()
    }

    async fn list_api_tokens(&self) -> Result<Vec<ApiToken>> {
        let rows: Vec<TokenRow> = sqlx::query_as(concat!(
            "SELECT ",
            token_cols!(),
            " FROM api_tokens ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter().map(ApiToken::try_from).collect()
    }

    async fn revoke_api_token(&self, id: i64, now: Timestamp) -> Result<bool> {
        let mut tx = self.write().await?;
        let done =
            sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(micros(now))
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
        tx.commit().await.map_err(db)?;
        Ok(done > 0)
    }

    async fn create_user(&self, user: &NewUser, now: Timestamp) -> Result<User> {
        let mut tx = self.write().await?;
        let row: UserRow = sqlx::query_as(concat!(
            "INSERT INTO users (username, password_hash, role, rep, created_at) \
             VALUES (?, ?, ?, ?, ?) RETURNING ",
            user_cols!()
        ))
        .bind(user.username.trim())
        .bind(&user.password_hash)
        .bind(user.role.name())
        .bind(user.role.rep())
        .bind(micros(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        User::try_from(row)
    }

    async fn find_user(&self, username: &str) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_cols!(),
            " FROM users WHERE lower(username) = lower(?)"
        ))
        .bind(username.trim())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(User::try_from).transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let rows: Vec<UserRow> =
            sqlx::query_as(concat!("SELECT ", user_cols!(), " FROM users ORDER BY id"))
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        rows.into_iter().map(User::try_from).collect()
    }

    async fn set_user_password(&self, id: i64, password_hash: &str) -> Result<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        // a new password ends every session of the user
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done > 0)
    }

    async fn create_session(
        &self,
        session_hash: &str,
        user_id: i64,
        csrf_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        // expired sessions are swept as new ones are made
        sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(micros(now))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(
            "INSERT INTO sessions (session_hash, user_id, csrf_hash, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(session_hash)
        .bind(user_id)
        .bind(csrf_hash)
        .bind(micros(now))
        .bind(micros(expires_at))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn find_session(&self, session_hash: &str, now: Timestamp) -> Result<Option<Session>> {
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            s_created_at: i64,
            s_expires_at: i64,
            csrf_hash: String,
        }
        let row: Option<Row> = sqlx::query_as(
            "SELECT u.id, u.username, u.password_hash, u.role, u.rep, u.created_at, u.disabled, \
             s.created_at AS s_created_at, s.expires_at AS s_expires_at, s.csrf_hash \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.session_hash = ? AND s.expires_at > ? AND NOT u.disabled",
        )
        .bind(session_hash)
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(Session {
            user: User::try_from(row.user)?,
            created_at: ts("sessions", row.s_created_at)?,
            expires_at: ts("sessions", row.s_expires_at)?,
            csrf_hash: row.csrf_hash,
        }))
    }

    async fn delete_session(&self, session_hash: &str) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM sessions WHERE session_hash = ?")
            .bind(session_hash)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }
}
