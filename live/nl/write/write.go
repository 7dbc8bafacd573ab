// Package write applies route changes to the kernel in batches: many
// rtnetlink messages per sendmsg, every message's result checked.
package write

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/live/nl"
	"raceroute/live/nl/internal/rtsock"
	"raceroute/trace"
)

// Op is a route write operation.
type Op int

// Route write operations.
const (
	OpAdd     Op = iota + 1 // RTM_NEWROUTE with NLM_F_CREATE|NLM_F_EXCL
	OpReplace               // RTM_NEWROUTE with NLM_F_CREATE|NLM_F_REPLACE
	OpDelete                // RTM_DELROUTE; protocol 0 (any) unless the route names one, as `ip route del` sends it
	OpChange                // RTM_NEWROUTE with NLM_F_REPLACE (ip route change)
	OpAppend                // RTM_NEWROUTE with NLM_F_CREATE|NLM_F_APPEND (ip route append)
)

// String names the operation: add, replace, delete, change, append.
func (o Op) String() string {
	switch o {
	case OpAdd:
		return "add"
	case OpReplace:
		return "replace"
	case OpDelete:
		return "delete"
	case OpChange:
		return "change"
	case OpAppend:
		return "append"
	}
	return fmt.Sprintf("op(%d)", int(o))
}

// DefaultBatch is how many route messages go into one sendmsg.
const DefaultBatch = 512

// RouteWriter writes routes in batches: many messages per sendmsg, every
// message's result checked (the kernel reports each failure; the last
// message of a batch asks for an ACK, which arrives after them).
type RouteWriter struct {
	c       *netlink.Conn
	closeNS func()
	// Batch is the number of messages per sendmsg (DefaultBatch if 0).
	Batch int
}

// RouteError is a route the kernel refused.
type RouteError struct {
	Op    Op          // what was asked
	Route trace.Route // of which route
	Err   error       // the kernel's answer (a syscall.Errno)
	// Message is the kernel's extended-ACK text, when it gave one.
	Message string
}

// Error describes the refusal: operation, route, kernel error and its
// text.
func (e *RouteError) Error() string {
	s := fmt.Sprintf("route %s %s table %d metric %d: %v", e.Op, e.Route.Dst, e.Route.Table, e.Route.Metric, e.Err)
	if e.Message != "" {
		s += " (" + e.Message + ")"
	}
	return s
}

// Unwrap returns the kernel's error.
func (e *RouteError) Unwrap() error { return e.Err }

// NewRouteWriter opens a writer on the namespace selected by opts
// (Netns, NetnsFD; the other options are ignored).
func NewRouteWriter(opts nl.Options) (*RouteWriter, error) {
	fd, name, closeNS, err := rtsock.Namespace(opts.Netns, opts.NetnsFD)
	if err != nil {
		return nil, err
	}
	c, err := rtsock.Dial(fd)
	if err != nil {
		closeNS()
		return nil, fmt.Errorf("route writer in netns %q: %w", name, err)
	}
	// Failures come back one message each: leave room for a whole batch.
	if _, _, err := rtsock.SetRcvBuf(c, 8<<20); err != nil {
		c.Close()
		closeNS()
		return nil, fmt.Errorf("route writer in netns %q: %w", name, err)
	}
	// No NETLINK_CAP_ACK: mdlayher/netlink (1.11.2, checkMessage) skips
	// an error's echoed request by the length in its header whether or
	// not NLM_F_CAPPED cut it to the header, so on a capped socket every
	// error that carries extended-ACK TLVs ("Can not replace route - no
	// match found") would lose its errno.
	return &RouteWriter{c: c, closeNS: closeNS}, nil
}

// Close releases the writer's socket.
func (w *RouteWriter) Close() error {
	err := w.c.Close()
	w.closeNS()
	if err != nil {
		return fmt.Errorf("route writer: close: %w", err)
	}
	return nil
}

// Write applies op to every route, in batches, and returns how many the
// kernel accepted. Refusals are returned joined as *RouteError values.
func (w *RouteWriter) Write(ctx context.Context, op Op, routes []trace.Route) (int, error) {
	size := w.Batch
	if size <= 0 {
		size = DefaultBatch
	}
	var typ netlink.HeaderType = unix.RTM_NEWROUTE
	flags := netlink.Request
	switch op {
	case OpAdd:
		flags |= netlink.Create | netlink.Excl
	case OpReplace:
		flags |= netlink.Create | netlink.Replace
	case OpDelete:
		typ = unix.RTM_DELROUTE
	case OpChange:
		flags |= netlink.Replace
	case OpAppend:
		flags |= netlink.Create | netlink.Append
	default:
		return 0, fmt.Errorf("route writer: unknown %v", op)
	}
	stop := context.AfterFunc(ctx, func() { w.c.SetDeadline(time.Now()) })
	defer stop()
	ok := 0
	var errs []error
	msgs := make([]netlink.Message, 0, size)
	for start := 0; start < len(routes); start += size {
		if err := ctx.Err(); err != nil {
			return ok, errors.Join(append(errs, err)...)
		}
		batch := routes[start:min(start+size, len(routes))]
		msgs = msgs[:0]
		for i := range batch {
			b, err := nl.EncodeRoute(&batch[i])
			if err != nil {
				return ok, errors.Join(append(errs, err)...)
			}
			if op == OpDelete && batch[i].Proto == 0 {
				// iproute2 sets RTPROT_BOOT only on what it adds; a delete
				// without `proto` matches routes of every protocol
				// (ip6_route_del(), 6.12: cfg->fc_protocol 0).
				b[5] = unix.RTPROT_UNSPEC
			}
			f := flags
			if i == len(batch)-1 {
				f |= netlink.Acknowledge
			}
			msgs = append(msgs, netlink.Message{Header: netlink.Header{Type: typ, Flags: f}, Data: b})
		}
		sent, err := w.c.SendMessages(msgs)
		if err != nil {
			return ok, errors.Join(append(errs, fmt.Errorf("route writer: send batch of %d: %w", len(msgs), err))...)
		}
		first := sent[0].Header.Sequence
		last := sent[len(sent)-1].Header.Sequence
		failed, err := w.awaitAck(first, last, func(seq uint32, e *netlink.OpError) {
			errs = append(errs, &RouteError{Op: op, Route: batch[seq-first], Err: e.Err, Message: e.Message})
		})
		if err != nil {
			return ok, errors.Join(append(errs, err)...)
		}
		ok += len(batch) - failed
	}
	return ok, errors.Join(errs...)
}

// awaitAck reads error messages until the ACK of sequence last arrives.
func (w *RouteWriter) awaitAck(first, last uint32, refused func(seq uint32, err *netlink.OpError)) (int, error) {
	failed := 0
	for {
		msgs, err := w.c.Receive()
		var oe *netlink.OpError
		switch {
		case err == nil:
			// Only an ACK (error 0) can come without an error.
			for _, m := range msgs {
				if m.Header.Sequence == last {
					return failed, nil
				}
			}
		case errors.As(err, &oe) && oe.Sequence >= first && oe.Sequence <= last:
			refused(oe.Sequence, oe)
			failed++
			if oe.Sequence == last {
				return failed, nil
			}
		default:
			return failed, fmt.Errorf("route writer: waiting for ACK of sequence %d: %w", last, err)
		}
	}
}

// NexthopError is a nexthop request the kernel refused.
type NexthopError struct {
	Op Op     // OpAdd, OpReplace or OpDelete
	ID uint32 // of which object
	// Err is the kernel's answer (a syscall.Errno), Message its
	// extended-ACK text, when it gave one.
	Err     error
	Message string
}

// Error describes the refusal: operation, object, kernel error and its
// text.
func (e *NexthopError) Error() string {
	s := fmt.Sprintf("nexthop %s id %d: %v", e.Op, e.ID, e.Err)
	if e.Message != "" {
		s += " (" + e.Message + ")"
	}
	return s
}

// Unwrap returns the kernel's error.
func (e *NexthopError) Unwrap() error { return e.Err }

// Nexthop applies one nexthop request, with the flags `ip nexthop`
// sends: add RTM_NEWNEXTHOP with NLM_F_CREATE|NLM_F_EXCL, replace
// RTM_NEWNEXTHOP with NLM_F_CREATE|NLM_F_REPLACE, delete RTM_DELNEXTHOP
// of n.ID. A refusal is a *NexthopError.
func (w *RouteWriter) Nexthop(ctx context.Context, op Op, n nl.Nexthop) error {
	var typ netlink.HeaderType = unix.RTM_NEWNEXTHOP
	flags := netlink.Request | netlink.Acknowledge
	var body []byte
	switch op {
	case OpAdd:
		flags |= netlink.Create | netlink.Excl
	case OpReplace:
		flags |= netlink.Create | netlink.Replace
	case OpDelete:
		typ = unix.RTM_DELNEXTHOP
		body = nl.EncodeNexthopID(n.ID)
	default:
		return fmt.Errorf("nexthop writer: %v is no nexthop request", op)
	}
	if body == nil {
		var err error
		if body, err = nl.EncodeNexthop(&n); err != nil {
			return err
		}
	}
	stop := context.AfterFunc(ctx, func() { w.c.SetDeadline(time.Now()) })
	defer stop()
	sent, err := w.c.Send(netlink.Message{Header: netlink.Header{Type: typ, Flags: flags}, Data: body})
	if err != nil {
		return fmt.Errorf("nexthop writer: send %v id %d: %w", op, n.ID, err)
	}
	var refused error
	if _, err := w.awaitAck(sent.Header.Sequence, sent.Header.Sequence, func(_ uint32, e *netlink.OpError) {
		refused = &NexthopError{Op: op, ID: n.ID, Err: e.Err, Message: e.Message}
	}); err != nil {
		return err
	}
	return refused
}
