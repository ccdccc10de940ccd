//! Reads a chart back as XML, so tests assert on its structure rather than
//! its text: a parse failure is a malformed chart.

use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// An element with its attributes and children.
#[derive(Debug, Clone)]
pub(crate) struct El {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    El(El),
    Text(String),
}

fn start(e: &BytesStart<'_>) -> El {
    let name = e.name().as_ref().to_string();
    let attrs = e
        .attributes()
        .map(|a| {
            let a = a.expect("well-formed attribute, not repeated");
            let key = a.key.as_ref().to_string();
            let value = a
                .normalized_value(XmlVersion::Implicit1_0)
                .expect("attribute value with known entities")
                .into_owned();
            (key, value)
        })
        .collect();
    El {
        name,
        attrs,
        children: Vec::new(),
    }
}

/// Parses `svg`, panicking unless it is one well-formed element.
pub(crate) fn parse(svg: &str) -> El {
    let mut reader = Reader::from_str(svg);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<El> = Vec::new();
    let mut root: Option<El> = None;
    let push_text = |stack: &mut Vec<El>, text: String| {
        let parent = stack.last_mut().expect("text inside the root element");
        if let Some(Node::Text(t)) = parent.children.last_mut() {
            t.push_str(&text);
        } else {
            parent.children.push(Node::Text(text));
        }
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                assert!(root.is_none(), "a second root element");
                stack.push(start(&e));
            }
            Event::Empty(e) => {
                assert!(root.is_none(), "a second root element");
                let el = start(&e);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::El(el)),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().expect("an open element");
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::El(el)),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content().into_owned();
                if stack.is_empty() {
                    assert!(text.trim().is_empty(), "text outside the root: {text:?}");
                } else {
                    push_text(&mut stack, text);
                }
            }
            Event::GeneralRef(r) => {
                let text = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .expect("a valid character reference")
                        .expect("a character")
                        .to_string()
                } else {
                    let name = r.xml10_content();
                    resolve_predefined_entity(&name)
                        .unwrap_or_else(|| panic!("unknown entity &{name};"))
                        .to_string()
                };
                push_text(&mut stack, text);
            }
            Event::Eof => break,
            Event::CData(_) | Event::PI(_) | Event::DocType(_) | Event::Decl(_) => {
                panic!("a chart needs no CDATA, processing instruction, doctype or declaration")
            }
            Event::Comment(_) => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements");
    root.expect("a root element")
}

impl El {
    pub(crate) fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A numeric attribute.
    pub(crate) fn num(&self, key: &str) -> f64 {
        self.attr(key)
            .unwrap_or_else(|| panic!("<{}> has no {key}", self.name))
            .parse()
            .unwrap_or_else(|_| panic!("<{}> {key} is not a number", self.name))
    }

    pub(crate) fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_whitespace().any(|c| c == class))
    }

    pub(crate) fn elements(&self) -> impl Iterator<Item = &El> {
        self.children.iter().filter_map(|c| match c {
            Node::El(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// This element and every element below it, in document order.
    pub(crate) fn descendants(&self) -> Vec<&El> {
        let mut all = vec![self];
        for child in self.elements() {
            all.extend(child.descendants());
        }
        all
    }

    /// Every `<name>` below (or at) this element with `class`.
    pub(crate) fn find(&self, name: &str, class: &str) -> Vec<&El> {
        self.descendants()
            .into_iter()
            .filter(|e| e.name == name && e.has_class(class))
            .collect()
    }

    /// The element's own text, without its children's (a `<text>` without
    /// its `<title>`).
    pub(crate) fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|c| match c {
                Node::Text(t) => Some(t.as_str()),
                Node::El(_) => None,
            })
            .collect()
    }

    /// The text of the element's `<title>` child.
    pub(crate) fn title(&self) -> Option<String> {
        self.elements().find(|e| e.name == "title").map(El::text)
    }

    /// The `<desc>` child's text.
    pub(crate) fn desc(&self) -> Option<String> {
        self.elements().find(|e| e.name == "desc").map(El::text)
    }

    /// The texts of every `<text>` below with `class`.
    pub(crate) fn texts(&self, class: &str) -> Vec<String> {
        self.find("text", class).into_iter().map(El::text).collect()
    }
}
