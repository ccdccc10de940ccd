//! Phone numbers, parsed once at the edge into E.164.
//!
//! Parsing and validation are the `phonenumber` crate's (libphonenumber's
//! metadata); this module adds the habits of Indian spreadsheets: `0091`
//! and `91` written without a `+`, a trunk `0`, and dashes, dots, spaces or
//! brackets anywhere.

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
    ///
    /// Letters (vanity numbers, `ext.`) are refused. A number that is written
    /// without `+` and is not valid in `default_region` is tried once more
    /// as international when it starts with the region's calling code
    /// (`91 9876543210` in India) or with `00` (`0091 9876543210`).
    pub fn parse(input: &str, default_region: &CountryCode) -> Result<Phone, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let invalid = || PhoneError::Invalid(trimmed.to_string());
        let allowed = |c: char| {
            c.is_ascii_digit()
                || matches!(c, '+' | '-' | '(' | ')' | '.' | '/')
                || c.is_whitespace()
        };
        if !trimmed.chars().all(allowed) {
            return Err(invalid());
        }
        // One `+` at most, and only before every digit: `+91`, `(+91)`.
        let plus = match trimmed.find('+') {
            None => false,
            Some(at) => {
                if trimmed[at + 1..].contains('+')
                    || trimmed[..at].chars().any(|c| c.is_ascii_digit())
                {
                    return Err(invalid());
                }
                true
            }
        };
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        if digits.len() < 5 || digits.len() > 17 {
            return Err(invalid());
        }
        let region: Option<phonenumber::country::Id> = default_region.as_str().parse().ok();

        let mut candidates: Vec<String> = Vec::with_capacity(3);
        if plus {
            candidates.push(format!("+{digits}"));
        } else {
            candidates.push(digits.clone());
            if let Some(rest) = digits.strip_prefix("00") {
                candidates.push(format!("+{rest}"));
            }
            if let Some(code) = region.and_then(calling_code)
                && digits.starts_with(&code)
            {
                candidates.push(format!("+{digits}"));
            }
        }

        let mut parsed_any = false;
        for candidate in &candidates {
            let Ok(number) = phonenumber::parse(region, candidate) else {
                continue;
            };
            parsed_any = true;
            if number.extension().is_none() && number.is_valid() {
                // What `number.format().mode(Mode::E164)` writes, without
                // the national format lookup (a run of regex matches) that
                // formatter makes first whatever the mode.
                let e164 = format!("+{}{}", number.country().code(), number.national());
                return Phone::try_from(e164).map_err(|_| invalid());
            }
        }
        if parsed_any {
            Err(PhoneError::NotValid(trimmed.to_string()))
        } else {
            Err(invalid())
        }
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
        let number = phonenumber::parse(None, &self.0).ok()?;
        let id = number.country().id()?;
        CountryCode::parse(id.as_ref()).ok()
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

/// The international calling code of a region (`91` for India), from the
/// metadata `phonenumber` ships.
fn calling_code(region: phonenumber::country::Id) -> Option<String> {
    let meta = phonenumber::metadata::DATABASE.by_id(region.as_ref())?;
    Some(meta.country_code().to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn india() -> CountryCode {
        CountryCode::india()
    }

    fn parse_in(s: &str) -> Result<Phone, PhoneError> {
        Phone::parse(s, &india())
    }

    proptest::proptest! {
        /// The E.164 text is written directly; it is what the library's own
        /// E.164 formatter writes, for every number it accepts.
        #[test]
        fn e164_is_the_libraries_own(
            prefix in proptest::sample::select(vec!["+91 9", "+91 7", "+1 212", "+44 20", "+44 7", "+39 06", "+39 3", "+971 5", "+49 30", "+81 3", "+966 5", "+65 9"]),
            rest in "[0-9]{5,9}",
        ) {
            let text = format!("{prefix}{rest}");
            if let Ok(phone) = Phone::parse(&text, &india()) {
                let number = phonenumber::parse(None, phone.as_str()).unwrap();
                let theirs = number.format().mode(phonenumber::Mode::E164).to_string();
                proptest::prop_assert_eq!(phone.as_str(), theirs.as_str());
            }
        }
    }

    #[test]
    fn indian_forms_all_reach_the_same_number() {
        for input in [
            "+91-9876543210",
            "+91 98765 43210",
            "098765 43210",
            "98765 43210",
            "9876543210",
            "0091 9876543210",
            "91 9876543210",
            "919876543210",
            "(+91) 98765-43210",
            " 98765.43210 ",
        ] {
            let phone = parse_in(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(phone.as_str(), "+919876543210", "{input}");
            assert_eq!(phone.digits(), "919876543210");
            assert_eq!(phone.country().unwrap().as_str(), "IN");
        }
    }

    #[test]
    fn foreign_numbers_keep_their_country() {
        let cases = [
            ("+1 415 555 2671", "+14155552671", "US"),
            ("+971 50 123 4567", "+971501234567", "AE"),
            // 7911 is a Guernsey mobile range inside +44.
            ("+44 7911 123456", "+447911123456", "GG"),
            ("+44 7400 123456", "+447400123456", "GB"),
            ("+49 1512 3456789", "+4915123456789", "DE"),
            ("00971 50 123 4567", "+971501234567", "AE"),
        ];
        for (input, e164, country) in cases {
            let phone = parse_in(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(phone.as_str(), e164);
            assert_eq!(phone.country().unwrap().as_str(), country, "{input}");
        }
    }

    #[test]
    fn national_numbers_read_in_the_default_region() {
        let uae = CountryCode::parse("AE").unwrap();
        assert_eq!(
            Phone::parse("050 123 4567", &uae).unwrap().as_str(),
            "+971501234567"
        );
        let us = CountryCode::parse("US").unwrap();
        assert_eq!(
            Phone::parse("(415) 555-2671", &us).unwrap().as_str(),
            "+14155552671"
        );
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        assert_eq!(parse_in(""), Err(PhoneError::Empty));
        assert_eq!(parse_in("   "), Err(PhoneError::Empty));
        assert_eq!(
            parse_in("call me"),
            Err(PhoneError::Invalid("call me".into()))
        );
        assert_eq!(
            parse_in("98765abcde"),
            Err(PhoneError::Invalid("98765abcde".into()))
        );
        assert_eq!(
            parse_in("1-800-FLOWERS"),
            Err(PhoneError::Invalid("1-800-FLOWERS".into()))
        );
        assert!(parse_in("1234").is_err());
        assert!(parse_in("98765").is_err());
        assert_eq!(
            parse_in("+91+9876543210"),
            Err(PhoneError::Invalid("+91+9876543210".into()))
        );
    }

    #[test]
    fn rejects_numbers_invalid_for_their_region() {
        // No Indian number, mobile or fixed, starts with 5.
        assert_eq!(
            parse_in("55555 55555"),
            Err(PhoneError::NotValid("55555 55555".into()))
        );
        // Nine digits: one short of an Indian mobile.
        assert!(matches!(
            parse_in("98765 4321"),
            Err(PhoneError::NotValid(_))
        ));
        assert!(parse_in("0000000000").is_err());
        // Too many digits for India.
        assert!(matches!(
            parse_in("+91 98765 432101"),
            Err(PhoneError::NotValid(_))
        ));
        // A UK number one digit short.
        assert!(matches!(
            parse_in("+44 7911 12345"),
            Err(PhoneError::NotValid(_))
        ));
    }

    #[test]
    fn stored_form_round_trips_through_serde() {
        let phone = parse_in("98765 43210").unwrap();
        let json = serde_json::to_string(&phone).unwrap();
        assert_eq!(json, "\"+919876543210\"");
        assert_eq!(serde_json::from_str::<Phone>(&json).unwrap(), phone);
        assert!(serde_json::from_str::<Phone>("\"98765 43210\"").is_err());
        assert_eq!(phone.masked(), "+91******3210");
        assert_eq!(phone.to_string(), "+919876543210");
    }
}
