// filter (Go): drops spans, log records or data points that match any rule; the same
// plugin as plugins/filter/filter.c, written with the Go SDK.
//
// config: {"drop": [rule, ...]}; a rule holds when all its conditions hold:
//
//	"name": "x"                 span name / metric name equals x
//	"attribute": "k"            the item's attribute k ...
//	"resource_attribute": "k"   ... or the resource's attribute k
//	  with one of: "equals": "v" | "not_equals": "v" | "prefix": "p" | "exists": true|false
//	               "gt": n | "lt": n   (int or double attributes)
//	"severity_below": n         log records with severity_number < n (and > 0)
package main

import (
	"bytes"
	"encoding/json"
	"errors"

	weft "weft.local/sdk"
)

type op int

const (
	opNone op = iota
	opEquals
	opNotEquals
	opPrefix
	opExists
	opGt
	opLt
)

type rule struct {
	name          string
	key           string
	onResource    bool
	op            op
	text          string
	number        float64
	exists        bool
	severityBelow uint64
}

// The JSON form of a rule; pointers tell absent from empty.
type ruleJSON struct {
	Name              *string  `json:"name"`
	Attribute         *string  `json:"attribute"`
	ResourceAttribute *string  `json:"resource_attribute"`
	Equals            *string  `json:"equals"`
	NotEquals         *string  `json:"not_equals"`
	Prefix            *string  `json:"prefix"`
	Exists            *bool    `json:"exists"`
	Gt                *float64 `json:"gt"`
	Lt                *float64 `json:"lt"`
	SeverityBelow     *float64 `json:"severity_below"`
}

var (
	rules []rule
	mask  weft.KeepMask
)

func configure(config []byte) error {
	rules = nil
	var c struct {
		Drop json.RawMessage `json:"drop"`
	}
	if err := json.Unmarshal(config, &c); err != nil {
		return errors.New("config is not a JSON object: " + err.Error())
	}
	if len(c.Drop) == 0 || string(c.Drop) == "null" {
		return nil // nothing to drop
	}
	if !bytes.HasPrefix(bytes.TrimSpace(c.Drop), []byte("[")) {
		return errors.New("config.drop must be a list of rules")
	}
	var list []ruleJSON
	if err := json.Unmarshal(c.Drop, &list); err != nil {
		return errors.New("config.drop: " + err.Error())
	}
	if len(list) > 32 {
		return errors.New("config.drop has more than 32 rules")
	}
	for _, r := range list {
		x := rule{}
		if r.Name != nil {
			x.name = *r.Name
		}
		if r.Attribute != nil {
			x.key = *r.Attribute
		}
		if r.ResourceAttribute != nil {
			x.key, x.onResource = *r.ResourceAttribute, true
		}
		switch {
		case r.Equals != nil:
			x.op, x.text = opEquals, *r.Equals
		case r.NotEquals != nil:
			x.op, x.text = opNotEquals, *r.NotEquals
		case r.Prefix != nil:
			x.op, x.text = opPrefix, *r.Prefix
		case r.Exists != nil:
			x.op, x.exists = opExists, *r.Exists
		case r.Gt != nil:
			x.op, x.number = opGt, *r.Gt
		case r.Lt != nil:
			x.op, x.number = opLt, *r.Lt
		}
		if r.SeverityBelow != nil {
			x.severityBelow = uint64(int(*r.SeverityBelow))
		}
		if x.key != "" && x.op == opNone {
			return errors.New("a rule with an attribute needs equals, not_equals, prefix, exists, gt or lt")
		}
		if x.key == "" && x.name == "" && x.severityBelow == 0 {
			return errors.New("a rule needs name, attribute, resource_attribute or severity_below")
		}
		rules = append(rules, x)
	}
	return nil
}

func valueMatches(x *rule, found bool, v weft.Value) bool {
	if x.op == opExists {
		return found == x.exists
	}
	if !found {
		return x.op == opNotEquals
	}
	switch x.op {
	case opEquals:
		return v.IsString(x.text)
	case opNotEquals:
		return !v.IsString(x.text)
	case opPrefix:
		return v.Type == weft.ValueString && bytes.HasPrefix(v.Str, []byte(x.text))
	case opGt, opLt:
		d, ok := v.Number()
		if !ok {
			return false
		}
		if x.op == opGt {
			return d > x.number
		}
		return d < x.number
	}
	return false
}

func ruleMatches(x *rule, signal weft.Signal, item *weft.Item) bool {
	if x.name != "" && string(item.Name()) != x.name {
		return false
	}
	if x.severityBelow != 0 {
		if signal != weft.Logs {
			return false
		}
		if s := item.Severity(); s == 0 || s >= x.severityBelow {
			return false
		}
	}
	if x.key != "" {
		attrs := item.Attributes()
		if x.onResource {
			attrs = item.ResourceAttributes()
		}
		v, found := attrs.Find(x.key)
		if !valueMatches(x, found, v) {
			return false
		}
	}
	return true
}

func process(batch *weft.Batch) error {
	if len(rules) == 0 || batch.Len() == 0 {
		return nil
	}
	mask.Reset(batch.Len())
	batch.Each(func(item *weft.Item) bool {
		for i := range rules {
			if ruleMatches(&rules[i], batch.Signal(), item) {
				mask.Drop(item.Index)
				break
			}
		}
		return true
	})
	if mask.Dropped() == 0 {
		return nil // unchanged: nothing is re-encoded
	}
	weft.CounterAdd("filter_dropped_items", float64(mask.Dropped()), "")
	return mask.Submit()
}

func init() { weft.Configure(configure) }

//go:wasmexport weft_process_traces
func processTraces(ptr, size int32) int32 { return weft.Process(weft.Traces, ptr, size, process) }

//go:wasmexport weft_process_metrics
func processMetrics(ptr, size int32) int32 { return weft.Process(weft.Metrics, ptr, size, process) }

//go:wasmexport weft_process_logs
func processLogs(ptr, size int32) int32 { return weft.Process(weft.Logs, ptr, size, process) }

func main() {}
