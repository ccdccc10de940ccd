//! The fake's template registry and the check of a `type: "template"` send
//! body against it.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::errors::ApiError;

/// One message template as Meta stores it (the shape `GET message_templates`
/// returns).
#[derive(Debug, Clone, PartialEq)]
pub struct FakeTemplate {
    pub name: String,
    /// Language code, e.g. `en`, `hi`, `es`, `en_US`.
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`, ...
    pub status: String,
    /// `UTILITY`, `MARKETING`, `AUTHENTICATION`.
    pub category: String,
    pub id: String,
    /// Meta's component array: `HEADER` (`format` `TEXT`/`DOCUMENT`/`IMAGE`/...),
    /// `BODY` (`text` with `{{1}}`..`{{n}}`), `FOOTER`, `BUTTONS`.
    pub components: Value,
}

/// An account holding one APPROVED template per distinct (name, language)
/// given, each with a BODY of `params` placeholders and nothing else: the
/// account a client's own configuration expects. Items are
/// `(name, language, category, params)`; the first of a repeated pair wins.
pub fn body_only_account<'a>(
    templates: impl IntoIterator<Item = (&'a str, &'a str, &'a str, usize)>,
) -> Vec<FakeTemplate> {
    let mut out: Vec<FakeTemplate> = Vec::new();
    for (name, language, category, params) in templates {
        if out.iter().any(|t| t.name == name && t.language == language) {
            continue;
        }
        let text = (1..=params)
            .map(|i| format!("{{{{{i}}}}}"))
            .collect::<Vec<_>>()
            .join(" ");
        out.push(FakeTemplate {
            name: name.to_owned(),
            language: language.to_owned(),
            status: "APPROVED".to_owned(),
            category: category.to_owned(),
            id: format!("{}", 7_100_000 + out.len()),
            components: json!([{ "type": "BODY", "text": text }]),
        });
    }
    out
}

/// An account from templates in the shape Meta's template list returns
/// (`name`, `language`, `status`, `category`, `components`; `id` optional):
/// what a client says its templates must look like. The first of a
/// repeated (name, language) wins; entries without a name are skipped.
pub fn account_from_listing(templates: impl IntoIterator<Item = Value>) -> Vec<FakeTemplate> {
    let mut out: Vec<FakeTemplate> = Vec::new();
    for t in templates {
        let text = |k: &str, default: &str| t[k].as_str().unwrap_or(default).to_owned();
        let (name, language) = (text("name", ""), text("language", "en"));
        if name.is_empty() || out.iter().any(|x| x.name == name && x.language == language) {
            continue;
        }
        out.push(FakeTemplate {
            id: t["id"]
                .as_str()
                .map_or_else(|| format!("{}", 7_200_000 + out.len()), str::to_owned),
            status: text("status", "APPROVED"),
            category: text("category", "UTILITY"),
            components: t["components"].clone(),
            name,
            language,
        });
    }
    out
}

impl FakeTemplate {
    /// The JSON object the listing endpoint returns for this template.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "parameter_format": "POSITIONAL",
            "components": self.components,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "id": self.id,
        })
    }

    fn component(&self, kind: &str) -> Option<&Value> {
        self.components.as_array()?.iter().find(|c| {
            c["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(kind))
        })
    }

    /// Number of distinct `{{n}}` placeholders in the BODY.
    pub fn body_param_count(&self) -> usize {
        self.component("BODY")
            .and_then(|b| b["text"].as_str())
            .map_or(0, placeholder_count)
    }

    pub(crate) fn buttons(&self) -> Vec<Value> {
        self.component("BUTTONS")
            .and_then(|b| b["buttons"].as_array())
            .cloned()
            .unwrap_or_default()
    }
}

/// Distinct `{{n}}` placeholders in a template text.
pub(crate) fn placeholder_count(text: &str) -> usize {
    let mut seen = HashSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let inner = after[..end].trim();
                if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
                    seen.insert(inner.to_owned());
                }
                rest = &after[end + 2..];
            }
            None => break,
        }
    }
    seen.len()
}

struct Texts {
    body: [&'static str; 4],
    footer: &'static str,
    buttons: [&'static str; 5],
}

const EN: Texts = Texts {
    body: [
        "Hello {{1}}, a friendly reminder that invoice {{2}} for {{3}} is due on {{4}}. The invoice is attached; tap Pay now to pay online.",
        "Hello {{1}}, invoice {{2}} for {{3}} was due on {{4}} and is still unpaid. Please pay at your earliest convenience, or tell us if you have already paid.",
        "Hello {{1}}, this is a final reminder: invoice {{2}} for {{3}} has been overdue since {{4}}. Please pay today or talk to us.",
        "Thank you {{1}}! We received {{3}} against invoice {{2}} on {{4}}. Your receipt is attached.",
    ],
    footer: "Reply STOP to stop reminders.",
    buttons: [
        "Pay now",
        "Paid already",
        "Send invoice copy",
        "Talk to someone",
        "Stop reminders",
    ],
};

const HI: Texts = Texts {
    body: [
        "नमस्ते {{1}}, याद दिलाना चाहते हैं कि चालान {{2}} की राशि {{3}} की देय तिथि {{4}} है। चालान संलग्न है।",
        "नमस्ते {{1}}, चालान {{2}} की राशि {{3}} की देय तिथि {{4}} थी और भुगतान अभी बाकी है। कृपया जल्द भुगतान करें।",
        "नमस्ते {{1}}, अंतिम अनुस्मारक: चालान {{2}} की राशि {{3}} {{4}} से बकाया है। कृपया आज ही भुगतान करें।",
        "धन्यवाद {{1}}! चालान {{2}} के लिए {{3}} का भुगतान {{4}} को प्राप्त हुआ। रसीद संलग्न है।",
    ],
    footer: "रिमाइंडर बंद करने के लिए STOP लिखें।",
    buttons: [
        "अभी भुगतान करें",
        "भुगतान कर दिया",
        "चालान की कॉपी भेजें",
        "किसी से बात करें",
        "रिमाइंडर बंद करें",
    ],
};

const ES: Texts = Texts {
    body: [
        "Hola {{1}}, le recordamos que la factura {{2}} por {{3}} vence el {{4}}. Adjuntamos la factura.",
        "Hola {{1}}, la factura {{2}} por {{3}} venció el {{4}} y sigue pendiente de pago. Por favor, páguela cuanto antes.",
        "Hola {{1}}, último aviso: la factura {{2}} por {{3}} está vencida desde el {{4}}. Por favor, pague hoy o contáctenos.",
        "¡Gracias {{1}}! Recibimos {{3}} por la factura {{2}} el {{4}}. Adjuntamos el recibo.",
    ],
    footer: "Responda STOP para no recibir más avisos.",
    buttons: [
        "Pagar ahora",
        "Ya pagué",
        "Enviar copia de factura",
        "Hablar con alguien",
        "No más recordatorios",
    ],
};

/// Names of the default reminder templates, in cadence order.
pub const REMINDER_TEMPLATES: [&str; 3] = [
    "payment_reminder_due",
    "payment_reminder_overdue",
    "payment_reminder_final",
];

fn reminder_components(body: &str, footer: &str, buttons: Option<&[&str; 5]>) -> Value {
    let mut components = vec![
        json!({"type": "HEADER", "format": "DOCUMENT",
               "example": {"header_handle": ["https://files.example/invoice-INV-0042.pdf"]}}),
        json!({"type": "BODY", "text": body,
               "example": {"body_text": [["Asha Traders", "INV-0042", "₹12,500.00", "5 March 2026"]]}}),
        json!({"type": "FOOTER", "text": footer}),
    ];
    if let Some(b) = buttons {
        components.push(json!({"type": "BUTTONS", "buttons": [
            {"type": "URL", "text": b[0], "url": "https://pay.example/{{1}}",
             "example": ["https://pay.example/pl_7Hq2x9"]},
            {"type": "QUICK_REPLY", "text": b[1]},
            {"type": "QUICK_REPLY", "text": b[2]},
            {"type": "QUICK_REPLY", "text": b[3]},
            {"type": "QUICK_REPLY", "text": b[4]},
        ]}));
    }
    Value::Array(components)
}

/// The default registry (see the module documentation of [`crate::meta`]).
pub fn default_templates() -> Vec<FakeTemplate> {
    let names = [
        "payment_reminder_due",
        "payment_reminder_overdue",
        "payment_reminder_final",
        "payment_receipt",
    ];
    let mut out = Vec::new();
    let mut id: u64 = 1_180_000_000_000_001;
    for (lang, texts) in [("en", &EN), ("hi", &HI), ("es", &ES)] {
        for (i, name) in names.iter().enumerate() {
            let buttons = (i < 3).then_some(&texts.buttons);
            out.push(FakeTemplate {
                name: (*name).to_owned(),
                language: lang.to_owned(),
                status: "APPROVED".to_owned(),
                category: "UTILITY".to_owned(),
                id: id.to_string(),
                components: reminder_components(texts.body[i], texts.footer, buttons),
            });
            id += 1;
        }
    }
    out.push(FakeTemplate {
        name: "early_payment_offer".to_owned(),
        language: "en".to_owned(),
        status: "APPROVED".to_owned(),
        category: "MARKETING".to_owned(),
        id: id.to_string(),
        components: json!([
            {"type": "HEADER", "format": "TEXT", "text": "A thank-you offer"},
            {"type": "BODY", "text": "Hello {{1}}, pay invoice {{2}} by {{3}} and get {{4}} off.",
             "example": {"body_text": [["Asha Traders", "INV-0042", "10 March 2026", "2%"]]}},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop promotions"}]}
        ]),
    });
    id += 1;
    out.push(FakeTemplate {
        name: "payment_reminder_gentle".to_owned(),
        language: "en".to_owned(),
        status: "PENDING".to_owned(),
        category: "UTILITY".to_owned(),
        id: id.to_string(),
        components: reminder_components(EN.body[0], EN.footer, Some(&EN.buttons)),
    });
    out
}

/// What a valid template send resolved to.
#[derive(Debug, Clone)]
pub(crate) struct TemplateSend {
    pub name: String,
    pub language: String,
    pub category: String,
}

fn lower(v: &Value) -> Option<String> {
    v.as_str().map(str::to_ascii_lowercase)
}

/// Check the `template` object of a send body against the registry.
/// `media` holds the media ids the fake issued.
pub(crate) fn check_template_send(
    template: &Value,
    registry: &[FakeTemplate],
    media: &HashMap<String, super::UploadedMedia>,
) -> Result<TemplateSend, ApiError> {
    if !template.is_object() {
        return Err(ApiError::invalid_parameter(
            "The parameter template is required and must be an object.",
        ));
    }
    let name = template["name"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::invalid_parameter("The parameter template['name'] is required.")
        })?;
    let language = template["language"]["code"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::invalid_parameter("The parameter template['language']['code'] is required.")
        })?;
    let found = registry
        .iter()
        .find(|t| t.name == name && t.language == language)
        .ok_or_else(|| ApiError::template_missing(name, language))?;
    match found.status.as_str() {
        "APPROVED" => {}
        "PAUSED" => return Err(ApiError::template_paused(name)),
        "DISABLED" => return Err(ApiError::template_disabled(name)),
        // PENDING, REJECTED, IN_APPEAL, ...: Meta answers as if the
        // translation did not exist.
        _ => return Err(ApiError::template_missing(name, language)),
    }

    let sent = match &template["components"] {
        Value::Null => Vec::new(),
        Value::Array(a) => a.clone(),
        _ => {
            return Err(ApiError::invalid_parameter(
                "The parameter template['components'] must be an array.",
            ));
        }
    };

    let mut header: Option<&Value> = None;
    let mut body: Option<&Value> = None;
    let mut button_components: Vec<&Value> = Vec::new();
    for c in &sent {
        match lower(&c["type"]).as_deref() {
            Some("header") if header.is_none() => header = Some(c),
            Some("body") if body.is_none() => body = Some(c),
            Some("button") => button_components.push(c),
            Some(other @ ("header" | "body")) => {
                return Err(ApiError::invalid_value(format!(
                    "component of type {other} appears more than once"
                )));
            }
            other => {
                return Err(ApiError::invalid_parameter(format!(
                    "Invalid component type {}; expected header, body or button",
                    other.unwrap_or("(missing)")
                )));
            }
        }
    }

    check_header(found, header, media)?;
    check_body(found, body)?;
    check_buttons(found, &button_components)?;

    Ok(TemplateSend {
        name: found.name.clone(),
        language: found.language.clone(),
        category: found.category.clone(),
    })
}

fn params_of<'a>(component: Option<&'a Value>, what: &str) -> Result<&'a [Value], ApiError> {
    match component.map(|c| &c["parameters"]) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a.as_slice()),
        Some(_) => Err(ApiError::invalid_parameter(format!(
            "{what}: parameters must be an array"
        ))),
    }
}

fn count_mismatch(what: &str, got: usize, expected: usize) -> ApiError {
    ApiError::param_count(format!(
        "{what}: number of localizable_params ({got}) does not match the expected number of params ({expected})"
    ))
}

fn check_header(
    template: &FakeTemplate,
    sent: Option<&Value>,
    media: &HashMap<String, super::UploadedMedia>,
) -> Result<(), ApiError> {
    let params = params_of(sent, "header")?;
    let Some(def) = template.component("HEADER") else {
        if params.is_empty() {
            return Ok(());
        }
        return Err(count_mismatch("header", params.len(), 0));
    };
    let format = def["format"]
        .as_str()
        .unwrap_or("TEXT")
        .to_ascii_uppercase();
    if format == "TEXT" {
        let expected = def["text"].as_str().map_or(0, placeholder_count);
        if params.len() != expected {
            return Err(count_mismatch("header", params.len(), expected));
        }
        return params
            .iter()
            .try_for_each(|p| check_body_param(p, "header"));
    }
    // Media header: exactly one parameter of the matching media type.
    if params.len() != 1 {
        return Err(count_mismatch("header", params.len(), 1));
    }
    let p = &params[0];
    let kind = format.to_ascii_lowercase();
    let got = p["type"].as_str().unwrap_or("UNKNOWN");
    if !got.eq_ignore_ascii_case(&kind) {
        return Err(ApiError::param_format(format!(
            "header: Format mismatch, expected {format}, received {}",
            got.to_ascii_uppercase()
        )));
    }
    let object = &p[kind.as_str()];
    if let Some(id) = object["id"].as_str() {
        if !media.contains_key(id) {
            return Err(ApiError::invalid_value(format!(
                "header: invalid media id {id}"
            )));
        }
        return Ok(());
    }
    match object["link"].as_str() {
        Some(link) if link.starts_with("https://") || link.starts_with("http://") => Ok(()),
        Some(link) => Err(ApiError::invalid_value(format!(
            "header: {kind} link must be an http(s) URL, got {link:?}"
        ))),
        None => Err(ApiError::required_missing(format!(
            "header: {kind} parameter needs an id or a link"
        ))),
    }
}

fn check_body(template: &FakeTemplate, sent: Option<&Value>) -> Result<(), ApiError> {
    let params = params_of(sent, "body")?;
    let expected = template.body_param_count();
    if params.len() != expected {
        return Err(count_mismatch("body", params.len(), expected));
    }
    params.iter().try_for_each(|p| check_body_param(p, "body"))
}

fn check_param_text(text: &str) -> Result<(), ApiError> {
    if text.contains('\n') || text.contains('\t') || text.contains("     ") {
        return Err(ApiError::param_text_invalid());
    }
    Ok(())
}

fn check_body_param(p: &Value, what: &str) -> Result<(), ApiError> {
    let kind = p["type"].as_str().unwrap_or("");
    match kind {
        "text" => match p["text"].as_str() {
            Some(t) if t.trim().is_empty() => Err(ApiError::required_missing(format!(
                "{what}: Parameter of type text is missing text value"
            ))),
            Some(t) => check_param_text(t),
            None => Err(ApiError::param_format(format!(
                "{what}: parameter of type text needs a string `text`"
            ))),
        },
        "currency" => {
            let c = &p["currency"];
            let ok = c["fallback_value"].as_str().is_some()
                && c["code"].as_str().is_some_and(|code| {
                    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
                })
                // The spec types amount_1000 as int32.
                && c["amount_1000"]
                    .as_i64()
                    .is_some_and(|a| i32::try_from(a).is_ok());
            if ok {
                Ok(())
            } else {
                Err(ApiError::param_format(format!(
                    "{what}: currency parameter needs fallback_value, code (ISO 4217) and an int32 amount_1000"
                )))
            }
        }
        "date_time" => {
            if p["date_time"]["fallback_value"].as_str().is_some() {
                Ok(())
            } else {
                Err(ApiError::param_format(format!(
                    "{what}: date_time parameter needs fallback_value"
                )))
            }
        }
        other => Err(ApiError::param_format(format!(
            "{what}: parameter of type {other:?} is not allowed here; expected text, currency or date_time"
        ))),
    }
}

pub(crate) fn parse_index(v: &Value) -> Option<usize> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        _ => None,
    }
}

fn check_buttons(template: &FakeTemplate, sent: &[&Value]) -> Result<(), ApiError> {
    let defs = template.buttons();
    let mut covered = HashSet::new();
    for c in sent {
        let sub_type = lower(&c["sub_type"]).unwrap_or_default();
        let expected_type = match sub_type.as_str() {
            "url" => "URL",
            "quick_reply" => "QUICK_REPLY",
            other => {
                return Err(ApiError::invalid_parameter(format!(
                    "button: sub_type must be url or quick_reply, got {other:?}"
                )));
            }
        };
        let index = parse_index(&c["index"]).ok_or_else(|| {
            ApiError::invalid_parameter(
                "button: index is required (the button's position, \"0\"..)",
            )
        })?;
        let def = defs.get(index).ok_or_else(|| {
            ApiError::invalid_value(format!(
                "button: index {index} is out of range; the template has {} buttons",
                defs.len()
            ))
        })?;
        let def_type = def["type"].as_str().unwrap_or("").to_ascii_uppercase();
        if def_type != expected_type {
            return Err(ApiError::invalid_value(format!(
                "button at index {index} is a {def_type} button, not {expected_type}"
            )));
        }
        if !covered.insert(index) {
            return Err(ApiError::invalid_value(format!(
                "button at index {index} appears more than once"
            )));
        }
        let params = params_of(Some(c), "button")?;
        if expected_type == "URL" {
            let expected = def["url"].as_str().map_or(0, placeholder_count);
            if params.len() != expected {
                return Err(count_mismatch("button", params.len(), expected));
            }
            for p in params {
                match (p["type"].as_str(), p["text"].as_str()) {
                    (Some("text"), Some(t)) if !t.trim().is_empty() => {}
                    (Some("text"), _) => {
                        return Err(ApiError::required_missing(
                            "button: url parameter needs a non-empty text (the URL suffix)",
                        ));
                    }
                    _ => {
                        return Err(ApiError::param_format(
                            "button: url buttons take a parameter of type text",
                        ));
                    }
                }
            }
        } else {
            if params.len() != 1 {
                return Err(count_mismatch("button", params.len(), 1));
            }
            let p = &params[0];
            if p["type"].as_str() != Some("payload") || p["payload"].as_str().is_none() {
                return Err(ApiError::param_format(
                    "button: quick_reply buttons take a parameter of type payload with a string payload",
                ));
            }
        }
    }
    // A dynamic URL button that was not given its suffix.
    for (index, def) in defs.iter().enumerate() {
        let is_url = def["type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("URL"));
        let dynamic = def["url"].as_str().map_or(0, placeholder_count);
        if is_url && dynamic > 0 && !covered.contains(&index) {
            return Err(count_mismatch("button", 0, dynamic));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(components: Value) -> Value {
        json!({"name": "payment_reminder_due", "language": {"code": "en"}, "components": components})
    }

    fn good_components() -> Value {
        json!([
            {"type": "header", "parameters": [{"type": "document", "document": {"link": "https://files.example/a.pdf", "filename": "a.pdf"}}]},
            {"type": "body", "parameters": [
                {"type": "text", "text": "Asha"},
                {"type": "text", "text": "INV-1"},
                {"type": "currency", "currency": {"fallback_value": "₹1,250.00", "code": "INR", "amount_1000": 1_250_000}},
                {"type": "date_time", "date_time": {"fallback_value": "5 March 2026"}}
            ]},
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "pl_1"}]},
            {"type": "button", "sub_type": "quick_reply", "index": 1, "parameters": [{"type": "payload", "payload": "PAID:42"}]}
        ])
    }

    fn check(t: &Value) -> Result<TemplateSend, ApiError> {
        check_template_send(t, &default_templates(), &HashMap::new())
    }

    #[test]
    fn placeholders_are_counted_once() {
        assert_eq!(placeholder_count("{{1}} {{2}} {{1}} {{ 3 }} {{x}}"), 3);
        assert_eq!(placeholder_count("none"), 0);
        assert_eq!(placeholder_count("{{1"), 0);
    }

    #[test]
    fn default_registry_shape() {
        let all = default_templates();
        assert_eq!(all.len(), 14);
        for t in all.iter().filter(|t| t.name != "early_payment_offer") {
            assert_eq!(t.body_param_count(), 4, "{}", t.name);
        }
        let ids: HashSet<_> = all.iter().map(|t| t.id.clone()).collect();
        assert_eq!(ids.len(), all.len());
        let due = &all[0];
        assert_eq!(due.buttons()[0]["type"], "URL");
        assert_eq!(due.buttons().len(), 5);
    }

    #[test]
    fn a_complete_reminder_passes() {
        let ok = check(&send(good_components())).expect("valid");
        assert_eq!(ok.category, "UTILITY");
    }

    #[test]
    fn the_url_suffix_is_required() {
        let mut c = good_components();
        c.as_array_mut().expect("array").remove(2);
        assert_eq!(check(&send(c)).map_err(|e| e.code).err(), Some(132000));
    }

    #[test]
    fn wrong_button_type_or_index_is_rejected() {
        let mut c = good_components();
        c[2]["index"] = json!("1");
        assert_eq!(check(&send(c)).map_err(|e| e.code).err(), Some(131009));
        let mut c = good_components();
        c[3]["index"] = json!("9");
        assert_eq!(check(&send(c)).map_err(|e| e.code).err(), Some(131009));
        let mut c = good_components();
        c[3]["index"] = json!(null);
        assert_eq!(check(&send(c)).map_err(|e| e.code).err(), Some(100));
    }

    #[test]
    fn malformed_parameters_are_132012() {
        let mut c = good_components();
        c[1]["parameters"][2] =
            json!({"type": "currency", "currency": {"code": "INR", "amount_1000": 1}});
        assert_eq!(check(&send(c)).map_err(|e| e.code).err(), Some(132012));
        let mut c = good_components();
        c[1]["parameters"][2] = json!({"type": "currency", "currency": {"fallback_value": "₹50,00,000.00", "code": "INR", "amount_1000": 5_000_000_000i64}});
        assert_eq!(check(&send(c)).map_err(|e| e.code).err(), Some(132012));
        let mut c = good_components();
        c[1]["parameters"][3] = json!({"type": "date_time", "date_time": {}});
        assert_eq!(check(&send(c)).map_err(|e| e.code).err(), Some(132012));
        let mut c = good_components();
        c[0]["parameters"][0] = json!({"type": "image", "image": {"link": "https://x/y.png"}});
        assert_eq!(check(&send(c)).map_err(|e| e.code).err(), Some(132012));
    }

    #[test]
    fn newlines_in_text_params_are_132018() {
        let mut c = good_components();
        c[1]["parameters"][0] = json!({"type": "text", "text": "a\nb"});
        assert_eq!(check(&send(c)).map_err(|e| e.code).err(), Some(132018));
    }

    #[test]
    fn unknown_media_id_and_missing_document_are_rejected() {
        let mut c = good_components();
        c[0]["parameters"][0] = json!({"type": "document", "document": {"id": "999"}});
        assert_eq!(check(&send(c)).map_err(|e| e.code).err(), Some(131009));
        let mut c = good_components();
        c.as_array_mut().expect("array").remove(0);
        assert_eq!(check(&send(c)).map_err(|e| e.code).err(), Some(132000));
    }

    #[test]
    fn status_and_language_are_checked() {
        let mut t = send(good_components());
        t["name"] = json!("payment_reminder_gentle");
        assert_eq!(check(&t).map_err(|e| e.code).err(), Some(132001));
        let mut t = send(good_components());
        t["language"]["code"] = json!("fr");
        assert_eq!(check(&t).map_err(|e| e.http).err(), Some(404));
    }
}
