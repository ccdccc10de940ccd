//! Buyer identity for upserts, resolved in memory over one batch.
//!
//! A buyer is found again by external key, else by WhatsApp number (among
//! buyers without a key when the row has one), else by normalised name
//! (same key rule, and a different number means someone else); among several
//! matches the lowest id wins. `upsert_buyers` loads every stored buyer the
//! batch could select (same key, number or name), then walks the rows in
//! order against those buyers and the ones the batch creates, exactly as one
//! `upsert_buyer` per row would against the database. That is complete: a
//! buyer's key, number and name only ever take values from the batch, so a
//! stored buyer that no value of the batch selects can never match any row.

use std::collections::{HashMap, HashSet};

use tagada_core::BuyerId;
use tagada_core::ledger::Buyer;
use tagada_store::{NewBuyer, Result, StoreError, UpsertOutcome};

use crate::conv::normalize_name;

/// What a batch has to load: the key of every row first, then the numbers
/// and names of the rows whose key matched no stored buyer.
pub(crate) struct Lookup<'a> {
    rows: Vec<(&'a NewBuyer, String)>,
}

impl<'a> Lookup<'a> {
    /// Checks every row has a name, and normalises the names.
    pub(crate) fn new(buyers: &'a [NewBuyer]) -> Result<Lookup<'a>> {
        let rows = buyers
            .iter()
            .map(|nb| {
                let name = nb.name.trim();
                if name.is_empty() {
                    return Err(StoreError::Invalid("a buyer needs a name".into()));
                }
                Ok((nb, normalize_name(name)))
            })
            .collect::<Result<_>>()?;
        Ok(Lookup { rows })
    }

    /// Distinct external keys, sorted.
    pub(crate) fn keys(&self) -> Vec<&'a str> {
        let mut keys: Vec<&str> = self
            .rows
            .iter()
            .filter_map(|(nb, _)| nb.external_key.as_deref())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// Distinct numbers and names of the rows without a stored key among
    /// `stored_keys`, sorted. A row whose key is stored always resolves to
    /// that buyer (keys never change once set), so it needs nothing else.
    pub(crate) fn phones_and_names(
        &self,
        stored_keys: &HashSet<&str>,
    ) -> (Vec<&'a str>, Vec<&str>) {
        let rest = self.rows.iter().filter(|(nb, _)| {
            nb.external_key
                .as_deref()
                .is_none_or(|k| !stored_keys.contains(k))
        });
        let mut phones: Vec<&'a str> = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for (nb, norm) in rest {
            if let Some(p) = &nb.whatsapp {
                phones.push(p.as_str());
            }
            names.push(norm.as_str());
        }
        phones.sort_unstable();
        phones.dedup();
        names.sort_unstable();
        names.dedup();
        (phones, names)
    }
}

/// The order of `ORDER BY id`: stored buyers by id, then the ones this batch
/// creates, in creation order (their ids are taken later, ascending).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Stored(i64),
    Created(usize),
}

struct Slot {
    rank: Rank,
    /// The buyer as the database would return it now.
    buyer: Buyer,
    /// Its `name_norm` column.
    norm: String,
    /// A stored buyer as loaded, to tell at the end whether it changed.
    loaded: Option<Buyer>,
}

/// Stored and created buyers of one batch, indexed by key, number and name.
pub(crate) struct Batch {
    slots: Vec<Slot>,
    created: usize,
    by_key: HashMap<String, usize>,
    /// Slots by WhatsApp number and by normalised name, each list in rank order.
    by_phone: HashMap<String, Vec<usize>>,
    by_name: HashMap<String, Vec<usize>>,
}

fn phone_of(b: &Buyer) -> Option<&str> {
    b.whatsapp.as_ref().map(|p| p.as_str())
}

/// Adds `slot` to the list under `value`, keeping the list in rank order.
fn index_add(map: &mut HashMap<String, Vec<usize>>, slots: &[Slot], value: &str, slot: usize) {
    let list = map.entry(value.to_string()).or_default();
    let rank = slots[slot].rank;
    let at = list.partition_point(|&s| slots[s].rank < rank);
    list.insert(at, slot);
}

fn index_remove(map: &mut HashMap<String, Vec<usize>>, value: &str, slot: usize) {
    if let Some(list) = map.get_mut(value) {
        list.retain(|&s| s != slot);
    }
}

/// Merges a source row into a stored buyer: fields the source gives win,
/// fields it leaves out stay; the name changes only when it is a different
/// name (not just different case or spacing).
fn merge_buyer(mut b: Buyer, nb: &NewBuyer, name: &str, norm: &str) -> Buyer {
    if normalize_name(&b.name) != norm {
        b.name = name.to_string();
    }
    fn set<T: Clone>(slot: &mut Option<T>, v: &Option<T>) {
        if v.is_some() {
            slot.clone_from(v);
        }
    }
    set(&mut b.external_key, &nb.external_key);
    set(&mut b.company, &nb.company);
    set(&mut b.whatsapp, &nb.whatsapp);
    set(&mut b.phone_raw, &nb.phone_raw);
    set(&mut b.email, &nb.email);
    set(&mut b.country, &nb.country);
    set(&mut b.time_zone, &nb.time_zone);
    set(&mut b.language, &nb.language);
    set(&mut b.sales_rep, &nb.sales_rep);
    set(&mut b.consent, &nb.consent);
    set(&mut b.notes, &nb.notes);
    b
}

/// A new buyer as a source row describes it (id given later).
fn new_buyer(nb: &NewBuyer, name: &str) -> Buyer {
    Buyer {
        id: BuyerId::new(0),
        external_key: nb.external_key.clone(),
        name: name.to_string(),
        company: nb.company.clone(),
        whatsapp: nb.whatsapp.clone(),
        phone_raw: nb.phone_raw.clone(),
        wa_id: None,
        email: nb.email.clone(),
        country: nb.country.clone(),
        time_zone: nb.time_zone.clone(),
        language: nb.language.clone(),
        sales_rep: nb.sales_rep.clone(),
        consent: nb.consent.clone(),
        opted_out_at: None,
        paused_until: None,
        paused: false,
        cadence_override: None,
        notes: nb.notes.clone(),
    }
}

impl Batch {
    /// Starts from the stored buyers loaded for the batch (`name_norm`
    /// beside each; duplicates allowed).
    pub(crate) fn new(mut stored: Vec<(Buyer, String)>) -> Batch {
        stored.sort_by_key(|(b, _)| b.id);
        stored.dedup_by_key(|(b, _)| b.id);
        let mut batch = Batch {
            slots: Vec::with_capacity(stored.len()),
            created: 0,
            by_key: HashMap::with_capacity(stored.len()),
            by_phone: HashMap::new(),
            by_name: HashMap::new(),
        };
        for (buyer, norm) in stored {
            batch.push(
                Rank::Stored(buyer.id.get()),
                buyer.clone(),
                norm,
                Some(buyer),
            );
        }
        batch
    }

    fn push(&mut self, rank: Rank, buyer: Buyer, norm: String, loaded: Option<Buyer>) -> usize {
        let i = self.slots.len();
        if let Some(k) = &buyer.external_key {
            self.by_key.insert(k.clone(), i);
        }
        let phone = phone_of(&buyer).map(str::to_string);
        self.slots.push(Slot {
            rank,
            buyer,
            norm,
            loaded,
        });
        if let Some(p) = phone {
            index_add(&mut self.by_phone, &self.slots, &p, i);
        }
        let norm = self.slots[i].norm.clone();
        index_add(&mut self.by_name, &self.slots, &norm, i);
        i
    }

    /// Replaces slot `i`'s buyer, moving it between index entries.
    fn replace(&mut self, i: usize, buyer: Buyer) {
        let old = &self.slots[i].buyer;
        if old.external_key != buyer.external_key {
            if let Some(k) = &old.external_key
                && self.by_key.get(k) == Some(&i)
            {
                self.by_key.remove(k);
            }
            if let Some(k) = &buyer.external_key {
                self.by_key.insert(k.clone(), i);
            }
        }
        let (old_phone, new_phone) = (
            phone_of(old).map(str::to_string),
            phone_of(&buyer).map(str::to_string),
        );
        if old_phone != new_phone {
            if let Some(p) = &old_phone {
                index_remove(&mut self.by_phone, p, i);
            }
            if let Some(p) = &new_phone {
                index_add(&mut self.by_phone, &self.slots, p, i);
            }
        }
        let norm = normalize_name(&buyer.name);
        if norm != self.slots[i].norm {
            let old_norm = std::mem::replace(&mut self.slots[i].norm, norm.clone());
            index_remove(&mut self.by_name, &old_norm, i);
            index_add(&mut self.by_name, &self.slots, &norm, i);
        }
        self.slots[i].buyer = buyer;
    }

    /// The slot a row describes, by the identity rules.
    fn find(&self, nb: &NewBuyer, norm: &str) -> Option<usize> {
        let key = nb.external_key.as_deref();
        if let Some(k) = key
            && let Some(&i) = self.by_key.get(k)
        {
            return Some(i);
        }
        // A row with a key only takes over a buyer without one.
        let free = |s: &Slot| key.is_none() || s.buyer.external_key.is_none();
        let phone = nb.whatsapp.as_ref().map(|p| p.as_str());
        if let Some(p) = phone
            && let Some(list) = self.by_phone.get(p)
            && let Some(&i) = list.iter().find(|&&i| free(&self.slots[i]))
        {
            return Some(i);
        }
        self.by_name.get(norm)?.iter().copied().find(|&i| {
            let s = &self.slots[i];
            free(s) && (phone.is_none() || phone_of(&s.buyer).is_none_or(|p| Some(p) == phone))
        })
    }

    /// Applies one row; returns its slot and outcome. `stored_form` turns a
    /// buyer into what the database would hand back after writing it.
    pub(crate) fn upsert(
        &mut self,
        nb: &NewBuyer,
        stored_form: impl Fn(&Buyer) -> Result<Buyer>,
    ) -> Result<(usize, UpsertOutcome)> {
        let name = nb.name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid("a buyer needs a name".into()));
        }
        let norm = normalize_name(name);
        match self.find(nb, &norm) {
            Some(i) => {
                let current = &self.slots[i].buyer;
                let merged = merge_buyer(current.clone(), nb, name, &norm);
                if merged == *current {
                    Ok((i, UpsertOutcome::Unchanged))
                } else {
                    let merged = stored_form(&merged)?;
                    self.replace(i, merged);
                    Ok((i, UpsertOutcome::Updated))
                }
            }
            None => {
                let buyer = stored_form(&new_buyer(nb, name))?;
                let rank = Rank::Created(self.created);
                self.created += 1;
                Ok((self.push(rank, buyer, norm, None), UpsertOutcome::Created))
            }
        }
    }

    /// How many buyers the batch creates.
    pub(crate) fn created(&self) -> usize {
        self.created
    }

    /// Gives the created buyers their ids, in creation order (ascending ids
    /// keep the lowest-id-wins order the walk assumed).
    pub(crate) fn assign_ids(&mut self, mut ids: impl Iterator<Item = i64>) -> Result<()> {
        for slot in &mut self.slots {
            if let Rank::Created(_) = slot.rank {
                let id = ids
                    .next()
                    .ok_or_else(|| StoreError::Backend("too few new buyer ids".into()))?;
                slot.buyer.id = BuyerId::new(id);
            }
        }
        Ok(())
    }

    /// The buyers to insert, in creation order.
    pub(crate) fn to_insert(&self) -> Vec<&Buyer> {
        self.slots
            .iter()
            .filter(|s| s.loaded.is_none())
            .map(|s| &s.buyer)
            .collect()
    }

    /// The stored buyers that changed, by id.
    pub(crate) fn to_update(&self) -> Vec<&Buyer> {
        self.slots
            .iter()
            .filter(|s| s.loaded.as_ref().is_some_and(|l| *l != s.buyer))
            .map(|s| &s.buyer)
            .collect()
    }

    pub(crate) fn id_of(&self, slot: usize) -> BuyerId {
        self.slots[slot].buyer.id
    }
}
