// Package nldrops names other processes' netlink sockets that are
// dropping messages: it reads samples of /proc/net/netlink (the Drops
// column is sk_drops, counted by netlink_overrun() in
// net/netlink/af_netlink.c when a socket's receive queue is full) and
// reports the sockets whose count went up between two samples, with the
// process that owns each, so that an operator learns their routing
// daemon is missing events. A count that does not move is no finding:
// it tells of some past overflow the daemon may long have recovered
// from. It does no I/O: package livewatch reads the file and finds the
// owners.
package nldrops

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"raceroute/watch/finding"
)

// Name is the Finding.Detector of this package's findings.
const Name = "netlink-socket-drops"

// Socket is one line of /proc/net/netlink.
type Socket struct {
	Protocol int    // Eth: NETLINK_ROUTE is 0
	PortID   uint32 // Pid: the socket's netlink port id (not always a process id)
	Groups   uint32 // the first 32 multicast groups joined, as a bit mask
	Drops    uint64
	Inode    uint64
}

// Parse reads /proc/net/netlink (netlink_seq_show(), 3.10 to 6.x:
// "sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode"), finding the
// columns by the header's names. A malformed line is an error naming
// its line number.
func Parse(r io.Reader) ([]Socket, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("/proc/net/netlink: %w", err)
		}
		return nil, fmt.Errorf("/proc/net/netlink: empty, want a header line")
	}
	col := map[string]int{}
	for i, h := range strings.Fields(sc.Text()) {
		col[h] = i
	}
	for _, h := range []string{"Eth", "Pid", "Groups", "Drops", "Inode"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("/proc/net/netlink line 1: no %s column in header %q", h, sc.Text())
		}
	}
	var out []Socket
	for line := 2; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < len(col) {
			return nil, fmt.Errorf("/proc/net/netlink line %d: %d fields, want %d", line, len(f), len(col))
		}
		var s Socket
		var err error
		num := func(name string, base, bits int) uint64 {
			if err != nil {
				return 0
			}
			var v uint64
			v, err = strconv.ParseUint(f[col[name]], base, bits)
			if err != nil {
				err = fmt.Errorf("/proc/net/netlink line %d: %s %q: want a number", line, name, f[col[name]])
			}
			return v
		}
		s.Protocol = int(num("Eth", 10, 8))
		s.PortID = uint32(num("Pid", 10, 32))
		s.Groups = uint32(num("Groups", 16, 32))
		s.Drops = num("Drops", 10, 64)
		s.Inode = num("Inode", 10, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("/proc/net/netlink: %w", err)
	}
	return out, nil
}

// Owner is the process that holds a socket open.
type Owner struct {
	PID  int
	Comm string // /proc/PID/comm
}

// Repeat is how long a socket that was reported stays quiet before the
// drops it went on to have are reported again (in one finding), so that
// a storm yields a finding a minute per socket, not one per sample.
const Repeat = time.Minute

// base is what a socket's drops are compared with: the count at its
// first sample or its last finding, and when that was.
type base struct {
	drops    uint64
	at       time.Time
	reported bool
	seen     bool // in the latest sample
}

// Detector compares each sample with the socket's base.
type Detector struct {
	bases   map[uint64]*base // by inode
	sampled bool
	last    time.Time // the previous sample
}

// New returns a detector that has seen no sample.
func New() *Detector { return &Detector{bases: map[uint64]*base{}} }

// baseOf returns s's base, or, for a socket not seen before, the one it
// gets: its own count on the first sample (the baseline), else 0 at the
// previous sample (a socket opened since: its drops are news).
func (d *Detector) baseOf(s Socket) (b *base, known bool) {
	if b, ok := d.bases[s.Inode]; ok {
		return b, true
	}
	b = &base{at: d.last}
	if !d.sampled {
		b.drops = s.Drops
	}
	return b, false
}

// due reports whether s's drops rose past b and may be reported at at.
func due(at time.Time, s Socket, b *base) bool {
	return s.Drops > b.drops && (!b.reported || at.Sub(b.at) >= Repeat)
}

// Rising returns the sockets of a sample taken at at that Observe would
// report, so that their owners are looked up only then.
func (d *Detector) Rising(at time.Time, socks []Socket) []Socket {
	var out []Socket
	for _, s := range socks {
		if b, _ := d.baseOf(s); due(at, s, b) {
			out = append(out, s)
		}
	}
	return out
}

// Observe records a sample taken at at and returns a finding for each
// socket whose drops rose past its base (the first sample is every
// socket's base: a count that does not move is no finding). owners
// maps inodes to their processes (a socket with none, for instance one
// whose process ended meanwhile, is reported without a name); skip
// holds inodes not to report (the watch's own sockets, whose overflows
// it reports itself).
func (d *Detector) Observe(at time.Time, socks []Socket, owners map[uint64]Owner, skip map[uint64]bool) []finding.Finding {
	var out []finding.Finding
	for _, b := range d.bases {
		b.seen = false
	}
	for _, s := range socks {
		b, known := d.baseOf(s)
		if !known {
			d.bases[s.Inode] = b
		}
		switch {
		case skip[s.Inode]:
		case due(at, s, b):
			out = append(out, d.finding(at, s, b, owners))
			b.drops, b.at, b.reported = s.Drops, at, true
		case !b.reported && s.Drops <= b.drops:
			b.at = at // nothing new: the window starts here
		}
		b.seen = true
	}
	for ino, b := range d.bases {
		if !b.seen {
			delete(d.bases, ino)
		}
	}
	d.sampled, d.last = true, at
	return out
}

// protocols names the netlink protocols a routing daemon uses.
var protocols = map[int]string{0: "NETLINK_ROUTE", 4: "NETLINK_SOCK_DIAG", 6: "NETLINK_XFRM", 12: "NETLINK_NETFILTER", 16: "NETLINK_GENERIC"}

func (d *Detector) finding(at time.Time, s Socket, b *base, owners map[uint64]Owner) finding.Finding {
	who := fmt.Sprintf("an unknown process (socket inode %d; it may have exited)", s.Inode)
	obj := fmt.Sprintf("netlink socket inode %d", s.Inode)
	if o, ok := owners[s.Inode]; ok {
		who = fmt.Sprintf("%s (pid %d)", o.Comm, o.PID)
		obj = fmt.Sprintf("%s pid %d netlink socket inode %d", o.Comm, o.PID, s.Inode)
	}
	proto, ok := protocols[s.Protocol]
	if !ok {
		proto = fmt.Sprintf("netlink protocol %d", s.Protocol)
	}
	what := "messages"
	if s.Protocol == 0 {
		what = "route, neighbour, address or link events"
		if s.Groups != 0 {
			what += fmt.Sprintf(" (multicast groups 0x%08x)", s.Groups)
		}
	}
	repeat := ""
	if b.reported {
		repeat = " since it was last reported"
	}
	rose := s.Drops - b.drops
	return finding.Finding{
		Detector: Name,
		Severity: finding.SeverityWarning,
		Time:     at,
		Objects:  []string{obj},
		Evidence: fmt.Sprintf("the %s socket of %s dropped %d %s between %s and %s%s (%d dropped since it was opened): "+
			"its receive queue was full, so it missed them and its picture of the kernel's tables may be wrong until it dumps them again",
			proto, who, rose, what, finding.FmtTime(b.at), finding.FmtTime(at), repeat, s.Drops),
		Advice: "check that the process is not stalled; give its socket a larger receive buffer (SO_RCVBUF, SO_RCVBUFFORCE, net.core.rmem_max); " +
			"make sure it re-dumps its tables after ENOBUFS (a daemon that only logs the error keeps a stale view)",
	}
}
