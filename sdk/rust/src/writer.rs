//! Writing protobuf: requests to emit, destinations' formats (Prometheus remote write).

/// A message written field by field: `Proto::new().string(1, "x").message(2, &inner)`.
#[derive(Clone, Debug, Default)]
pub struct Proto {
    buf: Vec<u8>,
}

impl Proto {
    pub fn new() -> Self {
        Proto { buf: Vec::new() }
    }
    fn raw_varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u32) {
        self.raw_varint(((field as u64) << 3) | wire as u64);
    }
    pub fn varint(&mut self, field: u32, value: u64) -> &mut Self {
        self.key(field, 0);
        self.raw_varint(value);
        self
    }
    /// A signed integer as `int64` (two's complement varint).
    pub fn int64(&mut self, field: u32, value: i64) -> &mut Self {
        self.varint(field, value as u64)
    }
    pub fn fixed64(&mut self, field: u32, value: u64) -> &mut Self {
        self.key(field, 1);
        self.buf.extend_from_slice(&value.to_le_bytes());
        self
    }
    /// A `double` field.
    pub fn double(&mut self, field: u32, value: f64) -> &mut Self {
        self.fixed64(field, value.to_bits())
    }
    pub fn bytes(&mut self, field: u32, value: &[u8]) -> &mut Self {
        self.key(field, 2);
        self.raw_varint(value.len() as u64);
        self.buf.extend_from_slice(value);
        self
    }
    pub fn string(&mut self, field: u32, value: &str) -> &mut Self {
        self.bytes(field, value.as_bytes())
    }
    pub fn message(&mut self, field: u32, message: &Proto) -> &mut Self {
        self.bytes(field, &message.buf)
    }
    /// A KeyValue with a string AnyValue (OTLP attributes).
    pub fn string_attribute(&mut self, field: u32, key: &str, value: &str) -> &mut Self {
        let mut any = Proto::new();
        any.string(1, value);
        let mut kv = Proto::new();
        kv.string(1, key).message(2, &any);
        self.message(field, &kv)
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub fn clear(&mut self) {
        self.buf.clear();
    }
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{pb_bytes, pb_u64};

    #[test]
    fn writes_what_the_reader_reads() {
        let mut inner = Proto::new();
        inner.string(1, "name").double(2, 1.5);
        let mut outer = Proto::new();
        outer.varint(1, 300).int64(2, -1).message(3, &inner);
        let b = outer.as_bytes();
        assert_eq!(pb_u64(b, 1), 300);
        assert_eq!(pb_u64(b, 2) as i64, -1);
        assert_eq!(pb_bytes(pb_bytes(b, 3), 1), b"name");
        assert_eq!(f64::from_bits(pb_u64(pb_bytes(b, 3), 2)), 1.5);
    }
}
