// {{name}}: a weft plugin. It drops every span and log record whose attribute named by
// config "attribute" (default "debug") has the string value config "equals" (default
// "true"), and counts what it dropped in the counter "dropped".
//
// Build it with `weft plugin build`, test it with `weft plugin test`; the Go SDK's guide is
// sdk/go/README.md in the weft repository.
package main

import (
	"encoding/json"
	"errors"

	weft "weft.local/sdk"
)

var config struct {
	Attribute string `json:"attribute"`
	Equals    string `json:"equals"`
}

var mask weft.KeepMask

func configure(raw []byte) error {
	config.Attribute, config.Equals = "debug", "true"
	if err := json.Unmarshal(raw, &config); err != nil {
		return errors.New("config: " + err.Error())
	}
	return nil
}

func process(batch *weft.Batch) error {
	mask.Reset(batch.Len())
	batch.Each(func(item *weft.Item) bool {
		if v, ok := item.Attributes().Find(config.Attribute); ok && v.IsString(config.Equals) {
			mask.Drop(item.Index)
		}
		return true
	})
	if mask.Dropped() > 0 {
		weft.CounterAdd("dropped", float64(mask.Dropped()), "")
	}
	return mask.Submit()
}

func init() { weft.Configure(configure) }

//go:wasmexport weft_process_traces
func processTraces(ptr, size int32) int32 { return weft.Process(weft.Traces, ptr, size, process) }

//go:wasmexport weft_process_logs
func processLogs(ptr, size int32) int32 { return weft.Process(weft.Logs, ptr, size, process) }

func main() {}
