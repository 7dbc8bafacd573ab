package routecase

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/kernel"
	"raceroute/lab/fuzz/fuzzcase"
	"raceroute/live/netns"
	"raceroute/model/fib6"
)

// routeLab is one route case's namespace: devices d0 and d1 (each a veth
// whose peer, p0 or p1, stays in the namespace), and an rtnetlink socket
// with extended ACKs.
type routeLab struct {
	ns    *netns.NS
	name  string
	c     *netlink.Conn
	index map[string]uint32 // device name -> ifindex
	names map[uint32]string
}

func newRouteLab(name string) (l *routeLab, err error) {
	ns, err := fuzzcase.NewNamespace(name)
	if err != nil {
		return nil, err
	}
	l = &routeLab{ns: ns, name: name, index: map[string]uint32{}, names: map[uint32]string{}}
	defer func() {
		if err != nil {
			err = errors.Join(err, l.close())
			l = nil
		}
	}()
	for i, d := range routeDevs {
		if err := ns.Veth(d, ns, fmt.Sprintf("p%d", i)); err != nil {
			return l, err
		}
	}
	for _, d := range append([]string{"lo"}, routeDevs...) {
		i, err := ns.LinkIndex(d)
		if err != nil {
			return l, err
		}
		l.index[d], l.names[uint32(i)] = uint32(i), d
	}
	l.c, err = fuzzcase.DialRoute(ns)
	return l, err
}

func (l *routeLab) close() error {
	var errs []error
	if l.c != nil {
		errs = append(errs, l.c.Close())
	}
	errs = append(errs, fuzzcase.CloseNamespace(l.ns))
	return errors.Join(errs...)
}

// request builds the rtnetlink message iproute2 sends for `ip -6 route
// VERB LINE`: RTM_NEWROUTE with the verb's flags and protocol boot, or
// RTM_DELROUTE with neither protocol nor type; the metric only when the
// line gives one (the kernel then uses 1024, and a delete matches any).
func (l *routeLab) request(kind fib6.OpKind, r fib6.Route) (netlink.Message, error) {
	m := rtnetlink.RouteMessage{Family: unix.AF_INET6, DstLength: uint8(r.Prefix.Bits())}
	h := netlink.Header{Type: unix.RTM_NEWROUTE, Flags: netlink.Request | netlink.Acknowledge}
	switch kind {
	case fib6.OpAdd:
		h.Flags |= netlink.Create | netlink.Excl
	case fib6.OpReplace:
		h.Flags |= netlink.Create | netlink.Replace
	case fib6.OpChange:
		h.Flags |= netlink.Replace
	case fib6.OpAppend:
		h.Flags |= netlink.Create | netlink.Append
	case fib6.OpDel:
		h.Type = unix.RTM_DELROUTE
	}
	if kind != fib6.OpDel {
		m.Protocol, m.Type = uint8(r.Proto), uint8(r.Type)
	}
	if r.Table < 256 {
		m.Table = uint8(r.Table)
	}
	m.Attributes.Table = r.Table
	if r.Prefix.Bits() > 0 {
		m.Attributes.Dst = net.IP(r.Prefix.Addr().AsSlice())
	}
	if r.Gateway.IsValid() {
		m.Attributes.Gateway = net.IP(r.Gateway.AsSlice())
	}
	if r.Dev != "" {
		i, ok := l.index[r.Dev]
		if !ok {
			return netlink.Message{}, fmt.Errorf("route %s: no device %q in the lab", r, r.Dev)
		}
		m.Attributes.OutIface = i
	}
	if r.MetricSet {
		m.Attributes.Priority = r.Metric
	}
	b, err := m.MarshalBinary()
	if err != nil {
		return netlink.Message{}, fmt.Errorf("route %s: encode: %w", r, err)
	}
	return netlink.Message{Header: h, Data: b}, nil
}

// kernelAnswer reads a netlink error: its errno and extended ACK text.
func kernelAnswer(err error) (kernel.Errno, string, error) {
	if err == nil {
		return 0, "", nil
	}
	var oe *netlink.OpError
	var en syscall.Errno
	if errors.As(err, &oe) && errors.As(oe.Err, &en) {
		return kernel.Errno(-int(en)), oe.Message, nil
	}
	return 0, "", err
}

// exec puts one op to the kernel.
func (l *routeLab) exec(kind fib6.OpKind, r fib6.Route) (string, error) {
	msg, err := l.request(kind, r)
	if err != nil {
		return "", err
	}
	_, err = l.c.Execute(msg)
	e, ext, err := kernelAnswer(err)
	if err != nil {
		return "", fmt.Errorf("netns %s: %s %s: %w", l.name, kind, r, err)
	}
	return answerText(e, ext), nil
}

// get is `ip -6 route get fibmatch DST`.
func (l *routeLab) get(dst netip.Addr) (string, error) {
	m := rtnetlink.RouteMessage{Family: unix.AF_INET6, DstLength: 128, Flags: unix.RTM_F_FIB_MATCH}
	m.Attributes.Dst = net.IP(dst.AsSlice())
	b, err := m.MarshalBinary()
	if err != nil {
		return "", fmt.Errorf("get %s: encode: %w", dst, err)
	}
	msgs, err := l.c.Execute(netlink.Message{Header: netlink.Header{Type: unix.RTM_GETROUTE, Flags: netlink.Request}, Data: b})
	e, _, aerr := kernelAnswer(err)
	if aerr != nil {
		return "", fmt.Errorf("netns %s: get %s: %w", l.name, dst, aerr)
	}
	if e != 0 {
		return lookupText(e, fib6.Route{}, false), nil
	}
	if len(msgs) != 1 {
		return "", fmt.Errorf("netns %s: get %s: %d answers", l.name, dst, len(msgs))
	}
	rs, err := l.decode(msgs[0].Data)
	if err != nil {
		return "", fmt.Errorf("netns %s: get %s: %w", l.name, dst, err)
	}
	if len(rs) != 1 {
		return multipathText(rs), nil // ECMP siblings, listed together
	}
	return lookupText(0, rs[0], true), nil
}

// decode reads a route message into the model's route type, one route
// per nexthop of a multipath route, in the kernel's order.
func (l *routeLab) decode(b []byte) ([]fib6.Route, error) {
	var m rtnetlink.RouteMessage
	if err := m.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	a := &m.Attributes
	bits := int(m.DstLength)
	dst := netip.IPv6Unspecified()
	if a.Dst != nil {
		d, ok := netip.AddrFromSlice(a.Dst)
		if !ok {
			return nil, fmt.Errorf("bad RTA_DST %v", a.Dst)
		}
		dst = d
	}
	p, err := dst.Prefix(bits)
	if err != nil {
		return nil, err
	}
	table := a.Table
	if table == 0 {
		table = uint32(m.Table)
	}
	base := fib6.Route{Type: kernel.RouteType(m.Type), Prefix: p, Proto: kernel.Proto(m.Protocol), Metric: a.Priority, MetricSet: true, Table: table}
	if len(a.Multipath) == 0 {
		r := base
		r.Dev = l.names[a.OutIface]
		r.Gateway, _ = netip.AddrFromSlice(a.Gateway)
		return []fib6.Route{r}, nil
	}
	var out []fib6.Route
	for _, nh := range a.Multipath {
		r := base
		r.Dev = l.names[nh.Hop.IfIndex]
		r.Gateway, _ = netip.AddrFromSlice(nh.Gateway)
		out = append(out, r)
	}
	return out, nil
}

// dump lists the routes in scope (cached: the route cache, with
// RTM_F_CLONED), by table and prefix, in the kernel's order at each.
func (l *routeLab) dump(cached bool) ([]string, error) {
	m := rtnetlink.RouteMessage{Family: unix.AF_INET6}
	if cached {
		m.Flags = unix.RTM_F_CLONED
	}
	b, err := m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	msgs, err := l.c.Execute(netlink.Message{Header: netlink.Header{Type: unix.RTM_GETROUTE, Flags: netlink.Request | netlink.Dump}, Data: b})
	if err != nil {
		return nil, fmt.Errorf("netns %s: dump routes: %w", l.name, err)
	}
	var rs []fib6.Route
	for _, msg := range msgs {
		if msg.Header.Type != unix.RTM_NEWROUTE || len(msg.Data) < unix.SizeofRtMsg {
			continue
		}
		flags := uint32(msg.Data[8]) | uint32(msg.Data[9])<<8 | uint32(msg.Data[10])<<16 | uint32(msg.Data[11])<<24
		if (flags&unix.RTM_F_CLONED != 0) != cached {
			continue
		}
		got, err := l.decode(msg.Data)
		if err != nil {
			return nil, fmt.Errorf("netns %s: dump routes: %w", l.name, err)
		}
		for _, r := range got {
			if routeScope.Overlaps(r.Prefix) && r.Prefix.Bits() >= routeScope.Bits() {
				rs = append(rs, r)
			}
		}
	}
	sortRoutes(rs)
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = routeText(r)
	}
	return out, nil
}

// sortRoutes orders routes as fib6.Model.Table does: by table, prefix
// address and length, keeping the kernel's order at each prefix.
func sortRoutes(rs []fib6.Route) {
	less := func(x, y fib6.Route) int {
		if x.Table != y.Table {
			if x.Table < y.Table {
				return -1
			}
			return 1
		}
		if c := x.Prefix.Addr().Compare(y.Prefix.Addr()); c != 0 {
			return c
		}
		return x.Prefix.Bits() - y.Prefix.Bits()
	}
	// A stable insertion sort: the lists are a few routes long.
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && less(rs[j-1], rs[j]) > 0; j-- {
			rs[j-1], rs[j] = rs[j], rs[j-1]
		}
	}
}

// live runs the case on the kernel, in a namespace of its own.
func (c *routeCase) live(ctx context.Context, name string) (out routeOutcome, err error) {
	ps, err := c.parse()
	if err != nil {
		return out, err
	}
	l, err := newRouteLab(name)
	if err != nil {
		return out, err
	}
	defer func() { err = errors.Join(err, l.close()) }()
	stop := context.AfterFunc(ctx, func() { l.c.SetDeadline(time.Now()) })
	defer stop()
	for i, op := range ps.ops {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		var a string
		if op.Kind == 0 {
			a, err = l.get(c.steps[i].dst)
		} else {
			a, err = l.exec(op.Kind, op.Route)
		}
		if err != nil {
			return out, err
		}
		out.answers = append(out.answers, a)
	}
	if out.table, err = l.dump(false); err != nil {
		return out, err
	}
	out.cache, err = l.dump(true)
	return out, err
}
