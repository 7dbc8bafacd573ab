package nl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/trace"
)

// DefaultRcvBuf is the receive buffer a subscription asks for: 4 MiB,
// enough for about 600k route events of an `ip -batch` load on two
// cores without overflow (docs/kernel-notes-watch.md).
const DefaultRcvBuf = 4 << 20

// maxDumpTries bounds the retries of a dump the kernel interrupted
// (NLM_F_DUMP_INTR) because the table changed under it.
const maxDumpTries = 20

// Options configure a subscription or a dump.
type Options struct {
	// Netns selects the network namespace: a name under /run/netns, or a
	// path (anything with a '/'); empty means the caller's namespace
	// unless NetnsFD is set.
	Netns string
	// NetnsFD is an open namespace descriptor, used when Netns is empty
	// and NetnsFD > 0.
	NetnsFD int
	// Families restricts routes, neighbours and addresses to IPv4 (4)
	// and/or IPv6 (6); empty means both. Links are always followed.
	Families []int
	// RcvBuf is the receive buffer size in bytes; 0 means DefaultRcvBuf.
	// It is forced with SO_RCVBUFFORCE when permitted, else SO_RCVBUF
	// (capped by net.core.rmem_max).
	RcvBuf int
	// Handler, if set, receives every record synchronously on the
	// subscription's goroutine, and Records returns nil. A slow handler
	// makes the socket overflow, which is then healed by a resync.
	Handler func(trace.Record)
	// Buffer is the capacity of the Records channel (default 4096).
	Buffer int
	// Queue is how many received datagrams may wait between the socket
	// reader and the decoder (default 65536), so that a resync dump does
	// not itself overflow the socket.
	Queue int
	// CachePoll, if positive, dumps the IPv6 route cache (RTM_F_CLONED)
	// this often: the kernel does not announce exceptions, so this is
	// the only way to see them. Differences come out as records with
	// Polled set.
	CachePoll time.Duration
	// EmitInitial emits the initial dump as records with Initial set.
	EmitInitial bool
	// OnDumpRetry, if set, is told each time a dump is retried because
	// the kernel marked it interrupted (NLM_F_DUMP_INTR).
	OnDumpRetry func(what string)
	// Logger receives debug and warning logs; nil discards them.
	Logger *slog.Logger
}

func (o *Options) wants(fam int) bool {
	if len(o.Families) == 0 {
		return true
	}
	for _, f := range o.Families {
		if f == fam {
			return true
		}
	}
	return false
}

func (o *Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// nsHandle resolves the namespace options to a descriptor; close must be
// called when done. fd 0 means the caller's namespace.
func (o *Options) nsHandle() (fd int, name string, close func(), err error) {
	if o.Netns == "" {
		if o.NetnsFD > 0 {
			return o.NetnsFD, fmt.Sprintf("fd %d", o.NetnsFD), func() {}, nil
		}
		return 0, "", func() {}, nil
	}
	path := o.Netns
	if !strings.Contains(path, "/") {
		path = "/run/netns/" + path
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, "", nil, fmt.Errorf("netns %q: %w", o.Netns, err)
	}
	return int(f.Fd()), o.Netns, func() { f.Close() }, nil
}

// dial opens an rtnetlink socket in namespace fd (0: the caller's).
func dial(fd int, groups uint32) (*netlink.Conn, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{
		NetNS:             fd,
		Groups:            groups,
		Strict:            true,
		MessageBufferSize: 1 << 16,
	})
	if err != nil {
		return nil, fmt.Errorf("rtnetlink dial: %w", err)
	}
	return c, nil
}

// setRcvBuf sets the socket's receive buffer, forced when permitted,
// and returns the size the kernel reports (twice the request, for its
// bookkeeping) and whether the force worked.
func setRcvBuf(c *netlink.Conn, size int) (got int, forced bool, err error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, false, fmt.Errorf("receive buffer: %w", err)
	}
	var serr error
	cerr := rc.Control(func(fd uintptr) {
		if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size); e == nil {
			forced = true
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, size)
	})
	if cerr != nil {
		return 0, false, fmt.Errorf("receive buffer: %w", cerr)
	}
	if serr != nil {
		return 0, false, fmt.Errorf("receive buffer: SO_RCVBUF %d: %w", size, serr)
	}
	got, err = c.ReadBuffer()
	if err != nil {
		return 0, forced, fmt.Errorf("receive buffer: read back: %w", err)
	}
	return got, forced, nil
}

// dumper runs dumps on its own socket.
type dumper struct {
	c       *netlink.Conn
	retries atomic.Uint64 // interrupted dumps retried so far
}

// request is one dump request: message type, family, and body.
type request struct {
	typ  netlink.HeaderType
	body []byte
	what string
}

func routeReq(af uint8, flags uint32) request {
	b := make([]byte, unix.SizeofRtMsg)
	b[0] = af
	b[8], b[9], b[10], b[11] = byte(flags), byte(flags>>8), byte(flags>>16), byte(flags>>24)
	what := fmt.Sprintf("routes (family %d)", af)
	if flags&rtmFCloned != 0 {
		what = fmt.Sprintf("route cache (family %d)", af)
	}
	return request{unix.RTM_GETROUTE, b, what}
}

func neighReq(af uint8) request {
	b := make([]byte, unix.SizeofNdMsg)
	b[0] = af
	return request{unix.RTM_GETNEIGH, b, fmt.Sprintf("neighbours (family %d)", af)}
}

func addrReq(af uint8) request {
	b := make([]byte, unix.SizeofIfAddrmsg)
	b[0] = af
	return request{unix.RTM_GETADDR, b, fmt.Sprintf("addresses (family %d)", af)}
}

func linkReq() request {
	return request{unix.RTM_GETLINK, make([]byte, unix.SizeofIfInfomsg), "links"}
}

// dumpOne runs one dump request and calls fn for each message, retrying
// the whole request when the kernel marks it interrupted. fn must be
// idempotent across retries (it is called again for a retried dump).
func (d *dumper) dumpOne(ctx context.Context, req request, reset func(), fn func(m netlink.Message) error, onRetry func(string)) error {
	for try := 0; ; try++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		reset()
		_, err := d.c.Send(netlink.Message{
			Header: netlink.Header{Type: req.typ, Flags: netlink.Request | netlink.Dump},
			Data:   req.body,
		})
		if err != nil {
			return fmt.Errorf("dump %s: send: %w", req.what, err)
		}
		intr := false
		var ferr error
		for m, err := range d.c.ReceiveIter() {
			if err != nil {
				return fmt.Errorf("dump %s: %w", req.what, err)
			}
			if m.Header.Flags&netlink.DumpInterrupted != 0 {
				intr = true
			}
			if ferr == nil {
				ferr = fn(m)
			}
		}
		if ferr != nil {
			return fmt.Errorf("dump %s: %w", req.what, ferr)
		}
		if !intr {
			return nil
		}
		d.retries.Add(1)
		if onRetry != nil {
			onRetry(req.what)
		}
		if try+1 >= maxDumpTries {
			return fmt.Errorf("dump %s: interrupted %d times in a row (NLM_F_DUMP_INTR)", req.what, maxDumpTries)
		}
	}
}

// kinds selects what a dump covers.
type kinds struct {
	links, addrs, routes, cache, neighs bool
}

var allKinds = kinds{true, true, true, true, true}

// dump reads the selected tables into a fresh view. The link names of
// prev (if any) resolve devices when links are not dumped.
func (d *dumper) dump(ctx context.Context, o *Options, k kinds, prev *View) (*View, error) {
	v := newView()
	if prev != nil && !k.links {
		for i, l := range prev.links {
			v.links[i] = l
		}
	}
	var fams []uint8
	if o.wants(4) {
		fams = append(fams, unix.AF_INET)
	}
	if o.wants(6) {
		fams = append(fams, unix.AF_INET6)
	}
	run := func(req request, kind trace.Kind, reset func()) error {
		return d.dumpOne(ctx, req, reset, func(m netlink.Message) error {
			r, ok, err := decodeMsg(uint16(m.Header.Type), m.Data)
			if err != nil || !ok {
				return err
			}
			if r.Kind != kind {
				return nil
			}
			v.fillDev(&r)
			v.apply(&r)
			return nil
		}, o.OnDumpRetry)
	}
	if k.links {
		if err := run(linkReq(), trace.KindLink, func() { clear(v.links) }); err != nil {
			return nil, err
		}
	}
	for _, af := range fams {
		if k.addrs {
			fam := familyOf(af)
			if err := run(addrReq(af), trace.KindAddr, func() {
				for key, a := range v.addrs {
					if a.Family == fam {
						delete(v.addrs, key)
					}
				}
			}); err != nil {
				return nil, err
			}
		}
		if k.routes {
			fam := familyOf(af)
			if err := run(routeReq(af, 0), trace.KindRoute, func() {
				for key, r := range v.routes {
					if r.Family == fam && !r.Cloned {
						delete(v.routes, key)
					}
				}
			}); err != nil {
				return nil, err
			}
		}
		if k.cache && af == unix.AF_INET6 {
			if err := run(routeReq(af, rtmFCloned), trace.KindRoute, func() {
				for key, r := range v.routes {
					if r.Family == 6 && r.Cloned {
						delete(v.routes, key)
					}
				}
			}); err != nil {
				return nil, err
			}
		}
		if k.neighs {
			fam := familyOf(af)
			if err := run(neighReq(af), trace.KindNeigh, func() {
				for key, n := range v.neighs {
					if n.Family == fam {
						delete(v.neighs, key)
					}
				}
			}); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// decodeMsg turns an rtnetlink message into a record (without Time,
// Dev or flags). ok is false for messages of no interest.
func decodeMsg(typ uint16, data []byte) (r trace.Record, ok bool, err error) {
	switch typ {
	case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
		r.Kind = trace.KindRoute
		r.Route, ok, err = decodeRoute(data)
	case unix.RTM_NEWNEIGH, unix.RTM_DELNEIGH:
		r.Kind = trace.KindNeigh
		r.Neigh, ok, err = decodeNeigh(data)
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		r.Kind = trace.KindLink
		r.Link, err = decodeLink(data)
		ok = err == nil
	case unix.RTM_NEWADDR, unix.RTM_DELADDR:
		r.Kind = trace.KindAddr
		r.Addr, ok, err = decodeAddr(data)
	default:
		return r, false, nil
	}
	switch typ {
	case unix.RTM_DELROUTE, unix.RTM_DELNEIGH, unix.RTM_DELLINK, unix.RTM_DELADDR:
		r.Action = trace.ActionDel
	default:
		r.Action = trace.ActionNew
	}
	return r, ok, err
}

// fillDev sets the device name of a record from the view's links.
func (v *View) fillDev(r *trace.Record) {
	switch r.Kind {
	case trace.KindRoute:
		r.Route.Dev = v.links[r.Route.Ifindex].Name
	case trace.KindNeigh:
		r.Neigh.Dev = v.links[r.Neigh.Ifindex].Name
	case trace.KindAddr:
		r.Addr.Dev = v.links[r.Addr.Ifindex].Name
	}
}

// records lists a view's objects as ActionNew records: links, addresses,
// routes, neighbours.
func (v *View) records() []trace.Record {
	empty := newView()
	recs := empty.diff(v)
	return recs
}

// Dump reads every link, address, route (IPv6 cache entries included,
// through a dump with RTM_F_CLONED) and neighbour of the namespace, as
// ActionNew records with Initial set. Interrupted dumps are retried.
func Dump(ctx context.Context, opts Options) ([]trace.Record, error) {
	v, err := DumpView(ctx, opts)
	if err != nil {
		return nil, err
	}
	recs := v.records()
	now := time.Now()
	for i := range recs {
		recs[i].Time = now
		recs[i].Initial = true
		recs[i].Netns = opts.Netns
	}
	return recs, nil
}

// DumpView is Dump returning a View, for comparing with a subscription's.
func DumpView(ctx context.Context, opts Options) (*View, error) {
	return dumpOnce(ctx, opts, allKinds)
}

// dumpOnce opens a socket in the namespace of opts, dumps the kinds asked
// for into a fresh View, and closes it; cancelling ctx ends the dump.
func dumpOnce(ctx context.Context, opts Options, k kinds) (*View, error) {
	fd, _, closeNS, err := opts.nsHandle()
	if err != nil {
		return nil, err
	}
	defer closeNS()
	c, err := dial(fd, 0)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	d := &dumper{c: c}
	v, err := d.dump(ctx, &opts, k, nil)
	if err != nil && ctx.Err() != nil {
		return nil, errors.Join(ctx.Err(), err)
	}
	return v, err
}

// DumpCache lists the IPv6 route-cache entries (exceptions) of the
// namespace, through a dump with RTM_F_CLONED.
func DumpCache(ctx context.Context, opts Options) ([]trace.Route, error) {
	opts.Families = []int{6}
	v, err := dumpOnce(ctx, opts, kinds{links: true, cache: true})
	if err != nil {
		return nil, err
	}
	var out []trace.Route
	for _, r := range v.RouteList() {
		if r.Cloned {
			out = append(out, r)
		}
	}
	return out, nil
}
