//! Lead sync against the IndiaMART and TradeIndia fakes over real HTTP:
//! every contract sample maps to the expected buyer and notes; a sync cut
//! off at any point and restarted ingests every lead once; the call budget
//! holds however often the sync is started; a refused key stops its source
//! only; malformed answers are recorded and retried without losing the
//! cursor.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use jiff::{SignedDuration, Timestamp};
use secrecy::SecretString;
use tagada_app::clock::SimClock;
use tagada_app::leads::{
    IndiaMartApi, SyncOptions, SyncState, TradeIndiaApi, indiamart_lead, start_backfill, sync_step,
    tradeindia_lead,
};
use tagada_core::clock::Clock;
use tagada_core::{CountryCode, Phone};
use tagada_fakes::indiamart::{ImFault, IndiaMartFake, IndiaMartFakeConfig};
use tagada_fakes::tradeindia::{TiFault, TradeIndiaFake, TradeIndiaFakeConfig};
use tagada_sources::indiamart::{PullClient, PullConfig, Verdict, parse_pull_response, parse_push};
use tagada_sources::tradeindia::{self, InquiryClient, InquiryConfig};
use tagada_store::{
    INDIAMART, ImportStore, LeadFilter, LeadOutcome, LeadStore, LedgerStore, Migrate, TRADEINDIA,
};
use tagada_store_sqlite::SqliteStore;

async fn store() -> SqliteStore {
    let s = SqliteStore::open_in_memory().await.unwrap();
    s.migrate().await.unwrap();
    s
}

fn phone(s: &str) -> Phone {
    Phone::parse(s, &CountryCode::india()).unwrap()
}

async fn notes_of(store: &SqliteStore, buyer: tagada_core::BuyerId) -> Vec<String> {
    store
        .list_notes(buyer)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.text)
        .collect()
}

fn buyer_of(o: &LeadOutcome) -> tagada_core::BuyerId {
    match o {
        LeadOutcome::NewBuyer { buyer } | LeadOutcome::Matched { buyer, .. } => *buyer,
        other => panic!("no buyer: {other:?}"),
    }
}

#[tokio::test]
async fn every_contract_sample_maps_to_its_buyer_and_notes() {
    let store = store().await;
    let now: Timestamp = "2024-01-04T00:00:00Z".parse().unwrap();

    // IndiaMART pull: a web enquiry, a phone call and a buy-lead.
    let body = include_str!("../../../contracts/indiamart/pull_v2_success.json");
    let Verdict::Leads { leads, .. } = parse_pull_response(200, body.as_bytes()).unwrap() else {
        panic!("the sample is a success");
    };
    let new: Vec<_> = leads.iter().map(|l| indiamart_lead(l).unwrap()).collect();
    let out = store.record_leads(&new, now).await.unwrap();
    assert!(
        out.iter()
            .all(|o| matches!(o, LeadOutcome::NewBuyer { .. })),
        "{out:?}"
    );
    let one = store.get_buyer(buyer_of(&out[0])).await.unwrap();
    assert_eq!(one.name, "Test Buyer One");
    assert_eq!(one.company.as_deref(), Some("Example Traders"));
    assert_eq!(one.whatsapp, Some(phone("+919000000001")));
    assert_eq!(one.email.as_deref(), Some("buyer.one@example.com"));
    assert_eq!(one.country, Some(CountryCode::india()));
    assert_eq!(one.consent, None);
    let notes = notes_of(&store, one.id).await;
    assert_eq!(
        notes,
        [
            "IndiaMART lead 2900000001: asked about 1 hp Test Submersible Pump",
            "IndiaMART lead 2900000001: I want to buy 1 hp Test Submersible Pump.\n\nKindly send me price and other details.\nQuantity : 2\nQuantity Unit : piece\nProbable Order Value : Rs. 10,000 to 20,000\nProbable Requirement Type : Business Use\nPreferred Location: Suppliers from Local Area will be Preferred",
            "IndiaMART lead 2900000001: quantity: 2 piece",
            "IndiaMART lead 2900000001: probable order value: Rs. 10,000 to 20,000",
            "IndiaMART lead 2900000001: requirement: Business Use",
        ]
        .map(String::from),
        "{notes:#?}"
    );
    let caller = store.get_buyer(buyer_of(&out[1])).await.unwrap();
    assert_eq!(caller.name, "Test Caller Two");
    assert_eq!(caller.email, None, "a blank e-mail is absent");
    assert_eq!(
        notes_of(&store, caller.id).await,
        [
            "IndiaMART lead 150000002: called about Buyer Call",
            "IndiaMART lead 150000002: phone call of 105 s",
        ]
        .map(String::from)
    );

    // IndiaMART push: the same pipeline; a lead pulled before is not stored twice.
    let pushed = parse_push(include_bytes!(
        "../../../contracts/indiamart/push_payload.json"
    ))
    .unwrap();
    let pushed: Vec<_> = pushed.iter().map(|l| indiamart_lead(l).unwrap()).collect();
    let first = store.record_leads(&pushed, now).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        !matches!(first[0], LeadOutcome::Skipped { .. }),
        "{first:?}"
    );
    assert_eq!(
        store.record_leads(&pushed, now).await.unwrap(),
        vec![LeadOutcome::Duplicate]
    );

    // TradeIndia: the masked e-mail is absent, the number in the message is used.
    let body = include_str!("../../../contracts/tradeindia/my_inquiry_success.json");
    let tradeindia::Verdict::Inquiries(list) =
        tradeindia::parse_inquiry_response(200, body.as_bytes()).unwrap()
    else {
        panic!("the sample is a success");
    };
    let new: Vec<_> = list.iter().map(|i| tradeindia_lead(i).unwrap()).collect();
    let out = store.record_leads(&new, now).await.unwrap();
    assert_eq!(out.len(), list.len());
    for (i, o) in list.iter().zip(&out) {
        let b = store.get_buyer(buyer_of(o)).await.unwrap();
        assert_eq!(b.whatsapp, i.mobile, "{:?}", i.rfi_id);
        assert!(
            b.email.as_deref().is_none_or(|e| !e.contains("noreply")),
            "{b:?}"
        );
        let notes = notes_of(&store, b.id).await;
        assert!(
            notes.iter().any(
                |n| n.starts_with(&format!("TradeIndia lead {}", i.rfi_id.as_deref().unwrap()))
            ),
            "{notes:?}"
        );
    }
    let masked = list.iter().position(|i| i.is_phone_inquiry()).unwrap();
    let b = store.get_buyer(buyer_of(&out[masked])).await.unwrap();
    assert_eq!(b.email, None);
    assert!(b.whatsapp.is_some(), "the number from the message");
}

/// Polls a future at most `polls` times, then drops it: a process killed at
/// an arbitrary point (its open transaction rolls back).
struct CutOff<F: Future> {
    fut: Pin<Box<F>>,
    polls: u32,
}

impl<F: Future> Future for CutOff<F> {
    type Output = Option<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.polls == 0 {
            return Poll::Ready(None);
        }
        self.polls -= 1;
        self.fut.as_mut().poll(cx).map(Some)
    }
}

fn indiamart_api(fake: &IndiaMartFake, key: &str) -> IndiaMartApi {
    IndiaMartApi::new(
        PullClient::new(PullConfig::with_base_url(
            fake.base_url(),
            SecretString::from(key.to_string()),
        ))
        .unwrap(),
    )
}

fn tradeindia_api(fake: &TradeIndiaFake) -> TradeIndiaApi {
    let c = fake.config();
    TradeIndiaApi::new(
        InquiryClient::new(InquiryConfig::new(
            fake.base_url(),
            c.user_id.clone(),
            c.profile_id.clone(),
            SecretString::from(c.key.clone()),
        ))
        .unwrap(),
        SignedDuration::from_mins(5),
    )
}

/// Moves tagada's clock and the fakes' together.
fn advance(clock: &SimClock, fakes: &[&dyn Fn(Timestamp)], by: SignedDuration) {
    let to = clock.now().checked_add(by).unwrap();
    clock.set(to);
    for f in fakes {
        f(to);
    }
}

#[tokio::test]
async fn a_sync_cut_off_anywhere_and_restarted_ingests_every_lead_once() {
    // A file, as in use: a connection dropped mid-transaction is replaced
    // by a new one on the same database.
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("leads.db").display().to_string())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let fake_cfg = IndiaMartFakeConfig {
        leads: 120,
        ..Default::default()
    };
    let start = fake_cfg.leads_to;
    let fake = IndiaMartFake::start(fake_cfg.clone()).await.unwrap();
    let api = indiamart_api(&fake, &fake_cfg.key);
    let clock = SimClock::new(start);
    let set_fake = |t: Timestamp| fake.set_clock(t);
    // Walk back 120 days (the fake's leads span the last 30).
    start_backfill(&store, &api, 120, start).await.unwrap();
    let opts = SyncOptions::default();
    let mut seed: u64 = 0x5eed;
    let mut cut = 0;
    for _ in 0..2_000 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let polls = (seed >> 33) % 40;
        let step = sync_step(&store, &api, &clock, &opts);
        if polls < 25 {
            let run = CutOff {
                fut: Box::pin(step),
                polls: polls as u32 + 1,
            };
            if run.await.is_none() {
                cut += 1;
            }
        } else {
            step.await.unwrap();
        }
        // Restarted a random while later (sometimes before the 5 minutes).
        let wait = SignedDuration::from_secs(60 + ((seed >> 20) % 420) as i64);
        advance(&clock, &[&set_fake], wait);
        let caught_up = store
            .lead_source(INDIAMART)
            .await
            .unwrap()
            .cursor
            .is_some_and(|c| {
                c >= clock
                    .now()
                    .checked_sub(SignedDuration::from_mins(8))
                    .unwrap()
            });
        // Caught up, and cut off often enough to have hit every kind of point.
        if caught_up && cut >= 12 {
            break;
        }
    }
    assert!(cut >= 12, "the test should cut runs off ({cut})");
    // Then to the end, uninterrupted.
    for _ in 0..20 {
        let _ = sync_step(&store, &api, &clock, &opts).await.unwrap();
        advance(&clock, &[&set_fake], SignedDuration::from_mins(5));
    }

    let expected: BTreeSet<String> = fake
        .leads()
        .into_iter()
        .map(|l| l.unique_query_id)
        .collect();
    let stored = store
        .list_leads(&LeadFilter {
            source: Some(INDIAMART.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: Vec<String> = stored.iter().map(|l| l.external_id.clone()).collect();
    let unique: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(ids.len(), unique.len(), "a lead stored twice");
    assert_eq!(unique, expected, "every lead once");
    // Every lead's notes are written once: a buyer's notes never repeat.
    for l in &stored {
        if let Some(b) = l.buyer_id {
            let notes = notes_of(&store, b).await;
            let distinct: BTreeSet<&String> = notes.iter().collect();
            assert_eq!(distinct.len(), notes.len(), "{notes:#?}");
        }
    }
    // The fake never had to refuse a call for the 5-minute rule.
    let calls = fake.calls();
    assert!(calls.iter().all(|c| c.code != Some(429)), "{calls:#?}");
    for pair in calls.windows(2) {
        assert!(
            pair[1].at.duration_since(pair[0].at) >= SignedDuration::from_mins(5),
            "{pair:#?}"
        );
    }
    fake.shutdown().await;
}

#[tokio::test]
async fn starting_the_sync_over_and_over_never_exceeds_the_budget() {
    let store = std::sync::Arc::new(store().await);
    let fake_cfg = IndiaMartFakeConfig::default();
    let fake = IndiaMartFake::start(fake_cfg.clone()).await.unwrap();
    let api = std::sync::Arc::new(indiamart_api(&fake, &fake_cfg.key));
    let clock = SimClock::new(fake_cfg.leads_to);
    let opts = SyncOptions::default();
    for round in 0..6 {
        // Eight processes started at once, twice in the same minute.
        for _ in 0..2 {
            let mut tasks = Vec::new();
            for _ in 0..8 {
                let (store, api, clock) = (store.clone(), api.clone(), clock.clone());
                tasks.push(tokio::spawn(async move {
                    sync_step(store.as_ref(), api.as_ref(), &clock, &opts)
                        .await
                        .unwrap()
                        .0
                }));
            }
            let mut called = 0;
            for t in tasks {
                if t.await.unwrap() == SyncState::Called {
                    called += 1;
                }
            }
            assert!(called <= 1, "round {round}: {called} calls at once");
            clock.set(
                clock
                    .now()
                    .checked_add(SignedDuration::from_secs(30))
                    .unwrap(),
            );
            fake.set_clock(clock.now());
        }
        clock.set(
            clock
                .now()
                .checked_add(SignedDuration::from_mins(4))
                .unwrap(),
        );
        fake.set_clock(clock.now());
    }
    let calls = fake.calls();
    assert_eq!(calls.len(), 6, "one call per 5 minutes: {calls:#?}");
    assert!(calls.iter().all(|c| c.code != Some(429)));
    fake.shutdown().await;
}

#[tokio::test]
async fn a_refused_key_stops_its_source_and_the_other_keeps_working() {
    let store = store().await;
    let im_cfg = IndiaMartFakeConfig::default();
    let im = IndiaMartFake::start(im_cfg.clone()).await.unwrap();
    let ti_cfg = TradeIndiaFakeConfig {
        clock: tagada_fakes::marketplace::FakeClock::Frozen(im_cfg.leads_to),
        inquiries_from: im_cfg
            .leads_to
            .checked_sub(SignedDuration::from_hours(20))
            .unwrap(),
        inquiries_to: im_cfg.leads_to,
        ..Default::default()
    };
    let ti = TradeIndiaFake::start(ti_cfg).await.unwrap();
    let wrong_key = indiamart_api(&im, "not-the-key");
    let trade = tradeindia_api(&ti);
    let clock = SimClock::new(im_cfg.leads_to);
    let opts = SyncOptions::default();

    let (state, report) = sync_step(&store, &wrong_key, &clock, &opts).await.unwrap();
    let SyncState::Stopped { reason } = state else {
        panic!("{state:?}");
    };
    assert!(reason.contains("refused the key"), "{reason}");
    assert_eq!(report.alert.as_deref(), Some(reason.as_str()));
    let (state, report) = sync_step(&store, &trade, &clock, &opts).await.unwrap();
    assert_eq!(state, SyncState::Called);
    assert!(report.leads_new > 0, "{report:?}");
    // Later: IndiaMART stays stopped (no call reaches the fake), TradeIndia goes on.
    clock.set(
        clock
            .now()
            .checked_add(SignedDuration::from_hours(2))
            .unwrap(),
    );
    let calls_before = im.call_count();
    let (state, _) = sync_step(&store, &wrong_key, &clock, &opts).await.unwrap();
    assert!(matches!(state, SyncState::Stopped { .. }));
    assert_eq!(im.call_count(), calls_before);
    assert_eq!(
        sync_step(&store, &trade, &clock, &opts).await.unwrap().0,
        SyncState::Called
    );
    // Resumed with the right key: it syncs again.
    tagada_app::leads::resume(&store, INDIAMART, clock.now())
        .await
        .unwrap();
    let right_key = indiamart_api(&im, &im_cfg.key);
    im.set_clock(clock.now());
    assert_eq!(
        sync_step(&store, &right_key, &clock, &opts)
            .await
            .unwrap()
            .0,
        SyncState::Called
    );
    let runs = store.list_sync_runs(Some(INDIAMART), 10).await.unwrap();
    assert_eq!(runs.last().unwrap().run.outcome, "stopped");
    assert!(
        store
            .list_sync_runs(Some(TRADEINDIA), 10)
            .await
            .unwrap()
            .len()
            >= 2
    );
    im.shutdown().await;
    ti.shutdown().await;
}

#[tokio::test]
async fn malformed_answers_are_recorded_and_retried_without_losing_the_cursor() {
    let store = store().await;
    let im_cfg = IndiaMartFakeConfig::default();
    let im = IndiaMartFake::start(im_cfg.clone()).await.unwrap();
    let api = indiamart_api(&im, &im_cfg.key);
    let clock = SimClock::new(im_cfg.leads_to);
    let opts = SyncOptions::default();
    let set_fake = |t: Timestamp| im.set_clock(t);

    start_backfill(&store, &api, 10, clock.now()).await.unwrap();
    let before = store.lead_source(INDIAMART).await.unwrap().cursor;
    im.script([
        ImFault::MalformedJson,
        ImFault::ServerError,
        ImFault::HttpError(502),
    ]);
    for _ in 0..3 {
        let (state, report) = sync_step(&store, &api, &clock, &opts).await.unwrap();
        assert_eq!(state, SyncState::Called);
        assert!(report.error.is_some(), "{report:?}");
        assert_eq!(store.lead_source(INDIAMART).await.unwrap().cursor, before);
        advance(&clock, &[&set_fake], SignedDuration::from_mins(5));
    }
    let runs = store.list_sync_runs(Some(INDIAMART), 10).await.unwrap();
    assert_eq!(runs.len(), 3);
    assert!(
        runs.iter()
            .all(|r| r.run.outcome == "failed" && r.run.error.is_some())
    );
    // The next call takes the same window and moves on.
    let (_, report) = sync_step(&store, &api, &clock, &opts).await.unwrap();
    assert!(report.error.is_none(), "{report:?}");
    assert!(store.lead_source(INDIAMART).await.unwrap().cursor > before);

    // A rate-limit answer blocks the source for 15 minutes.
    advance(&clock, &[&set_fake], SignedDuration::from_mins(5));
    im.script([ImFault::RateLimited]);
    sync_step(&store, &api, &clock, &opts).await.unwrap();
    advance(&clock, &[&set_fake], SignedDuration::from_mins(5));
    let (state, _) = sync_step(&store, &api, &clock, &opts).await.unwrap();
    assert!(matches!(state, SyncState::Waiting { .. }), "{state:?}");

    // TradeIndia: a malformed page, then the range again.
    let ti = TradeIndiaFake::start(TradeIndiaFakeConfig::default())
        .await
        .unwrap();
    let trade = tradeindia_api(&ti);
    let tclock = SimClock::new(ti.config().inquiries_to);
    ti.script([TiFault::MalformedJson]);
    let (_, report) = sync_step(&store, &trade, &tclock, &opts).await.unwrap();
    assert!(report.error.is_some());
    assert_eq!(store.lead_source(TRADEINDIA).await.unwrap().cursor, None);
    tclock.set(
        tclock
            .now()
            .checked_add(SignedDuration::from_mins(5))
            .unwrap(),
    );
    let (_, report) = sync_step(&store, &trade, &tclock, &opts).await.unwrap();
    assert!(report.error.is_none(), "{report:?}");
    assert!(
        store
            .lead_source(TRADEINDIA)
            .await
            .unwrap()
            .cursor
            .is_some()
    );
    im.shutdown().await;
    ti.shutdown().await;
}

/// An import row that names a lead goes to that lead's buyer (its name
/// columns create no buyer); a row naming an unknown lead is rejected with
/// its line and column; the other rows go through.
#[tokio::test]
async fn an_import_row_naming_a_lead_goes_to_its_buyer() {
    import_naming_a_lead(tagada_app::config::ImportConfig::default().batch_size).await;
    // One row per batch: the lead's buyer is then looked up for a batch of
    // its own, the unknown lead rejected in the next, and the new buyer
    // stored with the third.
    import_naming_a_lead(1).await;
}

async fn import_naming_a_lead(batch_size: usize) {
    use tagada_app::config::ImportConfig;
    use tagada_app::import::import_file;
    let store = store().await;
    let now: Timestamp = "2026-12-01T06:00:00Z".parse().unwrap();
    let lead = tagada_store::NewLead {
        source: INDIAMART.into(),
        external_id: "2900000777".into(),
        name: Some("Meera Textiles".into()),
        phone: Some(phone("+919000000777")),
        notes: vec!["asked about cotton yarn".into()],
        raw: "{}".into(),
        ..Default::default()
    };
    let out = store.record_leads(&[lead], now).await.unwrap();
    let buyer = buyer_of(&out[0]);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("orders.csv");
    std::fs::write(
        &csv,
        "Invoice No,Party Name,Amount,Due Date,IndiaMART Lead ID\n\
         L-1,Meera Textiles Pvt Ltd,\"₹42,000\",15-12-2026,indiamart:2900000777\n\
         L-2,Somebody,\"₹1,000\",15-12-2026,indiamart:404\n\
         L-3,Regular Buyer,\"₹5,000\",15-12-2026,\n",
    )
    .unwrap();
    let cfg = ImportConfig {
        rejects_dir: Some(dir.path().to_path_buf()),
        batch_size,
        ..Default::default()
    };
    let report = import_file(&store, &csv, &cfg, now, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(report.invoices_created, 2, "{report:?}");
    assert_eq!(report.rejected, 1, "{report:?}");
    let l1 = store.find_invoice("L-1").await.unwrap().unwrap();
    assert_eq!(l1.buyer_id, buyer);
    assert!(store.find_invoice("L-2").await.unwrap().is_none());
    let rejects = store.list_rejects(None).await.unwrap();
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].line, 3);
    assert_eq!(rejects[0].column.as_deref(), Some("IndiaMART Lead ID"));
    assert!(rejects[0].reason.contains("no lead"), "{:?}", rejects[0]);
    // No buyer was made from the lead row's name.
    let names: Vec<String> = store
        .list_buyers(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert!(!names.iter().any(|n| n.contains("Pvt")), "{names:?}");
    assert!(names.contains(&"Regular Buyer".to_string()), "{names:?}");
}
