//! What a buyer's WhatsApp reply to a payment reminder asks for: a tapped
//! quick-reply button ([`button_intent`]) or free text ([`classify_text`]):
//! an opt-out ([`is_stop_request`]), a promise to pay on a date
//! ([`promise_date`]), or something a person has to read.
//!
//! Replies come in English, Hindi (Devanagari and romanised, often mixed with
//! English) and Spanish. Everything here is a pure function of the text and,
//! for dates, of the buyer's local `today`; nothing reads the clock.
//!
//! # Date rules
//!
//! [`promise_date`] scans the message left to right and returns the first
//! phrase that names a date from `today` to `today + 120 days` (both
//! inclusive); a phrase naming a date outside that window (an explicit past
//! year, a day+month too far ahead, "in 200 days") is skipped and the scan
//! goes on after it. Where a phrase is ambiguous, one rule applies:
//!
//! * a bare weekday ("Friday", "on Friday", "by Monday", "shukravar", "el
//!   viernes") is the first such day strictly after today: said on a Friday,
//!   "Friday" is next week's Friday;
//! * "this" and a weekday ("this Friday", "is shukravar", "este viernes") is the
//!   first such day on or after today: said on a Friday, "this Friday" is
//!   today;
//! * "next" and a weekday ("next Friday", "agle shukravar", "el próximo viernes",
//!   "el viernes que viene", "Friday next week") is that day in the next
//!   calendar week, weeks running Monday to Sunday. Said on Tuesday 1 Dec
//!   2026, "Friday" and "this Friday" are 4 Dec and "next Friday" is 11 Dec;
//!   said on Friday 4 Dec, "next Friday" is 11 Dec and "next Monday" 7 Dec;
//! * "next week" ("agle hafte", "la próxima semana") is the first Monday
//!   strictly after today, which is the start of the next calendar week;
//!   "next to next week" is the Monday after that;
//! * "this week" ("is hafte", "esta semana", "end of the week") is the
//!   Friday of the current week when today is Monday to Friday (today itself
//!   on a Friday), and the Sunday that ends the current week on a Saturday or
//!   Sunday;
//! * "kal" / "कल" means both yesterday and tomorrow. It is tomorrow unless
//!   its clause (the words around it, up to a `.`, `,`, `!`, `?`, `;`, `।` or
//!   line break on either side) holds a Hindi completed-action marker
//!   ("diya", "kiya", "ho gaya", "tha", "दिया", "गया", "था"...), in which
//!   case it is yesterday and names no promise: "kal payment kar diya" is
//!   not a promise, "kal payment kar denge" is. "parso" / "परसों" (day after
//!   tomorrow or day before yesterday) follows the same rule. "aaj kal"
//!   ("these days") names no date;
//! * "mañana" is tomorrow except after "la", "esta", "por", "de" or "cada",
//!   where it means morning;
//! * a day of month ("15th", "on the 15th", "15 tarikh", "el 15") is in this
//!   month when that day is today or later, else in next month, clamped to
//!   the month's last day ("31st" in a 30-day month is the 30th, "29th" in
//!   February 2026 the 28th). A bare number is a day only after "on", "by",
//!   "before", "till", "until", "el", "hasta"... ("by 5" is the 5th, not
//!   5 o'clock) or before "tarikh", "ko", "tak";
//! * a day and month without a year ("15 Dec", "Dec 15", "15/12") is this
//!   year, or next year when it has passed; numeric dates are day first
//!   (Indian and Spanish order), except ISO `2026-12-15`. An impossible date
//!   ("31/11", "29 Feb" in a year that lacks it) names nothing;
//! * "in 2-3 days" (a range) is the later end;
//! * a date right after "not", "no", "nahi", "नहीं" or right before "not",
//!   "nahi", "नहीं" is skipped ("not today, Monday" promises Monday).
//!
//! Numbers that are not days are ignored: amounts (`₹15,000`, `Rs 15000`,
//! `15 lakh`, `15000/-`), fractions (`1/2 payment`), invoice and reference
//! numbers (`INV-15`, `#15`, `invoice 15`, `No. 15`), phone numbers (more
//! than two digits, or after `+`), times (`5:30`, `5 pm`, `at 5`, `5 baje`)
//! and quantities (`15 days`, `15 pcs`, `2nd reminder`).
//!
//! Free text is never read as "paid already": [`classify_text`] only knows
//! opt-outs and promises, so "paid today" is a promise for today.

use jiff::ToSpan;
use jiff::civil::{Date, Weekday};
use serde::{Deserialize, Serialize};

/// How far ahead a promise may be: a date more than this many days after
/// `today` is not taken as a promise.
pub const PROMISE_HORIZON_DAYS: i64 = 120;

/// What a buyer's reply asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "intent", rename_all = "snake_case")]
pub enum ReplyIntent {
    /// The buyer says the invoice is already paid.
    PaidAlready,
    /// The buyer wants a copy of the invoice.
    SendInvoiceCopy,
    /// The buyer wants a person to call or write back.
    TalkToSomeone,
    /// The buyer opts out of reminders.
    Stop,
    /// A promise to pay: the date (buyer's local calendar) and the words that said it.
    PromiseToPay {
        /// The promised date, in the buyer's local calendar.
        date: Date,
        /// The words of the message that named the date, as written.
        phrase: String,
    },
    /// Anything else: a person reads it.
    Other,
}

impl ReplyIntent {
    /// The snake_case name, as serialised in the `intent` tag.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReplyIntent::PaidAlready => "paid_already",
            ReplyIntent::SendInvoiceCopy => "send_invoice_copy",
            ReplyIntent::TalkToSomeone => "talk_to_someone",
            ReplyIntent::Stop => "stop",
            ReplyIntent::PromiseToPay { .. } => "promise_to_pay",
            ReplyIntent::Other => "other",
        }
    }
}

impl std::fmt::Display for ReplyIntent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Normalised texts of the "Paid already" button and its usual wordings.
const PAID_BUTTONS: &[&str] = &[
    "paid already",
    "already paid",
    "i have paid",
    "ive paid",
    "i have already paid",
    "ive already paid",
    "i paid",
    "i already paid",
    "paid",
    "payment done",
    "already paid it",
    "भुगतान कर दिया",
    "भुगतान हो गया",
    "पेमेंट कर दिया",
    "पेमेंट हो गया",
    "bhugtan kar diya",
    "bhugtan ho gaya",
    "payment kar diya",
    "payment kar di",
    "payment ho gaya",
    "pay kar diya",
    "paid kar diya",
    "ya pague",
    "ya he pagado",
    "ya pagamos",
    "ya hemos pagado",
    "pagado",
];

/// Normalised texts of the "Send invoice copy" button and its usual wordings.
const INVOICE_BUTTONS: &[&str] = &[
    "send invoice copy",
    "invoice copy",
    "send invoice",
    "send the invoice",
    "send me the invoice",
    "send copy",
    "send a copy",
    "copy of invoice",
    "send copy of invoice",
    "send invoice copy again",
    "चालान की कॉपी भेजें",
    "चालान की कॉपी भेजो",
    "चालान की कॉपी",
    "इनवॉइस कॉपी भेजें",
    "इनवॉइस की कॉपी भेजें",
    "बिल की कॉपी भेजें",
    "challan ki copy bhejen",
    "challan ki copy bhejein",
    "challan ki copy bhejo",
    "invoice copy bhejo",
    "invoice copy bhejen",
    "invoice copy bhejein",
    "invoice ki copy bhejo",
    "invoice ki copy bhejen",
    "invoice bhejo",
    "bill ki copy bhejo",
    "bill bhejo",
    "enviar copia de factura",
    "enviar copia de la factura",
    "copia de factura",
    "copia de la factura",
    "enviar factura",
    "enviame la factura",
    "envieme la factura",
];

/// Normalised texts of the "Talk to someone" button and its usual wordings.
const TALK_BUTTONS: &[&str] = &[
    "talk to someone",
    "talk to somebody",
    "talk to a person",
    "speak to someone",
    "talk to us",
    "call me",
    "call me back",
    "please call",
    "किसी से बात करें",
    "किसी से बात करो",
    "मुझे कॉल करें",
    "मुझे कॉल करो",
    "कॉल करें",
    "बात करें",
    "kisi se baat karen",
    "kisi se baat karein",
    "kisi se baat karo",
    "kisi se bat karen",
    "baat karni hai",
    "mujhe call karo",
    "mujhe call karen",
    "mujhe call karein",
    "call karo",
    "call karen",
    "call kijiye",
    "hablar con alguien",
    "hablar con una persona",
    "llamame",
    "llamenme",
];

/// The intent of a tapped quick-reply button whose payload is not one of ours
/// (when a template's button was sent without a payload, WhatsApp returns the
/// button's text). Recognises the four buttons' texts in English, Hindi
/// (Devanagari and romanised) and Spanish: "Paid already"/"Already paid"/"I have paid",
/// "Send invoice copy"/"Invoice copy", "Talk to someone"/"Call me", "Stop reminders"/"Stop".
///
/// The text is compared whole, normalised as in [`is_stop_request`], so
/// case, punctuation, emoji and accents do not matter; any opt-out accepted by
/// [`is_stop_request`] is [`ReplyIntent::Stop`]. `None` for any other text
/// (such as "Pay now", a URL button, which never comes back as a reply).
pub fn button_intent(text: &str) -> Option<ReplyIntent> {
    let n = strip_please(&normalise(text));
    let n = n.as_str();
    if PAID_BUTTONS.contains(&n) {
        Some(ReplyIntent::PaidAlready)
    } else if INVOICE_BUTTONS.contains(&n) {
        Some(ReplyIntent::SendInvoiceCopy)
    } else if TALK_BUTTONS.contains(&n) {
        Some(ReplyIntent::TalkToSomeone)
    } else if is_stop_normalised(n) {
        Some(ReplyIntent::Stop)
    } else {
        None
    }
}

/// A free-text reply: a stop request (whole message), else a promise date, else Other.
pub fn classify_text(text: &str, today: Date) -> ReplyIntent {
    if is_stop_request(text) {
        ReplyIntent::Stop
    } else if let Some((date, phrase)) = promise_date(text, today) {
        ReplyIntent::PromiseToPay { date, phrase }
    } else {
        ReplyIntent::Other
    }
}

/// Whole-message opt-outs, normalised.
const STOP_MESSAGES: &[&str] = &[
    // English
    "stop",
    "stopall",
    "stop all",
    "unsubscribe",
    "unsubscribe me",
    "stop reminders",
    "stop reminder",
    "stop the reminders",
    "stop all reminders",
    "stop messages",
    "stop message",
    "stop msgs",
    "stop msg",
    "stop all messages",
    "stop sending",
    "stop sending messages",
    "stop sending reminders",
    "stop messaging",
    "stop messaging me",
    "stop it",
    "opt out",
    "optout",
    "स्टॉप",
    "स्टाप",
    "no more messages",
    "no more reminders",
    // Hindi, Devanagari
    "बंद",
    "बंद करो",
    "बंद करें",
    "बंद कर दो",
    "बंद करिए",
    "बंद कीजिए",
    "रोको",
    "रोकें",
    "रोक दो",
    "मत भेजो",
    "मत भेजें",
    "मत भेजिए",
    // Hindi, romanised
    "band",
    "band karo",
    "band kro",
    "band kar do",
    "band kardo",
    "band kr do",
    "band krdo",
    "band karen",
    "band karein",
    "band kijiye",
    "band kariye",
    "roko",
    "rok do",
    "mat bhejo",
    "mat bhejiye",
    "mat bhejna",
    "mat bhejen",
    // Spanish
    "baja",
    "dar de baja",
    "darme de baja",
    "dame de baja",
    "denme de baja",
    "darse de baja",
    "alto",
    "parar",
    "para",
    "detener",
    "no mas mensajes",
    "no mas recordatorios",
    "no mas avisos",
    "cancelar suscripcion",
    "cancelar la suscripcion",
];

/// What a Hindi opt-out may name before its verb: "message band karo",
/// "रिमाइंडर बंद करें".
const STOP_OBJECTS: &[&str] = &[
    "message",
    "messages",
    "msg",
    "msgs",
    "sms",
    "reminder",
    "reminders",
    "मैसेज",
    "रिमाइंडर",
    "संदेश",
];

/// The Hindi opt-out verbs that may follow a [`STOP_OBJECTS`] word.
const STOP_VERBS: &[&str] = &[
    "बंद करो",
    "बंद करें",
    "बंद कर दो",
    "बंद करिए",
    "बंद कीजिए",
    "मत भेजो",
    "मत भेजें",
    "मत भेजिए",
    "band karo",
    "band kro",
    "band kar do",
    "band kardo",
    "band karen",
    "band karein",
    "band kijiye",
    "mat bhejo",
    "mat bhejiye",
    "mat bhejna",
];

/// True when the whole message (normalised: lower case, punctuation and emoji stripped,
/// whitespace collapsed, an optional "please"/"pls"/"kripya"/"por favor" around it) is an opt-out:
/// English STOP, UNSUBSCRIBE, "stop reminders", "opt out"/"optout", "stop messages";
/// Hindi "बंद करो", "बंद करें", "बंद", "रोको", "रोकें", "मत भेजो", romanised "band karo", "band kro",
/// "band kar do", "mat bhejo"; Spanish "baja", "dar de baja", "darme de baja", "alto", "parar",
/// "detener", "no más mensajes" / "no mas mensajes", "cancelar suscripción".
/// A sentence that merely contains "stop" ("don't stop the supply") is NOT an opt-out.
///
/// A few close variants are accepted too ("stop sending", "stop it", "no more
/// reminders", "band kardo", "message band karo", "रिमाइंडर बंद करें", "no más
/// recordatorios"). "cancel", "end" and "quit" are not opt-outs here: alone
/// they are ambiguous in a payment conversation, so a person reads them.
pub fn is_stop_request(text: &str) -> bool {
    is_stop_normalised(&strip_please(&normalise(text)))
}

/// [`is_stop_request`] on an already normalised, please-stripped text.
fn is_stop_normalised(n: &str) -> bool {
    if STOP_MESSAGES.contains(&n) {
        return true;
    }
    STOP_OBJECTS.iter().any(|obj| {
        n.strip_prefix(obj)
            .and_then(|rest| rest.strip_prefix(' '))
            .is_some_and(|verb| STOP_VERBS.contains(&verb))
    })
}

/// Politeness words that may open or close a whole-message command.
const PLEASE: &[&str] = &[
    "please",
    "pls",
    "plz",
    "plss",
    "kindly",
    "kripya",
    "kripaya",
    "कृपया",
    "por favor",
    "porfavor",
];

/// Removes politeness words ([`PLEASE`]) from both ends of a normalised text.
fn strip_please(normalised: &str) -> String {
    let mut s = normalised;
    loop {
        let before = s;
        for p in PLEASE {
            if s == *p {
                return String::new();
            }
            if let Some(rest) = s.strip_prefix(p).and_then(|r| r.strip_prefix(' ')) {
                s = rest;
            }
            if let Some(rest) = s.strip_suffix(p).and_then(|r| r.strip_suffix(' ')) {
                s = rest;
            }
        }
        if s == before {
            return s.to_owned();
        }
    }
}

/// Lower case, accents folded, Devanagari spelling variants unified (nukta
/// dropped, chandrabindu as anusvara, Devanagari digits as ASCII), apostrophes
/// removed ("don't" → "dont"), every other non-word character (punctuation,
/// emoji, symbols) a space, whitespace collapsed.
fn normalise(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars() {
        if is_word_char(c) {
            fold_char(&mut folded, c);
        } else if c == '\'' || c == '\u{2019}' {
            // "don't", "I've"
        } else {
            folded.push(' ');
        }
    }
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `c` belongs to a word: letters and digits of any script, the
/// Devanagari block except its sentence marks (`।`, `॥`), combining accents
/// and the zero-width (non-)joiners used in Devanagari.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
        || (('\u{0900}'..='\u{097F}').contains(&c) && c != '\u{0964}' && c != '\u{0965}')
        || ('\u{0300}'..='\u{036F}').contains(&c)
        || c == '\u{200C}'
        || c == '\u{200D}'
}

/// Appends the folded form of one word character (see [`normalise`]).
fn fold_char(out: &mut String, c: char) {
    for l in c.to_lowercase() {
        let folded = match l {
            'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            // combining accents, nukta, zero-width joiners
            '\u{0300}'..='\u{036F}' | '\u{093C}' | '\u{200C}' | '\u{200D}' => continue,
            // chandrabindu written as anusvara
            '\u{0901}' => '\u{0902}',
            // precomposed nukta letters: क़ ख़ ग़ ज़ ड़ ढ़ फ़ य़
            '\u{0958}' => '\u{0915}',
            '\u{0959}' => '\u{0916}',
            '\u{095A}' => '\u{0917}',
            '\u{095B}' => '\u{091C}',
            '\u{095C}' => '\u{0921}',
            '\u{095D}' => '\u{0922}',
            '\u{095E}' => '\u{092B}',
            '\u{095F}' => '\u{092F}',
            // Devanagari digits
            '\u{0966}'..='\u{096F}' => char::from_digit(u32::from(l) - 0x0966, 10).unwrap_or(l),
            other => other,
        };
        out.push(folded);
    }
}

// ---------------------------------------------------------------------------
// Promise dates
// ---------------------------------------------------------------------------

/// The date a free-text reply promises to pay on, if any, relative to `today`
/// (the buyer's local date): None for past dates and for dates more than 120 days ahead.
///
/// Understands, case-insensitively and anywhere in the message:
///
/// * days of month: "on 15th", "by the 15th", "15th", "1st", "23rd", "15
///   tarikh", "15 तारीख", "15 ko", "el 15", "15th of next month";
/// * days and months: "15 Dec", "15 December 2026", "15th of December",
///   "Dec 15", "December 15th", "15-Dec-26", "15 de diciembre", "15
///   दिसंबर", "15/12", "15-12", "15.12", "15/12/2026", "15-12-26", ISO
///   "2026-12-15";
/// * relative days: "today", "tonight", "EOD", "tomorrow", "day after
///   tomorrow", "in 3 days", "within 2 days", "after a week", "in 2-3 days",
///   "aaj", "kal", "parso", "3 din mein", "आज", "कल", "परसों", "hoy",
///   "mañana", "pasado mañana", "en 3 días", "dentro de una semana";
/// * weeks and months: "next week", "this week", "end of the week", "end of
///   month", "month end", "next month", "end of next month", "agle hafte",
///   "is hafte", "mahine ke end", "agle mahine", "अगले हफ्ते", "महीने के
///   अंत", "la próxima semana", "la semana que viene", "esta semana", "fin de
///   mes", "el próximo mes", "el mes que viene", "next to next week";
/// * a named month's end: "March end", "end of March", "march ke end", "fin
///   de marzo";
/// * weekdays in the three languages, alone or with "on", "by", "this",
///   "next", "coming", "agle", "is", "el", "este", "próximo", "que viene".
///
/// The [module documentation](self) gives the rules for ambiguous phrases
/// and for numbers that are not dates. The returned phrase is the matched
/// words as they appear in the message, leading "on"/"by"/"the"/"el"/... included.
/// When several dates appear, the first one inside the window wins.
pub fn promise_date(text: &str, today: Date) -> Option<(Date, String)> {
    let toks = tokenize(text);
    let horizon = today.checked_add(PROMISE_HORIZON_DAYS.days()).ok()?;
    let cx = Cx { toks: &toks, today };
    let mut i = 0;
    while i < toks.len() {
        let Some(m) = cx.match_at(i) else {
            i += 1;
            continue;
        };
        if let Some(date) = m.date
            && today <= date
            && date <= horizon
            && !cx.negated(i, m.end)
        {
            let phrase = text
                .get(toks[i].start..toks[m.end - 1].end)
                .unwrap_or_default()
                .trim()
                .to_owned();
            return Some((date, phrase));
        }
        i = m.end.max(i + 1);
    }
    None
}

/// What a token of a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Letters (possibly with digits: "inv15", "5pm").
    Word,
    /// ASCII (or Devanagari) digits only.
    Num,
    /// Digits followed by st/nd/rd/th ("15th", "2nd", and the common "22th").
    Ord,
    /// Any other single character: punctuation, symbols, emoji.
    Sym(char),
}

/// One token with its byte span in the original message.
#[derive(Debug, Clone)]
struct Tok {
    start: usize,
    end: usize,
    /// Folded text (see [`fold_char`]).
    norm: String,
    kind: Kind,
    /// Whitespace (or the start of the message) comes right before it.
    gap: bool,
    /// That whitespace holds a line break.
    line_break: bool,
    /// The number of `Num` and `Ord`: `None` when too long to be a day,
    /// month, year or count.
    value: Option<u32>,
    /// How many digits a `Num` or `Ord` has.
    digits: usize,
}

/// Splits a message into words, numbers, ordinals and single symbols.
fn tokenize(text: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut gap = true;
    let mut line_break = false;
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c.is_whitespace() {
            gap = true;
            line_break |= c == '\n';
            continue;
        }
        let mut end = start + c.len_utf8();
        if is_word_char(c) {
            while let Some(&(j, d)) = chars.peek() {
                if !is_word_char(d) {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            let mut norm = String::new();
            for ch in text.get(start..end).unwrap_or_default().chars() {
                fold_char(&mut norm, ch);
            }
            if !norm.is_empty() {
                let mut tok = word_token(start, end, norm, gap);
                tok.line_break = line_break;
                toks.push(tok);
                gap = false;
                line_break = false;
            }
            continue;
        }
        toks.push(Tok {
            start,
            end,
            norm: c.to_string(),
            kind: Kind::Sym(c),
            gap,
            line_break,
            value: None,
            digits: 0,
        });
        gap = false;
        line_break = false;
    }
    toks
}

/// Classifies a run of word characters as a number, an ordinal or a word.
fn word_token(start: usize, end: usize, norm: String, gap: bool) -> Tok {
    let digits = norm.bytes().take_while(u8::is_ascii_digit).count();
    let suffix = &norm[digits..];
    let kind = if digits > 0 && suffix.is_empty() {
        Kind::Num
    } else if (1..=2).contains(&digits) && matches!(suffix, "st" | "nd" | "rd" | "th") {
        Kind::Ord
    } else {
        Kind::Word
    };
    let value = match kind {
        Kind::Num | Kind::Ord if digits <= 9 => norm[..digits].parse().ok(),
        _ => None,
    };
    Tok {
        start,
        end,
        norm,
        kind,
        gap,
        line_break: false,
        value,
        digits: if kind == Kind::Word { 0 } else { digits },
    }
}

/// A phrase found at a position: the token index just after it and the date
/// it names (`None`: it names a date that does not exist, or no date at all,
/// like "kal" meaning yesterday).
#[derive(Debug, Clone, Copy)]
struct Match {
    end: usize,
    date: Option<Date>,
}

/// How a weekday phrase picks its date (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WeekdayRule {
    /// First such day strictly after today.
    After,
    /// First such day on or after today.
    This,
    /// That day in the next Monday-to-Sunday week.
    NextWeek,
}

/// A fixed relative phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rel {
    Today,
    Tomorrow,
    DayAfterTomorrow,
    NextWeek,
    /// "next to next week": the Monday a week after next week's.
    WeekAfterNext,
    ThisWeek,
    EndOfMonth,
    EndOfNextMonth,
    NextMonth,
    /// Recognised, but names no date ("aaj kal": these days).
    NoDate,
}

/// Alternatives for one word of a phrase.
type Alt = &'static [&'static str];

const TODAY: Alt = &["today", "tonight", "2day", "eod", "aaj", "आज", "hoy"];
const TOMORROW: Alt = &[
    "tomorrow",
    "tomorow",
    "tommorow",
    "tommorrow",
    "tmrw",
    "tmrow",
    "tmr",
    "2moro",
    "2morrow",
    "kal",
    "कल",
    "manana",
];
const KAL: Alt = &["kal", "कल", "parso", "parson", "parsoon", "परसों", "परसो"];
const PARSO: Alt = &["parso", "parson", "parsoon", "परसों", "परसो"];
const WEEK: Alt = &[
    "week",
    "wk",
    "hafte",
    "hafta",
    "hapte",
    "हफ्ते",
    "हफ्ता",
    "हफते",
    "सप्ताह",
];
const MONTH: Alt = &["month", "mahine", "mahina", "महीने", "महीना"];
const NEXT: Alt = &[
    "next",
    "agle",
    "agla",
    "agli",
    "अगले",
    "अगला",
    "अगली",
    "proximo",
    "proxima",
];
const THIS: Alt = &["this", "is", "iss", "isi", "इस", "इसी", "este", "esta"];
const OF: Alt = &["ke", "ka", "ki", "के", "का", "की"];
const END: Alt = &[
    "end",
    "ant",
    "aakhir",
    "akhir",
    "last",
    "एंड",
    "अंत",
    "आखिर",
    "आखिरी",
];
const FIN: Alt = &["fin", "final", "finales", "fines"];
const DE: Alt = &["de", "del"];

/// The fixed relative phrases; at a position the longest one that matches wins.
const PHRASES: &[(&[Alt], Rel)] = &[
    (&[TODAY], Rel::Today),
    (&[&["esta"], &["noche", "tarde"]], Rel::Today),
    (&[&["aaj", "आज"], &["kal", "कल"]], Rel::NoDate),
    (&[TOMORROW], Rel::Tomorrow),
    (&[&["day"], &["after"], TOMORROW], Rel::DayAfterTomorrow),
    (&[PARSO], Rel::DayAfterTomorrow),
    (&[&["pasado"], &["manana"]], Rel::DayAfterTomorrow),
    (&[NEXT, WEEK], Rel::NextWeek),
    (&[&["next"], &["to"], &["next"], WEEK], Rel::WeekAfterNext),
    (&[&["semana"], &["que"], &["viene"]], Rel::NextWeek),
    (&[&["semana"], &["proxima"]], Rel::NextWeek),
    (&[NEXT, &["semana"]], Rel::NextWeek),
    (&[THIS, WEEK], Rel::ThisWeek),
    (&[&["esta"], &["semana"]], Rel::ThisWeek),
    (
        &[&["end"], &["of"], &["the", "this"], &["week"]],
        Rel::ThisWeek,
    ),
    (&[&["end"], &["of"], &["week"]], Rel::ThisWeek),
    (&[&["eow"]], Rel::ThisWeek),
    (&[&["end"], &["of"], &["month"]], Rel::EndOfMonth),
    (
        &[&["end"], &["of"], &["the", "this"], &["month"]],
        Rel::EndOfMonth,
    ),
    (&[&["month"], &["end"]], Rel::EndOfMonth),
    (&[&["this"], &["month"], &["end"]], Rel::EndOfMonth),
    (&[&["monthend", "eom"]], Rel::EndOfMonth),
    (&[MONTH, OF, END], Rel::EndOfMonth),
    (&[FIN, DE, &["mes"]], Rel::EndOfMonth),
    (
        &[&["end"], &["of"], &["next"], &["month"]],
        Rel::EndOfNextMonth,
    ),
    (
        &[&["end"], &["of"], &["the"], &["next"], &["month"]],
        Rel::EndOfNextMonth,
    ),
    (&[&["next"], &["month"], &["end"]], Rel::EndOfNextMonth),
    (&[NEXT, MONTH, OF, END], Rel::EndOfNextMonth),
    (&[FIN, DE, &["proximo"], &["mes"]], Rel::EndOfNextMonth),
    (
        &[FIN, DE, &["mes"], &["que"], &["viene"]],
        Rel::EndOfNextMonth,
    ),
    (&[NEXT, MONTH], Rel::NextMonth),
    (&[NEXT, &["mes"]], Rel::NextMonth),
    (&[&["mes"], &["que"], &["viene"]], Rel::NextMonth),
    (&[&["mes"], &["proximo"]], Rel::NextMonth),
];

/// Words that may precede a date and belong to its phrase ("on", "by the",
/// "el", "hasta el"...).
const CUES: Alt = &[
    "on", "by", "before", "till", "til", "until", "untill", "upto", "latest", "the", "or", "el",
    "la", "para", "hasta", "antes", "del", "de", "a", "dia",
];

/// Cues after which a bare number is a day of month ("on 15", "el 15").
const STRONG_CUES: Alt = &[
    "on", "by", "before", "till", "til", "until", "untill", "upto", "latest", "el", "hasta",
    "antes", "del", "dia",
];

/// "15 tarikh": the Hindi word for a date.
const TARIKH: Alt = &[
    "tarikh",
    "tareekh",
    "tarik",
    "tareek",
    "तारीख",
    "तारिख",
    "तरीख",
];

/// Hindi postpositions that make a bare number a day: "15 ko", "15 tak".
const KO: Alt = &["ko", "tak", "को", "तक"];

/// Words after which a number is an amount, a reference or a time.
const NUM_PREFIX: Alt = &[
    "rs",
    "inr",
    "usd",
    "eur",
    "rupees",
    "rupee",
    "rupaye",
    "rupay",
    "amount",
    "amt",
    "total",
    "balance",
    "invoice",
    "invoices",
    "inv",
    "bill",
    "challan",
    "factura",
    "no",
    "number",
    "num",
    "nr",
    "order",
    "po",
    "ref",
    "reference",
    "id",
    "at",
    "las",
    "qty",
    "quantity",
    "pcs",
];

/// Words after which a number is a time, a quantity or an amount.
const AFTER_NUM: Alt = &[
    "am",
    "pm",
    "baje",
    "bje",
    "baj",
    "bajey",
    "बजे",
    "oclock",
    "o",
    "hrs",
    "hr",
    "hours",
    "hour",
    "h",
    "horas",
    "hs",
    "min",
    "mins",
    "minutes",
    "minute",
    "days",
    "day",
    "din",
    "दिन",
    "dias",
    "dia",
    "weeks",
    "week",
    "wks",
    "hafte",
    "hafta",
    "months",
    "month",
    "mahine",
    "meses",
    "years",
    "yrs",
    "saal",
    "lakh",
    "lakhs",
    "lac",
    "lacs",
    "l",
    "k",
    "cr",
    "crore",
    "crores",
    "thousand",
    "hazar",
    "hazaar",
    "hundred",
    "sau",
    "mil",
    "rs",
    "inr",
    "rupees",
    "rupee",
    "rupaye",
    "rupay",
    "usd",
    "dollars",
    "eur",
    "euros",
    "pesos",
    "percent",
    "pct",
    "pcs",
    "pieces",
    "units",
    "boxes",
    "cartons",
    "kg",
    "kgs",
    "tons",
    "ton",
    "mt",
    "invoices",
    "bills",
    "items",
    "baar",
    "times",
];

/// Nouns after which an ordinal counts things ("2nd reminder") rather than
/// naming a day.
const ORD_NOUNS: Alt = &[
    "reminder",
    "reminders",
    "time",
    "times",
    "invoice",
    "invoices",
    "payment",
    "installment",
    "instalment",
    "installments",
    "instalments",
    "message",
    "msg",
    "floor",
    "half",
    "quarter",
    "lot",
    "shipment",
    "part",
    "batch",
    "order",
    "bill",
    "notice",
    "week",
    "weeks",
    "month",
    "attempt",
    "call",
    "copy",
    "one",
    "year",
    "kist",
    "baar",
    "container",
    "consignment",
];

/// Words after which `1/2`, `3/4`... are fractions ("1/2 payment now").
const FRACTION_NEXT: Alt = &[
    "of", "payment", "amount", "part", "now", "abhi", "hissa", "bhag", "share", "paid", "balance",
    "de", "del", "ahora", "pago",
];

/// Words that negate the date right after them ("not today").
const NEG_BEFORE: Alt = &[
    "not",
    "no",
    "never",
    "nahi",
    "nahin",
    "nhi",
    "nai",
    "नहीं",
    "नही",
];

/// Words that negate the date right before them ("kal nahi").
const NEG_AFTER: Alt = &["not", "nahi", "nahin", "nhi", "nai", "नहीं", "नही"];

/// Hindi completed-action markers: in the clause of "kal" or "parso" they
/// make it yesterday (the day before yesterday).
const PAST_MARKERS: Alt = &[
    "diya",
    "diye",
    "dia",
    "di",
    "kiya",
    "kiye",
    "kia",
    "kardiya",
    "kardia",
    "krdiya",
    "krdia",
    "gaya",
    "gya",
    "gayi",
    "gyi",
    "gai",
    "gaye",
    "gye",
    "hua",
    "hui",
    "hue",
    "huya",
    "tha",
    "thi",
    "chuka",
    "chuki",
    "chuke",
    "bheja",
    "bheji",
    "bheje",
    "दिया",
    "दिये",
    "दिए",
    "दी",
    "किया",
    "किये",
    "किए",
    "गया",
    "गयी",
    "गई",
    "गए",
    "गये",
    "हुआ",
    "हुई",
    "हुए",
    "था",
    "थी",
    "थे",
    "चुका",
    "चुकी",
    "चुके",
    "भेजा",
    "भेजी",
    "भेजे",
];

/// Words that introduce a count of days or weeks: "in 3 days".
const IN: Alt = &["in", "within", "after", "inside", "en"];

/// Hindi and English words that close a count of days: "3 din mein", "3 days later".
const COUNT_CLOSE: Alt = &[
    "mein",
    "me",
    "main",
    "mai",
    "mei",
    "में",
    "baad",
    "bad",
    "बाद",
    "later",
    "despues",
];

const DAY_UNIT: Alt = &["day", "days", "din", "दिन", "dia", "dias"];
const WEEK_UNIT: Alt = &[
    "week",
    "weeks",
    "wk",
    "wks",
    "hafte",
    "hafta",
    "हफ्ते",
    "हफ्ता",
    "semana",
    "semanas",
];

/// Small numbers written as words, for counts ("in two days", "do din mein",
/// "en tres días").
fn number_word(w: &str) -> Option<i64> {
    Some(match w {
        "a" | "an" | "one" | "ek" | "एक" | "un" | "una" | "uno" => 1,
        "two" | "do" | "दो" | "dos" => 2,
        "three" | "teen" | "तीन" | "tres" => 3,
        "four" | "char" | "chaar" | "चार" | "cuatro" => 4,
        "five" | "panch" | "paanch" | "पांच" | "cinco" => 5,
        "six" | "seis" => 6,
        "seven" | "siete" => 7,
        "eight" | "ocho" => 8,
        "nine" | "nueve" => 9,
        "ten" | "das" | "दस" | "diez" => 10,
        "fifteen" | "quince" => 15,
        _ => return None,
    })
}

/// The month a word names (English names and abbreviations, Spanish, Hindi).
fn month_of(w: &str) -> Option<i8> {
    Some(match w {
        "jan" | "january" | "enero" | "ene" | "जनवरी" => 1,
        "feb" | "february" | "febrero" | "फरवरी" => 2,
        "mar" | "march" | "marzo" | "मार्च" => 3,
        "apr" | "april" | "abril" | "abr" | "अप्रैल" => 4,
        "may" | "mayo" | "मई" => 5,
        "jun" | "june" | "junio" | "जून" => 6,
        "jul" | "july" | "julio" | "जुलाई" => 7,
        "aug" | "august" | "agosto" | "अगस्त" => 8,
        "sep" | "sept" | "september" | "septiembre" | "setiembre" | "सितंबर" | "सितम्बर" => {
            9
        }
        "oct" | "october" | "octubre" | "अक्टूबर" | "अक्तूबर" => 10,
        "nov" | "november" | "noviembre" | "नवंबर" | "नवम्बर" => 11,
        "dec" | "december" | "diciembre" | "dic" | "दिसंबर" | "दिसम्बर" => {
            12
        }
        _ => return None,
    })
}

/// The weekday a word names, and whether it is a full name (an abbreviation
/// such as "sun" or "sat" is a weekday only after a cue or a modifier: "sun"
/// is also Hindi for "listen").
fn weekday_of(w: &str) -> Option<(Weekday, bool)> {
    let full = match w {
        "monday" | "somvar" | "somwar" | "somvaar" | "सोमवार" | "lunes" => {
            Weekday::Monday
        }
        "tuesday" | "mangalvar" | "mangalwar" | "mangalvaar" | "मंगलवार" | "martes" => {
            Weekday::Tuesday
        }
        "wednesday" | "budhvar" | "budhwar" | "budhvaar" | "बुधवार" | "miercoles" => {
            Weekday::Wednesday
        }
        "thursday"
        | "guruvar"
        | "guruwar"
        | "guruvaar"
        | "brihaspativar"
        | "brihaspatiwar"
        | "veervar"
        | "virvar"
        | "गुरुवार"
        | "बृहस्पतिवार"
        | "वीरवार"
        | "jueves" => Weekday::Thursday,
        "friday"
        | "shukravar"
        | "shukrawar"
        | "shukarvar"
        | "sukravar"
        | "shukravaar"
        | "शुक्रवार"
        | "viernes" => Weekday::Friday,
        "saturday" | "shanivar" | "shaniwar" | "shanivaar" | "शनिवार" | "sabado" => {
            Weekday::Saturday
        }
        "sunday" | "ravivar" | "raviwar" | "itvar" | "itwar" | "रविवार" | "इतवार" | "domingo" => {
            Weekday::Sunday
        }
        _ => {
            let short = match w {
                "mon" => Weekday::Monday,
                "tue" | "tues" => Weekday::Tuesday,
                "wed" => Weekday::Wednesday,
                "thu" | "thur" | "thurs" => Weekday::Thursday,
                "fri" => Weekday::Friday,
                "sat" => Weekday::Saturday,
                "sun" => Weekday::Sunday,
                _ => return None,
            };
            return Some((short, false));
        }
    };
    Some((full, true))
}

/// `date + n` days; `None` past the end of jiff's range.
fn add_days(date: Date, n: i64) -> Option<Date> {
    date.checked_add(n.days()).ok()
}

/// The first day of the month after `date`'s.
fn next_month_first(date: Date) -> Option<Date> {
    date.last_of_month().tomorrow().ok()
}

/// Day `day` of the month that starts on `first`, clamped to its last day.
fn clamp_day(first: Date, day: u32) -> Option<Date> {
    let day = i8::try_from(day).ok()?.min(first.days_in_month());
    Date::new(first.year(), first.month(), day).ok()
}

/// A day of month without a month: this month when that day (clamped) is
/// today or later, else next month (clamped).
fn resolve_day_of_month(today: Date, day: u32) -> Option<Date> {
    let this = clamp_day(today.first_of_month(), day)?;
    if this >= today {
        Some(this)
    } else {
        clamp_day(next_month_first(today)?, day)
    }
}

/// A day and month, with or without a year: without one, this year's date
/// when it is today or later, else next year's. `None` for a date that does
/// not exist.
fn resolve_dmy(today: Date, day: u32, month: u32, year: Option<u32>) -> Option<Date> {
    let day = i8::try_from(day).ok()?;
    let month = i8::try_from(month).ok()?;
    match year {
        Some(y) => Date::new(i16::try_from(y).ok()?, month, day).ok(),
        None => {
            let y = today.year();
            [Some(y), y.checked_add(1)]
                .into_iter()
                .flatten()
                .filter_map(|y| Date::new(y, month, day).ok())
                .find(|d| *d >= today)
        }
    }
}

/// A weekday phrase's date (see [`WeekdayRule`]).
fn resolve_weekday(today: Date, day: Weekday, rule: WeekdayRule) -> Option<Date> {
    let ahead = i64::from(today.weekday().until(day));
    let days = match rule {
        WeekdayRule::This => ahead,
        WeekdayRule::After if ahead == 0 => 7,
        WeekdayRule::After => ahead,
        WeekdayRule::NextWeek => {
            let to_monday = match i64::from(today.weekday().until(Weekday::Monday)) {
                0 => 7,
                n => n,
            };
            to_monday + i64::from(Weekday::Monday.until(day))
        }
    };
    add_days(today, days)
}

/// A fixed relative phrase's date.
fn resolve_rel(today: Date, rel: Rel) -> Option<Date> {
    match rel {
        Rel::Today => Some(today),
        Rel::Tomorrow => add_days(today, 1),
        Rel::DayAfterTomorrow => add_days(today, 2),
        Rel::NextWeek => resolve_weekday(today, Weekday::Monday, WeekdayRule::After),
        Rel::WeekAfterNext => resolve_weekday(today, Weekday::Monday, WeekdayRule::After)
            .and_then(|monday| add_days(monday, 7)),
        Rel::ThisWeek => match today.weekday() {
            Weekday::Saturday => add_days(today, 1),
            Weekday::Sunday => Some(today),
            _ => resolve_weekday(today, Weekday::Friday, WeekdayRule::This),
        },
        Rel::EndOfMonth => Some(today.last_of_month()),
        Rel::EndOfNextMonth => next_month_first(today).map(Date::last_of_month),
        Rel::NextMonth => next_month_first(today),
        Rel::NoDate => None,
    }
}

/// The tokens of one message and the buyer's today.
struct Cx<'a> {
    toks: &'a [Tok],
    today: Date,
}

impl Cx<'_> {
    /// The folded text of token `i` when it is a word.
    fn word(&self, i: usize) -> Option<&str> {
        self.toks
            .get(i)
            .filter(|t| t.kind == Kind::Word)
            .map(|t| t.norm.as_str())
    }

    /// Whether token `i` is one of the words in `alt`.
    fn is(&self, i: usize, alt: Alt) -> bool {
        self.word(i).is_some_and(|w| alt.contains(&w))
    }

    /// The character of token `i` when it is a symbol.
    fn sym(&self, i: usize) -> Option<char> {
        match self.toks.get(i)?.kind {
            Kind::Sym(c) => Some(c),
            _ => None,
        }
    }

    /// Whether token `i` exists and touches the token before it.
    fn glued(&self, i: usize) -> bool {
        self.toks.get(i).is_some_and(|t| !t.gap)
    }

    /// Token `i` when it is a number or ordinal of one or two digits.
    fn small(&self, i: usize) -> Option<&Tok> {
        self.toks
            .get(i)
            .filter(|t| matches!(t.kind, Kind::Num | Kind::Ord) && (1..=2).contains(&t.digits))
    }

    /// Matches one word of each of `parts` in turn from `i` (a hyphen may join
    /// them: "month-end"); the index after the last.
    fn seq(&self, mut i: usize, parts: &[Alt]) -> Option<usize> {
        for (k, alt) in parts.iter().enumerate() {
            if k > 0 && self.sym(i) == Some('-') {
                i += 1;
            }
            if !self.is(i, alt) {
                return None;
            }
            i += 1;
        }
        Some(i)
    }

    /// A date phrase starting at token `i`, its leading cues included.
    fn match_at(&self, i: usize) -> Option<Match> {
        let mut j = i;
        let mut strong = false;
        while j - i < 4 && self.is(j, CUES) {
            strong |= self.is(j, STRONG_CUES);
            j += 1;
        }
        if j > i
            && let Some(m) = self.core(j, true, strong)
        {
            return Some(m);
        }
        self.core(i, false, false)
    }

    /// A date phrase starting exactly at token `j`. `cued`: cues precede it;
    /// `strong`: one of them makes a bare number a day.
    fn core(&self, j: usize, cued: bool, strong: bool) -> Option<Match> {
        self.numeric_date(j)
            .or_else(|| self.day_month(j))
            .or_else(|| self.month_day(j))
            .or_else(|| self.month_end(j))
            .or_else(|| self.count(j))
            .or_else(|| self.weekday(j, cued))
            .or_else(|| self.fixed(j))
            .or_else(|| self.day_of_month(j, strong))
    }

    /// Whether the number at token `j` may be a date given what precedes it:
    /// not after a currency sign or word, `#`, `+`, an invoice or reference
    /// word, "at", or glued to a word by `-`, `/`, `.` (`INV-15`, `No.15`).
    fn before_ok(&self, j: usize) -> bool {
        let Some(p) = j.checked_sub(1) else {
            return true;
        };
        let prev = &self.toks[p];
        match prev.kind {
            Kind::Sym(c) => {
                if matches!(c, '#' | '+' | '₹' | '$' | '€' | '£' | '¥') {
                    return false;
                }
                if self.glued(j)
                    && matches!(c, '-' | '/' | '.' | '_' | ':' | ',' | '\\')
                    && !prev.gap
                    && p > 0
                    && !matches!(self.toks[p - 1].kind, Kind::Sym(_))
                {
                    return false;
                }
                !(c == '.' && p > 0 && self.is(p - 1, NUM_PREFIX))
            }
            Kind::Word => !NUM_PREFIX.contains(&prev.norm.as_str()),
            _ => true,
        }
    }

    /// Whether token `k`, right after a number, leaves it a date: not a time
    /// (`:30`, `pm`, `baje`), a unit or currency (`days`, `lakh`, `%`), a digit
    /// group or decimal (`,000`, `.5`), an amount's `/-`, or the rest of a
    /// longer number chain (`-43210`).
    fn num_after_ok(&self, k: usize) -> bool {
        let Some(next) = self.toks.get(k) else {
            return true;
        };
        match next.kind {
            Kind::Sym('%') => false,
            Kind::Sym(c) if !next.gap => {
                let then_num = self
                    .toks
                    .get(k + 1)
                    .is_some_and(|t| t.kind == Kind::Num && !t.gap);
                !(matches!(c, ':' | ',' | '.' | '/' | '-') && then_num
                    || c == '/' && self.sym(k + 1) == Some('-'))
            }
            Kind::Word => {
                !(AFTER_NUM.contains(&next.norm.as_str())
                    || matches!(next.norm.as_str(), "a" | "p")
                        && self.sym(k + 1) == Some('.')
                        && self.is(k + 2, &["m"]))
            }
            _ => true,
        }
    }

    /// Whether token `k`, right after an ordinal, leaves it a day ("2nd
    /// reminder" counts reminders).
    fn ord_after_ok(&self, k: usize) -> bool {
        !self.is(k, ORD_NOUNS)
    }

    /// `15/12`, `15-12-26`, `15.12.2026`, `2026-12-15`: day first unless the
    /// first part has four digits.
    fn numeric_date(&self, j: usize) -> Option<Match> {
        let a = self.toks.get(j).filter(|t| t.kind == Kind::Num)?;
        let sep = self.sym(j + 1).filter(|c| matches!(c, '/' | '-' | '.'))?;
        let is_part = |i: usize| self.toks.get(i).filter(|t| t.kind == Kind::Num && !t.gap);
        if !self.glued(j + 1) {
            return None;
        }
        let b = is_part(j + 2)?;
        let mut end = j + 3;
        let mut c = None;
        if self.sym(end) == Some(sep)
            && self.glued(end)
            && let Some(t) = is_part(end + 1)
        {
            c = Some(t);
            end += 2;
        }
        if !self.before_ok(j) || !self.num_after_ok(end) {
            return None;
        }
        // "1/2 payment now": a common fraction, not 1 February
        if c.is_none()
            && sep == '/'
            && a.digits == 1
            && b.digits == 1
            && a.value < b.value
            && self.is(end, FRACTION_NEXT)
        {
            return None;
        }
        let one_or_two = |t: &Tok| (1..=2).contains(&t.digits);
        let (day, month, year) = match c {
            Some(c) if a.digits == 4 && one_or_two(b) && one_or_two(c) => {
                (c.value?, b.value?, Some(a.value?))
            }
            Some(c) if one_or_two(a) && one_or_two(b) && c.digits == 4 => {
                (a.value?, b.value?, Some(c.value?))
            }
            Some(c) if one_or_two(a) && one_or_two(b) && c.digits == 2 => {
                (a.value?, b.value?, Some(2000 + c.value?))
            }
            None if one_or_two(a) && one_or_two(b) => (a.value?, b.value?, None),
            _ => return None,
        };
        Some(Match {
            end,
            date: resolve_dmy(self.today, day, month, year),
        })
    }

    /// A year after a day and month: `2026` (after a space, a comma, "de" or
    /// "of"), or `26` glued by the separator the date already uses
    /// (`15-Dec-26`). Years outside 2000–2099 are not taken.
    fn year_after(&self, k: usize, sep: Option<char>) -> Option<(u32, usize)> {
        let mut y = k;
        let mut two_digits = false;
        match self.sym(y) {
            Some(',') => y += 1,
            Some(c) if Some(c) == sep && self.glued(y) => {
                y += 1;
                two_digits = true;
            }
            _ => {
                if self.is(y, &["de", "of"]) {
                    y += 1;
                }
            }
        }
        let t = self.toks.get(y).filter(|t| t.kind == Kind::Num)?;
        let v = t.value?;
        let year = match t.digits {
            4 if (2000..=2099).contains(&v) => v,
            2 if two_digits && !t.gap => 2000 + v,
            _ => return None,
        };
        Some((year, y + 1))
    }

    /// `15 Dec`, `15th of December 2026`, `15-Dec-26`, `15 de diciembre`.
    fn day_month(&self, j: usize) -> Option<Match> {
        let t = self.small(j)?;
        let day = t.value?;
        let mut k = j + 1;
        let mut sep = None;
        if let Some(c) = self.sym(k).filter(|c| matches!(c, '-' | '/' | '.'))
            && self.glued(k)
            && self.glued(k + 1)
        {
            sep = Some(c);
            k += 1;
        } else if self.is(k, &["of", "de"]) {
            k += 1;
        }
        let month = month_of(self.word(k)?)?;
        k += 1;
        if !self.before_ok(j) {
            return None;
        }
        let (year, end) = match self.year_after(k, sep) {
            Some((y, e)) if self.num_after_ok(e) => (Some(y), e),
            Some(_) => return None,
            None => (None, k),
        };
        Some(Match {
            end,
            date: resolve_dmy(self.today, day, u32::from(month.unsigned_abs()), year),
        })
    }

    /// `Dec 15`, `December 15th`, `Dec. 15, 2026`.
    fn month_day(&self, j: usize) -> Option<Match> {
        let month = month_of(self.word(j)?)?;
        let mut k = j + 1;
        if matches!(self.sym(k), Some('.' | '-')) {
            k += 1;
        }
        let t = self.small(k)?;
        let day = t.value?;
        let ordinal = t.kind == Kind::Ord;
        k += 1;
        let (year, end) = match self.year_after(k, None) {
            Some((y, e)) => (Some(y), e),
            None => (None, k),
        };
        let after_ok = if ordinal && year.is_none() {
            self.ord_after_ok(end)
        } else {
            self.num_after_ok(end)
        };
        if !after_ok {
            return None;
        }
        Some(Match {
            end,
            date: resolve_dmy(self.today, day, u32::from(month.unsigned_abs()), year),
        })
    }

    /// The last day of a named month: "March end", "end of March", "march ke
    /// end", "fin de marzo"; this year's, or next year's once passed.
    fn month_end(&self, j: usize) -> Option<Match> {
        let (month, end) = if let Some(m) = self.word(j).and_then(month_of) {
            let e = self
                .seq(j + 1, &[&["end"]])
                .or_else(|| self.seq(j + 1, &[OF, END]))?;
            (m, e)
        } else {
            let k = self
                .seq(j, &[&["end"], &["of"]])
                .or_else(|| self.seq(j, &[FIN, DE]))?;
            (self.word(k).and_then(month_of)?, k + 1)
        };
        let y = self.today.year();
        let date = [Some(y), y.checked_add(1)]
            .into_iter()
            .flatten()
            .filter_map(|y| Date::new(y, month, 1).ok())
            .map(Date::last_of_month)
            .find(|d| *d >= self.today);
        Some(Match { end, date })
    }

    /// A count at `k`: digits (at most three) or a small number word, or a
    /// range ("2-3", "2 to 3", "2 se 3") whose later end counts.
    fn count_at(&self, k: usize) -> Option<(i64, usize)> {
        let one = |i: usize| -> Option<i64> {
            let t = self.toks.get(i)?;
            match t.kind {
                Kind::Num if t.digits <= 3 => t.value.map(i64::from),
                Kind::Word => number_word(&t.norm),
                _ => None,
            }
        };
        let n = one(k)?;
        let joined = self.sym(k + 1) == Some('-') || self.is(k + 1, &["to", "or", "se", "a", "o"]);
        match one(k + 2) {
            Some(m) if joined => Some((m, k + 3)),
            _ => Some((n, k + 1)),
        }
    }

    /// "in 3 days", "within a week", "after 2-3 days", "en 3 días", "dentro
    /// de una semana", "3 din mein", "2 hafte baad", "3 days later".
    fn count(&self, j: usize) -> Option<Match> {
        let lead = if self.is(j, IN) {
            // "in the next 3 days"
            let k = j + 1;
            Some(
                self.seq(k, &[&["the"], &["next"]])
                    .or_else(|| self.seq(k, &[&["next"]]))
                    .unwrap_or(k),
            )
        } else {
            self.seq(j, &[&["dentro"], &["de"]])
        };
        let (n, mut k) = self.count_at(lead.unwrap_or(j))?;
        let unit = if self.is(k, DAY_UNIT) {
            1
        } else if self.is(k, WEEK_UNIT) {
            7
        } else {
            return None;
        };
        k += 1;
        if lead.is_none() {
            if self.is(k, COUNT_CLOSE) {
                k += 1;
            } else if let Some(e) = self.seq(k, &[&["ke", "के"], &["andar", "baad", "अंदर", "बाद"]])
            {
                k = e;
            } else {
                return None;
            }
            if !self.before_ok(j) {
                return None;
            }
        }
        let days = n
            .checked_mul(unit)
            .filter(|d| *d <= 10 * PROMISE_HORIZON_DAYS);
        Some(Match {
            end: k,
            date: days.and_then(|d| add_days(self.today, d)),
        })
    }

    /// A weekday with an optional modifier before ("next", "this", "coming",
    /// "agle", "is", "este", "próximo") or after ("que viene", "próximo",
    /// "next week").
    fn weekday(&self, j: usize, cued: bool) -> Option<Match> {
        let mut k = j;
        let mut rule = WeekdayRule::After;
        if self.is(k, NEXT) {
            rule = WeekdayRule::NextWeek;
            k += 1;
        } else if self.is(k, THIS) {
            rule = WeekdayRule::This;
            k += 1;
            if self.is(k, &["coming"]) {
                rule = WeekdayRule::After;
                k += 1;
            }
        } else if self.is(k, &["coming"]) {
            k += 1;
        }
        let (day, full) = weekday_of(self.word(k)?)?;
        if !full && k == j && !cued {
            return None;
        }
        k += 1;
        if let Some(e) = self
            .seq(k, &[&["que"], &["viene"]])
            .or_else(|| self.seq(k, &[&["proximo"]]))
            .or_else(|| self.seq(k, &[NEXT, WEEK]))
        {
            rule = WeekdayRule::NextWeek;
            k = e;
        }
        Some(Match {
            end: k,
            date: resolve_weekday(self.today, day, rule),
        })
    }

    /// The longest fixed relative phrase at `j` ([`PHRASES`]), with the
    /// "kal" and "mañana" readings and an optional day after "next month"
    /// ("agle mahine 15 tarikh").
    fn fixed(&self, j: usize) -> Option<Match> {
        let mut best: Option<(usize, Rel)> = None;
        for (parts, rel) in PHRASES {
            if let Some(e) = self.seq(j, parts)
                && best.is_none_or(|(b, _)| e > b)
            {
                best = Some((e, *rel));
            }
        }
        let (end, rel) = best?;
        if self.is(j, &["manana"]) && j > 0 && self.is(j - 1, &["la", "esta", "por", "de", "cada"])
        {
            // "por la mañana": in the morning
            return None;
        }
        if end == j + 1 && self.is(j, KAL) && self.past_clause(j, end) {
            return Some(Match { end, date: None });
        }
        if rel == Rel::NextMonth
            && let Some((day, e)) = self.day_after_month(end)
        {
            return Some(Match {
                end: e,
                date: next_month_first(self.today).and_then(|f| clamp_day(f, day)),
            });
        }
        Some(Match {
            end,
            date: resolve_rel(self.today, rel),
        })
    }

    /// A day after "next month": "next month 15th", "agle mahine 15 tarikh",
    /// "el mes que viene el 15".
    fn day_after_month(&self, mut k: usize) -> Option<(u32, usize)> {
        let start = k;
        while k - start < 2 && self.is(k, &["on", "the", "ki", "ke", "el", "dia", "de"]) {
            k += 1;
        }
        let t = self.small(k)?;
        let day = t.value.filter(|d| (1..=31).contains(d))?;
        let ok = match t.kind {
            Kind::Ord => self.ord_after_ok(k + 1),
            _ => self.num_after_ok(k + 1),
        };
        if !ok {
            return None;
        }
        let end = if self.is(k + 1, TARIKH) { k + 2 } else { k + 1 };
        Some((day, end))
    }

    /// `15th`, `15 tarikh`, `15 ko`, and a bare `15` after a strong cue; with
    /// an optional "of next month" / "of this month" / "agle mahine" / "del
    /// próximo mes".
    fn day_of_month(&self, j: usize, strong: bool) -> Option<Match> {
        let t = self.small(j)?;
        let day = t.value.filter(|d| (1..=31).contains(d))?;
        if !self.before_ok(j) {
            return None;
        }
        let mut end = j + 1;
        match t.kind {
            Kind::Ord => {
                if !self.ord_after_ok(end) {
                    return None;
                }
            }
            _ => {
                if !self.num_after_ok(end) {
                    return None;
                }
                if !strong && !self.is(end, TARIKH) && !self.is(end, KO) {
                    return None;
                }
            }
        }
        if self.is(end, TARIKH) || (t.kind == Kind::Num && self.is(end, KO)) {
            end += 1;
        }
        let of = if self.is(end, &["of", "de", "del", "ke", "के"]) {
            end + 1
        } else {
            end
        };
        const MONTH_ANY: Alt = &["month", "mahine", "mahina", "महीने", "महीना", "mes"];
        let next = self
            .seq(of, &[NEXT, MONTH_ANY])
            .or_else(|| self.seq(of, &[&["the"], &["next"], &["month"]]))
            .or_else(|| self.seq(of, &[&["mes"], &["que"], &["viene"]]));
        let this = self
            .seq(of, &[THIS, MONTH_ANY])
            .or_else(|| self.seq(of, &[&["the"], &["month"]]));
        let (end, date) = if let Some(e) = next {
            (
                e,
                next_month_first(self.today).and_then(|f| clamp_day(f, day)),
            )
        } else if let Some(e) = this {
            (e, clamp_day(self.today.first_of_month(), day))
        } else {
            (end, resolve_day_of_month(self.today, day))
        };
        Some(Match { end, date })
    }

    /// Whether the clause around tokens `i..end` (up to `.`, `,`, `!`, `?`,
    /// `;`, `।` or a line break) holds a Hindi completed-action marker.
    fn past_clause(&self, i: usize, end: usize) -> bool {
        let breaks = |t: &Tok| matches!(t.kind, Kind::Sym('.' | ',' | '!' | '?' | ';' | '।'));
        let marker = |t: &Tok| t.kind == Kind::Word && PAST_MARKERS.contains(&t.norm.as_str());
        let mut k = end;
        while let Some(t) = self.toks.get(k) {
            if breaks(t) || t.line_break {
                break;
            }
            if marker(t) {
                return true;
            }
            k += 1;
        }
        let mut k = i;
        while k > 0 && !self.toks[k].line_break {
            let t = &self.toks[k - 1];
            if breaks(t) {
                break;
            }
            if marker(t) {
                return true;
            }
            k -= 1;
        }
        false
    }

    /// Whether a "not"/"nahi" right before token `i` or a "nahi" right at
    /// token `end` negates the phrase between.
    fn negated(&self, i: usize, end: usize) -> bool {
        (i > 0 && self.is(i - 1, NEG_BEFORE)) || self.is(end, NEG_AFTER)
    }
}

#[cfg(test)]
mod tests;
