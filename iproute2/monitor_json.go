package iproute2

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// watchJSON is what the reader takes from a `raceroute watch --json`
// line. An event line carries the record's `ip monitor` rendering in
// "text" (FormatMonitor without the time) and its time in "time"
// (RFC 3339); the other fields repeat the text for consumers such as
// jq. A finding ({"finding": ...}) or heal result ({"heal": ...}) is a
// conclusion, not an event: a replay draws it again.
type watchJSON struct {
	Text    *string         `json:"text"`
	Time    string          `json:"time"`
	Finding json.RawMessage `json:"finding"`
	Heal    json.RawMessage `json:"heal"`
}

// jsonLine reads one JSON line of raceroute watch.
func (m *MonitorReader) jsonLine(s string) {
	var w watchJSON
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&w); err != nil {
		m.lineErr(m.lineNo, s, "a JSON object of raceroute watch --json", jsonProblem(err))
		return
	}
	if dec.More() {
		m.lineErr(m.lineNo, s, "one JSON object per line", "more after the object")
		return
	}
	if w.Finding != nil || w.Heal != nil {
		return
	}
	if w.Text == nil {
		m.lineErr(m.lineNo, s, `a "text" field holding the event (raceroute watch --json)`, "none")
		return
	}
	text := *w.Text
	if col, bad := unprintable(text); bad {
		m.lineErr(m.lineNo, s, "printable text in \"text\"", fmt.Sprintf("byte 0x%02x at column %d", text[col], col+1))
		return
	}
	l := &logicalLine{text: text, line: m.lineNo}
	if w.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, w.Time)
		if err != nil {
			m.lineErr(m.lineNo, s, `an RFC 3339 time in "time"`, w.Time)
			return
		}
		l.stamp = t
	}
	m.parseLine(l)
}

// jsonProblem says what is wrong with a line that is not the JSON
// object expected, in the line's terms rather than Go's.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("a JSON %s in %q", te.Value, te.Field)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the line ends inside the object"
	}
	return err.Error()
}
