package weft

import (
	"errors"
	"strconv"
	"strings"
	"unsafe"
)

// The edges (ABI 1.2): outbound HTTP and export statuses for exporters, the request and
// the answer for receivers, and Emit for receivers and connectors.

// readSized reads through a host call that copies up to cap bytes and returns the full
// size (negative: that code).
func readSized(call func(out unsafe.Pointer, cap int32) int32) ([]byte, int32) {
	buf := make([]byte, 256)
	for {
		n := call(ptr(buf), int32(len(buf)))
		if n < 0 {
			return nil, n
		}
		if int(n) <= len(buf) {
			return buf[:n], 0
		}
		buf = make([]byte, n)
	}
}

// HTTPError is why HTTPRequest got no HTTP status (docs/abi.md, "Exporter plugins").
type HTTPError int32

const (
	HTTPInvalid HTTPError = -2 // a bad method, URL or header line
	HTTPDenied  HTTPError = -3 // an origin or address the plugin may not reach
	HTTPLimit   HTTPError = -4 // a cap (sizes, concurrent requests) or no time left
	HTTPFailed  HTTPError = -5 // no response (refused, reset, TLS, the deadline)
)

func (e HTTPError) Error() string {
	switch e {
	case HTTPInvalid:
		return "invalid request"
	case HTTPDenied:
		return "denied by the plugin's permissions"
	case HTTPLimit:
		return "over a limit"
	case HTTPFailed:
		return "no response"
	}
	return "http_request failed (" + strconv.Itoa(int(e)) + ")"
}

// Response is the answer to HTTPRequest; its headers and body are read on demand, until
// the next request.
type Response struct {
	Status int
}

// Header is a header of the response (name without case); false if absent.
func (Response) Header(name string) (string, bool) {
	v, rc := readSized(func(out unsafe.Pointer, cap int32) int32 {
		return hostHTTPResponseHeader(strPtr(name), int32(len(name)), out, cap)
	})
	return string(v), rc == 0
}

// Body is the response's body.
func (Response) Body() []byte {
	v, _ := readSized(func(out unsafe.Pointer, cap int32) int32 { return hostHTTPResponseBody(out, cap) })
	return v
}

// HTTPRequest makes one request through weft: url is a path relative to the exporter's
// endpoint or an absolute URL of an allowed origin; headers are name, value pairs. weft
// adds the configured headers, auth and compression and bounds it by the call's deadline.
func HTTPRequest(method, url string, headers [][2]string, body []byte) (Response, error) {
	var lines strings.Builder
	for _, h := range headers {
		lines.WriteString(h[0])
		lines.WriteString(": ")
		lines.WriteString(h[1])
		lines.WriteByte('\n')
	}
	hs := lines.String()
	rc := hostHTTPRequest(strPtr(method), int32(len(method)), strPtr(url), int32(len(url)),
		strPtr(hs), int32(len(hs)), ptr(body), int32(len(body)))
	if rc < 0 {
		return Response{}, HTTPError(rc)
	}
	return Response{Status: int(rc)}, nil
}

// ExportResult is what an export did with its batch (Sent, Retry, Drop, Partial build one).
type ExportResult struct {
	status       int32
	retryAfterMs int64
	rejected     int64
	reason       string
}

// Sent: weft counts the batch's items as sent.
func Sent() ExportResult { return ExportResult{status: 0} }

// Retry: weft retries the same batch with backoff, not before afterMs (0: no minimum).
func Retry(reason string, afterMs int64) ExportResult {
	return ExportResult{status: 1, retryAfterMs: afterMs, reason: reason}
}

// Drop: the batch is dropped and counted as failed.
func Drop(reason string) ExportResult { return ExportResult{status: 2, reason: reason} }

// Partial: sent, but the destination refused `rejected` of the batch's items.
func Partial(rejected int64, reason string) ExportResult {
	return ExportResult{status: 3, rejected: rejected, reason: reason}
}

// FromHTTP is what an HTTP answer usually means: 2xx sent; 429, 502, 503, 504 and no
// response retried (after the response's Retry-After seconds); anything else dropped. who
// starts the reason ("elasticsearch: the destination answered HTTP 400").
func FromHTTP(resp Response, err error, who string) ExportResult {
	var httpErr HTTPError
	switch {
	case errors.As(err, &httpErr) && httpErr == HTTPFailed:
		return Retry(who+": the request failed (no response)", 0)
	case err != nil:
		return Drop(who + ": the request failed (" + err.Error() + ")")
	case resp.Status >= 200 && resp.Status < 300:
		return Sent()
	}
	reason := who + ": the destination answered HTTP " + strconv.Itoa(resp.Status)
	if body := resp.Body(); len(body) > 0 {
		reason += ": " + strings.TrimSpace(string(body[:min(len(body), 200)]))
	}
	if resp.Status == 429 || (resp.Status >= 502 && resp.Status <= 504) {
		after := int64(0)
		if v, ok := resp.Header("Retry-After"); ok {
			if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				after = s * 1000
			}
		}
		return Retry(reason, after)
	}
	return Drop(reason)
}

// ExportFunc sends one batch.
type ExportFunc func(batch *Batch) ExportResult

// Export runs fn on the batch weft wrote at ptr; the body of a weft_export_<signal> export.
func Export(signal Signal, ptr, size int32, fn ExportFunc) int32 {
	batch, err := batchAt(signal, ptr, size)
	if err != nil {
		return status(err)
	}
	r := fn(batch)
	release(batch.request)
	if r.reason != "" {
		SetError(r.reason)
	}
	if r.status == 1 && r.retryAfterMs > 0 {
		hostSetRetryAfter(r.retryAfterMs)
	}
	if r.status == 3 {
		hostSetRejected(r.rejected)
	}
	return r.status
}

// ReceiveFunc turns a request's (push) or a target's (pull) body into telemetry with Emit;
// an error is the client's 400 (push) or marks the target down (pull).
type ReceiveFunc func(body []byte) error

// Receive runs fn on the body weft wrote at ptr; the body of the weft_receive export.
func Receive(ptr, size int32, fn ReceiveFunc) int32 {
	data := take(ptr, size)
	if data == nil && size != 0 {
		return status(errors.New("weft: body at an unknown address"))
	}
	rc := status(fn(data))
	release(data)
	return rc
}

// Emit hands an encoded Export<Signal>ServiceRequest to weft (receivers and connectors).
func Emit(signal Signal, request []byte) error {
	return result(hostEmit(int32(signal), ptr(request), int32(len(request))), "what the plugin emitted")
}

// What a receiver's request is (RequestInfo).
const (
	RequestMethod = 0
	RequestPath   = 1
	RequestQuery  = 2
	RequestTarget = 3 // pull: the URL fetched
	RequestPeer   = 4 // push: the client's address
	RequestStatus = 5 // pull: the target's HTTP status
)

// RequestInfo is what the request is (one of the Request* constants); false if it has none.
func RequestInfo(which int32) (string, bool) {
	v, rc := readSized(func(out unsafe.Pointer, cap int32) int32 { return hostRequestInfo(which, out, cap) })
	return string(v), rc == 0
}

// RequestHeader is a header of the request (push) or the target's response (pull).
func RequestHeader(name string) (string, bool) {
	v, rc := readSized(func(out unsafe.Pointer, cap int32) int32 {
		return hostRequestHeader(strPtr(name), int32(len(name)), out, cap)
	})
	return string(v), rc == 0
}

// Respond sets the answer's status and body for an accepted push request.
func Respond(status int, body []byte) error {
	return result(hostRespond(int32(status), ptr(body), int32(len(body))), "respond")
}
