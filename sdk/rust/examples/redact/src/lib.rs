//! redact (Rust): replaces e-mail addresses, payment card numbers and IP addresses in the
//! string attributes of spans, log records and data points, in the string attributes of
//! their resources, and in string log bodies, with an edit list weft applies natively; the
//! same plugin as plugins/redact/redact.c (see its README), written with the Rust SDK.
//!
//! config: {"mode": "mask" | "hash",                        default "mask"
//!          "mask": "****",                                  the replacement in mask mode
//!          "allow_keys": ["user.id", ...],                  attributes never redacted (exact key)
//!          "kinds": ["email", "card", "ipv4", "ipv6"],      what to look for; default all
//!          "bodies": true}                                  log bodies too; default true
//! In hash mode a match becomes "sha256:" + the first 16 hex characters of its SHA-256.
mod matching;

use std::cell::RefCell;

use matching::{is_word, match_card, match_email, match_ipv4, match_ipv6};
use weft::{fields, pb_bytes, Attributes, Batch, Edits, Error, Json, Reader, Result, Signal, Target, Value};

const KINDS: [&str; 4] = ["email", "card", "ipv4", "ipv6"];
const MAX_VALUE: usize = 64 * 1024; // longer strings pass unchanged

struct Config {
    hash: bool,
    mask: Vec<u8>,
    enabled: [bool; 4],
    bodies: bool,
    allow: Vec<Vec<u8>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hash: false,
            mask: b"****".to_vec(),
            enabled: [true; 4],
            bodies: true,
            allow: Vec::new(),
        }
    }
}

#[derive(Default)]
struct State {
    config: Config,
    out: Vec<u8>,
    edits: Edits,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn configure(json: &Json) -> Result {
    let mut c = Config::default();
    if let Some(v) = json.get("mode") {
        match v.as_str() {
            Some("hash") => c.hash = true,
            Some("mask") => {}
            Some(m) if m.len() < 16 => {
                return Err(Error::new(format!("config.mode: unknown mode \"{m}\" (mask or hash)")))
            }
            _ => return Err(Error::new("config.mode must be \"mask\" or \"hash\"")),
        }
    }
    if let Some(v) = json.get("mask") {
        match v.as_str() {
            Some(m) if m.len() <= 256 => c.mask = m.as_bytes().to_vec(),
            _ => {
                return Err(Error::new(
                    "config.mask must be a string of at most 256 bytes (quote it in YAML)",
                ))
            }
        }
    }
    if let Some(v) = json.get("bodies") {
        c.bodies = v
            .as_bool()
            .ok_or_else(|| Error::new("config.bodies must be true or false"))?;
    }
    if let Some(v) = json.get("kinds") {
        let list = v
            .as_array()
            .ok_or_else(|| Error::new("config.kinds must be a list of email, card, ipv4, ipv6"))?;
        c.enabled = [false; 4];
        for entry in list {
            let name = match entry.as_str() {
                Some(n) if n.len() < 16 => n,
                _ => return Err(Error::new("config.kinds: every kind is one of email, card, ipv4, ipv6")),
            };
            match KINDS.iter().position(|k| *k == name) {
                Some(k) => c.enabled[k] = true,
                None => {
                    return Err(Error::new(format!(
                        "config.kinds: unknown kind \"{name}\" (email, card, ipv4, ipv6)"
                    )))
                }
            }
        }
    }
    if let Some(v) = json.get("allow_keys") {
        let list = v
            .as_array()
            .ok_or_else(|| Error::new("config.allow_keys must be a list of attribute keys"))?;
        for entry in list {
            match entry.as_str() {
                Some(k) if k.len() <= 1023 => c.allow.push(k.as_bytes().to_vec()),
                _ => {
                    return Err(Error::new(
                        "config.allow_keys: every entry must be a string (at most 1023 bytes)",
                    ))
                }
            }
        }
    }
    STATE.with(|s| s.borrow_mut().config = c);
    Ok(())
}

/// Writes s with its matches replaced to `out`; the number of matches (0: the value stays
/// as it is), with their kinds added to counts.
fn redact(c: &Config, out: &mut Vec<u8>, s: &[u8], counts: &mut [u64; 4]) -> usize {
    out.clear();
    let (mut i, mut copied, mut found) = (0, 0, 0);
    while i < s.len() {
        let mut hit = None;
        if c.enabled[0] {
            hit = match_email(s, i).map(|(start, end)| (start, end, 0));
        }
        if hit.is_none() && c.enabled[1] {
            hit = match_card(s, i).map(|end| (i, end, 1));
        }
        if hit.is_none() && c.enabled[3] {
            hit = match_ipv6(s, i).map(|end| (i, end, 3));
        }
        if hit.is_none() && c.enabled[2] {
            hit = match_ipv4(s, i).map(|end| (i, end, 2));
        }
        let Some((start, end, kind)) = hit else {
            // No match starts right after a word character: skip the rest of a word at once.
            i += 1;
            while i < s.len() && is_word(s[i - 1]) {
                i += 1;
            }
            continue;
        };
        out.extend_from_slice(&s[copied..start]);
        if c.hash {
            out.extend_from_slice(b"sha256:");
            out.extend_from_slice(&weft::sha256_hex(&s[start..end]).as_bytes()[..16]);
        } else {
            out.extend_from_slice(&c.mask);
        }
        counts[kind] += 1;
        found += 1;
        copied = end;
        i = end;
    }
    if found > 0 {
        out.extend_from_slice(&s[copied..]);
    }
    found
}

/// An attribute ending at or before `before` has this key: weft edits the first attribute
/// of a key, so a later duplicate cannot be edited on its own.
fn earlier_duplicate(attrs: &Attributes, before: usize, key: &[u8]) -> bool {
    let mut r = Reader::new(attrs.message);
    while let Some(f) = r.next() {
        if r.offset() > before {
            return false;
        }
        if f.number == attrs.field && f.wire_type == 2 && pb_bytes(f.bytes, 1) == key {
            return true;
        }
    }
    false
}

fn redact_attributes(st: &mut State, attrs: Attributes, target: Target, index: usize, counts: &mut [u64; 4]) {
    let mut r = Reader::new(attrs.message);
    let mut before = 0;
    while let Some(f) = r.next() {
        let here = before;
        before = r.offset();
        if f.number != attrs.field || f.wire_type != 2 {
            continue;
        }
        let key = pb_bytes(f.bytes, 1);
        let Value::Str(v) = Value::read(pb_bytes(f.bytes, 2)) else {
            continue;
        };
        if v.is_empty() || v.len() > MAX_VALUE || st.config.allow.iter().any(|k| k == key) || key.contains(&0) {
            continue;
        }
        let mut found = [0u64; 4];
        if redact(&st.config, &mut st.out, v, &mut found) == 0 || earlier_duplicate(&attrs, here, key) {
            continue;
        }
        st.edits.set_string(target, index, key, &st.out);
        for k in 0..4 {
            counts[k] += found[k];
        }
    }
}

fn process(batch: &Batch) -> Result {
    STATE.with(|st| {
        let st = &mut *st.borrow_mut();
        if !st.config.enabled.iter().any(|&e| e) {
            return Ok(());
        }
        let mut counts = [0u64; 4];
        st.edits.clear();
        // Resources once each (every item of a resource shares it), by their number in the batch.
        let resources = Reader::new(batch.request()).filter(|f| f.number == 1 && f.wire_type == 2);
        for (index, f) in resources.enumerate() {
            let attrs = Attributes {
                message: pb_bytes(f.bytes, 1),
                field: fields::RESOURCE_ATTRIBUTES,
            };
            redact_attributes(st, attrs, Target::Resource, index, &mut counts);
        }
        let bodies = st.config.bodies && batch.signal() == Signal::Logs;
        for item in batch.items() {
            redact_attributes(st, item.attributes(), Target::Item, item.index, &mut counts);
            if bodies {
                if let Value::Str(body) = item.body() {
                    if !body.is_empty()
                        && body.len() <= MAX_VALUE
                        && redact(&st.config, &mut st.out, body, &mut counts) > 0
                    {
                        st.edits.set_body(item.index, &st.out);
                    }
                }
            }
        }
        if st.edits.is_empty() {
            return Ok(()); // nothing found: the batch passes unchanged
        }
        st.edits
            .submit()
            .map_err(|_| Error::new("weft refused the edit list"))?;
        for (k, n) in counts.iter().enumerate() {
            if *n > 0 {
                weft::counter_add("redact_redactions", *n as f64, &format!("kind={}", KINDS[k]))?;
            }
        }
        Ok(())
    })
}

weft::plugin!(configure: configure, traces: process, metrics: process, logs: process);
