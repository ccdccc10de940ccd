//! Payments: the ways a reminder offers to pay (the invoice's pay page with
//! UPI, Razorpay and Stripe), the gateway links behind them, what the
//! gateways report back (webhooks, and polling as the safety net), and what
//! follows a payment (other links cancelled, a thank-you queued).
//!
//! A reminder's link is the invoice's pay page, `/pay/<token>`, served by
//! `tagada serve`. Gateway links are created when the buyer picks a gateway
//! there: once per invoice and amount outstanding, reused while open, a new
//! one (new Razorpay `reference_id` suffix) when the amount changed.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use tagada_core::cadence::PlannerConfig;
use tagada_core::clock::Clock;
use tagada_core::ledger::{Buyer, Invoice, InvoiceStatus, NoteKind, PaymentMethod};
use tagada_core::{CountryCode, Currency, InvoiceId, Money};
use tagada_payments::upi::{UpiPayee, qr_png, upi_link};
use tagada_payments::{
    Gateway, GatewayError, GatewayEvent, GatewayEventKind, GatewayPayment, LinkRef, LinkStatus,
    RemoteLink,
};
use tagada_store::{
    NewNote, NewPayment, NewPaymentLink, NewReply, PaymentLink, PaymentLinkFilter,
    PaymentLinkLookup, PaymentLinkUpdate, PaymentOutcome, REPLY_KEY_PREFIX, Store, StoreError,
    WebhookOutcome,
};

use crate::whatsapp::Secret;

/// Gives each of `invoices` that has no pay token yet the one the store
/// issues it (tokens are issued on first need, not when an invoice is
/// stored), so its pay page link can be shown or sent. One store call, and
/// none when every invoice already has its token. Returns how many were
/// given one.
pub async fn issue_pay_tokens<'a>(
    store: &dyn Store,
    invoices: impl IntoIterator<Item = &'a mut Invoice>,
) -> Result<usize, StoreError> {
    let mut missing: Vec<&mut Invoice> = invoices
        .into_iter()
        .filter(|i| i.pay_token.is_none())
        .collect();
    if missing.is_empty() {
        return Ok(0);
    }
    let ids: Vec<InvoiceId> = missing.iter().map(|i| i.id).collect();
    let issued: std::collections::HashMap<InvoiceId, String> =
        store.pay_tokens(&ids).await?.into_iter().collect();
    for inv in &mut missing {
        inv.pay_token = issued.get(&inv.id).cloned();
    }
    Ok(missing.len())
}

/// The template key of the thank-you sent when an invoice is paid. The
/// dispatcher checks only the buyer (not the invoice: it is paid) before
/// sending one.
pub const RECEIPT_TEMPLATE_KEY: &str = "payment_received";

/// Open links fetched at most to learn which one an order belongs to.
const ORDER_LOOKUPS: u32 = 20;

/// `[payments]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentsConfig {
    /// Queue a thank-you (template `payment_received`) when an invoice is
    /// paid in full, for the buyer's next business hours.
    pub thank_you: bool,
    /// Let buyers pay part of an invoice through a gateway link (Razorpay).
    pub accept_partial: bool,
    /// Days a Razorpay link stays payable.
    pub link_expiry_days: u32,
    /// Minutes a Stripe Checkout Session stays payable (Stripe allows 30 to
    /// 1,440).
    pub checkout_minutes: u32,
    /// Seconds between two polls of open links by `tagada serve` (the
    /// safety net when a webhook is missed); 0: no polling.
    pub poll_interval_secs: u64,
    pub upi: UpiConfig,
    pub razorpay: RazorpayConfig,
    pub stripe: StripeConfig,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        PaymentsConfig {
            thank_you: true,
            accept_partial: true,
            link_expiry_days: 30,
            checkout_minutes: 24 * 60,
            poll_interval_secs: 900,
            upi: UpiConfig::default(),
            razorpay: RazorpayConfig::default(),
            stripe: StripeConfig::default(),
        }
    }
}

/// `[payments.upi]`: pay by any UPI app to the seller's own VPA.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpiConfig {
    /// The seller's UPI address (`name@bank`); empty: no UPI option.
    pub vpa: String,
    /// The name UPI apps show; empty: `seller.company`.
    pub payee_name: String,
    /// Four-digit merchant category code, for merchant VPAs.
    pub merchant_code: String,
    /// Buyer countries offered UPI (it needs an Indian bank account).
    pub countries: Vec<CountryCode>,
}

impl Default for UpiConfig {
    fn default() -> Self {
        UpiConfig {
            vpa: String::new(),
            payee_name: String::new(),
            merchant_code: String::new(),
            countries: vec![CountryCode::india()],
        }
    }
}

/// `[payments.razorpay]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RazorpayConfig {
    pub enabled: bool,
    pub base_url: String,
    pub key_id: String,
    /// `TAGADA_PAYMENTS__RAZORPAY__KEY_SECRET`.
    pub key_secret: Secret,
    /// Signs webhooks: `TAGADA_PAYMENTS__RAZORPAY__WEBHOOK_SECRET`.
    pub webhook_secret: Secret,
    /// Invoice currencies offered a Razorpay link.
    pub currencies: Vec<Currency>,
    /// Buyer countries offered one; empty: every country.
    pub countries: Vec<CountryCode>,
}

impl Default for RazorpayConfig {
    fn default() -> Self {
        RazorpayConfig {
            enabled: false,
            base_url: tagada_payments::razorpay::DEFAULT_BASE_URL.into(),
            key_id: String::new(),
            key_secret: Secret::default(),
            webhook_secret: Secret::default(),
            currencies: vec![Currency::INR],
            countries: Vec::new(),
        }
    }
}

/// `[payments.stripe]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StripeConfig {
    pub enabled: bool,
    pub base_url: String,
    /// `TAGADA_PAYMENTS__STRIPE__SECRET_KEY`.
    pub secret_key: Secret,
    /// The endpoint's signing secret (`whsec_...`):
    /// `TAGADA_PAYMENTS__STRIPE__WEBHOOK_SECRET`.
    pub webhook_secret: Secret,
    /// Seconds a signed webhook stays acceptable (Stripe's libraries use 300).
    pub tolerance_secs: u64,
    pub currencies: Vec<Currency>,
    /// Buyer countries offered Stripe; empty: every country.
    pub countries: Vec<CountryCode>,
}

impl Default for StripeConfig {
    fn default() -> Self {
        StripeConfig {
            enabled: false,
            base_url: tagada_payments::stripe::DEFAULT_BASE_URL.into(),
            secret_key: Secret::default(),
            webhook_secret: Secret::default(),
            tolerance_secs: 300,
            currencies: vec![
                Currency::USD,
                Currency::EUR,
                Currency::GBP,
                Currency::AED,
                Currency::SAR,
                Currency::JPY,
            ],
            countries: Vec::new(),
        }
    }
}

impl PaymentsConfig {
    /// Checks what can be checked without the network.
    pub fn validate(&self, seller_company: &str) -> Result<(), String> {
        if !self.upi.vpa.trim().is_empty() {
            self.upi_payee(seller_company)
                .map_err(|e| format!("payments.upi: {e}"))?;
        }
        if self.razorpay.enabled {
            if self.razorpay.key_id.trim().is_empty() || !self.razorpay.key_secret.is_set() {
                return Err("payments.razorpay: enabled without key_id and key_secret".to_string());
            }
            if let Some(c) = self
                .razorpay
                .currencies
                .iter()
                .find(|c| !tagada_payments::razorpay::accepts_currency(**c))
            {
                return Err(format!(
                    "payments.razorpay.currencies: Razorpay does not take {c}"
                ));
            }
        }
        if self.stripe.enabled && !self.stripe.secret_key.is_set() {
            return Err("payments.stripe: enabled without secret_key".to_string());
        }
        if !(30..=1440).contains(&self.checkout_minutes) {
            return Err(format!(
                "payments.checkout_minutes: {} is outside Stripe's 30 to 1440",
                self.checkout_minutes
            ));
        }
        if self.link_expiry_days == 0 {
            return Err("payments.link_expiry_days: must be at least 1".to_string());
        }
        Ok(())
    }

    /// The UPI payee, when a VPA is set.
    pub fn upi_payee(
        &self,
        seller_company: &str,
    ) -> Result<UpiPayee, tagada_payments::upi::UpiError> {
        let name = if self.upi.payee_name.trim().is_empty() {
            seller_company
        } else {
            self.upi.payee_name.as_str()
        };
        let mc = Some(self.upi.merchant_code.as_str()).filter(|m| !m.trim().is_empty());
        UpiPayee::new(&self.upi.vpa, name, mc)
    }

    /// The ways to pay an invoice in `currency` from a buyer in `country`,
    /// in the order the pay page shows them.
    pub fn methods_for(&self, currency: Currency, country: &CountryCode) -> Vec<PayMethod> {
        let mut out = Vec::new();
        if currency == Currency::INR
            && !self.upi.vpa.trim().is_empty()
            && (self.upi.countries.is_empty() || self.upi.countries.contains(country))
        {
            out.push(PayMethod::Upi);
        }
        let fits = |enabled: bool, currencies: &[Currency], countries: &[CountryCode]| {
            enabled
                && currencies.contains(&currency)
                && (countries.is_empty() || countries.contains(country))
        };
        if fits(
            self.razorpay.enabled,
            &self.razorpay.currencies,
            &self.razorpay.countries,
        ) {
            out.push(PayMethod::Gateway(Gateway::Razorpay));
        }
        if fits(
            self.stripe.enabled,
            &self.stripe.currencies,
            &self.stripe.countries,
        ) {
            out.push(PayMethod::Gateway(Gateway::Stripe));
        }
        out
    }
}

/// One way to pay on the pay page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayMethod {
    Upi,
    Gateway(Gateway),
}

/// What a gateway link is created from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRequest {
    pub invoice_number: String,
    /// Unique per link at Razorpay (`reference_id`); Stripe's
    /// `client_reference_id`.
    pub reference_id: String,
    pub amount: Money,
    pub description: String,
    pub customer_name: Option<String>,
    pub customer_contact: Option<String>,
    pub customer_email: Option<String>,
    pub accept_partial: bool,
    pub expires_at: Timestamp,
    /// Where the buyer lands after paying (the pay page again).
    pub return_url: String,
    /// Kept by the gateway and sent back in its events (`invoice_number`).
    pub notes: BTreeMap<String, String>,
}

/// A gateway that makes payment links: the Razorpay and Stripe clients
/// behind one face.
#[async_trait]
pub trait LinkGateway: Send + Sync + std::fmt::Debug {
    fn gateway(&self) -> Gateway;
    async fn create(&self, req: &LinkRequest) -> Result<RemoteLink, GatewayError>;
    async fn fetch(&self, id: &str) -> Result<RemoteLink, GatewayError>;
    async fn cancel(&self, id: &str) -> Result<RemoteLink, GatewayError>;
    /// Whether the error says the reference was used before (a new suffix
    /// will do).
    fn is_duplicate_reference(&self, _e: &GatewayError) -> bool {
        false
    }
}

#[async_trait]
impl LinkGateway for tagada_payments::razorpay::RazorpayClient {
    fn gateway(&self) -> Gateway {
        Gateway::Razorpay
    }
    async fn create(&self, req: &LinkRequest) -> Result<RemoteLink, GatewayError> {
        self.create_link(&tagada_payments::razorpay::NewRazorpayLink {
            amount: req.amount,
            reference_id: req.reference_id.clone(),
            description: req.description.clone(),
            customer_name: req.customer_name.clone(),
            customer_contact: req.customer_contact.clone(),
            customer_email: req.customer_email.clone(),
            accept_partial: req.accept_partial,
            first_min_partial_amount: None,
            expire_by: Some(req.expires_at),
            notes: req.notes.clone(),
            callback_url: Some(req.return_url.clone()),
        })
        .await
    }
    async fn fetch(&self, id: &str) -> Result<RemoteLink, GatewayError> {
        self.fetch_link(id).await
    }
    async fn cancel(&self, id: &str) -> Result<RemoteLink, GatewayError> {
        self.cancel_link(id).await
    }
    fn is_duplicate_reference(&self, e: &GatewayError) -> bool {
        tagada_payments::razorpay::is_duplicate_reference(e)
    }
}

#[async_trait]
impl LinkGateway for tagada_payments::stripe::StripeClient {
    fn gateway(&self) -> Gateway {
        Gateway::Stripe
    }
    async fn create(&self, req: &LinkRequest) -> Result<RemoteLink, GatewayError> {
        self.create_checkout_session(&tagada_payments::stripe::NewCheckoutSession {
            amount: req.amount,
            product_name: req.description.clone(),
            client_reference_id: req.reference_id.clone(),
            metadata: req.notes.clone(),
            customer_email: req.customer_email.clone(),
            success_url: req.return_url.clone(),
            cancel_url: Some(req.return_url.clone()),
            expires_at: Some(req.expires_at),
            // one session per link row: retrying the same create is harmless
            idempotency_key: Some(format!("tagada-{}", req.reference_id)),
        })
        .await
    }
    async fn fetch(&self, id: &str) -> Result<RemoteLink, GatewayError> {
        self.retrieve_checkout_session(id).await
    }
    async fn cancel(&self, id: &str) -> Result<RemoteLink, GatewayError> {
        self.expire_checkout_session(id).await
    }
}

/// The gateways configured, as clients.
#[derive(Debug, Clone, Default)]
pub struct Gateways {
    pub razorpay: Option<Arc<dyn LinkGateway>>,
    pub stripe: Option<Arc<dyn LinkGateway>>,
}

impl Gateways {
    /// Real clients for the enabled gateways.
    pub fn from_config(cfg: &PaymentsConfig) -> Gateways {
        let razorpay = (cfg.razorpay.enabled).then(|| {
            Arc::new(tagada_payments::razorpay::RazorpayClient::new(
                &cfg.razorpay.base_url,
                &cfg.razorpay.key_id,
                cfg.razorpay
                    .key_secret
                    .to_secret_string()
                    .unwrap_or_default(),
            )) as Arc<dyn LinkGateway>
        });
        let stripe = (cfg.stripe.enabled).then(|| {
            Arc::new(tagada_payments::stripe::StripeClient::new(
                &cfg.stripe.base_url,
                cfg.stripe.secret_key.to_secret_string().unwrap_or_default(),
            )) as Arc<dyn LinkGateway>
        });
        Gateways { razorpay, stripe }
    }

    pub fn get(&self, gateway: Gateway) -> Option<&Arc<dyn LinkGateway>> {
        match gateway {
            Gateway::Razorpay => self.razorpay.as_ref(),
            Gateway::Stripe => self.stripe.as_ref(),
        }
    }
}

/// Everything payment code needs, borrowed from the caller.
#[derive(Debug, Clone, Copy)]
pub struct PayContext<'a> {
    pub store: &'a dyn Store,
    pub gateways: &'a Gateways,
    pub cfg: &'a PaymentsConfig,
    pub planner: &'a PlannerConfig,
    pub clock: &'a dyn Clock,
    /// Buyers without a country are taken to be here.
    pub home_country: &'a CountryCode,
}

#[derive(Debug, thiserror::Error)]
pub enum PayError {
    #[error("no such pay page")]
    NotFound,
    #[error("invoice {number} is {status}: nothing to pay")]
    NotPayable {
        number: String,
        status: InvoiceStatus,
    },
    #[error("{0} is not offered for this invoice")]
    NotOffered(String),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error(transparent)]
    Upi(#[from] tagada_payments::upi::UpiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the pay page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayPage {
    pub invoice_number: String,
    pub seller_company: String,
    pub buyer_name: String,
    pub amount: Money,
    pub outstanding: Money,
    pub due_date: jiff::civil::Date,
    pub status: InvoiceStatus,
    /// The `upi://pay` link, when UPI is offered.
    pub upi_link: Option<String>,
    pub gateways: Vec<Gateway>,
}

impl PayPage {
    /// Whether there is anything left to pay.
    pub fn payable(&self) -> bool {
        self.status.is_open() && self.outstanding.is_positive()
    }
}

impl PayContext<'_> {
    fn country_of(&self, buyer: &Buyer) -> CountryCode {
        buyer
            .country
            .clone()
            .unwrap_or_else(|| self.home_country.clone())
    }

    async fn invoice_for(&self, token: &str) -> Result<(Invoice, Buyer), PayError> {
        // Tokens are hex; anything else cannot be one (and is not looked up).
        if token.len() < 16 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(PayError::NotFound);
        }
        let invoice = self
            .store
            .find_invoice_by_pay_token(token)
            .await?
            .ok_or(PayError::NotFound)?;
        let buyer = self.store.get_buyer(invoice.buyer_id).await?;
        Ok((invoice, buyer))
    }

    /// The pay page behind `token`.
    pub async fn pay_page(&self, token: &str) -> Result<PayPage, PayError> {
        let (invoice, buyer) = self.invoice_for(token).await?;
        let outstanding = invoice.outstanding();
        let methods = self.methods(&invoice, &buyer);
        let upi_link = if methods.contains(&PayMethod::Upi) && outstanding.is_positive() {
            let payee = self.cfg.upi_payee(&self.planner.seller.company)?;
            Some(upi_link(&payee, outstanding, &invoice.number)?)
        } else {
            None
        };
        Ok(PayPage {
            invoice_number: invoice.number.clone(),
            seller_company: self.planner.seller.company.clone(),
            buyer_name: buyer.company.clone().unwrap_or(buyer.name.clone()),
            amount: invoice.amount,
            outstanding,
            due_date: invoice.due_date,
            status: invoice.status,
            upi_link,
            gateways: methods
                .into_iter()
                .filter_map(|m| match m {
                    PayMethod::Gateway(g) if self.gateways.get(g).is_some() => Some(g),
                    _ => None,
                })
                .collect(),
        })
    }

    fn methods(&self, invoice: &Invoice, buyer: &Buyer) -> Vec<PayMethod> {
        self.cfg
            .methods_for(invoice.currency(), &self.country_of(buyer))
    }

    /// The QR code (PNG) of the invoice's UPI link.
    pub async fn upi_qr(&self, token: &str) -> Result<Vec<u8>, PayError> {
        let page = self.pay_page(token).await?;
        let link = page
            .upi_link
            .ok_or_else(|| PayError::NotOffered("UPI".to_string()))?;
        Ok(qr_png(&link, 6)?)
    }

    /// A gateway link for the invoice behind `token` and what it owes now:
    /// an open one for exactly that amount is reused; open ones for another
    /// amount are cancelled; otherwise a new one is created (with a new
    /// reference suffix).
    pub async fn gateway_link(
        &self,
        token: &str,
        gateway: Gateway,
    ) -> Result<PaymentLink, PayError> {
        let (invoice, buyer) = self.invoice_for(token).await?;
        let outstanding = invoice.outstanding();
        if !invoice.status.is_open() || !outstanding.is_positive() {
            return Err(PayError::NotPayable {
                number: invoice.number.clone(),
                status: invoice.status,
            });
        }
        let client = match self.gateways.get(gateway) {
            Some(c)
                if self
                    .methods(&invoice, &buyer)
                    .contains(&PayMethod::Gateway(gateway)) =>
            {
                c.clone()
            }
            _ => return Err(PayError::NotOffered(gateway.to_string())),
        };
        let now = self.clock.now();
        // a link about to expire is not handed out
        let soon = now
            .saturating_add(SignedDuration::from_mins(10))
            .unwrap_or(now);
        let open = self
            .store
            .list_payment_links(&PaymentLinkFilter {
                invoice: Some(invoice.id),
                gateway: Some(gateway.as_str().to_string()),
                open_only: true,
                limit: None,
            })
            .await?;
        for link in &open {
            let remaining = link.amount.minor() - link.amount_paid.minor();
            if link.is_open_at(soon)
                && link.amount.currency() == outstanding.currency()
                && remaining == outstanding.minor()
            {
                return Ok(link.clone());
            }
        }
        for link in &open {
            self.cancel_link(client.as_ref(), link, "the amount owed changed")
                .await;
        }
        let mut count = self
            .store
            .count_payment_links(invoice.id, gateway.as_str())
            .await?;
        let expires_at = match gateway {
            Gateway::Razorpay => now.saturating_add(SignedDuration::from_hours(
                24 * i64::from(self.cfg.link_expiry_days),
            )),
            Gateway::Stripe => now.saturating_add(SignedDuration::from_mins(i64::from(
                self.cfg.checkout_minutes,
            ))),
        }
        .unwrap_or(now);
        let mut notes = BTreeMap::new();
        notes.insert("invoice_number".to_string(), invoice.number.clone());
        let token_url = self.planner.seller.pay_page(token);
        let mut attempts = 0;
        loop {
            let reference_id = reference_for(&invoice.number, count);
            let req = LinkRequest {
                invoice_number: invoice.number.clone(),
                reference_id: reference_id.clone(),
                amount: outstanding,
                description: format!(
                    "Invoice {} from {}",
                    invoice.number, self.planner.seller.company
                ),
                customer_name: Some(buyer.company.clone().unwrap_or(buyer.name.clone())),
                customer_contact: buyer.whatsapp.as_ref().map(|p| p.as_str().to_string()),
                customer_email: buyer.email.clone(),
                // Razorpay refuses partial payments below the whole amount
                // for UPI-only links; tagada creates standard links.
                accept_partial: self.cfg.accept_partial && gateway == Gateway::Razorpay,
                expires_at,
                return_url: token_url.clone(),
                notes: notes.clone(),
            };
            match client.create(&req).await {
                Ok(remote) => {
                    let link = self
                        .store
                        .save_payment_link(
                            &NewPaymentLink {
                                invoice_id: invoice.id,
                                gateway: gateway.as_str().to_string(),
                                remote_id: remote.id.clone(),
                                reference_id,
                                url: remote.url.clone(),
                                amount: outstanding,
                                status: remote.status.as_str().to_string(),
                                order_id: remote.order_id.clone(),
                                expires_at: remote.expires_at.or(Some(expires_at)),
                            },
                            now,
                        )
                        .await?;
                    tracing::info!(invoice = %invoice.number, %gateway, link = %link.remote_id, amount = %outstanding, "payment link created");
                    return Ok(link);
                }
                Err(e) if client.is_duplicate_reference(&e) && attempts < 5 => {
                    // made before by a run that stopped before saving it
                    attempts += 1;
                    count += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn cancel_link(&self, client: &dyn LinkGateway, link: &PaymentLink, why: &str) {
        let now = self.clock.now();
        match client.cancel(&link.remote_id).await {
            Ok(remote) => {
                let update = PaymentLinkUpdate {
                    status: Some(remote.status.as_str().to_string()),
                    amount_paid: Some(remote.amount_paid),
                    order_id: remote.order_id.clone(),
                };
                if let Err(e) = self.store.update_payment_link(link.id, &update, now).await {
                    tracing::warn!(link = %link.remote_id, error = %e, "could not record a cancelled link");
                }
                tracing::info!(link = %link.remote_id, reason = why, "payment link cancelled");
            }
            Err(e) => {
                tracing::warn!(link = %link.remote_id, error = %e, "could not cancel a payment link; the next poll will look again")
            }
        }
    }

    /// Acts on one verified gateway event: records the payment (or the
    /// failed attempt, or the link's end), then keeps the event under its id
    /// (a replay changes nothing). Safe to repeat at any point: payments are
    /// unique per gateway payment id.
    pub async fn apply_gateway_event(
        &self,
        event: &GatewayEvent,
        raw: &str,
    ) -> Result<EventOutcome, PayError> {
        let source = event.gateway.as_str();
        if self
            .store
            .gateway_event_seen(source, &event.event_id)
            .await?
        {
            return Ok(EventOutcome::Duplicate);
        }
        let (outcome, kept) = match &event.kind {
            GatewayEventKind::Paid(payment) => {
                let recorded = self.record_gateway_payment(event.gateway, payment).await?;
                let kept = if recorded.payment.invoice_id.is_some() {
                    WebhookOutcome::Applied
                } else {
                    WebhookOutcome::Unmatched
                };
                (EventOutcome::Payment(Box::new(recorded)), kept)
            }
            GatewayEventKind::Failed {
                payment_id,
                link,
                amount,
                reason,
            } => {
                let found = self.find_link(event.gateway, link).await?;
                if let Some(l) = &found {
                    let invoice = self.store.get_invoice(l.invoice_id).await?;
                    let amount = amount.map(|a| format!(" of {a}")).unwrap_or_default();
                    let id = payment_id.as_deref().unwrap_or("?");
                    self.store
                        .add_note(&NewNote {
                            buyer_id: invoice.buyer_id,
                            invoice_id: Some(invoice.id),
                            at: event.occurred_at,
                            kind: NoteKind::System,
                            author: Some(source.to_string()),
                            text: format!(
                                "{source} payment {id}{amount} failed: {reason} (the invoice is unchanged)"
                            ),
                        })
                        .await?;
                }
                let kept = if found.is_some() {
                    WebhookOutcome::Applied
                } else {
                    WebhookOutcome::Unmatched
                };
                (EventOutcome::Failed, kept)
            }
            GatewayEventKind::LinkClosed { link, status } => {
                let found = self.find_link(event.gateway, link).await?;
                if let Some(l) = &found {
                    // a paid link stays paid, whatever arrives after
                    if l.status != LinkStatus::Paid.as_str() {
                        self.store
                            .update_payment_link(
                                l.id,
                                &PaymentLinkUpdate {
                                    status: Some(status.as_str().to_string()),
                                    ..Default::default()
                                },
                                self.clock.now(),
                            )
                            .await?;
                    }
                }
                let kept = if found.is_some() {
                    WebhookOutcome::Applied
                } else {
                    WebhookOutcome::Unmatched
                };
                (EventOutcome::LinkClosed, kept)
            }
            GatewayEventKind::Ignored { reason } => (
                EventOutcome::Ignored(reason.clone()),
                WebhookOutcome::Ignored,
            ),
        };
        self.store
            .record_gateway_event(source, &event.event_id, raw, kept, self.clock.now())
            .await?;
        Ok(outcome)
    }

    /// The stored link an event is about. A bare payment event names only
    /// the order, which Razorpay makes at the first attempt to pay: when no
    /// stored link has that order yet, the newest open links that have none
    /// are fetched from the gateway to learn theirs.
    async fn find_link(
        &self,
        gateway: Gateway,
        link: &LinkRef,
    ) -> Result<Option<PaymentLink>, StoreError> {
        let lookup = PaymentLinkLookup {
            remote_id: link.link_id.clone(),
            order_id: link.order_id.clone(),
            reference_id: link.reference_id.clone(),
        };
        if let Some(found) = self
            .store
            .find_payment_link(gateway.as_str(), &lookup)
            .await?
        {
            return Ok(Some(found));
        }
        let (Some(order), None, Some(client)) =
            (&link.order_id, &link.link_id, self.gateways.get(gateway))
        else {
            return Ok(None);
        };
        let open = self
            .store
            .list_payment_links(&PaymentLinkFilter {
                gateway: Some(gateway.as_str().to_string()),
                open_only: true,
                limit: Some(ORDER_LOOKUPS),
                ..Default::default()
            })
            .await?;
        for l in open.into_iter().filter(|l| l.order_id.is_none()) {
            let Ok(remote) = client.fetch(&l.remote_id).await else {
                continue;
            };
            let Some(learned) = remote.order_id else {
                continue;
            };
            let updated = self
                .store
                .update_payment_link(
                    l.id,
                    &PaymentLinkUpdate {
                        order_id: Some(learned.clone()),
                        ..Default::default()
                    },
                    self.clock.now(),
                )
                .await?;
            if &learned == order {
                return Ok(Some(updated));
            }
        }
        Ok(None)
    }

    /// Records a captured payment against the invoice its link belongs to
    /// (else the invoice its notes name; else kept, flagged, for a later
    /// report or a person to allocate), updates the link, and follows up.
    pub async fn record_gateway_payment(
        &self,
        gateway: Gateway,
        payment: &GatewayPayment,
    ) -> Result<PaymentOutcome, PayError> {
        let link = self.find_link(gateway, &payment.link).await?;
        let method = match gateway {
            Gateway::Razorpay => PaymentMethod::Razorpay,
            Gateway::Stripe => PaymentMethod::Stripe,
        };
        let outcome = self
            .store
            .record_payment(
                &NewPayment {
                    invoice_number: match &link {
                        Some(_) => None,
                        None => payment.link.invoice_number.clone(),
                    },
                    invoice_id: link.as_ref().map(|l| l.invoice_id),
                    buyer_id: None,
                    amount: payment.amount,
                    received_at: payment.paid_at,
                    method,
                    reference: Some(payment.payment_id.clone()),
                },
                self.clock.now(),
            )
            .await?;
        if let Some(l) = &link {
            let paid_so_far = payment
                .link_amount_paid
                .filter(|m| m.currency() == l.amount.currency());
            let status = paid_so_far.map(|paid| {
                if paid.minor() >= l.amount.minor() {
                    LinkStatus::Paid
                } else {
                    LinkStatus::PartiallyPaid
                }
            });
            self.store
                .update_payment_link(
                    l.id,
                    &PaymentLinkUpdate {
                        status: status.map(|s| s.as_str().to_string()),
                        amount_paid: paid_so_far,
                        order_id: payment.link.order_id.clone(),
                    },
                    self.clock.now(),
                )
                .await?;
        }
        if !outcome.duplicate {
            tracing::info!(%gateway, payment = %payment.payment_id, amount = %payment.amount, invoice = ?outcome.invoice.as_ref().map(|i| &i.number), flag = ?outcome.payment.flag, "payment recorded");
        }
        self.after_payment(&outcome).await?;
        Ok(outcome)
    }

    /// What follows a recorded payment, whatever its way in: once the
    /// invoice is paid, its other open links are cancelled at their gateways
    /// and a thank-you is queued (once per invoice and cycle).
    pub async fn after_payment(&self, outcome: &PaymentOutcome) -> Result<(), PayError> {
        let Some(invoice) = &outcome.invoice else {
            return Ok(());
        };
        if invoice.status != InvoiceStatus::Paid {
            return Ok(());
        }
        let open = self
            .store
            .list_payment_links(&PaymentLinkFilter {
                invoice: Some(invoice.id),
                open_only: true,
                ..Default::default()
            })
            .await?;
        for link in &open {
            match Gateway::parse(&link.gateway).and_then(|g| self.gateways.get(g)) {
                Some(client) => {
                    self.cancel_link(client.as_ref(), link, "the invoice is paid")
                        .await
                }
                None => {
                    tracing::warn!(link = %link.remote_id, gateway = %link.gateway, "an open link of a paid invoice cannot be cancelled: its gateway is not configured")
                }
            }
        }
        if self.cfg.thank_you {
            self.queue_thank_you(invoice).await?;
        }
        Ok(())
    }

    /// Queues the thank-you for a paid invoice, for the buyer's next
    /// business hours. Once per invoice and reminder cycle.
    async fn queue_thank_you(&self, invoice: &Invoice) -> Result<(), PayError> {
        let buyer = self.store.get_buyer(invoice.buyer_id).await?;
        let Some(to) = buyer.whatsapp.clone() else {
            return Ok(());
        };
        if buyer.opted_out_at.is_some() {
            return Ok(());
        }
        let now = self.clock.now();
        let zone_name = buyer.zone_name(self.planner.home_zone_name()).to_string();
        let tz = jiff::tz::TimeZone::get(&zone_name).unwrap_or(jiff::tz::TimeZone::UTC);
        let country = self.country_of(&buyer);
        let today = now.to_zoned_datetime(tz.clone()).date();
        let not_before = self
            .planner
            .calendar_for(&country)
            .next_open(now, &tz, today)
            .unwrap_or(now);
        let language = crate::actions::language_of(self.planner, &buyer);
        let mut invoice = invoice.clone();
        issue_pay_tokens(self.store, std::iter::once(&mut invoice)).await?;
        let ctx = crate::actions::message_context(
            self.planner,
            &buyer,
            std::slice::from_ref(&invoice),
            today,
        );
        let templates = tagada_core::template::TemplateSet::new(&self.planner.templates);
        let message = match templates.render(RECEIPT_TEMPLATE_KEY, "", &language, &ctx) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(invoice = %invoice.number, error = %e, "no thank-you sent: the template does not render");
                return Ok(());
            }
        };
        let queued = self
            .store
            .enqueue_reply(
                &NewReply {
                    buyer_id: buyer.id,
                    to,
                    message,
                    dedupe_key: format!(
                        "{REPLY_KEY_PREFIX}receipt:{}:{}",
                        invoice.id, invoice.reminder_cycle
                    ),
                    invoice_ids: vec![invoice.id],
                    not_before: Some(not_before),
                },
                now,
            )
            .await?;
        if queued.is_some() {
            tracing::info!(invoice = %invoice.number, at = %not_before, "thank-you queued");
        }
        Ok(())
    }

    /// The safety net for missed webhooks: fetches every open link from its
    /// gateway, records the payments it lists that were not recorded, and
    /// notes links that expired or were cancelled there.
    pub async fn poll_open_links(&self) -> Result<PollReport, PayError> {
        let open = self
            .store
            .list_payment_links(&PaymentLinkFilter {
                open_only: true,
                ..Default::default()
            })
            .await?;
        let mut report = PollReport::default();
        for link in open {
            let Some(gateway) = Gateway::parse(&link.gateway) else {
                continue;
            };
            let Some(client) = self.gateways.get(gateway) else {
                continue;
            };
            report.links += 1;
            let remote = match client.fetch(&link.remote_id).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(link = %link.remote_id, error = %e, "poll failed");
                    report.errors += 1;
                    continue;
                }
            };
            for p in &remote.payments {
                let mut p = p.clone();
                p.link.link_id.get_or_insert(link.remote_id.clone());
                p.link_amount_paid.get_or_insert(remote.amount_paid);
                let out = self.record_gateway_payment(gateway, &p).await?;
                if !out.duplicate {
                    report.payments_recorded += 1;
                }
            }
            if !remote.status.is_open() && remote.status.as_str() != link.status {
                self.store
                    .update_payment_link(
                        link.id,
                        &PaymentLinkUpdate {
                            status: Some(remote.status.as_str().to_string()),
                            amount_paid: Some(remote.amount_paid),
                            order_id: remote.order_id.clone(),
                        },
                        self.clock.now(),
                    )
                    .await?;
                report.closed += 1;
            }
        }
        Ok(report)
    }
}

/// `INV-1`, then `INV-1-2`, `INV-1-3`... (Razorpay keeps a `reference_id`
/// unique forever; it takes at most 40 characters).
pub fn reference_for(number: &str, previous_links: u32) -> String {
    let suffix = if previous_links == 0 {
        String::new()
    } else {
        format!("-{}", previous_links + 1)
    };
    let room = 40usize.saturating_sub(suffix.len());
    let base: String = number.trim().chars().take(room).collect();
    format!("{base}{suffix}")
}

/// What one gateway event did.
#[derive(Debug, Clone)]
pub enum EventOutcome {
    /// Seen before: nothing changed.
    Duplicate,
    Payment(Box<PaymentOutcome>),
    Failed,
    LinkClosed,
    Ignored(String),
}

/// What one poll found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PollReport {
    pub links: u32,
    pub payments_recorded: u32,
    pub closed: u32,
    pub errors: u32,
}

/// Records a payment received outside the gateways (cheque, NEFT, a
/// foreign remittance) and follows up as a gateway payment would.
pub async fn record_payment(
    ctx: &PayContext<'_>,
    payment: &NewPayment,
) -> Result<PaymentOutcome, PayError> {
    let outcome = ctx.store.record_payment(payment, ctx.clock.now()).await?;
    ctx.after_payment(&outcome).await?;
    Ok(outcome)
}

/// The invoice of a payment outcome, for printing.
pub fn invoice_of(outcome: &PaymentOutcome) -> Option<InvoiceId> {
    outcome.invoice.as_ref().map(|i| i.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_get_a_suffix_and_fit_razorpay() {
        assert_eq!(reference_for("INV-1", 0), "INV-1");
        assert_eq!(reference_for("INV-1", 1), "INV-1-2");
        assert_eq!(reference_for("INV-1", 9), "INV-1-10");
        let long = "X".repeat(50);
        assert_eq!(reference_for(&long, 0).len(), 40);
        let r = reference_for(&long, 3);
        assert_eq!(r.len(), 40);
        assert!(r.ends_with("-4"));
    }

    #[test]
    fn methods_follow_currency_and_country() {
        let mut cfg = PaymentsConfig::default();
        cfg.upi.vpa = "shop@okhdfc".into();
        cfg.razorpay.enabled = true;
        cfg.razorpay.currencies = vec![Currency::INR, Currency::USD];
        cfg.stripe.enabled = true;
        let india = CountryCode::india();
        let us = CountryCode::parse("US").unwrap();
        assert_eq!(
            cfg.methods_for(Currency::INR, &india),
            vec![PayMethod::Upi, PayMethod::Gateway(Gateway::Razorpay)]
        );
        // UPI needs an Indian bank account
        assert_eq!(
            cfg.methods_for(Currency::INR, &us),
            vec![PayMethod::Gateway(Gateway::Razorpay)]
        );
        assert_eq!(
            cfg.methods_for(Currency::USD, &us),
            vec![
                PayMethod::Gateway(Gateway::Razorpay),
                PayMethod::Gateway(Gateway::Stripe)
            ]
        );
        cfg.stripe.countries = vec![CountryCode::parse("DE").unwrap()];
        assert_eq!(cfg.methods_for(Currency::EUR, &us), Vec::<PayMethod>::new());
    }
}

/// Why a gateway webhook was not applied.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// Not signed by the gateway (or replayed too late): nothing recorded.
    #[error(transparent)]
    Signature(#[from] tagada_payments::SignatureError),
    /// The gateway's webhook secret is not configured.
    #[error("{0} webhook secret is not configured")]
    NotConfigured(Gateway),
    #[error(transparent)]
    Apply(#[from] PayError),
}

/// The key of a webhook delivery that names no event id: its body's hash.
fn body_key(body: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(body)))
}

/// A verified webhook body that could not be read is kept (as ignored,
/// under a key made from its bytes) and answered 200: the gateway would
/// only send it again.
async fn keep_unreadable(
    ctx: &PayContext<'_>,
    gateway: Gateway,
    event_id: Option<&str>,
    body: &[u8],
    why: &tagada_payments::ParseError,
) -> Result<EventOutcome, HookError> {
    let key = event_id.map_or_else(|| body_key(body), str::to_string);
    tracing::warn!(%gateway, error = %why, "gateway webhook unreadable: kept, not applied");
    let raw = serde_json::from_slice::<serde_json::Value>(body)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(body).into()).to_string()
        });
    ctx.store
        .record_gateway_event(
            gateway.as_str(),
            &key,
            &raw,
            WebhookOutcome::Ignored,
            ctx.clock.now(),
        )
        .await
        .map_err(PayError::from)?;
    Ok(EventOutcome::Ignored(why.to_string()))
}

/// `POST /webhooks/razorpay`: checks `X-Razorpay-Signature` over the raw
/// body, then applies the event under its `X-Razorpay-Event-Id` (the body's
/// hash when the header is missing).
pub async fn ingest_razorpay(
    ctx: &PayContext<'_>,
    signature: Option<&str>,
    event_id: Option<&str>,
    body: &[u8],
) -> Result<EventOutcome, HookError> {
    let secret = ctx
        .cfg
        .razorpay
        .webhook_secret
        .expose()
        .ok_or(HookError::NotConfigured(Gateway::Razorpay))?;
    tagada_payments::razorpay::verify_webhook(secret.as_bytes(), body, signature)?;
    let key = event_id
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map_or_else(|| body_key(body), str::to_string);
    match tagada_payments::razorpay::parse_webhook(body, &key) {
        Ok(event) => Ok(ctx
            .apply_gateway_event(&event, &String::from_utf8_lossy(body))
            .await?),
        Err(e) => keep_unreadable(ctx, Gateway::Razorpay, Some(&key), body, &e).await,
    }
}

/// `POST /webhooks/stripe`: checks `Stripe-Signature` (and its timestamp
/// against the tolerance), then applies the event under its `evt_` id.
pub async fn ingest_stripe(
    ctx: &PayContext<'_>,
    signature: Option<&str>,
    body: &[u8],
) -> Result<EventOutcome, HookError> {
    let secret = ctx
        .cfg
        .stripe
        .webhook_secret
        .expose()
        .ok_or(HookError::NotConfigured(Gateway::Stripe))?;
    let tolerance = SignedDuration::from_secs(ctx.cfg.stripe.tolerance_secs as i64);
    tagada_payments::stripe::verify_webhook(secret, body, signature, ctx.clock.now(), tolerance)?;
    match tagada_payments::stripe::parse_webhook(body) {
        Ok(event) => Ok(ctx
            .apply_gateway_event(&event, &String::from_utf8_lossy(body))
            .await?),
        Err(e) => keep_unreadable(ctx, Gateway::Stripe, None, body, &e).await,
    }
}
