//! `tagada tokens ...` and `tagada users ...`: who may use the JSON API and
//! the dashboard.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use tagada_app::auth;
use tagada_store::Role;

use crate::ctx::Ctx;
use crate::output::{print_json, table};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    Admin,
    Accountant,
    SalesRep,
}

fn role(arg: RoleArg, rep: Option<String>) -> anyhow::Result<Role> {
    Ok(match (arg, rep) {
        (RoleArg::Admin, None) => Role::Admin,
        (RoleArg::Accountant, None) => Role::Accountant,
        (RoleArg::SalesRep, Some(rep)) if !rep.trim().is_empty() => Role::SalesRep {
            rep: rep.trim().to_string(),
        },
        (RoleArg::SalesRep, _) => {
            anyhow::bail!("--role sales-rep needs --rep NAME (as buyers' sales_rep says it)")
        }
        (_, Some(_)) => anyhow::bail!("--rep goes with --role sales-rep only"),
    })
}

fn role_text(r: &Role) -> String {
    match r {
        Role::SalesRep { rep } => format!("sales rep ({rep})"),
        other => other.name().to_string(),
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum TokensCommand {
    /// Make an API token; it is printed once and only its hash is kept.
    Create {
        /// What it is for ("accounting sheet", "Meera's phone").
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The sales rep's name, for --role sales-rep.
        #[arg(long)]
        rep: Option<String>,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id: it stops working at once.
    Revoke { id: i64 },
}

#[derive(Debug, clap::Subcommand)]
pub enum UsersCommand {
    /// Add a dashboard user. The password is read from the terminal, or
    /// from the first line of standard input (or TAGADA_PASSWORD).
    Add {
        username: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long)]
        rep: Option<String>,
    },
    /// Set a user's password (their sessions end).
    Passwd { username: String },
    List {
        #[arg(long)]
        json: bool,
    },
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("TAGADA_PASSWORD") {
        return Ok(p);
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!(
            "password (at least {} characters): ",
            auth::MIN_PASSWORD_CHARS
        );
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub async fn tokens(cmd: TokensCommand, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = ctx.store().await?;
    let now = ctx.clock.now();
    match cmd {
        TokensCommand::Create { name, role: r, rep } => {
            let (token, made) =
                auth::create_token(store.as_ref(), &name, role(r, rep)?, now).await?;
            println!("{token}");
            eprintln!(
                "token {} ({}, {}): shown once, keep it secret; send it as `Authorization: Bearer <token>`",
                made.id,
                made.name,
                role_text(&made.role)
            );
        }
        TokensCommand::List { json } => {
            let tokens = store.list_api_tokens().await?;
            if json {
                print_json(&tokens)?;
            } else {
                let mut t = table(&["id", "name", "role", "created", "last used", "revoked"]);
                let zone = ctx.config.planner.home_zone_name();
                for tok in &tokens {
                    t.add_row(vec![
                        tok.id.to_string(),
                        tok.name.clone(),
                        role_text(&tok.role),
                        crate::output::local(tok.created_at, zone),
                        tok.last_used_at
                            .map(|t| crate::output::local(t, zone))
                            .unwrap_or_default(),
                        tok.revoked_at
                            .map(|t| crate::output::local(t, zone))
                            .unwrap_or_default(),
                    ]);
                }
                println!("{t}");
            }
        }
        TokensCommand::Revoke { id } => {
            if !store.revoke_api_token(id, now).await? {
                anyhow::bail!("no live token {id}");
            }
            println!("token {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn users(cmd: UsersCommand, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = ctx.store().await?;
    let now = ctx.clock.now();
    match cmd {
        UsersCommand::Add {
            username,
            role: r,
            rep,
        } => {
            let role = role(r, rep)?;
            let password = read_password()?;
            let user = auth::add_user(store.as_ref(), &username, &password, role, now).await?;
            println!("user {} added ({})", user.username, role_text(&user.role));
        }
        UsersCommand::Passwd { username } => {
            let password = read_password()?;
            auth::set_password(store.as_ref(), &username, &password).await?;
            println!("password of {username} changed; their sessions ended");
        }
        UsersCommand::List { json } => {
            let users = store.list_users().await?;
            if json {
                print_json(&users)?;
            } else {
                let mut t = table(&["id", "username", "role", "created", "disabled"]);
                for u in &users {
                    t.add_row(vec![
                        u.id.to_string(),
                        u.username.clone(),
                        role_text(&u.role),
                        crate::output::local(u.created_at, ctx.config.planner.home_zone_name()),
                        if u.disabled { "yes" } else { "" }.to_string(),
                    ]);
                }
                println!("{t}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
