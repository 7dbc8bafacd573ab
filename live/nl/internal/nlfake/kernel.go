// Package nlfake is a scripted rtnetlink kernel for the tests of live/nl
// and its subscription, which then need no root: as mdlayher/netlink's
// nltest stands in for a socket, it holds tables that dumps read
// (through an nltest Conn) and a multicast socket that its
// notifications queue on and overflow from as the kernel's do.
//
// A test changes the tables with Announce (notified, as the kernel
// notifies most changes) or Set (silent, as when a link's IPv4 routes
// are flushed or an IPv6 exception is made), bounds the socket's queue
// with SetLimit, and marks dumps interrupted with Interrupt.
package nlfake

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"

	"raceroute/trace"
)

// Kernel is the fake kernel of one namespace.
type Kernel struct {
	mu   sync.Mutex
	objs map[objKey]trace.Record

	// The multicast socket.
	queue     [][]byte
	limit     int  // datagrams the queue holds; 0: no limit
	sockErr   bool // sk_err = ENOBUFS, reported by the next receive
	congested bool // NETLINK_S_CONGESTED
	drops     int
	closed    bool
	deadline  time.Time
	wake      chan struct{} // a receive may find something new

	// Dumps.
	intr   map[netlink.HeaderType]*interruption
	dumps  map[netlink.HeaderType]int
	onDump func(typ netlink.HeaderType)
}

type interruption struct {
	left  int
	stale []trace.Record
}

// objKey identifies an object the way the kernel's tables do: a link
// by index, an address by device and prefix, a neighbour by device and
// address, a route by family, table, destination and metric (and, for
// an IPv6 cache exception, device: it hangs off its parent route).
type objKey struct {
	kind    trace.Kind
	family  int
	ifindex int
	table   uint32
	metric  uint32
	cloned  bool
	prefix  netip.Prefix
	addr    netip.Addr
}

func keyOf(r *trace.Record) objKey {
	switch r.Kind {
	case trace.KindLink:
		return objKey{kind: r.Kind, ifindex: r.Link.Index}
	case trace.KindAddr:
		return objKey{kind: r.Kind, ifindex: r.Addr.Ifindex, prefix: r.Addr.Prefix}
	case trace.KindNeigh:
		return objKey{kind: r.Kind, ifindex: r.Neigh.Ifindex, addr: r.Neigh.Addr}
	}
	k := objKey{kind: r.Kind, family: r.Route.Family, table: r.Route.Table, metric: r.Route.Metric, cloned: r.Route.Cloned, prefix: r.Route.Dst}
	if k.table == 0 {
		k.table = unix.RT_TABLE_MAIN
	}
	if r.Route.Cloned {
		k.ifindex = r.Route.Ifindex
	}
	return k
}

// New returns a kernel whose tables hold objs (each an ActionNew record
// of a link, address, route or neighbour).
func New(objs ...trace.Record) *Kernel {
	k := &Kernel{
		objs:  map[objKey]trace.Record{},
		wake:  make(chan struct{}, 1),
		intr:  map[netlink.HeaderType]*interruption{},
		dumps: map[netlink.HeaderType]int{},
	}
	k.Set(objs...)
	return k
}

// Set changes the tables without a notification: ActionNew records add
// or replace their object, ActionDel records remove it.
func (k *Kernel) Set(recs ...trace.Record) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range recs {
		k.apply(&recs[i])
	}
}

func (k *Kernel) apply(r *trace.Record) {
	if r.Action == trace.ActionDel {
		delete(k.objs, keyOf(r))
		return
	}
	o := *r
	o.Action, o.Replace = trace.ActionNew, false
	k.objs[keyOf(r)] = o
}

// Announce changes the tables as Set does and notifies each change, one
// datagram each, as rtnl_notify sends them (NLM_F_REPLACE on a route
// record with Replace set). Notifications the socket has no room for
// are dropped as netlink_overrun drops them.
func (k *Kernel) Announce(recs ...trace.Record) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range recs {
		k.apply(&recs[i])
		m, err := Message(&recs[i])
		if err != nil {
			panic(fmt.Sprintf("nlfake: announce %+v: %v", recs[i], err))
		}
		b, err := m.MarshalBinary()
		if err != nil {
			panic(fmt.Sprintf("nlfake: announce %+v: %v", recs[i], err))
		}
		k.deliver(b)
	}
}

// Deliver queues a raw datagram on the multicast socket without
// changing the tables: a malformed one, or several messages in one.
func (k *Kernel) Deliver(datagram []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.deliver(datagram)
}

// deliver mirrors netlink_broadcast_deliver and netlink_overrun
// (net/netlink/af_netlink.c, 6.x): a datagram is queued only if the
// socket has room and is not NETLINK_S_CONGESTED; otherwise it is
// dropped, and the first drop sets CONGESTED and sk_err = ENOBUFS.
func (k *Kernel) deliver(b []byte) {
	if k.congested || (k.limit > 0 && len(k.queue) >= k.limit) {
		if !k.congested {
			k.congested, k.sockErr = true, true
		}
		k.drops++
	} else {
		k.queue = append(k.queue, b)
	}
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// SetLimit bounds the socket's queue to n datagrams (0: no bound), as
// its receive buffer does.
func (k *Kernel) SetLimit(n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.limit = n
}

// Drops returns how many notifications were dropped, as the Drops
// column of /proc/net/netlink counts them.
func (k *Kernel) Drops() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.drops
}

// Interrupt marks the next n dumps of request type typ (RTM_GETLINK,
// RTM_GETROUTE, ...) interrupted: NLM_F_DUMP_INTR on their first
// message, as nl_dump_check_consistent sets it on the first message
// filled after the table's sequence moved, and stale shown in them as
// an inconsistent dump shows objects that are gone. A dump with no
// message but NLMSG_DONE carries the flag on NLMSG_DONE
// (netlink_dump_done), where netlink.Conn does not show it.
func (k *Kernel) Interrupt(typ netlink.HeaderType, n int, stale ...trace.Record) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.intr[typ] = &interruption{left: n, stale: stale}
}

// OnDump sets a function called after each dump was read and before it
// is answered (what it changes is not in that dump), with the request's
// type.
func (k *Kernel) OnDump(fn func(typ netlink.HeaderType)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.onDump = fn
}

// Dumps returns how many dumps of request type typ were answered.
func (k *Kernel) Dumps(typ netlink.HeaderType) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.dumps[typ]
}

// Conn returns a netlink.Conn whose dump requests the kernel answers.
func (k *Kernel) Conn() *netlink.Conn { return nltest.Dial(k.answer) }

// answer answers one dump request from the tables.
func (k *Kernel) answer(reqs []netlink.Message) ([]netlink.Message, error) {
	if len(reqs) != 1 || reqs[0].Header.Flags&netlink.Dump == 0 {
		return nltest.Error(int(unix.EOPNOTSUPP), reqs)
	}
	req := reqs[0]
	want, errno := dumpFilter(req)
	if errno != 0 {
		return nltest.Error(int(errno), reqs)
	}
	k.mu.Lock()
	var recs []trace.Record
	for _, r := range k.objs {
		if want(&r) {
			recs = append(recs, r)
		}
	}
	slices.SortFunc(recs, func(a, b trace.Record) int { return cmp.Compare(fmt.Sprint(keyOf(&a)), fmt.Sprint(keyOf(&b))) })
	intr := false
	if in := k.intr[req.Header.Type]; in != nil && in.left > 0 {
		in.left--
		intr = true
		recs = append(recs, in.stale...)
	}
	k.dumps[req.Header.Type]++
	hook := k.onDump
	k.mu.Unlock()

	msgs := make([]netlink.Message, 0, len(recs)+1)
	for i := range recs {
		m, err := Message(&recs[i])
		if err != nil {
			return nil, fmt.Errorf("nlfake: dump %+v: %w", recs[i], err)
		}
		m.Header.Flags = netlink.Multi
		msgs = append(msgs, m)
	}
	done := netlink.Message{Header: netlink.Header{Type: netlink.Done, Flags: netlink.Multi, Length: unix.NLMSG_HDRLEN + 4}, Data: make([]byte, 4)}
	msgs = append(msgs, done)
	if intr {
		msgs[0].Header.Flags |= netlink.DumpInterrupted
	}
	for i := range msgs {
		msgs[i].Header.Sequence, msgs[i].Header.PID = req.Header.Sequence, nltest.PID
	}
	if hook != nil {
		hook(req.Header.Type)
	}
	return msgs, nil
}

// dumpFilter says which objects a dump request asks for, or the errno
// the kernel answers it with.
func dumpFilter(req netlink.Message) (func(r *trace.Record) bool, unix.Errno) {
	family := 0
	if len(req.Data) > 0 {
		family = familyOf(req.Data[0])
	}
	switch req.Header.Type {
	case unix.RTM_GETLINK:
		return func(r *trace.Record) bool { return r.Kind == trace.KindLink }, 0
	case unix.RTM_GETADDR:
		return func(r *trace.Record) bool {
			return r.Kind == trace.KindAddr && (family == 0 || r.Addr.Family == family)
		}, 0
	case unix.RTM_GETNEIGH:
		return func(r *trace.Record) bool {
			return r.Kind == trace.KindNeigh && (family == 0 || r.Neigh.Family == family)
		}, 0
	case unix.RTM_GETROUTE:
		if len(req.Data) < unix.SizeofRtMsg {
			return nil, unix.EINVAL
		}
		// ip_valid_fib_dump_req (net/ipv4/fib_frontend.c, 5.3+), for a
		// strict socket: RTM_F_CLONED dumps the exceptions alone,
		// otherwise the routes alone.
		cloned := binary.NativeEndian.Uint32(req.Data[8:12])&unix.RTM_F_CLONED != 0
		return func(r *trace.Record) bool {
			return r.Kind == trace.KindRoute && (family == 0 || r.Route.Family == family) && r.Route.Cloned == cloned
		}, 0
	}
	return nil, unix.EOPNOTSUPP
}

// Socket returns the kernel's multicast socket, for a subscription to
// read its notifications from.
func (k *Kernel) Socket() *Socket { return &Socket{k: k} }

// Socket is the multicast socket of a Kernel.
type Socket struct{ k *Kernel }

// Read calls fill with a non-blocking receive, and again each time a
// notification may have come, until fill returns true; it fails once
// the socket is closed or its deadline has passed.
func (s *Socket) Read(fill func(recv func(p []byte) (int, time.Time, error)) bool) error {
	k := s.k
	for {
		k.mu.Lock()
		closed, deadline := k.closed, k.deadline
		k.mu.Unlock()
		if closed {
			return os.ErrClosed
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return os.ErrDeadlineExceeded
		}
		if fill(s.recv) {
			return nil
		}
		s.wait(deadline)
	}
}

// wait blocks until a notification may have come, the socket's
// deadline changed or the socket was closed, or deadline passes.
func (s *Socket) wait(deadline time.Time) {
	var expire <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		expire = t.C
	}
	select {
	case <-s.k.wake:
	case <-expire:
	}
}

// recv mirrors netlink_recvmsg (6.x): a pending sk_err is reported
// before the queue (__skb_try_recv_datagram checks sock_error first),
// and netlink_rcv_wake clears NETLINK_S_CONGESTED whenever a receive
// leaves the queue empty.
func (s *Socket) recv(p []byte) (int, time.Time, error) {
	k := s.k
	k.mu.Lock()
	defer k.mu.Unlock()
	defer func() {
		if len(k.queue) == 0 {
			k.congested = false
		}
	}()
	if k.sockErr {
		k.sockErr = false
		return 0, time.Time{}, unix.ENOBUFS
	}
	if len(k.queue) == 0 {
		return 0, time.Time{}, unix.EAGAIN
	}
	b := k.queue[0]
	k.queue = k.queue[1:]
	return copy(p, b), time.Now(), nil
}

// SetDeadline makes a blocked or later Read fail once t has passed.
func (s *Socket) SetDeadline(t time.Time) error {
	k := s.k
	k.mu.Lock()
	k.deadline = t
	k.mu.Unlock()
	select {
	case k.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close closes the socket: Read fails from then on.
func (s *Socket) Close() error {
	k := s.k
	k.mu.Lock()
	k.closed = true
	k.mu.Unlock()
	select {
	case k.wake <- struct{}{}:
	default:
	}
	return nil
}

func familyOf(af uint8) int {
	switch af {
	case unix.AF_INET:
		return 4
	case unix.AF_INET6:
		return 6
	}
	return 0
}
