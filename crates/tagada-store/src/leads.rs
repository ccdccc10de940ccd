//! Leads from the marketplaces (IndiaMART, TradeIndia): the records that
//! cross [`LeadStore`](crate::LeadStore), each source's sync state (cursor,
//! call budget, stop), and the record of sync runs.
//!
//! A lead is stored once per `(source, external_id)` with its raw payload,
//! in the same transaction as what it does to the ledger: it becomes a new
//! buyer, or enriches the buyer it matches (by E.164 phone, then e-mail,
//! then company name and city). A match only fills fields the buyer lacks:
//! what is already there (typed by a person or imported) is never
//! overwritten, and a lead that says otherwise leaves a note instead. The
//! lead's message, product, quantity and value become notes on the buyer.
//! Buyers created from leads carry no consent.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tagada_core::{BuyerId, CountryCode, Phone};

/// Leads stored per transaction by
/// [`record_leads`](crate::LeadStore::record_leads): each lead and what it
/// does to the ledger commit together, a chunk at a time.
pub const LEADS_PER_TRANSACTION: usize = 500;

/// The `source` of IndiaMART leads.
pub const INDIAMART: &str = "indiamart";
/// The `source` of TradeIndia leads.
pub const TRADEINDIA: &str = "tradeindia";

/// One lead, source-independent, as the sync hands it to the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLead {
    /// `indiamart`, `tradeindia`.
    pub source: String,
    /// The source's unique id (`UNIQUE_QUERY_ID`, `rfi_id`).
    pub external_id: String,
    /// When the buyer sent it, when known.
    pub received_at: Option<Timestamp>,
    pub name: Option<String>,
    pub company: Option<String>,
    pub phone: Option<Phone>,
    pub email: Option<String>,
    pub city: Option<String>,
    pub country: Option<CountryCode>,
    /// What the lead says (message, product, quantity, order value), one
    /// note each, in order.
    pub notes: Vec<String>,
    /// The lead as received (JSON).
    pub raw: String,
}

/// How a lead's buyer was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    Phone,
    Email,
    CompanyAndCity,
}

impl MatchedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedBy::Phone => "phone",
            MatchedBy::Email => "email",
            MatchedBy::CompanyAndCity => "company_and_city",
        }
    }

    pub fn parse(s: &str) -> Option<MatchedBy> {
        [
            MatchedBy::Phone,
            MatchedBy::Email,
            MatchedBy::CompanyAndCity,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// What [`LeadStore::record_leads`](crate::LeadStore::record_leads) did
/// with one lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LeadOutcome {
    /// This `(source, external_id)` was stored before: nothing changed.
    Duplicate,
    /// A new buyer was created from the lead.
    NewBuyer { buyer: BuyerId },
    /// The lead enriched an existing buyer; `conflicts` fields differed and
    /// were noted, not overwritten.
    Matched {
        buyer: BuyerId,
        by: MatchedBy,
        conflicts: u32,
    },
    /// Stored, but no buyer: no name, phone, e-mail or company to know
    /// them by.
    Skipped { reason: String },
}

/// A stored lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLead {
    pub id: i64,
    pub source: String,
    pub external_id: String,
    pub received_at: Option<Timestamp>,
    pub buyer_id: Option<BuyerId>,
    /// `new_buyer`, `matched:<how>`, `skipped: <reason>`.
    pub outcome: String,
    pub created_at: Timestamp,
    /// The lead as received (JSON; PostgreSQL may normalise its spacing).
    pub raw: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadFilter {
    pub source: Option<String>,
    /// The source's id of the lead (`UNIQUE_QUERY_ID`, `rfi_id`).
    pub external_id: Option<String>,
    pub buyer: Option<BuyerId>,
    pub limit: Option<u32>,
}

/// A source's sync state, kept across restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadSourceState {
    pub source: String,
    /// Every lead received before this instant has been ingested.
    pub cursor: Option<Timestamp>,
    /// The last call made (or reserved) to the source's API.
    pub last_call_at: Option<Timestamp>,
    /// No call before this instant (the source said "too many requests").
    pub blocked_until: Option<Timestamp>,
    /// Set when the source refused the credentials: no call until a
    /// person fixes them and resumes the source.
    pub stopped_at: Option<Timestamp>,
    pub stopped_reason: Option<String>,
}

/// Changes to a source's state; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadSourcePatch {
    pub cursor: Option<Timestamp>,
    /// `Some(None)` lifts a block.
    pub blocked_until: Option<Option<Timestamp>>,
    /// `Some(Some(reason))` stops the source; `Some(None)` resumes it.
    pub stopped: Option<Option<String>>,
}

/// The answer to [`LeadStore::reserve_call`](crate::LeadStore::reserve_call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reservation", rename_all = "snake_case")]
pub enum CallReservation {
    /// The call is booked at `now`: make it.
    Granted,
    /// The budget allows no call before `until`.
    WaitUntil { until: Timestamp },
    /// The source is stopped until a person acts.
    Stopped { reason: String },
}

/// One sync run of one source, as recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSyncRun {
    pub source: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub window_start: Option<Timestamp>,
    pub window_end: Option<Timestamp>,
    /// `ingested`, `empty`, `waiting`, `rate_limited`, `stopped`,
    /// `failed`, `bad_request`.
    pub outcome: String,
    pub calls: u32,
    pub leads_new: u32,
    pub leads_duplicate: u32,
    pub buyers_new: u32,
    pub buyers_matched: u32,
    pub skipped: u32,
    /// What went wrong, for a failed or stopped run (a malformed answer's
    /// start, an error code).
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRun {
    pub id: i64,
    #[serde(flatten)]
    pub run: NewSyncRun,
}

/// The fields of a stored buyer a lead is compared with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuyerContact {
    pub name: String,
    pub company: Option<String>,
    pub whatsapp: Option<Phone>,
    pub email: Option<String>,
    pub country: Option<CountryCode>,
}

/// What a lead changes on the buyer it matched: the fields it fills (only
/// those the buyer lacks) and a note per field it contradicts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadMerge {
    pub company: Option<String>,
    pub whatsapp: Option<Phone>,
    pub email: Option<String>,
    pub country: Option<CountryCode>,
    pub conflicts: Vec<String>,
}

impl LeadMerge {
    pub fn changes_anything(&self) -> bool {
        self.company.is_some()
            || self.whatsapp.is_some()
            || self.email.is_some()
            || self.country.is_some()
    }
}

fn same_text(a: &str, b: &str) -> bool {
    normalise(a) == normalise(b)
}

/// Lower case, inner whitespace collapsed: how names, companies, cities and
/// e-mails are compared.
pub fn normalise(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// `IndiaMART lead 123` / `TradeIndia lead 456`.
pub fn lead_label(lead: &NewLead) -> String {
    let source = match lead.source.as_str() {
        INDIAMART => "IndiaMART",
        TRADEINDIA => "TradeIndia",
        other => other,
    };
    format!("{source} lead {}", lead.external_id)
}

/// Compares a lead with the buyer it matched (one rule for both backends).
pub fn merge_lead(buyer: &BuyerContact, lead: &NewLead) -> LeadMerge {
    let label = lead_label(lead);
    let mut m = LeadMerge::default();
    let conflict = |what: &str, theirs: &str, ours: &str| {
        format!("{label} gives the {what} \"{theirs}\"; kept \"{ours}\"")
    };
    let mut conflicts = Vec::new();
    if let Some(name) = &lead.name
        && !same_text(name, &buyer.name)
    {
        conflicts.push(conflict("name", name, &buyer.name));
    }
    match (&lead.company, &buyer.company) {
        (Some(theirs), Some(ours)) if !same_text(theirs, ours) => {
            conflicts.push(conflict("company", theirs, ours));
        }
        (Some(theirs), None) => m.company = Some(theirs.clone()),
        _ => {}
    }
    match (&lead.email, &buyer.email) {
        (Some(theirs), Some(ours)) if !same_text(theirs, ours) => {
            conflicts.push(conflict("e-mail", theirs, ours));
        }
        (Some(theirs), None) => m.email = Some(theirs.clone()),
        _ => {}
    }
    match (&lead.phone, &buyer.whatsapp) {
        (Some(theirs), Some(ours)) if theirs != ours => {
            conflicts.push(conflict("number", theirs.as_str(), ours.as_str()));
        }
        (Some(theirs), None) => m.whatsapp = Some(theirs.clone()),
        _ => {}
    }
    if buyer.country.is_none() {
        m.country = lead.country.clone();
    }
    m.conflicts = conflicts;
    m
}

/// The name a new buyer from this lead gets: the person, else the company,
/// else the number or e-mail; `None` when the lead has none of them.
pub fn lead_buyer_name(lead: &NewLead) -> Option<String> {
    lead.name
        .clone()
        .or_else(|| lead.company.clone())
        .or_else(|| lead.phone.as_ref().map(|p| p.as_str().to_string()))
        .or_else(|| lead.email.clone())
}

/// The notes a lead leaves on its buyer, each prefixed with its label.
pub fn lead_notes(lead: &NewLead) -> Vec<String> {
    let label = lead_label(lead);
    lead.notes.iter().map(|n| format!("{label}: {n}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead() -> NewLead {
        NewLead {
            source: INDIAMART.into(),
            external_id: "123".into(),
            name: Some("Asha  Traders".into()),
            company: Some("Asha Pvt Ltd".into()),
            email: Some("asha@example.com".into()),
            phone: Some(Phone::try_from("+919000000001".to_string()).unwrap()),
            country: Some(CountryCode::india()),
            notes: vec!["Need 500 kg".into()],
            ..Default::default()
        }
    }

    #[test]
    fn fills_only_what_is_missing_and_notes_the_rest() {
        let buyer = BuyerContact {
            name: "asha traders".into(),
            company: None,
            whatsapp: Some(Phone::try_from("+919000000002".to_string()).unwrap()),
            email: Some("ASHA@example.com".into()),
            country: None,
        };
        let m = merge_lead(&buyer, &lead());
        assert_eq!(m.company.as_deref(), Some("Asha Pvt Ltd"));
        assert_eq!(m.email, None, "same e-mail, other case");
        assert_eq!(m.whatsapp, None, "a number is never replaced");
        assert_eq!(m.country, Some(CountryCode::india()));
        assert_eq!(
            m.conflicts,
            vec![
                "IndiaMART lead 123 gives the number \"+919000000001\"; kept \"+919000000002\""
                    .to_string()
            ]
        );
        assert_eq!(lead_notes(&lead()), vec!["IndiaMART lead 123: Need 500 kg"]);
    }

    /// Within a batch, a later lead finds the buyer an earlier one created
    /// (by number) or enriched (by the e-mail it filled); a stored buyer
    /// wins over one the batch created.
    #[test]
    fn a_batch_matches_what_its_earlier_leads_created_or_filled() {
        let p = |n: &str| Phone::try_from(n.to_string()).unwrap();
        let stored = BuyerId::new(5);
        let mut candidates = LeadCandidates::default();
        candidates.contacts.insert(
            stored,
            BuyerContact {
                name: "Stored Buyer".into(),
                whatsapp: Some(p("+919000000009")),
                ..Default::default()
            },
        );
        candidates.by_phone.insert("+919000000009".into(), stored);
        let l = |id: &str, phone: Option<&str>, email: Option<&str>| NewLead {
            source: INDIAMART.into(),
            external_id: id.into(),
            name: Some(format!("Person {id}")),
            phone: phone.map(p),
            email: email.map(str::to_string),
            ..Default::default()
        };
        let leads = vec![
            l("1", Some("+919000000001"), None),
            l("2", Some("+919000000001"), Some("two@example.com")),
            l("3", None, Some("TWO@example.com ")),
            l("4", Some("+919000000009"), Some("stored@example.com")),
            l("5", None, Some("stored@example.com")),
        ];
        let plan = plan_lead_batch(&leads, &[0, 1, 2, 3, 4], &candidates, Timestamp::UNIX_EPOCH);
        assert_eq!(plan.new_buyers.len(), 1);
        assert_eq!(plan.new_buyers[0].email.as_deref(), Some("two@example.com"));
        let buyers: Vec<_> = plan.leads.iter().map(|l| (l.buyer, l.matched_by)).collect();
        assert_eq!(
            buyers,
            vec![
                (Some(BuyerRef::New(0)), None),
                (Some(BuyerRef::New(0)), Some(MatchedBy::Phone)),
                (Some(BuyerRef::New(0)), Some(MatchedBy::Email)),
                (Some(BuyerRef::Stored(stored)), Some(MatchedBy::Phone)),
                (Some(BuyerRef::Stored(stored)), Some(MatchedBy::Email)),
            ]
        );
        assert_eq!(plan.fills.len(), 1);
        assert_eq!(plan.fills[0].1.email.as_deref(), Some("stored@example.com"));
        let outcomes = plan.outcomes(5, &[BuyerId::new(42)]);
        assert_eq!(
            outcomes[0],
            LeadOutcome::NewBuyer {
                buyer: BuyerId::new(42)
            }
        );
    }

    #[test]
    fn a_lead_with_nothing_to_call_the_buyer_by_has_no_name() {
        let mut l = lead();
        assert_eq!(lead_buyer_name(&l).as_deref(), Some("Asha  Traders"));
        l.name = None;
        l.company = None;
        assert_eq!(lead_buyer_name(&l).as_deref(), Some("+919000000001"));
        l.phone = None;
        l.email = None;
        assert_eq!(lead_buyer_name(&l), None);
    }
}

/// A buyer a batch of leads refers to: one already stored, or the `k`-th
/// the batch creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuyerRef {
    Stored(BuyerId),
    New(usize),
}

/// What the store holds of the buyers a batch of leads may match, read
/// before planning it (each map keeps the lowest id, as a one-by-one
/// lookup would find).
#[derive(Debug, Clone, Default)]
pub struct LeadCandidates {
    pub contacts: std::collections::HashMap<BuyerId, BuyerContact>,
    /// E.164 number → buyer.
    pub by_phone: std::collections::HashMap<String, BuyerId>,
    /// E-mail, trimmed and lower-cased → buyer.
    pub by_email: std::collections::HashMap<String, BuyerId>,
    /// (company, city) as [`normalise`] writes them → the lowest buyer of a
    /// stored lead with them.
    pub by_company_city: std::collections::HashMap<(String, String), BuyerId>,
}

/// A buyer a batch creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadBuyer {
    pub name: String,
    pub company: Option<String>,
    pub whatsapp: Option<Phone>,
    pub email: Option<String>,
    pub country: Option<CountryCode>,
}

/// What one new lead of a batch becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedLead {
    /// Its index in the batch.
    pub index: usize,
    pub buyer: Option<BuyerRef>,
    /// How it was matched (`None`: a new buyer, or skipped).
    pub matched_by: Option<MatchedBy>,
    pub conflicts: u32,
    /// The lead row's `outcome` (`new_buyer`, `matched:phone`, `skipped: …`).
    pub label: String,
    pub company_norm: Option<String>,
    pub city_norm: Option<String>,
}

/// A note a batch writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedNote {
    pub buyer: BuyerRef,
    pub kind: tagada_core::ledger::NoteKind,
    pub at: Timestamp,
    pub author: String,
    pub text: String,
}

/// Everything a batch of new leads does to the ledger, decided in memory
/// (one rule for both backends, applying the leads one after the other as
/// [`LeadStore::record_leads`](crate::LeadStore::record_leads) describes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadBatchPlan {
    pub leads: Vec<PlannedLead>,
    pub new_buyers: Vec<LeadBuyer>,
    /// Fields to fill on stored buyers (only empty ones; one entry per
    /// buyer, the first lead to fill a field wins).
    pub fills: Vec<(BuyerId, LeadMerge)>,
    pub notes: Vec<PlannedNote>,
}

/// The reason a lead with nothing to know its buyer by is kept alone.
pub const NO_CONTACT: &str = "no name, number, e-mail or company";

fn email_key(e: &str) -> Option<String> {
    let k = e.trim().to_lowercase();
    (!k.is_empty()).then_some(k)
}

/// [`normalise`]d, `None` when blank: how a lead's company and city are
/// stored and compared.
pub fn norm_opt(s: Option<&str>) -> Option<String> {
    s.map(normalise).filter(|s| !s.is_empty())
}

/// What to look up before planning a batch: the new leads' numbers,
/// e-mails ([`LeadCandidates::by_email`]'s keys) and companies, and the
/// (company, city) pairs they name. Sorted, without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CandidateKeys {
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub companies: Vec<String>,
    pub pairs: std::collections::HashSet<(String, String)>,
}

impl CandidateKeys {
    pub fn of(leads: &[NewLead], fresh: &[usize]) -> CandidateKeys {
        let mut k = CandidateKeys::default();
        for &i in fresh {
            let l = &leads[i];
            if let Some(p) = &l.phone {
                k.phones.push(p.as_str().to_string());
            }
            if let Some(e) = l.email.as_deref().and_then(email_key) {
                k.emails.push(e);
            }
            if let (Some(c), Some(t)) =
                (norm_opt(l.company.as_deref()), norm_opt(l.city.as_deref()))
            {
                k.companies.push(c.clone());
                k.pairs.insert((c, t));
            }
        }
        for v in [&mut k.phones, &mut k.emails, &mut k.companies] {
            v.sort_unstable();
            v.dedup();
        }
        k
    }
}

impl LeadCandidates {
    /// A stored buyer found by one of the batch's numbers or e-mails (the
    /// lowest id keeps each key).
    pub fn add_contact(&mut self, id: BuyerId, contact: BuyerContact) {
        if let Some(p) = &contact.whatsapp {
            let e = self.by_phone.entry(p.as_str().to_string()).or_insert(id);
            *e = (*e).min(id);
        }
        if let Some(k) = contact.email.as_deref().and_then(email_key) {
            let e = self.by_email.entry(k).or_insert(id);
            *e = (*e).min(id);
        }
        self.contacts.insert(id, contact);
    }

    /// The lowest buyer of stored leads per (company, city), from a lookup
    /// by company; keeps the pairs the batch names and returns the buyers
    /// whose contacts are still to be read.
    pub fn add_company_city(
        &mut self,
        keys: &CandidateKeys,
        rows: impl IntoIterator<Item = (String, String, BuyerId)>,
    ) -> Vec<BuyerId> {
        let mut missing = Vec::new();
        for (c, t, id) in rows {
            let pair = (c, t);
            if keys.pairs.contains(&pair) {
                if !self.contacts.contains_key(&id) {
                    missing.push(id);
                }
                self.by_company_city.insert(pair, id);
            }
        }
        missing.sort_unstable();
        missing.dedup();
        missing
    }
}

/// Plans the new leads of a batch (`fresh`: their indexes in `leads`, in
/// order) against the stored candidates.
pub fn plan_lead_batch(
    leads: &[NewLead],
    fresh: &[usize],
    candidates: &LeadCandidates,
    now: Timestamp,
) -> LeadBatchPlan {
    use std::collections::HashMap;
    use tagada_core::ledger::NoteKind;
    let mut plan = LeadBatchPlan::default();
    // What the batch has learnt so far: buyers it created, and fills.
    let mut contacts: HashMap<BuyerRef, BuyerContact> = candidates
        .contacts
        .iter()
        .map(|(id, c)| (BuyerRef::Stored(*id), c.clone()))
        .collect();
    let mut by_phone: HashMap<String, BuyerRef> = HashMap::new();
    let mut by_email: HashMap<String, BuyerRef> = HashMap::new();
    let mut by_company_city: HashMap<(String, String), BuyerRef> = HashMap::new();
    let mut fills: HashMap<BuyerId, LeadMerge> = HashMap::new();
    let mut fill_order: Vec<BuyerId> = Vec::new();
    for &i in fresh {
        let lead = &leads[i];
        let company_norm = norm_opt(lead.company.as_deref());
        let city_norm = norm_opt(lead.city.as_deref());
        // Stored buyers first (lower ids), then those of this batch.
        let found = lead
            .phone
            .as_ref()
            .and_then(|p| {
                candidates
                    .by_phone
                    .get(p.as_str())
                    .map(|id| BuyerRef::Stored(*id))
                    .or_else(|| by_phone.get(p.as_str()).copied())
            })
            .map(|b| (b, MatchedBy::Phone))
            .or_else(|| {
                let k = email_key(lead.email.as_deref()?)?;
                candidates
                    .by_email
                    .get(&k)
                    .map(|id| BuyerRef::Stored(*id))
                    .or_else(|| by_email.get(&k).copied())
                    .map(|b| (b, MatchedBy::Email))
            })
            .or_else(|| {
                let key = (company_norm.clone()?, city_norm.clone()?);
                candidates
                    .by_company_city
                    .get(&key)
                    .map(|id| BuyerRef::Stored(*id))
                    .or_else(|| by_company_city.get(&key).copied())
                    .map(|b| (b, MatchedBy::CompanyAndCity))
            });
        let at = lead.received_at.unwrap_or(now);
        let note = |buyer: BuyerRef, kind: NoteKind, text: String| PlannedNote {
            buyer,
            kind,
            at,
            author: lead.source.clone(),
            text,
        };
        let (buyer, matched_by, conflicts, label) = match found {
            Some((buyer, by)) => {
                let current = contacts.get(&buyer).cloned().unwrap_or_default();
                let merge = merge_lead(&current, lead);
                if merge.changes_anything() {
                    let c = contacts.entry(buyer).or_default();
                    if c.company.is_none() {
                        c.company.clone_from(&merge.company);
                    }
                    if c.whatsapp.is_none() {
                        c.whatsapp.clone_from(&merge.whatsapp);
                    }
                    if c.email.is_none() {
                        c.email.clone_from(&merge.email);
                    }
                    if c.country.is_none() {
                        c.country.clone_from(&merge.country);
                    }
                    match buyer {
                        BuyerRef::Stored(id) => {
                            let f = fills.entry(id).or_insert_with(|| {
                                fill_order.push(id);
                                LeadMerge::default()
                            });
                            f.company = f.company.take().or_else(|| merge.company.clone());
                            f.whatsapp = f.whatsapp.take().or_else(|| merge.whatsapp.clone());
                            f.email = f.email.take().or_else(|| merge.email.clone());
                            f.country = f.country.take().or_else(|| merge.country.clone());
                        }
                        BuyerRef::New(k) => {
                            let b = &mut plan.new_buyers[k];
                            b.company = b.company.take().or_else(|| merge.company.clone());
                            b.whatsapp = b.whatsapp.take().or_else(|| merge.whatsapp.clone());
                            b.email = b.email.take().or_else(|| merge.email.clone());
                            b.country = b.country.take().or_else(|| merge.country.clone());
                        }
                    }
                    if let Some(p) = &merge.whatsapp {
                        by_phone.entry(p.as_str().to_string()).or_insert(buyer);
                    }
                    if let Some(k) = merge.email.as_deref().and_then(email_key) {
                        by_email.entry(k).or_insert(buyer);
                    }
                }
                for text in &merge.conflicts {
                    plan.notes.push(note(buyer, NoteKind::System, text.clone()));
                }
                (
                    Some(buyer),
                    Some(by),
                    merge.conflicts.len() as u32,
                    format!("matched:{}", by.as_str()),
                )
            }
            None => match lead_buyer_name(lead) {
                None => (None, None, 0, format!("skipped: {NO_CONTACT}")),
                Some(name) => {
                    let k = plan.new_buyers.len();
                    let buyer = BuyerRef::New(k);
                    plan.new_buyers.push(LeadBuyer {
                        name: name.clone(),
                        company: lead.company.clone(),
                        whatsapp: lead.phone.clone(),
                        email: lead.email.clone(),
                        country: lead.country.clone(),
                    });
                    contacts.insert(
                        buyer,
                        BuyerContact {
                            name,
                            company: lead.company.clone(),
                            whatsapp: lead.phone.clone(),
                            email: lead.email.clone(),
                            country: lead.country.clone(),
                        },
                    );
                    if let Some(p) = &lead.phone {
                        by_phone.entry(p.as_str().to_string()).or_insert(buyer);
                    }
                    if let Some(k) = lead.email.as_deref().and_then(email_key) {
                        by_email.entry(k).or_insert(buyer);
                    }
                    (Some(buyer), None, 0, "new_buyer".to_string())
                }
            },
        };
        if let Some(b) = buyer {
            for text in lead_notes(lead) {
                plan.notes.push(note(b, NoteKind::Note, text));
            }
            if let (Some(c), Some(t)) = (&company_norm, &city_norm) {
                by_company_city.entry((c.clone(), t.clone())).or_insert(b);
            }
        }
        plan.leads.push(PlannedLead {
            index: i,
            buyer,
            matched_by,
            conflicts,
            label,
            company_norm,
            city_norm,
        });
    }
    plan.fills = fill_order
        .into_iter()
        .filter_map(|id| fills.remove(&id).map(|f| (id, f)))
        .collect();
    plan
}

impl LeadBatchPlan {
    /// The outcome of each lead of the batch (`Duplicate` for those not
    /// fresh), with the ids `new_ids` gave the batch's new buyers.
    pub fn outcomes(&self, batch_len: usize, new_ids: &[BuyerId]) -> Vec<LeadOutcome> {
        let mut out = vec![LeadOutcome::Duplicate; batch_len];
        for l in &self.leads {
            let id = |b: BuyerRef| match b {
                BuyerRef::Stored(id) => id,
                BuyerRef::New(k) => new_ids[k],
            };
            out[l.index] = match (l.buyer, l.matched_by) {
                (None, _) => LeadOutcome::Skipped {
                    reason: NO_CONTACT.into(),
                },
                (Some(b), None) => LeadOutcome::NewBuyer { buyer: id(b) },
                (Some(b), Some(by)) => LeadOutcome::Matched {
                    buyer: id(b),
                    by,
                    conflicts: l.conflicts,
                },
            };
        }
        out
    }
}
