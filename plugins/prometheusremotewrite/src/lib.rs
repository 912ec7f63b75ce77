//! prometheusremotewrite: OTLP metrics to Prometheus remote write (version 1: a protobuf
//! WriteRequest, snappy-compressed by weft), named and labelled the way the
//! OpenTelemetry–Prometheus compatibility specification says. weft owns the connection,
//! TLS, compression, headers, retries and the queue; this plugin maps and encodes.
//!
//! | OTLP                                   | remote write                                    |
//! | -------------------------------------- | ----------------------------------------------- |
//! | Gauge, non-monotonic cumulative Sum    | a series per point, the metric's name           |
//! | monotonic cumulative Sum               | a counter: the name with `_total`               |
//! | cumulative Histogram                   | `_bucket{le}` (cumulative, `+Inf` last), `_sum`, `_count` |
//! | Summary                                | `{quantile}`, `_sum`, `_count`                  |
//! | delta temporality, exponential histograms, points without a name | not sent: counted as rejected (a partial result) |
//! | the unit (with `add_metric_suffixes`)  | a suffix: `s` `_seconds`, `By` `_bytes`, `1` on a gauge `_ratio`, `X/Y` `_X_per_Y` |
//! | service.namespace/service.name, service.instance.id | `job`, `instance`              |
//! | other resource attributes              | a `target_info` series (and every series' labels with `resource_to_telemetry_conversion`) |
//! | point attributes                       | labels, names sanitized to `[a-zA-Z0-9_]`       |
//! | a point flagged "no recorded value"    | Prometheus's stale marker                       |

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use weft::{pb_bytes, pb_repeated, pb_u64, Batch, Export, Json, Proto, Reader, Value};

#[derive(Clone, Debug, Default)]
pub struct Config {
    pub path: String,
    pub namespace: String,
    pub external_labels: Vec<(String, String)>,
    pub add_metric_suffixes: bool,
    pub resource_to_telemetry: bool,
    pub target_info: bool,
    pub send_metadata: bool,
    pub max_batch_size_bytes: usize,
}

thread_local! {
    static CONFIG: RefCell<Config> = RefCell::new(Config::default());
}

fn configure(config: &Json) -> weft::Result {
    let mut c = Config {
        path: "/api/v1/write".into(),
        add_metric_suffixes: true,
        target_info: true,
        max_batch_size_bytes: 3_000_000,
        ..Config::default()
    };
    if let Some(p) = config.get("path").and_then(Json::as_str) {
        c.path = p.to_string();
    }
    if let Some(n) = config.get("namespace").and_then(Json::as_str) {
        c.namespace = n.to_string();
    }
    if let Some(Json::Object(labels)) = config.get("external_labels") {
        for (k, v) in labels {
            let value = v
                .as_str()
                .ok_or_else(|| weft::Error::new("external_labels: values must be strings"))?;
            c.external_labels.push((sanitize_label(k), value.to_string()));
        }
    }
    let flag = |name: &str, default: bool| config.get(name).and_then(Json::as_bool).unwrap_or(default);
    c.add_metric_suffixes = flag("add_metric_suffixes", true);
    c.resource_to_telemetry = flag("resource_to_telemetry_conversion", false);
    c.target_info = flag("target_info", true);
    c.send_metadata = flag("send_metadata", false);
    if let Some(n) = config.get("max_batch_size_bytes").and_then(Json::as_f64) {
        if n < 1.0 {
            return Err(weft::Error::new("max_batch_size_bytes must be positive"));
        }
        c.max_batch_size_bytes = n as usize;
    }
    CONFIG.with(|cell| *cell.borrow_mut() = c);
    Ok(())
}

// ---- names -------------------------------------------------------------------------------

fn valid_name_char(c: char, first: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (!first && c.is_ascii_digit())
}

/// A metric name with every character Prometheus does not allow as `_`, runs of `_` as
/// one, and none at the ends (what the specification's translation does).
pub fn sanitize_metric(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = if valid_name_char(c, false) { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches('_');
    if trimmed.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        format!("_{trimmed}")
    } else {
        trimmed.to_string()
    }
}

/// A label name: invalid characters as `_`; one that starts with a digit gets `key_`; one
/// that starts with a single `_` gets `key` (`__` names are Prometheus's own).
pub fn sanitize_label(name: &str) -> String {
    let b = name.as_bytes();
    if !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b.starts_with(b"__"))
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        return name.to_string();
    }
    let mut out: String = name
        .chars()
        .map(|c| if valid_name_char(c, false) && c != ':' { c } else { '_' })
        .collect();
    if out.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        out = format!("key_{out}");
    } else if out.starts_with('_') && !out.starts_with("__") {
        out = format!("key{out}");
    }
    out
}

fn unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "%" => "percent",
        _ => return None,
    })
}

fn per_unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

/// The unit as a name suffix: a word from the table, a `{annotation}` dropped, `X/Y` as
/// `X_per_Y`, anything else sanitized as it is.
pub fn unit_suffix(unit: &str) -> String {
    let strip = |u: &str| -> String {
        let u = u.trim();
        if u.starts_with('{') && u.ends_with('}') {
            return String::new();
        }
        u.to_string()
    };
    let (main, per) = match unit.split_once('/') {
        Some((a, b)) => (strip(a), strip(b)),
        None => (strip(unit), String::new()),
    };
    let main = unit_word(&main).map(str::to_string).unwrap_or(main);
    let per = per_unit_word(&per).map(str::to_string).unwrap_or(per);
    let text = match (main.is_empty(), per.is_empty()) {
        (_, true) => main,
        (true, false) => format!("per_{per}"),
        (false, false) => format!("{main}_per_{per}"),
    };
    sanitize_metric(&text)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
    Summary,
}

/// The Prometheus name of a metric: sanitized, the unit's suffix and `_total` for counters
/// (with add_metric_suffixes), `_ratio` for a gauge of unit `1`, the namespace in front.
pub fn metric_name(name: &str, unit: &str, kind: Kind, config: &Config) -> String {
    let mut out = sanitize_metric(name);
    if config.add_metric_suffixes {
        if kind == Kind::Counter {
            if let Some(stripped) = out.strip_suffix("_total") {
                out = stripped.to_string();
            }
        }
        let suffix = if unit == "1" {
            if kind == Kind::Gauge {
                "ratio".to_string()
            } else {
                String::new()
            }
        } else {
            unit_suffix(unit)
        };
        if !suffix.is_empty() && !out.ends_with(&format!("_{suffix}")) && out != suffix {
            out.push('_');
            out.push_str(&suffix);
        }
        if kind == Kind::Counter {
            out.push_str("_total");
        }
    }
    if !config.namespace.is_empty() {
        out = format!("{}_{}", sanitize_metric(&config.namespace), out);
    }
    out
}

// ---- reading OTLP ------------------------------------------------------------------------

fn value_text(v: Value) -> String {
    match v {
        Value::Str(s) => String::from_utf8_lossy(s).into_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Double(d) => format_float(d),
        _ => String::new(),
    }
}

/// A float as Prometheus's labels carry it: shortest form, no exponent below 1e21.
pub fn format_float(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if v.is_nan() {
        return "NaN".into();
    }
    format!("{v}")
}

/// KeyValue fields (number `field`) of a message, in order.
fn attributes(message: &[u8], field: u32) -> Vec<(String, String)> {
    pb_repeated(message, field)
        .map(|kv| {
            let key = String::from_utf8_lossy(pb_bytes(kv, 1)).into_owned();
            (key, value_text(Value::read(pb_bytes(kv, 2))))
        })
        .collect()
}

const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

fn double_field(message: &[u8], number: u32) -> Option<f64> {
    Reader::new(message)
        .find(|f| f.number == number && f.wire_type == 1)
        .map(|f| f64::from_bits(f.u64))
}

// ---- building the write request ------------------------------------------------------------

/// FNV-1a: the series index hashes short label sets for every point, where SipHash (the
/// standard map's) cost more than the rest of the mapping.
#[derive(Default)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            h ^= *b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

type Labels = Vec<(String, String)>;

/// A string of the batch (a label name or value) by number: series are built, hashed and
/// compared as numbers, and spelled out once each when the request is written.
type Id = u32;
type IdLabels = Vec<(Id, Id)>;

#[derive(Default)]
struct Strings {
    ids: FastMap<String, Id>,
    list: Vec<String>,
}

impl Strings {
    fn id(&mut self, s: &str) -> Id {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.list.len() as Id;
        self.list.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        id
    }
    fn get(&self, id: Id) -> &str {
        &self.list[id as usize]
    }
}

fn ids_hash(labels: &IdLabels) -> u64 {
    let mut h = Fnv::default();
    for (k, v) in labels {
        h.write(&k.to_le_bytes());
        h.write(&v.to_le_bytes());
    }
    h.finish()
}

#[derive(Default)]
pub struct Series {
    labels: IdLabels,
    samples: Vec<(i64, f64)>,
}

/// The series of one batch, keyed by their sorted labels.
#[derive(Default)]
pub struct Write {
    series: Vec<Series>,
    // hash of the sorted labels -> the series with it (compared on a hit)
    index: FastMap<u64, Vec<usize>>,
    strings: Strings,
    // an attribute's key as written -> its label name
    names: FastMap<Vec<u8>, Id>,
    metadata: Vec<(Kind, String, String, String)>,
    metadata_seen: HashMap<String, ()>,
    pub rejected: i64,
    pub reasons: Vec<String>,
}

impl Write {
    fn intern(&mut self, labels: &Labels) -> IdLabels {
        labels
            .iter()
            .map(|(k, v)| (self.strings.id(k), self.strings.id(v)))
            .collect()
    }

    /// The label name of an attribute key (sanitized once per batch).
    fn name_of(&mut self, key: &[u8]) -> Id {
        if let Some(&id) = self.names.get(key) {
            return id;
        }
        let id = self.strings.id(&sanitize_label(&String::from_utf8_lossy(key)));
        self.names.insert(key.to_vec(), id);
        id
    }

    fn add(&mut self, name: Id, base: &IdLabels, extra: Option<(Id, Id)>, time_ms: i64, value: f64) {
        // The exporter's own labels win over attributes of the same name (`__name__`, and
        // `le` or `quantile`): a series must not name a label twice.
        let mut labels: IdLabels = Vec::with_capacity(base.len() + 2);
        labels.push((NAME_ID, name));
        let extra_name = extra.map(|e| e.0);
        labels.extend(base.iter().filter(|(n, _)| *n != NAME_ID && Some(*n) != extra_name));
        if let Some(e) = extra {
            labels.push(e);
        }
        labels.sort_unstable();
        let hash = ids_hash(&labels);
        let candidates = self.index.entry(hash).or_default();
        let found = candidates.iter().copied().find(|&i| self.series[i].labels == labels);
        let i = match found {
            Some(i) => i,
            None => {
                candidates.push(self.series.len());
                self.series.push(Series {
                    labels,
                    samples: Vec::new(),
                });
                self.series.len() - 1
            }
        };
        self.series[i].samples.push((time_ms, value));
    }

    fn reject(&mut self, points: i64, why: String) {
        self.rejected += points;
        if self.reasons.len() < 3 {
            self.reasons.push(why);
        }
    }

    fn describe(&mut self, kind: Kind, name: &str, help: &str, unit: &str) {
        if self.metadata_seen.insert(name.to_string(), ()).is_none() {
            self.metadata
                .push((kind, name.to_string(), help.to_string(), unit.to_string()));
        }
    }

    /// The WriteRequests: the series in order, each request at most `max_bytes` (a series
    /// larger than that goes alone).
    pub fn requests(mut self, max_bytes: usize, send_metadata: bool) -> Vec<Vec<u8>> {
        let mut series = std::mem::take(&mut self.series);
        let mut out = Vec::new();
        let mut current = Proto::new();
        if send_metadata {
            for (kind, name, help, unit) in &self.metadata {
                let mut m = Proto::new();
                let t = match kind {
                    Kind::Counter => 1,
                    Kind::Gauge => 2,
                    Kind::Histogram => 3,
                    Kind::Summary => 5,
                };
                m.varint(1, t).string(2, name);
                if !help.is_empty() {
                    m.string(4, help);
                }
                if !unit.is_empty() {
                    m.string(5, unit);
                }
                current.message(3, &m);
            }
        }
        let (mut ts, mut part) = (Proto::new(), Proto::new());
        for s in &mut series {
            s.samples.sort_by_key(|(t, _)| *t);
            ts.clear();
            let mut named: Vec<(&str, &str)> = s
                .labels
                .iter()
                .map(|(k, v)| (self.strings.get(*k), self.strings.get(*v)))
                .collect();
            named.sort_unstable();
            for (k, v) in named {
                part.clear();
                part.string(1, k).string(2, v);
                ts.message(1, &part);
            }
            for (t, v) in &s.samples {
                part.clear();
                part.double(1, *v).int64(2, *t);
                ts.message(2, &part);
            }
            if !current.is_empty() && current.len() + ts.len() + 8 > max_bytes {
                out.push(std::mem::take(&mut current).into_bytes());
            }
            current.message(1, &ts);
        }
        if !current.is_empty() {
            out.push(current.into_bytes());
        }
        out
    }
}

const NAME_ID: Id = 0; // "__name__", the first string of every batch

impl Write {
    pub fn new() -> Self {
        let mut w = Write::default();
        w.strings.id("__name__");
        w
    }

    /// A point's labels: the resource's (`base`), its attributes (names sanitized; two that
    /// sanitize to one name have their values joined with `;` in the order of their original
    /// names), then job, instance and the external labels (`ident`) unless one of that name
    /// is there already.
    fn point_labels(&mut self, base: &IdLabels, attrs: &[(&[u8], &[u8])], ident: &IdLabels) -> IdLabels {
        let mut labels = base.clone();
        for (key, any) in attrs {
            let name = self.name_of(key);
            if labels.iter().any(|(n, _)| *n == name) {
                return self.point_labels_joined(base, attrs, ident);
            }
            let value = self.value_of(any);
            labels.push((name, value));
        }
        for &(n, v) in ident {
            if !labels.iter().any(|(m, _)| *m == n) {
                labels.push((n, v));
            }
        }
        labels
    }

    fn point_labels_joined(&mut self, base: &IdLabels, attrs: &[(&[u8], &[u8])], ident: &IdLabels) -> IdLabels {
        let mut strings: Labels = base
            .iter()
            .map(|(k, v)| (self.strings.get(*k).to_string(), self.strings.get(*v).to_string()))
            .collect();
        let named: Labels = attrs
            .iter()
            .map(|(k, any)| (String::from_utf8_lossy(k).into_owned(), value_text(Value::read(any))))
            .collect();
        push_labels_sorted(&mut strings, &named);
        let mut labels = self.intern(&strings);
        for &(n, v) in ident {
            if !labels.iter().any(|(m, _)| *m == n) {
                labels.push((n, v));
            }
        }
        labels
    }

    fn value_of(&mut self, any: &[u8]) -> Id {
        match Value::read(any) {
            Value::Str(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => self.strings.id(text),
                Err(_) => self.strings.id(&String::from_utf8_lossy(bytes)),
            },
            other => self.strings.id(&value_text(other)),
        }
    }
}

/// Maps an ExportMetricsServiceRequest into series.
pub fn map_request(request: &[u8], config: &Config) -> Write {
    let mut w = Write::new();
    for rm in pb_repeated(request, 1) {
        let resource_attrs = attributes(pb_bytes(rm, 1), 1);
        let find = |key: &str| resource_attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let service = find("service.name");
        let job = match (find("service.namespace"), service) {
            (Some(ns), Some(name)) if !ns.is_empty() => Some(format!("{ns}/{name}")),
            (_, name) => name,
        };
        let instance = find("service.instance.id");
        let mut base_strings: Labels = Vec::new();
        if config.resource_to_telemetry {
            push_labels(&mut base_strings, &resource_attrs);
        }
        let base = w.intern(&base_strings);
        let mut ident_strings: Labels = Vec::new();
        identify(&mut ident_strings, job.as_deref(), instance.as_deref(), config);
        let ident = w.intern(&ident_strings);
        let mut latest_ms = 0i64;
        for sm in pb_repeated(rm, 2) {
            for metric in pb_repeated(sm, 2) {
                let points = map_metric(&mut w, metric, &base, &ident, config);
                latest_ms = latest_ms.max(points);
            }
        }
        // target_info: the resource's other attributes, once per resource.
        let others: Labels = resource_attrs
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "service.name" | "service.namespace" | "service.instance.id"))
            .cloned()
            .collect();
        if config.target_info && !others.is_empty() && latest_ms > 0 && (job.is_some() || instance.is_some()) {
            let mut labels = Vec::new();
            push_labels(&mut labels, &others);
            identify(&mut labels, job.as_deref(), instance.as_deref(), config);
            let name = if config.namespace.is_empty() {
                "target_info".to_string()
            } else {
                format!("{}_target_info", sanitize_metric(&config.namespace))
            };
            let (name, labels) = (w.strings.id(&name), w.intern(&labels));
            w.add(name, &labels, None, latest_ms, 1.0);
        }
    }
    w
}

/// Adds attributes as labels: names sanitized; two that sanitize to one name have their
/// values joined with `;` in the order of their original names.
fn push_labels(labels: &mut Labels, attrs: &[(String, String)]) {
    let start = labels.len();
    for (k, v) in attrs {
        let name = sanitize_label(k);
        if labels.iter().any(|(n, _)| *n == name) {
            labels.truncate(start); // a collision: again, in the order of the original names
            return push_labels_sorted(labels, attrs);
        }
        labels.push((name, v.clone()));
    }
}

fn push_labels_sorted(labels: &mut Labels, attrs: &[(String, String)]) {
    let mut sorted: Vec<&(String, String)> = attrs.iter().collect();
    sorted.sort();
    for (k, v) in sorted {
        let name = sanitize_label(k);
        if let Some(existing) = labels.iter_mut().find(|(n, _)| *n == name) {
            existing.1.push(';');
            existing.1.push_str(v);
        } else {
            labels.push((name, v.clone()));
        }
    }
}

/// job, instance and the external labels, unless a label of that name is there already.
fn identify(labels: &mut Labels, job: Option<&str>, instance: Option<&str>, config: &Config) {
    let mut set = |k: &str, v: &str| {
        if !v.is_empty() && !labels.iter().any(|(n, _)| n == k) {
            labels.push((k.to_string(), v.to_string()));
        }
    };
    if let Some(j) = job {
        set("job", j);
    }
    if let Some(i) = instance {
        set("instance", i);
    }
    for (k, v) in &config.external_labels {
        set(k, v);
    }
}

/// A data point's fields, read in one pass (NumberDataPoint, HistogramDataPoint or
/// SummaryDataPoint: `histogram` says which numbering).
#[derive(Default)]
struct Point<'a> {
    time: u64,
    double: Option<f64>,
    int: Option<i64>,
    count: u64,
    sum: Option<f64>,
    flags: u64,
    attrs: Vec<(&'a [u8], &'a [u8])>, // (key, AnyValue) as written
    buckets: Vec<u64>,
    bounds: Vec<f64>,
    quantiles: Vec<&'a [u8]>,
}

#[derive(Clone, Copy, PartialEq)]
enum PointType {
    Number,
    Histogram,
    Summary,
}

fn read_point(p: &[u8], t: PointType) -> Point<'_> {
    let mut out = Point::default();
    let attrs_field = if t == PointType::Histogram { 9 } else { 7 };
    let flags_field = if t == PointType::Histogram { 10 } else { 8 };
    for f in Reader::new(p) {
        match (f.number, t) {
            (3, _) => out.time = f.u64,
            (n, _) if n == attrs_field && f.wire_type == 2 => {
                out.attrs.push((pb_bytes(f.bytes, 1), pb_bytes(f.bytes, 2)));
            }
            (n, _) if n == flags_field => out.flags = f.u64,
            (4, PointType::Number) => out.double = Some(f64::from_bits(f.u64)),
            (6, PointType::Number) => out.int = Some(f.u64 as i64),
            (4, _) => out.count = f.u64,
            (5, _) => out.sum = Some(f64::from_bits(f.u64)),
            (6, PointType::Histogram) => push_fixed64(&mut out.buckets, f),
            (7, PointType::Histogram) => {
                let mut raw = Vec::new();
                push_fixed64(&mut raw, f);
                out.bounds.extend(raw.into_iter().map(f64::from_bits));
            }
            (6, PointType::Summary) if f.wire_type == 2 => out.quantiles.push(f.bytes),
            _ => {}
        }
    }
    out
}

fn push_fixed64(out: &mut Vec<u64>, f: weft::Field) {
    if f.wire_type == 2 {
        out.extend(
            f.bytes
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap())),
        );
    } else {
        out.push(f.u64);
    }
}

fn ms(nanos: u64) -> i64 {
    (nanos / 1_000_000) as i64
}

/// One metric's points into series; returns the latest point time (ms) seen.
fn map_metric(w: &mut Write, metric: &[u8], base: &IdLabels, ident: &IdLabels, config: &Config) -> i64 {
    let name = String::from_utf8_lossy(pb_bytes(metric, 1)).into_owned();
    let help = String::from_utf8_lossy(pb_bytes(metric, 2)).into_owned();
    let unit = String::from_utf8_lossy(pb_bytes(metric, 3)).into_owned();
    let mut latest = 0i64;
    let (field, data) = match Reader::new(metric).find(|f| matches!(f.number, 5 | 7 | 9 | 10 | 11) && f.wire_type == 2)
    {
        Some(f) => (f.number, f.bytes),
        None => return 0,
    };
    let points: Vec<&[u8]> = pb_repeated(data, 1).collect();
    if name.is_empty() {
        w.reject(points.len() as i64, "a metric without a name".into());
        return 0;
    }
    let temporality = pb_u64(data, 2);
    let le = w.strings.id("le");
    let quantile_id = w.strings.id("quantile");
    match field {
        5 | 7 => {
            let monotonic = field == 7 && pb_u64(data, 3) != 0;
            if field == 7 && temporality != 2 {
                w.reject(points.len() as i64, format!("{name}: a sum that is not cumulative"));
                return 0;
            }
            let kind = if monotonic { Kind::Counter } else { Kind::Gauge };
            // `_ratio` is for gauges alone, not for sums that go up and down.
            let unit = if field == 7 && unit == "1" { String::new() } else { unit };
            let prom = metric_name(&name, &unit, kind, config);
            w.describe(kind, &prom, &help, &unit);
            let prom = w.strings.id(&prom);
            for raw in points {
                let p = read_point(raw, PointType::Number);
                let t = ms(p.time);
                let value = if p.flags & 1 != 0 {
                    f64::from_bits(STALE_NAN)
                } else {
                    p.double.unwrap_or(p.int.unwrap_or(0) as f64)
                };
                let labels = w.point_labels(base, &p.attrs, ident);
                w.add(prom, &labels, None, t, value);
                latest = latest.max(t);
            }
        }
        9 => {
            if temporality != 2 {
                w.reject(
                    points.len() as i64,
                    format!("{name}: a histogram that is not cumulative"),
                );
                return 0;
            }
            let prom = metric_name(&name, &unit, Kind::Histogram, config);
            w.describe(Kind::Histogram, &prom, &help, &unit);
            let bucket = w.strings.id(&format!("{prom}_bucket"));
            let count = w.strings.id(&format!("{prom}_count"));
            let sum = w.strings.id(&format!("{prom}_sum"));
            let inf = w.strings.id("+Inf");
            for raw in points {
                let p = read_point(raw, PointType::Histogram);
                let labels = w.point_labels(base, &p.attrs, ident);
                let t = ms(p.time);
                let v = |x: f64| if p.flags & 1 != 0 { f64::from_bits(STALE_NAN) } else { x };
                let mut running = 0u64;
                for (i, c) in p.buckets.iter().enumerate() {
                    running += c;
                    let bound = p.bounds.get(i).map_or(inf, |b| w.strings.id(&format_float(*b)));
                    w.add(bucket, &labels, Some((le, bound)), t, v(running as f64));
                }
                if p.buckets.len() <= p.bounds.len() {
                    // No overflow bucket written: +Inf is the count.
                    w.add(bucket, &labels, Some((le, inf)), t, v(p.count as f64));
                }
                w.add(count, &labels, None, t, v(p.count as f64));
                if let Some(s) = p.sum {
                    w.add(sum, &labels, None, t, v(s));
                }
                latest = latest.max(t);
            }
        }
        11 => {
            let prom = metric_name(&name, &unit, Kind::Summary, config);
            w.describe(Kind::Summary, &prom, &help, &unit);
            let count = w.strings.id(&format!("{prom}_count"));
            let sum = w.strings.id(&format!("{prom}_sum"));
            let prom = w.strings.id(&prom);
            for raw in points {
                let p = read_point(raw, PointType::Summary);
                let labels = w.point_labels(base, &p.attrs, ident);
                let t = ms(p.time);
                let v = |x: f64| if p.flags & 1 != 0 { f64::from_bits(STALE_NAN) } else { x };
                for q in &p.quantiles {
                    let quantile = double_field(q, 1).unwrap_or(0.0);
                    let value = double_field(q, 2).unwrap_or(0.0);
                    let qid = w.strings.id(&format_float(quantile));
                    w.add(prom, &labels, Some((quantile_id, qid)), t, v(value));
                }
                w.add(count, &labels, None, t, v(p.count as f64));
                w.add(sum, &labels, None, t, v(p.sum.unwrap_or(0.0)));
                latest = latest.max(t);
            }
        }
        _ => w.reject(
            points.len() as i64,
            format!("{name}: exponential histograms are not supported"),
        ),
    }
    latest
}

// ---- sending -------------------------------------------------------------------------------

const WHO: &str = "prometheusremotewrite";

fn export(batch: &Batch) -> Export {
    let config = CONFIG.with(|c| c.borrow().clone());
    let write = map_request(batch.request(), &config);
    let rejected = write.rejected;
    let reasons = write.reasons.join("; ");
    let headers = [
        ("Content-Type", "application/x-protobuf"),
        ("X-Prometheus-Remote-Write-Version", "0.1.0"),
    ];
    for body in write.requests(config.max_batch_size_bytes, config.send_metadata) {
        let result = weft::http_request("POST", &config.path, &headers, &body);
        match Export::from_http(result, WHO) {
            Export::Sent => {}
            other => return other,
        }
    }
    if rejected > 0 {
        let reason = format!("{WHO}: {rejected} points not sent: {reasons}");
        if rejected as usize >= batch.len() {
            return Export::Permanent(reason);
        }
        return Export::Partial { rejected, reason };
    }
    Export::Sent
}

weft::plugin!(configure: configure, export_metrics: export);

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            add_metric_suffixes: true,
            target_info: true,
            max_batch_size_bytes: 3_000_000,
            ..Config::default()
        }
    }

    #[test]
    fn names_follow_the_specification() {
        let c = config();
        assert_eq!(
            metric_name("http.server.duration", "s", Kind::Histogram, &c),
            "http_server_duration_seconds"
        );
        assert_eq!(metric_name("requests", "1", Kind::Counter, &c), "requests_total");
        assert_eq!(
            metric_name("requests_total", "{request}", Kind::Counter, &c),
            "requests_total"
        );
        assert_eq!(
            metric_name("cpu.utilization", "1", Kind::Gauge, &c),
            "cpu_utilization_ratio"
        );
        assert_eq!(
            metric_name("throughput", "By/s", Kind::Gauge, &c),
            "throughput_bytes_per_second"
        );
        assert_eq!(metric_name("mem", "By", Kind::Gauge, &c), "mem_bytes");
        assert_eq!(metric_name("mem_bytes", "By", Kind::Gauge, &c), "mem_bytes");
        assert_eq!(metric_name("9lives", "", Kind::Gauge, &c), "_9lives");
        let ns = Config {
            namespace: "app".into(),
            ..config()
        };
        assert_eq!(metric_name("up", "", Kind::Gauge, &ns), "app_up");
        let plain = Config {
            add_metric_suffixes: false,
            ..config()
        };
        assert_eq!(metric_name("requests", "1", Kind::Counter, &plain), "requests");
    }

    #[test]
    fn label_names_are_sanitized() {
        assert_eq!(sanitize_label("http.method"), "http_method");
        assert_eq!(sanitize_label("2xx"), "key_2xx");
        assert_eq!(sanitize_label("_private"), "key_private");
        assert_eq!(sanitize_label("__name__"), "__name__");
        let mut labels = Vec::new();
        push_labels(&mut labels, &[("a.b".into(), "1".into()), ("a_b".into(), "2".into())]);
        assert_eq!(labels, vec![("a_b".to_string(), "1;2".to_string())]);
    }

    #[test]
    fn the_exporters_own_labels_win_over_attributes_of_the_same_name() {
        let mut w = Write::new();
        let (le, name) = (w.strings.id("le"), w.strings.id("h_bucket"));
        let base = vec![(NAME_ID, w.strings.id("x")), (le, w.strings.id("from-attribute"))];
        let bound = w.strings.id("0.5");
        w.add(name, &base, Some((le, bound)), 1, 2.0);
        assert_eq!(w.series[0].labels.iter().filter(|(n, _)| *n == le).count(), 1);
        assert_eq!(w.series[0].labels.iter().filter(|(n, _)| *n == NAME_ID).count(), 1);
        assert!(w.series[0].labels.contains(&(le, bound)) && w.series[0].labels.contains(&(NAME_ID, name)));
    }

    #[test]
    fn a_sum_that_goes_up_and_down_gets_no_ratio_suffix() {
        let mut point = Proto::new();
        point.fixed64(3, 1_700_000_000_000_000_000).double(4, 3.0);
        let mut sum = Proto::new();
        sum.message(1, &point).varint(2, 2).varint(3, 0);
        let mut metric = Proto::new();
        metric.string(1, "queue.fill").string(3, "1").message(7, &sum);
        let mut scope_metrics = Proto::new();
        scope_metrics.message(2, &metric);
        let mut resource_metrics = Proto::new();
        resource_metrics.message(2, &scope_metrics);
        let mut request = Proto::new();
        request.message(1, &resource_metrics);
        let w = map_request(request.as_bytes(), &config());
        let names: Vec<&str> = w.series.iter().map(|s| w.strings.get(s.labels[0].1)).collect();
        assert_eq!(names, vec!["queue_fill"]);
    }

    #[test]
    fn floats_are_written_as_prometheus_reads_them() {
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(5.0), "5");
        assert_eq!(format_float(1e6), "1000000");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
    }
}
