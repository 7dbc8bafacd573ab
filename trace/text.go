package trace

import (
	"fmt"
	"io"
	"strings"
)

// WriteStory writes events as an `ip -ts monitor`-like story: one line
// per event with the time, the actor and the label, and the kernel's
// reason indented below it.
func WriteStory(w io.Writer, events []Event, indent string) error {
	width := 0
	for _, e := range events {
		if n := len(e.Actor); n > width {
			width = n
		}
	}
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "%st=%d.%03d %-*s [%s]%c %s\n", indent, e.T/1000, e.T%1000, width, e.Actor, e.Label, byte(e.Op), e.Text)
		if e.Reason != "" {
			fmt.Fprintf(&b, "%s%*s  %s\n", indent, 8+width, "", e.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// JSONEvent is the JSON form of an Event.
type JSONEvent struct {
	TMillis int64  `json:"t_ms"`
	Host    string `json:"host,omitempty"`
	Actor   string `json:"actor"`
	Label   string `json:"label"`
	Op      string `json:"op,omitempty"`
	Text    string `json:"text"`
	Reason  string `json:"reason,omitempty"`
}

// JSONEvents converts events for JSON output.
func JSONEvents(events []Event) []JSONEvent {
	out := make([]JSONEvent, len(events))
	for i, e := range events {
		op := strings.TrimSpace(string(rune(e.Op)))
		if e.Op == 0 {
			op = ""
		}
		out[i] = JSONEvent{TMillis: e.T, Host: e.Host, Actor: e.Actor, Label: string(e.Label), Op: op, Text: e.Text, Reason: e.Reason}
	}
	return out
}
