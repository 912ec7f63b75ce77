// elasticsearch (Go): OTLP logs to the Elasticsearch bulk API (`POST <endpoint>/_bulk`,
// NDJSON: a `create` action and a document per log record). weft owns the connection, TLS,
// compression, headers, auth, retries and the queue; this plugin maps and reads the answer.
// Per-item failures in the bulk response become a partial result: the refused records are
// counted as failed, the reason (the first item's error) goes to weft's log.
//
// config: {"path": "/_bulk", "index": "logs-generic.otel-default", "mode": "otel" | "none",
// "max_bytes": 5000000} (a batch goes as bulk requests of at most max_bytes each)
//
// mode "otel" (the Go collector's default): @timestamp, observed_timestamp, severity_text,
// severity_number, body.text (a string body) or body.structured, trace_id, span_id,
// event_name, attributes.*, resource.attributes.*, scope.name, scope.version,
// scope.attributes.*, data_stream.{type,dataset,namespace}.
// mode "none": @timestamp, Body, SeverityText, SeverityNumber, TraceId, SpanId,
// TraceFlags, Attributes.*, Resource.*, Scope.name, Scope.version.
package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	weft "weft.local/sdk"
)

func main() {}

type config struct {
	Path  string `json:"path"`
	Index string `json:"index"`
	Mode  string `json:"mode"`
	// A batch's documents go as several bulk requests of at most this many bytes each
	// (the Go collector's flush.bytes default).
	MaxBytes int `json:"max_bytes"`
}

const defaultMaxBytes = 5000000

var cfg = config{Path: "/_bulk", Mode: "otel", MaxBytes: defaultMaxBytes}

func init() { weft.Configure(configure) }

func configure(raw []byte) error {
	c := config{Path: "/_bulk", Mode: "otel", MaxBytes: defaultMaxBytes}
	if len(strings.TrimSpace(string(raw))) > 0 {
		if err := json.Unmarshal(raw, &c); err != nil {
			return errors.New("config: " + err.Error())
		}
	}
	if c.MaxBytes <= 0 {
		return errors.New("config.max_bytes must be positive")
	}
	switch c.Mode {
	case "otel":
		if c.Index == "" {
			c.Index = "logs-generic.otel-default"
		}
	case "none":
		if c.Index == "" {
			c.Index = "logs-generic-default"
		}
	default:
		return errors.New("config.mode: expected otel or none, got " + strconv.Quote(c.Mode))
	}
	cfg = c
	return nil
}

// ---- reading OTLP ---------------------------------------------------------------------------

// anyValue decodes an AnyValue into what encoding/json writes: strings, numbers, booleans,
// lists, objects; bytes as base64.
func anyValue(m []byte) any {
	r := weft.NewReader(m)
	var f weft.Field
	for r.Next(&f) {
		switch f.Number {
		case 1:
			return string(f.Bytes)
		case 2:
			return f.U64 != 0
		case 3:
			return int64(f.U64)
		case 4:
			d := math.Float64frombits(f.U64)
			if math.IsNaN(d) || math.IsInf(d, 0) {
				return strconv.FormatFloat(d, 'g', -1, 64)
			}
			return d
		case 5:
			list := []any{}
			each(f.Bytes, 1, func(v []byte) { list = append(list, anyValue(v)) })
			return list
		case 6:
			return keyValues(f.Bytes, 1)
		case 7:
			return base64.StdEncoding.EncodeToString(f.Bytes)
		}
	}
	return nil
}

// keyValues reads the KeyValue fields `number` of m as an object.
func keyValues(m []byte, number uint32) map[string]any {
	out := map[string]any{}
	each(m, number, func(kv []byte) { out[string(weft.Bytes(kv, 1))] = anyValue(weft.Bytes(kv, 2)) })
	return out
}

func each(m []byte, number uint32, fn func([]byte)) {
	r := weft.NewReader(m)
	var f weft.Field
	for r.Next(&f) {
		if f.Number == number && f.WireType == 2 {
			fn(f.Bytes)
		}
	}
}

func fixed64(m []byte, number uint32) uint64 {
	r := weft.NewReader(m)
	var f weft.Field
	for r.Next(&f) {
		if f.Number == number && f.WireType == 1 {
			return f.U64
		}
	}
	return 0
}

func timestamp(nanos uint64) string {
	return time.Unix(0, int64(nanos)).UTC().Format("2006-01-02T15:04:05.000000000Z")
}

func hexOrEmpty(b []byte) string {
	if len(b) == 0 || strings.Trim(string(b), "\x00") == "" {
		return ""
	}
	return hex.EncodeToString(b)
}

// document maps one LogRecord with its resource and scope.
func document(record, resource, scope []byte) map[string]any {
	t := fixed64(record, 1)
	observed := fixed64(record, 11)
	if t == 0 {
		t = observed
	}
	severityText := string(weft.Bytes(record, 3))
	severity := weft.U64(record, 2)
	body := anyValue(weft.Bytes(record, 5))
	traceID, spanID := hexOrEmpty(weft.Bytes(record, 9)), hexOrEmpty(weft.Bytes(record, 10))
	doc := map[string]any{"@timestamp": timestamp(t)}
	put := func(key string, value any, keep bool) {
		if keep {
			doc[key] = value
		}
	}
	if cfg.Mode == "none" {
		put("Body", body, body != nil)
		put("SeverityText", severityText, severityText != "")
		put("SeverityNumber", severity, severity != 0)
		put("TraceId", traceID, traceID != "")
		put("SpanId", spanID, spanID != "")
		flags := uint32(weft.U64(record, 8)) // fixed32
		put("TraceFlags", flags, flags != 0)
		put("Attributes", keyValues(record, 6), true)
		put("Resource", keyValues(resource, 1), true)
		put("Scope", map[string]any{"name": string(weft.Bytes(scope, 1)),
			"version": string(weft.Bytes(scope, 2))}, len(scope) > 0)
		return doc
	}
	if observed != 0 {
		doc["observed_timestamp"] = timestamp(observed)
	}
	put("severity_text", severityText, severityText != "")
	put("severity_number", severity, severity != 0)
	if s, ok := body.(string); ok {
		doc["body"] = map[string]any{"text": s}
	} else if body != nil {
		doc["body"] = map[string]any{"structured": body}
	}
	put("trace_id", traceID, traceID != "")
	put("span_id", spanID, spanID != "")
	if name := weft.Bytes(record, 12); len(name) > 0 {
		doc["event_name"] = string(name)
	}
	doc["attributes"] = keyValues(record, 6)
	doc["resource"] = map[string]any{"attributes": keyValues(resource, 1)}
	sc := map[string]any{}
	put2 := func(k string, v []byte) {
		if len(v) > 0 {
			sc[k] = string(v)
		}
	}
	put2("name", weft.Bytes(scope, 1))
	put2("version", weft.Bytes(scope, 2))
	if attrs := keyValues(scope, 3); len(attrs) > 0 {
		sc["attributes"] = attrs
	}
	doc["scope"] = sc
	dataset, namespace := "generic.otel", "default"
	if parts := strings.SplitN(cfg.Index, "-", 3); len(parts) == 3 && parts[0] == "logs" {
		dataset, namespace = parts[1], parts[2]
	}
	doc["data_stream"] = map[string]any{"type": "logs", "dataset": dataset, "namespace": namespace}
	return doc
}

// chunk is one bulk request's NDJSON body and how many documents it holds.
type chunk struct {
	body []byte
	docs int
}

// bulk is the batch's log records as NDJSON bodies of at most cfg.MaxBytes each (a single
// document larger than that goes alone), in order.
func bulk(batch *weft.Batch) ([]chunk, int, error) {
	action, _ := json.Marshal(map[string]any{"create": map[string]any{"_index": cfg.Index}})
	action = append(action, '\n')
	var chunks []chunk
	var out []byte
	n, inChunk := 0, 0
	var failed error
	each(batch.Request(), 1, func(rl []byte) {
		resource := weft.Bytes(rl, 1)
		each(rl, 2, func(sl []byte) {
			scope := weft.Bytes(sl, 1)
			each(sl, 2, func(record []byte) {
				doc, err := json.Marshal(document(record, resource, scope))
				if err != nil {
					failed = err
					return
				}
				if inChunk > 0 && len(out)+len(action)+len(doc)+1 > cfg.MaxBytes {
					chunks = append(chunks, chunk{out, inChunk})
					out, inChunk = nil, 0
				}
				out = append(out, action...)
				out = append(out, doc...)
				out = append(out, '\n')
				n++
				inChunk++
			})
		})
	})
	if inChunk > 0 {
		chunks = append(chunks, chunk{out, inChunk})
	}
	return chunks, n, failed
}

// ---- sending --------------------------------------------------------------------------------

type bulkResponse struct {
	Errors bool                         `json:"errors"`
	Items  []map[string]json.RawMessage `json:"items"`
}

type bulkItem struct {
	Status int `json:"status"`
	Error  *struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"error"`
}

const who = "elasticsearch"

// export sends the batch's chunks in order. A chunk the destination refuses for now makes
// the whole batch retryable (the chunks already taken are sent again: at least once, as
// the Go collector's exporter); refused documents add up to a partial result.
func export(batch *weft.Batch) weft.ExportResult {
	chunks, n, err := bulk(batch)
	if err != nil {
		return weft.Drop(who + ": " + err.Error())
	}
	rejected, reason := int64(0), ""
	for _, c := range chunks {
		r, why, result, done := send(c)
		if done {
			return result
		}
		rejected += r
		if reason == "" {
			reason = why
		}
	}
	if rejected == 0 {
		return weft.Sent()
	}
	text := who + ": " + strconv.FormatInt(rejected, 10) + " of " + strconv.Itoa(n) +
		" documents refused (" + reason + ")"
	if int(rejected) >= n {
		return weft.Drop(text)
	}
	return weft.Partial(rejected, text)
}

// send makes one bulk request: the documents refused and why, or (done) the batch's result
// when the request as a whole failed.
func send(c chunk) (int64, string, weft.ExportResult, bool) {
	headers := [][2]string{{"Content-Type", "application/x-ndjson"}}
	resp, err := weft.HTTPRequest("POST", cfg.Path, headers, c.body)
	result := weft.FromHTTP(resp, err, who)
	if err != nil || resp.Status < 200 || resp.Status >= 300 {
		return 0, "", result, true
	}
	var answer bulkResponse
	if jsonErr := json.Unmarshal(resp.Body(), &answer); jsonErr != nil {
		return 0, "", weft.Drop(who + ": the bulk response is not JSON: " + jsonErr.Error()), true
	}
	if !answer.Errors {
		return 0, "", weft.Sent(), false
	}
	rejected, reason := int64(0), ""
	for _, entry := range answer.Items {
		for _, raw := range entry {
			var item bulkItem
			if json.Unmarshal(raw, &item) != nil || item.Status < 300 {
				continue
			}
			rejected++
			if reason == "" {
				reason = "HTTP " + strconv.Itoa(item.Status)
				if item.Error != nil {
					reason += " " + item.Error.Type + ": " + item.Error.Reason
				}
			}
		}
	}
	return rejected, reason, weft.Sent(), false
}

//go:wasmexport weft_export_logs
func exportLogs(ptr, size int32) int32 { return weft.Export(weft.Logs, ptr, size, export) }
