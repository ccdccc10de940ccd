//! `tagada templates check` and `tagada send` through the WhatsApp Cloud API
//! channel, against the fake Meta Graph server over loopback.

use std::path::Path;
use std::process::{Command, Output};

use tagada_core::cadence::PlannerConfig;
use tagada_fakes::meta::{FakeTemplate, MetaFake, MetaFakeConfig};

const NOW: &str = "2026-12-21T06:00:00Z";

/// `tagada` in `dir`, at [`NOW`], pointed at the fake's account.
fn command(dir: &Path, fake: &MetaFake) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tagada"));
    c.current_dir(dir)
        .env("TAGADA_NOW", NOW)
        .env("NO_COLOR", "1")
        .env_remove("TAGADA_DATABASE_URL")
        .env_remove("TAGADA_CONFIG")
        .env("TAGADA_WHATSAPP__ENABLED", "true")
        .env("TAGADA_WHATSAPP__BASE_URL", fake.base_url())
        .env(
            "TAGADA_WHATSAPP__PHONE_NUMBER_ID",
            &fake.config().phone_number_id,
        )
        .env("TAGADA_WHATSAPP__WABA_ID", &fake.config().waba_id)
        .env("TAGADA_WHATSAPP__ACCESS_TOKEN", &fake.config().access_token);
    c
}

fn tagada(dir: &Path, fake: &MetaFake, args: &[&str]) -> Output {
    tagada_with(dir, fake, args, &[])
}

fn tagada_with(dir: &Path, fake: &MetaFake, args: &[&str], env: &[(&str, &str)]) -> Output {
    command(dir, fake)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run tagada")
}

/// The account holding exactly the templates the default config sends.
fn registry() -> Vec<FakeTemplate> {
    let cfg = PlannerConfig::default();
    tagada_fakes::meta::account_from_listing(
        cfg.templates
            .iter()
            .map(tagada_app::templates::expected_template),
    )
}

fn import(dir: &Path, fake: &MetaFake) {
    std::fs::copy(
        format!(
            "{}/../tagada-sources/tests/fixtures/zoho_invoices.csv",
            env!("CARGO_MANIFEST_DIR")
        ),
        dir.join("zoho.csv"),
    )
    .unwrap();
    let out = tagada(dir, fake, &["import", "--quiet", "zoho.csv"]);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn a_ready_account_passes_the_check_and_receives_each_reminder_once() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt
        .block_on(MetaFake::start(MetaFakeConfig {
            templates: registry(),
            ..Default::default()
        }))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let check = tagada(d, &fake, &["templates", "check"]);
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{text}\n{check:?}");
    assert!(text.contains("are ready"), "{text}");

    import(d, &fake);
    let sent = tagada(d, &fake, &["send", "--json"]);
    assert!(sent.status.success(), "{sent:?}");
    let stdout = String::from_utf8_lossy(&sent.stdout);
    let report: serde_json::Value = serde_json::from_str(
        &stdout
            .lines()
            .skip_while(|l| !l.starts_with('{'))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let n = report["dispatch"]["sent"].as_u64().unwrap();
    assert!(n > 0, "{report}");
    assert_eq!(fake.accepted().len() as u64, n);
    // Sending again sends nothing new.
    let again = tagada(d, &fake, &["send", "--json"]);
    assert!(again.status.success());
    assert_eq!(fake.accepted().len() as u64, n);
    rt.block_on(fake.shutdown());
}

#[test]
fn an_account_missing_templates_fails_the_check_and_nothing_is_sent() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut templates = registry();
    templates.remove(0);
    templates[0].status = "PAUSED".into();
    let fake = rt
        .block_on(MetaFake::start(MetaFakeConfig {
            templates,
            ..Default::default()
        }))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let check = tagada(d, &fake, &["templates", "check", "--json"]);
    assert_eq!(check.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let statuses: Vec<&str> = report["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"missing"), "{statuses:?}");
    assert!(statuses.contains(&"PAUSED"), "{statuses:?}");
    // The verdicts are kept for the dashboard's health page.
    let kept = rt.block_on(async {
        use tagada_store::{Migrate, TemplateStatusStore};
        let store = tagada_store_sqlite::SqliteStore::open(d.join("tagada.db").to_str().unwrap())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store.template_statuses().await.unwrap()
    });
    assert_eq!(kept.len(), statuses.len(), "{kept:#?}");
    let paused = kept.iter().find(|t| t.status == "PAUSED").unwrap();
    assert_eq!(paused.source, "check");
    assert_eq!(paused.updated_at.to_string(), NOW);
    assert!(
        paused.detail.is_some(),
        "a paused template cannot be sent: {paused:?}"
    );

    import(d, &fake);
    let sent = tagada(d, &fake, &["send"]);
    assert!(!sent.status.success());
    let err = String::from_utf8_lossy(&sent.stderr);
    assert!(err.contains("not sending"), "{err}");
    assert!(fake.accepted().is_empty());
    rt.block_on(fake.shutdown());
}

/// The CLI sends at the configured rate: the fake refuses (130429) more
/// than 6 messages in any second, and 8 reminders at 4 a second all go
/// through at the first try. At the default 80 a second the last two would
/// be refused.
#[test]
fn sends_keep_to_the_configured_throughput() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt
        .block_on(MetaFake::start(MetaFakeConfig {
            templates: registry(),
            messages_per_second: Some(6),
            ..Default::default()
        }))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Eight buyers, each with an invoice due today.
    let mut csv = String::from(
        "Invoice Date,Invoice Number,Invoice Status,Customer ID,Customer Name,Due Date,\
         Currency Code,Total,Balance,Mobile\n",
    );
    for i in 1..=8 {
        csv.push_str(&format!(
            "2026-11-21,TP-{i},Sent,C{i},Buyer {i},2026-12-21,INR,1000.00,1000.00,+91 98765 0000{i}\n"
        ));
    }
    std::fs::write(d.join("eight.csv"), csv).unwrap();
    let out = tagada(d, &fake, &["import", "--quiet", "eight.csv"]);
    assert!(out.status.success(), "{out:?}");
    let sent = tagada_with(
        d,
        &fake,
        &["send", "--json"],
        &[("TAGADA_WHATSAPP__MESSAGES_PER_SECOND", "4")],
    );
    assert!(sent.status.success(), "{sent:?}");
    assert_eq!(fake.accepted().len(), 8);
    assert_eq!(fake.requests(), 8, "the fake refused a send as too fast");
    rt.block_on(fake.shutdown());
}

/// `tagada serve` refuses to start without the webhook secrets; with them it
/// answers the handshake and health on the address it prints, and acts on
/// a signed reply the fake posts to it.
#[test]
fn serve_authenticates_the_webhook_and_answers_on_its_address() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt
        .block_on(MetaFake::start(MetaFakeConfig {
            templates: registry(),
            ..Default::default()
        }))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let refused = tagada(d, &fake, &["serve", "--bind", "127.0.0.1:0"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("TAGADA_WHATSAPP__APP_SECRET"), "{err}");

    let mut child = command(d, &fake)
        .args(["serve", "--bind", "127.0.0.1:0", "--no-worker"])
        .env("TAGADA_WHATSAPP__APP_SECRET", &fake.config().app_secret)
        .env("TAGADA_WHATSAPP__VERIFY_TOKEN", "cli-verify")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first
        .strip_prefix("tagada serving on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_string();
    let http = reqwest::blocking::Client::new();
    let health = http.get(format!("{base}/healthz")).send().unwrap();
    assert_eq!(health.status(), 200);
    let hook = format!("{base}/webhooks/whatsapp");
    let ok = http
        .get(&hook)
        .query(&[
            ("hub.mode", "subscribe"),
            ("hub.verify_token", "cli-verify"),
            ("hub.challenge", "42"),
        ])
        .send()
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().unwrap(), "42");
    let unsigned = http.post(&hook).body("{}").send().unwrap();
    assert_eq!(unsigned.status(), 401);
    // serve checks the account's templates on its schedule and keeps their
    // status for the health page
    let kept = rt.block_on(async {
        use tagada_store::TemplateStatusStore;
        let store = tagada_store_sqlite::SqliteStore::open(d.join("tagada.db").to_str().unwrap())
            .await
            .unwrap();
        for _ in 0..400 {
            let kept = store.template_statuses().await.unwrap();
            if !kept.is_empty() {
                return kept;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Vec::new()
    });
    assert!(!kept.is_empty(), "no template check within 20 s");
    assert!(kept.iter().all(|t| t.source == "check"), "{kept:#?}");
    let _ = child.kill();
    let _ = child.wait();
    rt.block_on(fake.shutdown());
}
