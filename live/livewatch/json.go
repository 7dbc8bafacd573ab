package livewatch

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"raceroute/iproute2"
	"raceroute/trace"
)

// AppendJSON appends the JSON line of a record (with its newline) to
// b: kind, action, markers, the `ip monitor` text and the object's main
// fields, omitting empty ones. It is written by hand, and a route's line
// costs no allocation when b has room, because a storm makes encoding
// the watch's largest cost.
func AppendJSON(b []byte, r *trace.Record) []byte {
	var c timeCache
	return c.appendJSON(b, r)
}

// appendJSON is AppendJSON, with the record's time formatted through c.
func (c *timeCache) appendJSON(b []byte, r *trace.Record) []byte {
	key := func(k string) {
		b = append(b, ',', '"')
		b = append(b, k...)
		b = append(b, '"', ':')
	}
	str := func(k, v string) {
		if v == "" {
			return
		}
		key(k)
		b = appendJSONString(b, v)
	}
	// name appends a value of raceroute's own names (kinds, actions,
	// protocols, route types: TestNamesArePlain), which need no escaping.
	name := func(k, v string) {
		if v == "" {
			return
		}
		key(k)
		b = append(b, '"')
		b = append(b, v...)
		b = append(b, '"')
	}
	// Addresses and prefixes need no escaping; invalid ones print as
	// their String says.
	ip := func(k string, a netip.Addr) {
		if !a.IsValid() {
			str(k, a.String())
			return
		}
		key(k)
		b = append(b, '"')
		b = a.AppendTo(b)
		b = append(b, '"')
	}
	pfx := func(k string, p netip.Prefix) {
		if !p.IsValid() {
			str(k, p.String())
			return
		}
		key(k)
		b = append(b, '"')
		b = p.AppendTo(b)
		b = append(b, '"')
	}
	flag := func(k string, v bool) {
		if v {
			key(k)
			b = append(b, "true"...)
		}
	}
	num := func(k string, v int64) {
		if v != 0 {
			key(k)
			b = strconv.AppendInt(b, v, 10)
		}
	}
	b = append(b, `{"kind":"`...)
	b = append(b, kindLabel(r)...)
	b = append(b, '"')
	if !r.Time.IsZero() {
		b = append(b, `,"time":"`...)
		b = c.appendRFC3339Nano(b, r.Time)
		b = append(b, '"')
	}
	switch r.Action {
	case trace.ActionNew:
		b = append(b, `,"action":"new"`...)
	case trace.ActionDel:
		b = append(b, `,"action":"del"`...)
	}
	str("netns", r.Netns)
	flag("replace", r.Replace)
	flag("resync", r.Resync)
	flag("inferred", r.Inferred)
	flag("initial", r.Initial)
	flag("polled", r.Polled)
	switch r.Kind {
	case trace.KindRoute:
		rt := &r.Route
		flag("cloned", rt.Cloned)
		pfx("dst", rt.Dst)
		if rt.Gateway.IsValid() {
			ip("gateway", rt.Gateway)
		}
		str("dev", rt.Dev)
		num("table", int64(rt.Table))
		num("metric", int64(rt.Metric))
		name("proto", rt.Proto.String())
		name("type", rt.Type.String())
		num("mtu", int64(rt.MTU))
		num("expires_sec", int64(rt.Expires/time.Second))
	case trace.KindNeigh:
		ip("dst", r.Neigh.Addr)
		str("dev", r.Neigh.Dev)
		if r.Neigh.LLAddr.IsValid() {
			str("lladdr", r.Neigh.LLAddr.String())
		}
		str("state", r.Neigh.State.String())
	case trace.KindAddr:
		pfx("dst", r.Addr.Prefix)
		str("dev", r.Addr.Dev)
	case trace.KindLink:
		str("dev", r.Link.Name)
		if r.Link.MAC.IsValid() {
			str("lladdr", r.Link.MAC.String())
		}
	case trace.KindFrame:
		if r.Frame.Op == trace.FrameNS {
			ip("dst", r.Frame.TargetIP) // the address solicited
		} else {
			ip("dst", r.Frame.SenderIP) // the address announced
		}
		str("dev", r.Frame.Dev)
		if r.Frame.SenderHW.IsValid() {
			str("lladdr", r.Frame.SenderHW.String())
		}
	}
	num("lost", int64(r.Lost))
	b = append(b, `,"text":"`...)
	// The text is formatted in place after its opening quote. Plain
	// ASCII (an event's text nearly always is) stands as it is; else it
	// is escaped after itself and the escaped copy moved down over it:
	// no scratch buffer either way.
	at := len(b)
	b = iproute2.AppendMonitor(b, r, false)
	text := bytes.TrimSpace(b[at:])
	if plainJSON(text) {
		b = b[:at+copy(b[at:], text)]
		return append(b, '"', '}', '\n')
	}
	end := len(b)
	b = appendJSONString(b, text)
	b = b[:at+copy(b[at:], b[end+1:])] // less appendJSONString's opening quote
	return append(b, '}', '\n')
}

// plainJSON reports whether s is printable ASCII without a quote or a
// backslash: a JSON string's content as it is.
func plainJSON(s []byte) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if needsLook(binary.LittleEndian.Uint64(s[i:])) {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD. Runs of
// bytes that need nothing are appended whole.
func appendJSONString[S string | []byte](b []byte, s S) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	if len(s) <= 16 {
		// A device's or namespace's name: a byte loop, no word setup.
		i := 0
		for i < len(s) && s[i] >= 0x20 && s[i] != '"' && s[i] != '\\' && s[i] < utf8.RuneSelf {
			i++
		}
		if i == len(s) {
			b = append(b, s...)
			return append(b, '"')
		}
	}
	start := 0 // s[start:i] is still to append
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs a look (an event's text
		// is plain ASCII): a word flagged may hold none, and is then
		// looked at byte by byte.
		for i+8 <= len(s) {
			w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			if needsLook(w) {
				break
			}
			i += 8
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			} else {
				b = append(b, '\\', c)
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			start = i + 1
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// needsLook reports whether a word of eight bytes may hold a byte JSON
// escapes or that starts a multi-byte sequence: below 0x20, a quote, a
// backslash, or 0x80 and above. It has no false negatives (the "has a
// byte less than n" and "has a zero byte" tests of Bit Twiddling Hacks).
func needsLook(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	return (w-ones*0x20)&^w&highs|zero(w^(ones*'"'))|zero(w^(ones*'\\'))|w&highs != 0
}

// timeCache formats times as time.RFC3339Nano does, the date, clock
// and zone formatted once per second: a storm's events share their
// second, and formatting the whole time was a tenth of an event's cost.
type timeCache struct {
	ok         bool
	sec        int64
	loc        *time.Location
	head, zone []byte // "2006-01-02T15:04:05" and "Z07:00" of sec in loc
}

// appendMonitorTime appends t.Format(iproute2.TimeLayout) to b: the
// date and clock as the cache holds them, and six digits of
// microseconds.
func (c *timeCache) appendMonitorTime(b []byte, t time.Time) []byte {
	c.fill(t)
	b = append(b, c.head...)
	us := t.Nanosecond() / 1000
	var d [7]byte
	d[0] = '.'
	for i := 6; i > 0; i-- {
		d[i] = byte('0' + us%10)
		us /= 10
	}
	return append(b, d[:]...)
}

// fill makes the cache hold t's second in t's location.
func (c *timeCache) fill(t time.Time) {
	if sec, loc := t.Unix(), t.Location(); !c.ok || sec != c.sec || loc != c.loc {
		c.head = t.AppendFormat(c.head[:0], "2006-01-02T15:04:05")
		c.zone = t.AppendFormat(c.zone[:0], "Z07:00")
		c.ok, c.sec, c.loc = true, sec, loc
	}
}

// appendRFC3339Nano appends t.Format(time.RFC3339Nano) to b.
func (c *timeCache) appendRFC3339Nano(b []byte, t time.Time) []byte {
	// The layout's elements format independently: the date and clock
	// and the zone depend on the second and the location alone.
	c.fill(t)
	b = append(b, c.head...)
	if ns := t.Nanosecond(); ns != 0 {
		// ".999999999": nine digits, trailing zeros dropped.
		var d [10]byte
		d[0] = '.'
		for i := 9; i > 0; i-- {
			d[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := len(d)
		for d[n-1] == '0' {
			n--
		}
		b = append(b, d[:n]...)
	}
	return append(b, c.zone...)
}
