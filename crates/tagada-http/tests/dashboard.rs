//! The dashboard over real HTTP: pages need a session, forms need the
//! session's CSRF token, logins are rate limited, a sales rep sees only
//! their own buyers, and the forms change the ledger (marking paid cancels
//! the pending reminder, bulk pause pauses).

use std::sync::Arc;

use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use tagada_app::auth::add_user;
use tagada_app::clock::{Clock, SimClock};
use tagada_app::payments::{Gateways, PaymentsConfig};
use tagada_app::planning::plan_and_apply;
use tagada_core::cadence::PlannerConfig;
use tagada_core::ledger::InvoiceStatus;
use tagada_core::outbox::OutboxStatus;
use tagada_core::{CountryCode, Currency, Money, Phone};
use tagada_http::{HttpState, LedgerHttp};
use tagada_store::{
    ImportStore, InboundHandling, InboxStore, LedgerStore, Migrate, NewBuyer, NewInbound,
    NewInvoice, OutboxFilter, OutboxStore, Role, Store,
};
use tagada_store_sqlite::SqliteStore;

const PASSWORD: &str = "correct horse battery";

fn t0() -> Timestamp {
    // Friday 4 December 2026, 10:30 in Kolkata
    "2026-12-04T05:00:00Z".parse().unwrap()
}

struct Dash {
    base: String,
    store: Arc<SqliteStore>,
    clock: SimClock,
}

/// A ledger with two buyers, Acme (Meera's) and Globex (Arjun's), each
/// owing ₹1,00,000 on an invoice due a month ago (INV-0, INV-1), and the
/// users `admin`, `meera` and `arjun`.
async fn dash() -> Dash {
    let store = SqliteStore::open_in_memory().await.unwrap();
    store.migrate().await.unwrap();
    let store = Arc::new(store);
    for (i, (name, rep)) in [("Acme Traders", "Meera"), ("Globex Exports", "Arjun")]
        .iter()
        .enumerate()
    {
        let (buyer_id, _) = store
            .upsert_buyer(&NewBuyer {
                external_key: Some(format!("b{i}")),
                name: name.to_string(),
                whatsapp: Some(
                    Phone::parse(&format!("98{:08}", 50_000_000 + i), &CountryCode::india())
                        .unwrap(),
                ),
                country: Some(CountryCode::india()),
                sales_rep: Some(rep.to_string()),
                ..Default::default()
            })
            .await
            .unwrap();
        store
            .upsert_invoices(
                &[NewInvoice {
                    number: format!("INV-{i}"),
                    buyer_id,
                    order_date: None,
                    invoice_date: date(2026, 10, 1),
                    due_date: date(2026, 11, 1),
                    credit_days: Some(31),
                    amount: Money::from_minor(1_00_000_00, Currency::INR),
                    amount_paid: Money::zero(Currency::INR),
                    status: InvoiceStatus::Pending,
                    source: "test".into(),
                    source_hash: format!("h{i}"),
                    notes: None,
                }],
                t0(),
            )
            .await
            .unwrap();
    }
    let s: &dyn Store = store.as_ref();
    add_user(s, "admin", PASSWORD, Role::Admin, t0())
        .await
        .unwrap();
    for rep in ["Meera", "Arjun"] {
        add_user(
            s,
            &rep.to_lowercase(),
            PASSWORD,
            Role::SalesRep { rep: rep.into() },
            t0(),
        )
        .await
        .unwrap();
    }
    let clock = SimClock::new(t0());
    let pay = PaymentsConfig::default();
    let state = HttpState {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        whatsapp: None,
        inbox: Arc::new(tokio::sync::Notify::new()),
        max_body_bytes: 1 << 20,
        indiamart_push: None,
        ledger: Some(LedgerHttp {
            gateways: Gateways::from_config(&pay),
            cfg: Arc::new(pay),
            planner: Arc::new(PlannerConfig::default()),
            home_country: CountryCode::india(),
            messaging_limit: 250,
            template_check_minutes: 60,
            preview: Default::default(),
        }),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, tagada_http::router(state))
            .await
            .unwrap();
    });
    Dash {
        base: format!("http://{addr}"),
        store,
        clock,
    }
}

/// A browser: keeps cookies, does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn set_cookies(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

impl Dash {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn try_login(&self, b: &reqwest::Client, user: &str, pass: &str) -> reqwest::Response {
        b.post(self.url("/login"))
            .form(&[("username", user), ("password", pass)])
            .send()
            .await
            .unwrap()
    }

    /// Signs in; returns the CSRF token (from its cookie).
    async fn login(&self, b: &reqwest::Client, user: &str) -> String {
        let resp = self.try_login(b, user, PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "login as {user}");
        set_cookies(&resp)
            .iter()
            .find_map(|c| c.strip_prefix("tagada_csrf="))
            .and_then(|c| c.split(';').next())
            .expect("a CSRF cookie")
            .to_string()
    }

    async fn get(&self, b: &reqwest::Client, path: &str) -> (StatusCode, String) {
        let resp = b.get(self.url(path)).send().await.unwrap();
        let status = resp.status();
        (status, resp.text().await.unwrap())
    }

    async fn post(
        &self,
        b: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        b.post(self.url(path)).form(form).send().await.unwrap()
    }

    async fn invoice(&self, number: &str) -> tagada_core::ledger::Invoice {
        self.store.find_invoice(number).await.unwrap().unwrap()
    }
}

const PAGES: [&str; 9] = [
    "/",
    "/invoices",
    "/invoices/INV-0",
    "/buyers",
    "/buyers/1",
    "/inbox",
    "/inbox?all=1",
    "/templates",
    "/health",
];

const FORMS: [&str; 11] = [
    "/logout",
    "/invoices/INV-0/send-now",
    "/invoices/bulk",
    "/invoices/INV-0/mark-paid",
    "/invoices/INV-0/snooze",
    "/invoices/INV-0/pause",
    "/invoices/INV-0/resume",
    "/invoices/INV-0/dispute",
    "/invoices/INV-0/note",
    "/inbox/1/resolve",
    "/inbox/1/assign",
];

#[tokio::test]
async fn without_a_session_pages_redirect_to_login_and_forms_are_refused() {
    let d = dash().await;
    let b = browser();
    for path in PAGES {
        let resp = b.get(d.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "GET {path}");
        assert_eq!(location(&resp), "/login", "GET {path}");
    }
    for path in FORMS {
        let resp = d
            .post(&b, path, &[("csrf", "x"), ("action", "pause")])
            .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "POST {path}");
    }
    // a made-up session is no session
    let resp = b
        .get(d.url("/"))
        .header("cookie", "tagada_session=forged; tagada_csrf=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(!d.invoice("INV-0").await.paused);

    let (status, body) = d.get(&b, "/login").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"<form id="login""#), "{body}");
    assert!(body.contains(r#"name="username""#));
    assert!(body.contains(r#"name="password""#));
}

#[tokio::test]
async fn logins_are_checked_rate_limited_and_set_strict_cookies() {
    let d = dash().await;
    let b = browser();
    for attempt in 1..=5 {
        let resp = d.try_login(&b, "admin", "wrong password!").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
        assert!(set_cookies(&resp).is_empty());
        let body = resp.text().await.unwrap();
        assert!(body.contains("Wrong username or password"), "{body}");
        assert!(body.contains(r#"<form id="login""#));
    }
    let resp = d.try_login(&b, "admin", "wrong password!").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().get("retry-after").is_some());
    // blocked even with the right password until the window passes
    let resp = d.try_login(&b, "admin", PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(set_cookies(&resp).is_empty());

    d.clock.advance(SignedDuration::from_mins(16));
    let resp = d.try_login(&b, "admin", PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/");
    let cookies = set_cookies(&resp);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("tagada_session="))
        .expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(session.contains(attr), "{session} lacks {attr}");
    }
    assert!(!session.contains("Secure"), "plain http: {session}");
    let csrf = cookies
        .iter()
        .find(|c| c.starts_with("tagada_csrf="))
        .expect("a CSRF cookie");
    assert!(csrf.contains("SameSite=Strict"), "{csrf}");

    let (status, body) = d.get(&b, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<h1>Overview</h1>"));
    // signed in, the login page sends back to the overview
    let resp = b.get(d.url("/login")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);

    // behind an https proxy the cookies are Secure
    let other = browser();
    let resp = other
        .post(d.url("/login"))
        .header("x-forwarded-proto", "https")
        .form(&[("username", "meera"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(set_cookies(&resp).iter().all(|c| c.contains("; Secure")));

    // a login posted from another site is refused
    let resp = browser()
        .post(d.url("/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("username", "arjun"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(set_cookies(&resp).is_empty());

    // signing out ends the session
    let token = csrf
        .strip_prefix("tagada_csrf=")
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let resp = d.post(&b, "/logout", &[("csrf", &token)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/login");
    let resp = b.get(d.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/login");
}

#[tokio::test]
async fn the_overview_draws_charts_and_the_outstanding_amount() {
    let d = dash().await;
    let admin = browser();
    d.login(&admin, "admin").await;
    let resp = admin.get(d.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let body = resp.text().await.unwrap();
    assert!(body.contains("<h1>Overview</h1>"));
    assert!(
        body.matches("<svg").count() >= 4,
        "DSO, curve, ageing and funnel charts: {body}"
    );
    assert!(body.contains(r#"id="outstanding">₹2,00,000.00<"#), "{body}");
    // the health page shows the messaging tier's use and the ledger table's syncs
    tagada_store::LedgerSyncStore::record_ledger_run(
        d.store.as_ref(),
        &tagada_store::LedgerRun {
            source: "sheets:1AbC/Ledger".into(),
            started_at: d.clock.now(),
            finished_at: d.clock.now(),
            outcome: "synced".into(),
            rows_read: 5000,
            conflicts: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // ... and each template's status at Meta, as a check or a webhook left it
    let (_, health) = d.get(&admin, "/health").await;
    assert!(health.contains(r#"id="template-status""#), "{health}");
    assert!(health.contains("never checked"), "{health}");
    let planner = PlannerConfig::default();
    let name = planner.templates[0].whatsapp_name.clone();
    let language = planner.templates[0].whatsapp_language.clone();
    tagada_store::TemplateStatusStore::save_template_statuses(
        d.store.as_ref(),
        &[tagada_store::TemplateStatus {
            name: name.clone(),
            language: language.clone(),
            status: "PAUSED".into(),
            category: Some("UTILITY".into()),
            detail: Some("FLAGGED: buyers blocked it".into()),
            source: "webhook".into(),
            updated_at: d.clock.now(),
        }],
    )
    .await
    .unwrap();
    let (_, health) = d.get(&admin, "/health").await;
    assert!(
        health.contains(&format!(r#"<td>{name}</td><td>{language}</td>"#)),
        "{health}"
    );
    assert!(
        health.contains(r#"<span class="badge paused">PAUSED</span>"#),
        "{health}"
    );
    assert!(health.contains("FLAGGED: buyers blocked it"), "{health}");
    assert!(health.contains("(Meta&#x27;s webhook)"), "{health}");
    assert!(health.contains(r#"id="ledger-runs""#), "{health}");
    // the overview above built the summary tables
    assert!(
        health.contains("days in Asia&#x2f;Kolkata, 0 change(s) waiting to be folded in"),
        "{health}"
    );
    assert!(
        health.contains("<td>sheets:1AbC&#x2f;Ledger</td>"),
        "{health}"
    );
    assert!(
        health.contains("0 of 250 distinct buyers reminded in the last 24 hours"),
        "{health}"
    );
    for id in [
        "nav-overview",
        "nav-invoices",
        "nav-buyers",
        "nav-inbox",
        "nav-templates",
        "nav-health",
        "logout",
    ] {
        assert!(body.contains(&format!(r#"id="{id}""#)), "{id}");
    }
    // the overdue invoices are planned for today
    assert!(body.contains(r#"<table id="planned">"#), "{body}");

    // a rep's figures are their own buyers'
    let meera = browser();
    d.login(&meera, "meera").await;
    let (_, body) = d.get(&meera, "/").await;
    assert!(body.contains(r#"id="outstanding">₹1,00,000.00<"#), "{body}");
    assert!(!body.contains("Globex"));

    // every page renders, for an admin and for a rep
    for b in [&admin, &meera] {
        for path in PAGES {
            let (status, body) = d.get(b, path).await;
            assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
            assert!(body.contains("<h1"), "{path}");
        }
    }
    let (_, body) = d.get(&admin, "/templates").await;
    assert!(body.contains("<svg"), "{body}");
    let (_, body) = d.get(&admin, "/buyers/1").await;
    assert!(body.contains(r#"id="buyer-segment">default<"#), "{body}");
    let (status, _) = d.get(&admin, "/?period=fortnight").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused() {
    let d = dash().await;
    let b = browser();
    let csrf = d.login(&b, "admin").await;
    let other = browser();
    let other_csrf = d.login(&other, "meera").await;
    for form in [
        vec![],
        vec![("csrf", "")],
        vec![("csrf", "not-the-token")],
        // another session's token is not this session's
        vec![("csrf", other_csrf.as_str())],
    ] {
        let resp = d.post(&b, "/invoices/INV-0/pause", &form).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{form:?}");
        let mut paid = form.clone();
        paid.push(("method", "upi"));
        let resp = d.post(&b, "/invoices/INV-0/mark-paid", &paid).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{form:?}");
        let mut bulk = form.clone();
        bulk.extend([("action", "pause"), ("ids", "INV-0")]);
        let resp = d.post(&b, "/invoices/bulk", &bulk).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{form:?}");
        let resp = d.post(&b, "/logout", &form).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{form:?}");
    }
    let inv = d.invoice("INV-0").await;
    assert!(!inv.paused);
    assert_eq!(inv.status, InvoiceStatus::Pending);
    assert!(d.store.list_payments(None).await.unwrap().is_empty());
    // still signed in
    assert_eq!(d.get(&b, "/").await.0, StatusCode::OK);

    // the page's own token works
    let (_, page) = d.get(&b, "/invoices/INV-0").await;
    assert!(page.contains(&format!(r#"name="csrf" value="{csrf}""#)));
    let resp = d
        .post(&b, "/invoices/INV-0/pause", &[("csrf", &csrf)])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/invoices/INV-0?done=paused");
    assert!(d.invoice("INV-0").await.paused);
    // a paused invoice is not reminded on request either: the reason shows
    let resp = d
        .post(&b, "/invoices/INV-0/send-now", &[("csrf", &csrf)])
        .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(resp.text().await.unwrap().contains("paused"));
    d.post(&b, "/invoices/INV-0/resume", &[("csrf", &csrf)])
        .await;
    let resp = d
        .post(&b, "/invoices/INV-0/send-now", &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&resp), "/invoices/INV-0?done=sent-now");
    let resp = d
        .post(&b, "/invoices/INV-0/send-now", &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&resp), "/invoices/INV-0?done=sent-already");
}

#[tokio::test]
async fn a_sales_rep_sees_only_their_own_buyers() {
    let d = dash().await;
    let b = browser();
    let csrf = d.login(&b, "meera").await;
    let (status, _) = d.get(&b, "/invoices/INV-1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = d.get(&b, "/buyers/2").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = d.get(&b, "/invoices").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"data-number="INV-0""#), "{body}");
    assert!(!body.contains("INV-1"), "{body}");
    assert!(!body.contains("Globex"));
    let (_, body) = d.get(&b, "/buyers").await;
    assert!(body.contains("Acme Traders") && !body.contains("Globex"));

    // nor can she act on another rep's invoice
    let resp = d
        .post(&b, "/invoices/INV-1/pause", &[("csrf", &csrf)])
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = d
        .post(
            &b,
            "/invoices/bulk",
            &[
                ("csrf", &csrf),
                ("action", "pause"),
                ("ids", "INV-0"),
                ("ids", "INV-1"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(!d.invoice("INV-1").await.paused);
    assert!(!d.invoice("INV-0").await.paused, "nothing changed");
    let (status, body) = d.get(&b, "/invoices/INV-0").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<h1>Invoice INV-0</h1>"));
}

#[tokio::test]
async fn marking_paid_cancels_the_pending_reminder_on_the_timeline() {
    let d = dash().await;
    let planner = PlannerConfig::default();
    plan_and_apply(d.store.as_ref(), &planner, d.clock.now())
        .await
        .unwrap();
    let inv = d.invoice("INV-0").await;
    let pending = d
        .store
        .list_messages(&OutboxFilter {
            invoice: Some(inv.id),
            statuses: vec![OutboxStatus::Pending],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(pending.len(), 1, "a reminder is queued for INV-0");

    let b = browser();
    let csrf = d.login(&b, "admin").await;
    // the overview before: both invoices owed, INV-0's reminder queued
    let outstanding = |page: &str| {
        page.split(r#"id="outstanding">"#)
            .nth(1)
            .and_then(|t| t.split('<').next())
            .expect("the outstanding figure")
            .to_string()
    };
    let planned = |page: &str| {
        page.split(r#"<table id="planned">"#)
            .nth(1)
            .and_then(|t| t.split("</table>").next())
            .unwrap_or_default()
            .to_string()
    };
    let (_, overview) = d.get(&b, "/").await;
    assert_eq!(outstanding(&overview), "₹2,00,000.00");
    assert!(planned(&overview).contains(">INV-0</a>"), "{overview}");
    let (_, page) = d.get(&b, "/invoices/INV-0").await;
    assert!(
        page.contains(r#"<form id="mark-paid" method="post" action="/invoices/INV-0/mark-paid""#)
    );
    assert!(page.contains(r#"data-status="pending""#), "{page}");
    assert!(page.contains("<blockquote>"), "the reminder's text: {page}");

    let resp = d
        .post(
            &b,
            "/invoices/INV-0/mark-paid",
            &[
                ("csrf", csrf.as_str()),
                ("amount", ""),
                ("method", "upi"),
                ("reference", "UTR-4471"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/invoices/INV-0?done=paid");

    let inv = d.invoice("INV-0").await;
    assert_eq!(inv.status, InvoiceStatus::Paid);
    assert_eq!(inv.amount_paid, inv.amount);
    let msg = d.store.get_message(pending[0].id).await.unwrap();
    assert_eq!(msg.status, OutboxStatus::Cancelled);

    let (_, page) = d.get(&b, "/invoices/INV-0?done=paid").await;
    assert!(page.contains(r#"id="invoice-status">paid<"#), "{page}");
    let timeline = &page[page.find(r#"<ol id="timeline""#).expect("the timeline")..];
    assert!(
        timeline.contains(r#"data-status="cancelled""#),
        "{timeline}"
    );
    assert!(
        timeline.contains(r#"data-kind="reminder_cancelled""#),
        "{timeline}"
    );
    assert!(timeline.contains(r#"data-kind="payment""#), "{timeline}");
    assert!(timeline.contains("UTR-4471"));
    assert!(page.contains("Payment recorded."));

    // the overview after: the payment folded into its figures at once, and
    // today's messages for INV-0 are the thank-you, not the reminder
    let (_, overview) = d.get(&b, "/").await;
    assert_eq!(outstanding(&overview), "₹1,00,000.00");
    let rows: Vec<String> = planned(&overview)
        .split("<tr>")
        .skip(2)
        .map(str::to_string)
        .collect();
    let inv0: Vec<&String> = rows.iter().filter(|r| r.contains(">INV-0</a>")).collect();
    assert_eq!(inv0.len(), 1, "{rows:?}");
    assert!(inv0[0].contains("payment_received"), "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.contains(">INV-1</a>") && r.contains("overdue")),
        "{rows:?}"
    );

    // the other buyer's reminder is untouched
    let other = d.invoice("INV-1").await;
    let left = d
        .store
        .list_messages(&OutboxFilter {
            invoice: Some(other.id),
            statuses: vec![OutboxStatus::Pending],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
}

#[tokio::test]
async fn bulk_pause_pauses_the_selected_invoices() {
    let d = dash().await;
    let b = browser();
    let csrf = d.login(&b, "admin").await;
    let (_, list) = d.get(&b, "/invoices").await;
    assert!(
        list.contains(r#"<form id="bulk" class="card" method="post" action="/invoices/bulk">"#)
    );
    assert!(list.contains(r#"name="ids" value="INV-0""#));
    let resp = d
        .post(
            &b,
            "/invoices/bulk",
            &[
                ("csrf", csrf.as_str()),
                ("action", "pause"),
                ("until", ""),
                ("ids", "INV-0"),
                ("ids", "INV-1"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = location(&resp);
    assert!(to.starts_with("/invoices?done=paused&n=2"), "{to}");
    assert!(d.invoice("INV-0").await.paused);
    assert!(d.invoice("INV-1").await.paused);
    let (_, list) = d.get(&b, &to).await;
    assert!(list.contains("2 invoice(s) paused."), "{list}");

    // and snooze until a date
    let resp = d
        .post(
            &b,
            "/invoices/bulk",
            &[
                ("csrf", csrf.as_str()),
                ("action", "snooze-until"),
                ("until", "2026-12-20"),
                ("ids", "INV-1"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        d.invoice("INV-1").await.snoozed_until,
        Some(date(2026, 12, 20))
    );
    // a bad date changes nothing
    let resp = d
        .post(
            &b,
            "/invoices/bulk",
            &[
                ("csrf", csrf.as_str()),
                ("action", "snooze-until"),
                ("until", "soon"),
                ("ids", "INV-0"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(d.invoice("INV-0").await.snoozed_until, None);
}

/// Stores a reply from a buyer's number that needs a person.
async fn reply_from(d: &Dash, phone: &str, text: &str) -> i64 {
    let parsed = Phone::parse(phone, &CountryCode::india()).unwrap();
    let digits = parsed.as_str().trim_start_matches('+').to_string();
    let entry = d
        .store
        .record_inbound(
            &NewInbound {
                event_key: format!("message:{text}"),
                raw: "{}".into(),
                message_id: format!("wamid.{text}"),
                from: digits.clone(),
                phone: Some(parsed),
                wa_id: Some(digits),
                profile_name: None,
                sent_at: t0(),
                kind: "text".into(),
                text: Some(text.into()),
                payload: None,
                context_provider_id: None,
                context_outbox: None,
            },
            t0(),
        )
        .await
        .unwrap()
        .unwrap();
    d.store
        .mark_inbound_handled(
            entry.id,
            &InboundHandling {
                intent: "talk_to_someone".into(),
                promise_date: None,
                action: "alerted the sales rep".into(),
                needs_attention: true,
            },
            t0(),
        )
        .await
        .unwrap();
    entry.id
}

#[tokio::test]
async fn the_inbox_lists_replies_to_resolve_and_admins_assign_reps() {
    let d = dash().await;
    let acme = reply_from(&d, "9850000000", "<b>call me</b> about INV-0").await;
    let globex = reply_from(&d, "9850000001", "who is this?").await;

    let meera = browser();
    let meera_csrf = d.login(&meera, "meera").await;
    let (status, body) = d.get(&meera, "/inbox").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(&format!(r#"id="reply-{acme}""#)), "{body}");
    assert!(!body.contains(&format!(r#"id="reply-{globex}""#)), "{body}");
    // the buyer's text is escaped
    assert!(body.contains("&lt;b&gt;call me&lt;"), "{body}");
    assert!(!body.contains("<b>call me"));
    // a rep neither resolves another rep's reply nor assigns reps
    let resp = d
        .post(
            &meera,
            &format!("/inbox/{globex}/resolve"),
            &[("csrf", &meera_csrf)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = d
        .post(
            &meera,
            &format!("/inbox/{acme}/assign"),
            &[("csrf", meera_csrf.as_str()), ("rep", "Meera")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let resp = d
        .post(
            &meera,
            &format!("/inbox/{acme}/resolve"),
            &[("csrf", &meera_csrf)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/inbox");
    let entry = d.store.get_inbox_entry(acme).await.unwrap();
    assert_eq!(entry.resolved_by.as_deref(), Some("meera"));
    let (_, body) = d.get(&meera, "/inbox").await;
    assert!(!body.contains(&format!(r#"id="reply-{acme}""#)));
    let (_, body) = d.get(&meera, "/inbox?all=1").await;
    assert!(body.contains(&format!(r#"id="reply-{acme}""#)));

    // an admin hands Globex to Meera
    let admin = browser();
    let csrf = d.login(&admin, "admin").await;
    let resp = d
        .post(
            &admin,
            &format!("/inbox/{globex}/assign"),
            &[("csrf", csrf.as_str()), ("rep", "Meera")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, body) = d.get(&meera, "/inbox").await;
    assert!(body.contains(&format!(r#"id="reply-{globex}""#)), "{body}");
    let (status, _) = d.get(&meera, "/invoices/INV-1").await;
    assert_eq!(status, StatusCode::OK, "Globex is Meera's now");
}

/// A day with more messages than the overview lists: the first 100 by
/// time are shown, each naming its invoice, and the rest are counted.
#[tokio::test]
async fn the_overview_lists_the_first_messages_and_counts_the_rest() {
    let d = dash().await;
    for i in 0..110 {
        let (buyer_id, _) = d
            .store
            .upsert_buyer(&NewBuyer {
                external_key: Some(format!("many{i}")),
                name: format!("Buyer {i} Agencies"),
                whatsapp: Some(
                    Phone::parse(&format!("97{:08}", 10_000_000 + i), &CountryCode::india())
                        .unwrap(),
                ),
                country: Some(CountryCode::india()),
                ..Default::default()
            })
            .await
            .unwrap();
        d.store
            .upsert_invoices(
                &[NewInvoice {
                    number: format!("MANY-{i:03}"),
                    buyer_id,
                    order_date: None,
                    invoice_date: date(2026, 10, 1),
                    due_date: date(2026, 11, 1),
                    credit_days: Some(31),
                    amount: Money::from_minor(10_000_00, Currency::INR),
                    amount_paid: Money::zero(Currency::INR),
                    status: InvoiceStatus::Pending,
                    source: "test".into(),
                    source_hash: format!("many{i}"),
                    notes: None,
                }],
                t0(),
            )
            .await
            .unwrap();
    }
    // half of them already queued, the rest only planned
    plan_and_apply(d.store.as_ref(), &PlannerConfig::default(), t0())
        .await
        .unwrap();
    let admin = browser();
    d.login(&admin, "admin").await;
    let (status, body) = d.get(&admin, "/").await;
    assert_eq!(status, StatusCode::OK);
    let table = body
        .split(r#"<table id="planned">"#)
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("the planned table");
    assert_eq!(
        table.matches("<tr>").count() - 1,
        100,
        "100 rows under the header"
    );
    assert!(table.contains(">MANY-000</a>"), "invoices named: {table}");
    assert!(
        (0..10).all(|d| !table.contains(&format!(">I{d}"))),
        "no invoice left as a bare id: {table}"
    );
    assert!(
        body.contains("The first 100 of 112 messages"),
        "{}",
        body.split(r#"id="planned-more""#).nth(1).unwrap_or(&body)
    );
}
