//! `tagada report`: the collection figures the dashboard shows — outstanding
//! and ageing, DSO, CEI, days to pay, the reminder funnel — for a period,
//! optionally broken down by template, step, segment, rep, country or month.

use std::process::ExitCode;

use tagada_app::reports::{Report, parse_dimension, parse_period};
use tagada_core::metrics::{AgeingBuckets, BreakdownRow, DayStats, Funnel, Stage};

use crate::ctx::Ctx;
use crate::output::{print_json, table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// 30d, month, last-month, YYYY-MM, YYYY-MM-DD..YYYY-MM-DD or ytd.
    #[arg(long, default_value = "30d")]
    period: String,
    /// Break the funnel and days to pay down by template, step, segment,
    /// rep, country or month.
    #[arg(long)]
    by: Option<String>,
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// The breakdown (or the headline funnel) as CSV.
    #[arg(long)]
    csv: bool,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = ctx.store().await?;
    let planner = &ctx.config.planner;
    let today = ctx
        .clock
        .now()
        .to_zoned_datetime(planner.home_zone())
        .date();
    let period = parse_period(&args.period, today).map_err(anyhow::Error::msg)?;
    let by = args
        .by
        .as_deref()
        .map(parse_dimension)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    // from the summary tables when `tagada serve` keeps them, else the facts
    let report = tagada_app::summary::report(store.as_ref(), planner, period, by, None).await?;
    if args.json {
        print_json(&report)?;
    } else if args.csv {
        print_csv(&report)?;
    } else {
        print_text(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn stats(s: &DayStats) -> String {
    match (&s.average, &s.median) {
        (Some(a), Some(m)) => format!("{a} avg, {m} median ({} invoices)", s.count),
        _ => "—".to_string(),
    }
}

fn rate(f: &Funnel, stage: Stage) -> String {
    f.stage(stage)
        .and_then(|s| s.of_sent.map(|r| r.to_string()))
        .unwrap_or_else(|| "—".into())
}

fn ageing_row(label: &str, b: &AgeingBuckets) -> Vec<String> {
    vec![
        label.to_string(),
        b.not_due.to_string(),
        b.days_1_30.to_string(),
        b.days_31_60.to_string(),
        b.days_61_90.to_string(),
        b.over_90.to_string(),
        b.total.to_string(),
    ]
}

fn print_text(r: &Report) {
    let c = &r.collection;
    println!(
        "Collection report {} … {} (home currency {})",
        c.period.from, c.period.to, c.home_currency
    );
    println!(
        "  outstanding {} on {} open invoice(s) ({} in dispute)",
        c.outstanding.total.home, c.outstanding.open_invoices, c.outstanding.disputed.home
    );
    let dso = |d: &Option<tagada_core::metrics::DayTenths>| {
        d.map(|d| format!("{d} days")).unwrap_or_else(|| "—".into())
    };
    println!(
        "  DSO {} (countback), {} (simple); CEI {}",
        dso(&c.dso_countback),
        dso(&c.dso_simple),
        c.cei
            .index
            .map(|i| i.to_string())
            .unwrap_or_else(|| "—".into())
    );
    println!(
        "  invoiced {}, collected {}",
        c.credit_sales.home, c.collected.home
    );
    println!(
        "  days to pay after the due date: {}",
        stats(&c.days_to_pay.after_due)
    );
    println!(
        "  days to pay after the first reminder: {}",
        stats(&c.days_to_pay.after_first_reminder)
    );
    if !c.not_converted.is_empty() {
        let list: Vec<&str> = c.not_converted.iter().map(|c| c.code()).collect();
        println!(
            "  not in the home-currency figures (no rate in [fx]): {}",
            list.join(", ")
        );
    }
    println!("\nAgeing on {}", c.ageing.as_of);
    let mut t = table(&["", "not due", "1–30", "31–60", "61–90", "90+", "total"]);
    for b in &c.ageing.by_currency {
        t.add_row(ageing_row(b.currency.code(), b));
    }
    t.add_row(ageing_row("all (home)", &c.ageing.home));
    println!("{t}");

    println!("\nReminder funnel (reminders planned in the period)");
    let mut t = table(&["stage", "messages", "of the stage before", "of sent"]);
    for s in &c.funnel.stages {
        t.add_row(vec![
            s.stage.label().to_string(),
            s.count.to_string(),
            s.of_previous
                .map(|r| r.to_string())
                .unwrap_or_else(|| "—".into()),
            s.of_sent
                .map(|r| r.to_string())
                .unwrap_or_else(|| "—".into()),
        ]);
    }
    println!("{t}");
    if let Some(share) = c.funnel.read_unknown_share {
        println!(
            "read is unknown for {share} of delivered messages (read receipts off); the read rate counts only those known"
        );
    }

    let trend: Vec<String> = r
        .dso_trend
        .points
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                p.month,
                p.dso.map(|d| d.to_string()).unwrap_or_else(|| "—".into())
            )
        })
        .collect();
    println!("\nDSO by month (countback): {}", trend.join(" · "));

    if let Some(by) = r.by {
        println!(
            "\nBy {}",
            serde_json::to_value(by)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("?")
        );
        let mut t = table(&[
            "",
            "sent",
            "delivered",
            "read",
            "replied",
            "paid ≤7d",
            "paid ≤14d",
            "paid ≤30d",
            "days after due",
        ]);
        for row in &r.breakdown {
            t.add_row(breakdown_cells(row));
        }
        println!("{t}");
    }
}

fn breakdown_cells(row: &BreakdownRow) -> Vec<String> {
    let f = &row.funnel;
    vec![
        row.key.clone(),
        f.count(Stage::Sent).to_string(),
        rate(f, Stage::Delivered),
        f.stage(Stage::Read)
            .and_then(|s| s.of_previous.map(|r| r.to_string()))
            .unwrap_or_else(|| "—".into()),
        rate(f, Stage::Replied),
        rate(f, Stage::PaidWithin7Days),
        rate(f, Stage::PaidWithin14Days),
        rate(f, Stage::PaidWithin30Days),
        stats(&row.days_to_pay.after_due),
    ]
}

fn print_csv(r: &Report) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(std::io::stdout());
    let mut header = vec!["key".to_string()];
    header.extend(Stage::ALL.iter().map(|s| s.label().replace(' ', "_")));
    header.extend(
        [
            "days_after_due_avg",
            "days_after_due_median",
            "invoices_paid",
        ]
        .map(String::from),
    );
    w.write_record(&header)?;
    let rows: Vec<(String, &Funnel, &DayStats)> = if r.by.is_some() {
        r.breakdown
            .iter()
            .map(|row| (row.key.clone(), &row.funnel, &row.days_to_pay.after_due))
            .collect()
    } else {
        vec![(
            "all".to_string(),
            &r.collection.funnel,
            &r.collection.days_to_pay.after_due,
        )]
    };
    for (key, f, d) in rows {
        let mut rec = vec![key];
        rec.extend(Stage::ALL.iter().map(|s| f.count(*s).to_string()));
        rec.push(d.average.map(|a| a.to_string()).unwrap_or_default());
        rec.push(d.median.map(|m| m.to_string()).unwrap_or_default());
        rec.push(d.count.to_string());
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}
