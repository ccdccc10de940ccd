//! The template check: every WhatsApp template tagada's config can send
//! must exist in the business account, be APPROVED, be in the language we
//! send, and take exactly the parameters we send. `templates check` prints
//! the result; `send` and `run` refuse to send through the Cloud API while
//! it finds a problem.

use std::collections::BTreeMap;

use serde::Serialize;
use tagada_core::cadence::PlannerConfig;
use tagada_whatsapp::{Client, ClientError, Template, client::placeholders};

/// The verdict on one (WhatsApp name, language) pair our config sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateVerdict {
    pub whatsapp_name: String,
    pub language: String,
    /// The config tables that send it (`templates.overdue.en`, ...).
    pub used_by: Vec<String>,
    /// Parameters our config sends.
    pub params: usize,
    /// `APPROVED`, `PENDING`..., or `missing`.
    pub status: String,
    pub category: Option<String>,
    /// What stops us from sending it; empty when it is fine.
    pub problems: Vec<String>,
    /// What is worth knowing but does not stop sending.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TemplateCheck {
    pub templates: Vec<TemplateVerdict>,
}

impl TemplateCheck {
    pub fn is_ok(&self) -> bool {
        self.templates.iter().all(|t| t.problems.is_empty())
    }

    /// Every problem, one line each, naming the template and the config table.
    pub fn problems(&self) -> Vec<String> {
        self.templates
            .iter()
            .flat_map(|t| {
                t.problems.iter().map(move |p| {
                    format!(
                        "{} [{}] ({}): {p}",
                        t.whatsapp_name,
                        t.language,
                        t.used_by.join(", ")
                    )
                })
            })
            .collect()
    }

    pub fn warnings(&self) -> Vec<String> {
        self.templates
            .iter()
            .flat_map(|t| {
                t.warnings
                    .iter()
                    .map(move |w| format!("{} [{}]: {w}", t.whatsapp_name, t.language))
            })
            .collect()
    }
}

/// Compares the config's templates with the account's (pure; the fetch is
/// [`fetch_and_check`]).
pub fn check(cfg: &PlannerConfig, account: &[Template]) -> TemplateCheck {
    // (name, language) → (tables using it, parameter count).
    let mut wanted: BTreeMap<(String, String), (Vec<String>, usize)> = BTreeMap::new();
    for t in &cfg.templates {
        let entry = wanted
            .entry((t.whatsapp_name.clone(), t.whatsapp_language.clone()))
            .or_insert_with(|| (Vec::new(), t.params.len()));
        entry.0.push(format!("templates.{}.{}", t.key, t.language));
        if entry.1 != t.params.len() {
            // Two tables sending one template with different counts: the
            // check below reports the first; say so here too.
            entry.0.push(format!(
                "(templates.{}.{} sends {} parameters)",
                t.key,
                t.language,
                t.params.len()
            ));
        }
    }
    let mut out = TemplateCheck::default();
    for ((name, language), (used_by, params)) in wanted {
        let found = account
            .iter()
            .find(|t| t.name == name && t.language == language);
        let mut v = TemplateVerdict {
            whatsapp_name: name.clone(),
            language: language.clone(),
            used_by,
            params,
            status: found.map_or("missing".into(), |t| t.status.clone()),
            category: found.and_then(|t| t.category.clone()),
            problems: Vec::new(),
            warnings: Vec::new(),
        };
        match found {
            None => {
                let other_languages: Vec<&str> = account
                    .iter()
                    .filter(|t| t.name == name)
                    .map(|t| t.language.as_str())
                    .collect();
                v.problems.push(if other_languages.is_empty() {
                    "no template of this name in the WhatsApp account".to_string()
                } else {
                    format!(
                        "not in this language in the WhatsApp account (it has: {})",
                        other_languages.join(", ")
                    )
                });
            }
            Some(t) => {
                if !t.is_approved() {
                    v.problems
                        .push(format!("status is {}, not APPROVED", t.status));
                }
                let theirs = t.body_params();
                if theirs != params {
                    v.problems.push(format!(
                        "the approved body takes {theirs} parameter(s); tagada sends {params}"
                    ));
                }
                match t.header_format().map(str::to_ascii_uppercase).as_deref() {
                    None => {}
                    Some("TEXT") => {
                        let header_params = t
                            .components
                            .iter()
                            .find(|c| c.kind.eq_ignore_ascii_case("HEADER"))
                            .and_then(|c| c.text.as_deref())
                            .map(placeholders)
                            .unwrap_or(0);
                        if header_params > 0 {
                            v.problems.push(
                                "its text header takes a parameter, which tagada does not send"
                                    .into(),
                            );
                        }
                    }
                    Some(other) => v.problems.push(format!(
                        "it has a {other} header, which tagada does not send yet"
                    )),
                }
                for (i, b) in t.buttons().iter().enumerate() {
                    if b.kind.eq_ignore_ascii_case("URL")
                        && b.url.as_deref().is_some_and(|u| placeholders(u) > 0)
                    {
                        v.problems.push(format!(
                            "button {i} is a URL with a dynamic suffix, which tagada does not send yet"
                        ));
                    }
                }
                if t.category
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case("MARKETING"))
                {
                    v.warnings.push(
                        "category is MARKETING: costlier than UTILITY, limited per user by Meta \
                         and not delivered in some countries; payment reminders qualify as UTILITY"
                            .into(),
                    );
                }
            }
        }
        out.templates.push(v);
    }
    out
}

/// Fetches the account's templates and checks the config against them.
pub async fn fetch_and_check(
    cfg: &PlannerConfig,
    client: &Client,
) -> Result<TemplateCheck, ClientError> {
    let account = client.list_templates().await?;
    Ok(check(cfg, &account))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tagada_whatsapp::TemplateComponent;

    fn approved(name: &str, language: &str, params: usize) -> Template {
        let text = (1..=params)
            .map(|i| format!("{{{{{i}}}}}"))
            .collect::<Vec<_>>()
            .join(" ");
        Template {
            name: name.into(),
            language: language.into(),
            status: "APPROVED".into(),
            category: Some("UTILITY".into()),
            id: None,
            components: vec![TemplateComponent {
                kind: "BODY".into(),
                format: None,
                text: Some(text),
                buttons: vec![],
            }],
        }
    }

    /// The account as it should be for the default config.
    fn matching_account(cfg: &PlannerConfig) -> Vec<Template> {
        let mut out: Vec<Template> = Vec::new();
        for t in &cfg.templates {
            if !out
                .iter()
                .any(|a| a.name == t.whatsapp_name && a.language == t.whatsapp_language)
            {
                out.push(approved(
                    &t.whatsapp_name,
                    &t.whatsapp_language,
                    t.params.len(),
                ));
            }
        }
        out
    }

    #[test]
    fn a_matching_account_passes() {
        let cfg = PlannerConfig::default();
        let c = check(&cfg, &matching_account(&cfg));
        assert!(c.is_ok(), "{:?}", c.problems());
        assert!(c.warnings().is_empty());
        assert!(c.templates.len() > 5);
    }

    #[test]
    fn each_kind_of_problem_is_named() {
        let cfg = PlannerConfig::default();
        let mut account = matching_account(&cfg);
        let first = cfg.templates[0].clone();
        let second = cfg
            .templates
            .iter()
            .find(|t| t.whatsapp_name != first.whatsapp_name)
            .unwrap()
            .clone();
        // 1: missing in its language only.
        account
            .retain(|a| !(a.name == first.whatsapp_name && a.language == first.whatsapp_language));
        account.push(approved(&first.whatsapp_name, "xx", first.params.len()));
        // 2: pending, wrong count, a document header, marketing.
        for a in account
            .iter_mut()
            .filter(|a| a.name == second.whatsapp_name)
        {
            a.status = "PENDING".into();
            a.category = Some("MARKETING".into());
            a.components[0].text = Some("{{1}}".into());
            a.components.push(TemplateComponent {
                kind: "HEADER".into(),
                format: Some("DOCUMENT".into()),
                text: None,
                buttons: vec![],
            });
        }
        let c = check(&cfg, &account);
        assert!(!c.is_ok());
        let all = c.problems().join("\n");
        assert!(all.contains("not in this language"), "{all}");
        assert!(all.contains(", xx)"), "{all}");
        assert!(all.contains("status is PENDING"), "{all}");
        assert!(all.contains("takes 1 parameter(s)"), "{all}");
        assert!(all.contains("DOCUMENT header"), "{all}");
        assert!(all.contains("templates."), "names the config table: {all}");
        assert!(c.warnings().join("\n").contains("MARKETING"));
    }

    #[test]
    fn an_empty_account_fails_every_template() {
        let cfg = PlannerConfig::default();
        let c = check(&cfg, &[]);
        assert!(c.templates.iter().all(|t| t.status == "missing"));
        assert_eq!(c.problems().len(), c.templates.len());
    }
}
