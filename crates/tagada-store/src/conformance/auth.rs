//! Checks of [`AuthStore`](crate::AuthStore): tokens found only by their
//! hash and only while live, usernames unique whatever their case, sessions
//! that expire and end with a new password.

use super::t;
use crate::{NewApiToken, NewUser, Role, Store, StoreError};

pub async fn api_tokens_live_until_revoked<S: Store + 'static>(store: S) {
    let rep = Role::SalesRep {
        rep: "Meera".into(),
    };
    let made = store
        .create_api_token(
            &NewApiToken {
                name: "meera's phone".into(),
                token_hash: "h1".into(),
                role: rep.clone(),
            },
            t(1),
        )
        .await
        .unwrap();
    assert_eq!(made.role, rep);
    assert_eq!(made.last_used_at, None);
    store
        .create_api_token(
            &NewApiToken {
                name: "accounts".into(),
                token_hash: "h2".into(),
                role: Role::Accountant,
            },
            t(2),
        )
        .await
        .unwrap();
    // the same hash twice is refused
    let dup = store
        .create_api_token(
            &NewApiToken {
                name: "again".into(),
                token_hash: "h1".into(),
                role: Role::Admin,
            },
            t(3),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    let used = store.use_api_token("h1", t(10)).await.unwrap().unwrap();
    assert_eq!(used.id, made.id);
    assert_eq!(used.last_used_at, Some(t(10)));
    assert!(store.use_api_token("nope", t(10)).await.unwrap().is_none());
    assert!(store.revoke_api_token(made.id, t(20)).await.unwrap());
    assert!(!store.revoke_api_token(made.id, t(21)).await.unwrap());
    assert!(store.use_api_token("h1", t(30)).await.unwrap().is_none());
    let all = store.list_api_tokens().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].revoked_at, Some(t(20)));
    assert_eq!(all[1].role, Role::Accountant);
}

pub async fn users_and_sessions<S: Store + 'static>(store: S) {
    let user = store
        .create_user(
            &NewUser {
                username: "Meera".into(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                role: Role::SalesRep {
                    rep: "Meera".into(),
                },
            },
            t(1),
        )
        .await
        .unwrap();
    let taken = store
        .create_user(
            &NewUser {
                username: "meera".into(),
                password_hash: "x".into(),
                role: Role::Admin,
            },
            t(2),
        )
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    assert_eq!(
        store.find_user("MEERA").await.unwrap().map(|u| u.id),
        Some(user.id)
    );
    assert!(store.find_user("arjun").await.unwrap().is_none());

    store
        .create_session("s1", user.id, "c1", t(10), t(100))
        .await
        .unwrap();
    let s = store.find_session("s1", t(50)).await.unwrap().unwrap();
    assert_eq!(s.user.id, user.id);
    assert_eq!(s.csrf_hash, "c1");
    assert_eq!(s.expires_at, t(100));
    // expired
    assert!(store.find_session("s1", t(100)).await.unwrap().is_none());
    // a new password ends the sessions
    store
        .create_session("s2", user.id, "c2", t(60), t(1000))
        .await
        .unwrap();
    assert!(store.find_session("s2", t(70)).await.unwrap().is_some());
    assert!(store.set_user_password(user.id, "new").await.unwrap());
    assert!(store.find_session("s2", t(70)).await.unwrap().is_none());
    assert_eq!(
        store
            .find_user("meera")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "new"
    );
    store
        .create_session("s3", user.id, "c3", t(80), t(1000))
        .await
        .unwrap();
    store.delete_session("s3").await.unwrap();
    assert!(store.find_session("s3", t(90)).await.unwrap().is_none());
    assert_eq!(store.list_users().await.unwrap().len(), 1);
}
