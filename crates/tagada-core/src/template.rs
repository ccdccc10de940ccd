//! Message templates: WhatsApp template specs, the context they render
//! against, lookup by key, tone and language, and validation against
//! WhatsApp's rules.
//!
//! A template has a `body` (the full text, as the approved WhatsApp template
//! reads with its `{{1}}`, `{{2}}`... filled in) and `params` (the ordered
//! expressions that fill `{{1}}`, `{{2}}`...). Both are minijinja over the
//! same context, with auto-escaping off and undefined variables an error.
//!
//! Lookup of `(key, tone, language)`: `{key}_{tone}` then `{key}` in the
//! buyer's language, then the same two in English.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};

use crate::cadence::{Cadence, ConfigIssue};
use crate::planner::{MessageKind, RenderedButton, RenderedDocument, RenderedMessage};
use crate::{Currency, Money};

/// WhatsApp's limit on a template body, in characters.
pub const MAX_BODY_CHARS: usize = 1024;
/// Invoices spelled out in `invoice_list`; the rest are counted (`… (+3)`).
pub const MAX_LISTED_INVOICES: usize = 5;
/// WhatsApp's limits on a template's buttons.
pub const MAX_BUTTONS: usize = 10;
pub const MAX_URL_BUTTONS: usize = 2;

/// One template in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSpec {
    /// Config key (`overdue`, `overdue_friendly`...).
    pub key: String,
    /// Our language code (`en`, `hi`, `es`).
    pub language: String,
    /// The approved WhatsApp template's name and language code (`en`, `en_US`, `hi`).
    pub whatsapp_name: String,
    pub whatsapp_language: String,
    /// WhatsApp category; reminders are `UTILITY`.
    pub category: String,
    /// The full text, minijinja.
    pub body: String,
    /// Expressions for `{{1}}`, `{{2}}`... in order.
    pub params: Vec<String>,
    /// The number of `{{n}}` placeholders of the approved template, when
    /// known; validation checks `params` against it.
    pub param_count: Option<usize>,
    /// A document header (the invoice PDF by link), when the approved
    /// template has one.
    pub header_document: Option<DocumentSpec>,
    /// The approved template's buttons, in its order.
    pub buttons: Vec<ButtonSpec>,
}

/// A document header: `link` and `filename` are minijinja text over the
/// message's variables (`https://files.example.com/{{ invoice_numbers }}.pdf`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSpec {
    pub link: String,
    pub filename: String,
}

/// One button of an approved template. Meta numbers the buttons from 0
/// across all of them, URL and quick replies together, so `buttons` lists
/// them in the template's order. In TOML a quick reply is its action's
/// name and a URL button a table:
/// `buttons = [{ url_suffix = "payment_link | replace('https://pay.example.com/', '')" }, "paid_already", "stop_reminders"]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ButtonSpec {
    /// A quick reply: a tap comes back as `<CODE>:<outbox id>` (`PAID:42`).
    QuickReply(ReplyButton),
    /// A URL button whose URL ends in `{{1}}`: `url_suffix` is the
    /// expression that fills it (like a body parameter).
    Url { url_suffix: String },
}

/// What a quick-reply button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyButton {
    PaidAlready,
    SendInvoiceCopy,
    TalkToSomeone,
    StopReminders,
}

impl ReplyButton {
    pub const ALL: [ReplyButton; 4] = [
        ReplyButton::PaidAlready,
        ReplyButton::SendInvoiceCopy,
        ReplyButton::TalkToSomeone,
        ReplyButton::StopReminders,
    ];

    /// The payload prefix (`PAID`, `COPY`, `CALL`, `STOP`); the WhatsApp
    /// client and the reply parser use the same codes.
    pub fn code(self) -> &'static str {
        match self {
            ReplyButton::PaidAlready => "PAID",
            ReplyButton::SendInvoiceCopy => "COPY",
            ReplyButton::TalkToSomeone => "CALL",
            ReplyButton::StopReminders => "STOP",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReplyButton::PaidAlready => "paid_already",
            ReplyButton::SendInvoiceCopy => "send_invoice_copy",
            ReplyButton::TalkToSomeone => "talk_to_someone",
            ReplyButton::StopReminders => "stop_reminders",
        }
    }

    /// The button's text in an approved template (`en`, `hi`, `es`; English
    /// otherwise), as `tagada templates show` suggests it.
    pub fn label(self, language: &str) -> &'static str {
        let i = ReplyButton::ALL
            .iter()
            .position(|b| *b == self)
            .unwrap_or_default();
        let labels = match language.split(['_', '-']).next().unwrap_or("en") {
            "hi" => ["भुगतान हो गया", "इनवॉइस कॉपी भेजें", "बात करें", "रिमाइंडर बंद करें"],
            "es" => [
                "Ya pagué",
                "Enviar factura",
                "Hablar con alguien",
                "No más avisos",
            ],
            _ => [
                "Paid already",
                "Send invoice copy",
                "Talk to someone",
                "Stop reminders",
            ],
        };
        labels[i]
    }
}

/// The quick replies of the shipped templates.
pub fn default_buttons() -> Vec<ButtonSpec> {
    ReplyButton::ALL
        .into_iter()
        .map(ButtonSpec::QuickReply)
        .collect()
}

/// Serde for the templates table: `[templates.<key>.<language>]`.
pub mod table {
    use super::*;
    use serde::{Deserializer, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        whatsapp_name: String,
        /// Defaults to the table's language key.
        #[serde(default)]
        whatsapp_language: Option<String>,
        #[serde(default = "utility")]
        category: String,
        body: String,
        params: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        param_count: Option<usize>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        header_document: Option<DocumentSpec>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        buttons: Vec<ButtonSpec>,
    }

    fn utility() -> String {
        "UTILITY".to_string()
    }

    pub fn serialize<S: Serializer>(specs: &[TemplateSpec], s: S) -> Result<S::Ok, S::Error> {
        let mut map: BTreeMap<&str, BTreeMap<&str, Entry>> = BTreeMap::new();
        for t in specs {
            map.entry(&t.key).or_default().insert(
                &t.language,
                Entry {
                    whatsapp_name: t.whatsapp_name.clone(),
                    whatsapp_language: Some(t.whatsapp_language.clone()),
                    category: t.category.clone(),
                    body: t.body.clone(),
                    params: t.params.clone(),
                    param_count: t.param_count,
                    header_document: t.header_document.clone(),
                    buttons: t.buttons.clone(),
                },
            );
        }
        map.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<TemplateSpec>, D::Error> {
        let map = BTreeMap::<String, BTreeMap<String, Entry>>::deserialize(d)?;
        let mut out = Vec::new();
        for (key, langs) in map {
            for (language, e) in langs {
                out.push(TemplateSpec {
                    whatsapp_language: e.whatsapp_language.unwrap_or_else(|| language.clone()),
                    key: key.clone(),
                    language,
                    whatsapp_name: e.whatsapp_name,
                    category: e.category,
                    body: e.body,
                    params: e.params,
                    param_count: e.param_count,
                    header_document: e.header_document,
                    buttons: e.buttons,
                });
            }
        }
        Ok(out)
    }
}

/// One invoice as a message shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLine {
    pub number: String,
    pub amount: Money,
    pub outstanding: Money,
    pub due_date: Date,
    /// Days past due on the day the message goes out (negative before).
    pub days_overdue: i32,
    pub payment_link: String,
}

/// What a template can say. Text is cleaned before rendering: tabs, newlines
/// and runs of spaces become one space (WhatsApp refuses them in parameters).
///
/// Variables: `buyer_name`, `company` (the buyer's company, else their name),
/// `seller_company`, `sales_rep` (else the seller's company), `invoice_numbers`
/// (`INV-1, INV-2`), `invoice_count`, `invoices` (list of `{number, amount,
/// outstanding, due_date, days_overdue, currency, line, payment_link}`),
/// `invoice_list` (one line: `INV-1: ₹1,000.00 (04 Dec 2026); …`, at most
/// [`MAX_LISTED_INVOICES`] then `… (+N)`), `total_outstanding` (per currency,
/// joined with ` + `), `due_date` (earliest, `04 Dec 2026`), `days_overdue`
/// (largest), `days_until_due` (to the earliest due date, 0 once due),
/// `payment_link`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContext {
    pub buyer_name: String,
    pub company: String,
    pub seller_company: String,
    pub sales_rep: String,
    /// Most overdue first.
    pub invoices: Vec<InvoiceLine>,
    pub payment_link: String,
}

/// `04 Dec 2026`.
pub fn format_date(d: Date) -> String {
    d.strftime("%d %b %Y").to_string()
}

/// Collapses every run of whitespace or control characters into one space
/// and trims the ends.
pub fn clean_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Sums per currency, in order of first appearance, joined with ` + `.
fn total_by_currency<'a>(amounts: impl Iterator<Item = &'a Money>) -> String {
    let mut totals: Vec<(Currency, i64)> = Vec::new();
    for m in amounts {
        match totals.iter_mut().find(|(c, _)| *c == m.currency()) {
            Some((_, sum)) => *sum = sum.saturating_add(m.minor()),
            None => totals.push((m.currency(), m.minor())),
        }
    }
    totals
        .into_iter()
        .map(|(c, minor)| Money::from_minor(minor, c).to_string())
        .collect::<Vec<_>>()
        .join(" + ")
}

impl InvoiceLine {
    /// `INV-1: ₹1,18,000.00 (04 Dec 2026)` — outstanding and due date.
    pub fn line(&self) -> String {
        format!(
            "{}: {} ({})",
            clean_text(&self.number),
            self.outstanding,
            format_date(self.due_date)
        )
    }
}

impl MessageContext {
    pub(crate) fn to_value(&self) -> Value {
        let mut m: BTreeMap<String, Value> = BTreeMap::new();
        let s = |v: &str| Value::from(clean_text(v));
        m.insert("buyer_name".into(), s(&self.buyer_name));
        m.insert("company".into(), s(&self.company));
        m.insert("seller_company".into(), s(&self.seller_company));
        m.insert("sales_rep".into(), s(&self.sales_rep));
        m.insert("payment_link".into(), s(&self.payment_link));
        let numbers: Vec<String> = self
            .invoices
            .iter()
            .map(|i| clean_text(&i.number))
            .collect();
        m.insert("invoice_numbers".into(), Value::from(numbers.join(", ")));
        m.insert("invoice_count".into(), Value::from(self.invoices.len()));
        let lines: Vec<String> = self.invoices.iter().map(InvoiceLine::line).collect();
        let mut list = lines
            .iter()
            .take(MAX_LISTED_INVOICES)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        if lines.len() > MAX_LISTED_INVOICES {
            list.push_str(&format!(" … (+{})", lines.len() - MAX_LISTED_INVOICES));
        }
        m.insert("invoice_list".into(), Value::from(list));
        let invoices: Vec<Value> = self
            .invoices
            .iter()
            .zip(lines)
            .map(|(i, line)| {
                let mut o: BTreeMap<String, Value> = BTreeMap::new();
                o.insert("number".into(), s(&i.number));
                o.insert("amount".into(), Value::from(i.amount.to_string()));
                o.insert("outstanding".into(), Value::from(i.outstanding.to_string()));
                o.insert("due_date".into(), Value::from(format_date(i.due_date)));
                o.insert("days_overdue".into(), Value::from(i.days_overdue));
                o.insert(
                    "currency".into(),
                    Value::from(i.outstanding.currency().code()),
                );
                o.insert("line".into(), Value::from(line));
                o.insert("payment_link".into(), s(&i.payment_link));
                Value::from(o)
            })
            .collect();
        m.insert("invoices".into(), Value::from(invoices));
        m.insert(
            "total_outstanding".into(),
            Value::from(total_by_currency(
                self.invoices.iter().map(|i| &i.outstanding),
            )),
        );
        let earliest = self.invoices.iter().map(|i| i.due_date).min();
        m.insert(
            "due_date".into(),
            Value::from(earliest.map(format_date).unwrap_or_default()),
        );
        let max_overdue = self
            .invoices
            .iter()
            .map(|i| i.days_overdue)
            .max()
            .unwrap_or(0);
        m.insert("days_overdue".into(), Value::from(max_overdue));
        m.insert("days_until_due".into(), Value::from((-max_overdue).max(0)));
        Value::from(m)
    }

    /// A one-invoice context used to check templates.
    pub fn sample() -> MessageContext {
        MessageContext {
            buyer_name: "Rajesh Kumar".into(),
            company: "Kumar Textiles Pvt Ltd".into(),
            seller_company: "Shree Ganesh Exports".into(),
            sales_rep: "Priya Sharma".into(),
            invoices: vec![InvoiceLine {
                number: "INV-2026-0142".into(),
                amount: Money::from_minor(118_000 * 100, Currency::INR),
                outstanding: Money::from_minor(118_000 * 100, Currency::INR),
                due_date: jiff::civil::date(2026, 11, 15),
                days_overdue: 16,
                payment_link: "https://pay.example.com/pay/INV-2026-0142".into(),
            }],
            payment_link: "https://pay.example.com/pay/INV-2026-0142".into(),
        }
    }

    /// A context listing more invoices than `invoice_list` spells out, in two
    /// currencies, used to check templates against long messages.
    pub fn sample_consolidated() -> MessageContext {
        let mut ctx = MessageContext::sample();
        ctx.invoices = (0..(MAX_LISTED_INVOICES as i64 + 2))
            .map(|k| {
                let cur = if k % 3 == 2 {
                    Currency::USD
                } else {
                    Currency::INR
                };
                let amount = Money::from_minor(1_234_567 * 100 + 89 + k * 100_000, cur);
                InvoiceLine {
                    number: format!("EXP/2026-27/{:05}", 140 + k),
                    amount,
                    outstanding: amount,
                    due_date: jiff::civil::date(2026, 10, 1 + k as i8),
                    days_overdue: 61 - k as i32,
                    payment_link: format!(
                        "https://pay.example.com/pay/EXP%2F2026-27%2F{:05}",
                        140 + k
                    ),
                }
            })
            .collect();
        ctx.payment_link = ctx.invoices[0].payment_link.clone();
        ctx
    }
}

/// Why a template could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("no template `{key}` (tone `{tone}`) in `{language}` or `en`")]
    NotFound {
        key: String,
        tone: String,
        language: String,
    },
    #[error("template {name} does not compile: {message}")]
    Compile { name: String, message: String },
    #[error("template {name} failed to render: {message}")]
    Render { name: String, message: String },
    #[error("template {name} renders {chars} characters; WhatsApp allows {MAX_BODY_CHARS}")]
    TooLong { name: String, chars: usize },
    #[error("template {name} parameter {{{{{index}}}}}: {message}")]
    BadParam {
        name: String,
        index: usize,
        message: String,
    },
    /// A header or button value WhatsApp would refuse.
    #[error("{name}: {message}")]
    BadPart { name: String, message: String },
}

/// A set of templates compiled once, ready to render many messages.
#[derive(Debug)]
pub struct TemplateSet {
    env: Environment<'static>,
    specs: Vec<TemplateSpec>,
    index: HashMap<(String, String), usize>,
    /// Per spec: the first compile error, if any.
    broken: Vec<Option<String>>,
    /// Specs that repeat an earlier `(key, language)` (ignored for lookup).
    duplicates: Vec<usize>,
}

fn body_name(t: &TemplateSpec) -> String {
    format!("templates.{}.{}.body", t.key, t.language)
}

fn param_name(t: &TemplateSpec, i: usize) -> String {
    format!("templates.{}.{}.params[{i}]", t.key, t.language)
}

fn button_name(t: &TemplateSpec, i: usize) -> String {
    format!("templates.{}.{}.buttons[{i}].url_suffix", t.key, t.language)
}

fn document_name(t: &TemplateSpec, field: &str) -> String {
    format!("templates.{}.{}.header_document.{field}", t.key, t.language)
}

impl TemplateSet {
    /// Compiles every template. Compile errors do not fail the whole set: the
    /// broken template reports its error when used or validated.
    pub fn new(specs: &[TemplateSpec]) -> TemplateSet {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        let mut index = HashMap::new();
        let mut broken = Vec::with_capacity(specs.len());
        let mut duplicates = Vec::new();
        for (i, t) in specs.iter().enumerate() {
            if index
                .insert((t.key.clone(), t.language.clone()), i)
                .is_some()
            {
                duplicates.push(i);
            }
            let mut err = env
                .add_template_owned(body_name(t), t.body.clone())
                .err()
                .map(|e| e.to_string());
            for (p, expr) in t.params.iter().enumerate() {
                if let Err(e) =
                    env.add_template_owned(param_name(t, p), format!("{{{{ {expr} }}}}"))
                {
                    err.get_or_insert(e.to_string());
                }
            }
            for (b, button) in t.buttons.iter().enumerate() {
                if let ButtonSpec::Url { url_suffix } = button
                    && let Err(e) =
                        env.add_template_owned(button_name(t, b), format!("{{{{ {url_suffix} }}}}"))
                {
                    err.get_or_insert(e.to_string());
                }
            }
            if let Some(doc) = &t.header_document {
                for (field, text) in [("link", &doc.link), ("filename", &doc.filename)] {
                    if let Err(e) = env.add_template_owned(document_name(t, field), text.clone()) {
                        err.get_or_insert(e.to_string());
                    }
                }
            }
            broken.push(err);
        }
        // the last of duplicates wins in `index`; keep the first instead
        for (i, t) in specs.iter().enumerate().rev() {
            index.insert((t.key.clone(), t.language.clone()), i);
        }
        TemplateSet {
            env,
            specs: specs.to_vec(),
            index,
            broken,
            duplicates,
        }
    }

    pub fn specs(&self) -> &[TemplateSpec] {
        &self.specs
    }

    /// Whether a template exists for exactly this key and language.
    pub fn contains(&self, key: &str, language: &str) -> bool {
        self.index
            .contains_key(&(key.to_string(), language.to_string()))
    }

    /// The template for `(key, tone, language)`: `{key}_{tone}` then `key`,
    /// in `language` then in `en`.
    pub fn resolve(&self, key: &str, tone: &str, language: &str) -> Option<&TemplateSpec> {
        self.resolve_index(key, tone, language)
            .map(|i| &self.specs[i])
    }

    fn resolve_index(&self, key: &str, tone: &str, language: &str) -> Option<usize> {
        let toned = (!tone.is_empty()).then(|| format!("{key}_{tone}"));
        let keys = toned.iter().map(String::as_str).chain([key]);
        let keys: Vec<&str> = keys.collect();
        for lang in [language, "en"] {
            for k in &keys {
                if let Some(i) = self.index.get(&(k.to_string(), lang.to_string())) {
                    return Some(*i);
                }
            }
        }
        None
    }

    /// Resolves and renders a message.
    pub fn render(
        &self,
        key: &str,
        tone: &str,
        language: &str,
        ctx: &MessageContext,
    ) -> Result<RenderedMessage, TemplateError> {
        let i = self
            .resolve_index(key, tone, language)
            .ok_or_else(|| TemplateError::NotFound {
                key: key.to_string(),
                tone: tone.to_string(),
                language: language.to_string(),
            })?;
        self.render_spec(i, &ctx.to_value())
    }

    /// Renders spec `i` and checks the result against WhatsApp's rules.
    fn render_spec(&self, i: usize, ctx: &Value) -> Result<RenderedMessage, TemplateError> {
        let t = &self.specs[i];
        if let Some(message) = &self.broken[i] {
            return Err(TemplateError::Compile {
                name: format!("templates.{}.{}", t.key, t.language),
                message: message.clone(),
            });
        }
        let render = |name: String| -> Result<String, TemplateError> {
            let tmpl = self
                .env
                .get_template(&name)
                .map_err(|e| TemplateError::Compile {
                    name: name.clone(),
                    message: e.to_string(),
                })?;
            tmpl.render(ctx).map_err(|e| TemplateError::Render {
                name,
                message: error_chain(&e),
            })
        };
        let body = render(body_name(t))?;
        let chars = body.chars().count();
        if chars > MAX_BODY_CHARS {
            return Err(TemplateError::TooLong {
                name: body_name(t),
                chars,
            });
        }
        let mut parameters = Vec::with_capacity(t.params.len());
        for p in 0..t.params.len() {
            let value = render(param_name(t, p))?;
            if let Some(message) = param_problem(&value) {
                return Err(TemplateError::BadParam {
                    name: format!("templates.{}.{}", t.key, t.language),
                    index: p + 1,
                    message,
                });
            }
            parameters.push(value);
        }
        let header_document = match &t.header_document {
            None => None,
            Some(_) => {
                let link = render(document_name(t, "link"))?;
                if !(link.starts_with("https://") || link.starts_with("http://"))
                    || link.contains(char::is_whitespace)
                {
                    return Err(TemplateError::BadPart {
                        name: document_name(t, "link"),
                        message: format!("`{link}` is not an http(s) URL"),
                    });
                }
                let filename = render(document_name(t, "filename"))?;
                if let Some(message) = param_problem(&filename) {
                    return Err(TemplateError::BadPart {
                        name: document_name(t, "filename"),
                        message,
                    });
                }
                Some(RenderedDocument { link, filename })
            }
        };
        let mut buttons = Vec::with_capacity(t.buttons.len());
        for (i, b) in t.buttons.iter().enumerate() {
            let index = u8::try_from(i).unwrap_or(u8::MAX);
            buttons.push(match b {
                ButtonSpec::QuickReply(action) => RenderedButton::QuickReply {
                    index,
                    action: *action,
                },
                ButtonSpec::Url { .. } => {
                    let suffix = render(button_name(t, i))?;
                    if let Some(message) = param_problem(&suffix)
                        .or_else(|| suffix.contains(' ').then(|| "contains a space".to_string()))
                    {
                        return Err(TemplateError::BadPart {
                            name: button_name(t, i),
                            message,
                        });
                    }
                    RenderedButton::Url { index, suffix }
                }
            });
        }
        Ok(RenderedMessage {
            template_key: t.key.clone(),
            whatsapp_name: t.whatsapp_name.clone(),
            language: t.whatsapp_language.clone(),
            parameters,
            body,
            kind: MessageKind::Template,
            header_document,
            buttons,
        })
    }

    /// Checks every template: it compiles, renders against sample contexts
    /// with no undefined variable, the body fits WhatsApp's 1024 characters,
    /// each parameter is non-empty with no newline, tab or more than four
    /// consecutive spaces, `params` matches `param_count` and follows the
    /// body's placeholders; and every template key a cadence (or
    /// consolidation) uses exists in English.
    pub fn validate(
        &self,
        cadences: &BTreeMap<String, Cadence>,
        consolidated_template: &str,
    ) -> Result<(), Vec<ConfigIssue>> {
        let mut issues = Vec::new();
        for i in &self.duplicates {
            let t = &self.specs[*i];
            issues.push(ConfigIssue::new(
                format!("templates.{}.{}", t.key, t.language),
                "defined twice",
            ));
        }
        let samples = [
            MessageContext::sample().to_value(),
            MessageContext::sample_consolidated().to_value(),
        ];
        for (i, t) in self.specs.iter().enumerate() {
            let key = format!("templates.{}.{}", t.key, t.language);
            if t.whatsapp_name.is_empty()
                || t.whatsapp_name.len() > 512
                || !t
                    .whatsapp_name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                issues.push(ConfigIssue::new(
                    format!("{key}.whatsapp_name"),
                    "must be 1-512 characters of a-z, 0-9 and _",
                ));
            }
            if !matches!(
                t.category.as_str(),
                "UTILITY" | "MARKETING" | "AUTHENTICATION"
            ) {
                issues.push(ConfigIssue::new(
                    format!("{key}.category"),
                    "must be UTILITY, MARKETING or AUTHENTICATION",
                ));
            }
            if let Some(n) = t.param_count
                && n != t.params.len()
            {
                issues.push(ConfigIssue::new(
                    format!("{key}.params"),
                    format!(
                        "{} parameters but the approved template has {n}",
                        t.params.len()
                    ),
                ));
            }
            let urls = t
                .buttons
                .iter()
                .filter(|b| matches!(b, ButtonSpec::Url { .. }))
                .count();
            let mut actions = std::collections::HashSet::new();
            if t.buttons.len() > MAX_BUTTONS {
                issues.push(ConfigIssue::new(
                    format!("{key}.buttons"),
                    format!("WhatsApp allows at most {MAX_BUTTONS} buttons"),
                ));
            }
            if urls > MAX_URL_BUTTONS {
                issues.push(ConfigIssue::new(
                    format!("{key}.buttons"),
                    format!("WhatsApp allows at most {MAX_URL_BUTTONS} URL buttons"),
                ));
            }
            for b in &t.buttons {
                if let ButtonSpec::QuickReply(a) = b
                    && !actions.insert(*a)
                {
                    issues.push(ConfigIssue::new(
                        format!("{key}.buttons"),
                        format!("`{}` appears twice", a.as_str()),
                    ));
                }
            }
            if let Some(placeholders) = body_placeholders(&t.body) {
                let params: Vec<&str> = t.params.iter().map(|p| p.trim()).collect();
                if placeholders != params {
                    issues.push(ConfigIssue::new(
                        format!("{key}.params"),
                        format!(
                            "do not follow the body's placeholders in order (body: {})",
                            placeholders.join(", ")
                        ),
                    ));
                }
            }
            for sample in &samples {
                if let Err(e) = self.render_spec(i, sample) {
                    issues.push(ConfigIssue::new(key.clone(), e.to_string()));
                    break;
                }
            }
        }
        for (name, c) in cadences {
            for k in c.template_keys() {
                if !self.contains(k, "en") {
                    issues.push(ConfigIssue::new(
                        format!("cadences.{name}"),
                        format!("uses template `{k}`, which has no `en` version"),
                    ));
                }
            }
        }
        if !self.contains(consolidated_template, "en") {
            issues.push(ConfigIssue::new(
                "consolidated_template",
                format!("template `{consolidated_template}` has no `en` version"),
            ));
        }
        if issues.is_empty() {
            Ok(())
        } else {
            Err(issues)
        }
    }
}

/// The expressions of a plain substitution body (`{{ expr }}` only), in
/// order; `None` when the body uses statements (`{% ... %}`), whose output
/// cannot be matched to parameters.
fn body_placeholders(body: &str) -> Option<Vec<&str>> {
    if body.contains("{%") {
        return None;
    }
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}")?;
        out.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    Some(out)
}

/// WhatsApp's rules for a body parameter.
fn param_problem(value: &str) -> Option<String> {
    if value.trim().is_empty() {
        return Some("renders empty".to_string());
    }
    if value.contains(['\n', '\r', '\t']) {
        return Some("contains a newline or tab".to_string());
    }
    if value.contains("     ") {
        return Some("contains more than four consecutive spaces".to_string());
    }
    None
}

fn error_chain(e: &minijinja::Error) -> String {
    let mut s = e.to_string();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

struct Def {
    key: &'static str,
    language: &'static str,
    whatsapp_name: &'static str,
    body: &'static str,
    params: &'static [&'static str],
}

/// The shipped templates (English, Hindi, and Spanish for the main keys).
pub fn default_templates() -> Vec<TemplateSpec> {
    let mut out: Vec<TemplateSpec> = DEFAULTS
        .iter()
        .map(|d| TemplateSpec {
            key: d.key.to_string(),
            language: d.language.to_string(),
            whatsapp_name: d.whatsapp_name.to_string(),
            whatsapp_language: d.language.to_string(),
            category: "UTILITY".to_string(),
            body: d.body.to_string(),
            params: d.params.iter().map(|p| p.to_string()).collect(),
            param_count: None,
            header_document: None,
            // a receipt asks nothing of the buyer
            buttons: if d.key == "payment_received" {
                Vec::new()
            } else {
                default_buttons()
            },
        })
        .collect();
    out.sort_by(|a, b| (&a.key, &a.language).cmp(&(&b.key, &b.language)));
    out
}

const DEFAULTS: &[Def] = &[
    // -------------------------------------------------------- payment_received
    // The thank-you queued when an invoice is paid in full.
    Def {
        key: "payment_received",
        language: "en",
        whatsapp_name: "payment_received",
        body: "Dear {{ buyer_name }},\n\nThank you! We have received your payment for invoice {{ invoice_numbers }} ({{ invoices[0].amount }}); it is now settled in full.\n\nWith regards,\n{{ seller_company }}",
        params: &[
            "buyer_name",
            "invoice_numbers",
            "invoices[0].amount",
            "seller_company",
        ],
    },
    Def {
        key: "payment_received",
        language: "hi",
        whatsapp_name: "payment_received",
        body: "नमस्ते {{ buyer_name }} जी,\n\nधन्यवाद! इनवॉइस {{ invoice_numbers }} ({{ invoices[0].amount }}) का आपका भुगतान हमें मिल गया है; यह इनवॉइस अब पूरी तरह चुकता है।\n\nसादर,\n{{ seller_company }}",
        params: &[
            "buyer_name",
            "invoice_numbers",
            "invoices[0].amount",
            "seller_company",
        ],
    },
    Def {
        key: "payment_received",
        language: "es",
        whatsapp_name: "payment_received",
        body: "Estimado/a {{ buyer_name }}:\n\n¡Gracias! Hemos recibido su pago de la factura {{ invoice_numbers }} ({{ invoices[0].amount }}); queda saldada por completo.\n\nAtentamente,\n{{ seller_company }}",
        params: &[
            "buyer_name",
            "invoice_numbers",
            "invoices[0].amount",
            "seller_company",
        ],
    },
    // ---------------------------------------------------------------- upcoming
    Def {
        key: "upcoming",
        language: "en",
        whatsapp_name: "payment_upcoming",
        body: "Dear {{ buyer_name }},\n\nThis is a reminder from {{ seller_company }} that invoice {{ invoice_numbers }} for {{ total_outstanding }} is due on {{ due_date }}.\n\nYou can pay securely here: {{ payment_link }}\n\nIf you have already paid, please ignore this message. Thank you.",
        params: &[
            "buyer_name",
            "seller_company",
            "invoice_numbers",
            "total_outstanding",
            "due_date",
            "payment_link",
        ],
    },
    Def {
        key: "upcoming",
        language: "hi",
        whatsapp_name: "payment_upcoming",
        body: "नमस्ते {{ buyer_name }} जी,\n\n{{ seller_company }} की ओर से विनम्र सूचना: इनवॉइस {{ invoice_numbers }} की राशि {{ total_outstanding }} का भुगतान {{ due_date }} को देय है।\n\nआप यहाँ सुरक्षित भुगतान कर सकते हैं: {{ payment_link }}\n\nयदि भुगतान हो चुका है, तो कृपया इस संदेश को अनदेखा करें। धन्यवाद।",
        params: &[
            "buyer_name",
            "seller_company",
            "invoice_numbers",
            "total_outstanding",
            "due_date",
            "payment_link",
        ],
    },
    Def {
        key: "upcoming",
        language: "es",
        whatsapp_name: "payment_upcoming",
        body: "Estimado/a {{ buyer_name }}:\n\nLe recordamos desde {{ seller_company }} que la factura {{ invoice_numbers }} por {{ total_outstanding }} vence el {{ due_date }}.\n\nPuede pagar de forma segura aquí: {{ payment_link }}\n\nSi ya ha realizado el pago, por favor ignore este mensaje. Gracias.",
        params: &[
            "buyer_name",
            "seller_company",
            "invoice_numbers",
            "total_outstanding",
            "due_date",
            "payment_link",
        ],
    },
    Def {
        key: "upcoming_friendly",
        language: "en",
        whatsapp_name: "payment_upcoming_friendly",
        body: "Hi {{ buyer_name }} 👋\n\nA quick heads-up from {{ seller_company }}: invoice {{ invoice_numbers }} for {{ total_outstanding }} is due on {{ due_date }}.\n\nPay whenever convenient: {{ payment_link }}\n\nThank you for your continued business!",
        params: &[
            "buyer_name",
            "seller_company",
            "invoice_numbers",
            "total_outstanding",
            "due_date",
            "payment_link",
        ],
    },
    Def {
        key: "upcoming_friendly",
        language: "hi",
        whatsapp_name: "payment_upcoming_friendly",
        body: "नमस्ते {{ buyer_name }} जी 🙏\n\n{{ seller_company }} की ओर से एक छोटा-सा रिमाइंडर: इनवॉइस {{ invoice_numbers }} ({{ total_outstanding }}) का भुगतान {{ due_date }} को देय है।\n\nअपनी सुविधा अनुसार यहाँ भुगतान करें: {{ payment_link }}\n\nआपके निरंतर सहयोग के लिए धन्यवाद!",
        params: &[
            "buyer_name",
            "seller_company",
            "invoice_numbers",
            "total_outstanding",
            "due_date",
            "payment_link",
        ],
    },
    // --------------------------------------------------------------- due_today
    Def {
        key: "due_today",
        language: "en",
        whatsapp_name: "payment_due_today",
        body: "Dear {{ buyer_name }},\n\nInvoice {{ invoice_numbers }} from {{ seller_company }} for {{ total_outstanding }} is due today, {{ due_date }}.\n\nPlease pay here: {{ payment_link }}\n\nIf you have already paid, please ignore this message. Thank you.",
        params: &[
            "buyer_name",
            "invoice_numbers",
            "seller_company",
            "total_outstanding",
            "due_date",
            "payment_link",
        ],
    },
    Def {
        key: "due_today",
        language: "hi",
        whatsapp_name: "payment_due_today",
        body: "नमस्ते {{ buyer_name }} जी,\n\n{{ seller_company }} के इनवॉइस {{ invoice_numbers }} की राशि {{ total_outstanding }} का भुगतान आज, {{ due_date }} को देय है।\n\nकृपया यहाँ भुगतान करें: {{ payment_link }}\n\nयदि भुगतान हो चुका है, तो कृपया इस संदेश को अनदेखा करें। धन्यवाद।",
        params: &[
            "buyer_name",
            "seller_company",
            "invoice_numbers",
            "total_outstanding",
            "due_date",
            "payment_link",
        ],
    },
    Def {
        key: "due_today",
        language: "es",
        whatsapp_name: "payment_due_today",
        body: "Estimado/a {{ buyer_name }}:\n\nLa factura {{ invoice_numbers }} de {{ seller_company }} por {{ total_outstanding }} vence hoy, {{ due_date }}.\n\nPuede pagar aquí: {{ payment_link }}\n\nSi ya ha realizado el pago, por favor ignore este mensaje. Gracias.",
        params: &[
            "buyer_name",
            "invoice_numbers",
            "seller_company",
            "total_outstanding",
            "due_date",
            "payment_link",
        ],
    },
    Def {
        key: "due_today_friendly",
        language: "en",
        whatsapp_name: "payment_due_today_friendly",
        body: "Hi {{ buyer_name }},\n\nJust a reminder that invoice {{ invoice_numbers }} for {{ total_outstanding }} from {{ seller_company }} is due today ({{ due_date }}).\n\nYou can pay here: {{ payment_link }}\n\nThanks a lot!",
        params: &[
            "buyer_name",
            "invoice_numbers",
            "total_outstanding",
            "seller_company",
            "due_date",
            "payment_link",
        ],
    },
    Def {
        key: "due_today_friendly",
        language: "hi",
        whatsapp_name: "payment_due_today_friendly",
        body: "नमस्ते {{ buyer_name }} जी,\n\nयाद दिला दें कि {{ seller_company }} के इनवॉइस {{ invoice_numbers }} ({{ total_outstanding }}) का भुगतान आज, {{ due_date }} को देय है।\n\nआप यहाँ भुगतान कर सकते हैं: {{ payment_link }}\n\nबहुत-बहुत धन्यवाद!",
        params: &[
            "buyer_name",
            "seller_company",
            "invoice_numbers",
            "total_outstanding",
            "due_date",
            "payment_link",
        ],
    },
    // ----------------------------------------------------------------- overdue
    Def {
        key: "overdue",
        language: "en",
        whatsapp_name: "payment_overdue",
        body: "Dear {{ buyer_name }},\n\nInvoice {{ invoice_numbers }} from {{ seller_company }} for {{ total_outstanding }} was due on {{ due_date }} and is now {{ days_overdue }} days overdue.\n\nPlease arrange the payment at the earliest: {{ payment_link }}\n\nIf you have already paid, kindly share the payment reference so we can update our records. Thank you.",
        params: &[
            "buyer_name",
            "invoice_numbers",
            "seller_company",
            "total_outstanding",
            "due_date",
            "days_overdue",
            "payment_link",
        ],
    },
    Def {
        key: "overdue",
        language: "hi",
        whatsapp_name: "payment_overdue",
        body: "नमस्ते {{ buyer_name }} जी,\n\n{{ seller_company }} के इनवॉइस {{ invoice_numbers }} की राशि {{ total_outstanding }} का भुगतान {{ due_date }} को देय था और अब {{ days_overdue }} दिन से बकाया है।\n\nआपसे अनुरोध है कि शीघ्र भुगतान करें: {{ payment_link }}\n\nयदि आप भुगतान कर चुके हैं, तो कृपया भुगतान का संदर्भ (UTR) साझा करें, ताकि हम अपना रिकॉर्ड अपडेट कर सकें। धन्यवाद।",
        params: &[
            "buyer_name",
            "seller_company",
            "invoice_numbers",
            "total_outstanding",
            "due_date",
            "days_overdue",
            "payment_link",
        ],
    },
    Def {
        key: "overdue",
        language: "es",
        whatsapp_name: "payment_overdue",
        body: "Estimado/a {{ buyer_name }}:\n\nLa factura {{ invoice_numbers }} de {{ seller_company }} por {{ total_outstanding }} venció el {{ due_date }} y lleva {{ days_overdue }} días de retraso.\n\nLe rogamos que realice el pago lo antes posible: {{ payment_link }}\n\nSi ya ha pagado, por favor envíenos la referencia del pago para actualizar nuestros registros. Gracias.",
        params: &[
            "buyer_name",
            "invoice_numbers",
            "seller_company",
            "total_outstanding",
            "due_date",
            "days_overdue",
            "payment_link",
        ],
    },
    Def {
        key: "overdue_friendly",
        language: "en",
        whatsapp_name: "payment_overdue_friendly",
        body: "Hi {{ buyer_name }},\n\nHope all is well! Invoice {{ invoice_numbers }} for {{ total_outstanding }} was due on {{ due_date }} and is still open.\n\nCould you please arrange the payment when you get a moment? {{ payment_link }}\n\nIf it is already on its way, just reply with the reference. Thank you! {{ seller_company }}",
        params: &[
            "buyer_name",
            "invoice_numbers",
            "total_outstanding",
            "due_date",
            "payment_link",
            "seller_company",
        ],
    },
    Def {
        key: "overdue_friendly",
        language: "hi",
        whatsapp_name: "payment_overdue_friendly",
        body: "नमस्ते {{ buyer_name }} जी,\n\nआशा है आप कुशल हैं। इनवॉइस {{ invoice_numbers }} ({{ total_outstanding }}) का भुगतान {{ due_date }} को देय था और अभी बाकी है।\n\nसमय मिलने पर कृपया भुगतान कर दें: {{ payment_link }}\n\nयदि भुगतान भेज दिया गया है, तो बस संदर्भ नंबर के साथ जवाब दें। धन्यवाद! {{ seller_company }}",
        params: &[
            "buyer_name",
            "invoice_numbers",
            "total_outstanding",
            "due_date",
            "payment_link",
            "seller_company",
        ],
    },
    // ------------------------------------------------------------ overdue_firm
    Def {
        key: "overdue_firm",
        language: "en",
        whatsapp_name: "payment_overdue_firm",
        body: "Dear {{ buyer_name }},\n\nDespite our earlier reminders, invoice {{ invoice_numbers }} for {{ total_outstanding }} is still unpaid, {{ days_overdue }} days after its due date of {{ due_date }}.\n\nPlease make the payment today to avoid any impact on further supplies and credit terms: {{ payment_link }}\n\nFor any issue, please contact {{ sales_rep }}.\n{{ seller_company }}",
        params: &[
            "buyer_name",
            "invoice_numbers",
            "total_outstanding",
            "days_overdue",
            "due_date",
            "payment_link",
            "sales_rep",
            "seller_company",
        ],
    },
    Def {
        key: "overdue_firm",
        language: "hi",
        whatsapp_name: "payment_overdue_firm",
        body: "आदरणीय {{ buyer_name }} जी,\n\nपिछले अनुस्मारकों के बावजूद इनवॉइस {{ invoice_numbers }} की राशि {{ total_outstanding }} का भुगतान अभी तक प्राप्त नहीं हुआ है। यह {{ days_overdue }} दिन पहले, {{ due_date }} को देय था।\n\nकृपया आज ही भुगतान करें, ताकि आगे की आपूर्ति और क्रेडिट शर्तों पर कोई असर न पड़े: {{ payment_link }}\n\nकिसी भी समस्या के लिए कृपया {{ sales_rep }} से संपर्क करें।\n{{ seller_company }}",
        params: &[
            "buyer_name",
            "invoice_numbers",
            "total_outstanding",
            "days_overdue",
            "due_date",
            "payment_link",
            "sales_rep",
            "seller_company",
        ],
    },
    Def {
        key: "overdue_firm",
        language: "es",
        whatsapp_name: "payment_overdue_firm",
        body: "Estimado/a {{ buyer_name }}:\n\nA pesar de nuestros recordatorios anteriores, la factura {{ invoice_numbers }} por {{ total_outstanding }} sigue pendiente de pago, {{ days_overdue }} días después de su vencimiento el {{ due_date }}.\n\nLe rogamos que realice el pago hoy mismo para evitar cualquier efecto en futuros suministros y condiciones de crédito: {{ payment_link }}\n\nPara cualquier consulta, contacte con {{ sales_rep }}.\n{{ seller_company }}",
        params: &[
            "buyer_name",
            "invoice_numbers",
            "total_outstanding",
            "days_overdue",
            "due_date",
            "payment_link",
            "sales_rep",
            "seller_company",
        ],
    },
    Def {
        key: "overdue_firm_friendly",
        language: "en",
        whatsapp_name: "payment_overdue_firm_friendly",
        body: "Hi {{ buyer_name }},\n\nWe have not yet received the payment for invoice {{ invoice_numbers }} ({{ total_outstanding }}), due on {{ due_date }}. We value our relationship and would be grateful if you could clear it this week: {{ payment_link }}\n\nIf something is holding it up, {{ sales_rep }} will be happy to help.\nWarm regards, {{ seller_company }}",
        params: &[
            "buyer_name",
            "invoice_numbers",
            "total_outstanding",
            "due_date",
            "payment_link",
            "sales_rep",
            "seller_company",
        ],
    },
    Def {
        key: "overdue_firm_friendly",
        language: "hi",
        whatsapp_name: "payment_overdue_firm_friendly",
        body: "नमस्ते {{ buyer_name }} जी,\n\nइनवॉइस {{ invoice_numbers }} ({{ total_outstanding }}) का भुगतान, जो {{ due_date }} को देय था, हमें अभी तक प्राप्त नहीं हुआ है। हम आपके साथ अपने संबंधों को महत्व देते हैं और आभारी रहेंगे यदि आप इसे इसी सप्ताह चुका सकें: {{ payment_link }}\n\nयदि कोई दिक्कत हो, तो {{ sales_rep }} आपकी सहायता के लिए तैयार हैं।\nसादर, {{ seller_company }}",
        params: &[
            "buyer_name",
            "invoice_numbers",
            "total_outstanding",
            "due_date",
            "payment_link",
            "sales_rep",
            "seller_company",
        ],
    },
    // --------------------------------------------------------------- statement
    Def {
        key: "statement",
        language: "en",
        whatsapp_name: "account_statement",
        body: "Dear {{ buyer_name }},\n\nStatement of account from {{ seller_company }} for {{ company }}.\n\nOpen invoices: {{ invoice_list }}\nTotal outstanding: {{ total_outstanding }} (earliest due date {{ due_date }}).\n\nPlease pay here: {{ payment_link }}\n\nFor any query, please contact {{ sales_rep }}. Thank you.",
        params: &[
            "buyer_name",
            "seller_company",
            "company",
            "invoice_list",
            "total_outstanding",
            "due_date",
            "payment_link",
            "sales_rep",
        ],
    },
    Def {
        key: "statement",
        language: "hi",
        whatsapp_name: "account_statement",
        body: "नमस्ते {{ buyer_name }} जी,\n\n{{ company }} के लिए {{ seller_company }} की ओर से खाते का विवरण।\n\nबकाया इनवॉइस: {{ invoice_list }}\nकुल बकाया राशि: {{ total_outstanding }} (सबसे पहली देय तिथि {{ due_date }})।\n\nकृपया यहाँ भुगतान करें: {{ payment_link }}\n\nकिसी भी प्रश्न के लिए कृपया {{ sales_rep }} से संपर्क करें। धन्यवाद।",
        params: &[
            "buyer_name",
            "company",
            "seller_company",
            "invoice_list",
            "total_outstanding",
            "due_date",
            "payment_link",
            "sales_rep",
        ],
    },
    Def {
        key: "statement",
        language: "es",
        whatsapp_name: "account_statement",
        body: "Estimado/a {{ buyer_name }}:\n\nEstado de cuenta de {{ seller_company }} para {{ company }}.\n\nFacturas pendientes: {{ invoice_list }}\nTotal pendiente: {{ total_outstanding }} (primer vencimiento el {{ due_date }}).\n\nPuede pagar aquí: {{ payment_link }}\n\nPara cualquier consulta, contacte con {{ sales_rep }}. Gracias.",
        params: &[
            "buyer_name",
            "seller_company",
            "company",
            "invoice_list",
            "total_outstanding",
            "due_date",
            "payment_link",
            "sales_rep",
        ],
    },
    Def {
        key: "statement_friendly",
        language: "en",
        whatsapp_name: "account_statement_friendly",
        body: "Hi {{ buyer_name }},\n\nHere is a quick summary of your open invoices with {{ seller_company }}: {{ invoice_list }}\nTotal: {{ total_outstanding }}.\n\nYou can pay here whenever convenient: {{ payment_link }}\n\nThank you for your continued business!",
        params: &[
            "buyer_name",
            "seller_company",
            "invoice_list",
            "total_outstanding",
            "payment_link",
        ],
    },
    Def {
        key: "statement_friendly",
        language: "hi",
        whatsapp_name: "account_statement_friendly",
        body: "नमस्ते {{ buyer_name }} जी,\n\n{{ seller_company }} के साथ आपके बकाया इनवॉइस का संक्षिप्त विवरण: {{ invoice_list }}\nकुल: {{ total_outstanding }}।\n\nअपनी सुविधा अनुसार यहाँ भुगतान करें: {{ payment_link }}\n\nआपके निरंतर सहयोग के लिए धन्यवाद!",
        params: &[
            "buyer_name",
            "seller_company",
            "invoice_list",
            "total_outstanding",
            "payment_link",
        ],
    },
    Def {
        key: "statement_firm",
        language: "en",
        whatsapp_name: "account_statement_firm",
        body: "Dear {{ buyer_name }},\n\nThe following invoices from {{ seller_company }} are due for payment: {{ invoice_list }}\nTotal outstanding: {{ total_outstanding }} (earliest due date {{ due_date }}).\n\nPlease clear the dues without further delay to avoid any impact on further supplies and credit terms: {{ payment_link }}\n\nFor any issue, please contact {{ sales_rep }}.",
        params: &[
            "buyer_name",
            "seller_company",
            "invoice_list",
            "total_outstanding",
            "due_date",
            "payment_link",
            "sales_rep",
        ],
    },
    Def {
        key: "statement_firm",
        language: "hi",
        whatsapp_name: "account_statement_firm",
        body: "आदरणीय {{ buyer_name }} जी,\n\n{{ seller_company }} के निम्नलिखित इनवॉइस का भुगतान देय है: {{ invoice_list }}\nकुल बकाया राशि: {{ total_outstanding }} (सबसे पहली देय तिथि {{ due_date }})।\n\nकृपया बिना देरी के भुगतान करें, ताकि आगे की आपूर्ति और क्रेडिट शर्तों पर कोई असर न पड़े: {{ payment_link }}\n\nकिसी भी समस्या के लिए कृपया {{ sales_rep }} से संपर्क करें।",
        params: &[
            "buyer_name",
            "seller_company",
            "invoice_list",
            "total_outstanding",
            "due_date",
            "payment_link",
            "sales_rep",
        ],
    },
];

#[cfg(test)]
mod tests;
