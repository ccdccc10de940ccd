//! Every webhook sample in `contracts/whatsapp/` (the pywa fixtures and the
//! inbound examples of Meta's OpenAPI file) is accepted with a valid
//! signature, refused without one or with a wrong one, and read into the
//! events it carries.

use std::path::PathBuf;

use serde_json::Value;
use tagada_whatsapp::webhook::{self, SignatureError, sign, verify_signature};
use tagada_whatsapp::{Event, InboundKind, StatusKind};

const SECRET: &[u8] = b"test-app-secret";

fn contracts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../contracts/whatsapp")
}

/// (label, raw body) for every sample.
fn samples() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let dir = contracts().join("pywa-fixtures");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures folder")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let all: serde_json::Map<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for (variant, body) in all {
            let label = format!("{}#{variant}", file.file_name().unwrap().to_string_lossy());
            out.push((label, serde_json::to_vec(&body).unwrap()));
        }
    }
    let spec: Value = serde_yaml::from_str(
        &std::fs::read_to_string(contracts().join("business-messaging-api_v23.0.yaml")).unwrap(),
    )
    .unwrap();
    let examples = &spec["paths"]["/whatsapp/webhooks"]["post"]["requestBody"]["content"]["application/json"]
        ["examples"];
    for (name, ex) in examples.as_object().expect("webhook examples") {
        out.push((
            format!("spec#{name}"),
            serde_json::to_vec(&ex["value"]).unwrap(),
        ));
    }
    assert!(out.len() > 50, "expected every sample, found {}", out.len());
    out
}

fn sample(label: &str) -> Vec<u8> {
    samples()
        .into_iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("no sample {label}"))
        .1
}

#[test]
fn every_sample_is_accepted_signed_and_refused_unsigned() {
    for (label, body) in samples() {
        let header = sign(SECRET, &body);
        assert_eq!(
            verify_signature(SECRET, Some(&header), &body),
            Ok(()),
            "{label}"
        );
        assert_eq!(
            verify_signature(SECRET, None, &body),
            Err(SignatureError::Missing),
            "{label}"
        );
        assert_eq!(
            verify_signature(b"another-secret", Some(&header), &body),
            Err(SignatureError::Mismatch),
            "{label}"
        );
        let events = webhook::parse(&body).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(!events.is_empty(), "{label}: no event read");
    }
}

#[test]
fn statuses_are_read_with_their_callback_data_and_errors() {
    let kinds: Vec<(String, StatusKind)> = ["sent", "delivered", "read", "played", "failed"]
        .into_iter()
        .map(|v| {
            let events = webhook::parse(&sample(&format!("message_status.json#{v}"))).unwrap();
            match &events[0] {
                Event::Status(s) => (v.to_string(), s.status.clone()),
                other => panic!("{v}: {other:?}"),
            }
        })
        .collect();
    assert_eq!(kinds[0].1, StatusKind::Sent);
    assert_eq!(kinds[1].1, StatusKind::Delivered);
    assert_eq!(kinds[2].1, StatusKind::Read);
    assert_eq!(kinds[3].1, StatusKind::Played);
    assert_eq!(kinds[4].1, StatusKind::Failed);

    let failed = webhook::parse(&sample("message_status.json#failed")).unwrap();
    let Event::Status(f) = &failed[0] else {
        panic!()
    };
    assert_eq!(f.errors[0].code, Some(130472));
    assert_eq!(f.wamid, "wamid.xyzxyz");
    assert_eq!(f.at.map(|t| t.as_second()), Some(1689380458));
    assert!(f.errors[0].to_string().contains("experiment"));

    let tracked = webhook::parse(&sample("message_status.json#with_tracker")).unwrap();
    let Event::Status(t) = &tracked[0] else {
        panic!()
    };
    assert_eq!(t.callback_data.as_deref(), Some("some data"));
    assert_eq!(t.key(), "status:wamid.xyzxyz:sent");
}

#[test]
fn replies_are_read_with_payload_context_and_sender() {
    let quick = webhook::parse(&sample("callback_button.json#quick_reply")).unwrap();
    let Event::Message(m) = &quick[0] else {
        panic!("{quick:?}")
    };
    assert_eq!(
        m.kind,
        InboundKind::Button {
            payload: Some("callback_data".into()),
            text: Some("title".into())
        }
    );
    assert_eq!(m.context_id.as_deref(), Some("wamid.xyzxyz=="));
    assert_eq!(m.from.as_deref(), Some("972987654321"));
    assert_eq!(m.wa_id.as_deref(), Some("972987654321"));
    assert_eq!(m.profile_name.as_deref(), Some("Test Name"));

    let no_ctx =
        webhook::parse(&sample("callback_button.json#quick_reply_without_context")).unwrap();
    let Event::Message(m) = &no_ctx[0] else {
        panic!()
    };
    assert!(matches!(m.kind, InboundKind::Button { .. }));
    assert_eq!(m.context_id, None);

    let text = webhook::parse(&sample("message.json#text")).unwrap();
    let Event::Message(m) = &text[0] else {
        panic!()
    };
    assert_eq!(
        m.kind,
        InboundKind::Text {
            body: "Body Text".into()
        }
    );
    assert_eq!(m.key(), "message:wamid.xyzxyz");

    let button = webhook::parse(&sample("callback_button.json#button")).unwrap();
    let Event::Message(m) = &button[0] else {
        panic!()
    };
    assert!(matches!(
        m.kind,
        InboundKind::Interactive { id: Some(_), .. }
    ));

    let image = webhook::parse(&sample("message.json#image")).unwrap();
    let Event::Message(m) = &image[0] else {
        panic!()
    };
    assert_eq!(
        m.kind,
        InboundKind::Other {
            kind: "image".into()
        }
    );
}

#[test]
fn other_fields_are_kept_by_name() {
    let t = webhook::parse(&sample("template_status_update.json#approved")).unwrap();
    assert!(
        matches!(&t[0], Event::Other { field, .. } if field == "message_template_status_update")
    );
}

#[test]
fn a_changed_byte_breaks_the_signature() {
    for (label, body) in samples().into_iter().take(10) {
        let header = sign(SECRET, &body);
        let mut changed = body.clone();
        let last = changed.len() - 2;
        changed[last] ^= 0x01;
        assert_eq!(
            verify_signature(SECRET, Some(&header), &changed),
            Err(SignatureError::Mismatch),
            "{label}"
        );
    }
}
