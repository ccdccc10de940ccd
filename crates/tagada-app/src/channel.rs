//! The `Channel` trait: how a rendered reminder leaves tagada. The WhatsApp
//! Cloud API channel lives in its own crate; here is the terminal channel
//! used by `send --dry-run` and the demo.

use std::io::Write;
use std::sync::Mutex;

use async_trait::async_trait;
use jiff::SignedDuration;
use tagada_core::planner::{MessageKind, RenderedMessage};
use tagada_core::{OutboxId, Phone};

/// One message handed to a channel.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingMessage<'a> {
    pub outbox_id: OutboxId,
    pub to: &'a Phone,
    pub buyer_name: &'a str,
    pub message: &'a RenderedMessage,
    /// 1 for the first try.
    pub attempt: u32,
}

/// What the channel says when it accepted a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    /// The channel's own id for the message (WhatsApp's `wamid...`).
    pub provider_id: Option<String>,
}

/// Why a send did not go through, classified by what the dispatcher does next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// Not accepted because of a rate limit: retry after the hint or the backoff.
    #[error("rate limited: {detail}")]
    RateLimited {
        retry_after: Option<SignedDuration>,
        detail: String,
    },
    /// Not accepted because of a temporary fault (5xx before acceptance, connect error).
    #[error("transient failure: {detail}")]
    Transient { detail: String },
    /// Refused for this recipient (not on WhatsApp, re-engagement window, blocked): never retried.
    #[error("rejected for this recipient: {detail}")]
    Rejected { detail: String },
    /// The template is missing, paused or does not take these parameters: never retried as is.
    #[error("template problem: {detail}")]
    Template { detail: String },
    /// Credentials are invalid or expired: stop sending and alert a person.
    #[error("unauthorised: {detail}")]
    Unauthorized { detail: String },
    /// The request may have been accepted (timeout after it was written):
    /// never resent blindly.
    #[error("outcome unknown: {detail}")]
    Ambiguous { detail: String },
}

/// Something that can deliver a rendered reminder.
#[async_trait]
pub trait Channel: Send + Sync + std::fmt::Debug {
    /// Short name for logs and the attempt record (`terminal`, `whatsapp`).
    fn name(&self) -> &str;
    /// How many distinct recipients may get a template message in any 24
    /// hours (WhatsApp's messaging limit); `None`: no limit.
    fn recipients_per_day(&self) -> Option<u32> {
        None
    }
    async fn send(&self, message: &OutgoingMessage<'_>) -> Result<SendReceipt, ChannelError>;
}

/// Prints each message to a writer (the terminal) instead of sending it. The
/// dispatcher records the attempt in the store as usual, so the dry run and the
/// demo leave the same trail a real send would.
pub struct TerminalChannel {
    out: Mutex<Box<dyn Write + Send>>,
    label: &'static str,
}

impl std::fmt::Debug for TerminalChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalChannel")
            .field("label", &self.label)
            .finish()
    }
}

impl TerminalChannel {
    pub fn stdout() -> TerminalChannel {
        TerminalChannel {
            out: Mutex::new(Box::new(std::io::stdout())),
            label: "terminal",
        }
    }

    /// Writes into any sink (tests, the demo's quiet mode).
    pub fn to_writer(w: impl Write + Send + 'static) -> TerminalChannel {
        TerminalChannel {
            out: Mutex::new(Box::new(w)),
            label: "terminal",
        }
    }
}

#[async_trait]
impl Channel for TerminalChannel {
    fn name(&self) -> &str {
        self.label
    }

    async fn send(&self, m: &OutgoingMessage<'_>) -> Result<SendReceipt, ChannelError> {
        let mut out = self.out.lock().map_err(|_| ChannelError::Transient {
            detail: "terminal lock poisoned".into(),
        })?;
        let body = m.message.body.replace('\n', "\n    │ ");
        let what = match &m.message.kind {
            MessageKind::Template => format!(
                "template {} [{}]",
                m.message.whatsapp_name, m.message.language
            ),
            MessageKind::Text => "reply".to_string(),
            MessageKind::Document { filename, .. } => format!("document {filename}"),
        };
        writeln!(
            out,
            "  ✉ {} to {} ({}) {what}\n    │ {}",
            m.outbox_id,
            m.buyer_name,
            m.to.masked(),
            body
        )
        .map_err(|e| ChannelError::Transient {
            detail: e.to_string(),
        })?;
        Ok(SendReceipt {
            provider_id: Some(format!("terminal-{}", m.outbox_id.get())),
        })
    }
}

/// A channel backed by a shared buffer; tests read what "reached the buyer".
#[derive(Debug, Clone, Default)]
pub struct SharedBuffer(std::sync::Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("buffer lock")).into_owned()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
