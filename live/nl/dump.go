package nl

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/live/nl/internal/rtsock"
	"raceroute/trace"
)

// MaxDumpTries bounds the retries of a dump the kernel interrupted
// (NLM_F_DUMP_INTR) because the table changed under it.
const MaxDumpTries = 20

// Tables selects what a dump reads.
type Tables struct {
	Links, Addrs, Routes, Neighs bool
	// Cache is the IPv6 route cache (exceptions), read by a dump with
	// RTM_F_CLONED.
	Cache bool
}

// AllTables selects every table.
func AllTables() Tables {
	return Tables{Links: true, Addrs: true, Routes: true, Neighs: true, Cache: true}
}

// Dumper runs dumps on one rtnetlink socket, retrying those the kernel
// marks interrupted. The socket is any netlink.Conn: the kernel's
// (DumpView dials one) or, in tests, mdlayher/netlink's nltest.
type Dumper struct {
	c       *netlink.Conn
	opts    Options
	retries atomic.Uint64 // interrupted dumps retried so far
}

// NewDumper runs the dumps of opts (families, OnDumpRetry) on c; the
// Dumper owns c from then on.
func NewDumper(c *netlink.Conn, opts Options) *Dumper { return &Dumper{c: c, opts: opts} }

// Retries returns how many interrupted dumps were retried so far.
func (d *Dumper) Retries() uint64 { return d.retries.Load() }

// SetDeadline makes a blocked or later dump fail once t has passed.
func (d *Dumper) SetDeadline(t time.Time) error { return d.c.SetDeadline(t) }

// Close releases the socket.
func (d *Dumper) Close() error { return d.c.Close() }

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
	if flags&unix.RTM_F_CLONED != 0 {
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
func (d *Dumper) dumpOne(ctx context.Context, req request, reset func(), fn func(m netlink.Message) error) error {
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
			// nl_dump_check_consistent (include/net/netlink.h) flags the
			// first message filled after the table's generation moved.
			// netlink.Conn does not yield NLMSG_DONE, which
			// netlink_dump_done checks too: a flag on it alone (the
			// table changed after the last object was read) is not
			// seen, and need not be, as the dump is consistent.
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
		if d.opts.OnDumpRetry != nil {
			d.opts.OnDumpRetry(req.what)
		}
		if try+1 >= MaxDumpTries {
			return fmt.Errorf("dump %s: interrupted %d times in a row (NLM_F_DUMP_INTR)", req.what, MaxDumpTries)
		}
	}
}

// Dump reads the selected tables into a fresh view. The links of prev
// (if any) name the devices when links are not dumped, and are kept.
func (d *Dumper) Dump(ctx context.Context, t Tables, prev *View) (*View, error) {
	v := newView()
	if prev != nil && !t.Links {
		for i, l := range prev.links {
			v.links[i] = l
		}
	}
	var fams []uint8
	if d.opts.Wants(4) {
		fams = append(fams, unix.AF_INET)
	}
	if d.opts.Wants(6) {
		fams = append(fams, unix.AF_INET6)
	}
	run := func(req request, kind trace.Kind, reset func()) error {
		return d.dumpOne(ctx, req, reset, func(m netlink.Message) error {
			r, ok, err := Decode(uint16(m.Header.Type), m.Data)
			if err != nil || !ok {
				return err
			}
			if r.Kind != kind {
				return nil
			}
			v.FillDev(&r)
			v.Apply(&r)
			return nil
		})
	}
	if t.Links {
		if err := run(linkReq(), trace.KindLink, func() { clear(v.links) }); err != nil {
			return nil, err
		}
	}
	for _, af := range fams {
		fam := familyOf(af)
		if t.Addrs {
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
		if t.Routes {
			if err := run(routeReq(af, 0), trace.KindRoute, func() {
				v.routes.deleteFunc(func(r *trace.Route) bool { return r.Family == fam && !r.Cloned })
			}); err != nil {
				return nil, err
			}
		}
		if t.Cache && af == unix.AF_INET6 {
			if err := run(routeReq(af, unix.RTM_F_CLONED), trace.KindRoute, func() {
				v.routes.deleteFunc(func(r *trace.Route) bool { return r.Family == 6 && r.Cloned })
			}); err != nil {
				return nil, err
			}
		}
		if t.Neighs {
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

// Dump reads every link, address, route (IPv6 cache entries included,
// through a dump with RTM_F_CLONED) and neighbour of the namespace, as
// ActionNew records with Initial set. Interrupted dumps are retried.
func Dump(ctx context.Context, opts Options) ([]trace.Record, error) {
	v, err := DumpView(ctx, opts)
	if err != nil {
		return nil, err
	}
	recs := v.Records()
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
	return dumpOnce(ctx, opts, AllTables())
}

// dumpOnce opens a socket in the namespace of opts, dumps the tables
// asked for into a fresh View, and closes it; cancelling ctx ends the
// dump.
func dumpOnce(ctx context.Context, opts Options, t Tables) (*View, error) {
	fd, _, release, err := rtsock.Namespace(opts.Netns, opts.NetnsFD)
	if err != nil {
		return nil, err
	}
	defer release()
	c, err := rtsock.Dial(fd)
	if err != nil {
		return nil, err
	}
	d := NewDumper(c, opts)
	defer d.Close()
	stop := context.AfterFunc(ctx, func() { d.SetDeadline(time.Now()) })
	defer stop()
	v, err := d.Dump(ctx, t, nil)
	if err != nil && ctx.Err() != nil {
		return nil, errors.Join(ctx.Err(), err)
	}
	return v, err
}

// DumpCache lists the IPv6 route-cache entries (exceptions) of the
// namespace, through a dump with RTM_F_CLONED.
func DumpCache(ctx context.Context, opts Options) ([]trace.Route, error) {
	opts.Families = []int{6}
	v, err := dumpOnce(ctx, opts, Tables{Links: true, Cache: true})
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
