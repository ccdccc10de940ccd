//! The HTTP client: sends, media upload and the template list.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{ClientError, Envelope, classify};
use crate::send::{Accepted, DocumentMessage, SendResponse, TemplateMessage, TextMessage};

/// Where and as whom the client talks to the Cloud API.
#[derive(Clone)]
pub struct ClientConfig {
    /// `https://graph.facebook.com`, or a fake's / proxy's address.
    pub base_url: String,
    /// Graph API version, e.g. `v23.0`.
    pub api_version: String,
    /// The sending number's id (not the number itself).
    pub phone_number_id: String,
    /// The WhatsApp Business Account id, for the template list.
    pub waba_id: String,
    /// A system-user access token.
    pub access_token: SecretString,
    /// Time allowed to open a connection; a failure here means nothing was sent.
    pub connect_timeout: Duration,
    /// Time allowed for the whole request; a failure after the request was
    /// written leaves the outcome unknown.
    pub timeout: Duration,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("phone_number_id", &self.phone_number_id)
            .field("waba_id", &self.waba_id)
            .field("access_token", &"[redacted]")
            .finish()
    }
}

impl ClientConfig {
    pub fn new(
        base_url: impl Into<String>,
        phone_number_id: impl Into<String>,
        waba_id: impl Into<String>,
        access_token: SecretString,
    ) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            api_version: "v23.0".into(),
            phone_number_id: phone_number_id.into(),
            waba_id: waba_id.into(),
            access_token,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
        }
    }
}

/// A Cloud API client for one sending number. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    cfg: ClientConfig,
}

/// One message template as the account's template list returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Template {
    pub name: String,
    pub language: String,
    pub status: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub components: Vec<TemplateComponent>,
}

/// A component of a registered template (not of a send).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TemplateComponent {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub buttons: Vec<TemplateButton>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TemplateButton {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

impl Template {
    fn component(&self, kind: &str) -> Option<&TemplateComponent> {
        self.components
            .iter()
            .find(|c| c.kind.eq_ignore_ascii_case(kind))
    }

    /// The number of distinct `{{n}}` placeholders in the body.
    pub fn body_params(&self) -> usize {
        self.component("BODY")
            .and_then(|c| c.text.as_deref())
            .map(placeholders)
            .unwrap_or(0)
    }

    /// The header's format (`TEXT`, `DOCUMENT`, `IMAGE`...), if any.
    pub fn header_format(&self) -> Option<&str> {
        self.component("HEADER").and_then(|c| c.format.as_deref())
    }

    /// All buttons in order; a button's index in a send is its position here.
    pub fn buttons(&self) -> &[TemplateButton] {
        self.component("BUTTONS")
            .map(|c| c.buttons.as_slice())
            .unwrap_or(&[])
    }

    pub fn is_approved(&self) -> bool {
        self.status.eq_ignore_ascii_case("APPROVED")
    }
}

/// Distinct `{{n}}` placeholders in a template text.
pub fn placeholders(text: &str) -> usize {
    let mut seen = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find("}}") else { break };
        let inner = rest[..end].trim();
        if !inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit()) {
            seen.insert(inner.to_string());
        }
        rest = &rest[end + 2..];
    }
    seen.len()
}

#[derive(Debug, Deserialize)]
struct TemplatePage {
    #[serde(default)]
    data: Vec<Template>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
struct Paging {
    #[serde(default)]
    cursors: Option<Cursors>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Cursors {
    #[serde(default)]
    after: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MediaId {
    id: String,
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Result<Client, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.timeout)
            .user_agent(concat!("tagada/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Request(format!("building the HTTP client: {e}")))?;
        Ok(Client { http, cfg })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    fn url(&self, tail: &str) -> String {
        format!(
            "{}/{}/{}",
            self.cfg.base_url.trim_end_matches('/'),
            self.cfg.api_version,
            tail
        )
    }

    /// Sends a template message.
    pub async fn send_template(&self, m: &TemplateMessage) -> Result<Accepted, ClientError> {
        self.send_json(&m.to_json()).await
    }

    /// Sends a free-form text (inside the buyer's 24-hour window only).
    pub async fn send_text(&self, m: &TextMessage) -> Result<Accepted, ClientError> {
        self.send_json(&m.to_json()).await
    }

    /// Sends a document message (inside the buyer's 24-hour window only).
    pub async fn send_document(&self, m: &DocumentMessage) -> Result<Accepted, ClientError> {
        self.send_json(&m.to_json()).await
    }

    /// POSTs any message body to the messages endpoint.
    pub async fn send_json(&self, body: &Value) -> Result<Accepted, ClientError> {
        let url = self.url(&format!("{}/messages", self.cfg.phone_number_id));
        let resp = self
            .http
            .post(url)
            .bearer_auth(self.cfg.access_token.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        let parsed: SendResponse = read(resp).await?;
        let msg = parsed
            .messages
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::Decode("the answer lists no message id".into()))?;
        Ok(Accepted {
            wamid: msg.id,
            wa_id: parsed
                .contacts
                .into_iter()
                .next()
                .and_then(|c| c.wa_id)
                .map(|w| w.trim().to_string()),
            message_status: msg.message_status,
        })
    }

    /// Uploads a file (e.g. an invoice PDF) and returns its media id, usable
    /// in a document header or message for 30 days.
    pub async fn upload_media(
        &self,
        bytes: Vec<u8>,
        mime: &str,
        filename: &str,
    ) -> Result<String, ClientError> {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_string())
            .mime_str(mime)
            .map_err(|e| ClientError::Request(format!("media type `{mime}`: {e}")))?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime.to_string())
            .part("file", part);
        let url = self.url(&format!("{}/media", self.cfg.phone_number_id));
        let resp = self
            .http
            .post(url)
            .bearer_auth(self.cfg.access_token.expose_secret())
            .multipart(form)
            .send()
            .await
            .map_err(transport)?;
        let id: MediaId = read(resp).await?;
        Ok(id.id)
    }

    /// Every template of the business account, all pages.
    pub async fn list_templates(&self) -> Result<Vec<Template>, ClientError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        // A page cap guards against a server that never stops paging.
        for _ in 0..1000 {
            let mut query: Vec<(&str, String)> = vec![
                (
                    "fields",
                    "name,language,status,category,id,components".into(),
                ),
                ("limit", "100".into()),
            ];
            if let Some(a) = &after {
                query.push(("after", a.clone()));
            }
            let url = self.url(&format!("{}/message_templates", self.cfg.waba_id));
            let resp = self
                .http
                .get(url)
                .bearer_auth(self.cfg.access_token.expose_secret())
                .query(&query)
                .send()
                .await
                .map_err(transport)?;
            let page: TemplatePage = read(resp).await?;
            out.extend(page.data);
            let next = page.paging.and_then(|p| {
                p.next
                    .and_then(|_| p.cursors.and_then(|c| c.after))
                    .filter(|a| !a.is_empty())
            });
            match next {
                Some(a) => after = Some(a),
                None => return Ok(out),
            }
        }
        Err(ClientError::Decode(
            "the template list did not end after 1,000 pages".into(),
        ))
    }
}

/// A transport failure: a failed connection means nothing was sent; any
/// other failure (timeout, reset) may come after Meta read the request.
fn transport(e: reqwest::Error) -> ClientError {
    let text = error_chain(&e);
    if e.is_builder() {
        ClientError::Request(text)
    } else if e.is_connect() {
        ClientError::Connect(text)
    } else {
        ClientError::Ambiguous(text)
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

async fn read<T: serde::de::DeserializeOwned>(resp: reqwest::Response) -> Result<T, ClientError> {
    let status = resp.status();
    // Reading the body can itself fail mid-way: the answer was started, so
    // Meta got the request; the outcome is unknown.
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| ClientError::Ambiguous(error_chain(&e)))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()));
    }
    match serde_json::from_slice::<Envelope>(&bytes) {
        Ok(env) => Err(ClientError::Api {
            class: classify(env.error.code, status.as_u16()),
            http_status: status.as_u16(),
            error: Box::new(env.error),
        }),
        Err(_) => Err(ClientError::Http {
            http_status: status.as_u16(),
            snippet: String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_distinct_placeholders() {
        assert_eq!(placeholders("Hi {{1}}, {{2}} is due on {{3}}. {{1}}"), 3);
        assert_eq!(placeholders("no params"), 0);
        assert_eq!(placeholders("{{ 1 }} and {{name}} and {{2"), 1);
    }

    #[test]
    fn debug_never_shows_the_token() {
        let cfg = ClientConfig::new("http://x", "1", "2", SecretString::from("EAAGsecret"));
        assert!(!format!("{cfg:?}").contains("EAAGsecret"));
    }
}
