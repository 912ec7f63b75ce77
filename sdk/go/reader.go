package weft

import "math"

// Field is one protobuf field of a message: its number and wire type, and either its
// integer value (varint, fixed32, fixed64) or its bytes (length-delimited).
type Field struct {
	Number   uint32
	WireType uint32
	U64      uint64
	Bytes    []byte
}

// Reader walks the fields of a message in place.
type Reader struct {
	b   []byte
	p   int
	Err bool // set on malformed input
}

// NewReader reads the fields of message m.
func NewReader(m []byte) Reader { return Reader{b: m} }

func (r *Reader) varint() (uint64, bool) {
	b, p := r.b, r.p
	if p < len(b) && b[p] < 0x80 {
		r.p = p + 1
		return uint64(b[p]), true
	}
	var x uint64
	for shift := uint(0); shift < 64 && p < len(b); shift += 7 {
		c := b[p]
		p++
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			r.p = p
			return x, true
		}
	}
	return 0, false
}

// Next reads the next field into f; false at the end or on malformed input.
func (r *Reader) Next(f *Field) bool {
	if r.Err || r.p >= len(r.b) {
		return false
	}
	// One-byte tags and lengths (the common case) are read here: Go does not inline varint.
	var tag uint64
	if c := r.b[r.p]; c < 0x80 {
		tag = uint64(c)
		r.p++
	} else {
		var ok bool
		if tag, ok = r.varint(); !ok {
			r.Err = true
			return false
		}
	}
	if tag>>3 == 0 {
		r.Err = true
		return false
	}
	var ok bool
	f.Number, f.WireType, f.U64, f.Bytes = uint32(tag>>3), uint32(tag&7), 0, nil
	switch f.WireType {
	case 0:
		if f.U64, ok = r.varint(); !ok {
			r.Err = true
			return false
		}
	case 1:
		if len(r.b)-r.p < 8 {
			r.Err = true
			return false
		}
		b := r.b[r.p : r.p+8]
		f.U64 = uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		r.p += 8
	case 5:
		if len(r.b)-r.p < 4 {
			r.Err = true
			return false
		}
		b := r.b[r.p : r.p+4]
		f.U64 = uint64(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
		r.p += 4
	case 2:
		var n uint64
		if r.p < len(r.b) && r.b[r.p] < 0x80 {
			n, ok = uint64(r.b[r.p]), true
			r.p++
		} else {
			n, ok = r.varint()
		}
		if !ok || n > uint64(len(r.b)-r.p) {
			r.Err = true
			return false
		}
		f.Bytes = r.b[r.p : r.p+int(n)]
		r.p += int(n)
	default:
		r.Err = true
		return false
	}
	return true
}

// Bytes returns the first length-delimited field number of message m (nil if absent).
func Bytes(m []byte, number uint32) []byte {
	r := NewReader(m)
	var f Field
	for r.Next(&f) {
		if f.Number == number && f.WireType == 2 {
			return f.Bytes
		}
	}
	return nil
}

// U64 returns the first varint or fixed field number of message m (0 if absent).
func U64(m []byte, number uint32) uint64 {
	r := NewReader(m)
	var f Field
	for r.Next(&f) {
		if f.Number == number && f.WireType != 2 {
			return f.U64
		}
	}
	return 0
}

// ValueType is the kind of an AnyValue.
type ValueType int

const (
	ValueNone ValueType = iota
	ValueString
	ValueBool
	ValueInt
	ValueDouble
	ValueOther // array, kvlist, bytes
)

// Value is an AnyValue, read in place.
type Value struct {
	Type   ValueType
	Str    []byte
	Int    int64
	Double float64
	Bool   bool
}

// ReadValue decodes an AnyValue message.
func ReadValue(any []byte) Value {
	var v Value
	r := NewReader(any)
	var f Field
	for r.Next(&f) {
		switch f.Number {
		case 1:
			v = Value{Type: ValueString, Str: f.Bytes}
		case 2:
			v = Value{Type: ValueBool, Bool: f.U64 != 0}
		case 3:
			v = Value{Type: ValueInt, Int: int64(f.U64)}
		case 4:
			v = Value{Type: ValueDouble, Double: math.Float64frombits(f.U64)}
		default:
			v = Value{Type: ValueOther}
		}
	}
	return v
}

// Number returns an int or double value as a float64.
func (v Value) Number() (float64, bool) {
	switch v.Type {
	case ValueInt:
		return float64(v.Int), true
	case ValueDouble:
		return v.Double, true
	}
	return 0, false
}

// IsString reports whether v is the string s.
func (v Value) IsString(s string) bool { return v.Type == ValueString && string(v.Str) == s }

// Attributes are the KeyValues in field Field of message Message.
type Attributes struct {
	Message []byte
	Field   uint32
}

// Each calls fn for every attribute in wire order until fn returns false.
func (a Attributes) Each(fn func(key []byte, value Value) bool) {
	r := NewReader(a.Message)
	var f Field
	for r.Next(&f) {
		if f.Number != a.Field || f.WireType != 2 {
			continue
		}
		if !fn(Bytes(f.Bytes, 1), ReadValue(Bytes(f.Bytes, 2))) {
			return
		}
	}
}

// Find returns the value of the first attribute with this key; only that value is
// decoded.
func (a Attributes) Find(key string) (Value, bool) {
	r := NewReader(a.Message)
	var f Field
	for r.Next(&f) {
		if f.Number != a.Field || f.WireType != 2 {
			continue
		}
		if string(Bytes(f.Bytes, 1)) == key {
			return ReadValue(Bytes(f.Bytes, 2)), true
		}
	}
	return Value{}, false
}

// Field numbers a plugin most often needs.
const (
	ResourceAttributes = 1
	SpanName           = 5
	SpanAttributes     = 9
	LogSeverityNumber  = 2
	LogBody            = 5
	LogAttributes      = 6
	PointAttributes    = 7
	MetricName         = 1
)

// Offset is the reader's position in the message: the end of the field read last.
func (r *Reader) Offset() int { return r.p }
