//! ISO 3166-1 alpha-2 country codes and the per-country defaults the planner
//! needs: a time zone and the weekend days. Both are overridable in config and
//! per buyer; these are only the starting point.

use jiff::civil::Weekday;
use serde::{Deserialize, Serialize};

/// An ISO 3166-1 alpha-2 code, upper case (`IN`, `AE`, `US`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a two-letter ISO 3166 country code")]
pub struct CountryError(pub String);

impl CountryCode {
    pub fn parse(input: &str) -> Result<CountryCode, CountryError> {
        let t = input.trim();
        let upper = t.to_ascii_uppercase();
        let code = match upper.as_str() {
            "INDIA" => "IN",
            "UAE" | "UNITED ARAB EMIRATES" => "AE",
            "USA" | "UNITED STATES" | "UNITED STATES OF AMERICA" => "US",
            "UK" | "UNITED KINGDOM" | "GREAT BRITAIN" => "GB",
            "GERMANY" | "DEUTSCHLAND" => "DE",
            "SAUDI ARABIA" | "KSA" => "SA",
            "SPAIN" => "ES",
            "FRANCE" => "FR",
            "JAPAN" => "JP",
            "KUWAIT" => "KW",
            "SINGAPORE" => "SG",
            other => other,
        };
        if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(CountryCode(code.to_string()))
        } else {
            Err(CountryError(input.to_string()))
        }
    }

    pub fn india() -> CountryCode {
        CountryCode("IN".to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The IANA zone used when a buyer has none of their own. For countries
    /// spanning several zones this is the main business zone.
    pub fn default_time_zone(&self) -> &'static str {
        match self.0.as_str() {
            "IN" => "Asia/Kolkata",
            "AE" => "Asia/Dubai",
            "SA" => "Asia/Riyadh",
            "KW" => "Asia/Kuwait",
            "QA" => "Asia/Qatar",
            "OM" => "Asia/Muscat",
            "BH" => "Asia/Bahrain",
            "US" => "America/New_York",
            "CA" => "America/Toronto",
            "GB" => "Europe/London",
            "IE" => "Europe/Dublin",
            "DE" => "Europe/Berlin",
            "FR" => "Europe/Paris",
            "ES" => "Europe/Madrid",
            "IT" => "Europe/Rome",
            "NL" => "Europe/Amsterdam",
            "BE" => "Europe/Brussels",
            "JP" => "Asia/Tokyo",
            "SG" => "Asia/Singapore",
            "AU" => "Australia/Sydney",
            "BD" => "Asia/Dhaka",
            "NP" => "Asia/Kathmandu",
            "LK" => "Asia/Colombo",
            "ZA" => "Africa/Johannesburg",
            "KE" => "Africa/Nairobi",
            "NG" => "Africa/Lagos",
            "BR" => "America/Sao_Paulo",
            "MX" => "America/Mexico_City",
            _ => "UTC",
        }
    }

    /// The usual weekend. India: Sunday (most MSMEs work Saturdays); Saudi
    /// Arabia, Kuwait, Qatar, Oman, Bahrain: Friday and Saturday; UAE
    /// (since 2022) and everyone else: Saturday and Sunday.
    pub fn default_weekend(&self) -> &'static [Weekday] {
        match self.0.as_str() {
            "IN" | "NP" => &[Weekday::Sunday],
            "SA" | "KW" | "QA" | "OM" | "BH" | "EG" | "JO" => &[Weekday::Friday, Weekday::Saturday],
            _ => &[Weekday::Saturday, Weekday::Sunday],
        }
    }
}

impl std::fmt::Display for CountryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CountryCode {
    type Error = CountryError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CountryCode::parse(&s)
    }
}

impl From<CountryCode> for String {
    fn from(c: CountryCode) -> String {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_and_common_names() {
        assert_eq!(CountryCode::parse("in").unwrap().as_str(), "IN");
        assert_eq!(CountryCode::parse(" UAE ").unwrap().as_str(), "AE");
        assert_eq!(CountryCode::parse("United Kingdom").unwrap().as_str(), "GB");
        assert!(CountryCode::parse("Atlantis").is_err());
        assert!(CountryCode::parse("I1").is_err());
    }

    #[test]
    fn weekends_differ_by_country() {
        assert_eq!(
            CountryCode::parse("IN").unwrap().default_weekend(),
            &[Weekday::Sunday]
        );
        assert_eq!(
            CountryCode::parse("SA").unwrap().default_weekend(),
            &[Weekday::Friday, Weekday::Saturday]
        );
        assert_eq!(
            CountryCode::parse("AE").unwrap().default_weekend(),
            &[Weekday::Saturday, Weekday::Sunday]
        );
    }
}
