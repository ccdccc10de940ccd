//! The IndiaMART and TradeIndia clients against the loopback fakes, over
//! real HTTP. Time is the fakes' frozen clock, moved by the tests.

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use secrecy::SecretString;
use tagada_fakes::indiamart::{ImFault, IndiaMartFake, IndiaMartFakeConfig};
use tagada_fakes::tradeindia::{TiFault, TradeIndiaFake, TradeIndiaFakeConfig};
use tagada_sources::indiamart::{
    self, NextStep, PullClient, PullConfig, PullError, Verdict, Window, split_windows,
};
use tagada_sources::tradeindia::{self, InquiryClient, InquiryConfig, InquiryError};

fn im_client(fake: &IndiaMartFake, key: &str) -> PullClient {
    PullClient::new(PullConfig::with_base_url(
        fake.base_url(),
        SecretString::from(key.to_owned()),
    ))
    .unwrap()
}

fn last_week(fake: &IndiaMartFake) -> Window {
    let end = fake.now();
    Window {
        start: end - SignedDuration::from_hours(7 * 24),
        end,
    }
}

#[tokio::test]
async fn indiamart_pull_returns_the_window_leads() {
    let fake = IndiaMartFake::start(IndiaMartFakeConfig::default())
        .await
        .unwrap();
    let client = im_client(&fake, &fake.config().key);
    let window = last_week(&fake);

    let verdict = client.pull(window).await.unwrap();
    assert_eq!(verdict.next_step(), NextStep::Ingest);
    let Verdict::Leads {
        leads,
        total_records,
    } = verdict
    else {
        panic!("expected leads, got {verdict:?}");
    };
    let expected: Vec<String> = fake
        .leads()
        .into_iter()
        .filter(|l| l.received_at >= window.start && l.received_at <= window.end)
        .map(|l| l.unique_query_id)
        .collect();
    assert!(!expected.is_empty());
    let got: Vec<String> = leads
        .iter()
        .map(|l| l.unique_query_id.clone().unwrap())
        .collect();
    assert_eq!(got, expected);
    assert_eq!(total_records, Some(expected.len() as u64));
    assert!(leads.iter().all(|l| l.query_time.is_some()));

    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    let (start, end) = window.request_times();
    assert_eq!(calls[0].start_time.as_deref(), Some(start.as_str()));
    assert_eq!(calls[0].end_time.as_deref(), Some(end.as_str()));
    assert_eq!(calls[0].code, Some(200));
    fake.shutdown().await;
}

#[tokio::test]
async fn indiamart_empty_window_is_204_and_advances() {
    let fake = IndiaMartFake::start(IndiaMartFakeConfig::default())
        .await
        .unwrap();
    let client = im_client(&fake, &fake.config().key);
    let end = fake.config().leads_from - SignedDuration::from_hours(1);
    let window = Window {
        start: end - SignedDuration::from_hours(24),
        end,
    };
    let verdict = client.pull(window).await.unwrap();
    assert!(matches!(verdict, Verdict::NoLeads { .. }), "{verdict:?}");
    assert_eq!(verdict.next_step(), NextStep::Advance);
    assert_eq!(fake.calls()[0].code, Some(204));
}

#[tokio::test]
async fn indiamart_wrong_key_is_401_and_stops() {
    let fake = IndiaMartFake::start(IndiaMartFakeConfig::default())
        .await
        .unwrap();
    let client = im_client(&fake, "not-the-key");
    let verdict = client.pull(last_week(&fake)).await.unwrap();
    assert!(matches!(verdict, Verdict::InvalidKey { .. }), "{verdict:?}");
    assert_eq!(verdict.next_step(), NextStep::Stop);
    assert!(!fake.calls()[0].key_ok);
}

#[tokio::test]
async fn indiamart_five_minute_rule_then_fifteen_minute_block() {
    let fake = IndiaMartFake::start(IndiaMartFakeConfig::default())
        .await
        .unwrap();
    let client = im_client(&fake, &fake.config().key);
    let window = last_week(&fake);

    assert!(matches!(
        client.pull(window).await.unwrap(),
        Verdict::Leads { .. }
    ));
    // Again one minute later: the 5-minute rule.
    fake.advance_clock(Duration::from_secs(60));
    let v = client.pull(window).await.unwrap();
    let Verdict::RateLimited { message } = &v else {
        panic!("{v:?}")
    };
    assert!(message.contains("once in every 5 minutes"));
    assert_eq!(
        v.next_step(),
        NextStep::RetryAfter(indiamart::RATE_LIMIT_BACKOFF)
    );

    // A burst: two more refusals block the key for 15 minutes.
    assert!(matches!(
        client.pull(window).await.unwrap(),
        Verdict::RateLimited { .. }
    ));
    assert!(matches!(
        client.pull(window).await.unwrap(),
        Verdict::RateLimited { .. }
    ));
    fake.advance_clock(Duration::from_secs(6 * 60));
    assert!(
        matches!(
            client.pull(window).await.unwrap(),
            Verdict::RateLimited { .. }
        ),
        "still blocked 6 minutes after the burst"
    );
    fake.advance_clock(Duration::from_secs(10 * 60));
    assert!(matches!(
        client.pull(window).await.unwrap(),
        Verdict::Leads { .. }
    ));

    let codes: Vec<Option<i64>> = fake.calls().iter().map(|c| c.code).collect();
    assert_eq!(
        codes,
        vec![
            Some(200),
            Some(429),
            Some(429),
            Some(429),
            Some(429),
            Some(200)
        ]
    );
}

#[tokio::test]
async fn indiamart_malformed_json_500_and_proxy_errors() {
    let fake = IndiaMartFake::start(IndiaMartFakeConfig::default())
        .await
        .unwrap();
    let key = fake.config().key.clone();
    let client = im_client(&fake, &key);
    fake.script([
        ImFault::MalformedJson,
        ImFault::ServerError,
        ImFault::HttpError(502),
        ImFault::Slow(Duration::from_millis(20)),
    ]);
    let window = last_week(&fake);

    match client.pull(window).await {
        Err(PullError::Malformed {
            http_status, body, ..
        }) => {
            assert_eq!(http_status, 200);
            assert!(body.starts_with("{\"CODE\":200"));
            assert!(!body.contains(&key));
        }
        other => panic!("{other:?}"),
    }
    let v = client.pull(window).await.unwrap();
    assert!(
        matches!(
            v,
            Verdict::ServerError {
                http_status: 500,
                ..
            }
        ),
        "{v:?}"
    );
    assert!(matches!(v.next_step(), NextStep::RetryAfter(_)));
    let v = client.pull(window).await.unwrap();
    assert!(
        matches!(
            v,
            Verdict::ServerError {
                http_status: 502,
                ..
            }
        ),
        "{v:?}"
    );
    // The slow answer is still a normal one.
    assert!(matches!(
        client.pull(window).await.unwrap(),
        Verdict::Leads { .. }
    ));
    assert_eq!(fake.call_count(), 4);
}

#[tokio::test]
async fn indiamart_window_over_seven_days_is_400() {
    let fake = IndiaMartFake::start(IndiaMartFakeConfig::default())
        .await
        .unwrap();
    let client = im_client(&fake, &fake.config().key);
    let end = fake.now();
    let window = Window {
        start: end - SignedDuration::from_hours(8 * 24),
        end,
    };
    let v = client.pull(window).await.unwrap();
    assert!(matches!(v, Verdict::BadRequest { .. }), "{v:?}");
    assert_eq!(v.next_step(), NextStep::Skip);
}

#[tokio::test]
async fn indiamart_backfill_with_rate_limit_off_sees_every_lead_once() {
    let fake = IndiaMartFake::start(IndiaMartFakeConfig::default())
        .await
        .unwrap();
    fake.set_rate_limit(false);
    let client = im_client(&fake, &fake.config().key);
    let cfg = fake.config();
    let windows = split_windows(cfg.leads_from - SignedDuration::from_hours(1), fake.now());
    assert_eq!(windows.len(), 5);

    let mut ids = BTreeSet::new();
    let mut received = 0;
    for w in windows {
        match client.pull(w).await.unwrap() {
            Verdict::Leads { leads, .. } => {
                received += leads.len();
                ids.extend(leads.into_iter().filter_map(|l| l.unique_query_id));
            }
            Verdict::NoLeads { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    let held: BTreeSet<String> = fake
        .leads()
        .into_iter()
        .filter(|l| l.received_at <= fake.now())
        .map(|l| l.unique_query_id)
        .collect();
    assert_eq!(ids, held);
    // Re-sent leads arrive more than once; de-duplication by id absorbs them.
    assert!(received > ids.len(), "the generator re-sends some leads");
    assert_eq!(fake.call_count(), 5);
}

#[tokio::test]
async fn indiamart_key_never_shows_in_errors() {
    // A port nothing listens on: bind, note the address, close.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client = PullClient::new(PullConfig::with_base_url(
        format!("http://{addr}"),
        SecretString::from("SuperSecretCrmKey42"),
    ))
    .unwrap();
    let now: Timestamp = "2024-02-01T00:00:00Z".parse().unwrap();
    let err = client
        .pull(Window {
            start: now - SignedDuration::from_hours(1),
            end: now,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, PullError::Connect(_)), "{err:?}");
    assert!(!err.to_string().contains("SuperSecretCrmKey42"));
    assert!(!format!("{err:?}").contains("SuperSecretCrmKey42"));
    assert!(!format!("{client:?}").contains("SuperSecretCrmKey42"));
}

fn ti_client(fake: &TradeIndiaFake, page_size: u32) -> InquiryClient {
    let c = fake.config();
    let mut cfg = InquiryConfig::new(
        fake.base_url(),
        c.user_id.clone(),
        c.profile_id.clone(),
        SecretString::from(c.key.clone()),
    );
    cfg.page_size = page_size;
    InquiryClient::new(cfg).unwrap()
}

fn ti_days(fake: &TradeIndiaFake) -> (jiff::civil::Date, jiff::civil::Date) {
    let c = fake.config();
    let tz = tagada_sources::lead_text::ist();
    (
        tz.to_datetime(c.inquiries_from).date(),
        tz.to_datetime(c.inquiries_to).date(),
    )
}

#[tokio::test]
async fn tradeindia_pages_through_the_range() {
    let fake = TradeIndiaFake::start(TradeIndiaFakeConfig::default())
        .await
        .unwrap();
    let client = ti_client(&fake, 7);
    let (from, to) = ti_days(&fake);

    let result = client.fetch_range(from, to).await.unwrap();
    assert_eq!(result.stopped_by, None);
    let held: Vec<String> = fake.inquiries().into_iter().map(|i| i.rfi_id).collect();
    let got: Vec<String> = result
        .inquiries
        .iter()
        .map(|i| i.rfi_id.clone().unwrap())
        .collect();
    assert_eq!(got, held);
    // 40 inquiries in pages of 7: six full pages and one of 5.
    assert_eq!(result.pages, 6);
    let pages: Vec<Option<u32>> = fake.calls().iter().map(|c| c.page_no).collect();
    assert_eq!(pages, (1..=6).map(Some).collect::<Vec<_>>());
    assert!(fake.calls().iter().all(|c| c.limit == Some(7)));
    let first = &fake.calls()[0];
    assert_eq!(first.from_date.as_deref(), Some(from.to_string().as_str()));

    // Phone inquiries: masked e-mail dropped, the mobile read from the message.
    let phone_ids: BTreeSet<String> = fake
        .inquiries()
        .into_iter()
        .filter(|i| i.phone_inquiry)
        .map(|i| i.rfi_id)
        .collect();
    assert!(!phone_ids.is_empty());
    for i in result
        .inquiries
        .iter()
        .filter(|i| phone_ids.contains(i.rfi_id.as_ref().unwrap()))
    {
        assert!(i.is_phone_inquiry());
        assert_eq!(i.sender_email, None);
        assert_eq!(i.sender_mobile, None);
        assert!(i.mobile.is_some(), "{:?}", i.raw["message"]);
    }
}

#[tokio::test]
async fn tradeindia_server_ignoring_paging_cannot_loop_the_client() {
    let fake = TradeIndiaFake::start(TradeIndiaFakeConfig {
        ignore_paging: true,
        ..TradeIndiaFakeConfig::default()
    })
    .await
    .unwrap();
    let client = ti_client(&fake, 7);
    let (from, to) = ti_days(&fake);
    let result = client.fetch_range(from, to).await.unwrap();
    assert_eq!(result.inquiries.len(), fake.inquiries().len());
    assert_eq!(result.pages, 2);
    assert_eq!(fake.call_count(), 2);
}

#[tokio::test]
async fn tradeindia_errors() {
    let fake = TradeIndiaFake::start(TradeIndiaFakeConfig::default())
        .await
        .unwrap();
    let (from, to) = ti_days(&fake);

    // Wrong key: 403 rejected, and the key stays out of the verdict.
    let c = fake.config();
    let wrong = InquiryClient::new(InquiryConfig::new(
        fake.base_url(),
        c.user_id.clone(),
        c.profile_id.clone(),
        SecretString::from("wrong-ti-key"),
    ))
    .unwrap();
    let result = wrong.fetch_range(from, to).await.unwrap();
    assert!(result.inquiries.is_empty());
    let stopped = result.stopped_by.unwrap();
    assert!(
        matches!(
            stopped,
            tradeindia::Verdict::Rejected {
                http_status: 403,
                ..
            }
        ),
        "{stopped:?}"
    );
    assert!(!format!("{stopped:?}").contains("wrong-ti-key"));

    // A missing parameter: the 429 that is not a rate limit.
    let no_user = InquiryClient::new(InquiryConfig::new(
        fake.base_url(),
        "",
        c.profile_id.clone(),
        SecretString::from(c.key.clone()),
    ))
    .unwrap();
    let v = no_user.fetch_page(from, to, 1).await.unwrap();
    assert!(
        matches!(v, tradeindia::Verdict::MissingParameters { .. }),
        "{v:?}"
    );

    let client = ti_client(&fake, 50);
    fake.script([
        TiFault::ServerError,
        TiFault::MalformedJson,
        TiFault::EmptyBody,
        TiFault::RateLimited,
    ]);
    let v = client.fetch_page(from, to, 1).await.unwrap();
    assert!(
        matches!(
            v,
            tradeindia::Verdict::ServerError {
                http_status: 500,
                ..
            }
        ),
        "{v:?}"
    );
    match client.fetch_page(from, to, 1).await {
        Err(InquiryError::Malformed { body, .. }) => assert!(body.starts_with("[{")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        client.fetch_page(from, to, 1).await.unwrap(),
        tradeindia::Verdict::Inquiries(vec![])
    );
    let v = client.fetch_page(from, to, 1).await.unwrap();
    assert!(
        matches!(v, tradeindia::Verdict::RateLimited { .. }),
        "{v:?}"
    );

    // A day without inquiries: `[]`.
    let before = from - SignedDuration::from_hours(48);
    assert_eq!(
        client.fetch_page(before, before, 1).await.unwrap(),
        tradeindia::Verdict::Inquiries(vec![])
    );
    assert_eq!(fake.call_count(), 7);
}
