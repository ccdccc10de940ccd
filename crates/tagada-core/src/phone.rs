//! Phone numbers, parsed once at the edge into E.164.
//!
//! IMPLEMENTATION PENDING (helper).

use serde::{Deserialize, Serialize};

use crate::CountryCode;

/// A valid phone number in E.164 form (`+919812345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("no phone number given")]
    Empty,
    #[error("`{0}` is not a phone number")]
    Invalid(String),
    #[error("`{0}` is not a valid number for its country")]
    NotValid(String),
}

impl Phone {
    /// Parses what a person typed: `+91-98xxxxxxxx`, `098xxxxxxxx`,
    /// `98xxx xxxxx`, `0091…`, `+1 415 555 2671`. Numbers without a country
    /// prefix are read in `default_region`.
    pub fn parse(input: &str, default_region: &CountryCode) -> Result<Phone, PhoneError> {
        let _ = (input, default_region);
        todo!()
    }

    /// The E.164 string, with the leading `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without `+`: the form WhatsApp uses for `to` and `wa_id`.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// The country the number belongs to, when it can be told.
    pub fn country(&self) -> Option<CountryCode> {
        todo!()
    }

    /// For logs: `+91******5678`.
    pub fn masked(&self) -> String {
        let n = self.0.len();
        let keep_head = 3.min(n);
        let keep_tail = 4.min(n.saturating_sub(keep_head));
        let mut s = String::with_capacity(n);
        s.push_str(&self.0[..keep_head]);
        s.extend(std::iter::repeat_n('*', n - keep_head - keep_tail));
        s.push_str(&self.0[n - keep_tail..]);
        s
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Phone {
    type Error = PhoneError;
    /// Accepts only E.164 (as stored); use [`Phone::parse`] for human input.
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.starts_with('+')
            && s.len() >= 8
            && s.len() <= 16
            && s[1..].bytes().all(|b| b.is_ascii_digit())
        {
            Ok(Phone(s))
        } else {
            Err(PhoneError::Invalid(s))
        }
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}
