// redact (Go): replaces e-mail addresses, payment card numbers and IP addresses in the
// string attributes of spans, log records and data points, in the string attributes of
// their resources, and in string log bodies, with an edit list weft applies natively; the
// same plugin as plugins/redact/redact.c (see its README), written with the Go SDK.
//
// config: {"mode": "mask" | "hash",                        default "mask"
//
//	"mask": "****",                                  the replacement in mask mode
//	"allow_keys": ["user.id", ...],                  attributes never redacted (exact key)
//	"kinds": ["email", "card", "ipv4", "ipv6"],      what to look for; default all
//	"bodies": true}                                  log bodies too; default true
//
// In hash mode a match becomes "sha256:" + the first 16 hex characters of its SHA-256.
package main

import (
	"bytes"
	"encoding/json"
	"errors"

	weft "weft.local/sdk"
)

const (
	kindEmail = iota
	kindCard
	kindIPv4
	kindIPv6
	kindCount
)

var kindNames = [kindCount]string{"email", "card", "ipv4", "ipv6"}

const maxValue = 64 * 1024 // longer strings pass unchanged

var (
	hashMode     bool
	mask         = []byte("****")
	enabled      [kindCount]bool
	anyEnabled   bool
	redactBodies bool
	allow        map[string]bool
	out          []byte
	edits        weft.Edits
)

func reset() {
	hashMode, mask, anyEnabled, redactBodies, allow = false, []byte("****"), true, true, nil
	for k := range enabled {
		enabled[k] = true
	}
}

func isJSONString(raw json.RawMessage) bool { return len(raw) > 0 && raw[0] == '"' }

func configure(config []byte) error {
	reset()
	var c map[string]json.RawMessage
	if err := json.Unmarshal(config, &c); err != nil {
		return errors.New("config is not a JSON object: " + err.Error())
	}
	if v, ok := c["mode"]; ok {
		var mode string
		if !isJSONString(v) || json.Unmarshal(v, &mode) != nil || len(mode) > 15 {
			return errors.New(`config.mode must be "mask" or "hash"`)
		}
		switch mode {
		case "hash":
			hashMode = true
		case "mask":
		default:
			return errors.New(`config.mode: unknown mode "` + mode + `" (mask or hash)`)
		}
	}
	if v, ok := c["mask"]; ok {
		var m string
		if !isJSONString(v) || json.Unmarshal(v, &m) != nil || len(m) > 256 {
			return errors.New("config.mask must be a string of at most 256 bytes (quote it in YAML)")
		}
		mask = []byte(m)
	}
	if v, ok := c["bodies"]; ok {
		if json.Unmarshal(v, &redactBodies) != nil {
			return errors.New("config.bodies must be true or false")
		}
	}
	if v, ok := c["kinds"]; ok {
		var list []json.RawMessage
		if json.Unmarshal(v, &list) != nil {
			return errors.New("config.kinds must be a list of email, card, ipv4, ipv6")
		}
		enabled, anyEnabled = [kindCount]bool{}, false
		for _, entry := range list {
			var name string
			if !isJSONString(entry) || json.Unmarshal(entry, &name) != nil || len(name) > 15 {
				return errors.New("config.kinds: every kind is one of email, card, ipv4, ipv6")
			}
			found := false
			for k, n := range kindNames {
				if n == name {
					enabled[k], found, anyEnabled = true, true, true
				}
			}
			if !found {
				return errors.New(`config.kinds: unknown kind "` + name + `" (email, card, ipv4, ipv6)`)
			}
		}
	}
	if v, ok := c["allow_keys"]; ok {
		var list []json.RawMessage
		if json.Unmarshal(v, &list) != nil {
			return errors.New("config.allow_keys must be a list of attribute keys")
		}
		allow = map[string]bool{}
		for _, entry := range list {
			var key string
			if !isJSONString(entry) || json.Unmarshal(entry, &key) != nil || len(key) > 1023 {
				return errors.New("config.allow_keys: every entry must be a string (at most 1023 bytes)")
			}
			allow[key] = true
		}
	}
	return nil
}

func appendReplacement(match []byte) {
	if !hashMode {
		out = append(out, mask...)
		return
	}
	out = append(out, "sha256:"...)
	out = append(out, weft.SHA256Hex(match)[:16]...)
}

// redact writes s with its matches replaced to out; returns the number of matches (0: the
// value stays as it is), with their kinds added to counts.
func redact(s []byte, counts *[kindCount]int) int {
	out = out[:0]
	i, copied, found := 0, 0, 0
	n := len(s)
	for i < n {
		start, end, kind := i, 0, -1
		if enabled[kindEmail] {
			if st, e := matchEmail(s, i); e != 0 {
				start, end, kind = st, e, kindEmail
			}
		}
		if kind < 0 && enabled[kindCard] {
			if end = matchCard(s, i); end != 0 {
				kind = kindCard
			}
		}
		if kind < 0 && enabled[kindIPv6] {
			if end = matchIPv6(s, i); end != 0 {
				kind = kindIPv6
			}
		}
		if kind < 0 && enabled[kindIPv4] {
			if end = matchIPv4(s, i); end != 0 {
				kind = kindIPv4
			}
		}
		if kind < 0 {
			// No match starts right after a word character: skip the rest of a word at once.
			for i++; i < n && isWord(s[i-1]); i++ {
			}
			continue
		}
		out = append(out, s[copied:start]...)
		appendReplacement(s[start:end])
		counts[kind]++
		found++
		copied, i = end, end
	}
	if found > 0 {
		out = append(out, s[copied:]...)
	}
	return found
}

// earlierDuplicate: an attribute ending at or before offset `before` has this key (weft
// edits the first attribute of a key, so a later duplicate cannot be edited on its own).
func earlierDuplicate(attrs weft.Attributes, before int, key []byte) bool {
	r := weft.NewReader(attrs.Message)
	var f weft.Field
	for r.Next(&f) {
		if r.Offset() > before {
			return false
		}
		if f.Number == attrs.Field && f.WireType == 2 && bytes.Equal(weft.Bytes(f.Bytes, 1), key) {
			return true
		}
	}
	return false
}

// redactAttributes adds a set-string edit for every string attribute with a match.
func redactAttributes(attrs weft.Attributes, target weft.Target, index int, counts *[kindCount]int) {
	r := weft.NewReader(attrs.Message)
	var f weft.Field
	before := 0
	for ; r.Next(&f); before = r.Offset() {
		if f.Number != attrs.Field || f.WireType != 2 {
			continue
		}
		key := weft.Bytes(f.Bytes, 1)
		v := weft.ReadValue(weft.Bytes(f.Bytes, 2))
		if v.Type != weft.ValueString || len(v.Str) == 0 || len(v.Str) > maxValue {
			continue
		}
		if allow[string(key)] || bytes.IndexByte(key, 0) >= 0 {
			continue
		}
		var found [kindCount]int
		if redact(v.Str, &found) == 0 || earlierDuplicate(attrs, before, key) {
			continue
		}
		edits.SetString(target, index, string(key), string(out))
		for k := range found {
			counts[k] += found[k]
		}
	}
}

func process(batch *weft.Batch) error {
	if !anyEnabled {
		return nil
	}
	var counts [kindCount]int
	edits.Reset()
	// Resources once each (every item of a resource shares it), by their number in the batch.
	r := weft.NewReader(batch.Request())
	var f weft.Field
	resource := 0
	for r.Next(&f) {
		if f.Number != 1 || f.WireType != 2 {
			continue
		}
		attrs := weft.Attributes{Message: weft.Bytes(f.Bytes, 1), Field: weft.ResourceAttributes}
		redactAttributes(attrs, weft.TargetResource, resource, &counts)
		resource++
	}
	bodies := redactBodies && batch.Signal() == weft.Logs
	batch.Each(func(item *weft.Item) bool {
		redactAttributes(item.Attributes(), weft.TargetItem, item.Index, &counts)
		if bodies {
			body := item.Body()
			if body.Type == weft.ValueString && len(body.Str) > 0 && len(body.Str) <= maxValue &&
				redact(body.Str, &counts) > 0 {
				edits.SetBody(item.Index, string(out))
			}
		}
		return true
	})
	if edits.Len() == 0 {
		return nil // nothing found: the batch passes unchanged
	}
	if edits.Submit() != nil {
		return errors.New("weft refused the edit list")
	}
	for k, n := range counts {
		if n > 0 {
			weft.CounterAdd("redact_redactions", float64(n), "kind="+kindNames[k])
		}
	}
	return nil
}

func init() { weft.Configure(configure) }

//go:wasmexport weft_process_traces
func processTraces(ptr, size int32) int32 { return weft.Process(weft.Traces, ptr, size, process) }

//go:wasmexport weft_process_metrics
func processMetrics(ptr, size int32) int32 { return weft.Process(weft.Metrics, ptr, size, process) }

//go:wasmexport weft_process_logs
func processLogs(ptr, size int32) int32 { return weft.Process(weft.Logs, ptr, size, process) }

func main() {}
