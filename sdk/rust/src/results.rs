//! Results: drop or replace alone, or a keep-mask and edits together (docs/abi.md, "Results").

use crate::{host, Error, Result};

fn check(rc: i32, what: &str) -> Result {
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::new(format!("weft refused {what} ({rc})")))
    }
}

/// Drops the whole batch.
pub fn drop_all() -> Result {
    check(unsafe { host::result_drop_all() }, "drop_all")
}

/// Replaces the batch with these request bytes (same signal; weft checks them).
pub fn replace(request: &[u8]) -> Result {
    check(
        unsafe { host::result_replace(request.as_ptr(), request.len() as i32) },
        "the replacement",
    )
}

/// Every item kept until dropped. Reuse one across batches with `reset`.
#[derive(Default)]
pub struct KeepMask {
    mask: Vec<u8>,
    dropped: usize,
}

impl KeepMask {
    pub fn new(items: usize) -> Self {
        let mut m = KeepMask::default();
        m.reset(items);
        m
    }
    /// Makes the mask `items` long, all kept.
    pub fn reset(&mut self, items: usize) {
        self.mask.clear();
        self.mask.resize(items, 1);
        self.dropped = 0;
    }
    pub fn drop_item(&mut self, index: usize) {
        if self.mask[index] != 0 {
            self.dropped += 1;
        }
        self.mask[index] = 0;
    }
    pub fn dropped(&self) -> usize {
        self.dropped
    }
    /// Hands the mask to weft: nothing when nothing was dropped, drop_all when all were.
    pub fn submit(&self) -> Result {
        match self.dropped {
            0 => Ok(()),
            n if n == self.mask.len() => drop_all(),
            _ => check(
                unsafe { host::result_keep(self.mask.as_ptr(), self.mask.len() as i32) },
                "the keep-mask",
            ),
        }
    }
}

/// The target of an edit: an item (by item index) or a resource (by resource index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Item = 0,
    Resource = 1,
}

/// An edit list that weft applies natively (docs/abi.md, "Edit list").
#[derive(Default)]
pub struct Edits {
    buf: Vec<u8>,
}

impl Edits {
    pub fn new() -> Self {
        Self::default()
    }
    fn head(&mut self, op: u8, target: Target, index: usize, key: &[u8]) {
        self.buf.push(op);
        self.buf.push(target as u8);
        self.buf.extend_from_slice(&(index as u32).to_le_bytes());
        self.buf.extend_from_slice(&(key.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(key);
    }
    fn bytes(&mut self, s: &[u8]) {
        self.buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(s);
    }
    pub fn set_string(&mut self, target: Target, index: usize, key: &[u8], value: &[u8]) {
        self.head(1, target, index, key);
        self.bytes(value);
    }
    pub fn set_int(&mut self, target: Target, index: usize, key: &[u8], value: i64) {
        self.head(2, target, index, key);
        self.buf.extend_from_slice(&value.to_le_bytes());
    }
    pub fn set_double(&mut self, target: Target, index: usize, key: &[u8], value: f64) {
        self.head(3, target, index, key);
        self.buf.extend_from_slice(&value.to_bits().to_le_bytes());
    }
    pub fn set_bool(&mut self, target: Target, index: usize, key: &[u8], value: bool) {
        self.head(4, target, index, key);
        self.buf.push(value as u8);
    }
    pub fn delete(&mut self, target: Target, index: usize, key: &[u8]) {
        self.head(5, target, index, key);
    }
    pub fn rename(&mut self, target: Target, index: usize, key: &[u8], new_key: &[u8]) {
        self.head(6, target, index, key);
        self.bytes(new_key);
    }
    pub fn set_name(&mut self, index: usize, name: &[u8]) {
        self.head(7, Target::Item, index, &[]);
        self.bytes(name);
    }
    pub fn set_body(&mut self, index: usize, body: &[u8]) {
        self.head(8, Target::Item, index, &[]);
        self.bytes(body);
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// Empties the list, keeping its buffer.
    pub fn clear(&mut self) {
        self.buf.clear();
    }
    /// The encoded list.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
    /// Hands the list to weft (if not empty).
    pub fn submit(&self) -> Result {
        if self.buf.is_empty() {
            return Ok(());
        }
        check(
            unsafe { host::result_edits(self.buf.as_ptr(), self.buf.len() as i32) },
            "the edit list",
        )
    }
}
