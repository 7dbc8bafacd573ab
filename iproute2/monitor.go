package iproute2

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"raceroute/kernel"
	"raceroute/trace"
)

// This file parses recorded `ip monitor` output into Records. It accepts:
//   - plain `ip monitor`, `ip -4/-6 monitor route`, `ip monitor neigh`
//     (objects told apart by their syntax), and `ip monitor label`
//     ([ROUTE], [NEIGH], [LINK], [ADDR], ... prefixes, no space after);
//   - `ip -t monitor` (a "Timestamp: Sat Jun 11 22:30:00 2016 447894 usec"
//     line before each message) and `ip -ts monitor`
//     ("[2016-06-11T22:30:00.447894] " prefixes), in MonitorOptions.Location;
//   - `ip monitor all-nsid` ("[nsid 3]" prefixes, into Record.Netns);
//   - iproute2's "Deleted " marker, and the markers FormatMonitor adds
//     (Replaced, Cloned, Resync, Inferred, Initial, Polled);
//   - the seed's patched format: "(1) [22:30:00.447894] [RTCAH]- ..." with
//     line numbers, time-of-day stamps (on MonitorOptions.Day), labels
//     followed by + (added), - (deleted) or = (replaced), and cache
//     suffixes after a `\` ("\ cache users 2 used 1048 age 0sec",
//     "cache error -101 users 1");
//   - continuation lines (indented "cache ...", "nexthop ...",
//     "link/ether ...", "valid_lft ..." lines) joined to their message;
//   - the frame, overflow and resync lines FormatMonitor writes, and
//     iproute2's own "netlink receive error No buffer space available
//     (105)" line (an overflow: ip monitor lost events and carried on);
//   - the output of `raceroute watch`: its text (findings and heal
//     results, conclusions rather than events, are skipped) and its
//     JSON lines (monitor_json.go).
// Unknown keywords are skipped. Messages raceroute has no record for
// (netconf, rules, nsid, prefix, nexthop objects, neighbour "miss"
// requests) are skipped silently. A line that cannot be read is reported
// as a *LineError and skipped.

// MonitorOptions tune the reading of a recorded `ip monitor` log.
type MonitorOptions struct {
	// Name names the log in errors ("seed.log:12: ...").
	Name string
	// Location is the zone of the log's timestamps (iproute2 prints local
	// time without a zone); nil means UTC.
	Location *time.Location
	// Day gives the date of time-of-day-only stamps ("[22:30:00.447894]");
	// zero means 1970-01-01. A stamp earlier than the previous one by
	// more than 12 hours moves to the next day.
	Day time.Time
	// Family (4 or 6) is the family of lines that do not show theirs
	// ("default dev eth0", as `ip -4 monitor` or `ip -6 monitor` print);
	// 0 infers it from the line and falls back to IPv4.
	Family int
}

// LineError reports a line of a log that could not be read; the reader
// skipped it and carries on.
type LineError struct {
	Name     string // the log's name, if any
	Line     int    // 1-based line number
	Text     string // the line (shortened)
	Expected string // what was expected, e.g. "a gateway address after via"
	Got      string // what was found instead
}

// Error implements error: "NAME:LINE: expected X, got "Y" in: "TEXT"",
// the line quoted with its control bytes escaped.
func (e *LineError) Error() string {
	name := e.Name
	if name == "" {
		name = "line"
	} else {
		name += ":"
	}
	sep := ""
	if e.Name == "" {
		sep = " "
	}
	return fmt.Sprintf("%s%s%d: expected %s, got %q in: %q", name, sep, e.Line, e.Expected, e.Got, e.Text)
}

// maxLine bounds one physical line; longer lines end the read with an error.
const maxLine = 1 << 20

// MonitorReader reads Records from a recorded `ip monitor` log, one at a
// time. It never panics on any input.
type MonitorReader struct {
	sc   *bufio.Scanner
	opts MonitorOptions
	loc  *time.Location
	day  time.Time

	lineNo  int
	pending *logicalLine   // the message being assembled from its lines
	stamp   time.Time      // from a "Timestamp:" line, for the next message
	last    time.Time      // the last time-of-day stamp, for day roll-over
	dayOff  int            // days added by roll-overs
	queue   []trace.Record // records parsed but not yet returned
	errq    []error        // line errors not yet returned
	eof     bool
}

type logicalLine struct {
	text  string
	line  int
	stamp time.Time
}

// NewMonitorReader returns a reader of the log r.
func NewMonitorReader(r io.Reader, opts MonitorOptions) *MonitorReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxLine)
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	day := opts.Day
	if day.IsZero() {
		day = time.Date(1970, 1, 1, 0, 0, 0, 0, loc)
	}
	return &MonitorReader{sc: sc, opts: opts, loc: loc, day: day}
}

// Next returns the next record. At the end of the log it returns io.EOF.
// For a line that cannot be read it returns a *LineError and a zero
// Record; the caller may report it and call Next again. Any other error
// (reading r failed, a line longer than 1 MiB) ends the log.
func (m *MonitorReader) Next() (trace.Record, error) {
	for {
		if len(m.errq) > 0 {
			err := m.errq[0]
			m.errq = m.errq[1:]
			return trace.Record{}, err
		}
		if len(m.queue) > 0 {
			r := m.queue[0]
			m.queue = m.queue[1:]
			return r, nil
		}
		if m.eof {
			return trace.Record{}, io.EOF
		}
		if !m.sc.Scan() {
			m.flush()
			m.eof = true
			if err := m.sc.Err(); err != nil {
				m.queue = nil
				m.errq = nil
				name := m.opts.Name
				if name == "" {
					name = "log"
				}
				return trace.Record{}, fmt.Errorf("reading %s after line %d: %w", name, m.lineNo, err)
			}
			continue
		}
		m.lineNo++
		m.physical(m.sc.Text())
	}
}

// Lines returns the number of lines read so far.
func (m *MonitorReader) Lines() int { return m.lineNo }

// ParseMonitor reads a whole log: its records, the errors of the lines it
// skipped, and the error that ended the read early, if any.
func ParseMonitor(r io.Reader, opts MonitorOptions) ([]trace.Record, []*LineError, error) {
	mr := NewMonitorReader(r, opts)
	var recs []trace.Record
	var lineErrs []*LineError
	for {
		rec, err := mr.Next()
		if errors.Is(err, io.EOF) {
			return recs, lineErrs, nil
		}
		var le *LineError
		if errors.As(err, &le) {
			lineErrs = append(lineErrs, le)
			continue
		}
		if err != nil {
			return recs, lineErrs, err
		}
		recs = append(recs, rec)
	}
}

// continuationWords start the indented lines iproute2 prints under a
// message (cache info, multipath nexthops, link and address details).
var continuationWords = map[string]bool{
	"cache": true, "nexthop": true, "valid_lft": true, "preferred_lft": true,
	"altname": true, "alias": true, "vf": true, "prop": true,
}

// physical takes one line of the file.
func (m *MonitorReader) physical(raw string) {
	raw = strings.TrimRight(raw, "\r\n")
	trimmed := strings.TrimSpace(raw)
	if trimmed == "" {
		return
	}
	if col, bad := unprintable(trimmed); bad {
		m.flush()
		m.lineErr(m.lineNo, trimmed, "a line of printable text", fmt.Sprintf("byte 0x%02x at column %d", trimmed[col], col+1))
		return
	}
	if raw[0] == ' ' || raw[0] == '\t' {
		first, _, _ := strings.Cut(trimmed, " ")
		first, _, _ = strings.Cut(first, "\t")
		if m.pending != nil && (continuationWords[first] || strings.HasPrefix(first, "link/")) {
			m.pending.text += " " + trimmed
			return
		}
		if watchFindingWords[first] {
			return // the evidence and advice lines of a watch finding
		}
	}
	m.flush()
	if trimmed[0] == '{' {
		m.jsonLine(trimmed)
		return
	}
	for _, p := range watchConclusions {
		if strings.HasPrefix(trimmed, p) {
			return
		}
	}
	if rest, ok := strings.CutPrefix(trimmed, "Timestamp:"); ok {
		t, err := m.parseAsctime(strings.TrimSpace(rest))
		if err != nil {
			m.lineErr(m.lineNo, trimmed, "a timestamp like \"Sat Jun 11 22:30:00 2016 447894 usec\"", strings.TrimSpace(rest))
			return
		}
		m.stamp = t
		return
	}
	m.pending = &logicalLine{text: trimmed, line: m.lineNo, stamp: m.stamp}
	m.stamp = time.Time{}
}

// flush parses the message being assembled.
func (m *MonitorReader) flush() {
	if m.pending == nil {
		return
	}
	l := m.pending
	m.pending = nil
	m.parseLine(l)
}

// watchConclusions start the lines `raceroute watch` prints about its
// findings and heals: conclusions, not events, which a replay draws
// again.
var watchConclusions = []string{"finding: ", "heal: ", "heal failed: "}

// watchFindingWords start the indented lines under a watch finding.
var watchFindingWords = map[string]bool{"evidence:": true, "advice:": true}

// unprintable reports the byte offset of the first character in s that
// is not printable text (a control byte, invalid UTF-8, a character
// terminals act on): no line of ip monitor or raceroute has one, and
// none may reach a terminal through a record.
func unprintable(s string) (int, bool) {
	for i, r := range s {
		if r == '\t' {
			continue
		}
		if r == utf8.RuneError || !strconv.IsPrint(r) {
			return i, true
		}
	}
	return 0, false
}

func (m *MonitorReader) lineErr(line int, text, expected, got string) {
	if len(text) > 160 {
		text = text[:160] + "..."
	}
	if len(got) > 80 {
		got = got[:80] + "..."
	}
	m.errq = append(m.errq, &LineError{Name: m.opts.Name, Line: line, Text: text, Expected: expected, Got: got})
}

// parseAsctime reads iproute2's -t stamp: asctime() plus microseconds.
func (m *MonitorReader) parseAsctime(s string) (time.Time, error) {
	f := strings.Fields(s)
	if len(f) != 7 || f[6] != "usec" {
		return time.Time{}, errors.New("not an asctime stamp")
	}
	t, err := time.ParseInLocation("Mon Jan 2 15:04:05 2006", strings.Join(f[:5], " "), m.loc)
	if err != nil {
		return time.Time{}, err
	}
	us, err := strconv.ParseUint(f[5], 10, 32)
	if err != nil || us >= 1000000 {
		return time.Time{}, errors.New("bad microseconds")
	}
	return t.Add(time.Duration(us) * time.Microsecond), nil
}

// parseStamp reads the inside of a "[...]" time prefix: a full -ts stamp
// or a time of day.
func (m *MonitorReader) parseStamp(s string) (time.Time, bool) {
	if len(s) < 8 || s[0] < '0' || s[0] > '9' {
		return time.Time{}, false
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, m.loc); err == nil {
		return t, true
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, m.loc); err == nil {
		return t, true
	}
	tod, err := time.ParseInLocation("15:04:05.999999999", s, time.UTC)
	if err != nil {
		return time.Time{}, false
	}
	since := time.Duration(tod.Hour())*time.Hour + time.Duration(tod.Minute())*time.Minute +
		time.Duration(tod.Second())*time.Second + time.Duration(tod.Nanosecond())
	y, mo, d := m.day.Date()
	t := time.Date(y, mo, d+m.dayOff, 0, 0, 0, 0, m.loc).Add(since)
	if !m.last.IsZero() && m.last.Sub(t) > 12*time.Hour {
		m.dayOff++
		t = t.AddDate(0, 0, 1)
	}
	m.last = t
	return t, true
}

// labels maps `ip monitor label` banners (and raceroute's) to kinds; 0
// means a message raceroute keeps no record of.
var labels = map[string]trace.Kind{
	"ROUTE": trace.KindRoute, "RTCAH": trace.KindRoute, "NEIGH": trace.KindNeigh, "LINK": trace.KindLink,
	"ADDR": trace.KindAddr, "ARP": trace.KindFrame, "NA": trace.KindFrame, "NS": trace.KindFrame, "NDISC": trace.KindFrame,
	"OVERFLOW": trace.KindOverflow, "RESYNC": trace.KindResync,
	"NETCONF": 0, "RULE": 0, "NSID": 0, "PREFIX": 0, "MROUTE": 0, "NEXTHOP": 0,
	"NEXTHOPBUCKET": 0, "STATS": 0, "ADDRLABEL": 0, "NOTE": 0,
}

// lineState is what the prefixes and markers of one message said.
type lineState struct {
	rec      trace.Record
	label    string
	labelled bool
	kind     trace.Kind
	cloned   bool
}

// parseLine turns one message into records (or an error, or nothing).
func (m *MonitorReader) parseLine(l *logicalLine) {
	st := lineState{}
	st.rec.Line = l.line
	st.rec.Time = l.stamp
	s := l.text
	// Prefixes: "(N)" line numbers, "[stamp]", "[nsid X]", "[LABEL]" with
	// an optional +/-/= after it.
	for {
		s = strings.TrimLeft(s, " \t")
		if len(s) > 2 && s[0] == '(' {
			j := strings.IndexByte(s, ')')
			if j > 1 && allDigits(s[1:j]) {
				s = s[j+1:]
				continue
			}
		}
		if len(s) == 0 || s[0] != '[' {
			break
		}
		j := strings.IndexByte(s, ']')
		if j < 0 {
			m.lineErr(l.line, l.text, "a closing ] after a [label] or [timestamp]", s)
			return
		}
		inner := s[1:j]
		s = s[j+1:]
		if t, ok := m.parseStamp(inner); ok {
			st.rec.Time = t
			continue
		}
		if ns, ok := strings.CutPrefix(inner, "nsid "); ok {
			if ns != "current" {
				st.rec.Netns = ns
			}
			continue
		}
		kind, ok := labels[inner]
		if !ok {
			m.lineErr(l.line, l.text, "a label such as [ROUTE], [RTCAH], [NEIGH], [LINK], [ADDR] or a timestamp", "["+inner+"]")
			return
		}
		st.label, st.labelled, st.kind = inner, true, kind
		if inner == "RTCAH" {
			st.cloned = true
		}
		if len(s) > 0 {
			switch s[0] {
			case '+':
				st.rec.Action = trace.ActionNew
				s = s[1:]
			case '-':
				st.rec.Action = trace.ActionDel
				s = s[1:]
			case '=':
				st.rec.Action = trace.ActionNew
				st.rec.Replace = true
				s = s[1:]
			}
		}
	}
	if rest, ok := strings.CutPrefix(strings.TrimLeft(s, " \t"), "netlink receive error "); ok && !st.labelled {
		m.receiveError(st, l, rest)
		return
	}
	toks := strings.Fields(s)
	// Markers.
markers:
	for len(toks) > 0 {
		switch toks[0] {
		case "Deleted":
			st.rec.Action = trace.ActionDel
		case "Replaced":
			st.rec.Replace = true
		case "Cloned":
			st.cloned = true
		case "Resync":
			st.rec.Resync = true
		case "Inferred":
			st.rec.Inferred = true
		case "Initial":
			st.rec.Initial = true
		case "Polled":
			st.rec.Polled = true
		case "miss":
			return // RTM_GETNEIGH: the kernel asking a resolver daemon
		default:
			break markers
		}
		toks = toks[1:]
	}
	if len(toks) == 0 {
		if st.labelled && st.kind == 0 {
			return
		}
		m.lineErr(l.line, l.text, "an object after the label and markers", "")
		return
	}
	if !st.labelled {
		st.kind = classify(toks)
		if st.kind == 0 {
			return
		}
		if st.kind == kindUnknown {
			m.lineErr(l.line, l.text, "a route, neighbour, link or address in iproute2 syntax", toks[0])
			return
		}
	} else if st.kind == 0 {
		return
	}
	if st.rec.Action == 0 && st.kind != trace.KindOverflow && st.kind != trace.KindResync {
		st.rec.Action = trace.ActionNew
	}
	st.rec.Kind = st.kind
	var err *parseErr
	switch st.kind {
	case trace.KindRoute:
		var recs []trace.Record
		recs, err = m.parseRoute(st, toks)
		if err == nil {
			m.queue = append(m.queue, recs...)
		}
	case trace.KindNeigh:
		err = parseNeigh(&st.rec.Neigh, toks)
	case trace.KindLink:
		err = parseLink(&st.rec.Link, toks)
	case trace.KindAddr:
		err = parseAddr(&st.rec.Addr, toks)
	case trace.KindFrame:
		err = parseFrame(&st.rec.Frame, st.label, toks)
	case trace.KindOverflow, trace.KindResync:
		st.rec.Lost = firstCount(toks)
	}
	if err != nil {
		m.lineErr(l.line, l.text, err.expected, err.got)
		return
	}
	if st.kind != trace.KindRoute {
		m.queue = append(m.queue, st.rec)
	}
}

// enobufs is ENOBUFS, the errno of a netlink receive overflow.
const enobufs = 105

// receiveError reads iproute2's "netlink receive error MESSAGE (ERRNO)"
// (rtnl_listen(), lib/libnetlink.c), printed on stderr: ENOBUFS is a
// receive overflow, after which ip monitor carries on; any other error
// ends the monitor.
func (m *MonitorReader) receiveError(st lineState, l *logicalLine, rest string) {
	open := strings.LastIndexByte(rest, '(')
	var errno int
	if open >= 0 && strings.HasSuffix(rest, ")") {
		errno, _ = strconv.Atoi(rest[open+1 : len(rest)-1])
	}
	if errno != enobufs {
		m.lineErr(l.line, l.text, "ENOBUFS after netlink receive error (\"No buffer space available (105)\")", rest)
		return
	}
	st.rec.Kind = trace.KindOverflow
	m.queue = append(m.queue, st.rec)
}

// kindUnknown marks a line classify cannot place.
const kindUnknown trace.Kind = 255

// classify tells the object of an unlabelled message by its syntax; 0
// for messages raceroute keeps no record of.
func classify(toks []string) trace.Kind {
	first := toks[0]
	switch first {
	case "nsid", "prefix", "id", "nhid", "inet", "inet6", "ipv4", "ipv6", "mpls", "bridge":
		return 0 // nsid, prefix, nexthop object or bucket, netconf
	}
	if allDigits(first) || strings.HasPrefix(first, "(") {
		return 0 // an MPLS route (by label) or a multicast route "(S,G)"
	}
	if strings.HasSuffix(first, ":") && allDigits(strings.TrimSuffix(first, ":")) {
		if len(toks) >= 3 && strings.HasSuffix(toks[1], ":") && toks[2] == "group" {
			return 0 // ip monitor stats
		}
		if len(toks) >= 3 && (toks[2] == "inet" || toks[2] == "inet6") {
			return trace.KindAddr
		}
		if len(toks) >= 3 && strings.HasSuffix(toks[1], ":") && strings.HasPrefix(toks[2], "<") {
			return trace.KindLink
		}
		if len(toks) >= 2 && (toks[1] == "from" || toks[1] == "not") {
			return 0 // a rule
		}
		return kindUnknown
	}
	last := toks[len(toks)-1]
	if _, ok := kernel.ParseNUD(last); ok || last == "proxy" {
		return trace.KindNeigh
	}
	for _, t := range toks {
		if t == "lladdr" {
			return trace.KindNeigh
		}
	}
	if len(toks) == 3 && toks[1] == "dev" && !strings.Contains(first, "/") {
		// "10.0.0.9 dev eth0": a neighbour with neither address nor
		// state (a deleted NOARP entry); a host route always shows more
		// (scope link, metric).
		if _, err := netip.ParseAddr(first); err == nil {
			return trace.KindNeigh
		}
	}
	return trace.KindRoute
}

// parseErr says what a parser expected and what it got.
type parseErr struct{ expected, got string }

func expect(expected, got string) *parseErr { return &parseErr{expected, got} }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// firstCount returns the first decimal number among toks (the count of an
// overflow or resync line), 0 when there is none.
func firstCount(toks []string) int {
	for _, t := range toks {
		t = strings.TrimRight(t, ",:;")
		if allDigits(t) {
			n, err := strconv.Atoi(t)
			if err == nil {
				return n
			}
		}
	}
	return 0
}

// routeValueWords take one value that raceroute does not keep; a "lock"
// before the value (route metrics) is skipped too.
var routeValueWords = map[string]bool{
	"from": true, "tos": true, "dsfield": true, "pref": true, "nhid": true, "weight": true,
	"realm": true, "realms": true, "mark": true, "uid": true, "iif": true, "oif": true,
	"mtu": true, "advmss": true, "rtt": true, "rttvar": true, "reordering": true,
	"window": true, "cwnd": true, "ssthresh": true, "initcwnd": true, "initrwnd": true,
	"rto_min": true, "hoplimit": true, "features": true, "quickack": true,
	"congctl": true, "fastopen_no_cookie": true, "users": true, "age": true,
	"ipid": true, "ttl-propagate": true, "as": true, "vrf": true,
}

type nexthop struct {
	gw  netip.Addr
	dev string
}

// parseRoute reads `[TYPE] DST [via GW] [dev DEV] ... [nexthop ...]...`.
// An IPv6 multipath route becomes one record per nexthop, as the kernel
// keeps them (sibling routes); an IPv4 one keeps its first nexthop.
func (m *MonitorReader) parseRoute(st lineState, toks []string) ([]trace.Record, *parseErr) {
	r := &st.rec.Route
	r.Table = trace.TableMain
	r.Type = kernel.RouteUnicast
	r.Cloned = st.cloned
	i := 0
	if t, ok := kernel.ParseRouteType(toks[0]); ok {
		r.Type = t
		i++
		if i >= len(toks) {
			return nil, expect("a destination after the route type", "")
		}
	}
	dst := toks[i]
	i++
	isDefault := false
	switch {
	case dst == "default" || dst == "all" || dst == "any":
		isDefault = true
	case strings.Contains(dst, "/"):
		p, err := netip.ParsePrefix(dst)
		if err != nil {
			return nil, expect("a route destination (prefix, address or default)", dst)
		}
		r.Dst = p.Masked()
	default:
		a, err := netip.ParseAddr(dst)
		if err != nil || a.Zone() != "" {
			return nil, expect("a route destination (prefix, address or default)", dst)
		}
		r.Dst = netip.PrefixFrom(a, a.BitLen())
	}
	var hops []nexthop
	cur := func() *nexthop {
		if len(hops) == 0 {
			return nil
		}
		return &hops[len(hops)-1]
	}
	ipv6Hint := false
	// viaOther is set by "via inet6 GW" on an IPv4 route (or "via inet GW"
	// on an IPv6 one): iproute2 names the gateway's family only when it
	// differs from the route's.
	viaOther := false
	for ; i < len(toks); i++ {
		w := toks[i]
		val := func() (string, bool) {
			if i+1 >= len(toks) {
				return "", false
			}
			i++
			return toks[i], true
		}
		switch w {
		case "\\":
		case "via":
			v, ok := val()
			named := ok && (v == "inet" || v == "inet6")
			if named {
				v, ok = val()
			}
			gw, err := netip.ParseAddr(v)
			if !ok || err != nil || gw.Zone() != "" {
				return nil, expect("a gateway address after via", v)
			}
			if h := cur(); h != nil {
				h.gw = gw
			} else {
				r.Gateway = gw
			}
			viaOther = viaOther || named
		case "dev":
			v, ok := val()
			if !ok {
				return nil, expect("a device name after dev", "")
			}
			if h := cur(); h != nil {
				h.dev = v
			} else {
				r.Dev = v
			}
		case "nexthop":
			hops = append(hops, nexthop{})
		case "table":
			v, _ := val()
			t, ok := trace.ParseTable(v)
			if !ok {
				return nil, expect("a table number or main, local, default after table", v)
			}
			r.Table = t
		case "proto":
			v, _ := val()
			if p, ok := kernel.ParseProto(v); ok {
				r.Proto = p
			}
		case "scope":
			v, _ := val()
			if sc, ok := trace.ParseScope(v); ok {
				r.Scope = sc
			}
		case "src":
			v, _ := val()
			a, err := netip.ParseAddr(v)
			if err != nil || a.Zone() != "" {
				return nil, expect("a source address after src", v)
			}
			r.Src = a
		case "metric", "priority":
			v, _ := val()
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return nil, expect("a number after metric", v)
			}
			r.Metric = uint32(n)
		case "error":
			v, _ := val()
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return nil, expect("a number after error", v)
			}
			r.Error = kernel.Errno(n)
			ipv6Hint = true
		case "expires":
			v, _ := val()
			n, err := strconv.ParseInt(strings.TrimSuffix(v, "sec"), 10, 32)
			if err != nil {
				return nil, expect("a time like 600sec after expires", v)
			}
			if n > 0 {
				r.Expires = time.Duration(n) * time.Second
			}
			ipv6Hint = ipv6Hint || !r.Cloned
		case "mtu":
			if i+1 < len(toks) && toks[i+1] == "lock" {
				i++
			}
			v, _ := val()
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, expect("a number after mtu", v)
			}
			r.MTU = n
		case "cache":
			r.Cloned = true
		case "used":
			v, _ := val()
			if n, err := strconv.Atoi(v); err == nil {
				r.Used = n
			}
		default:
			if routeValueWords[w] {
				if w == "pref" {
					ipv6Hint = true
				}
				if i+1 < len(toks) && toks[i+1] == "lock" {
					i++
				}
				i++ // the value, whatever it is
			}
			// anything else: a flag or a keyword we do not know; skip it
		}
	}
	// The family: from the destination, else the gateway, the source, the
	// options, the IPv6-only keywords; else IPv4.
	switch {
	case !isDefault:
	case r.Gateway.IsValid():
		r.Dst = netip.PrefixFrom(unspecified(r.Gateway.Is4() != viaOther), 0)
	case len(hops) > 0 && hops[0].gw.IsValid():
		r.Dst = netip.PrefixFrom(unspecified(hops[0].gw.Is4() != viaOther), 0)
	case r.Src.IsValid():
		r.Dst = netip.PrefixFrom(unspecified(r.Src.Is4()), 0)
	case m.opts.Family == 4 || m.opts.Family == 6:
		r.Dst = netip.PrefixFrom(unspecified(m.opts.Family == 4), 0)
	default:
		r.Dst = netip.PrefixFrom(unspecified(!ipv6Hint), 0)
	}
	r.Family = 4
	if r.Dst.Addr().Is6() {
		r.Family = 6
	}
	if len(hops) == 0 {
		return []trace.Record{st.rec}, nil
	}
	if r.Family == 4 {
		r.Gateway, r.Dev = hops[0].gw, hops[0].dev
		return []trace.Record{st.rec}, nil
	}
	out := make([]trace.Record, 0, len(hops))
	for _, h := range hops {
		rec := st.rec
		rec.Route.Gateway, rec.Route.Dev = h.gw, h.dev
		out = append(out, rec)
	}
	return out, nil
}

func unspecified(v4 bool) netip.Addr {
	if v4 {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// parseNeigh reads `ADDR dev DEV [lladdr MAC] [router] [used A/B/C]
// [probes N] STATE...`.
func parseNeigh(n *trace.Neigh, toks []string) *parseErr {
	a, err := netip.ParseAddr(toks[0])
	if err != nil || a.Zone() != "" {
		return expect("a neighbour address", toks[0])
	}
	n.Addr = a
	n.Family = 4
	if a.Is6() {
		n.Family = 6
	}
	for i := 1; i < len(toks); i++ {
		w := toks[i]
		next := ""
		if i+1 < len(toks) {
			next = toks[i+1]
		}
		switch w {
		case "dev":
			if next == "" {
				return expect("a device name after dev", "")
			}
			n.Dev = next
			i++
		case "lladdr":
			mac, ok := parseLLAddr(next)
			if !ok {
				return expect("a link-layer address after lladdr", next)
			}
			n.LLAddr = mac
			i++
		case "router":
			n.Router = true
		case "used":
			parts := strings.Split(next, "/")
			if len(parts) != 3 {
				return expect("used USED/CONFIRMED/UPDATED seconds", next)
			}
			var d [3]time.Duration
			for k, p := range parts {
				v, err := strconv.ParseUint(p, 10, 32)
				if err != nil {
					return expect("used USED/CONFIRMED/UPDATED seconds", next)
				}
				d[k] = time.Duration(v) * time.Second
			}
			n.Used, n.Confirmed, n.Updated = d[0], d[1], d[2]
			i++
		case "probes":
			v, err := strconv.ParseUint(next, 10, 16)
			if err != nil {
				return expect("a number after probes", next)
			}
			n.Probes = int(v)
			i++
		case "protocol", "vni", "port", "via", "nhid", "src_vni", "self", "master":
			if w != "self" {
				i++
			}
		default:
			if s, ok := kernel.ParseNUD(w); ok {
				n.State |= s
			}
		}
	}
	return nil
}

// parseLink reads `IDX: NAME[@PEER]: <FLAGS> mtu M ... link/TYPE MAC ...`.
func parseLink(l *trace.Link, toks []string) *parseErr {
	idx, err := strconv.Atoi(strings.TrimSuffix(toks[0], ":"))
	if err != nil || !strings.HasSuffix(toks[0], ":") {
		return expect("a link index like 3:", toks[0])
	}
	l.Index = idx
	if len(toks) < 3 || !strings.HasSuffix(toks[1], ":") {
		return expect("a link name followed by :", strings.Join(toks[1:], " "))
	}
	name := strings.TrimSuffix(toks[1], ":")
	if at := strings.IndexByte(name, '@'); at > 0 {
		name = name[:at]
	}
	l.Name = name
	flags := strings.Trim(toks[2], "<>")
	for _, f := range strings.Split(flags, ",") {
		if f == "UP" {
			l.Up = true
		}
	}
	for i := 3; i < len(toks); i++ {
		w := toks[i]
		next := ""
		if i+1 < len(toks) {
			next = toks[i+1]
		}
		switch {
		case w == "mtu":
			n, err := strconv.Atoi(next)
			if err != nil {
				return expect("a number after mtu", next)
			}
			l.MTU = n
			i++
		case w == "master":
			if v, ok := strings.CutPrefix(next, "if"); ok {
				if n, err := strconv.Atoi(v); err == nil {
					l.Master = n
				}
			}
			i++
		case strings.HasPrefix(w, "link/"):
			if mac, ok := parseLLAddr(next); ok {
				l.MAC = mac
				i++
			}
		}
	}
	return nil
}

// parseAddr reads `IDX: DEV inet|inet6 PREFIX ...`.
func parseAddr(a *trace.Addr, toks []string) *parseErr {
	idx, err := strconv.Atoi(strings.TrimSuffix(toks[0], ":"))
	if err != nil || !strings.HasSuffix(toks[0], ":") {
		return expect("an interface index like 3:", toks[0])
	}
	a.Ifindex = idx
	if len(toks) < 4 {
		return expect("DEV inet|inet6 ADDRESS/LENGTH", strings.Join(toks[1:], " "))
	}
	a.Dev = toks[1]
	switch toks[2] {
	case "inet":
		a.Family = 4
	case "inet6":
		a.Family = 6
	default:
		return expect("inet or inet6", toks[2])
	}
	p, err := netip.ParsePrefix(toks[3])
	if err != nil {
		ad, err2 := netip.ParseAddr(toks[3])
		if err2 != nil || ad.Zone() != "" {
			return expect("an address with its prefix length", toks[3])
		}
		p = netip.PrefixFrom(ad, ad.BitLen())
	}
	if p.Addr().Is4() != (a.Family == 4) {
		return expect("an address of the family "+toks[2], toks[3])
	}
	a.Prefix = p
	return nil
}

// parseFrame reads the frame lines FormatMonitor writes.
func parseFrame(f *trace.Frame, label string, toks []string) *parseErr {
	i := 0
	switch toks[0] {
	case "request":
		f.Op = trace.FrameARPRequest
		i++
	case "reply":
		f.Op = trace.FrameARPReply
		i++
	case "advert":
		f.Op = trace.FrameNA
		i++
	case "solicit":
		f.Op = trace.FrameNS
		i++
	default:
		switch label {
		case "NA":
			f.Op = trace.FrameNA
		case "NS":
			f.Op = trace.FrameNS
		default:
			return expect("request or reply after [ARP]", toks[0])
		}
	}
	if i >= len(toks) {
		return expect("the sender address", "")
	}
	readAddr := func(s string) (netip.Addr, *parseErr) {
		if s == "none" {
			return netip.Addr{}, nil
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Addr{}, expect("an IP address", s)
		}
		return a, nil
	}
	readMAC := func(s string) (kernel.MAC, *parseErr) {
		if s == "none" {
			return kernel.MAC{}, nil
		}
		mac, err := kernel.ParseMAC(s)
		if err != nil {
			return kernel.MAC{}, expect("an Ethernet address", s)
		}
		return mac, nil
	}
	a, perr := readAddr(toks[i])
	if perr != nil {
		return perr
	}
	f.SenderIP = a
	target := false
	for i++; i < len(toks); i++ {
		w := toks[i]
		next := ""
		if i+1 < len(toks) {
			next = toks[i+1]
		}
		switch w {
		case "lladdr":
			mac, perr := readMAC(next)
			if perr != nil {
				return perr
			}
			if target {
				f.TargetHW = mac
			} else {
				f.SenderHW = mac
			}
			i++
		case "target":
			a, perr := readAddr(next)
			if perr != nil {
				return perr
			}
			f.TargetIP = a
			target = true
			i++
		case "dev":
			f.Dev = next
			i++
		case "ether":
			if i+3 >= len(toks) || toks[i+2] != ">" {
				return expect("ether SOURCE > DESTINATION", strings.Join(toks[i+1:], " "))
			}
			src, perr := readMAC(toks[i+1])
			if perr != nil {
				return perr
			}
			dst, perr := readMAC(toks[i+3])
			if perr != nil {
				return perr
			}
			f.SrcMAC, f.DstMAC = src, dst
			i += 3
		case "override":
			f.Override = true
		case "solicited":
			f.Solicited = true
		}
	}
	return nil
}

// parseLLAddr reads a link-layer address as iproute2 prints it. An
// Ethernet address is kept; another link layer's (InfiniBand's 20 bytes, a
// tunnel's) is accepted and not kept, so that its record is not lost: the
// detectors compare Ethernet addresses only.
func parseLLAddr(s string) (kernel.MAC, bool) {
	hw, err := net.ParseMAC(s)
	if err != nil {
		return kernel.MAC{}, false
	}
	m, _ := kernel.MACFrom(hw)
	return m, true
}
