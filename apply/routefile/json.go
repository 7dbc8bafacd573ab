package routefile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// jsonRoute is a route as `ip -j route` prints one; the keys it prints
// that say nothing the writer sets (scope, flags other than onlink, pref,
// ...) are accepted so that its output can be fed back.
type jsonRoute struct {
	Type     string          `json:"type"`
	Dst      string          `json:"dst"`
	Gateway  string          `json:"gateway"`
	Via      *jsonVia        `json:"via"`
	Dev      string          `json:"dev"`
	Metric   *json.Number    `json:"metric"`
	Table    json.RawMessage `json:"table"`
	Protocol json.RawMessage `json:"protocol"`
	Prefsrc  string          `json:"prefsrc"`
	Flags    []string        `json:"flags"`
	Nexthops []jsonNexthop   `json:"nexthops"`
	// Printed by ip -j route, not set by the writer.
	Scope json.RawMessage `json:"scope"`
	Pref  json.RawMessage `json:"pref"`
}

type jsonVia struct {
	Family string `json:"family"`
	Host   string `json:"host"`
}

type jsonNexthop struct {
	Gateway string   `json:"gateway"`
	Via     *jsonVia `json:"via"`
	Dev     string   `json:"dev"`
	Weight  *int     `json:"weight"`
	Flags   []string `json:"flags"`
}

// readJSON reads an array of routes, or a stream of route objects (one a
// line, as JSON lines).
func readJSON(r *bufio.Reader, opts Options) ([]Entry, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<30))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Name, err)
	}
	lineAt := func(off int64) int { return 1 + bytes.Count(data[:min(int(off), len(data))], []byte("\n")) }
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var errs Errors
	fail := func(off int64, format string, args ...any) {
		errs = append(errs, &LineError{Name: opts.Name, Line: lineAt(off), Msg: fmt.Sprintf(format, args...)})
	}
	array := bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("["))
	if array {
		if _, err := dec.Token(); err != nil {
			return nil, Errors{{Name: opts.Name, Line: 1, Msg: fmt.Sprintf("JSON: %v", err)}}
		}
	}
	var out []Entry
	for n := 1; ; n++ {
		if array && !dec.More() {
			break
		}
		// The offset of the object's first byte, for its line.
		off := dec.InputOffset()
		for off < int64(len(data)) && strings.ContainsRune(" \t\r\n,", rune(data[off])) {
			off++
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) && !array {
				break
			}
			var se *json.SyntaxError
			if errors.As(err, &se) {
				off = se.Offset
			}
			fail(off, "route %d: JSON: %v", n, err)
			return nil, errs
		}
		e, msg := parseJSONRoute(raw, opts)
		if msg != "" {
			fail(off, "route %d: %s", n, msg)
			if len(errs) >= opts.MaxErrors {
				return nil, errs
			}
			continue
		}
		e.Line = lineAt(off)
		out = append(out, e)
	}
	if array {
		if _, err := dec.Token(); err != nil {
			fail(dec.InputOffset(), "JSON: %v", err)
		} else if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			fail(dec.InputOffset(), "JSON: text after the array")
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// knownKeys are the keys a route object may have.
var knownKeys = []string{"type", "dst", "gateway", "via", "dev", "metric", "table", "protocol", "prefsrc", "flags", "nexthops", "scope", "pref"}

// parseJSONRoute turns one object into an Entry, through the line
// parser, so that both forms mean the same.
func parseJSONRoute(raw json.RawMessage, opts Options) (Entry, string) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return Entry{}, "want a JSON object with dst, gateway, dev, ..."
	}
	var unknown []string
	for k := range keys {
		if !contains(knownKeys, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return Entry{}, fmt.Sprintf("unknown key %q (known: %s)", unknown[0], strings.Join(knownKeys, ", "))
	}
	var jr jsonRoute
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&jr); err != nil {
		return Entry{}, fmt.Sprintf("JSON: %v", err)
	}
	if jr.Dst == "" {
		return Entry{}, `want "dst" (a prefix, an address, or "default")`
	}
	var words []string
	add := func(w ...string) {
		for _, x := range w {
			if strings.ContainsAny(x, " \t\r\n") || x == "" {
				words = append(words, "\x00") // never a valid token: reported below
				return
			}
		}
		words = append(words, w...)
	}
	if jr.Type != "" {
		add(jr.Type)
	}
	add(jr.Dst)
	hop := func(gw string, via *jsonVia, dev string, flags []string) string {
		if via != nil {
			if gw != "" {
				return `both "gateway" and "via"`
			}
			gw = via.Host
		}
		if gw != "" {
			add("via", gw)
		}
		if dev != "" {
			add("dev", dev)
		}
		for _, f := range flags {
			if f == "onlink" {
				add("onlink")
			}
		}
		return ""
	}
	if m := hop(jr.Gateway, jr.Via, jr.Dev, jr.Flags); m != "" {
		return Entry{}, m
	}
	if jr.Metric != nil {
		add("metric", jr.Metric.String())
	}
	if len(jr.Table) > 0 {
		t, m := scalar(jr.Table, "table")
		if m != "" {
			return Entry{}, m
		}
		add("table", t)
	}
	if len(jr.Protocol) > 0 {
		t, m := scalar(jr.Protocol, "protocol")
		if m != "" {
			return Entry{}, m
		}
		add("proto", t)
	}
	if jr.Prefsrc != "" {
		add("src", jr.Prefsrc)
	}
	for _, nh := range jr.Nexthops {
		add("nexthop")
		if m := hop(nh.Gateway, nh.Via, nh.Dev, nh.Flags); m != "" {
			return Entry{}, m
		}
		if nh.Weight != nil {
			add("weight", strconv.Itoa(*nh.Weight))
		}
	}
	for _, w := range words {
		if w == "\x00" {
			return Entry{}, "a value with spaces, or empty"
		}
	}
	p := &lineParser{toks: words, fam: opts.Family, opts: opts}
	return p.parse()
}

// scalar reads a string or number.
func scalar(raw json.RawMessage, what string) (string, string) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, ""
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), ""
	}
	return "", fmt.Sprintf("%s: want a name or a number", what)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
