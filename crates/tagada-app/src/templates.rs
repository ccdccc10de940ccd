//! The template check: every WhatsApp template tagada's config can send
//! must exist in the business account, be APPROVED, be in the language we
//! send, and take exactly the parameters we send. `templates check` prints
//! the result; `send` and `run` refuse to send through the Cloud API while
//! it finds a problem.

use std::collections::BTreeMap;

use serde::Serialize;
use tagada_core::cadence::PlannerConfig;
use tagada_core::template::{ButtonSpec, TemplateSpec};
use tagada_whatsapp::{Client, ClientError, Template, client::placeholders};

/// The verdict on one (WhatsApp name, language) pair our config sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateVerdict {
    pub whatsapp_name: String,
    pub language: String,
    /// The config tables that send it (`templates.overdue.en`, ...).
    pub used_by: Vec<String>,
    /// Parameters our config sends.
    pub params: usize,
    /// `APPROVED`, `PENDING`..., or `missing`.
    pub status: String,
    pub category: Option<String>,
    /// What stops us from sending it; empty when it is fine.
    pub problems: Vec<String>,
    /// What is worth knowing but does not stop sending.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TemplateCheck {
    pub templates: Vec<TemplateVerdict>,
}

impl TemplateCheck {
    pub fn is_ok(&self) -> bool {
        self.templates.iter().all(|t| t.problems.is_empty())
    }

    /// Every problem, one line each, naming the template and the config table.
    pub fn problems(&self) -> Vec<String> {
        self.templates
            .iter()
            .flat_map(|t| {
                t.problems.iter().map(move |p| {
                    format!(
                        "{} [{}] ({}): {p}",
                        t.whatsapp_name,
                        t.language,
                        t.used_by.join(", ")
                    )
                })
            })
            .collect()
    }

    pub fn warnings(&self) -> Vec<String> {
        self.templates
            .iter()
            .flat_map(|t| {
                t.warnings
                    .iter()
                    .map(move |w| format!("{} [{}]: {w}", t.whatsapp_name, t.language))
            })
            .collect()
    }
}

/// Compares the config's templates with the account's (pure; the fetch is
/// [`fetch_and_check`]).
pub fn check(cfg: &PlannerConfig, account: &[Template]) -> TemplateCheck {
    // (name, language) → (tables using it, the first such table).
    let mut wanted: BTreeMap<(String, String), (Vec<String>, &TemplateSpec)> = BTreeMap::new();
    for t in &cfg.templates {
        let entry = wanted
            .entry((t.whatsapp_name.clone(), t.whatsapp_language.clone()))
            .or_insert_with(|| (Vec::new(), t));
        entry.0.push(format!("templates.{}.{}", t.key, t.language));
        if entry.1.buttons != t.buttons
            || entry.1.header_document.is_some() != t.header_document.is_some()
        {
            entry.0.push(format!(
                "(templates.{}.{} sends other buttons or header)",
                t.key, t.language
            ));
        }
        if entry.1.params.len() != t.params.len() {
            // Two tables sending one template with different counts: the
            // check below reports the first; say so here too.
            entry.0.push(format!(
                "(templates.{}.{} sends {} parameters)",
                t.key,
                t.language,
                t.params.len()
            ));
        }
    }
    let mut out = TemplateCheck::default();
    for ((name, language), (used_by, spec)) in wanted {
        let params = spec.params.len();
        let found = account
            .iter()
            .find(|t| t.name == name && t.language == language);
        let mut v = TemplateVerdict {
            whatsapp_name: name.clone(),
            language: language.clone(),
            used_by,
            params,
            status: found.map_or("missing".into(), |t| t.status.clone()),
            category: found.and_then(|t| t.category.clone()),
            problems: Vec::new(),
            warnings: Vec::new(),
        };
        match found {
            None => {
                let other_languages: Vec<&str> = account
                    .iter()
                    .filter(|t| t.name == name)
                    .map(|t| t.language.as_str())
                    .collect();
                v.problems.push(if other_languages.is_empty() {
                    "no template of this name in the WhatsApp account".to_string()
                } else {
                    format!(
                        "not in this language in the WhatsApp account (it has: {})",
                        other_languages.join(", ")
                    )
                });
            }
            Some(t) => {
                if !t.is_approved() {
                    v.problems
                        .push(format!("status is {}, not APPROVED", t.status));
                }
                let theirs = t.body_params();
                if theirs != params {
                    v.problems.push(format!(
                        "the approved body takes {theirs} parameter(s); tagada sends {params}"
                    ));
                }
                header_problems(spec, t, &mut v.problems);
                button_problems(spec, t, &mut v.problems, &mut v.warnings);
                if t.category
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case("MARKETING"))
                {
                    v.warnings.push(
                        "category is MARKETING: costlier than UTILITY, limited per user by Meta \
                         and not delivered in some countries; payment reminders qualify as UTILITY"
                            .into(),
                    );
                }
            }
        }
        out.templates.push(v);
    }
    out
}

/// The approved template's header against what `spec` sends.
fn header_problems(spec: &TemplateSpec, t: &Template, problems: &mut Vec<String>) {
    let ours = spec.header_document.is_some();
    match t.header_format().map(str::to_ascii_uppercase).as_deref() {
        None if ours => problems.push(
            "tagada sends a document header (header_document); the approved template has no header"
                .into(),
        ),
        None => {}
        Some("TEXT") => {
            let header_params = t
                .components
                .iter()
                .find(|c| c.kind.eq_ignore_ascii_case("HEADER"))
                .and_then(|c| c.text.as_deref())
                .map(placeholders)
                .unwrap_or(0);
            if header_params > 0 {
                problems.push(
                    "its text header takes a parameter, which tagada does not send".into(),
                );
            }
            if ours {
                problems.push(
                    "tagada sends a document header (header_document); the approved template's header is TEXT"
                        .into(),
                );
            }
        }
        Some("DOCUMENT") if !ours => problems.push(
            "it has a DOCUMENT header: set header_document (the invoice PDF's link) in the config table"
                .into(),
        ),
        Some("DOCUMENT") => {}
        Some(other) => problems.push(format!(
            "it has a {other} header, which tagada does not send"
        )),
    }
}

/// The approved template's buttons against `spec.buttons`, index by index
/// (Meta counts URL and quick-reply buttons together).
fn button_problems(
    spec: &TemplateSpec,
    t: &Template,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    let theirs = t.buttons();
    let dynamic_url = |b: &tagada_whatsapp::TemplateButton| {
        b.kind.eq_ignore_ascii_case("URL") && b.url.as_deref().is_some_and(|u| placeholders(u) > 0)
    };
    for (i, ours) in spec.buttons.iter().enumerate() {
        let Some(b) = theirs.get(i) else {
            problems.push(format!(
                "tagada sends button {i} ({}); the approved template has {} button(s)",
                describe(ours),
                theirs.len()
            ));
            continue;
        };
        let fits = match ours {
            ButtonSpec::QuickReply(_) => b.kind.eq_ignore_ascii_case("QUICK_REPLY"),
            ButtonSpec::Url { .. } => dynamic_url(b),
        };
        if !fits {
            problems.push(format!(
                "button {i} of the approved template is {}{}; tagada sends {} there",
                b.kind,
                b.text
                    .as_deref()
                    .map(|x| format!(" \"{x}\""))
                    .unwrap_or_default(),
                describe(ours)
            ));
        }
    }
    for (i, b) in theirs.iter().enumerate().skip(spec.buttons.len()) {
        if dynamic_url(b) {
            problems.push(format!(
                "button {i} is a URL ending in {{{{1}}}}: add {{ url_suffix = \"...\" }} at position {i} of buttons"
            ));
        } else if b.kind.eq_ignore_ascii_case("QUICK_REPLY") {
            warnings.push(format!(
                "button {i}{} is a quick reply the config does not list: a tap comes back as its text, understood only if it reads like one of tagada's four",
                b.text.as_deref().map(|x| format!(" \"{x}\"")).unwrap_or_default()
            ));
        }
    }
}

fn describe(b: &ButtonSpec) -> String {
    match b {
        ButtonSpec::QuickReply(a) => format!("the quick reply `{}`", a.as_str()),
        ButtonSpec::Url { .. } => "a URL suffix".into(),
    }
}

/// The template as it must be approved for `spec` to be sent as configured,
/// in the shape Meta's template list returns (`name`, `language`, `status`
/// APPROVED, `category`, `components`): a DOCUMENT header when
/// `header_document` is set, a BODY taking `{{1}}`..`{{n}}`, and the
/// buttons in order (quick replies labelled in the template's language).
/// What to submit for approval, and the account a fake serves in tests.
pub fn expected_template(spec: &TemplateSpec) -> serde_json::Value {
    use serde_json::json;
    let mut components = Vec::new();
    if spec.header_document.is_some() {
        components.push(json!({ "type": "HEADER", "format": "DOCUMENT" }));
    }
    let body = (1..=spec.params.len())
        .map(|i| format!("{{{{{i}}}}}"))
        .collect::<Vec<_>>()
        .join(" ");
    components.push(json!({ "type": "BODY", "text": body }));
    if !spec.buttons.is_empty() {
        let buttons: Vec<serde_json::Value> = spec
            .buttons
            .iter()
            .map(|b| match b {
                ButtonSpec::QuickReply(a) => {
                    json!({ "type": "QUICK_REPLY", "text": a.label(&spec.whatsapp_language) })
                }
                ButtonSpec::Url { .. } => json!({
                    "type": "URL",
                    "text": "Pay now",
                    "url": "https://pay.example.com/{{1}}",
                }),
            })
            .collect();
        components.push(json!({ "type": "BUTTONS", "buttons": buttons }));
    }
    json!({
        "name": spec.whatsapp_name,
        "language": spec.whatsapp_language,
        "status": "APPROVED",
        "category": spec.category,
        "components": components,
    })
}

/// Fetches the account's templates and checks the config against them.
pub async fn fetch_and_check(
    cfg: &PlannerConfig,
    client: &Client,
) -> Result<TemplateCheck, ClientError> {
    let account = client.list_templates().await?;
    Ok(check(cfg, &account))
}

/// Keeps a check's verdicts as the templates' statuses, for the health page.
pub async fn record_check(
    store: &dyn tagada_store::Store,
    check: &TemplateCheck,
    now: jiff::Timestamp,
) -> Result<(), tagada_store::StoreError> {
    let rows: Vec<tagada_store::TemplateStatus> = check
        .templates
        .iter()
        .map(|t| tagada_store::TemplateStatus {
            name: t.whatsapp_name.clone(),
            language: t.language.clone(),
            status: t.status.clone(),
            category: t.category.clone(),
            detail: (!t.problems.is_empty()).then(|| t.problems.join("; ")),
            source: "check".into(),
            updated_at: now,
        })
        .collect();
    store.save_template_statuses(&rows).await
}

/// Fetches the account's templates, checks them and keeps the verdicts.
pub async fn check_and_record(
    store: &dyn tagada_store::Store,
    cfg: &PlannerConfig,
    client: &Client,
    now: jiff::Timestamp,
) -> anyhow::Result<TemplateCheck> {
    let check = fetch_and_check(cfg, client).await?;
    record_check(store, &check, now).await?;
    Ok(check)
}

/// A `message_template_status_update` webhook's value as a status: Meta
/// announces an approval, a rejection (with its reason), a pause or a
/// disablement. `None` when the value names no template.
pub fn status_from_webhook(
    value: &serde_json::Value,
    now: jiff::Timestamp,
) -> Option<tagada_store::TemplateStatus> {
    let text = |k: &str| value.get(k).and_then(serde_json::Value::as_str);
    let name = text("message_template_name")?;
    let language = text("message_template_language")?;
    let event = text("event")?;
    let mut detail: Vec<String> = Vec::new();
    if let Some(reason) = text("reason").filter(|r| !r.is_empty() && *r != "NONE") {
        detail.push(reason.to_string());
    }
    if let Some(info) = value.get("rejection_info") {
        for k in ["reason", "recommendation"] {
            if let Some(t) = info.get(k).and_then(serde_json::Value::as_str) {
                detail.push(t.to_string());
            }
        }
    }
    if let Some(t) = value
        .get("other_info")
        .and_then(|o| o.get("description"))
        .and_then(serde_json::Value::as_str)
    {
        detail.push(t.to_string());
    }
    Some(tagada_store::TemplateStatus {
        name: name.to_string(),
        language: language.to_string(),
        status: event.to_string(),
        category: text("message_template_category").map(str::to_string),
        detail: (!detail.is_empty()).then(|| detail.join(": ")),
        source: "webhook".into(),
        updated_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tagada_whatsapp::TemplateComponent;

    fn approved(name: &str, language: &str, params: usize) -> Template {
        let text = (1..=params)
            .map(|i| format!("{{{{{i}}}}}"))
            .collect::<Vec<_>>()
            .join(" ");
        Template {
            name: name.into(),
            language: language.into(),
            status: "APPROVED".into(),
            category: Some("UTILITY".into()),
            id: None,
            components: vec![TemplateComponent {
                kind: "BODY".into(),
                format: None,
                text: Some(text),
                buttons: vec![],
            }],
        }
    }

    /// The account as it should be for a config.
    fn matching_account(cfg: &PlannerConfig) -> Vec<Template> {
        let mut out: Vec<Template> = Vec::new();
        for t in &cfg.templates {
            let wanted: Template = serde_json::from_value(expected_template(t)).unwrap();
            if !out
                .iter()
                .any(|a| a.name == wanted.name && a.language == wanted.language)
            {
                out.push(wanted);
            }
        }
        out
    }

    #[test]
    fn a_matching_account_passes() {
        let cfg = PlannerConfig::default();
        let c = check(&cfg, &matching_account(&cfg));
        assert!(c.is_ok(), "{:?}", c.problems());
        assert!(c.warnings().is_empty());
        assert!(c.templates.len() > 5);
    }

    #[test]
    fn each_kind_of_problem_is_named() {
        let cfg = PlannerConfig::default();
        let mut account = matching_account(&cfg);
        let first = cfg.templates[0].clone();
        let second = cfg
            .templates
            .iter()
            .find(|t| t.whatsapp_name != first.whatsapp_name)
            .unwrap()
            .clone();
        // 1: missing in its language only.
        account
            .retain(|a| !(a.name == first.whatsapp_name && a.language == first.whatsapp_language));
        account.push(approved(&first.whatsapp_name, "xx", first.params.len()));
        // 2: pending, wrong count, a document header, marketing.
        for a in account
            .iter_mut()
            .filter(|a| a.name == second.whatsapp_name)
        {
            a.status = "PENDING".into();
            a.category = Some("MARKETING".into());
            a.components[0].text = Some("{{1}}".into());
            a.components.push(TemplateComponent {
                kind: "HEADER".into(),
                format: Some("DOCUMENT".into()),
                text: None,
                buttons: vec![],
            });
        }
        let c = check(&cfg, &account);
        assert!(!c.is_ok());
        let all = c.problems().join("\n");
        assert!(all.contains("not in this language"), "{all}");
        assert!(all.contains(", xx)"), "{all}");
        assert!(all.contains("status is PENDING"), "{all}");
        assert!(all.contains("takes 1 parameter(s)"), "{all}");
        assert!(all.contains("DOCUMENT header"), "{all}");
        assert!(all.contains("templates."), "names the config table: {all}");
        assert!(c.warnings().join("\n").contains("MARKETING"));
    }

    #[test]
    fn an_empty_account_fails_every_template() {
        let cfg = PlannerConfig::default();
        let c = check(&cfg, &[]);
        assert!(c.templates.iter().all(|t| t.status == "missing"));
        assert_eq!(c.problems().len(), c.templates.len());
    }

    /// Buttons are compared index by index; a header must match too.
    #[test]
    fn buttons_and_headers_are_compared() {
        use tagada_core::template::{DocumentSpec, ReplyButton};
        let cfg = PlannerConfig::default();
        let account = matching_account(&cfg);
        // The shipped config against an account whose templates have no
        // buttons: each template names the first button it cannot send.
        let bare: Vec<Template> = account
            .iter()
            .cloned()
            .map(|mut a| {
                a.components.retain(|c| c.kind != "BUTTONS");
                a
            })
            .collect();
        let c = check(&cfg, &bare);
        let all = c.problems().join("\n");
        assert!(
            all.contains("tagada sends button 0 (the quick reply `paid_already`); the approved template has 0 button(s)"),
            "{all}"
        );

        // A config with a URL button and a document header, against the
        // shipped account shape (quick replies only, no header).
        let mut ours = cfg.clone();
        for t in &mut ours.templates {
            t.buttons.insert(
                0,
                ButtonSpec::Url {
                    url_suffix: "'x'".into(),
                },
            );
            t.header_document = Some(DocumentSpec {
                link: "https://f.example/x.pdf".into(),
                filename: "x.pdf".into(),
            });
        }
        let c = check(&ours, &account);
        let all = c.problems().join("\n");
        assert!(
            all.contains("button 0 of the approved template is QUICK_REPLY \"Paid already\"; tagada sends a URL suffix there"),
            "{all}"
        );
        assert!(all.contains("the approved template has no header"), "{all}");
        // And the account that matches it passes.
        assert!(check(&ours, &matching_account(&ours)).is_ok());

        // An approved URL button we do not fill is a problem; an extra quick
        // reply only a warning.
        let mut fewer = cfg.clone();
        // (the receipt template has no buttons at all)
        for t in fewer.templates.iter_mut().filter(|t| !t.buttons.is_empty()) {
            t.buttons = vec![ButtonSpec::QuickReply(ReplyButton::PaidAlready)];
        }
        let c = check(&fewer, &account);
        assert!(c.is_ok(), "{:?}", c.problems());
        assert!(
            c.warnings().join("\n").contains(
                "button 1 \"Send invoice copy\" is a quick reply the config does not list"
            )
        );
        let c = check(&cfg, &matching_account(&ours));
        let all = c.problems().join("\n");
        assert!(
            all.contains("DOCUMENT header: set header_document"),
            "{all}"
        );
        assert!(
            all.contains("button 0 of the approved template is URL"),
            "{all}"
        );
    }
}
