//! The client against the fake Meta Graph server, over real HTTP on
//! loopback: what Meta accepts, what it refuses and how each refusal is
//! classified, and the cases where the outcome is unknown.

use std::time::Duration;

use secrecy::SecretString;
use tagada_fakes::meta::{Fault, MetaFake, MetaFakeConfig};
use tagada_whatsapp::{
    BodyParam, ButtonParam, Client, ClientConfig, ClientError, Document, ErrorClass, QuickReply,
    TemplateMessage, TextMessage,
};

async fn fake() -> MetaFake {
    MetaFake::start(MetaFakeConfig::default()).await.unwrap()
}

fn client_for(fake: &MetaFake, token: &str) -> Client {
    let mut cfg = ClientConfig::new(
        fake.base_url(),
        fake.config().phone_number_id.clone(),
        fake.config().waba_id.clone(),
        SecretString::from(token.to_string()),
    );
    cfg.timeout = Duration::from_secs(2);
    Client::new(cfg).unwrap()
}

fn client(fake: &MetaFake) -> Client {
    client_for(fake, &fake.config().access_token.clone())
}

/// A reminder for the fake's `payment_reminder_overdue` template: document
/// header, four body parameters, the URL button (index 0) and the four
/// quick replies (indexes 1-4).
fn reminder(document: Document, outbox: i64) -> TemplateMessage {
    let mut m = TemplateMessage::new("+91 98765 43210", "payment_reminder_overdue", "en");
    m.to = "+919876543210".into();
    m.header_document = Some(document);
    m.body = vec![
        BodyParam::Text("Asha Traders".into()),
        BodyParam::Text("INV-1001".into()),
        BodyParam::currency("₹1,23,456.50", "INR", 12_345_650, 2),
        BodyParam::DateTime {
            fallback: "20 Nov 2026".into(),
        },
    ];
    m.buttons.push(ButtonParam::Url {
        index: 0,
        suffix: "pl_Xk2p9QvR".into(),
    });
    for (i, q) in QuickReply::ALL.into_iter().enumerate() {
        m.buttons.push(ButtonParam::QuickReply {
            index: (i + 1) as u8,
            payload: q.payload(outbox),
        });
    }
    m.callback_data = Some(format!("outbox:{outbox}"));
    m
}

fn link() -> Document {
    Document::Link {
        url: "https://files.example/INV-1001.pdf".into(),
        filename: "INV-1001.pdf".into(),
    }
}

#[tokio::test]
async fn a_reminder_is_accepted_and_recorded_with_its_callback_data() {
    let fake = fake().await;
    let accepted = client(&fake)
        .send_template(&reminder(link(), 42))
        .await
        .unwrap();
    assert!(accepted.wamid.starts_with("wamid."));
    assert_eq!(accepted.wa_id.as_deref(), Some("919876543210"));
    let seen = fake.accepted();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].wamid, accepted.wamid);
    assert_eq!(
        seen[0].biz_opaque_callback_data.as_deref(),
        Some("outbox:42")
    );
    assert_eq!(
        seen[0].template.as_deref(),
        Some("payment_reminder_overdue")
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn an_uploaded_invoice_can_head_the_reminder() {
    let fake = fake().await;
    let c = client(&fake);
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
    let id = c
        .upload_media(pdf.clone(), "application/pdf", "INV-1001.pdf")
        .await
        .unwrap();
    let media = fake.uploaded_media();
    assert_eq!(media.len(), 1);
    assert_eq!(media[0].id, id);
    assert_eq!(media[0].size, pdf.len());
    let doc = Document::Media {
        id,
        filename: "INV-1001.pdf".into(),
    };
    c.send_template(&reminder(doc, 7)).await.unwrap();
    assert_eq!(fake.accepted().len(), 1);
    fake.shutdown().await;
}

#[tokio::test]
async fn the_template_list_is_read_across_pages() {
    // More templates than one page (the client asks for 100 at a time).
    let mut cfg = MetaFakeConfig::default();
    let base = cfg.templates[0].clone();
    for i in 0..230 {
        let mut t = base.clone();
        t.name = format!("{}_{i:03}", base.name);
        t.id = format!("9{i:08}");
        cfg.templates.push(t);
    }
    let fake = MetaFake::start(cfg).await.unwrap();
    let templates = client(&fake).list_templates().await.unwrap();
    assert_eq!(templates.len(), fake.config().templates.len());
    assert!(templates.len() > 200);
    let mut names: Vec<_> = templates.iter().map(|t| (&t.name, &t.language)).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), templates.len(), "no template read twice");
    let overdue = templates
        .iter()
        .find(|t| t.name == "payment_reminder_overdue" && t.language == "en")
        .unwrap();
    assert!(overdue.is_approved());
    assert_eq!(overdue.body_params(), 4);
    assert_eq!(overdue.header_format(), Some("DOCUMENT"));
    assert_eq!(overdue.buttons()[0].kind, "URL");
    assert_eq!(overdue.buttons().len(), 5);
    assert!(templates.iter().any(|t| t.status == "PENDING"));
    assert!(
        templates
            .iter()
            .any(|t| t.category.as_deref() == Some("MARKETING"))
    );
    fake.shutdown().await;
}

async fn refusal(fake: &MetaFake, c: &Client, m: &TemplateMessage) -> (ErrorClass, i64) {
    match c.send_template(m).await {
        Err(e @ ClientError::Api { .. }) => (e.class().unwrap(), e.code().unwrap()),
        other => panic!(
            "expected an API error, got {other:?} ({} accepted)",
            fake.accepted().len()
        ),
    }
}

#[tokio::test]
async fn refusals_are_classified_by_their_code() {
    let fake = fake().await;
    let c = client(&fake);

    let mut wrong_count = reminder(link(), 1);
    wrong_count.body.pop();
    assert_eq!(
        refusal(&fake, &c, &wrong_count).await,
        (ErrorClass::Template, 132000)
    );

    let mut unknown = reminder(link(), 1);
    unknown.template = "no_such_template".into();
    assert_eq!(
        refusal(&fake, &c, &unknown).await,
        (ErrorClass::Template, 132001)
    );

    let bad_token = client_for(&fake, "not-the-token");
    assert_eq!(
        refusal(&fake, &bad_token, &reminder(link(), 1)).await,
        (ErrorClass::Unauthorized, 190)
    );

    fake.script([
        Fault::RateLimited,
        Fault::PairRateLimited,
        Fault::ServerError,
        Fault::ServiceUnavailable,
    ]);
    let m = reminder(link(), 2);
    assert_eq!(
        refusal(&fake, &c, &m).await,
        (ErrorClass::RateLimited, 130429)
    );
    assert_eq!(
        refusal(&fake, &c, &m).await,
        (ErrorClass::RateLimited, 131056)
    );
    assert_eq!(
        refusal(&fake, &c, &m).await,
        (ErrorClass::Transient, 131000)
    );
    assert_eq!(refusal(&fake, &c, &m).await, (ErrorClass::Transient, 2));
    assert!(fake.accepted().is_empty(), "nothing refused was accepted");
    // After the scripted faults the same request goes through, once.
    c.send_template(&m).await.unwrap();
    assert_eq!(fake.accepted().len(), 1);
    fake.shutdown().await;
}

#[tokio::test]
async fn free_form_text_needs_the_buyers_window() {
    let fake = fake().await;
    let c = client(&fake);
    let text = TextMessage {
        to: "+919876543210".into(),
        body: "Here is the copy of INV-1001 you asked for.".into(),
        preview_url: false,
        callback_data: None,
    };
    let e = c.send_text(&text).await.unwrap_err();
    assert_eq!(
        (e.class(), e.code()),
        (Some(ErrorClass::Recipient), Some(131047))
    );
    fake.reply_text("919876543210", "please send the invoice again")
        .await;
    c.send_text(&text).await.unwrap();
    assert_eq!(fake.accepted().len(), 1);
    fake.shutdown().await;
}

#[tokio::test]
async fn a_lost_answer_is_ambiguous_and_a_refused_connection_is_not() {
    let fake = fake().await;
    let c = client(&fake);
    fake.script([Fault::DropAfterRead]);
    let e = c.send_template(&reminder(link(), 3)).await.unwrap_err();
    assert!(matches!(e, ClientError::Ambiguous(_)), "{e:?}");
    assert!(!e.not_accepted());
    // Meta did take it: the fake recorded the message.
    assert_eq!(fake.accepted().len(), 1);

    fake.script([Fault::MalformedJson]);
    let e = c.send_template(&reminder(link(), 4)).await.unwrap_err();
    assert!(matches!(e, ClientError::Decode(_)), "{e:?}");
    assert!(
        !e.not_accepted(),
        "an unreadable 200 is not proof of refusal"
    );

    fake.script([Fault::Slow(Duration::from_secs(4))]);
    let e = c.send_template(&reminder(link(), 5)).await.unwrap_err();
    assert!(matches!(e, ClientError::Ambiguous(_)), "{e:?}");

    let addr = fake.local_addr();
    fake.shutdown().await;
    let mut cfg = ClientConfig::new(
        format!("http://{addr}"),
        "1",
        "2",
        SecretString::from("t".to_string()),
    );
    cfg.connect_timeout = Duration::from_secs(1);
    let e = Client::new(cfg)
        .unwrap()
        .send_template(&reminder(link(), 6))
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Connect(_)), "{e:?}");
    assert!(e.not_accepted(), "nothing was sent");
}
