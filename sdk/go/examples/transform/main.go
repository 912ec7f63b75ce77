// transform (Go): sets, renames, deletes and hashes attributes of spans, log records,
// data points and their resources, with an edit list weft applies natively; the same
// plugin as plugins/transform/transform.c, written with the Go SDK.
//
// config: {"actions": [action, ...]}, applied in order; an action is
//
//	{"action": "set",    "key": "k", "value": "v" | 1 | 1.5 | true, "target": "item"|"resource"}
//	{"action": "rename", "key": "old", "to": "new", "target": ...}
//	{"action": "delete", "key": "k", "target": ...}
//	{"action": "hash",   "key": "k", "target": ...}   string value -> its SHA-256 (hex)
//
// target defaults to "item".
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	weft "weft.local/sdk"
)

type kind int

const (
	actSet kind = iota
	actRename
	actDelete
	actHash
)

type valueType int

const (
	valString valueType = iota
	valInt
	valDouble
	valBool
)

type action struct {
	kind   kind
	target weft.Target
	key    string
	to     string
	vtype  valueType
	str    string
	i      int64
	d      float64
	b      bool
}

var (
	actions            []action
	hasResourceActions bool
	edits              weft.Edits
)

func parseValue(a *action, raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return false
	}
	switch {
	case raw[0] == '"':
		a.vtype = valString
		return json.Unmarshal(raw, &a.str) == nil
	case string(raw) == "true" || string(raw) == "false":
		a.vtype, a.b = valBool, string(raw) == "true"
		return true
	}
	d, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return false
	}
	a.d, a.i = d, int64(d)
	a.vtype = valDouble
	if !bytes.ContainsAny(raw, ".eE") {
		a.vtype = valInt
	}
	return true
}

type actionJSON struct {
	Action *string         `json:"action"`
	Key    *string         `json:"key"`
	To     *string         `json:"to"`
	Target *string         `json:"target"`
	Value  json.RawMessage `json:"value"`
}

func configure(config []byte) error {
	actions, hasResourceActions = nil, false
	var c struct {
		Actions json.RawMessage `json:"actions"`
	}
	if err := json.Unmarshal(config, &c); err != nil {
		return errors.New("config is not a JSON object: " + err.Error())
	}
	if len(c.Actions) == 0 || string(c.Actions) == "null" {
		return nil
	}
	var list []json.RawMessage
	if !bytes.HasPrefix(bytes.TrimSpace(c.Actions), []byte("[")) || json.Unmarshal(c.Actions, &list) != nil {
		return errors.New("config.actions must be a list")
	}
	if len(list) > 32 {
		return errors.New("config.actions has more than 32 actions")
	}
	for _, raw := range list {
		var e actionJSON
		if json.Unmarshal(raw, &e) != nil || e.Action == nil {
			return errors.New(`every action needs "action": set, rename, delete or hash`)
		}
		if e.Key == nil || *e.Key == "" {
			return errors.New(`every action needs a "key"`)
		}
		a := action{key: *e.Key}
		target := "item"
		if e.Target != nil {
			target = *e.Target
		}
		switch target {
		case "resource":
			a.target, hasResourceActions = weft.TargetResource, true
		case "item":
			a.target = weft.TargetItem
		default:
			return errors.New("target must be item or resource")
		}
		switch *e.Action {
		case "set":
			a.kind = actSet
			if !parseValue(&a, e.Value) {
				return errors.New(`set needs a string, number or boolean "value"`)
			}
		case "rename":
			a.kind = actRename
			if e.To == nil || *e.To == "" {
				return errors.New(`rename needs "to"`)
			}
			a.to = *e.To
		case "delete":
			a.kind = actDelete
		case "hash":
			a.kind = actHash
		default:
			return errors.New("action must be set, rename, delete or hash")
		}
		actions = append(actions, a)
	}
	return nil
}

// edit adds the edits of one action for one item or resource with attributes attrs.
func edit(a *action, index int, attrs weft.Attributes) {
	switch a.kind {
	case actSet:
		switch a.vtype {
		case valString:
			edits.SetString(a.target, index, a.key, a.str)
		case valInt:
			edits.SetInt(a.target, index, a.key, a.i)
		case valDouble:
			edits.SetDouble(a.target, index, a.key, a.d)
		default:
			edits.SetBool(a.target, index, a.key, a.b)
		}
	case actRename:
		edits.Rename(a.target, index, a.key, a.to)
	case actDelete:
		edits.Delete(a.target, index, a.key)
	case actHash:
		if v, ok := attrs.Find(a.key); ok && v.Type == weft.ValueString {
			edits.SetString(a.target, index, a.key, weft.SHA256Hex(v.Str))
		}
	}
}

func process(batch *weft.Batch) error {
	if len(actions) == 0 || batch.Len() == 0 {
		return nil
	}
	edits.Reset()
	nextResource := 0 // resources are edited once, at their first item
	batch.Each(func(item *weft.Item) bool {
		first := hasResourceActions && item.ResourceIndex+1 > nextResource
		for i := range actions {
			a := &actions[i]
			if a.target == weft.TargetItem {
				edit(a, item.Index, item.Attributes())
			} else if first {
				edit(a, item.ResourceIndex, item.ResourceAttributes())
			}
		}
		if first {
			nextResource = item.ResourceIndex + 1
		}
		return true
	})
	if edits.Submit() != nil {
		return errors.New("weft refused the edit list")
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
