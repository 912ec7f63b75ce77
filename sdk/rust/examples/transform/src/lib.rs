//! transform (Rust): sets, renames, deletes and hashes attributes of spans, log records,
//! data points and their resources, with an edit list weft applies natively; the same
//! plugin as plugins/transform/transform.c, written with the Rust SDK.
//!
//! config: {"actions": [action, ...]}, applied in order; an action is
//!   {"action": "set",    "key": "k", "value": "v" | 1 | 1.5 | true, "target": "item"|"resource"}
//!   {"action": "rename", "key": "old", "to": "new", "target": ...}
//!   {"action": "delete", "key": "k", "target": ...}
//!   {"action": "hash",   "key": "k", "target": ...}   string value -> its SHA-256 (hex)
//! target defaults to "item".
use std::cell::RefCell;

use weft::{Attributes, Batch, Edits, Error, Json, Result, Target, Value};

enum SetValue {
    Str(String),
    Int(i64),
    Double(f64),
    Bool(bool),
}

enum Kind {
    Set(SetValue),
    Rename(String),
    Delete,
    Hash,
}

struct Action {
    kind: Kind,
    target: Target,
    key: String,
}

thread_local! {
    static ACTIONS: RefCell<Vec<Action>> = const { RefCell::new(Vec::new()) };
    static EDITS: RefCell<Edits> = RefCell::new(Edits::new());
}

fn parse_value(v: Option<&Json>) -> Option<SetValue> {
    match v? {
        Json::String(s) => Some(SetValue::Str(s.clone())),
        Json::Bool(b) => Some(SetValue::Bool(*b)),
        Json::Number(d, text) if text.contains(['.', 'e', 'E']) => Some(SetValue::Double(*d)),
        Json::Number(d, _) => Some(SetValue::Int(*d as i64)),
        _ => None,
    }
}

fn configure(config: &Json) -> Result {
    let mut actions = Vec::new();
    if let Some(list) = config.get("actions") {
        let list = list
            .as_array()
            .ok_or_else(|| Error::new("config.actions must be a list"))?;
        if list.len() > 32 {
            return Err(Error::new("config.actions has more than 32 actions"));
        }
        for entry in list {
            let kind = entry
                .get("action")
                .and_then(Json::as_str)
                .ok_or_else(|| Error::new("every action needs \"action\": set, rename, delete or hash"))?;
            let key = match entry.get("key").and_then(Json::as_str) {
                Some(k) if !k.is_empty() => k.to_string(),
                _ => return Err(Error::new("every action needs a \"key\"")),
            };
            let target = match entry.get("target").map(|t| t.as_str().unwrap_or("")) {
                None | Some("item") => Target::Item,
                Some("resource") => Target::Resource,
                _ => return Err(Error::new("target must be item or resource")),
            };
            let kind = match kind {
                "set" => Kind::Set(
                    parse_value(entry.get("value"))
                        .ok_or_else(|| Error::new("set needs a string, number or boolean \"value\""))?,
                ),
                "rename" => match entry.get("to").and_then(Json::as_str) {
                    Some(to) if !to.is_empty() => Kind::Rename(to.to_string()),
                    _ => return Err(Error::new("rename needs \"to\"")),
                },
                "delete" => Kind::Delete,
                "hash" => Kind::Hash,
                _ => return Err(Error::new("action must be set, rename, delete or hash")),
            };
            actions.push(Action { kind, target, key });
        }
    }
    ACTIONS.with(|a| *a.borrow_mut() = actions);
    Ok(())
}

/// Adds the edits of one action for one item or resource with attributes `attrs`.
fn edit(e: &mut Edits, a: &Action, index: usize, attrs: Attributes) {
    let key = a.key.as_bytes();
    match &a.kind {
        Kind::Set(SetValue::Str(s)) => e.set_string(a.target, index, key, s.as_bytes()),
        Kind::Set(SetValue::Int(i)) => e.set_int(a.target, index, key, *i),
        Kind::Set(SetValue::Double(d)) => e.set_double(a.target, index, key, *d),
        Kind::Set(SetValue::Bool(b)) => e.set_bool(a.target, index, key, *b),
        Kind::Rename(to) => e.rename(a.target, index, key, to.as_bytes()),
        Kind::Delete => e.delete(a.target, index, key),
        Kind::Hash => {
            if let Some(Value::Str(s)) = attrs.find(&a.key) {
                e.set_string(a.target, index, key, weft::sha256_hex(s).as_bytes());
            }
        }
    }
}

fn process(batch: &Batch) -> Result {
    ACTIONS.with(|actions| {
        let actions = actions.borrow();
        if actions.is_empty() || batch.is_empty() {
            return Ok(());
        }
        let has_resource_actions = actions.iter().any(|a| a.target == Target::Resource);
        EDITS.with(|e| {
            let mut e = e.borrow_mut();
            e.clear();
            let mut next_resource = 0; // resources are edited once, at their first item
            for item in batch.items() {
                let first = has_resource_actions && item.resource_index + 1 > next_resource;
                for a in actions.iter() {
                    if a.target == Target::Item {
                        edit(&mut e, a, item.index, item.attributes());
                    } else if first {
                        edit(&mut e, a, item.resource_index, item.resource_attributes());
                    }
                }
                if first {
                    next_resource = item.resource_index + 1;
                }
            }
            e.submit().map_err(|_| Error::new("weft refused the edit list"))
        })
    })
}

weft::plugin!(configure: configure, traces: process, metrics: process, logs: process);
