//! Checks of [`LeadStore`](crate::LeadStore): leads stored once, matched to
//! buyers by phone, e-mail, then company and city, never overwriting what a
//! buyer has; each source's call budget, block, stop and cursor; sync runs.

use std::sync::Arc;

use jiff::SignedDuration;
use tagada_core::CountryCode;

use super::{add_buyer, phone, t};
use crate::{
    CallReservation, INDIAMART, LeadFilter, LeadOutcome, LeadSourcePatch, MatchedBy, NewLead,
    NewSyncRun, Store, TRADEINDIA,
};

fn lead(id: &str) -> NewLead {
    NewLead {
        source: INDIAMART.into(),
        external_id: id.into(),
        received_at: Some(t(-3_600)),
        notes: vec![format!("message of {id}")],
        raw: format!(r#"{{"UNIQUE_QUERY_ID":"{id}"}}"#),
        ..Default::default()
    }
}

/// Each lead once; buyers matched by phone, then e-mail, then company and
/// city; empty fields filled, others noted; no consent for new buyers.
pub async fn leads_recorded_once_and_matched<S: Store + 'static>(store: S) {
    let acme = add_buyer(&store, "Acme Traders", 1).await;
    assert!(acme.email.is_none());

    let by_phone = NewLead {
        name: Some("Acme T.".into()),
        phone: Some(phone(1)),
        email: Some("buy@acme.example".into()),
        company: Some("Acme Pvt Ltd".into()),
        ..lead("L1")
    };
    let by_email = NewLead {
        email: Some("BUY@acme.example".into()),
        ..lead("L2")
    };
    let new_buyer = NewLead {
        name: Some("Ravi Kumar".into()),
        company: Some("Bharat  Steel".into()),
        city: Some("Pune".into()),
        phone: Some(phone(7)),
        country: Some(CountryCode::india()),
        ..lead("L3")
    };
    let by_company = NewLead {
        name: Some("Ravi".into()),
        company: Some("bharat steel".into()),
        city: Some(" pune ".into()),
        ..lead("L4")
    };
    let other_city = NewLead {
        name: Some("Ravi".into()),
        company: Some("Bharat Steel".into()),
        city: Some("Mumbai".into()),
        ..lead("L5")
    };
    let nobody = NewLead {
        notes: vec![],
        ..lead("L6")
    };
    let batch = vec![
        by_phone.clone(),
        by_email,
        new_buyer,
        by_company,
        other_city,
        nobody,
        by_phone.clone(),
    ];
    let out = store.record_leads(&batch, t(0)).await.unwrap();
    assert_eq!(
        out[0],
        LeadOutcome::Matched {
            buyer: acme.id,
            by: MatchedBy::Phone,
            conflicts: 1
        }
    );
    assert_eq!(
        out[1],
        LeadOutcome::Matched {
            buyer: acme.id,
            by: MatchedBy::Email,
            conflicts: 0
        }
    );
    let LeadOutcome::NewBuyer { buyer: bharat } = out[2] else {
        panic!("{:?}", out[2]);
    };
    assert_eq!(
        out[3],
        LeadOutcome::Matched {
            buyer: bharat,
            by: MatchedBy::CompanyAndCity,
            conflicts: 1
        }
    );
    assert!(
        matches!(out[4], LeadOutcome::NewBuyer { buyer } if buyer != bharat),
        "same company in another city is another buyer: {:?}",
        out[4]
    );
    assert!(
        matches!(out[5], LeadOutcome::Skipped { .. }),
        "{:?}",
        out[5]
    );
    assert_eq!(out[6], LeadOutcome::Duplicate);

    // Acme: e-mail and company filled, name kept, the other name noted.
    let a = store.get_buyer(acme.id).await.unwrap();
    assert_eq!(a.name, "Acme Traders");
    assert_eq!(a.email.as_deref(), Some("buy@acme.example"));
    assert_eq!(a.company.as_deref(), Some("Acme Pvt Ltd"));
    let notes: Vec<String> = store
        .list_notes(acme.id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.text)
        .collect();
    assert!(
        notes.contains(&"IndiaMART lead L1: message of L1".to_string()),
        "{notes:?}"
    );
    assert!(
        notes.contains(
            &"IndiaMART lead L1 gives the name \"Acme T.\"; kept \"Acme Traders\"".to_string()
        ),
        "{notes:?}"
    );
    assert!(notes.contains(&"IndiaMART lead L2: message of L2".to_string()));

    let b = store.get_buyer(bharat).await.unwrap();
    assert_eq!(b.name, "Ravi Kumar");
    assert_eq!(b.company.as_deref(), Some("Bharat  Steel"));
    assert_eq!(b.whatsapp, Some(phone(7)));
    assert_eq!(b.country, Some(CountryCode::india()));
    assert_eq!(b.consent, None, "a lead is not consent");

    // The whole batch again: nothing new, no note written twice.
    let notes_before = store.list_notes(acme.id).await.unwrap().len();
    let again = store.record_leads(&batch, t(10)).await.unwrap();
    assert!(
        again.iter().all(|o| *o == LeadOutcome::Duplicate),
        "{again:?}"
    );
    assert_eq!(store.list_notes(acme.id).await.unwrap().len(), notes_before);

    // Stored with their outcome, newest first; the same id from another
    // source is another lead.
    let leads = store
        .list_leads(&LeadFilter {
            source: Some(INDIAMART.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(leads.len(), 6);
    assert_eq!(leads[0].external_id, "L6");
    assert_eq!(leads[0].buyer_id, None);
    assert!(
        leads[0].outcome.starts_with("skipped"),
        "{}",
        leads[0].outcome
    );
    let l1 = leads.iter().find(|l| l.external_id == "L1").unwrap();
    assert_eq!(l1.buyer_id, Some(acme.id));
    assert_eq!(l1.outcome, "matched:phone");
    assert_eq!(l1.received_at, Some(t(-3_600)));
    let raw: serde_json::Value = serde_json::from_str(&l1.raw).unwrap();
    assert_eq!(raw["UNIQUE_QUERY_ID"], "L1");
    let ti = NewLead {
        source: TRADEINDIA.into(),
        phone: Some(phone(1)),
        ..lead("L1")
    };
    assert!(matches!(
        store.record_leads(&[ti], t(20)).await.unwrap()[0],
        LeadOutcome::Matched { .. }
    ));
    let of_acme = store
        .list_leads(&LeadFilter {
            buyer: Some(acme.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(of_acme.len(), 3);
    let by_id = store
        .list_leads(&LeadFilter {
            external_id: Some("L1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_id.len(), 2, "L1 from both sources");
    assert!(by_id.iter().all(|l| l.external_id == "L1"));
}

/// One call per interval, atomically; blocks and stops hold calls back;
/// the cursor and runs are kept.
pub async fn lead_source_budget_and_runs<S: Store + 'static>(store: S) {
    let store = Arc::new(store);
    let five = SignedDuration::from_mins(5);
    let s = store.lead_source(INDIAMART).await.unwrap();
    assert_eq!(s.cursor, None);
    assert_eq!(s.last_call_at, None);

    assert_eq!(
        store.reserve_call(INDIAMART, t(0), five).await.unwrap(),
        CallReservation::Granted
    );
    assert_eq!(
        store.reserve_call(INDIAMART, t(60), five).await.unwrap(),
        CallReservation::WaitUntil { until: t(300) }
    );
    // Another source has its own budget.
    assert_eq!(
        store.reserve_call(TRADEINDIA, t(60), five).await.unwrap(),
        CallReservation::Granted
    );
    assert_eq!(
        store.reserve_call(INDIAMART, t(300), five).await.unwrap(),
        CallReservation::Granted
    );
    // Eight processes asking at once: one call.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.reserve_call(INDIAMART, t(600), five).await.unwrap()
        }));
    }
    let mut granted = 0;
    for task in tasks {
        if task.await.unwrap() == CallReservation::Granted {
            granted += 1;
        }
    }
    assert_eq!(granted, 1);

    // Blocked after a 429.
    store
        .update_lead_source(
            INDIAMART,
            &LeadSourcePatch {
                blocked_until: Some(Some(t(600 + 900))),
                ..Default::default()
            },
            t(601),
        )
        .await
        .unwrap();
    assert_eq!(
        store.reserve_call(INDIAMART, t(1_000), five).await.unwrap(),
        CallReservation::WaitUntil { until: t(1_500) }
    );
    // Stopped after a 401, until resumed.
    let stopped = store
        .update_lead_source(
            INDIAMART,
            &LeadSourcePatch {
                stopped: Some(Some("401: key invalid".into())),
                cursor: Some(t(-100)),
                ..Default::default()
            },
            t(1_001),
        )
        .await
        .unwrap();
    assert_eq!(stopped.stopped_at, Some(t(1_001)));
    assert_eq!(stopped.cursor, Some(t(-100)));
    assert_eq!(
        store.reserve_call(INDIAMART, t(5_000), five).await.unwrap(),
        CallReservation::Stopped {
            reason: "401: key invalid".into()
        }
    );
    assert_eq!(
        store
            .reserve_call(TRADEINDIA, t(5_000), five)
            .await
            .unwrap(),
        CallReservation::Granted,
        "the other source keeps working"
    );
    let resumed = store
        .update_lead_source(
            INDIAMART,
            &LeadSourcePatch {
                stopped: Some(None),
                blocked_until: Some(None),
                ..Default::default()
            },
            t(5_001),
        )
        .await
        .unwrap();
    assert_eq!(resumed.stopped_reason, None);
    assert_eq!(resumed.cursor, Some(t(-100)), "the cursor survives");
    assert_eq!(resumed.last_call_at, Some(t(600)));
    assert_eq!(
        store.reserve_call(INDIAMART, t(5_002), five).await.unwrap(),
        CallReservation::Granted
    );

    for (i, source) in [INDIAMART, TRADEINDIA, INDIAMART].iter().enumerate() {
        store
            .record_sync_run(&NewSyncRun {
                source: source.to_string(),
                started_at: t(i as i64 * 10),
                finished_at: t(i as i64 * 10 + 1),
                window_start: Some(t(-700)),
                window_end: Some(t(-100)),
                outcome: "ingested".into(),
                calls: 1,
                leads_new: 3,
                buyers_new: 2,
                error: (i == 2).then(|| "malformed".to_string()),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let runs = store.list_sync_runs(Some(INDIAMART), 10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].run.started_at, t(20));
    assert_eq!(runs[0].run.error.as_deref(), Some("malformed"));
    assert_eq!(runs[1].run.leads_new, 3);
    assert_eq!(runs[1].run.window_end, Some(t(-100)));
    assert_eq!(store.list_sync_runs(None, 2).await.unwrap().len(), 2);
}
