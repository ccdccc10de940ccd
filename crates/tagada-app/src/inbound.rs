//! What buyers write back, acted on.
//!
//! The webhook stores each inbound message (`InboxStore::record_inbound`);
//! [`process_inbox`] then handles every stored message not yet handled:
//!
//! | the buyer…                         | tagada                                                    |
//! |------------------------------------|-----------------------------------------------------------|
//! | taps "Paid already"                | invoices → in process, reminders held `paid_hold_days`, rep alerted |
//! | taps "Send invoice copy"           | the invoice document sent in-window (or the rep asked to)  |
//! | taps "Talk to someone"             | rep alerted                                                |
//! | taps "Stop reminders", writes STOP | buyer opted out, confirmation sent                         |
//! | writes a date ("on 15th")          | invoices snoozed until then, promise recorded              |
//! | writes anything else               | kept in the inbox, rep alerted                             |
//!
//! Every ledger change is idempotent (a state the invoice is already in is
//! skipped, replies are keyed by the inbound message), so an entry handled
//! twice after a crash changes nothing more, except that its note may be
//! written twice.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tagada_core::cadence::PlannerConfig;
use tagada_core::ledger::{Buyer, Invoice, InvoiceEvent, InvoiceStatus, NoteKind};
use tagada_core::planner::RenderedMessage;
use tagada_core::reply::{self, ReplyIntent};
use tagada_core::{CountryCode, InvoiceId, Phone};
use tagada_store::{
    BuyerPatch, InboundHandling, InboxEntry, InvoiceFilter, NewNote, NewReply, Store, StoreError,
};
use tagada_whatsapp::send::QuickReply;

/// `[inbound]` in the config: how replies are acted on and answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InboundConfig {
    /// Days reminders wait after "Paid already" while someone checks the payment.
    pub paid_hold_days: u32,
    /// The invoice PDF's address, `{invoice}` replaced by its number; empty:
    /// no document can be sent and the rep is asked to send it.
    pub invoice_document_url: String,
    /// Send the acknowledgements below (the STOP confirmation always goes).
    pub acknowledge: bool,
    /// Texts sent inside the buyer's 24-hour window. Placeholders: `{seller}`,
    /// `{invoices}`, `{invoice}`, `{date}`, `{rep}`.
    pub stop_confirmation: String,
    pub paid_acknowledgement: String,
    pub promise_acknowledgement: String,
    pub talk_acknowledgement: String,
    pub copy_caption: String,
    pub copy_unavailable: String,
}

impl Default for InboundConfig {
    fn default() -> Self {
        InboundConfig {
            paid_hold_days: 3,
            invoice_document_url: String::new(),
            acknowledge: true,
            stop_confirmation: "You will not get any more payment reminders from {seller} on \
                 WhatsApp. If this was a mistake, reply to this message and we will set it right."
                .into(),
            paid_acknowledgement: "Thank you! We will check the payment for {invoices} and \
                 confirm. Reminders are on hold meanwhile."
                .into(),
            promise_acknowledgement: "Thank you. We have noted that you will pay {invoices} on \
                 {date}; we will not remind you before then."
                .into(),
            talk_acknowledgement: "{rep} from {seller} will get in touch with you shortly.".into(),
            copy_caption: "Invoice {invoice} from {seller}".into(),
            copy_unavailable: "We will send you a copy of invoice {invoice} shortly.".into(),
        }
    }
}

/// What one pass over the inbox did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InboxRunReport {
    pub handled: u32,
    /// Entries now waiting for a person.
    pub alerts: u32,
    pub replies_queued: u32,
    pub opted_out: u32,
    pub promises: u32,
}

/// Handles every stored inbound message not handled yet (at most `limit`).
pub async fn process_inbox(
    store: &dyn Store,
    cfg: &InboundConfig,
    planner: &PlannerConfig,
    now: Timestamp,
    limit: u32,
) -> Result<InboxRunReport, StoreError> {
    let mut report = InboxRunReport::default();
    for entry in store.unhandled_inbound(limit).await? {
        let outcome = handle(store, cfg, planner, &entry, now).await?;
        store
            .mark_inbound_handled(entry.id, &outcome.handling, now)
            .await?;
        report.handled += 1;
        report.replies_queued += outcome.replies;
        match outcome.handling.intent.as_str() {
            "stop" => report.opted_out += 1,
            "promise_to_pay" => report.promises += 1,
            _ => {}
        }
        if outcome.handling.needs_attention {
            report.alerts += 1;
            tracing::warn!(
                target: "tagada::alert",
                inbox_id = entry.id,
                buyer = entry.buyer_name.as_deref().unwrap_or("unknown sender"),
                sales_rep = entry.sales_rep.as_deref().unwrap_or("unassigned"),
                intent = %outcome.handling.intent,
                "a buyer's reply needs a person: {}",
                outcome.handling.action
            );
        } else {
            tracing::info!(inbox_id = entry.id, intent = %outcome.handling.intent, "{}", outcome.handling.action);
        }
    }
    Ok(report)
}

struct Outcome {
    handling: InboundHandling,
    replies: u32,
}

/// The intent of an entry: a quick-reply payload of ours, else a button's
/// text, else the free text.
pub fn intent_of(entry: &InboxEntry, today: Date) -> ReplyIntent {
    let from_button = |s: &str| {
        QuickReply::parse(s)
            .map(|(q, _)| match q {
                QuickReply::PaidAlready => ReplyIntent::PaidAlready,
                QuickReply::SendInvoiceCopy => ReplyIntent::SendInvoiceCopy,
                QuickReply::TalkToSomeone => ReplyIntent::TalkToSomeone,
                QuickReply::StopReminders => ReplyIntent::Stop,
            })
            .or_else(|| reply::button_intent(s))
    };
    match entry.kind.as_str() {
        "button" | "interactive" => entry
            .payload
            .as_deref()
            .and_then(from_button)
            .or_else(|| entry.text.as_deref().and_then(from_button))
            .or_else(|| {
                entry
                    .text
                    .as_deref()
                    .map(|t| reply::classify_text(t, today))
            })
            .unwrap_or(ReplyIntent::Other),
        "text" => entry
            .text
            .as_deref()
            .map(|t| reply::classify_text(t, today))
            .unwrap_or(ReplyIntent::Other),
        _ => ReplyIntent::Other,
    }
}

async fn handle(
    store: &dyn Store,
    cfg: &InboundConfig,
    planner: &PlannerConfig,
    entry: &InboxEntry,
    now: Timestamp,
) -> Result<Outcome, StoreError> {
    let Some(buyer_id) = entry.buyer_id else {
        return Ok(Outcome {
            handling: InboundHandling {
                intent: "unknown_sender".into(),
                promise_date: None,
                action: format!(
                    "no buyer has the number +{}; kept in the inbox for a person",
                    entry.from.trim_start_matches('+')
                ),
                needs_attention: true,
            },
            replies: 0,
        });
    };
    let buyer = store.get_buyer(buyer_id).await?;
    let zone = jiff::tz::TimeZone::get(buyer.zone_name(planner.home_zone_name()))
        .unwrap_or_else(|_| planner.home_zone());
    let today = entry.sent_at.to_zoned_datetime(zone).date();
    let intent = intent_of(entry, today);
    let invoices = open_invoices(store, entry, &buyer).await?;
    let mut act = Act {
        store,
        cfg,
        planner,
        entry,
        buyer: &buyer,
        now,
        replies: 0,
    };
    let handling = match &intent {
        ReplyIntent::PaidAlready => {
            let hold = today
                .checked_add(jiff::Span::new().days(i64::from(cfg.paid_hold_days)))
                .unwrap_or(today);
            let moved = act
                .apply(
                    &invoices,
                    &InvoiceEvent::PaymentClaimed { hold_until: hold },
                    NoteKind::Reply,
                    "buyer says it is paid already",
                )
                .await?;
            if cfg.acknowledge {
                act.reply("paid", &cfg.paid_acknowledgement, &moved, None)
                    .await?;
            }
            InboundHandling {
                intent: intent.as_str().into(),
                promise_date: None,
                action: format!(
                    "buyer says paid: {} in process, reminders held until {hold}; check the payment",
                    list_or_none(&moved)
                ),
                needs_attention: true,
            }
        }
        ReplyIntent::SendInvoiceCopy => act.send_copies(&invoices).await?,
        ReplyIntent::TalkToSomeone => {
            if cfg.acknowledge {
                act.reply("talk", &cfg.talk_acknowledgement, &invoices, None)
                    .await?;
            }
            InboundHandling {
                intent: intent.as_str().into(),
                promise_date: None,
                action: "buyer asks to talk to someone: call them".into(),
                needs_attention: true,
            }
        }
        ReplyIntent::Stop => {
            store
                .update_buyer(
                    buyer.id,
                    &BuyerPatch {
                        opted_out: Some(true),
                        ..BuyerPatch::default()
                    },
                    now,
                )
                .await?;
            store
                .add_note(&NewNote {
                    buyer_id: buyer.id,
                    invoice_id: None,
                    at: entry.sent_at,
                    kind: NoteKind::Reply,
                    author: None,
                    text: format!("opted out on WhatsApp: “{}”", entry_text(entry)),
                })
                .await?;
            act.reply("stop", &cfg.stop_confirmation, &[], None).await?;
            InboundHandling {
                intent: intent.as_str().into(),
                promise_date: None,
                action: "buyer opted out of reminders; confirmation sent".into(),
                needs_attention: true,
            }
        }
        ReplyIntent::PromiseToPay { date, phrase } => {
            let snoozed = act
                .apply(
                    &invoices,
                    &InvoiceEvent::Snoozed { until: *date },
                    NoteKind::Promise,
                    &format!("promised to pay on {date} (“{phrase}”)"),
                )
                .await?;
            if cfg.acknowledge && !snoozed.is_empty() {
                act.reply(
                    "promise",
                    &cfg.promise_acknowledgement,
                    &snoozed,
                    Some(*date),
                )
                .await?;
            }
            InboundHandling {
                intent: intent.as_str().into(),
                promise_date: Some(*date),
                action: format!(
                    "promise to pay on {date}: {} snoozed until then",
                    list_or_none(&snoozed)
                ),
                needs_attention: snoozed.is_empty(),
            }
        }
        ReplyIntent::Other => {
            store
                .add_note(&NewNote {
                    buyer_id: buyer.id,
                    invoice_id: (invoices.len() == 1).then(|| invoices[0].id),
                    at: entry.sent_at,
                    kind: NoteKind::Reply,
                    author: None,
                    text: entry_text(entry),
                })
                .await?;
            InboundHandling {
                intent: intent.as_str().into(),
                promise_date: None,
                action: "a reply for a person to read".into(),
                needs_attention: true,
            }
        }
    };
    Ok(Outcome {
        handling,
        replies: act.replies,
    })
}

/// The invoices the reply is about: those of the reminder it answers, else
/// every open invoice of the buyer; only open ones.
async fn open_invoices(
    store: &dyn Store,
    entry: &InboxEntry,
    buyer: &Buyer,
) -> Result<Vec<Invoice>, StoreError> {
    let mut out = Vec::new();
    if let Some(id) = entry.outbox_id {
        let message = store.get_message(id).await?;
        for inv in message.invoice_ids {
            out.push(store.get_invoice(inv).await?);
        }
    }
    if out.is_empty() {
        out = store
            .list_invoices(&InvoiceFilter {
                buyer: Some(buyer.id),
                statuses: vec![
                    InvoiceStatus::Pending,
                    InvoiceStatus::InProcess,
                    InvoiceStatus::PartiallyPaid,
                ],
                ..InvoiceFilter::default()
            })
            .await?;
    }
    out.retain(|i| i.status.is_open());
    Ok(out)
}

fn entry_text(entry: &InboxEntry) -> String {
    entry
        .text
        .clone()
        .or_else(|| entry.payload.clone())
        .unwrap_or_else(|| format!("({} message)", entry.kind))
}

fn list_or_none(invoices: &[Invoice]) -> String {
    if invoices.is_empty() {
        "no open invoice".into()
    } else {
        numbers(invoices)
    }
}

fn numbers(invoices: &[Invoice]) -> String {
    invoices
        .iter()
        .map(|i| i.number.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fills `{seller}`, `{invoices}`, `{invoice}`, `{date}`, `{rep}`.
fn fill(text: &str, seller: &str, rep: &str, invoices: &[Invoice], date: Option<Date>) -> String {
    let list = if invoices.is_empty() {
        "your invoices".to_string()
    } else {
        numbers(invoices)
    };
    let first = invoices.first().map(|i| i.number.as_str()).unwrap_or("");
    text.replace("{seller}", seller)
        .replace("{invoices}", &list)
        .replace("{invoice}", first)
        .replace("{rep}", rep)
        .replace(
            "{date}",
            &date
                .map(|d| d.strftime("%-d %b %Y").to_string())
                .unwrap_or_default(),
        )
}

struct Act<'a> {
    store: &'a dyn Store,
    cfg: &'a InboundConfig,
    planner: &'a PlannerConfig,
    entry: &'a InboxEntry,
    buyer: &'a Buyer,
    now: Timestamp,
    replies: u32,
}

impl Act<'_> {
    /// Applies `event` to each invoice that accepts it (one already in that
    /// state is skipped); returns those changed.
    async fn apply(
        &self,
        invoices: &[Invoice],
        event: &InvoiceEvent,
        kind: NoteKind,
        note: &str,
    ) -> Result<Vec<Invoice>, StoreError> {
        let mut changed = Vec::new();
        for inv in invoices {
            if already(inv, event) || inv.apply(event).is_err() {
                continue;
            }
            let note = NewNote {
                buyer_id: self.buyer.id,
                invoice_id: Some(inv.id),
                at: self.entry.sent_at,
                kind,
                author: None,
                text: format!("{note}: “{}”", entry_text(self.entry)),
            };
            match self
                .store
                .apply_invoice_event(inv.id, event, Some(&note), self.now)
                .await
            {
                Ok(updated) => changed.push(updated),
                // moved on since it was read (a payment landed): leave it
                Err(StoreError::Invalid(_) | StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(changed)
    }

    /// Queues a free-form reply (keyed by the inbound message and `what`).
    async fn reply(
        &mut self,
        what: &str,
        text: &str,
        invoices: &[Invoice],
        date: Option<Date>,
    ) -> Result<(), StoreError> {
        let body = self.fill(text, invoices, date);
        let message = RenderedMessage::text(what, body, self.language());
        self.queue(what, message, invoices.iter().map(|i| i.id).collect())
            .await
    }

    async fn queue(
        &mut self,
        what: &str,
        message: RenderedMessage,
        invoice_ids: Vec<InvoiceId>,
    ) -> Result<(), StoreError> {
        let Some(to) = self.recipient() else {
            return Ok(());
        };
        let reply = NewReply {
            buyer_id: self.buyer.id,
            to,
            message,
            dedupe_key: format!(
                "{}{}:{what}",
                tagada_store::REPLY_KEY_PREFIX,
                self.entry.message_id
            ),
            invoice_ids,
            not_before: None,
        };
        if self.store.enqueue_reply(&reply, self.now).await?.is_some() {
            self.replies += 1;
        }
        Ok(())
    }

    /// One document per invoice (five at most), or a text promising it and
    /// an alert when no document address is configured.
    async fn send_copies(&mut self, invoices: &[Invoice]) -> Result<InboundHandling, StoreError> {
        let cfg = self.cfg;
        let intent = ReplyIntent::SendInvoiceCopy.as_str().to_string();
        if invoices.is_empty() {
            return Ok(InboundHandling {
                intent,
                promise_date: None,
                action: "asked for an invoice copy, but has no open invoice: check which one"
                    .into(),
                needs_attention: true,
            });
        }
        if cfg.invoice_document_url.trim().is_empty() {
            self.reply(
                "copy",
                &cfg.copy_unavailable,
                &invoices[..1.min(invoices.len())],
                None,
            )
            .await?;
            return Ok(InboundHandling {
                intent,
                promise_date: None,
                action: format!(
                    "asked for a copy of {}: no invoice document address is configured, send it by hand",
                    numbers(invoices)
                ),
                needs_attention: true,
            });
        }
        for inv in invoices.iter().take(5) {
            let url = cfg
                .invoice_document_url
                .replace("{invoice}", &url_component(&inv.number));
            let caption = self.fill(&cfg.copy_caption, std::slice::from_ref(inv), None);
            let message = RenderedMessage::document(
                "copy",
                url,
                format!("{}.pdf", inv.number.replace(['/', '\\'], "-")),
                caption,
                self.language(),
            );
            self.queue(&format!("copy:{}", inv.id.get()), message, vec![inv.id])
                .await?;
        }
        Ok(InboundHandling {
            intent,
            promise_date: None,
            action: format!(
                "invoice copy sent: {}",
                numbers(&invoices[..invoices.len().min(5)])
            ),
            needs_attention: false,
        })
    }

    fn fill(&self, text: &str, invoices: &[Invoice], date: Option<Date>) -> String {
        let seller = &self.planner.seller.company;
        let rep = self.buyer.sales_rep.as_deref().unwrap_or("Our team");
        fill(text, seller, rep, invoices, date)
    }

    fn language(&self) -> &str {
        self.buyer.language.as_deref().unwrap_or("en")
    }

    /// The buyer's WhatsApp number, else the number the message came from.
    fn recipient(&self) -> Option<Phone> {
        self.buyer.whatsapp.clone().or_else(|| {
            let from = format!("+{}", self.entry.from.trim_start_matches('+'));
            Phone::parse(&from, &CountryCode::india()).ok()
        })
    }
}

/// Whether the invoice is already where `event` would take it.
fn already(inv: &Invoice, event: &InvoiceEvent) -> bool {
    match event {
        InvoiceEvent::PaymentClaimed { hold_until } => {
            inv.status == InvoiceStatus::InProcess && inv.snoozed_until >= Some(*hold_until)
        }
        InvoiceEvent::Snoozed { until } => inv.snoozed_until == Some(*until),
        _ => false,
    }
}

/// Percent-encodes what is not unreserved in a URL path segment.
fn url_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled() {
        let t = fill(
            "{rep} of {seller}: {invoices} by {date}",
            "Acme Exports",
            "Ravi",
            &[],
            Some(jiff::civil::date(2026, 12, 15)),
        );
        assert_eq!(t, "Ravi of Acme Exports: your invoices by 15 Dec 2026");
    }

    #[test]
    fn invoice_numbers_are_safe_in_a_url() {
        assert_eq!(url_component("INV/2026-27/0042"), "INV%2F2026-27%2F0042");
        assert_eq!(url_component("A B#1"), "A%20B%231");
    }
}
