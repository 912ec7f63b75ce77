//! A batch and its items (spans, log records, data points) in wire order.

use crate::reader::{fields, pb_bytes, pb_u64, Attributes, Reader, Value};

/// The kind of telemetry in a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Traces = 0,
    Metrics = 1,
    Logs = 2,
}

/// A span, log record or data point with where it lives.
#[derive(Clone, Copy)]
pub struct Item<'a> {
    /// Item number in the batch, as in keep-masks and edits.
    pub index: usize,
    /// Resource number in the batch.
    pub resource_index: usize,
    pub resource: &'a [u8],
    pub scope: &'a [u8],
    /// The Span / LogRecord / *DataPoint message.
    pub raw: &'a [u8],
    /// Metrics only: the Metric.
    pub metric: &'a [u8],
    pub attributes_field: u32,
    pub signal: Signal,
}

impl<'a> Item<'a> {
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            message: self.raw,
            field: self.attributes_field,
        }
    }
    pub fn resource_attributes(&self) -> Attributes<'a> {
        Attributes {
            message: self.resource,
            field: fields::RESOURCE_ATTRIBUTES,
        }
    }
    /// Span name (traces) or metric name (metrics); empty for log records.
    pub fn name(&self) -> &'a [u8] {
        match self.signal {
            Signal::Traces => pb_bytes(self.raw, fields::SPAN_NAME),
            Signal::Metrics => pb_bytes(self.metric, fields::METRIC_NAME),
            Signal::Logs => &[],
        }
    }
    /// A log record's severity number (0 if unset or not a log record).
    pub fn severity(&self) -> u64 {
        if self.signal == Signal::Logs {
            pb_u64(self.raw, fields::LOG_SEVERITY_NUMBER)
        } else {
            0
        }
    }
    /// A log record's body.
    pub fn body(&self) -> Value<'a> {
        if self.signal == Signal::Logs {
            Value::read(pb_bytes(self.raw, fields::LOG_BODY))
        } else {
            Value::None
        }
    }
}

/// One Export*ServiceRequest, read in place.
pub struct Batch<'a> {
    signal: Signal,
    request: &'a [u8],
    len: usize,
}

impl<'a> Batch<'a> {
    pub fn new(signal: Signal, request: &'a [u8]) -> Self {
        let mut b = Batch {
            signal,
            request,
            len: 0,
        };
        b.len = b.items().count();
        b
    }
    pub fn signal(&self) -> Signal {
        self.signal
    }
    /// The number of items.
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The encoded request.
    pub fn request(&self) -> &'a [u8] {
        self.request
    }
    /// The items in wire order.
    pub fn items(&self) -> Items<'a> {
        Items {
            signal: self.signal,
            requests: Reader::new(self.request),
            scopes: None,
            items: None,
            points: None,
            current: Item {
                index: 0,
                resource_index: 0,
                resource: &[],
                scope: &[],
                raw: &[],
                metric: &[],
                attributes_field: 0,
                signal: self.signal,
            },
            next_index: 0,
            next_resource: 0,
        }
    }
}

/// The items of a batch, in wire order.
pub struct Items<'a> {
    signal: Signal,
    requests: Reader<'a>,
    scopes: Option<Reader<'a>>,
    items: Option<Reader<'a>>,
    points: Option<Reader<'a>>,
    current: Item<'a>,
    next_index: usize,
    next_resource: usize,
}

fn next_len_field<'a>(r: &mut Reader<'a>, number: u32) -> Option<&'a [u8]> {
    r.find(|f| f.number == number && f.wire_type == 2).map(|f| f.bytes)
}

impl<'a> Iterator for Items<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        loop {
            if let Some(points) = self.points.as_mut() {
                if let Some(b) = next_len_field(points, 1) {
                    self.current.raw = b;
                    self.current.index = self.next_index;
                    self.next_index += 1;
                    return Some(self.current);
                }
                self.points = None;
            }
            if let Some(b) = self.items.as_mut().and_then(|r| next_len_field(r, 2)) {
                if self.signal != Signal::Metrics {
                    self.current.raw = b;
                    self.current.attributes_field = if self.signal == Signal::Logs {
                        fields::LOG_ATTRIBUTES
                    } else {
                        fields::SPAN_ATTRIBUTES
                    };
                    self.current.index = self.next_index;
                    self.next_index += 1;
                    return Some(self.current);
                }
                self.current.metric = b;
                for f in Reader::new(b) {
                    if f.wire_type == 2 && matches!(f.number, 5 | 7 | 9 | 10 | 11) {
                        self.points = Some(Reader::new(f.bytes));
                        // Number and summary points: 7; histogram: 9; exponential: 1.
                        self.current.attributes_field = match f.number {
                            9 => 9,
                            10 => 1,
                            _ => fields::POINT_ATTRIBUTES,
                        };
                    }
                }
                continue;
            }
            if let Some(b) = self.scopes.as_mut().and_then(|r| next_len_field(r, 2)) {
                self.current.scope = pb_bytes(b, 1);
                self.items = Some(Reader::new(b));
                continue;
            }
            let b = next_len_field(&mut self.requests, 1)?;
            self.current.resource = pb_bytes(b, 1);
            self.current.resource_index = self.next_resource;
            self.next_resource += 1;
            self.scopes = Some(Reader::new(b));
            self.items = None;
        }
    }
}
