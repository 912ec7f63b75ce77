//! filter (Rust): drops spans, log records or data points that match any rule; the same
//! plugin as plugins/filter/filter.c, written with the Rust SDK.
//!
//! config: {"drop": [rule, ...]}; a rule holds when all its conditions hold:
//!   "name": "x"                 span name / metric name equals x
//!   "attribute": "k"            the item's attribute k ...
//!   "resource_attribute": "k"   ... or the resource's attribute k
//!     with one of: "equals": "v" | "not_equals": "v" | "prefix": "p" | "exists": true|false
//!                  "gt": n | "lt": n   (int or double attributes)
//!   "severity_below": n         log records with severity_number < n (and > 0)
use std::cell::RefCell;

use weft::{Batch, Error, Item, Json, KeepMask, Result, Signal, Value};

#[derive(Clone, Copy, PartialEq)]
enum Op {
    None,
    Equals,
    NotEquals,
    Prefix,
    Exists,
    Gt,
    Lt,
}

struct Rule {
    name: String,
    key: String,
    on_resource: bool,
    op: Op,
    text: String,
    number: f64,
    exists: bool,
    severity_below: u64,
}

thread_local! {
    static RULES: RefCell<Vec<Rule>> = const { RefCell::new(Vec::new()) };
    static MASK: RefCell<KeepMask> = RefCell::new(KeepMask::default());
}

fn text(v: Option<&Json>) -> Option<String> {
    v.map(|j| j.as_str().unwrap_or("").to_string())
}

fn configure(config: &Json) -> Result {
    let mut rules = Vec::new();
    if let Some(drop) = config.get("drop") {
        let list = drop
            .as_array()
            .ok_or_else(|| Error::new("config.drop must be a list of rules"))?;
        if list.len() > 32 {
            return Err(Error::new("config.drop has more than 32 rules"));
        }
        for r in list {
            let mut x = Rule {
                name: text(r.get("name")).unwrap_or_default(),
                key: text(r.get("attribute")).unwrap_or_default(),
                on_resource: false,
                op: Op::None,
                text: String::new(),
                number: 0.0,
                exists: false,
                severity_below: 0,
            };
            if let Some(k) = text(r.get("resource_attribute")) {
                x.key = k;
                x.on_resource = true;
            }
            if let Some(t) = text(r.get("equals")) {
                (x.op, x.text) = (Op::Equals, t);
            } else if let Some(t) = text(r.get("not_equals")) {
                (x.op, x.text) = (Op::NotEquals, t);
            } else if let Some(t) = text(r.get("prefix")) {
                (x.op, x.text) = (Op::Prefix, t);
            } else if let Some(v) = r.get("exists") {
                (x.op, x.exists) = (Op::Exists, v.as_bool().unwrap_or(false));
            } else if let Some(v) = r.get("gt") {
                (x.op, x.number) = (Op::Gt, v.as_f64().unwrap_or(0.0));
            } else if let Some(v) = r.get("lt") {
                (x.op, x.number) = (Op::Lt, v.as_f64().unwrap_or(0.0));
            }
            if let Some(n) = r.get("severity_below").and_then(Json::as_f64) {
                x.severity_below = (n as i32) as u64;
            }
            if !x.key.is_empty() && x.op == Op::None {
                return Err(Error::new(
                    "a rule with an attribute needs equals, not_equals, prefix, exists, gt or lt",
                ));
            }
            if x.key.is_empty() && x.name.is_empty() && x.severity_below == 0 {
                return Err(Error::new(
                    "a rule needs name, attribute, resource_attribute or severity_below",
                ));
            }
            rules.push(x);
        }
    }
    RULES.with(|r| *r.borrow_mut() = rules);
    Ok(())
}

fn value_matches(x: &Rule, found: Option<Value>) -> bool {
    let v = match (x.op, found) {
        (Op::Exists, f) => return f.is_some() == x.exists,
        (op, None) => return op == Op::NotEquals,
        (_, Some(v)) => v,
    };
    let is_text = v.str() == Some(x.text.as_bytes());
    match x.op {
        Op::Equals => is_text,
        Op::NotEquals => !is_text,
        Op::Prefix => v.str().is_some_and(|s| s.starts_with(x.text.as_bytes())),
        Op::Gt => v.number().is_some_and(|d| d > x.number),
        Op::Lt => v.number().is_some_and(|d| d < x.number),
        _ => false,
    }
}

fn rule_matches(x: &Rule, item: &Item) -> bool {
    if !x.name.is_empty() && item.name() != x.name.as_bytes() {
        return false;
    }
    if x.severity_below != 0 {
        let severity = item.severity();
        if item.signal != Signal::Logs || severity == 0 || severity >= x.severity_below {
            return false;
        }
    }
    if !x.key.is_empty() {
        let attrs = if x.on_resource {
            item.resource_attributes()
        } else {
            item.attributes()
        };
        if !value_matches(x, attrs.find(&x.key)) {
            return false;
        }
    }
    true
}

fn process(batch: &Batch) -> Result {
    RULES.with(|rules| {
        let rules = rules.borrow();
        if rules.is_empty() || batch.is_empty() {
            return Ok(());
        }
        MASK.with(|mask| {
            let mut mask = mask.borrow_mut();
            mask.reset(batch.len());
            for item in batch.items() {
                if rules.iter().any(|r| rule_matches(r, &item)) {
                    mask.drop_item(item.index);
                }
            }
            if mask.dropped() == 0 {
                return Ok(()); // unchanged: nothing is re-encoded
            }
            weft::counter_add("filter_dropped_items", mask.dropped() as f64, "")?;
            mask.submit()
        })
    })
}

weft::plugin!(configure: configure, traces: process, metrics: process, logs: process);
