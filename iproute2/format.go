package iproute2

import (
	"fmt"

	"raceroute/trace"
)

// TimeLayout is the layout of `ip -ts monitor` timestamps.
const TimeLayout = "2006-01-02T15:04:05.000000"

// FormatMonitor renders r as one `ip -ts monitor label` line (without a
// newline): with ts and a non-zero Time, a `[2016-06-11T22:30:00.447894] `
// prefix in r.Time's location; `[nsid NAME]` for a record from another
// namespace; a label ([ROUTE], [RTCAH] for cache entries, [NEIGH],
// [LINK], [ADDR], [ARP], [NA], [NS], [OVERFLOW], [RESYNC]); the markers
// iproute2 lacks (Resync, Inferred, Initial, Polled, Replaced, Cloned)
// and iproute2's Deleted; then the object in iproute2 syntax.
// ParseMonitor reads the line back into the same trace.Record (except Line and
// the ifindexes of named devices).
func FormatMonitor(r trace.Record, ts bool) string { return string(AppendMonitor(nil, &r, ts)) }

// AppendMonitor appends the line FormatMonitor renders to b; a route
// line costs no allocation when b has room (the watch formats every
// event of a storm).
func AppendMonitor(b []byte, r *trace.Record, ts bool) []byte {
	if ts && !r.Time.IsZero() {
		b = append(b, '[')
		b = r.Time.AppendFormat(b, TimeLayout)
		b = append(b, "] "...)
	}
	if r.Netns != "" {
		b = append(b, "[nsid "...)
		b = append(b, r.Netns...)
		b = append(b, ']')
	}
	var body string
	switch r.Kind {
	case trace.KindRoute:
		if r.Route.Cloned {
			b = append(b, "[RTCAH]"...)
		} else {
			b = append(b, "[ROUTE]"...)
		}
	case trace.KindNeigh:
		b = append(b, "[NEIGH]"...)
		body = r.Neigh.String()
	case trace.KindLink:
		b = append(b, "[LINK]"...)
		body = r.Link.String()
	case trace.KindAddr:
		b = append(b, "[ADDR]"...)
		body = r.Addr.String()
	case trace.KindFrame:
		b = append(b, trace.FrameLabel(r.Frame.Op)...)
		body = r.Frame.String()
	case trace.KindOverflow:
		b = append(b, "[OVERFLOW]"...)
		if r.Lost > 0 {
			body = fmt.Sprintf("receive buffer overflow (ENOBUFS): %d events lost", r.Lost)
		} else {
			body = "receive buffer overflow (ENOBUFS): events lost, count unknown"
		}
	case trace.KindResync:
		b = append(b, "[RESYNC]"...)
		body = fmt.Sprintf("tables dumped again: %d differences", r.Lost)
	default:
		b = append(b, "[NOTE]"...)
		body = fmt.Sprintf("unknown record kind %d", r.Kind)
	}
	for _, m := range [...]struct {
		on   bool
		name string
	}{
		{r.Resync, "Resync "}, {r.Inferred, "Inferred "}, {r.Initial, "Initial "},
		{r.Polled, "Polled "}, {r.Replace, "Replaced "},
	} {
		if m.on {
			b = append(b, m.name...)
		}
	}
	switch {
	case r.Action == trace.ActionDel:
		b = append(b, "Deleted "...)
	case r.Kind == trace.KindRoute && r.Route.Cloned:
		b = append(b, "Cloned "...)
	}
	if r.Kind == trace.KindRoute {
		return r.Route.AppendText(b)
	}
	return append(b, body...)
}
