//! The columns an import understands, their header aliases, and header-row
//! detection.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// A column the importer knows how to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    InvoiceNumber,
    BuyerName,
    BuyerKey,
    Company,
    Phone,
    Email,
    Country,
    City,
    InvoiceDate,
    OrderDate,
    DueDate,
    CreditDays,
    Amount,
    AmountPaid,
    Outstanding,
    Currency,
    Status,
    SalesRep,
    Language,
    TimeZone,
    Consent,
    Notes,
    /// The marketplace lead the order came from (`indiamart:2900000001`).
    Lead,
}

impl Field {
    pub const ALL: [Field; 23] = [
        Field::InvoiceNumber,
        Field::BuyerName,
        Field::BuyerKey,
        Field::Company,
        Field::Phone,
        Field::Email,
        Field::Country,
        Field::City,
        Field::InvoiceDate,
        Field::OrderDate,
        Field::DueDate,
        Field::CreditDays,
        Field::Amount,
        Field::AmountPaid,
        Field::Outstanding,
        Field::Currency,
        Field::Status,
        Field::SalesRep,
        Field::Language,
        Field::TimeZone,
        Field::Consent,
        Field::Notes,
        Field::Lead,
    ];

    /// The snake_case name used in configuration and JSON (`invoice_number`).
    pub fn as_str(self) -> &'static str {
        match self {
            Field::InvoiceNumber => "invoice_number",
            Field::BuyerName => "buyer_name",
            Field::BuyerKey => "buyer_key",
            Field::Company => "company",
            Field::Phone => "phone",
            Field::Email => "email",
            Field::Country => "country",
            Field::City => "city",
            Field::InvoiceDate => "invoice_date",
            Field::OrderDate => "order_date",
            Field::DueDate => "due_date",
            Field::CreditDays => "credit_days",
            Field::Amount => "amount",
            Field::AmountPaid => "amount_paid",
            Field::Outstanding => "outstanding",
            Field::Currency => "currency",
            Field::Status => "status",
            Field::SalesRep => "sales_rep",
            Field::Language => "language",
            Field::TimeZone => "time_zone",
            Field::Consent => "consent",
            Field::Notes => "notes",
            Field::Lead => "lead",
        }
    }

    /// Header texts that mean this field, most specific first. Matching is
    /// insensitive to case, spacing and punctuation, and `number`, `num`,
    /// `nbr`, `no` and `#` are the same word (see [`normalize_header`]).
    ///
    /// Taken from the exports people actually send: Tally (`Ref. No.`,
    /// `Party's Name`, `Opening Amount`, `Pending Amount`, `Due on`, `Vch
    /// No.`, `Particulars`), Busy (`Bill No.`, `Bill Amt`, `Balance Amt`),
    /// Zoho Books (`Invoice Number`, `Customer Name`, `Customer ID`, `Total`,
    /// `Balance`, `Currency Code`, `Payment Terms`, `Invoice Status`, `Sales
    /// person`) and hand-kept sheets.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::InvoiceNumber => &[
                "invoice number",
                "invoice no",
                "inv no",
                "invoice #",
                "invoice_number",
                "bill no",
                "voucher no",
                "vch no",
                "doc no",
                "document no",
                "ref no",
                "reference no",
                "bill ref",
                "invoice",
            ],
            Field::BuyerName => &[
                "buyer name",
                "party name",
                "party's name",
                "customer name",
                "client name",
                "ledger name",
                "account name",
                "buyer",
                "party",
                "customer",
                "client",
                "particulars",
                "ledger",
                "debtor",
                "name",
            ],
            Field::BuyerKey => &[
                "buyer key",
                "buyer id",
                "customer id",
                "customer code",
                "party code",
                "client id",
                "client code",
                "ledger code",
                "account code",
                "gstin",
                "gstin uin",
                "gst no",
            ],
            Field::Company => &[
                "company",
                "company name",
                "firm",
                "firm name",
                "business name",
                "organisation",
                "organization",
            ],
            Field::Phone => &[
                "whatsapp number",
                "whatsapp",
                "mobile number",
                "mobile",
                "mob no",
                "phone number",
                "phone",
                "contact number",
                "contact",
                "cell",
            ],
            Field::Email => &["email", "e-mail", "email id", "email address", "mail"],
            Field::Country => &["country", "country code", "billing country"],
            Field::City => &["city", "billing city", "town", "place", "location"],
            Field::InvoiceDate => &[
                "invoice date",
                "inv date",
                "bill date",
                "vch date",
                "voucher date",
                "doc date",
                "document date",
                "posting date",
                "date",
            ],
            Field::OrderDate => &["order date", "po date", "so date", "sales order date"],
            Field::DueDate => &[
                "due date",
                "due on",
                "payment due",
                "payment due date",
                "due",
            ],
            Field::CreditDays => &[
                "credit days",
                "credit period",
                "payment terms",
                "credit terms",
                "terms",
                "payment terms label",
                "credit",
            ],
            Field::Amount => &[
                "invoice amount",
                "amount",
                "invoice value",
                "invoice total",
                "bill amount",
                "bill amt",
                "grand total",
                "total amount",
                "total",
                "gross total",
                "net amount",
                "opening amount",
                "inv amount",
                "amt",
                "value",
            ],
            Field::AmountPaid => &[
                "amount paid",
                "paid amount",
                "amount received",
                "received amount",
                "payment received",
                "received",
                "paid",
            ],
            Field::Outstanding => &[
                "outstanding",
                "outstanding amount",
                "balance due",
                "balance",
                "balance amount",
                "balance amt",
                "pending amount",
                "pending",
                "amount due",
                "due amount",
                "closing balance",
            ],
            Field::Currency => &["currency", "currency code", "cur", "curr", "ccy"],
            Field::Status => &["status", "payment status", "invoice status"],
            Field::SalesRep => &[
                "sales rep",
                "salesperson",
                "sales person",
                "sales executive",
                "account manager",
                "agent",
                "rep",
                "owner",
            ],
            Field::Language => &["language", "preferred language", "lang"],
            Field::TimeZone => &["time zone", "timezone", "tz"],
            Field::Consent => &[
                "consent",
                "whatsapp consent",
                "whatsapp opt in",
                "opt in",
                "optin",
            ],
            Field::Notes => &[
                "notes",
                "note",
                "remarks",
                "remark",
                "comments",
                "comment",
                "narration",
            ],
            Field::Lead => &[
                "lead",
                "lead id",
                "lead ref",
                "indiamart lead",
                "indiamart lead id",
                "tradeindia lead",
                "unique query id",
                "query id",
                "enquiry id",
                "inquiry id",
                "rfi id",
            ],
        }
    }

    /// A short human label for messages (`invoice number`).
    pub fn label(self) -> &'static str {
        match self {
            Field::InvoiceNumber => "invoice number",
            Field::BuyerName => "buyer name",
            Field::BuyerKey => "buyer key",
            Field::Company => "company",
            Field::Phone => "phone",
            Field::Email => "email",
            Field::Country => "country",
            Field::City => "city",
            Field::InvoiceDate => "invoice date",
            Field::OrderDate => "order date",
            Field::DueDate => "due date",
            Field::CreditDays => "credit days",
            Field::Amount => "amount",
            Field::AmountPaid => "amount paid",
            Field::Outstanding => "outstanding",
            Field::Currency => "currency",
            Field::Status => "status",
            Field::SalesRep => "sales rep",
            Field::Language => "language",
            Field::TimeZone => "time zone",
            Field::Consent => "consent",
            Field::Notes => "notes",
            Field::Lead => "lead",
        }
    }

    /// The field a header text names through its aliases, or `None` for a
    /// column the importer ignores.
    pub fn from_header(header: &str) -> Option<Field> {
        header_match(header).map(|(field, _)| field)
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an import field (expected one of invoice_number, buyer_name, amount, ...)")]
pub struct UnknownField(pub String);

impl std::str::FromStr for Field {
    type Err = UnknownField;
    /// Reads the snake_case name (`amount_paid`), also written with spaces or
    /// dashes and in any case.
    fn from_str(s: &str) -> Result<Field, UnknownField> {
        let norm: String = s
            .trim()
            .chars()
            .map(|c| match c {
                ' ' | '-' => '_',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        Field::ALL
            .into_iter()
            .find(|f| f.as_str() == norm)
            .ok_or_else(|| UnknownField(s.to_string()))
    }
}

/// Canonical form of a header for comparison: lower case, apostrophes
/// dropped (`Party's` → `partys`), `#` read as `no`, `&` as `and`, every
/// other non-alphanumeric character a space, runs of spaces collapsed, and
/// `number`/`num`/`nbr` written `no`. `Invoice No.`, `invoice_number` and
/// `INVOICE #` all become `invoice no`.
pub fn normalize_header(header: &str) -> String {
    let mut spaced = String::with_capacity(header.len() + 4);
    for c in header.chars() {
        match c {
            '\'' | '’' | '`' => {}
            '#' => spaced.push_str(" no "),
            '&' => spaced.push_str(" and "),
            c if c.is_alphanumeric() => spaced.extend(c.to_lowercase()),
            _ => spaced.push(' '),
        }
    }
    spaced
        .split_whitespace()
        .map(|w| match w {
            "number" | "num" | "nbr" => "no",
            w => w,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

static ALIASES: LazyLock<BTreeMap<String, (Field, usize)>> = LazyLock::new(|| {
    let mut map = BTreeMap::new();
    for field in Field::ALL {
        for (rank, alias) in field.aliases().iter().enumerate() {
            map.entry(normalize_header(alias)).or_insert((field, rank));
        }
    }
    map
});

fn header_match(header: &str) -> Option<(Field, usize)> {
    ALIASES.get(&normalize_header(header)).copied()
}

/// Which column holds which field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Assignment {
    pub(crate) columns: BTreeMap<Field, usize>,
    /// Explicitly mapped fields whose header text this row lacks.
    pub(crate) unmatched: Vec<(Field, String)>,
}

impl Assignment {
    /// Whether a row assigned like this can be the header: at least two
    /// known fields, one of them the invoice number or the amount.
    pub(crate) fn looks_like_header(&self) -> bool {
        self.columns.len() >= 2
            && (self.columns.contains_key(&Field::InvoiceNumber)
                || self.columns.contains_key(&Field::Amount))
    }

    /// Required fields without a column: the invoice number, the buyer name,
    /// an amount (`Amount` or `Outstanding`, reported as `Amount`), and a
    /// date (`InvoiceDate` or `DueDate`, reported as `InvoiceDate`).
    pub(crate) fn missing_required(&self) -> Vec<Field> {
        let has = |f: Field| self.columns.contains_key(&f);
        let mut missing = Vec::new();
        if !has(Field::InvoiceNumber) {
            missing.push(Field::InvoiceNumber);
        }
        if !has(Field::BuyerName) {
            missing.push(Field::BuyerName);
        }
        if !has(Field::Amount) && !has(Field::Outstanding) {
            missing.push(Field::Amount);
        }
        if !has(Field::InvoiceDate) && !has(Field::DueDate) {
            missing.push(Field::InvoiceDate);
        }
        missing
    }
}

/// Assigns the columns of a candidate header row to fields. Explicit
/// `mapping` entries win; the other columns are matched through the
/// aliases, and when several columns name the same field the one with the
/// more specific alias wins (then the leftmost).
pub(crate) fn assign(headers: &[String], mapping: &BTreeMap<Field, String>) -> Assignment {
    let normalized: Vec<String> = headers.iter().map(|h| normalize_header(h)).collect();
    let mut columns = BTreeMap::new();
    let mut taken = vec![false; headers.len()];
    let mut unmatched = Vec::new();
    for (field, text) in mapping {
        let wanted = normalize_header(text);
        match normalized
            .iter()
            .enumerate()
            .find(|(i, h)| !taken[*i] && !h.is_empty() && **h == wanted)
        {
            Some((i, _)) => {
                taken[i] = true;
                columns.insert(*field, i);
            }
            None => unmatched.push((*field, text.clone())),
        }
    }
    let mut best: BTreeMap<Field, (usize, usize)> = BTreeMap::new();
    for (i, header) in headers.iter().enumerate() {
        if taken[i] {
            continue;
        }
        let Some((field, rank)) = header_match(header) else {
            continue;
        };
        if mapping.contains_key(&field) {
            continue;
        }
        let entry = best.entry(field).or_insert((rank, i));
        if rank < entry.0 {
            *entry = (rank, i);
        }
    }
    columns.extend(best.into_iter().map(|(f, (_, i))| (f, i)));
    Assignment { columns, unmatched }
}

/// How many rows from the top may hold the header (Tally puts the company
/// name, address and period above it).
pub const HEADER_SEARCH_ROWS: usize = 15;

/// The index of the header among `rows` (the first one that
/// [`Assignment::looks_like_header`]) and its assignment.
pub(crate) fn detect_header(
    rows: &[Vec<String>],
    mapping: &BTreeMap<Field, String>,
) -> Option<(usize, Assignment)> {
    rows.iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .find_map(|(i, row)| {
            let a = assign(row, mapping);
            a.looks_like_header().then_some((i, a))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn header_is_found_below_title_rows() {
        let rows = vec![
            strings(&["Sharma Textiles Pvt Ltd"]),
            strings(&["Bills Receivable", "1-Apr-2026 to 31-Mar-2027"]),
            strings(&[]),
            strings(&[
                "Date",
                "Ref. No.",
                "Party's Name",
                "Pending Amount",
                "Due on",
            ]),
            strings(&["1-Apr-2026", "S/001", "Gupta", "1,000.00", "1-May-2026"]),
        ];
        let (index, a) = detect_header(&rows, &BTreeMap::new()).unwrap();
        assert_eq!(index, 3);
        assert_eq!(a.columns[&Field::InvoiceDate], 0);
        assert_eq!(a.columns[&Field::InvoiceNumber], 1);
        assert_eq!(a.columns[&Field::BuyerName], 2);
        assert_eq!(a.columns[&Field::Outstanding], 3);
        assert_eq!(a.columns[&Field::DueDate], 4);
        assert!(a.missing_required().is_empty());
    }

    #[test]
    fn one_field_is_not_a_header() {
        let rows = vec![strings(&["Amount"]), strings(&["Date", "Party"])];
        assert_eq!(detect_header(&rows, &BTreeMap::new()), None);
        // Two fields but neither invoice number nor amount.
        let rows = vec![strings(&["Date", "Party"])];
        assert_eq!(detect_header(&rows, &BTreeMap::new()), None);
        // Past the fifteenth row nothing is looked at.
        let mut rows = vec![strings(&["title"]); HEADER_SEARCH_ROWS];
        rows.push(strings(&["Invoice No", "Amount"]));
        assert_eq!(detect_header(&rows, &BTreeMap::new()), None);
    }

    #[test]
    fn the_more_specific_alias_wins() {
        // Zoho: `Invoice Date` beats `Date`, `Invoice Number` beats
        // `Reference#`, `Payment Terms` beats `Payment Terms Label`.
        let headers = strings(&[
            "Date",
            "Reference#",
            "Invoice Number",
            "Invoice Date",
            "Payment Terms Label",
            "Payment Terms",
            "Total",
            "Balance",
        ]);
        let a = assign(&headers, &BTreeMap::new());
        assert_eq!(a.columns[&Field::InvoiceDate], 3);
        assert_eq!(a.columns[&Field::InvoiceNumber], 2);
        assert_eq!(a.columns[&Field::CreditDays], 5);
        assert_eq!(a.columns[&Field::Amount], 6);
        assert_eq!(a.columns[&Field::Outstanding], 7);
        assert_eq!(
            a.missing_required(),
            vec![Field::BuyerName],
            "no buyer column"
        );
    }

    #[test]
    fn explicit_mapping_overrides_aliases() {
        let headers = strings(&["Bill", "Customer", "Net Payable", "Amount", "Dt"]);
        let mapping = BTreeMap::from([
            (Field::InvoiceNumber, "bill".to_string()),
            (Field::Amount, "Net Payable".to_string()),
            (Field::InvoiceDate, "DT".to_string()),
        ]);
        let a = assign(&headers, &mapping);
        assert_eq!(a.columns[&Field::InvoiceNumber], 0);
        assert_eq!(a.columns[&Field::BuyerName], 1);
        assert_eq!(a.columns[&Field::Amount], 2);
        assert_eq!(a.columns[&Field::InvoiceDate], 4);
        assert!(a.unmatched.is_empty());
        assert!(a.missing_required().is_empty());

        let mapping = BTreeMap::from([(Field::Phone, "WhatsApp".to_string())]);
        let a = assign(&headers, &mapping);
        assert_eq!(a.unmatched, vec![(Field::Phone, "WhatsApp".to_string())]);
    }

    #[test]
    fn normalization_makes_spellings_meet() {
        for h in [
            "Invoice No.",
            "invoice_number",
            "INVOICE #",
            " Invoice  Number ",
            "Invoice Num",
        ] {
            assert_eq!(normalize_header(h), "invoice no", "{h}");
        }
        assert_eq!(normalize_header("Party's Name"), "partys name");
        assert_eq!(normalize_header("Party’s Name"), "partys name");
        assert_eq!(normalize_header("E-mail"), "e mail");
        assert_eq!(
            normalize_header("Terms & Conditions"),
            "terms and conditions"
        );
    }

    #[test]
    fn aliases_cover_common_exports() {
        let cases = [
            ("Vch No.", Field::InvoiceNumber),
            ("Ref. No.", Field::InvoiceNumber),
            ("Bill No", Field::InvoiceNumber),
            ("Party's Name", Field::BuyerName),
            ("Particulars", Field::BuyerName),
            ("Customer Name", Field::BuyerName),
            ("Customer ID", Field::BuyerKey),
            ("WhatsApp No.", Field::Phone),
            ("Mobile No", Field::Phone),
            ("Pending Amount", Field::Outstanding),
            ("Balance Due", Field::Outstanding),
            ("Opening Amount", Field::Amount),
            ("Grand Total", Field::Amount),
            ("Due on", Field::DueDate),
            ("Vch Date", Field::InvoiceDate),
            ("Payment Terms", Field::CreditDays),
            ("Currency Code", Field::Currency),
            ("Invoice Status", Field::Status),
            ("Sales person", Field::SalesRep),
            ("Amount Paid", Field::AmountPaid),
        ];
        for (header, field) in cases {
            assert_eq!(Field::from_header(header), Some(field), "{header}");
        }
        assert_eq!(Field::from_header("Overdue by days"), None);
        assert_eq!(Field::from_header("HSN/SAC"), None);
    }

    #[test]
    fn every_alias_belongs_to_one_field() {
        let mut seen: BTreeMap<String, Field> = BTreeMap::new();
        for field in Field::ALL {
            for alias in field.aliases() {
                let norm = normalize_header(alias);
                if let Some(other) = seen.insert(norm.clone(), field) {
                    assert_eq!(other, field, "`{alias}` is claimed twice");
                }
            }
        }
    }

    #[test]
    fn field_names_parse_and_serialize() {
        for field in Field::ALL {
            assert_eq!(field.as_str().parse::<Field>().unwrap(), field);
            let json = serde_json::to_string(&field).unwrap();
            assert_eq!(json, format!("\"{}\"", field.as_str()));
        }
        assert_eq!("Amount Paid".parse::<Field>().unwrap(), Field::AmountPaid);
        assert!("amount_due".parse::<Field>().is_err());
    }
}
