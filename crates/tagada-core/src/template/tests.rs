use super::*;
use crate::cadence::{PlannerConfig, default_cadences};

fn set() -> TemplateSet {
    TemplateSet::new(&default_templates())
}

fn spec(key: &str, body: &str, params: &[&str]) -> TemplateSpec {
    TemplateSpec {
        key: key.into(),
        language: "en".into(),
        whatsapp_name: key.into(),
        whatsapp_language: "en".into(),
        category: "UTILITY".into(),
        body: body.into(),
        params: params.iter().map(|p| p.to_string()).collect(),
        param_count: None,
        header_document: None,
        buttons: Vec::new(),
    }
}

/// A two-invoice context: the consolidated statement case.
fn two_invoices() -> MessageContext {
    let mut ctx = MessageContext::sample();
    ctx.invoices.push(InvoiceLine {
        number: "INV-2026-0157".into(),
        amount: Money::from_minor(250_000 * 100, Currency::INR),
        outstanding: Money::from_minor(150_000 * 100, Currency::INR),
        due_date: jiff::civil::date(2026, 11, 30),
        days_overdue: 1,
        payment_link: "https://pay.example.com/pay/INV-2026-0157".into(),
    });
    ctx
}

#[test]
fn shipped_templates_and_config_validate() {
    let cfg = PlannerConfig::default();
    let issues = cfg.validate().err().unwrap_or_default();
    assert!(issues.is_empty(), "{issues:#?}");
}

#[test]
fn every_key_has_english_hindi_and_friendly_variants() {
    let s = set();
    for key in [
        "upcoming",
        "due_today",
        "overdue",
        "overdue_firm",
        "statement",
    ] {
        for lang in ["en", "hi"] {
            assert!(s.contains(key, lang), "{key} {lang}");
            assert!(
                s.contains(&format!("{key}_friendly"), lang),
                "{key}_friendly {lang}"
            );
        }
    }
    assert!(s.contains("overdue", "es"));
    assert!(s.contains("statement", "es"));
    assert!(s.contains("statement_firm", "hi"));
}

#[test]
fn lookup_prefers_tone_then_key_in_language_then_english() {
    let s = set();
    let r = |k: &str, t: &str, l: &str| {
        let t = s.resolve(k, t, l).unwrap();
        format!("{}/{}", t.key, t.language)
    };
    assert_eq!(r("overdue", "friendly", "hi"), "overdue_friendly/hi");
    assert_eq!(r("overdue", "firm", "hi"), "overdue_firm/hi");
    assert_eq!(r("overdue", "neutral", "hi"), "overdue/hi");
    // Spanish has no friendly overdue: the Spanish neutral one beats English friendly.
    assert_eq!(r("overdue", "friendly", "es"), "overdue/es");
    // no French at all
    assert_eq!(r("upcoming", "friendly", "fr"), "upcoming_friendly/en");
    assert_eq!(r("statement", "formal", "en"), "statement/en");
    assert!(s.resolve("nope", "neutral", "en").is_none());
}

#[test]
fn context_formats_amounts_dates_and_totals() {
    let mut ctx = two_invoices();
    ctx.invoices[1].outstanding = Money::from_minor(1_250 * 100, Currency::USD);
    let v = ctx.to_value();
    let get = |k: &str| v.get_attr(k).unwrap().to_string();
    assert_eq!(get("invoice_numbers"), "INV-2026-0142, INV-2026-0157");
    assert_eq!(get("total_outstanding"), "₹1,18,000.00 + $1,250.00");
    assert_eq!(get("due_date"), "15 Nov 2026");
    assert_eq!(get("days_overdue"), "16");
    assert_eq!(get("days_until_due"), "0");
    assert_eq!(
        get("invoice_list"),
        "INV-2026-0142: ₹1,18,000.00 (15 Nov 2026); INV-2026-0157: $1,250.00 (30 Nov 2026)"
    );
}

#[test]
fn long_lists_are_cut_and_counted() {
    let v = MessageContext::sample_consolidated().to_value();
    let list = v.get_attr("invoice_list").unwrap().to_string();
    assert!(list.ends_with(" … (+2)"), "{list}");
    assert_eq!(list.matches("; ").count(), MAX_LISTED_INVOICES - 1);
}

#[test]
fn text_is_cleaned_for_whatsapp_parameters() {
    assert_eq!(
        clean_text("  Rajesh\n\tKumar    Traders "),
        "Rajesh Kumar Traders"
    );
    let mut ctx = MessageContext::sample();
    ctx.buyer_name = "Rajesh\nKumar".into();
    let m = set().render("overdue", "neutral", "en", &ctx).unwrap();
    assert_eq!(m.parameters[0], "Rajesh Kumar");
}

#[test]
fn render_fills_parameters_in_order() {
    let m = set()
        .render("overdue", "neutral", "en", &MessageContext::sample())
        .unwrap();
    assert_eq!(m.whatsapp_name, "payment_overdue");
    assert_eq!(m.language, "en");
    assert_eq!(
        m.parameters,
        [
            "Rajesh Kumar",
            "INV-2026-0142",
            "Shree Ganesh Exports",
            "₹1,18,000.00",
            "15 Nov 2026",
            "16",
            "https://pay.example.com/pay/INV-2026-0142"
        ]
    );
    for p in &m.parameters {
        assert!(m.body.contains(p.as_str()), "{p}");
    }
}

#[test]
fn validation_catches_broken_templates() {
    let specs = vec![
        spec("upcoming", "Hi {{ buyer_nam }}", &["buyer_nam"]),
        spec("due_today", "Hi {{ buyer_name", &["buyer_name"]),
        spec("overdue", "Hi {{ buyer_name }}", &["buyer_name ~ '\\n'"]),
        spec("overdue_firm", "Hi {{ buyer_name }}", &["'a      b'"]),
        spec(
            "statement",
            "{{ buyer_name }} {{ company }}",
            &["company", "buyer_name"],
        ),
        TemplateSpec {
            param_count: Some(2),
            whatsapp_name: "Bad-Name".into(),
            ..spec("upcoming_friendly", "{{ buyer_name }}", &["buyer_name"])
        },
        spec("long", &"x".repeat(1025), &[]),
        spec("empty", "{{ '' }}", &["''"]),
    ];
    let issues = TemplateSet::new(&specs)
        .validate(&default_cadences(), "statement")
        .unwrap_err();
    let text = issues
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    for needle in [
        "templates.upcoming.en: template templates.upcoming.en.body failed to render",
        "templates.due_today.en: template templates.due_today.en does not compile",
        "templates.overdue.en: template templates.overdue.en parameter {{1}}: contains a newline",
        "templates.overdue_firm.en: template templates.overdue_firm.en parameter {{1}}: contains more than four consecutive spaces",
        "templates.statement.en.params: do not follow the body's placeholders",
        "templates.upcoming_friendly.en.params: 1 parameters but the approved template has 2",
        "templates.upcoming_friendly.en.whatsapp_name",
        "templates.long.en: template templates.long.en.body renders 1025 characters",
        "templates.empty.en: template templates.empty.en parameter {{1}}: renders empty",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in\n{text}");
    }
    let missing = TemplateSet::new(&[spec("upcoming", "{{ buyer_name }}", &["buyer_name"])])
        .validate(&default_cadences(), "statement")
        .unwrap_err();
    assert!(
        missing
            .iter()
            .any(|i| i.key == "cadences.standard" && i.message.contains("`overdue`")),
        "{missing:?}"
    );
    assert!(missing.iter().any(|i| i.key == "consolidated_template"));
}

#[test]
fn the_templates_table_round_trips_through_json() {
    #[derive(Serialize, Deserialize)]
    struct W {
        #[serde(with = "table")]
        templates: Vec<TemplateSpec>,
    }
    let w = W {
        templates: default_templates(),
    };
    let json = serde_json::to_string(&w).unwrap();
    let back: W = serde_json::from_str(&json).unwrap();
    assert_eq!(back.templates, default_templates());
    let minimal: W = serde_json::from_str(
        r#"{"templates":{"overdue":{"en_GB":{"whatsapp_name":"x","body":"b","params":[]}}}}"#,
    )
    .unwrap();
    assert_eq!(minimal.templates[0].whatsapp_language, "en_GB");
    assert_eq!(minimal.templates[0].category, "UTILITY");
    assert!(
        serde_json::from_str::<W>(
            r#"{"templates":{"o":{"en":{"whatsapp_name":"x","body":"b","params":[],"oops":1}}}}"#
        )
        .is_err()
    );
}

// ------------------------------------------------------------------ snapshots

fn snap(key: &str, tone: &str, lang: &str, ctx: &MessageContext) -> String {
    let m = set().render(key, tone, lang, ctx).unwrap();
    let params = m
        .parameters
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{{{{{}}}}} = {p}", i + 1))
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "template: {} ({} / {})\n{params}\n---\n{}",
        m.template_key, m.whatsapp_name, m.language, m.body
    )
}

#[test]
fn snapshot_en_single() {
    let ctx = MessageContext::sample();
    insta::assert_snapshot!("en_upcoming", snap("upcoming", "neutral", "en", &ctx));
    insta::assert_snapshot!("en_overdue", snap("overdue", "neutral", "en", &ctx));
    insta::assert_snapshot!("en_overdue_firm", snap("overdue", "firm", "en", &ctx));
    insta::assert_snapshot!(
        "en_overdue_friendly",
        snap("overdue", "friendly", "en", &ctx)
    );
}

#[test]
fn snapshot_en_consolidated() {
    insta::assert_snapshot!(
        "en_statement",
        snap("statement", "neutral", "en", &two_invoices())
    );
    insta::assert_snapshot!(
        "en_statement_long",
        snap(
            "statement",
            "firm",
            "en",
            &MessageContext::sample_consolidated()
        )
    );
}

#[test]
fn snapshot_hi() {
    let ctx = MessageContext::sample();
    insta::assert_snapshot!("hi_due_today", snap("due_today", "neutral", "hi", &ctx));
    insta::assert_snapshot!("hi_overdue", snap("overdue", "neutral", "hi", &ctx));
    insta::assert_snapshot!(
        "hi_overdue_firm",
        snap("overdue_firm", "neutral", "hi", &ctx)
    );
    insta::assert_snapshot!(
        "hi_statement",
        snap("statement", "neutral", "hi", &two_invoices())
    );
    insta::assert_snapshot!(
        "hi_statement_friendly",
        snap("statement", "friendly", "hi", &two_invoices())
    );
}

#[test]
fn snapshot_es() {
    insta::assert_snapshot!(
        "es_overdue",
        snap("overdue", "neutral", "es", &MessageContext::sample())
    );
    insta::assert_snapshot!(
        "es_statement",
        snap("statement", "neutral", "es", &two_invoices())
    );
}

/// A template with a document header, a URL button and quick replies
/// renders each part, indexed among all buttons.
#[test]
fn buttons_and_document_header_render() {
    let t = TemplateSpec {
        header_document: Some(DocumentSpec {
            link: "https://files.example.com/{{ invoices[0].number }}.pdf".into(),
            filename: "{{ invoices[0].number }}.pdf".into(),
        }),
        buttons: vec![
            ButtonSpec::Url {
                url_suffix: "invoices[0].number | lower".into(),
            },
            ButtonSpec::QuickReply(ReplyButton::PaidAlready),
            ButtonSpec::QuickReply(ReplyButton::StopReminders),
        ],
        ..spec("overdue", "Hi {{ buyer_name }}", &["buyer_name"])
    };
    let set = TemplateSet::new(&[t]);
    let m = set
        .render("overdue", "", "en", &MessageContext::sample())
        .unwrap();
    let number = &MessageContext::sample().invoices[0].number;
    let doc = m.header_document.as_ref().unwrap();
    assert_eq!(doc.link, format!("https://files.example.com/{number}.pdf"));
    assert_eq!(doc.filename, format!("{number}.pdf"));
    assert_eq!(
        m.buttons,
        vec![
            RenderedButton::Url {
                index: 0,
                suffix: number.to_lowercase()
            },
            RenderedButton::QuickReply {
                index: 1,
                action: ReplyButton::PaidAlready
            },
            RenderedButton::QuickReply {
                index: 2,
                action: ReplyButton::StopReminders
            },
        ]
    );
    // The outbox keeps the message as JSON: the parts survive it.
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(serde_json::from_str::<RenderedMessage>(&json).unwrap(), m);
}

/// Buttons in TOML: quick replies by name, a URL button as a table; bad
/// button lists are config issues naming the template.
#[test]
fn buttons_from_toml_and_their_rules() {
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(with = "crate::template::table")]
        templates: Vec<TemplateSpec>,
    }
    let file: File = toml::from_str(
        r#"
[templates.overdue.en]
whatsapp_name = "payment_overdue"
body = "Hi {{ buyer_name }}"
params = ["buyer_name"]
buttons = [{ url_suffix = "'t0k3n'" }, "paid_already", "send_invoice_copy"]
header_document = { link = "https://x.example/{{ invoice_numbers }}", filename = "invoice.pdf" }
"#,
    )
    .unwrap();
    let t = &file.templates[0];
    assert_eq!(
        t.buttons,
        vec![
            ButtonSpec::Url {
                url_suffix: "'t0k3n'".into()
            },
            ButtonSpec::QuickReply(ReplyButton::PaidAlready),
            ButtonSpec::QuickReply(ReplyButton::SendInvoiceCopy),
        ]
    );
    assert!(t.header_document.is_some());
    assert!(
        toml::from_str::<File>(
            r#"
[templates.overdue.en]
whatsapp_name = "payment_overdue"
body = "Hi"
params = []
buttons = ["paid_twice"]
"#
        )
        .is_err()
    );

    let mut bad = spec("overdue", "Hi {{ buyer_name }}", &["buyer_name"]);
    bad.buttons = vec![
        ButtonSpec::QuickReply(ReplyButton::PaidAlready),
        ButtonSpec::QuickReply(ReplyButton::PaidAlready),
        ButtonSpec::Url {
            url_suffix: "'a b'".into(),
        },
        ButtonSpec::Url {
            url_suffix: "'x'".into(),
        },
        ButtonSpec::Url {
            url_suffix: "'y'".into(),
        },
    ];
    bad.header_document = Some(DocumentSpec {
        link: "files/{{ invoice_numbers }}.pdf".into(),
        filename: "x.pdf".into(),
    });
    let mut specs = default_templates();
    specs.retain(|t| !(t.key == "overdue" && t.language == "en"));
    specs.push(bad);
    let issues = TemplateSet::new(&specs)
        .validate(&default_cadences(), "statement")
        .unwrap_err();
    let text = issues
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    for needle in [
        "templates.overdue.en.buttons: `paid_already` appears twice",
        "templates.overdue.en.buttons: WhatsApp allows at most 2 URL buttons",
        "templates.overdue.en.header_document.link: `files/",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    // A URL suffix with a space is refused once the link is fixed.
    if let Some(t) = specs.last_mut() {
        t.header_document = None;
    }
    let text = TemplateSet::new(&specs)
        .validate(&default_cadences(), "statement")
        .unwrap_err()
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("templates.overdue.en.buttons[2].url_suffix: contains a space"),
        "{text}"
    );
}

#[test]
fn shipped_templates_carry_the_four_quick_replies() {
    for t in default_templates() {
        // a receipt asks nothing of the buyer; every reminder offers the four
        let expected = if t.key == "payment_received" {
            Vec::new()
        } else {
            default_buttons()
        };
        assert_eq!(t.buttons, expected, "{}.{}", t.key, t.language);
    }
    let labels: Vec<&str> = ReplyButton::ALL.iter().map(|b| b.label("en")).collect();
    assert_eq!(
        labels,
        [
            "Paid already",
            "Send invoice copy",
            "Talk to someone",
            "Stop reminders"
        ]
    );
    // Every label is understood as its button when a buyer types it.
    for b in ReplyButton::ALL {
        for lang in ["en", "hi", "es"] {
            let intent = crate::reply::button_intent(b.label(lang));
            assert!(
                intent.is_some(),
                "{lang} {:?} not understood",
                b.label(lang)
            );
        }
    }
}
