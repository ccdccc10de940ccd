//! Every request body the client builds validates against Meta's OpenAPI
//! file (`../shared/contracts/whatsapp/business-messaging-api_v23.0.yaml`),
//! patched as that folder's README says:
//!
//! 1. the broken `index` pattern (`^[2-6, 11-14]$`) becomes `^[0-9]$`;
//! 2. `policy` is dropped from `LanguageObject.required`;
//! 3. templates are validated against `TemplateMessage` directly, and the
//!    other message types with the top-level `additionalProperties: false`
//!    of their own branch removed (it rejects the base properties);
//!
//! 3b. each parameter is validated against its own schema
//!    (`TextParameter`, `CurrencyParameter`, ...), since the spec's
//!    `discriminator` is ignored by JSON Schema validators.
//!
//! The spec is the copy in `contracts/whatsapp/` at the workspace root
//! (copied verbatim from the shared contracts, with its sources and
//! licence in that folder's README).

use std::path::PathBuf;

use serde_json::{Value, json};
use tagada_whatsapp::{
    BodyParam, ButtonParam, Document, DocumentMessage, QuickReply, TemplateMessage, TextMessage,
};

fn spec_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../contracts/whatsapp/business-messaging-api_v23.0.yaml")
}

/// `components.schemas` of the spec, patched.
fn schemas() -> Value {
    let text = std::fs::read_to_string(spec_path()).expect("read the spec");
    let spec: Value = serde_yaml::from_str(&text).expect("parse the spec");
    let mut schemas = spec["components"]["schemas"].clone();
    // Patch 1: the index pattern.
    for name in ["TemplateComponent", "ButtonComponent"] {
        let s = &mut schemas[name];
        let props = if s.get("allOf").is_some() {
            &mut s["allOf"][1]["properties"]
        } else {
            &mut s["properties"]
        };
        props["index"]["pattern"] = json!("^[0-9]$");
    }
    // Patch 2: `policy` is not required.
    let required = schemas["LanguageObject"]["required"]
        .as_array_mut()
        .expect("LanguageObject.required");
    required.retain(|r| r != "policy");
    schemas
}

fn validate(schemas: &Value, name: &str, instance: &Value) {
    validate_with(
        schemas,
        json!({ "$ref": format!("#/components/schemas/{name}") }),
        name,
        instance,
    )
}

fn validate_with(schemas: &Value, root: Value, label: &str, instance: &Value) {
    let mut schema = root;
    schema["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    schema["components"] = json!({ "schemas": schemas });
    let validator = jsonschema::draft202012::new(&schema).expect("compile the schema");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{label} does not validate:\n{}\n{}",
        errors.join("\n"),
        serde_json::to_string_pretty(instance).unwrap()
    );
}

/// A message type's own branch without its top-level
/// `additionalProperties: false` (README defect 3).
fn message_schema(schemas: &Value, name: &str) -> Value {
    let mut s = schemas[name].clone();
    if let Some(branch) = s["allOf"].get_mut(1).and_then(Value::as_object_mut) {
        branch.remove("additionalProperties");
    }
    s
}

fn reminder(document: Document, buttons: Vec<ButtonParam>) -> TemplateMessage {
    let mut m = TemplateMessage::new("+919812345678", "payment_reminder_overdue", "en");
    m.header_document = Some(document);
    m.body = vec![
        BodyParam::Text("Asha Traders".into()),
        BodyParam::Text("INV-1001".into()),
        BodyParam::currency("₹1,23,456.50", "INR", 12_345_650, 2),
        BodyParam::DateTime {
            fallback: "4 Dec 2026".into(),
        },
    ];
    m.buttons = buttons;
    m.callback_data = Some("outbox:42".into());
    m
}

fn every_template_body() -> Vec<(&'static str, TemplateMessage)> {
    let buttons = || {
        let mut b = vec![ButtonParam::Url {
            index: 0,
            suffix: "Xk2p9QvR".into(),
        }];
        for (i, q) in QuickReply::ALL.into_iter().enumerate() {
            b.push(ButtonParam::QuickReply {
                index: (i + 1) as u8,
                payload: q.payload(42),
            });
        }
        b
    };
    let link = Document::Link {
        url: "https://pay.example/invoices/INV-1001.pdf".into(),
        filename: "INV-1001.pdf".into(),
    };
    let media = Document::Media {
        id: "1037543291543636".into(),
        filename: "INV-1001.pdf".into(),
    };
    let mut usd = reminder(link.clone(), buttons());
    usd.body[2] = BodyParam::currency("$1,250.00", "USD", 125_000, 2);
    let mut big = reminder(link.clone(), vec![]);
    big.body[2] = BodyParam::currency("₹50,00,000.00", "INR", 5_000_000_00, 2);
    let mut bare = TemplateMessage::new("971501234567", "payment_receipt", "en_US");
    bare.body = vec![BodyParam::Text("Thank you".into())];
    vec![
        (
            "reminder with a linked document and all buttons",
            reminder(link, buttons()),
        ),
        (
            "reminder with an uploaded document",
            reminder(media, buttons()),
        ),
        ("reminder in USD", usd),
        ("reminder with an amount beyond int32", big),
        ("template with body only, no callback data", bare),
    ]
}

#[test]
fn template_messages_validate_against_metas_spec() {
    let schemas = schemas();
    for (label, m) in every_template_body() {
        let body = m.to_json();
        validate(&schemas, "TemplateMessage", &body);
        // 3b: each component and parameter against its own schema.
        for comp in body["template"]["components"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let kind = comp["type"].as_str().unwrap();
            let comp_schema = match kind {
                "header" => "HeaderComponent",
                "body" => "BodyComponent",
                "button" => "ButtonComponent",
                other => panic!("{label}: unexpected component {other}"),
            };
            validate(&schemas, comp_schema, comp);
            for p in comp["parameters"].as_array().into_iter().flatten() {
                let name = match (kind, p["type"].as_str().unwrap()) {
                    ("button", "text") => "ButtonTextParameter",
                    ("button", "payload") => "ButtonPayloadParameter",
                    (_, "text") => "TextParameter",
                    (_, "currency") => "CurrencyParameter",
                    (_, "date_time") => "DateTimeParameter",
                    (_, "document") => "DocumentParameter",
                    (_, other) => panic!("{label}: unexpected parameter {other}"),
                };
                validate(&schemas, name, p);
                if let Some(a) = p["currency"]["amount_1000"].as_i64() {
                    assert!(i32::try_from(a).is_ok(), "{label}: amount_1000 is an int32");
                }
            }
        }
    }
}

#[test]
fn in_window_messages_validate_against_metas_spec() {
    let schemas = schemas();
    let text = TextMessage {
        to: "+919812345678".into(),
        body: "Here is the copy of INV-1001 you asked for.".into(),
        preview_url: false,
        callback_data: Some("reply:7".into()),
    };
    validate_with(
        &schemas,
        message_schema(&schemas, "TextMessage"),
        "TextMessage",
        &text.to_json(),
    );
    let doc = DocumentMessage {
        to: "+919812345678".into(),
        document: Document::Link {
            url: "https://pay.example/invoices/INV-1001.pdf".into(),
            filename: "INV-1001.pdf".into(),
        },
        caption: Some("INV-1001".into()),
        callback_data: None,
    };
    validate_with(
        &schemas,
        message_schema(&schemas, "DocumentMessage"),
        "DocumentMessage",
        &doc.to_json(),
    );
}

#[test]
fn the_patched_spec_still_catches_mistakes() {
    // A validator that accepts everything would make the tests above
    // worthless: show that it rejects what Meta rejects.
    let schemas = schemas();
    let mut body = reminder(
        Document::Link {
            url: "https://x.example/a.pdf".into(),
            filename: "a.pdf".into(),
        },
        vec![],
    )
    .to_json();
    body["template"]["components"][1]["parameters"][2]["currency"]
        .as_object_mut()
        .unwrap()
        .remove("amount_1000");
    let mut schema = json!({ "$ref": "#/components/schemas/CurrencyParameter" });
    schema["components"] = json!({ "schemas": schemas });
    let v = jsonschema::draft202012::new(&schema).unwrap();
    assert!(!v.is_valid(&body["template"]["components"][1]["parameters"][2]));

    let mut no_name = body.clone();
    no_name["template"].as_object_mut().unwrap().remove("name");
    let mut schema = json!({ "$ref": "#/components/schemas/TemplateMessage" });
    schema["components"] = json!({ "schemas": schemas });
    let v = jsonschema::draft202012::new(&schema).unwrap();
    assert!(v.is_valid(&body));
    assert!(!v.is_valid(&no_name));
}

#[test]
fn the_unpatched_spec_fails_exactly_where_the_readme_says() {
    // Without patches 1 and 2 our (and Meta's own) bodies fail on the button
    // index pattern and on the missing language policy.
    let text = std::fs::read_to_string(spec_path()).expect("read the spec");
    let spec: Value = serde_yaml::from_str(&text).expect("parse the spec");
    let mut schema = json!({ "$ref": "#/components/schemas/TemplateMessage" });
    schema["components"] = json!({ "schemas": spec["components"]["schemas"] });
    let v = jsonschema::draft202012::new(&schema).unwrap();
    let (_, m) = every_template_body().remove(0);
    let errors: Vec<String> = v
        .iter_errors(&m.to_json())
        .map(|e| e.instance_path().to_string())
        .collect();
    assert!(errors.iter().any(|p| p.ends_with("/index")), "{errors:?}");
    assert!(
        errors.iter().any(|p| p.ends_with("/language")),
        "{errors:?}"
    );
}
