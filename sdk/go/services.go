package weft

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// Log levels.
const (
	Debug = 0
	Info  = 1
	Warn  = 2
	Error = 3
)

// Log writes to weft's log, tagged with the plugin's id.
func Log(level int32, message string) { hostLog(level, strPtr(message), int32(len(message))) }

// SetError sets the text weft logs for a failing status (Process and the configure
// wrapper call it with the error returned).
func SetError(message string) { hostSetError(strPtr(message), int32(len(message))) }

// Now is the wall-clock time in nanoseconds since the Unix epoch.
func Now() int64 { return hostNow() }

// Metric attributes are "key=value" lines separated by "\n".
func metric(kind int32, name string, value float64, attributes string) error {
	rc := hostMetric(kind, strPtr(name), int32(len(name)), value, strPtr(attributes),
		int32(len(attributes)))
	return result(rc, "the metric "+name)
}

// CounterAdd adds value to the plugin counter name.
func CounterAdd(name string, value float64, attributes string) error {
	return metric(0, name, value, attributes)
}

// GaugeSet sets the plugin gauge name.
func GaugeSet(name string, value float64, attributes string) error {
	return metric(1, name, value, attributes)
}

// HistogramRecord records value in the plugin histogram name.
func HistogramRecord(name string, value float64, attributes string) error {
	return metric(2, name, value, attributes)
}

// ErrNotFound: a key-value or environment entry that is not there.
var ErrNotFound = errors.New("not found")

// KvGet returns the state's value of key.
func KvGet(key string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n := hostKvGet(strPtr(key), int32(len(key)), ptr(buf), int32(len(buf)))
		if n == NotFound {
			return nil, ErrNotFound
		}
		if n < 0 {
			return nil, result(n, "kv_get")
		}
		if int(n) <= len(buf) {
			return buf[:n], nil
		}
		buf = make([]byte, n)
	}
}

// KvSet sets key to value in the state (bounded by limits.state).
func KvSet(key string, value []byte) error {
	return result(hostKvSet(strPtr(key), int32(len(key)), ptr(value), int32(len(value))), "kv_set")
}

// KvDelete removes key from the state.
func KvDelete(key string) error {
	rc := hostKvDelete(strPtr(key), int32(len(key)))
	if rc == NotFound {
		return nil
	}
	return result(rc, "kv_delete")
}

// EnvGet reads an environment variable the config grants (permissions.env).
func EnvGet(name string) (string, error) {
	buf := make([]byte, 256)
	for {
		n := hostEnvGet(strPtr(name), int32(len(name)), ptr(buf), int32(len(buf)))
		switch {
		case n == NotFound:
			return "", ErrNotFound
		case n == PermissionDenied:
			return "", errors.New("env_get: " + name + " is not granted in permissions.env")
		case n < 0:
			return "", result(n, "env_get")
		case int(n) <= len(buf):
			return string(buf[:n]), nil
		}
		buf = make([]byte, n)
	}
}

// SHA256Hex is the SHA-256 of data as 64 lowercase hex characters.
func SHA256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
