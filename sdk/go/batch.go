package weft

// Item is a span, log record or data point with where it lives.
type Item struct {
	Index           int    // item number in the batch, as in keep-masks and edits
	ResourceIndex   int    // resource number in the batch
	Resource        []byte // Resource message
	Scope           []byte // InstrumentationScope message
	Raw             []byte // Span / LogRecord / *DataPoint message
	Metric          []byte // metrics only: the Metric
	AttributesField uint32 // the field of the item's attributes
	signal          Signal
}

// Attributes of the item.
func (it *Item) Attributes() Attributes { return Attributes{it.Raw, it.AttributesField} }

// ResourceAttributes of the item's resource.
func (it *Item) ResourceAttributes() Attributes {
	return Attributes{it.Resource, ResourceAttributes}
}

// Name is the span name (traces) or metric name (metrics); nil for log records.
func (it *Item) Name() []byte {
	switch it.signal {
	case Traces:
		return Bytes(it.Raw, SpanName)
	case Metrics:
		return Bytes(it.Metric, MetricName)
	}
	return nil
}

// Severity is a log record's severity number (0 if unset or not a log record).
func (it *Item) Severity() uint64 {
	if it.signal != Logs {
		return 0
	}
	return U64(it.Raw, LogSeverityNumber)
}

// Body is a log record's body.
func (it *Item) Body() Value {
	if it.signal != Logs {
		return Value{}
	}
	return ReadValue(Bytes(it.Raw, LogBody))
}

// Batch is one Export*ServiceRequest, read in place.
type Batch struct {
	signal  Signal
	request []byte
	count   int
}

// Signal of the batch.
func (b *Batch) Signal() Signal { return b.signal }

// Len is the number of items.
func (b *Batch) Len() int { return b.count }

// Request is the encoded request.
func (b *Batch) Request() []byte { return b.request }

func (b *Batch) countItems() int {
	n := 0
	b.Each(func(*Item) bool { n++; return true })
	return n
}

func isMetricData(n uint32) bool { return n == 5 || n == 7 || n == 9 || n == 10 || n == 11 }

// Each calls fn for every item in wire order until fn returns false. The *Item is reused
// between calls.
func (b *Batch) Each(fn func(item *Item) bool) {
	var it Item
	it.signal = b.signal
	itemsField := uint32(SpanAttributes)
	if b.signal == Logs {
		itemsField = LogAttributes
	}
	requests := NewReader(b.request)
	var rf Field
	resource := 0
	for requests.Next(&rf) {
		if rf.Number != 1 || rf.WireType != 2 {
			continue
		}
		it.Resource = Bytes(rf.Bytes, 1)
		it.ResourceIndex = resource
		resource++
		scopes := NewReader(rf.Bytes)
		var sf Field
		for scopes.Next(&sf) {
			if sf.Number != 2 || sf.WireType != 2 {
				continue
			}
			it.Scope = Bytes(sf.Bytes, 1)
			items := NewReader(sf.Bytes)
			var f Field
			for items.Next(&f) {
				if f.Number != 2 || f.WireType != 2 {
					continue
				}
				if b.signal != Metrics {
					it.Raw, it.AttributesField = f.Bytes, itemsField
					if !fn(&it) {
						return
					}
					it.Index++
					continue
				}
				it.Metric = f.Bytes
				mr := NewReader(f.Bytes)
				var mf Field
				for mr.Next(&mf) {
					if mf.WireType != 2 || !isMetricData(mf.Number) {
						continue
					}
					it.AttributesField = PointAttributes
					if mf.Number == 9 {
						it.AttributesField = 9
					} else if mf.Number == 10 {
						it.AttributesField = 1
					}
					points := NewReader(mf.Bytes)
					var pf Field
					for points.Next(&pf) {
						if pf.Number != 1 || pf.WireType != 2 {
							continue
						}
						it.Raw = pf.Bytes
						if !fn(&it) {
							return
						}
						it.Index++
					}
				}
			}
		}
	}
}
