//! The crash test the WhatsApp issue asks for: `tagada run` is killed
//! (SIGKILL) at random points while it sends 2,000 reminders through the fake
//! Meta server, and restarted, 20 times; then `tagada send` runs to
//! completion. The fake must have accepted no reminder twice, and every
//! reminder must end `sent`, failed (`dead`) with its reason, or
//! `needs_review`.
//!
//! Every process runs with a frozen clock (`TAGADA_NOW`), each restart three
//! minutes after the last, past the 120 s lease: the restarted process
//! settles the leases of the one that was killed, a row whose send had not
//! started going back to pending, a row whose send had started to
//! `needs_review` (never resent). All runs fall on a Tuesday within the
//! buyers' business hours (10:00-18:00, Asia/Kolkata).
//!
//! The fake answers some requests slowly (so kills land during HTTP
//! requests), drops a few connections before or after accepting (answers
//! lost: `needs_review`), refuses a few recipients for good (`dead`) and
//! answers a few with retryable errors.
//!
//! The kill delays and the faults come from a seed, printed at the start;
//! `CRASH_TEST_SEED=<n>` replays them (where exactly a kill lands still
//! depends on the machine's timing).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use tagada_core::cadence::PlannerConfig;
use tagada_core::outbox::OutboxStatus;
use tagada_fakes::meta::{AcceptedMessage, FakeTemplate, Fault, MetaFake, MetaFakeConfig};
use tagada_store::{AttemptOutcome, OutboxFilter, OutboxMessage, OutboxStore};
use tagada_store_sqlite::SqliteStore;

const REMINDERS: usize = 2_000;
const KILLS: usize = 20;
/// Tuesday 22 December 2026, 09:00 in Kolkata: planning enqueues every
/// reminder for 10:00, when business hours open, and sends nothing yet.
const ENQUEUE_AT: &str = "2026-12-22T03:30:00Z";
/// 10:00 in Kolkata: the first dispatcher starts.
const FIRST_RUN_AT: &str = "2026-12-22T04:30:00Z";
/// Clock step between two processes: more than the lease.
const RESTART_STEP: SignedDuration = SignedDuration::from_secs(180);
const LEASE_SECS: i64 = 120;
/// Longest wait before killing a dispatcher (the shortest is zero: killed
/// while starting up).
const MAX_KILL_DELAY_MS: u64 = 500;
/// Bounds the final drain: each `send` leaves only the retries it scheduled.
const MAX_FINAL_RUNS: usize = 8;

/// SplitMix64: small, seedable, good enough to draw delays and faults.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn seed() -> u64 {
    match std::env::var("CRASH_TEST_SEED") {
        Ok(s) => s.trim().parse().expect("CRASH_TEST_SEED must be a u64"),
        // A fresh seed each run, without reading the wall clock.
        Err(_) => std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish(),
    }
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

/// One fault per coming send request; `Slow(0)` is a plain answer.
fn faults(rng: &mut Rng, n: usize) -> Vec<Fault> {
    (0..n)
        .map(|_| {
            let r = rng.unit();
            if r < 0.06 {
                Fault::Slow(Duration::from_millis(5 + rng.below(46)))
            } else if r < 0.075 {
                // Accepted, then the answer is lost.
                Fault::DropAfterRead
            } else if r < 0.08 {
                // Not accepted, and no answer either.
                Fault::DropBeforeAccept
            } else if r < 0.085 {
                Fault::Error {
                    http: 400,
                    code: 131026,
                    subcode: None,
                    message: "Message undeliverable".into(),
                }
            } else {
                Fault::Slow(Duration::ZERO)
            }
        })
        .collect()
}

/// 2,000 open invoices of 2,000 buyers, all due on the day of the test, in
/// Zoho Books' export format.
fn invoices_csv() -> String {
    let mut csv = String::from(
        "Invoice Date,Invoice ID,Invoice Number,Invoice Status,Customer ID,Customer Name,\
         Payment Terms,Payment Terms Label,Due Date,Currency Code,Exchange Rate,Total,Balance,\
         Sales person,Mobile,Email\n",
    );
    for i in 0..REMINDERS {
        let amount = 10_000 + i;
        writeln!(
            csv,
            "2026-11-22,47{i:08},CR-{i:05},Sent,46{i:08},Buyer {i:04},30,Net 30,2026-12-22,INR,1,\
             {amount}.00,{amount}.00,Rahul,+91 98{:08},",
            10_000_000 + i
        )
        .unwrap();
    }
    csv
}

fn config() -> String {
    format!(
        "[dispatch]\n\
         lease = {LEASE_SECS}\n\
         concurrency = {CONCURRENCY}\n\
         # Every retry is due again at the next restart.\n\
         backoff = [30, 60]\n\
         [whatsapp]\n\
         # The fake has no throughput limit: keep the test short.\n\
         messages_per_second = 1000\n"
    )
}

fn tagada(dir: &Path, fake: &MetaFake, now: Timestamp, args: &[&str], log: &str) -> Command {
    let log = std::fs::File::create(dir.join(log)).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tagada"));
    cmd.current_dir(dir)
        .args(args)
        .env("TAGADA_NOW", now.to_string())
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
        .env("TAGADA_WHATSAPP__ACCESS_TOKEN", &fake.config().access_token)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log);
    cmd
}

/// Runs a command to its end; its stdout as JSON (`--json`).
fn json_of(dir: &Path, mut cmd: Command, log: &str) -> serde_json::Value {
    let out = cmd.output().expect("run tagada");
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        std::fs::read_to_string(dir.join(log)).unwrap_or_default()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: String = stdout
        .lines()
        .skip_while(|l| !l.starts_with('{'))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn outbox_id(m: &AcceptedMessage) -> i64 {
    m.biz_opaque_callback_data
        .as_deref()
        .and_then(tagada_app::whatsapp::outbox_from_callback)
        .unwrap_or_else(|| panic!("accepted message without outbox callback data: {m:?}"))
}

fn counts(rt: &tokio::runtime::Runtime, store: &SqliteStore) -> BTreeMap<&'static str, u64> {
    rt.block_on(store.outbox_counts())
        .unwrap()
        .into_iter()
        .map(|(s, n)| (s.as_str(), n))
        .collect()
}

/// What one kill left behind, read from the database and the fake right after it.
#[derive(Debug)]
struct Kill {
    worker: String,
    delay_ms: u64,
    /// Rows the killed process (or an earlier one) left claimed.
    in_flight: HashSet<i64>,
    /// Of those, rows the fake had accepted just before the kill...
    accepted_before_kill: HashSet<i64>,
    /// ... and rows it accepted after (a request the killed process had sent).
    accepted_after_kill: HashSet<i64>,
    sent_total: u64,
}

/// Sends a worker has in flight at once (`[dispatch] concurrency`).
const CONCURRENCY: usize = 4;

/// Where a kill landed. `started`: the rows whose sends the killed worker had
/// begun (their leases were settled to `needs_review` in this worker's name).
fn phase(kill: &Kill, before: Option<&Kill>, started: &[i64]) -> &'static str {
    let same_as_before = before.map_or(kill.in_flight.is_empty() && kill.sent_total == 0, |b| {
        b.in_flight == kill.in_flight && b.sent_total == kill.sent_total
    });
    if started
        .iter()
        .any(|id| kill.accepted_before_kill.contains(id))
    {
        "after the fake accepted a send, before its result was recorded"
    } else if started
        .iter()
        .any(|id| kill.accepted_after_kill.contains(id))
    {
        "during a send (the fake accepted it after the kill)"
    } else if !started.is_empty() {
        "during a send (the fake never accepted it)"
    } else if same_as_before {
        "while starting, before its first claim"
    } else if kill.in_flight.is_empty() {
        "between two batches"
    } else {
        "in a batch, between two sends"
    }
}

#[test]
fn killed_twenty_times_while_sending_two_thousand_reminders_no_duplicate_and_none_lost() {
    let clock = Instant::now();
    let seed = seed();
    println!("crash test seed: {seed} (replay with CRASH_TEST_SEED={seed})");
    let mut rng = Rng(seed);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt
        .block_on(MetaFake::start(MetaFakeConfig {
            templates: registry(),
            seed,
            ..Default::default()
        }))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("tagada.toml"), config()).unwrap();
    std::fs::write(d.join("invoices.csv"), invoices_csv()).unwrap();

    let enqueue_at: Timestamp = ENQUEUE_AT.parse().unwrap();
    let first_run_at: Timestamp = FIRST_RUN_AT.parse().unwrap();
    let run_at = |k: usize| first_run_at + RESTART_STEP * i32::try_from(k).unwrap();
    // Each restart finds the last one's leases lapsed and its retries due
    // (the longest back-off, 60 s, plus 20% jitter).
    assert!(RESTART_STEP.as_secs() > LEASE_SECS && RESTART_STEP.as_secs() > 60 * 6 / 5);

    // 2,000 reminders in the outbox, none sent (09:00 is before business hours).
    let out = tagada(
        d,
        &fake,
        enqueue_at,
        &["import", "--quiet", "invoices.csv"],
        "import.log",
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let enqueued = json_of(
        d,
        tagada(d, &fake, enqueue_at, &["send", "--json"], "enqueue.log"),
        "enqueue.log",
    );
    assert_eq!(
        enqueued["applied"]["messages_enqueued"], REMINDERS as u64,
        "{enqueued}"
    );
    assert_eq!(enqueued["dispatch"]["claimed"], 0, "{enqueued}");
    assert!(fake.accepted().is_empty());

    let store = rt
        .block_on(SqliteStore::open(&d.join("tagada.db").to_string_lossy()))
        .unwrap();
    let rows = rt
        .block_on(store.list_messages(&OutboxFilter::default()))
        .unwrap();
    assert_eq!(rows.len(), REMINDERS);
    assert!(rows.iter().all(|m| m.status == OutboxStatus::Pending));
    assert!(
        rows.iter().all(|m| m.not_before <= first_run_at),
        "every reminder is due when the first dispatcher starts"
    );
    let phones: HashSet<&str> = rows.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(
        phones.len(),
        REMINDERS,
        "one buyer, one number, per reminder"
    );

    fake.set_transient_error_rate(0.02);
    fake.script(faults(&mut rng, 3 * REMINDERS));

    // Twenty dispatchers, each killed after a random delay.
    let mut kills = Vec::with_capacity(KILLS);
    for k in 0..KILLS {
        let log = format!("run-{k:02}.log");
        let worker = format!("crash-{k:02}");
        let mut child = tagada(
            d,
            &fake,
            run_at(k),
            &["run", "--no-plan", "--worker-id", &worker],
            &log,
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
        let delay_ms = rng.below(MAX_KILL_DELAY_MS + 1);
        std::thread::sleep(Duration::from_millis(delay_ms));
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "dispatcher {k} stopped by itself ({status}) before its kill:\n{}",
                std::fs::read_to_string(d.join(&log)).unwrap_or_default()
            );
        }
        let accepted_before_kill = fake.accepted().len();
        child.kill().unwrap();
        let status: ExitStatus = child.wait().unwrap();
        assert!(!status.success(), "dispatcher {k} was killed: {status}");

        let in_flight: HashSet<i64> = rt
            .block_on(store.list_messages(&OutboxFilter {
                statuses: vec![OutboxStatus::InFlight],
                ..Default::default()
            }))
            .unwrap()
            .iter()
            .map(|m| m.id.get())
            .collect();
        let accepted = fake.accepted();
        let before: HashSet<i64> = accepted[..accepted_before_kill]
            .iter()
            .map(outbox_id)
            .collect();
        let after: HashSet<i64> = accepted[accepted_before_kill..]
            .iter()
            .map(outbox_id)
            .collect();
        let c = counts(&rt, &store);
        kills.push(Kill {
            worker,
            delay_ms,
            accepted_before_kill: in_flight.intersection(&before).copied().collect(),
            accepted_after_kill: in_flight.intersection(&after).copied().collect(),
            in_flight,
            sent_total: c.get("sent").copied().unwrap_or(0),
        });
    }

    // Then one `send` to completion, again if it left retries for later.
    let mut final_runs = 0;
    let mut final_report = Vec::new();
    loop {
        assert!(
            final_runs < MAX_FINAL_RUNS,
            "still pending after {MAX_FINAL_RUNS} final runs: {:?}",
            counts(&rt, &store)
        );
        let log = format!("final-{final_runs}.log");
        let report = json_of(
            d,
            tagada(
                d,
                &fake,
                run_at(KILLS + final_runs),
                &["send", "--json"],
                &log,
            ),
            &log,
        );
        final_runs += 1;
        assert_eq!(
            report["applied"]["messages_enqueued"], 0,
            "re-planning enqueued more reminders: {report}"
        );
        final_report.push(report["dispatch"].clone());
        let c = counts(&rt, &store);
        if c.get("pending").copied().unwrap_or(0) == 0 {
            break;
        }
    }

    // What the database and the fake say.
    let rows: Vec<OutboxMessage> = rt
        .block_on(store.list_messages(&OutboxFilter::default()))
        .unwrap();
    // Rows in review, by the worker that recorded the review: the worker
    // that got no answer, or the killed worker whose lease was settled.
    let mut review_by: HashMap<String, HashSet<i64>> = HashMap::new();
    for m in rows
        .iter()
        .filter(|m| m.status == OutboxStatus::NeedsReview)
    {
        for a in rt.block_on(store.list_attempts(m.id)).unwrap() {
            if matches!(a.outcome, AttemptOutcome::NeedsReview { .. }) {
                review_by.entry(a.worker).or_default().insert(m.id.get());
            }
        }
    }
    // The sends each killed worker had under way: rows it left in flight
    // that went to review in its name (it could not record anything after
    // the kill, so those are the settled leases); never more than its
    // concurrency.
    let started: Vec<Vec<i64>> = kills
        .iter()
        .map(|kill| {
            let ids: Vec<i64> = kill
                .in_flight
                .iter()
                .filter(|id| review_by.get(&kill.worker).is_some_and(|r| r.contains(id)))
                .copied()
                .collect();
            assert!(
                ids.len() <= CONCURRENCY,
                "{} had {} sends under way",
                kill.worker,
                ids.len()
            );
            ids
        })
        .collect();
    rt.block_on(store.close());
    let accepted = fake.accepted();
    let requests = fake.requests();
    rt.block_on(fake.shutdown());
    assert_eq!(rows.len(), REMINDERS, "no reminder was added or lost");
    let by_id: HashMap<i64, &OutboxMessage> = rows.iter().map(|m| (m.id.get(), m)).collect();

    // (1) No reminder accepted twice, no buyer reminded twice.
    let mut seen_ids = HashMap::new();
    let mut seen_to = HashMap::new();
    for m in &accepted {
        let id = outbox_id(m);
        if let Some(first) = seen_ids.insert(id, &m.wamid) {
            panic!("outbox {id} was accepted twice: {first} and {}", m.wamid);
        }
        if let Some(first) = seen_to.insert(m.to.clone(), id) {
            panic!("{} got two reminders: outbox {first} and {id}", m.to);
        }
        let row = by_id
            .get(&id)
            .unwrap_or_else(|| panic!("accepted outbox {id} is not in the database"));
        assert_eq!(
            row.to.as_str().trim_start_matches('+'),
            m.to,
            "outbox {id} went to its buyer"
        );
    }

    // (2) Every reminder ended sent, failed with a reason, or needs review.
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &rows {
        *by_status.entry(m.status.as_str()).or_default() += 1;
        match m.status {
            OutboxStatus::Sent => {}
            OutboxStatus::Dead | OutboxStatus::NeedsReview => assert!(
                m.last_error
                    .as_deref()
                    .is_some_and(|e| !e.trim().is_empty()),
                "outbox {} is {} without a reason",
                m.id.get(),
                m.status.as_str()
            ),
            other => panic!(
                "outbox {} ended {} (attempts {}, last error {:?})",
                m.id.get(),
                other.as_str(),
                m.attempts,
                m.last_error
            ),
        }
    }

    // (3) The database agrees with the fake: a row the fake accepted is sent
    // under the fake's message id, or waits for review (its answer was lost);
    // a sent row was accepted.
    let wamid_of: HashMap<i64, &str> = accepted
        .iter()
        .map(|m| (outbox_id(m), m.wamid.as_str()))
        .collect();
    for m in &rows {
        let id = m.id.get();
        match (m.status, wamid_of.get(&id)) {
            (OutboxStatus::Sent, Some(wamid)) => assert_eq!(
                m.provider_id.as_deref(),
                Some(*wamid),
                "outbox {id} is sent under another message id"
            ),
            (OutboxStatus::Sent, None) => panic!("outbox {id} is sent but the fake never got it"),
            (OutboxStatus::NeedsReview, _) | (_, None) => {}
            (status, Some(wamid)) => panic!(
                "the fake accepted outbox {id} ({wamid}) but it is {}",
                status.as_str()
            ),
        }
    }

    // (4) The figures.
    let count = |s: OutboxStatus| by_status.get(s.as_str()).copied().unwrap_or(0);
    let review_after_kill: usize = started.iter().map(Vec::len).sum();
    let review_accepted = rows
        .iter()
        .filter(|m| m.status == OutboxStatus::NeedsReview && wamid_of.contains_key(&m.id.get()))
        .count();
    let mut phases: BTreeMap<&str, usize> = BTreeMap::new();
    for (k, kill) in kills.iter().enumerate() {
        let phase = phase(kill, k.checked_sub(1).map(|p| &kills[p]), &started[k]);
        *phases.entry(phase).or_default() += 1;
        println!(
            "kill {:2} after {:3} ms: {:4} sent so far, {:2} left in flight - {phase}",
            k + 1,
            kill.delay_ms,
            kill.sent_total,
            kill.in_flight.len(),
        );
    }
    println!("kills by phase: {phases:?}");
    for (i, r) in final_report.iter().enumerate() {
        println!("final run {}: {r}", i + 1);
    }
    println!(
        "crash test (seed {seed}): {KILLS} kills, {final_runs} final run(s); {} reminders: {} sent, \
         {} needs review ({} after a kill, {} accepted by the fake), {} dead; the fake saw {requests} \
         send requests and accepted {} messages; {:.1} s",
        rows.len(),
        count(OutboxStatus::Sent),
        count(OutboxStatus::NeedsReview),
        review_after_kill,
        review_accepted,
        count(OutboxStatus::Dead),
        accepted.len(),
        clock.elapsed().as_secs_f64()
    );
    assert_eq!(
        count(OutboxStatus::Sent) + count(OutboxStatus::NeedsReview) + count(OutboxStatus::Dead),
        REMINDERS
    );
    assert!(
        kills.iter().any(|k| !k.in_flight.is_empty()),
        "no kill landed in the middle of a batch: the delays need tuning"
    );
}
