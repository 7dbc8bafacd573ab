// Package routefile reads the desired routes of `raceroute apply`: a file
// of routes in iproute2 syntax, one a line as `ip -batch` takes them
// after `route replace` ("10.0.0.0/24 via 10.9.0.2 dev eth0 metric 10";
// a leading `route replace` or `route add` is allowed, so that the same
// file feeds ip -batch), or JSON in the form `ip -j route` prints. Every
// line is read before anything is returned, and every malformed one is
// reported with its line number.
package routefile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"unicode"
	"unsafe"

	"raceroute/apply/route"
	"raceroute/kernel"
)

// Entry is one desired route with where it was read.
type Entry struct {
	Route route.Route
	// Proto is the protocol the line names, 0 when it names none.
	Proto kernel.Proto
	// Line is the 1-based line of the route (of its JSON object's start).
	Line int
}

// LineError is one malformed route.
type LineError struct {
	Name string // the file's name
	Line int
	// Text is the line (shortened), "" for JSON.
	Text string
	Msg  string
}

func (e *LineError) Error() string {
	s := fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg)
	if e.Text != "" {
		s += fmt.Sprintf(" (in %q)", e.Text)
	}
	return s
}

// Errors is every malformed route of a file.
type Errors []*LineError

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	if len(es) > 1 {
		return fmt.Sprintf("%d malformed routes:\n  %s", len(es), strings.Join(parts, "\n  "))
	}
	return strings.Join(parts, "")
}

// Options tune the reading.
type Options struct {
	// Name names the file in errors.
	Name string
	// Family (4 or 6) is the family of `default` routes that do not
	// show theirs by a gateway or source; 0 means IPv4, as iproute2.
	Family int
	// Tables names routing tables beyond main, local and default
	// (iproute2's rt_tables); nil reads the system's (SystemTables).
	Tables map[string]uint32
	// MaxErrors stops the reading after that many malformed routes (20
	// if 0).
	MaxErrors int
}

// maxLine bounds a line: a route is a few dozen bytes; a line of a
// megabyte is not a route file.
const maxLine = 64 << 10

// Read reads a route file: JSON when its first non-blank byte is `[` or
// `{`, iproute2 lines otherwise.
func Read(r io.Reader, opts Options) ([]Entry, error) {
	routes, meta, err := ReadRoutes(r, opts)
	if err != nil || routes == nil {
		return nil, err
	}
	out := make([]Entry, len(routes))
	for i := range routes {
		out[i] = Entry{Route: routes[i], Proto: meta[i].Proto, Line: meta[i].Line}
	}
	return out, nil
}

// Meta is what a file says of a route beside the route: the protocol it
// names and its line.
type Meta struct {
	// Proto is the protocol the line names, 0 when it names none.
	Proto kernel.Proto
	// Line is the 1-based line of the route (of its JSON object's start).
	Line int
}

// ReadRoutes is Read with the routes apart from what the file says of
// each (meta[i] is routes[i]'s), so that a caller that wants the routes
// alone (a writer's Plan) has them without a copy.
func ReadRoutes(r io.Reader, opts Options) (routes []route.Route, meta []Meta, err error) {
	if opts.Name == "" {
		opts.Name = "routes"
	}
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 20
	}
	if opts.Tables == nil {
		opts.Tables = SystemTables()
	}
	size := -1
	if f, ok := r.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = int(fi.Size())
		}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		b, err := br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, nil, nil
			}
			return nil, nil, fmt.Errorf("%s: %w", opts.Name, err)
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			if _, err := br.ReadByte(); err != nil {
				return nil, nil, err
			}
			continue
		case '[', '{':
			es, err := readJSON(br, opts)
			if err != nil || es == nil {
				return nil, nil, err
			}
			routes, meta = make([]route.Route, len(es)), make([]Meta, len(es))
			for i, e := range es {
				routes[i], meta[i] = e.Route, Meta{Proto: e.Proto, Line: e.Line}
			}
			return routes, meta, nil
		}
		return readLines(br, opts, size)
	}
}

// readLines reads iproute2 lines; size is the file's, -1 if unknown.
func readLines(r io.Reader, opts Options, size int) ([]route.Route, []Meta, error) {
	// The whole file in one string: the lines and their tokens are
	// slices of it, not a string each (a file of 200,000 routes is a few
	// megabytes), and its line count sizes the entries.
	b, err := readAll(r, size)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", opts.Name, err)
	}
	if len(b) == 0 {
		return nil, nil, nil
	}
	all := unsafe.String(&b[0], len(b)) // b is not written again
	lines := strings.Count(all, "\n") + 1
	out, meta := make([]route.Route, 0, lines), make([]Meta, 0, lines)
	var errs Errors
	var toks []string
	var hops, slab []route.Nexthop
	n := 0
	for len(all) > 0 {
		n++
		line := all
		if i := strings.IndexByte(all, '\n'); i >= 0 {
			line, all = all[:i], all[i+1:]
		} else {
			all = ""
		}
		if len(line) > maxLine {
			return nil, nil, append(errs, &LineError{Name: opts.Name, Line: n, Msg: fmt.Sprintf("a line longer than %d bytes: not a route", maxLine)})
		}
		text := strings.TrimSpace(line)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		toks = fields(toks[:0], text)
		var e Entry
		var msg string
		e, msg, hops = parseLine(toks, opts, hops)
		if msg != "" {
			errs = append(errs, &LineError{Name: opts.Name, Line: n, Text: short(text), Msg: msg})
			if len(errs) >= opts.MaxErrors {
				return nil, nil, append(errs, &LineError{Name: opts.Name, Line: n, Msg: fmt.Sprintf("stopped after %d malformed routes", len(errs))})
			}
			continue
		}
		if k := len(e.Route.Nexthops); k > 0 {
			// Every route's next hops from one slab, not an allocation
			// each (capped: an append to one never runs into the next).
			if len(slab)+k > cap(slab) {
				slab = make([]route.Nexthop, 0, max(4096, k))
			}
			slab = append(slab, e.Route.Nexthops...)
			e.Route.Nexthops = slab[len(slab)-k : len(slab) : len(slab)]
		}
		out = append(out, e.Route)
		meta = append(meta, Meta{Proto: e.Proto, Line: n})
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	return out, meta, nil
}

// readAll reads r to its end, into one buffer when size (the file's,
// -1 if unknown) says how large.
func readAll(r io.Reader, size int) ([]byte, error) {
	if size < 0 {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, size+1) // +1: the read that sees the end
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // the file grew: let append grow it
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// fields appends the space-separated fields of s to toks, as
// strings.Fields splits them (without a slice of its own a line).
func fields(toks []string, s string) []string {
	if isASCII(s) {
		for {
			i := 0
			for i < len(s) && asciiSpace[s[i]] {
				i++
			}
			if i == len(s) {
				return toks
			}
			s = s[i:]
			j := 1
			for j < len(s) && !asciiSpace[s[j]] {
				j++
			}
			toks = append(toks, s[:j])
			s = s[j:]
		}
	}
	for {
		i := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsSpace(r) })
		if i < 0 {
			return toks
		}
		s = s[i:]
		j := strings.IndexFunc(s, unicode.IsSpace)
		if j < 0 {
			return append(toks, s)
		}
		toks = append(toks, s[:j])
		s = s[j:]
	}
}

// asciiSpace are the ASCII bytes unicode.IsSpace takes for space.
var asciiSpace = [256]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func short(s string) string {
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}

// SystemTables reads the table names of iproute2's rt_tables files
// (/etc/iproute2, then the distribution's defaults under /usr/share and
// /usr/lib, and their rt_tables.d/*.conf), as `ip route ... table NAME`
// resolves them.
func SystemTables() map[string]uint32 {
	out := map[string]uint32{}
	for _, dir := range []string{"/usr/lib/iproute2", "/usr/share/iproute2", "/etc/iproute2"} {
		files := []string{dir + "/rt_tables"}
		if ents, err := readDir(dir + "/rt_tables.d"); err == nil {
			for _, e := range ents {
				if strings.HasSuffix(e, ".conf") {
					files = append(files, dir+"/rt_tables.d/"+e)
				}
			}
		}
		for _, f := range files {
			b, err := readFile(f)
			if err != nil {
				continue
			}
			parseTables(b, out)
		}
	}
	return out
}

// parseTables reads "NUMBER NAME" lines (comments with #).
func parseTables(b []byte, out map[string]uint32) {
	for _, l := range bytes.Split(b, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		f := strings.Fields(string(l))
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 0, 32)
		if err != nil {
			continue
		}
		out[f[1]] = uint32(n)
	}
}
