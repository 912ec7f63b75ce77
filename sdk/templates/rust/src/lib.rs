//! {{name}}: a weft plugin. It drops every span and log record whose attribute named by
//! config "attribute" (default "debug") has the string value config "equals" (default
//! "true"), and counts what it dropped in the counter "dropped".
//!
//! Build it with `weft plugin build`, test it with `weft plugin test`; the Rust SDK's guide
//! is sdk/rust/README.md in the weft repository.
use std::cell::RefCell;

use weft::{Batch, Error, Json, KeepMask, Result};

thread_local! {
    static CONFIG: RefCell<(String, String)> = RefCell::new(("debug".into(), "true".into()));
}

fn text(config: &Json, key: &str, default: &str) -> Result<String> {
    match config.get(key) {
        None => Ok(default.to_string()),
        Some(v) => v.as_str().map(str::to_string).ok_or_else(|| Error::new(format!("config.{key} must be a string"))),
    }
}

fn configure(config: &Json) -> Result {
    let pair = (text(config, "attribute", "debug")?, text(config, "equals", "true")?);
    CONFIG.with(|c| *c.borrow_mut() = pair);
    Ok(())
}

fn process(batch: &Batch) -> Result {
    CONFIG.with(|c| {
        let (attribute, equals) = &*c.borrow();
        let mut mask = KeepMask::new(batch.len());
        for item in batch.items() {
            if item.attributes().find(attribute).and_then(|v| v.str()) == Some(equals.as_bytes()) {
                mask.drop_item(item.index);
            }
        }
        if mask.dropped() > 0 {
            weft::counter_add("dropped", mask.dropped() as f64, "")?;
        }
        mask.submit()
    })
}

weft::plugin!(configure: configure, traces: process, logs: process);
