// Package finding holds what the watch detectors report: a Finding, its
// Severity, the Kind of each detector's findings, and the way evidence
// renders times, gaps and routes, so that every detector words its
// findings alike. It does no I/O.
package finding

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"raceroute/iproute2"
	"raceroute/trace"
)

// Severity grades a finding.
type Severity int

// Severities, from the least to the most urgent.
const (
	SeverityInfo     Severity = iota // worth knowing, nothing is broken
	SeverityWarning                  // a risk, or a loss the watcher recovered from
	SeverityCritical                 // traffic is going wrong now
)

// String returns "info", "warning" or "critical".
func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityCritical:
		return "critical"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText encodes the severity as its String.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Kind describes one kind of finding a detector reports.
type Kind struct {
	// Name is the Finding.Detector of its findings, e.g.
	// "non-atomic-route-change".
	Name string
	// LostMeans says how events lost to a receive overflow could make
	// such a finding wrong; a finding made while the view is stale
	// carries it as a caution.
	LostMeans string
}

const (
	findingTimeLayout    = "2006-01-02T15:04:05.000000"
	findingIndent        = "    "
	findingObjectsJoiner = "; "
)

// Finding is one failure (or risk) a detector saw.
type Finding struct {
	Detector string    // the Kind.Name of the detector that made it
	Severity Severity  // how urgent
	Time     time.Time // when it was seen (zero when the trace has no times)
	Objects  []string  // the objects involved, in iproute2 syntax
	Evidence string    // what was seen, with numbers
	Advice   string    // what to do
	// Heal is, for cache-contradicts-route, the cache entry to delete
	// (watch --heal); nil otherwise.
	Heal *trace.Record
}

// String renders the finding as one line (time, severity, detector,
// objects) followed by indented evidence and advice lines.
func (f Finding) String() string {
	var b strings.Builder
	if !f.Time.IsZero() {
		b.WriteString(f.Time.Format(findingTimeLayout))
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "%s %s: %s", f.Severity, f.Detector, strings.Join(f.Objects, findingObjectsJoiner))
	if f.Evidence != "" {
		b.WriteString("\n" + findingIndent + "evidence: ")
		b.WriteString(f.Evidence)
	}
	if f.Advice != "" {
		b.WriteString("\n" + findingIndent + "advice: ")
		b.WriteString(f.Advice)
	}
	return b.String()
}

// MarshalJSON encodes the finding as one JSON object: detector,
// severity, time (RFC 3339, omitted when unknown), objects, evidence,
// advice, and heal (the `ip monitor` line of the entry to delete).
func (f Finding) MarshalJSON() ([]byte, error) {
	type out struct {
		Detector string   `json:"detector"`
		Severity Severity `json:"severity"`
		Time     string   `json:"time,omitempty"`
		Objects  []string `json:"objects"`
		Evidence string   `json:"evidence"`
		Advice   string   `json:"advice"`
		Heal     string   `json:"heal,omitempty"`
	}
	o := out{Detector: f.Detector, Severity: f.Severity, Objects: f.Objects, Evidence: f.Evidence, Advice: f.Advice}
	if o.Objects == nil {
		o.Objects = []string{}
	}
	if !f.Time.IsZero() {
		o.Time = f.Time.Format(time.RFC3339Nano)
	}
	if f.Heal != nil {
		o.Heal = iproute2.FormatMonitor(*f.Heal, false)
	}
	return json.Marshal(o)
}

// RouteObject renders a route for Finding.Objects: iproute2 syntax, with
// the cache section inline.
func RouteObject(r trace.Route) string {
	return strings.Replace(r.String(), ` \ cache`, " cache", 1)
}

// FmtTime renders an event time for evidence ("22:32:32.532755"), or
// "(no time in trace)".
func FmtTime(t time.Time) string {
	if t.IsZero() {
		return "(no time in trace)"
	}
	return t.Format("15:04:05.000000")
}

// FmtGap renders a duration the way a network engineer reads it:
// "0.002 ms", "1.2 ms", "3.40 s".
func FmtGap(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}
