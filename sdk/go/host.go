package weft

import "unsafe"

// The imports of docs/abi.md (module "weft"). Pointers are offsets into linear memory.

//go:wasmimport weft log
func hostLog(level int32, ptr unsafe.Pointer, n int32)

//go:wasmimport weft set_error
func hostSetError(ptr unsafe.Pointer, n int32)

//go:wasmimport weft now_unix_nano
func hostNow() int64

//go:wasmimport weft metric
func hostMetric(kind int32, name unsafe.Pointer, nameLen int32, value float64, attrs unsafe.Pointer, attrsLen int32) int32

//go:wasmimport weft kv_get
func hostKvGet(key unsafe.Pointer, keyLen int32, out unsafe.Pointer, outCap int32) int32

//go:wasmimport weft kv_set
func hostKvSet(key unsafe.Pointer, keyLen int32, val unsafe.Pointer, valLen int32) int32

//go:wasmimport weft kv_delete
func hostKvDelete(key unsafe.Pointer, keyLen int32) int32

//go:wasmimport weft env_get
func hostEnvGet(name unsafe.Pointer, nameLen int32, out unsafe.Pointer, outCap int32) int32

//go:wasmimport weft result_drop_all
func hostDropAll() int32

//go:wasmimport weft result_keep
func hostKeep(ptr unsafe.Pointer, n int32) int32

//go:wasmimport weft result_edits
func hostEdits(ptr unsafe.Pointer, n int32) int32

//go:wasmimport weft result_replace
func hostReplace(ptr unsafe.Pointer, n int32) int32

// ptr returns the address of b's first byte (nil for an empty slice).
func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

func strPtr(s string) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.StringData(s))
}

//go:wasmimport weft emit
func hostEmit(signal int32, ptr unsafe.Pointer, n int32) int32

//go:wasmimport weft http_request
func hostHTTPRequest(method unsafe.Pointer, methodLen int32, url unsafe.Pointer, urlLen int32,
	headers unsafe.Pointer, headersLen int32, body unsafe.Pointer, bodyLen int32) int32

//go:wasmimport weft http_response_header
func hostHTTPResponseHeader(name unsafe.Pointer, nameLen int32, out unsafe.Pointer, outCap int32) int32

//go:wasmimport weft http_response_body
func hostHTTPResponseBody(out unsafe.Pointer, outCap int32) int32

//go:wasmimport weft set_retry_after
func hostSetRetryAfter(milliseconds int64) int32

//go:wasmimport weft set_rejected
func hostSetRejected(items int64) int32

//go:wasmimport weft request_info
func hostRequestInfo(which int32, out unsafe.Pointer, outCap int32) int32

//go:wasmimport weft request_header
func hostRequestHeader(name unsafe.Pointer, nameLen int32, out unsafe.Pointer, outCap int32) int32

//go:wasmimport weft respond
func hostRespond(status int32, body unsafe.Pointer, n int32) int32
