//! Zero-copy reading of the batch: a protobuf field reader, values, attributes, items.

/// One protobuf field: number, wire type, and its integer value or its bytes.
#[derive(Clone, Copy, Debug)]
pub struct Field<'a> {
    pub number: u32,
    pub wire_type: u32,
    pub u64: u64,
    pub bytes: &'a [u8],
}

/// Walks the fields of a message in place.
#[derive(Clone)]
pub struct Reader<'a> {
    b: &'a [u8],
    p: usize,
    /// Set on malformed input.
    pub error: bool,
}

impl<'a> Reader<'a> {
    pub fn new(message: &'a [u8]) -> Self {
        Reader {
            b: message,
            p: 0,
            error: false,
        }
    }

    /// The position after the field read last.
    pub fn offset(&self) -> usize {
        self.p
    }

    #[inline(always)]
    fn varint(&mut self) -> Option<u64> {
        let b = self.b;
        let mut p = self.p;
        if p < b.len() && b[p] < 0x80 {
            self.p = p + 1;
            return Some(b[p] as u64);
        }
        let mut x = 0u64;
        let mut shift = 0;
        while shift < 64 && p < b.len() {
            let c = b[p];
            p += 1;
            x |= ((c & 0x7f) as u64) << shift;
            if c < 0x80 {
                self.p = p;
                return Some(x);
            }
            shift += 7;
        }
        None
    }

    fn fail(&mut self) -> Option<Field<'a>> {
        self.error = true;
        None
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Field<'a>;

    #[inline]
    fn next(&mut self) -> Option<Field<'a>> {
        if self.error || self.p >= self.b.len() {
            return None;
        }
        let tag = match self.varint() {
            Some(t) if t >> 3 != 0 => t,
            _ => return self.fail(),
        };
        let mut f = Field {
            number: (tag >> 3) as u32,
            wire_type: (tag & 7) as u32,
            u64: 0,
            bytes: &[],
        };
        match f.wire_type {
            0 => match self.varint() {
                Some(v) => f.u64 = v,
                None => return self.fail(),
            },
            1 => {
                if self.b.len() - self.p < 8 {
                    return self.fail();
                }
                f.u64 = u64::from_le_bytes(self.b[self.p..self.p + 8].try_into().unwrap());
                self.p += 8;
            }
            5 => {
                if self.b.len() - self.p < 4 {
                    return self.fail();
                }
                f.u64 = u32::from_le_bytes(self.b[self.p..self.p + 4].try_into().unwrap()) as u64;
                self.p += 4;
            }
            2 => {
                let n = match self.varint() {
                    Some(n) if n <= (self.b.len() - self.p) as u64 => n as usize,
                    _ => return self.fail(),
                };
                f.bytes = &self.b[self.p..self.p + n];
                self.p += n;
            }
            _ => return self.fail(),
        }
        Some(f)
    }
}

/// The first length-delimited field `number` of a message (empty if absent).
pub fn pb_bytes(message: &[u8], number: u32) -> &[u8] {
    Reader::new(message)
        .find(|f| f.number == number && f.wire_type == 2)
        .map_or(&[], |f| f.bytes)
}

/// Every length-delimited field `number` of a message (a repeated message), in order.
pub fn pb_repeated(message: &[u8], number: u32) -> impl Iterator<Item = &[u8]> {
    Reader::new(message)
        .filter(move |f| f.number == number && f.wire_type == 2)
        .map(|f| f.bytes)
}

/// The first varint or fixed field `number` of a message (0 if absent).
pub fn pb_u64(message: &[u8], number: u32) -> u64 {
    Reader::new(message)
        .find(|f| f.number == number && f.wire_type != 2)
        .map_or(0, |f| f.u64)
}

/// An AnyValue, read in place.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    None,
    Str(&'a [u8]),
    Bool(bool),
    Int(i64),
    Double(f64),
    /// array, kvlist, bytes
    Other,
}

impl<'a> Value<'a> {
    /// Decodes an AnyValue message.
    pub fn read(any: &'a [u8]) -> Value<'a> {
        let mut v = Value::None;
        for f in Reader::new(any) {
            v = match f.number {
                1 => Value::Str(f.bytes),
                2 => Value::Bool(f.u64 != 0),
                3 => Value::Int(f.u64 as i64),
                4 => Value::Double(f64::from_bits(f.u64)),
                _ => Value::Other,
            };
        }
        v
    }

    /// The string, if this is one.
    pub fn str(&self) -> Option<&'a [u8]> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An int or double as f64.
    pub fn number(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::Double(d) => Some(d),
            _ => None,
        }
    }
}

/// The attributes (KeyValue, field `field`) of a message.
#[derive(Clone, Copy)]
pub struct Attributes<'a> {
    pub message: &'a [u8],
    pub field: u32,
}

impl<'a> Attributes<'a> {
    /// Every attribute as (key, value), in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], Value<'a>)> + 'a {
        let field = self.field;
        Reader::new(self.message)
            .filter(move |f| f.number == field && f.wire_type == 2)
            .map(|f| (pb_bytes(f.bytes, 1), Value::read(pb_bytes(f.bytes, 2))))
    }

    /// The value of the first attribute with this key; only that value is decoded.
    pub fn find(&self, key: &str) -> Option<Value<'a>> {
        let key = key.as_bytes();
        for f in Reader::new(self.message) {
            if f.number == self.field && f.wire_type == 2 && pb_bytes(f.bytes, 1) == key {
                return Some(Value::read(pb_bytes(f.bytes, 2)));
            }
        }
        None
    }
}

/// Field numbers a plugin most often needs.
pub mod fields {
    pub const RESOURCE_ATTRIBUTES: u32 = 1;
    pub const SPAN_NAME: u32 = 5;
    pub const SPAN_ATTRIBUTES: u32 = 9;
    pub const LOG_SEVERITY_NUMBER: u32 = 2;
    pub const LOG_BODY: u32 = 5;
    pub const LOG_ATTRIBUTES: u32 = 6;
    pub const POINT_ATTRIBUTES: u32 = 7;
    pub const METRIC_NAME: u32 = 1;
}
