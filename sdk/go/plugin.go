// Package weft is the Go SDK for weft plugins: the ABI of docs/abi.md for Go's own
// GOOS=wasip1 GOARCH=wasm, with zero-copy readers over the batch.
//
//	func main() {}
//	func init() { weft.Configure(configure) }
//	//go:wasmexport weft_process_traces
//	func processTraces(ptr, size int32) int32 { return weft.Process(weft.Traces, ptr, size, process) }
//
// Build with: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
package weft

import (
	"errors"
	"unsafe"
)

// Signal is the kind of telemetry in a batch.
type Signal int32

const (
	Traces  Signal = 0
	Metrics Signal = 1
	Logs    Signal = 2
)

// ConfigureFunc receives the processor's config: as JSON.
type ConfigureFunc func(config []byte) error

// ProcessFunc handles one batch; a non-nil error fails the call (on_error applies).
type ProcessFunc func(batch *Batch) error

var configure ConfigureFunc

// Configure registers the plugin's configure function (call it from init).
func Configure(fn ConfigureFunc) { configure = fn }

// Buffers handed out by weft_alloc, kept referenced until the call that reads them ends.
var pinned = map[uintptr][]byte{}

//go:wasmexport weft_abi_version
func abiVersion() int32 { return 1 }

// The last input buffer, kept for the next batch: a new one would be zeroed and collected
// (a batch is often 100 KB or more).
var spare []byte

//go:wasmexport weft_alloc
func alloc(size int32) int32 {
	if size < 0 {
		return 0
	}
	var buf []byte
	if cap(spare) > int(size) {
		buf, spare = spare[:size+1], nil
	} else {
		buf = make([]byte, size+1) // +1: never empty, so it has an address
	}
	p := uintptr(unsafe.Pointer(&buf[0]))
	pinned[p] = buf
	return int32(p)
}

// take returns the buffer weft wrote at ptr; release hands it back for reuse once the
// call that reads it has returned.
func take(ptr, size int32) []byte {
	p := uintptr(ptr)
	buf, ok := pinned[p]
	if !ok || int(size) > len(buf) {
		return nil
	}
	delete(pinned, p)
	return buf[:size]
}

func release(buf []byte) {
	if cap(buf) > cap(spare) {
		spare = buf
	}
}

//go:wasmexport weft_configure
func configureExport(ptr, size int32) int32 {
	config := take(ptr, size)
	if configure == nil {
		return 0
	}
	return status(configure(config))
}

// Process runs fn on the batch weft wrote at ptr; the body of a weft_process_<signal>
// export. It returns the ABI status.
func Process(signal Signal, ptr, size int32, fn ProcessFunc) int32 {
	batch, err := batchAt(signal, ptr, size)
	if err != nil {
		return status(err)
	}
	rc := status(fn(batch))
	release(batch.request) // the batch and what was read from it are not used after the call
	return rc
}

// batchAt is the batch weft wrote at ptr (hand its request to release after the call).
func batchAt(signal Signal, ptr, size int32) (*Batch, error) {
	data := take(ptr, size)
	if data == nil && size != 0 {
		return nil, errors.New("weft: batch at an unknown address")
	}
	batch := &Batch{signal: signal, request: data}
	batch.count = batch.countItems()
	return batch, nil
}

func status(err error) int32 {
	if err == nil {
		return 0
	}
	SetError(err.Error())
	return 1
}
