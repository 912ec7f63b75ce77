package weft

import (
	"encoding/binary"
	"errors"
	"math"
)

// ABI return codes of host calls.
const (
	OK               = 0
	NotFound         = -1
	Invalid          = -2
	PermissionDenied = -3
	LimitReached     = -4
)

func result(rc int32, what string) error {
	if rc == 0 {
		return nil
	}
	return errors.New("weft refused " + what)
}

// DropAll drops the whole batch.
func DropAll() error { return result(hostDropAll(), "drop_all") }

// Replace hands weft replacement request bytes of the same signal.
func Replace(request []byte) error {
	return result(hostReplace(ptr(request), int32(len(request))), "the replacement")
}

// KeepMask keeps every item of a batch until it is dropped.
type KeepMask struct {
	mask    []byte
	dropped int
}

// NewKeepMask is a mask for n items, all kept. Reuse one with Reset to avoid allocating
// per batch.
func NewKeepMask(n int) *KeepMask {
	m := &KeepMask{}
	m.Reset(n)
	return m
}

// Reset makes the mask n items long, all kept.
func (m *KeepMask) Reset(n int) {
	if cap(m.mask) < n {
		m.mask = make([]byte, n)
	}
	m.mask = m.mask[:n]
	for i := range m.mask {
		m.mask[i] = 1
	}
	m.dropped = 0
}

// Drop drops item i.
func (m *KeepMask) Drop(i int) {
	if m.mask[i] != 0 {
		m.dropped++
	}
	m.mask[i] = 0
}

// Dropped is the number of items dropped.
func (m *KeepMask) Dropped() int { return m.dropped }

// Submit hands the mask to weft: nothing when nothing was dropped, drop_all when all were.
func (m *KeepMask) Submit() error {
	switch m.dropped {
	case 0:
		return nil
	case len(m.mask):
		return DropAll()
	}
	return result(hostKeep(ptr(m.mask), int32(len(m.mask))), "the keep-mask")
}

// Target of an edit: an item (by item index) or a resource (by resource index).
type Target uint8

const (
	TargetItem     Target = 0
	TargetResource Target = 1
)

// Edits is an edit list that weft applies natively (docs/abi.md, "Edit list").
type Edits struct{ buf []byte }

func (e *Edits) head(op uint8, t Target, index int, key string) {
	e.buf = append(e.buf, op, uint8(t))
	e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(index))
	e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(key)))
	e.buf = append(e.buf, key...)
}

func (e *Edits) str(s string) {
	e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(s)))
	e.buf = append(e.buf, s...)
}

// SetString sets attribute key to a string.
func (e *Edits) SetString(t Target, index int, key, value string) {
	e.head(1, t, index, key)
	e.str(value)
}

// SetInt sets attribute key to an int.
func (e *Edits) SetInt(t Target, index int, key string, value int64) {
	e.head(2, t, index, key)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, uint64(value))
}

// SetDouble sets attribute key to a double.
func (e *Edits) SetDouble(t Target, index int, key string, value float64) {
	e.head(3, t, index, key)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(value))
}

// SetBool sets attribute key to a bool.
func (e *Edits) SetBool(t Target, index int, key string, value bool) {
	e.head(4, t, index, key)
	b := byte(0)
	if value {
		b = 1
	}
	e.buf = append(e.buf, b)
}

// Delete removes attribute key if present.
func (e *Edits) Delete(t Target, index int, key string) { e.head(5, t, index, key) }

// Rename renames attribute key (kept if the new key is taken).
func (e *Edits) Rename(t Target, index int, key, newKey string) {
	e.head(6, t, index, key)
	e.str(newKey)
}

// SetName sets a span's name.
func (e *Edits) SetName(index int, name string) {
	e.head(7, TargetItem, index, "")
	e.str(name)
}

// SetBody sets a log record's body to a string.
func (e *Edits) SetBody(index int, body string) {
	e.head(8, TargetItem, index, "")
	e.str(body)
}

// Len is the size of the encoded list in bytes.
func (e *Edits) Len() int { return len(e.buf) }

// Reset empties the list, keeping its buffer.
func (e *Edits) Reset() { e.buf = e.buf[:0] }

// Submit hands the list to weft (if not empty).
func (e *Edits) Submit() error {
	if len(e.buf) == 0 {
		return nil
	}
	return result(hostEdits(ptr(e.buf), int32(len(e.buf))), "the edit list")
}
