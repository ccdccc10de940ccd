//! The `tagada` binary as a user runs it: init, import, plan, send, act, show.

use std::path::Path;
use std::process::{Command, Output};

const NOW: &str = "2026-12-21T06:00:00Z";

fn tagada(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tagada"))
        .current_dir(dir)
        .args(args)
        .env("TAGADA_NOW", NOW)
        .env("NO_COLOR", "1")
        .env_remove("TAGADA_DATABASE_URL")
        .env_remove("TAGADA_CONFIG")
        .output()
        .expect("run tagada")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = tagada(dir, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "tagada {args:?} failed ({:?}):\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(dir, args)).expect("JSON output")
}

fn fixture(name: &str) -> String {
    format!(
        "{}/../tagada-sources/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn init_writes_a_config_that_checks() {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["init"]);
    assert!(dir.path().join("tagada.toml").exists());
    let out = tagada(dir.path(), &["init"]);
    assert!(!out.status.success(), "init refuses to overwrite");
    let check = ok(dir.path(), &["config", "check"]);
    assert!(check.contains("configuration OK"), "{check}");
    let printed = ok(dir.path(), &["config", "print"]);
    let table: toml::Table = toml::from_str(&printed).expect("config print is TOML");
    assert_eq!(table["dispatch"]["batch_size"].as_integer(), Some(50));
    let as_json = json(dir.path(), &["config", "print", "--json"]);
    assert_eq!(as_json["home_time_zone"], "Asia/Kolkata");
    // What each template must look like once approved: the shipped ones
    // take the four quick replies, labelled in their language.
    let expected = json(dir.path(), &["templates", "expected"]);
    let hindi_overdue = expected
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "payment_overdue" && t["language"] == "hi")
        .expect("payment_overdue in Hindi");
    let buttons = &hindi_overdue["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "BUTTONS")
        .unwrap()["buttons"];
    assert_eq!(buttons.as_array().unwrap().len(), 4);
    assert_eq!(buttons[0]["type"], "QUICK_REPLY");
    assert_eq!(buttons[0]["text"], "भुगतान हो गया");
    std::fs::write(
        dir.path().join("tagada.toml"),
        "[dispatch]\nbatch_size = 0\n",
    )
    .unwrap();
    let bad = tagada(dir.path(), &["config", "check"]);
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("dispatch.batch_size"));
}

#[test]
fn bad_usage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(tagada(dir.path(), &["frobnicate"]).status.code(), Some(2));
}

#[test]
fn import_plan_send_and_act() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Copied in, so the rejects file lands in the temporary directory.
    std::fs::copy(fixture("zoho_invoices.csv"), d.join("zoho.csv")).unwrap();
    let imported = ok(d, &["import", "--quiet", "zoho.csv"]);
    assert!(imported.contains("rejected"), "{imported}");

    let plan = json(d, &["plan", "--json"]);
    let messages = plan["messages"].as_array().unwrap();
    assert!(!messages.is_empty(), "{plan:#}");
    let skipped = plan["skipped"].as_array().unwrap();
    // Every invoice is either planned or listed with a reason.
    let invoices = json(d, &["invoices", "list", "--json"]);
    let planned: usize = messages
        .iter()
        .map(|m| m["items"].as_array().unwrap().len())
        .sum();
    assert_eq!(planned + skipped.len(), invoices.as_array().unwrap().len());

    // A dry run writes nothing: planning again gives the same plan.
    let dry = ok(d, &["send", "--dry-run"]);
    assert!(dry.contains("Dry run"), "{dry}");
    assert_eq!(json(d, &["plan", "--json"])["messages"], plan["messages"]);

    // Sending twice sends once.
    let sent = ok(d, &["send", "--json"]);
    let sent: serde_json::Value = serde_json::from_str(
        sent.lines()
            .skip_while(|l| !l.starts_with('{'))
            .collect::<Vec<_>>()
            .join("\n")
            .as_str(),
    )
    .unwrap();
    let due_now = messages
        .iter()
        .filter(|m| m["send_at"].as_str().unwrap() <= NOW)
        .count() as u64;
    assert_eq!(sent["dispatch"]["sent"].as_u64().unwrap(), due_now);
    let again = ok(d, &["send", "--json"]);
    let again: serde_json::Value = serde_json::from_str(
        again
            .lines()
            .skip_while(|l| !l.starts_with('{'))
            .collect::<Vec<_>>()
            .join("\n")
            .as_str(),
    )
    .unwrap();
    assert_eq!(again["dispatch"]["sent"].as_u64().unwrap(), 0);
    assert_eq!(again["applied"]["messages_enqueued"].as_u64().unwrap(), 0);

    // Mark the first planned invoice paid: it leaves the plan with reason "paid".
    let number = messages[0]["items"][0]["invoice_number"]
        .as_str()
        .unwrap()
        .to_string();
    let paid = ok(
        d,
        &[
            "invoices",
            "mark-paid",
            &number,
            "--method",
            "upi",
            "--reference",
            "UTR-1",
        ],
    );
    assert!(paid.contains("now paid"), "{paid}");
    let shown = json(d, &["show", &number, "--json"]);
    assert_eq!(shown["invoice"]["status"], "paid");
    let kinds: Vec<&str> = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"payment"), "{kinds:?}");
    let plan = json(d, &["plan", "--json"]);
    let reason = plan["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["invoice_number"] == number.as_str())
        .unwrap();
    assert_eq!(reason["reason"], "paid");
}

/// The JSON summary `tagada demo --json` prints after its account.
fn demo_json(out: &str) -> serde_json::Value {
    let text: String = out
        .lines()
        .skip_while(|l| *l != "{")
        .take_while(|l| *l != "}")
        .chain(["}"])
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&text).expect("summary JSON")
}

#[test]
fn demo_runs_on_a_fresh_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = ok(d, &["demo", "--days", "5", "--json"]);
    assert!(out.contains("Collection summary after 5 days"), "{out}");
    assert!(
        out.contains("local fake of the WhatsApp Cloud API"),
        "{out}"
    );
    assert!(out.contains("tagada's endpoint http://127.0.0.1:"), "{out}");
    assert!(out.contains("✉"), "{out}");
    assert!(out.contains("✓✓ read"), "{out}");
    assert!(out.contains("↩"), "{out}");

    // What went over the wire, as the fake counted it, matches the demo's account.
    let summary = demo_json(&out);
    let n = |v: &serde_json::Value| v.as_u64().unwrap();
    let wire = &summary["whatsapp"];
    let reminders = n(&summary["reminders_sent"]);
    let answers = n(&summary["answers_sent"]);
    let thanks = n(&summary["receipts_sent"]);
    assert!(reminders > 0 && answers > 0, "{summary:#}");
    // buyers pay through their pay pages' gateway links; each invoice paid
    // in full is thanked once
    // (within these five days, an INR invoice through Razorpay)
    assert!(out.contains("by UPI through its Razorpay link"), "{out}");
    assert!(
        thanks > 0 && thanks <= n(&summary["invoices_paid"]),
        "{summary:#}"
    );
    let all = reminders + answers + thanks;
    assert_eq!(n(&wire["accepted"]), all, "{summary:#}");
    assert_eq!(
        n(&wire["accepted_templates"]),
        reminders + thanks,
        "{summary:#}"
    );
    assert_eq!(n(&summary["read"]), all, "{summary:#}");
    // sent, delivered and read for each message; one POST per reply
    assert_eq!(n(&wire["receipt_webhooks"]), 3 * all);
    assert_eq!(n(&wire["reply_webhooks"]), n(&summary["buyer_replies"]));
    assert_eq!(n(&wire["webhooks_failed"]), 0, "{summary:#}");
    // IndiaMART leads of those days came in through the real client and
    // the fake's 5-minute rule, as buyers without consent.
    assert!(n(&summary["leads"]) > 0, "{summary:#}");
    assert_eq!(
        n(&summary["leads"]),
        n(&summary["lead_buyers_new"]) + n(&summary["lead_buyers_matched"])
    );
    assert!(out.contains("+ leads     indiamart:"), "{out}");

    // The ledger the demo leaves holds the replies, handled, and the
    // receipts on the timelines.
    let with_db = |rest: &[&'static str]| {
        let mut args = vec!["--database-url", "sqlite://tagada-demo.db"];
        args.extend_from_slice(rest);
        args
    };
    // `tagada report` over the same days counts what the demo sent and collected
    let report = json(
        d,
        &with_db(&[
            "report",
            "--period",
            "2026-12-01..2026-12-05",
            "--by",
            "step",
            "--json",
        ]),
    );
    let stage = |name: &str| {
        report["funnel"]["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stage"] == name)
            .unwrap()["count"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(stage("sent"), reminders, "{report:#}");
    assert_eq!(stage("read"), reminders, "{report:#}");
    assert_eq!(
        report["days_to_pay"]["after_due"]["count"]
            .as_u64()
            .unwrap(),
        n(&summary["invoices_paid"]),
        "{report:#}"
    );
    assert!(!report["breakdown"].as_array().unwrap().is_empty());
    let csv_out = ok(
        d,
        &with_db(&[
            "report",
            "--period",
            "2026-12-01..2026-12-05",
            "--by",
            "template",
            "--csv",
        ]),
    );
    assert!(
        csv_out.starts_with("key,planned,sent,delivered,read,replied"),
        "{csv_out}"
    );
    let inbox = json(d, &with_db(&["inbox", "list", "--all", "--json"]));
    let inbox = inbox.as_array().expect("inbox entries");
    assert_eq!(inbox.len() as u64, n(&summary["buyer_replies"]));
    assert!(inbox.iter().all(|e| !e["handling"].is_null()), "{inbox:#?}");
    let shown = json(d, &with_db(&["show", "INV-1005", "--json"]));
    let timeline = shown["timeline"].as_array().unwrap();
    let has = |kind: &str, text: &str| {
        timeline
            .iter()
            .any(|e| e["kind"] == kind && e["text"].as_str().unwrap_or_default().contains(text))
    };
    assert!(has("delivery", "read"), "{timeline:#?}");
    assert!(has("note", "3 cartons arrived damaged"), "{timeline:#?}");
    assert_eq!(shown["invoice"]["status"], "disputed", "{shown:#}");

    // It starts afresh every time.
    let out = ok(d, &["demo", "--days", "2"]);
    assert!(out.contains("Collection summary after 2 days"), "{out}");
}

/// `tagada demo --ledger sheets|airtable`: the open orders live in a local
/// fake of the table, synced through the configured client once a day;
/// the table ends up showing what tagada wrote back.
#[test]
fn demo_runs_with_its_ledger_in_a_fake_table() {
    for (kind, table) in [("sheets", "Google Sheet"), ("airtable", "Airtable")] {
        let dir = tempfile::tempdir().unwrap();
        let out = ok(
            dir.path(),
            &["demo", "--days", "4", "--ledger", kind, "--json"],
        );
        assert!(out.contains(&format!("a fake {table}")), "{out}");
        assert!(
            out.contains("⇄ ledger    synced 20 rows: 19 invoices created"),
            "{out}"
        );
        assert!(
            out.contains("✗ row "),
            "the unfinished row is refused: {out}"
        );
        assert!(out.contains("The ledger table now"), "{out}");
        assert!(out.contains("the accountant sets INV-1009 Amount"), "{out}");
        let v = demo_json(&out);
        assert_eq!(v["ledger"]["syncs"], 5, "{v:#}");
        assert_eq!(v["ledger"]["invoices_created"], 19, "{v:#}");
        assert_eq!(v["ledger"]["rows_refused"], 1, "{v:#}");
        assert!(
            v["ledger"]["cells_written"].as_u64().unwrap() > 19 * 5,
            "{v:#}"
        );
        if kind == "sheets" {
            // the new IndiaMART and TradeIndia leads went to the leads tab
            assert!(v["ledger"]["leads_appended"].as_u64().unwrap() > 0, "{v:#}");
            assert_eq!(v["ledger"]["leads_appended"], v["leads"], "{v:#}");
        }
    }
}

/// `tagada sync` against the IndiaMART fake: the first run makes one call
/// and stores the window's leads; a second run at once makes none (the
/// 5-minute budget, kept in the database); `--status` shows the run; a
/// refused key exits 4 and stops the source until `--resume`.
#[test]
fn sync_pulls_leads_within_the_budget() {
    use tagada_fakes::indiamart::{IndiaMartFake, IndiaMartFakeConfig};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cfg = IndiaMartFakeConfig::default();
    let fake = rt.block_on(IndiaMartFake::start(cfg.clone())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let now = cfg.leads_to.to_string();
    let sync = |key: &str, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tagada"))
            .current_dir(dir.path())
            .args(args)
            .env("TAGADA_NOW", &now)
            .env("NO_COLOR", "1")
            .env_remove("TAGADA_DATABASE_URL")
            .env_remove("TAGADA_CONFIG")
            .env("TAGADA_INDIAMART__ENABLED", "true")
            .env("TAGADA_INDIAMART__BASE_URL", fake.base_url())
            .env("TAGADA_INDIAMART__KEY", key)
            .env("TAGADA_INDIAMART__FIRST_SYNC_HOURS", "168")
            .output()
            .expect("run tagada")
    };
    let out = sync(&cfg.key, &["sync", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report[0]["source"], "indiamart");
    assert_eq!(report[0]["calls"], 1);
    let new = report[0]["leads_new"].as_u64().unwrap();
    assert!(new > 0, "{report:#}");
    assert_eq!(fake.call_count(), 1);

    let again = sync(&cfg.key, &["sync", "--json"]);
    assert!(again.status.success(), "{again:?}");
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report[0]["calls"], 0, "{report:#}");
    assert_eq!(fake.call_count(), 1, "the budget holds across processes");

    // A lead turned into an order: the invoice goes to the lead's buyer.
    let lead = fake
        .leads()
        .into_iter()
        .find(|l| l.received_at >= cfg.leads_to - jiff::SignedDuration::from_hours(24 * 6))
        .expect("a lead of the last days");
    let from = format!("indiamart:{}", lead.unique_query_id);
    let added = sync(
        &cfg.key,
        &[
            "invoices",
            "add",
            "INV-L-1",
            "--amount",
            "₹25,000",
            "--from-lead",
            &from,
            "--json",
        ],
    );
    assert!(added.status.success(), "{added:?}");
    let inv: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    assert_eq!(inv["number"], "INV-L-1");
    let buyer = format!("B{}", inv["buyer_id"]);
    let timeline = sync(&cfg.key, &["show", &buyer, "--json"]);
    assert!(timeline.status.success(), "{timeline:?}");
    let text = String::from_utf8_lossy(&timeline.stdout);
    assert!(
        text.contains(&format!("IndiaMART lead {}", lead.unique_query_id)),
        "the invoice went to the lead's buyer: {text}"
    );
    let again = sync(
        &cfg.key,
        &[
            "invoices",
            "add",
            "INV-L-1",
            "--amount",
            "₹25,000",
            "--from-lead",
            &from,
        ],
    );
    assert!(!again.status.success(), "a number is added once");
    let unknown = sync(
        &cfg.key,
        &[
            "invoices",
            "add",
            "INV-L-2",
            "--amount",
            "1000",
            "--from-lead",
            "indiamart:nope",
        ],
    );
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no lead"));

    let status = sync(&cfg.key, &["sync", "--status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status[0]["state"]["source"], "indiamart");
    assert_eq!(status[0]["runs"][0]["outcome"], "ingested");
    assert_eq!(status[0]["runs"][0]["leads_new"].as_u64(), Some(new));

    // A wrong key, once the budget allows a call: exit 4, stopped.
    let later = (cfg.leads_to + jiff::SignedDuration::from_mins(6)).to_string();
    fake.set_clock(cfg.leads_to + jiff::SignedDuration::from_mins(6));
    let refused = Command::new(env!("CARGO_BIN_EXE_tagada"))
        .current_dir(dir.path())
        .args(["sync"])
        .env("TAGADA_NOW", &later)
        .env_remove("TAGADA_DATABASE_URL")
        .env_remove("TAGADA_CONFIG")
        .env("TAGADA_INDIAMART__ENABLED", "true")
        .env("TAGADA_INDIAMART__BASE_URL", fake.base_url())
        .env("TAGADA_INDIAMART__KEY", "wrong-key")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(4), "{refused:?}");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("STOPPED") && err.contains("refused the key"),
        "{err}"
    );
    assert!(
        !err.contains("wrong-key"),
        "the key is never printed: {err}"
    );
    let resumed = sync(&cfg.key, &["sync", "--resume", "indiamart"]);
    assert!(resumed.status.success(), "{resumed:?}");
    rt.block_on(fake.shutdown());
}

#[test]
fn payments_added_by_hand_and_from_a_bank_statement() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(fixture("zoho_invoices.csv"), d.join("zoho.csv")).unwrap();
    ok(d, &["import", "--quiet", "zoho.csv"]);
    for (number, amount) in [("INV-P1", "₹11,800"), ("INV-P2", "₹23,600.50")] {
        ok(
            d,
            &[
                "invoices", "add", number, "--amount", amount, "--buyer", "B1",
            ],
        );
    }
    let number = "INV-P1";
    let other = "INV-P2";

    // part of it by NEFT, named by hand
    let part = "₹5,900";
    let added = json(
        d,
        &[
            "payments",
            "add",
            "--invoice",
            number,
            "--amount",
            part,
            "--method",
            "neft",
            "--reference",
            "UTR0001",
            "--json",
        ],
    );
    assert_eq!(added["invoice"]["status"], "partially_paid", "{added:#}");
    assert_eq!(added["payment"]["method"], "bank_transfer");
    // the same UTR again changes nothing
    let again = json(
        d,
        &[
            "payments",
            "add",
            "--invoice",
            number,
            "--amount",
            part,
            "--reference",
            "UTR0001",
            "--json",
        ],
    );
    assert_eq!(again["duplicate"], true);

    // a statement names the other invoice for its full amount, and has a stranger's credit
    std::fs::write(
        d.join("statement.csv"),
        format!(
            "Date,Narration,Reference,Credit\n\
             10/12/26,NEFT CR-SOME BUYER-{other},UTR0002,\"23,600.50\"\n\
             11/12/26,NEFT CR-NOBODY-ADVANCE,UTR0003,999.00\n"
        ),
    )
    .unwrap();
    let imported = json(
        d,
        &[
            "payments",
            "import",
            "statement.csv",
            "--date-column",
            "Date",
            "--narration-column",
            "Narration",
            "--reference-column",
            "Reference",
            "--credit-column",
            "Credit",
            "--json",
        ],
    );
    let credits = imported["credits"].as_array().unwrap();
    assert_eq!(credits.len(), 2, "{imported:#}");
    assert_eq!(credits[0]["outcome"]["kind"], "reference");
    assert_eq!(credits[0]["recorded"][0]["status_after"], "paid");
    assert_eq!(credits[1]["outcome"]["kind"], "unmatched");
    let text = ok(
        d,
        &[
            "payments",
            "import",
            "statement.csv",
            "--date-column",
            "Date",
            "--narration-column",
            "Narration",
            "--reference-column",
            "Reference",
            "--credit-column",
            "Credit",
        ],
    );
    assert!(text.contains("duplicate"), "{text}");
    assert!(text.contains("unmatched"), "{text}");

    let payments = json(d, &["payments", "list", "--json"]);
    assert_eq!(payments.as_array().unwrap().len(), 2, "{payments:#}");
    // no gateway is configured: polling says so and fails
    let poll = tagada(d, &["payments", "poll"]);
    assert!(!poll.status.success());
    assert!(
        json(d, &["payments", "links", "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn tokens_and_users_are_made_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let made = tagada(
        d,
        &["tokens", "create", "accounts sheet", "--role", "accountant"],
    );
    assert!(made.status.success(), "{made:?}");
    let token = String::from_utf8(made.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("tgd_") && token.len() > 40, "{token}");
    // a sales rep's token needs the rep's name
    let refused = tagada(d, &["tokens", "create", "x", "--role", "sales-rep"]);
    assert_eq!(refused.status.code(), Some(1));
    ok(
        d,
        &[
            "tokens",
            "create",
            "meera",
            "--role",
            "sales-rep",
            "--rep",
            "Meera",
        ],
    );
    let listed = json(d, &["tokens", "list", "--json"]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1]["role"]["rep"], "Meera");
    // the token itself is stored nowhere
    let db = std::fs::read(d.join("tagada.db")).unwrap();
    assert!(
        !db.windows(token.len()).any(|w| w == token.as_bytes()),
        "the token is in the database file"
    );
    ok(d, &["tokens", "revoke", "1"]);
    assert!(!tagada(d, &["tokens", "revoke", "1"]).status.success());

    let add = Command::new(env!("CARGO_BIN_EXE_tagada"))
        .current_dir(d)
        .args([
            "users",
            "add",
            "meera",
            "--role",
            "sales-rep",
            "--rep",
            "Meera",
        ])
        .env("TAGADA_NOW", NOW)
        .env("TAGADA_PASSWORD", "a long enough password")
        .env_remove("TAGADA_DATABASE_URL")
        .output()
        .unwrap();
    assert!(add.status.success(), "{add:?}");
    let short = Command::new(env!("CARGO_BIN_EXE_tagada"))
        .current_dir(d)
        .args(["users", "add", "arjun", "--role", "admin"])
        .env("TAGADA_NOW", NOW)
        .env("TAGADA_PASSWORD", "short")
        .env_remove("TAGADA_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!short.status.success());
    let users = json(d, &["users", "list", "--json"]);
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert!(users[0].get("password_hash").is_none(), "{users}");
}
