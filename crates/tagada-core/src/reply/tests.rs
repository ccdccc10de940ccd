use super::*;
use jiff::civil::date;
use proptest::prelude::*;

/// Friday 4 December 2026.
const FRI: Date = date(2026, 12, 4);
/// Friday 30 January 2026: a month end (and February 2026 has 28 days).
const JAN30: Date = date(2026, 1, 30);
/// Wednesday 30 December 2026: a year end.
const DEC30: Date = date(2026, 12, 30);
/// Tuesday 1 December 2026: earlier in the same week as `FRI`.
const TUE: Date = date(2026, 12, 1);

/// Asserts that `text` promises `expected`, named by `phrase`.
#[track_caller]
fn promise(today: Date, text: &str, expected: Date, phrase: &str) {
    assert_eq!(
        promise_date(text, today),
        Some((expected, phrase.to_owned())),
        "{text:?} on {today}"
    );
}

/// Asserts each `(text, date)` with the whole text as the phrase.
#[track_caller]
fn promises(today: Date, cases: &[(&str, Date)]) {
    for (text, expected) in cases {
        promise(today, text, *expected, text);
    }
}

/// Asserts that none of `texts` promises a date.
#[track_caller]
fn no_promise(today: Date, texts: &[&str]) {
    for text in texts {
        assert_eq!(promise_date(text, today), None, "{text:?} on {today}");
    }
}

#[test]
fn fixed_todays_are_the_weekdays_the_tests_assume() {
    assert_eq!(FRI.weekday(), Weekday::Friday);
    assert_eq!(JAN30.weekday(), Weekday::Friday);
    assert_eq!(DEC30.weekday(), Weekday::Wednesday);
    assert_eq!(TUE.weekday(), Weekday::Tuesday);
}

// --- ReplyIntent -----------------------------------------------------------

#[test]
fn as_str_matches_the_serde_tag() {
    let all = [
        ReplyIntent::PaidAlready,
        ReplyIntent::SendInvoiceCopy,
        ReplyIntent::TalkToSomeone,
        ReplyIntent::Stop,
        ReplyIntent::PromiseToPay {
            date: date(2026, 12, 15),
            phrase: "15th".to_owned(),
        },
        ReplyIntent::Other,
    ];
    let names: Vec<&str> = all.iter().map(ReplyIntent::as_str).collect();
    assert_eq!(
        names,
        [
            "paid_already",
            "send_invoice_copy",
            "talk_to_someone",
            "stop",
            "promise_to_pay",
            "other"
        ]
    );
    for intent in all {
        let json = serde_json::to_value(&intent).unwrap();
        assert_eq!(json["intent"], intent.as_str());
        assert_eq!(intent.to_string(), intent.as_str());
        let back: ReplyIntent = serde_json::from_value(json).unwrap();
        assert_eq!(back, intent);
    }
}

#[test]
fn serde_shape() {
    let promise = ReplyIntent::PromiseToPay {
        date: date(2026, 12, 15),
        phrase: "on 15th".to_owned(),
    };
    assert_eq!(
        serde_json::to_value(&promise).unwrap(),
        serde_json::json!({"intent": "promise_to_pay", "date": "2026-12-15", "phrase": "on 15th"})
    );
    assert_eq!(
        serde_json::to_value(ReplyIntent::Stop).unwrap(),
        serde_json::json!({"intent": "stop"})
    );
    let parsed: ReplyIntent = serde_json::from_str(r#"{"intent":"send_invoice_copy"}"#).unwrap();
    assert_eq!(parsed, ReplyIntent::SendInvoiceCopy);
    assert!(serde_json::from_str::<ReplyIntent>(r#"{"intent":"maybe"}"#).is_err());
}

// --- button_intent ---------------------------------------------------------

#[test]
fn buttons_of_the_default_templates() {
    // The texts the fake Meta registry gives the four quick replies, per language.
    let cases = [
        ("Paid already", ReplyIntent::PaidAlready),
        ("Send invoice copy", ReplyIntent::SendInvoiceCopy),
        ("Talk to someone", ReplyIntent::TalkToSomeone),
        ("Stop reminders", ReplyIntent::Stop),
        ("भुगतान कर दिया", ReplyIntent::PaidAlready),
        ("चालान की कॉपी भेजें", ReplyIntent::SendInvoiceCopy),
        ("किसी से बात करें", ReplyIntent::TalkToSomeone),
        ("रिमाइंडर बंद करें", ReplyIntent::Stop),
        ("Ya pagué", ReplyIntent::PaidAlready),
        ("Enviar copia de factura", ReplyIntent::SendInvoiceCopy),
        ("Hablar con alguien", ReplyIntent::TalkToSomeone),
        ("No más recordatorios", ReplyIntent::Stop),
    ];
    for (text, intent) in cases {
        assert_eq!(button_intent(text), Some(intent), "{text:?}");
    }
}

#[test]
fn button_variants() {
    let paid = [
        "Already paid",
        "I have paid",
        "I've paid",
        "i’ve paid",
        "PAID ALREADY ✅",
        "  paid   already  ",
        "bhugtan kar diya",
        "payment kar diya",
        "ya pague",
        "Ya he pagado",
    ];
    for text in paid {
        assert_eq!(
            button_intent(text),
            Some(ReplyIntent::PaidAlready),
            "{text:?}"
        );
    }
    let copy = [
        "Invoice copy",
        "INVOICE COPY",
        "invoice copy bhejo",
        "challan ki copy bhejen",
        "Copia de la factura",
    ];
    for text in copy {
        assert_eq!(
            button_intent(text),
            Some(ReplyIntent::SendInvoiceCopy),
            "{text:?}"
        );
    }
    let talk = [
        "Call me",
        "call me!",
        "Please call me",
        "kisi se baat karein",
        "मुझे कॉल करें",
        "Llámame",
    ];
    for text in talk {
        assert_eq!(
            button_intent(text),
            Some(ReplyIntent::TalkToSomeone),
            "{text:?}"
        );
    }
    let stop = ["Stop", "STOP", "reminder band karo", "Baja", "बंद करें"];
    for text in stop {
        assert_eq!(button_intent(text), Some(ReplyIntent::Stop), "{text:?}");
    }
}

#[test]
fn unknown_buttons_are_none() {
    for text in [
        "Pay now",
        "Pagar ahora",
        "अभी भुगतान करें",
        "",
        "hello",
        "I have not paid",
        "send invoice copy of INV-12 and INV-13",
        "don't call me",
    ] {
        assert_eq!(button_intent(text), None, "{text:?}");
    }
}

// --- is_stop_request -------------------------------------------------------

#[test]
fn stop_in_english() {
    for text in [
        "STOP",
        "stop",
        "Stop.",
        "STOP!!!",
        "🛑 STOP 🛑",
        "  stop  ",
        "Please stop",
        "stop please",
        "pls stop",
        "Please, STOP!",
        "UNSUBSCRIBE",
        "Unsubscribe",
        "Stop reminders",
        "stop reminders please",
        "opt out",
        "Opt-out",
        "OPTOUT",
        "Stop messages",
        "stop sending messages",
        "स्टॉप",
        "no more reminders",
    ] {
        assert!(is_stop_request(text), "{text:?}");
    }
}

#[test]
fn stop_in_hindi() {
    for text in [
        "बंद करो",
        "बंद करें",
        "बंद",
        "बंद।",
        "रोको",
        "रोकें",
        "मत भेजो",
        "कृपया बंद करें",
        "मैसेज बंद करो",
        "रिमाइंडर बंद करें",
        "band karo",
        "Band kro",
        "band kar do",
        "BAND KARDO 🙏",
        "mat bhejo",
        "kripya band karo",
        "band karo please",
        "message band karo",
        "msg mat bhejo",
    ] {
        assert!(is_stop_request(text), "{text:?}");
    }
}

#[test]
fn stop_in_spanish() {
    for text in [
        "baja",
        "BAJA",
        "Baja.",
        "dar de baja",
        "darme de baja",
        "Por favor, darme de baja",
        "alto",
        "ALTO",
        "parar",
        "detener",
        "no más mensajes",
        "No mas mensajes",
        "cancelar suscripción",
        "Cancelar suscripcion por favor",
        "No más recordatorios",
    ] {
        assert!(is_stop_request(text), "{text:?}");
    }
}

#[test]
fn sentences_containing_stop_words_are_not_stop_requests() {
    for text in [
        "don't stop the supply",
        "Please don't stop",
        "stop calling me, I will pay tomorrow",
        "stop by the office tomorrow",
        "non stop",
        "the payment is stopped at the bank",
        "stopped",
        "band baja baraat",
        "Baja California",
        "alto pago",
        "shop band hai, kal payment",
        "dukaan band thi",
        "",
        "please",
        "🙏",
        "cancel",
    ] {
        assert!(!is_stop_request(text), "{text:?}");
    }
}

// --- classify_text ---------------------------------------------------------

#[test]
fn classify_text_order() {
    assert_eq!(classify_text("STOP", FRI), ReplyIntent::Stop);
    assert_eq!(classify_text("बंद करो", FRI), ReplyIntent::Stop);
    assert_eq!(
        classify_text("Will pay on 15th", FRI),
        ReplyIntent::PromiseToPay {
            date: date(2026, 12, 15),
            phrase: "on 15th".to_owned(),
        }
    );
    assert_eq!(
        classify_text("Don't stop the supply, paying tomorrow", FRI),
        ReplyIntent::PromiseToPay {
            date: date(2026, 12, 5),
            phrase: "tomorrow".to_owned(),
        }
    );
    assert_eq!(classify_text("Who is this?", FRI), ReplyIntent::Other);
    assert_eq!(
        classify_text("kal payment kar diya", FRI),
        ReplyIntent::Other
    );
    assert_eq!(classify_text("Rs 15,000 sent", FRI), ReplyIntent::Other);
    assert_eq!(classify_text("", FRI), ReplyIntent::Other);
}

// --- promise_date: days of month ----------------------------------------

#[test]
fn day_of_month_this_month_or_next() {
    promise(FRI, "I will pay on 15th", date(2026, 12, 15), "on 15th");
    promise(FRI, "by the 15th sir", date(2026, 12, 15), "by the 15th");
    promise(FRI, "Payment 15th", date(2026, 12, 15), "15th");
    promise(FRI, "23RD", date(2026, 12, 23), "23RD");
    promise(FRI, "22th pakka", date(2026, 12, 22), "22th");
    // today counts
    promise(FRI, "4th", date(2026, 12, 4), "4th");
    // earlier days are next month's
    promise(FRI, "1st", date(2027, 1, 1), "1st");
    promise(FRI, "on 2nd", date(2027, 1, 2), "on 2nd");
    promise(FRI, "3rd", date(2027, 1, 3), "3rd");
    promise(FRI, "31st", date(2026, 12, 31), "31st");
}

#[test]
fn day_of_month_clamps_to_the_months_last_day() {
    // November has 30 days.
    promise(date(2026, 11, 4), "31st", date(2026, 11, 30), "31st");
    promise(JAN30, "31st", date(2026, 1, 31), "31st");
    promise(JAN30, "30th", date(2026, 1, 30), "30th");
    // 29 January has passed; February 2026 has 28 days.
    promise(JAN30, "29th", date(2026, 2, 28), "29th");
    promise(date(2026, 1, 31), "30th", date(2026, 2, 28), "30th");
    promise(JAN30, "2nd", date(2026, 2, 2), "2nd");
    promise(DEC30, "2nd", date(2027, 1, 2), "2nd");
    promise(DEC30, "31st", date(2026, 12, 31), "31st");
    promise(DEC30, "29th", date(2027, 1, 29), "29th");
}

#[test]
fn day_of_month_with_cues_and_hindi_spanish_markers() {
    promise(FRI, "15 tarikh ko payment", date(2026, 12, 15), "15 tarikh");
    promise(FRI, "15 तारीख को भुगतान", date(2026, 12, 15), "15 तारीख");
    promise(FRI, "१५ तारीख", date(2026, 12, 15), "१५ तारीख");
    promise(FRI, "20 ko kar denge", date(2026, 12, 20), "20 ko");
    promise(FRI, "20 tak", date(2026, 12, 20), "20 tak");
    promise(FRI, "pay on 20", date(2026, 12, 20), "on 20");
    promise(FRI, "until 10", date(2026, 12, 10), "until 10");
    promise(FRI, "Pagaremos el 15", date(2026, 12, 15), "el 15");
    promise(FRI, "el día 15", date(2026, 12, 15), "el día 15");
    promise(FRI, "hasta el 2", date(2027, 1, 2), "hasta el 2");
}

#[test]
fn day_of_month_with_a_month_qualifier() {
    promise(
        FRI,
        "15th of next month",
        date(2027, 1, 15),
        "15th of next month",
    );
    promise(
        FRI,
        "20th this month",
        date(2026, 12, 20),
        "20th this month",
    );
    promise(FRI, "next month 15th", date(2027, 1, 15), "next month 15th");
    promise(
        FRI,
        "agle mahine 5 tarikh",
        date(2027, 1, 5),
        "agle mahine 5 tarikh",
    );
    promise(
        JAN30,
        "30th of next month",
        date(2026, 2, 28),
        "30th of next month",
    );
    // "this month" pins the month: the 2nd has passed
    no_promise(FRI, &["2nd of this month"]);
}

// --- promise_date: days and months -----------------------------------------

#[test]
fn day_and_month_in_words() {
    promises(
        FRI,
        &[
            ("15 Dec", date(2026, 12, 15)),
            ("15 December", date(2026, 12, 15)),
            ("Dec 15", date(2026, 12, 15)),
            ("December 15th", date(2026, 12, 15)),
            ("15th of December", date(2026, 12, 15)),
            ("15th Dec 2026", date(2026, 12, 15)),
            ("Dec 15, 2026", date(2026, 12, 15)),
            ("Dec. 15", date(2026, 12, 15)),
            ("15-Dec-26", date(2026, 12, 15)),
            ("15-dec-2026", date(2026, 12, 15)),
            ("15 de diciembre", date(2026, 12, 15)),
            ("15 de diciembre de 2026", date(2026, 12, 15)),
            ("15 दिसंबर", date(2026, 12, 15)),
            ("4 dec", date(2026, 12, 4)),
            ("2 January", date(2027, 1, 2)),
            ("Feb 28", date(2027, 2, 28)),
        ],
    );
    promise(
        FRI,
        "Sir payment by 20th December pakka",
        date(2026, 12, 20),
        "by 20th December",
    );
    promise(
        FRI,
        "el 15 de diciembre",
        date(2026, 12, 15),
        "el 15 de diciembre",
    );
}

#[test]
fn numeric_dates_are_day_first() {
    promises(
        FRI,
        &[
            ("15/12", date(2026, 12, 15)),
            ("15-12", date(2026, 12, 15)),
            ("15.12", date(2026, 12, 15)),
            ("15/12/2026", date(2026, 12, 15)),
            ("15-12-26", date(2026, 12, 15)),
            ("15.12.2026", date(2026, 12, 15)),
            ("2026-12-15", date(2026, 12, 15)),
            ("5/1", date(2027, 1, 5)),
            ("05/01/2027", date(2027, 1, 5)),
            ("2027-01-05", date(2027, 1, 5)),
        ],
    );
    promise(FRI, "will pay on 15/12.", date(2026, 12, 15), "on 15/12");
}

#[test]
fn day_and_month_without_a_year_roll_to_next_year_once_passed() {
    promise(FRI, "5 Jan", date(2027, 1, 5), "5 Jan");
    promise(FRI, "Jan 5th", date(2027, 1, 5), "Jan 5th");
    promise(DEC30, "Jan 2", date(2027, 1, 2), "Jan 2");
    promise(DEC30, "2/1", date(2027, 1, 2), "2/1");
    promise(DEC30, "31/12", date(2026, 12, 31), "31/12");
    promise(JAN30, "15 Feb", date(2026, 2, 15), "15 Feb");
    promise(JAN30, "2/2", date(2026, 2, 2), "2/2");
    // 3 Dec 2026 has passed and 3 Dec 2027 is beyond the horizon
    no_promise(FRI, &["3 Dec", "3/12", "Dec 3rd"]);
    no_promise(DEC30, &["29 Dec", "29/12"]);
}

#[test]
fn impossible_and_past_dates_are_rejected() {
    no_promise(
        FRI,
        &[
            "31/11",
            "31 Nov",
            "30 Feb",
            "32/12",
            "15/13",
            "12/15/2026",
            "15/12/2025",
            "1 Dec 2026",
            "2026-12-01",
            "3.12.26",
        ],
    );
    // 29 February: neither 2026 nor 2027 has one
    no_promise(JAN30, &["29/2", "29 Feb"]);
}

#[test]
fn the_first_valid_date_wins() {
    promise(
        FRI,
        "paid on 1/12/2026, balance by 15/12",
        date(2026, 12, 15),
        "by 15/12",
    );
    promise(FRI, "Monday or Tuesday", date(2026, 12, 7), "Monday");
    promise(FRI, "tomorrow or 15th", date(2026, 12, 5), "tomorrow");
    promise(FRI, "15th, or tomorrow", date(2026, 12, 15), "15th");
    promise(FRI, "not today, Monday", date(2026, 12, 7), "Monday");
    promise(FRI, "aaj nahi, kal", date(2026, 12, 5), "kal");
    promise(FRI, "Friday nahi, Monday", date(2026, 12, 7), "Monday");
}

// --- promise_date: the 120-day horizon -------------------------------------

#[test]
fn horizon_is_120_days_inclusive() {
    // 2026-12-04 + 120 days = 2027-04-03
    assert_eq!(
        FRI.checked_add(PROMISE_HORIZON_DAYS.days()).unwrap(),
        date(2027, 4, 3)
    );
    promise(FRI, "3 April", date(2027, 4, 3), "3 April");
    promise(FRI, "3/4", date(2027, 4, 3), "3/4");
    promise(FRI, "in 120 days", date(2027, 4, 3), "in 120 days");
    no_promise(
        FRI,
        &[
            "4 April",
            "4/4/2027",
            "in 121 days",
            "15 Dec 2027",
            "in 20 weeks",
        ],
    );
    // From late January, December is too far.
    no_promise(JAN30, &["15 Dec", "15/12"]);
}

// --- promise_date: relative days -------------------------------------------

#[test]
fn today_tomorrow_day_after() {
    promises(
        FRI,
        &[
            ("today", date(2026, 12, 4)),
            ("Today", date(2026, 12, 4)),
            ("tonight", date(2026, 12, 4)),
            ("tomorrow", date(2026, 12, 5)),
            ("TOMORROW", date(2026, 12, 5)),
            ("tmrw", date(2026, 12, 5)),
            ("day after tomorrow", date(2026, 12, 6)),
            ("the day after tomorrow", date(2026, 12, 6)),
        ],
    );
    promise(FRI, "by EOD", date(2026, 12, 4), "by EOD");
    promise(FRI, "Will pay tomorrow sir", date(2026, 12, 5), "tomorrow");
    promise(
        DEC30,
        "day after tomorrow",
        date(2027, 1, 1),
        "day after tomorrow",
    );
    promise(DEC30, "tomorrow", date(2026, 12, 31), "tomorrow");
}

#[test]
fn counted_days_and_weeks() {
    promises(
        FRI,
        &[
            ("in 3 days", date(2026, 12, 7)),
            ("within 2 days", date(2026, 12, 6)),
            ("after 10 days", date(2026, 12, 14)),
            ("in a week", date(2026, 12, 11)),
            ("within two weeks", date(2026, 12, 18)),
            ("in 2-3 days", date(2026, 12, 7)),
            ("in 2 to 3 days", date(2026, 12, 7)),
            ("3 din mein", date(2026, 12, 7)),
            ("2 din baad", date(2026, 12, 6)),
            ("do din me", date(2026, 12, 6)),
            ("3 दिन में", date(2026, 12, 7)),
            ("5 days later", date(2026, 12, 9)),
            ("en 3 días", date(2026, 12, 7)),
            ("en 3 dias", date(2026, 12, 7)),
            ("dentro de una semana", date(2026, 12, 11)),
        ],
    );
    promise(JAN30, "in 3 days", date(2026, 2, 2), "in 3 days");
    promise(
        FRI,
        "will pay in the next 3 days",
        date(2026, 12, 7),
        "in the next 3 days",
    );
    // a bare count is not a promise: "15 days" may be credit terms
    no_promise(FRI, &["15 days", "give me 2 days", "3 se 4 din"]);
    promise(DEC30, "within 5 days", date(2027, 1, 4), "within 5 days");
}

#[test]
fn next_week_is_the_next_monday() {
    promise(FRI, "next week", date(2026, 12, 7), "next week");
    promise(DEC30, "next week", date(2027, 1, 4), "next week");
    promise(
        FRI,
        "next to next week",
        date(2026, 12, 14),
        "next to next week",
    );
    promise(JAN30, "Next Week", date(2026, 2, 2), "Next Week");
    // said on a Monday: the Monday after
    promise(
        date(2026, 12, 7),
        "next week",
        date(2026, 12, 14),
        "next week",
    );
    promise(FRI, "agle hafte", date(2026, 12, 7), "agle hafte");
    promise(FRI, "अगले हफ्ते", date(2026, 12, 7), "अगले हफ्ते");
    promise(FRI, "अगले हफ़्ते", date(2026, 12, 7), "अगले हफ़्ते");
    promise(
        FRI,
        "la próxima semana",
        date(2026, 12, 7),
        "la próxima semana",
    );
    promise(
        FRI,
        "la semana que viene",
        date(2026, 12, 7),
        "la semana que viene",
    );
}

#[test]
fn this_week_is_the_weeks_friday_or_its_sunday_at_the_weekend() {
    promise(FRI, "this week", date(2026, 12, 4), "this week");
    promise(TUE, "this week", date(2026, 12, 4), "this week");
    promise(DEC30, "this week", date(2027, 1, 1), "this week");
    promise(
        date(2026, 12, 5),
        "this week",
        date(2026, 12, 6),
        "this week",
    );
    promise(
        date(2026, 12, 6),
        "this week",
        date(2026, 12, 6),
        "this week",
    );
    promise(
        date(2026, 12, 7),
        "this week",
        date(2026, 12, 11),
        "this week",
    );
    promise(TUE, "is hafte", date(2026, 12, 4), "is hafte");
    promise(TUE, "इस हफ्ते", date(2026, 12, 4), "इस हफ्ते");
    promise(TUE, "esta semana", date(2026, 12, 4), "esta semana");
    promise(
        TUE,
        "by end of the week",
        date(2026, 12, 4),
        "by end of the week",
    );
}

#[test]
fn month_end_and_next_month() {
    promises(
        FRI,
        &[
            ("end of month", date(2026, 12, 31)),
            ("end of the month", date(2026, 12, 31)),
            ("month end", date(2026, 12, 31)),
            ("month-end", date(2026, 12, 31)),
            ("by month end", date(2026, 12, 31)),
            ("mahine ke end", date(2026, 12, 31)),
            ("महीने के अंत", date(2026, 12, 31)),
            ("fin de mes", date(2026, 12, 31)),
            ("a fin de mes", date(2026, 12, 31)),
            ("next month", date(2027, 1, 1)),
            ("agle mahine", date(2027, 1, 1)),
            ("el próximo mes", date(2027, 1, 1)),
            ("el mes que viene", date(2027, 1, 1)),
            ("end of next month", date(2027, 1, 31)),
        ],
    );
    // The phrases above end where the match ends; "tak" is not part of it.
    promise(
        FRI,
        "mahine ke end tak",
        date(2026, 12, 31),
        "mahine ke end",
    );
    promise(JAN30, "end of month", date(2026, 1, 31), "end of month");
    promise(JAN30, "next month", date(2026, 2, 1), "next month");
    promise(
        JAN30,
        "end of next month",
        date(2026, 2, 28),
        "end of next month",
    );
    promise(DEC30, "month end", date(2026, 12, 31), "month end");
    promise(DEC30, "next month", date(2027, 1, 1), "next month");
    promise(
        date(2026, 12, 31),
        "month end",
        date(2026, 12, 31),
        "month end",
    );
}

#[test]
fn a_named_months_end() {
    promises(
        FRI,
        &[
            ("December end", date(2026, 12, 31)),
            ("end of January", date(2027, 1, 31)),
            ("Feb end", date(2027, 2, 28)),
            ("march ke end", date(2027, 3, 31)),
            ("fin de enero", date(2027, 1, 31)),
        ],
    );
    promise(JAN30, "Feb end", date(2026, 2, 28), "Feb end");
    promise(JAN30, "January end", date(2026, 1, 31), "January end");
    // April's end is beyond the horizon; November's has passed and next
    // November's is too far
    no_promise(FRI, &["end of April", "November end"]);
}

// --- promise_date: weekdays ------------------------------------------------

#[test]
fn bare_weekday_is_strictly_after_today() {
    promises(
        FRI,
        &[
            ("Friday", date(2026, 12, 11)),
            ("on Friday", date(2026, 12, 11)),
            ("by Monday", date(2026, 12, 7)),
            ("Saturday", date(2026, 12, 5)),
            ("sunday", date(2026, 12, 6)),
            ("Tuesday", date(2026, 12, 8)),
            ("WEDNESDAY", date(2026, 12, 9)),
            ("thursday", date(2026, 12, 10)),
            ("coming Friday", date(2026, 12, 11)),
            ("by Fri", date(2026, 12, 11)),
        ],
    );
    promise(TUE, "Friday", date(2026, 12, 4), "Friday");
    promise(TUE, "Tuesday", date(2026, 12, 8), "Tuesday");
    promise(DEC30, "Friday", date(2027, 1, 1), "Friday");
    promise(DEC30, "Monday", date(2027, 1, 4), "Monday");
}

#[test]
fn this_weekday_counts_today() {
    promise(FRI, "this Friday", date(2026, 12, 4), "this Friday");
    promise(FRI, "this Monday", date(2026, 12, 7), "this Monday");
    promise(TUE, "this Friday", date(2026, 12, 4), "this Friday");
    promise(TUE, "this Tuesday", date(2026, 12, 1), "this Tuesday");
    promise(FRI, "este viernes", date(2026, 12, 4), "este viernes");
    promise(FRI, "is shukravar", date(2026, 12, 4), "is shukravar");
}

#[test]
fn next_weekday_is_in_the_next_calendar_week() {
    promise(FRI, "next Friday", date(2026, 12, 11), "next Friday");
    promise(FRI, "next Monday", date(2026, 12, 7), "next Monday");
    promise(FRI, "next Saturday", date(2026, 12, 12), "next Saturday");
    promise(FRI, "next mon", date(2026, 12, 7), "next mon");
    promise(TUE, "next Friday", date(2026, 12, 11), "next Friday");
    promise(TUE, "next Wednesday", date(2026, 12, 9), "next Wednesday");
    promise(
        TUE,
        "Friday next week",
        date(2026, 12, 11),
        "Friday next week",
    );
    promise(DEC30, "next Friday", date(2027, 1, 8), "next Friday");
    promise(TUE, "agle shukravar", date(2026, 12, 11), "agle shukravar");
    promise(
        TUE,
        "el próximo viernes",
        date(2026, 12, 11),
        "el próximo viernes",
    );
    promise(
        TUE,
        "el viernes que viene",
        date(2026, 12, 11),
        "el viernes que viene",
    );
    promise(TUE, "el viernes", date(2026, 12, 4), "el viernes");
}

#[test]
fn weekday_abbreviations_need_a_cue() {
    // "sun" is also Hindi for "listen"
    no_promise(FRI, &["bhai sun, payment ho jayega", "sat", "wed"]);
    promise(FRI, "on sat", date(2026, 12, 5), "on sat");
}

// --- promise_date: Hindi ---------------------------------------------------

#[test]
fn hindi_romanised() {
    promises(
        FRI,
        &[
            ("aaj", date(2026, 12, 4)),
            ("kal", date(2026, 12, 5)),
            ("parso", date(2026, 12, 6)),
            ("somvar", date(2026, 12, 7)),
            ("mangalvar", date(2026, 12, 8)),
            ("budhvar", date(2026, 12, 9)),
            ("guruvar", date(2026, 12, 10)),
            ("brihaspativar", date(2026, 12, 10)),
            ("shukravar", date(2026, 12, 11)),
            ("shanivar", date(2026, 12, 5)),
            ("ravivar", date(2026, 12, 6)),
        ],
    );
    promise(FRI, "kal tak payment kar denge", date(2026, 12, 5), "kal");
    promise(FRI, "Sir aaj shaam tak", date(2026, 12, 4), "aaj");
    promise(FRI, "somvar ko pakka", date(2026, 12, 7), "somvar");
}

#[test]
fn hindi_devanagari() {
    promises(
        FRI,
        &[
            ("आज", date(2026, 12, 4)),
            ("कल", date(2026, 12, 5)),
            ("परसों", date(2026, 12, 6)),
            ("सोमवार", date(2026, 12, 7)),
            ("मंगलवार", date(2026, 12, 8)),
            ("बुधवार", date(2026, 12, 9)),
            ("गुरुवार", date(2026, 12, 10)),
            ("शुक्रवार", date(2026, 12, 11)),
            ("शनिवार", date(2026, 12, 5)),
            ("रविवार", date(2026, 12, 6)),
        ],
    );
    promise(FRI, "कल भुगतान कर देंगे।", date(2026, 12, 5), "कल");
    promise(FRI, "सोमवार को भुगतान होगा", date(2026, 12, 7), "सोमवार");
}

#[test]
fn kal_is_yesterday_in_a_completed_clause() {
    no_promise(
        FRI,
        &[
            "kal payment kar diya",
            "maine kal bhej diya tha",
            "payment kal hi ho gaya",
            "कल भुगतान कर दिया",
            "कल पेमेंट हो गया था",
            "parso transfer kiya",
        ],
    );
    // the marker is in another sentence or line
    promise(
        FRI,
        "bill mil gaya. kal payment karenge",
        date(2026, 12, 5),
        "kal",
    );
    promise(
        FRI,
        "bill mil gaya\nkal payment karenge",
        date(2026, 12, 5),
        "kal",
    );
    promise(FRI, "kal payment ho jayega", date(2026, 12, 5), "kal");
    // a yesterday does not hide a later promise
    promise(
        FRI,
        "kal payment kar diya tha, baaki somvar ko",
        date(2026, 12, 7),
        "somvar",
    );
}

#[test]
fn aaj_kal_names_no_date() {
    no_promise(FRI, &["aaj kal mein kar denge", "आज कल"]);
}

// --- promise_date: Spanish -------------------------------------------------

#[test]
fn spanish() {
    promises(
        FRI,
        &[
            ("hoy", date(2026, 12, 4)),
            ("mañana", date(2026, 12, 5)),
            ("manana", date(2026, 12, 5)),
            ("Mañana", date(2026, 12, 5)),
            ("pasado mañana", date(2026, 12, 6)),
            ("pasado manana", date(2026, 12, 6)),
            ("lunes", date(2026, 12, 7)),
            ("martes", date(2026, 12, 8)),
            ("miércoles", date(2026, 12, 9)),
            ("miercoles", date(2026, 12, 9)),
            ("jueves", date(2026, 12, 10)),
            ("viernes", date(2026, 12, 11)),
            ("sábado", date(2026, 12, 5)),
            ("sabado", date(2026, 12, 5)),
            ("domingo", date(2026, 12, 6)),
            ("el lunes", date(2026, 12, 7)),
            ("el próximo viernes", date(2026, 12, 11)),
            ("fin de mes", date(2026, 12, 31)),
            ("el 15", date(2026, 12, 15)),
            ("15 de diciembre", date(2026, 12, 15)),
            ("en 3 días", date(2026, 12, 7)),
        ],
    );
    promise(
        FRI,
        "Pagaremos mañana sin falta",
        date(2026, 12, 5),
        "mañana",
    );
    // decomposed accent (n + U+0303)
    promise(FRI, "man\u{303}ana", date(2026, 12, 5), "man\u{303}ana");
}

#[test]
fn spanish_manana_as_morning_is_not_tomorrow() {
    no_promise(
        FRI,
        &["por la mañana", "esta mañana", "a las 10 de la mañana"],
    );
    promise(FRI, "mañana por la mañana", date(2026, 12, 5), "mañana");
    promise(FRI, "el lunes por la mañana", date(2026, 12, 7), "el lunes");
}

// --- promise_date: numbers that are not dates -----------------------------

#[test]
fn amounts_references_phones_and_times_are_not_dates() {
    no_promise(
        FRI,
        &[
            "₹15,000",
            "₹15",
            "₹ 15",
            "Rs 15000",
            "Rs 15",
            "Rs. 15",
            "rs.15",
            "15000",
            "1,50,000",
            "15000/-",
            "15/-",
            "paid 15 lakh",
            "1.5 lakh",
            "15%",
            "$15",
            "INV-15",
            "INV15",
            "invoice 15",
            "Invoice no. 15",
            "#15",
            "PO/15/12",
            "INV-15/12",
            "+91 98765 43210",
            "9876543210",
            "98765-43210",
            "at 5 pm",
            "5 pm",
            "5pm",
            "5:30",
            "5.30 pm",
            "at 5",
            "by 5 pm",
            "5 baje",
            "15 days",
            "15 pcs",
            "2nd reminder",
            "this is the 1st time",
            "3rd invoice",
            "https://pay.example/pay/INV-15",
            "1/2 payment now",
            "1/3 of the amount",
            "GST 18%",
            "a/c no 12",
        ],
    );
}

#[test]
fn dates_next_to_non_dates() {
    promise(
        FRI,
        "Will pay ₹15,000 on 20th",
        date(2026, 12, 20),
        "on 20th",
    );
    promise(
        FRI,
        "INV-15 will be cleared by Monday",
        date(2026, 12, 7),
        "by Monday",
    );
    promise(
        FRI,
        "Call me at 5 pm, payment tomorrow",
        date(2026, 12, 5),
        "tomorrow",
    );
    promise(FRI, "Rs 15000 by 15/12", date(2026, 12, 15), "by 15/12");
    promise(
        FRI,
        "2nd reminder? will pay 18th, call 98765 43210",
        date(2026, 12, 18),
        "18th",
    );
    promise(FRI, "Rs. 25,000 on 5 Jan", date(2027, 1, 5), "on 5 Jan");
    promise(
        FRI,
        "1st installment on 10th, 2nd on 20th",
        date(2026, 12, 10),
        "on 10th",
    );
    // a fraction's pattern without the word that makes it one is a date
    promise(FRI, "1/2", date(2027, 2, 1), "1/2");
}

#[test]
fn messages_without_dates() {
    no_promise(
        FRI,
        &[
            "",
            "ok",
            "Who is this?",
            "Please send the invoice again",
            "payment will be done soon",
            "yesterday",
            "🙏🙏",
            "नमस्ते",
            "the stock is on the way",
        ],
    );
}

#[test]
fn phrase_keeps_the_messages_spelling() {
    promise(
        FRI,
        "  BY   The 15TH!! ",
        date(2026, 12, 15),
        "BY   The 15TH",
    );
    promise(
        FRI,
        "Payment 🙏 on Dec-15 🙏",
        date(2026, 12, 15),
        "on Dec-15",
    );
}

// --- normalisation ---------------------------------------------------------

#[test]
fn normalise_folds_case_accents_punctuation_and_devanagari_variants() {
    assert_eq!(normalise("  ¡No MÁS   mensajes! 🙏 "), "no mas mensajes");
    assert_eq!(normalise("Don't stop"), "dont stop");
    assert_eq!(normalise("हफ़्ते"), "हफ्ते");
    assert_eq!(normalise("\u{095E}"), "\u{092B}");
    assert_eq!(normalise("१५"), "15");
    assert_eq!(strip_please("please stop please"), "stop");
    assert_eq!(strip_please("por favor baja"), "baja");
    assert_eq!(strip_please("please"), "");
}

proptest! {
    #[test]
    fn promises_stay_inside_the_window(
        text in "\\PC{0,40}",
        offset in 0i64..3000,
    ) {
        let today = date(2024, 1, 1).checked_add(offset.days()).unwrap();
        if let Some((d, phrase)) = promise_date(&text, today) {
            prop_assert!(today <= d);
            prop_assert!(d <= today.checked_add(PROMISE_HORIZON_DAYS.days()).unwrap());
            prop_assert!(!phrase.is_empty());
            prop_assert!(text.contains(&phrase));
        }
        let _ = classify_text(&text, today);
        let _ = button_intent(&text);
    }

    #[test]
    fn day_of_month_lands_on_that_day_or_the_months_end(
        day in 1u32..=31,
        offset in 0i64..1500,
    ) {
        let today = date(2025, 1, 1).checked_add(offset.days()).unwrap();
        let text = format!("on the {day}th");
        let (d, phrase) = promise_date(&text, today).unwrap();
        prop_assert_eq!(phrase, text);
        prop_assert!(today <= d && d <= today.checked_add(62.days()).unwrap());
        let expected_day = i8::try_from(day).unwrap().min(d.days_in_month());
        prop_assert_eq!(d.day(), expected_day);
        // the earliest such date: a month earlier would be before today
        prop_assert!(d.year() == today.year() && d.month() == today.month()
            || d.first_of_month() == next_month_first(today).unwrap());
    }
}
