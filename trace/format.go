package trace

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"raceroute/kernel"
)

// This file renders Records in iproute2 syntax, the way `ip -ts monitor
// label` prints them, plus the markers iproute2 lacks (Replaced, Cloned,
// Resync, Inferred, Initial, Polled) and labels for frames and overflows.
// ParseMonitor (monitor.go) reads everything rendered here back.

// Routing table numbers with names (rt_tables).
const (
	TableUnspec  uint32 = 0
	TableDefault uint32 = 253
	TableMain    uint32 = 254
	TableLocal   uint32 = 255
)

// TableName returns iproute2's name of a routing table number.
func TableName(t uint32) string {
	switch t {
	case TableUnspec:
		return "unspec"
	case TableDefault:
		return "default"
	case TableMain:
		return "main"
	case TableLocal:
		return "local"
	}
	return strconv.FormatUint(uint64(t), 10)
}

// ParseTable reads a routing table name of TableName or a number.
func ParseTable(s string) (uint32, bool) {
	switch s {
	case "unspec":
		return TableUnspec, true
	case "default":
		return TableDefault, true
	case "main":
		return TableMain, true
	case "local":
		return TableLocal, true
	}
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}

var scopes = map[uint8]string{0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}

// ScopeName returns iproute2's name of a route scope (rtm_scope).
func ScopeName(s uint8) string {
	if n, ok := scopes[s]; ok {
		return n
	}
	return strconv.Itoa(int(s))
}

// ParseScope reads a route scope as `ip route` prints it.
func ParseScope(s string) (uint8, bool) {
	if s == "universe" {
		return 0, true
	}
	for v, n := range scopes {
		if n == s {
			return v, true
		}
	}
	n, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return 0, false
	}
	return uint8(n), true
}

// appendDst prints a route destination as iproute2 does: "default" for a
// zero-length prefix, a bare address for a host route. A default route
// whose family nothing else on the line shows is printed as ::/0 or
// 0.0.0.0/0 so that it reads back with the right family.
func appendDst(b []byte, r *Route) []byte {
	if !r.Dst.IsValid() {
		return append(b, "none"...)
	}
	if r.Dst.Bits() == 0 && (r.Gateway.IsValid() && r.Gateway.Is4() == r.Dst.Addr().Is4() ||
		r.Src.IsValid() && r.Src.Is4() == r.Dst.Addr().Is4()) {
		return append(b, "default"...)
	}
	if r.Dst.IsSingleIP() {
		return r.Dst.Addr().AppendTo(b)
	}
	return r.Dst.AppendTo(b)
}

// String renders the route in `ip route` syntax: type (unless unicast),
// destination, gateway, device, table (unless main), proto, scope (unless
// global), preferred source, metric, error, and for a cache entry the
// `cache` section the seed's patched iproute2 printed.
func (r Route) String() string { return string(r.AppendText(nil)) }

// AppendText appends the route as String renders it to b, without
// allocating when b has room: the watch formats every event of a storm.
func (r *Route) AppendText(b []byte) []byte {
	num := func(key string, v int64) {
		b = append(b, key...)
		b = strconv.AppendInt(b, v, 10)
	}
	if r.Type != kernel.RouteUnicast && r.Type != 0 {
		b = append(b, r.Type.String()...)
		b = append(b, ' ')
	}
	b = appendDst(b, r)
	if r.Gateway.IsValid() {
		b = append(b, " via "...)
		if r.Dst.IsValid() && r.Gateway.Is4() != r.Dst.Addr().Is4() {
			if r.Gateway.Is4() {
				b = append(b, "inet "...)
			} else {
				b = append(b, "inet6 "...)
			}
		}
		b = r.Gateway.AppendTo(b)
	}
	if r.Dev != "" {
		b = append(b, " dev "...)
		b = append(b, r.Dev...)
	} else if r.Ifindex != 0 {
		num(" dev if", int64(r.Ifindex))
	}
	if r.Table != TableMain {
		b = append(b, " table "...)
		b = append(b, TableName(r.Table)...)
	}
	if r.Proto != 0 {
		b = append(b, " proto "...)
		b = append(b, r.Proto.String()...)
	}
	if r.Scope != 0 {
		b = append(b, " scope "...)
		b = append(b, ScopeName(r.Scope)...)
	}
	if r.Src.IsValid() {
		b = append(b, " src "...)
		b = r.Src.AppendTo(b)
	}
	if r.Metric != 0 || r.Family == 6 {
		num(" metric ", int64(r.Metric))
	}
	if !r.Cloned {
		if r.Error != 0 {
			num(" error ", int64(r.Error))
		}
		if r.Expires > 0 {
			num(" expires ", int64(r.Expires/time.Second))
			b = append(b, "sec"...)
		}
		if r.MTU != 0 {
			num(" mtu ", int64(r.MTU))
		}
		return b
	}
	b = append(b, " \\ cache"...)
	if r.Error != 0 {
		num(" error ", int64(r.Error))
	}
	if r.Used != 0 {
		num(" used ", int64(r.Used))
	}
	if r.Expires > 0 {
		num(" expires ", int64(r.Expires/time.Second))
		b = append(b, "sec"...)
	}
	if r.MTU != 0 {
		num(" mtu ", int64(r.MTU))
	}
	return b
}

// String renders the neighbour entry in `ip neigh` syntax, with the
// `-s` statistics (used/confirmed/updated ages in seconds, probes) when
// known.
func (n Neigh) String() string {
	var b strings.Builder
	if n.Addr.IsValid() {
		b.WriteString(n.Addr.String())
	} else {
		b.WriteString("none")
	}
	if n.Dev != "" {
		b.WriteString(" dev ")
		b.WriteString(n.Dev)
	} else if n.Ifindex != 0 {
		fmt.Fprintf(&b, " dev if%d", n.Ifindex)
	}
	if n.LLAddr.IsValid() {
		b.WriteString(" lladdr ")
		b.WriteString(n.LLAddr.String())
	}
	if n.Router {
		b.WriteString(" router")
	}
	if n.Used != 0 || n.Confirmed != 0 || n.Updated != 0 {
		fmt.Fprintf(&b, " used %d/%d/%d", int64(n.Used/time.Second),
			int64(n.Confirmed/time.Second), int64(n.Updated/time.Second))
	}
	if n.Probes != 0 {
		fmt.Fprintf(&b, " probes %d", n.Probes)
	}
	b.WriteByte(' ')
	b.WriteString(n.State.String())
	return b.String()
}

// String renders the link in `ip -o link` syntax (index, name, flags,
// MTU, master, and the link-layer address after a `\`).
func (l Link) String() string {
	var b strings.Builder
	name := l.Name
	if name == "" {
		name = "if" + strconv.Itoa(l.Index)
	}
	fmt.Fprintf(&b, "%d: %s: ", l.Index, name)
	if l.Up {
		b.WriteString("<UP>")
	} else {
		b.WriteString("<>")
	}
	if l.MTU != 0 {
		fmt.Fprintf(&b, " mtu %d", l.MTU)
	}
	if l.Master != 0 {
		fmt.Fprintf(&b, " master if%d", l.Master)
	}
	if l.MAC.IsValid() {
		b.WriteString(" \\    link/ether ")
		b.WriteString(l.MAC.String())
	}
	return b.String()
}

// String renders the address in `ip -o addr` syntax.
func (a Addr) String() string {
	fam := "inet"
	if a.Family == 6 || a.Family == 0 && a.Prefix.IsValid() && a.Prefix.Addr().Is6() {
		fam = "inet6"
	}
	dev := a.Dev
	if dev == "" {
		dev = "if" + strconv.Itoa(a.Ifindex)
	}
	p := "none"
	if a.Prefix.IsValid() {
		p = a.Prefix.String()
	}
	return fmt.Sprintf("%d: %s    %s %s", a.Ifindex, dev, fam, p)
}

func frameOpName(op FrameOp) string {
	switch op {
	case FrameARPRequest:
		return "request"
	case FrameARPReply:
		return "reply"
	case FrameNA:
		return "advert"
	case FrameNS:
		return "solicit"
	}
	return "op" + strconv.Itoa(int(op))
}

// FrameLabel is the story label of a frame operation: [ARP], [NA], [NS].
func FrameLabel(op FrameOp) string {
	switch op {
	case FrameNA:
		return "[NA]"
	case FrameNS:
		return "[NS]"
	}
	return "[ARP]"
}

func addrOrNone(a netip.Addr) string {
	if a.IsValid() {
		return a.String()
	}
	return "none"
}

// String renders the frame in raceroute's own syntax (iproute2 has none):
// `request SENDER-IP lladdr SENDER-MAC target TARGET-IP lladdr
// TARGET-MAC dev DEV ether SRC > DST [override] [solicited]
// [gratuitous]`. For an NA, the sender is the target address and its
// link-layer address option.
func (f Frame) String() string {
	var b strings.Builder
	b.WriteString(frameOpName(f.Op))
	b.WriteByte(' ')
	b.WriteString(addrOrNone(f.SenderIP))
	writeMAC(&b, " lladdr ", f.SenderHW)
	if f.TargetIP.IsValid() || f.TargetHW.IsValid() {
		b.WriteString(" target ")
		b.WriteString(addrOrNone(f.TargetIP))
		writeMAC(&b, " lladdr ", f.TargetHW)
	}
	if f.Dev != "" {
		b.WriteString(" dev ")
		b.WriteString(f.Dev)
	} else if f.Ifindex != 0 {
		fmt.Fprintf(&b, " dev if%d", f.Ifindex)
	}
	if f.SrcMAC.IsValid() || f.DstMAC.IsValid() {
		b.WriteString(" ether ")
		b.WriteString(macOrNone(f.SrcMAC))
		b.WriteString(" > ")
		b.WriteString(macOrNone(f.DstMAC))
	}
	if f.Override {
		b.WriteString(" override")
	}
	if f.Solicited {
		b.WriteString(" solicited")
	}
	if f.Gratuitous() {
		b.WriteString(" gratuitous")
	}
	return b.String()
}

func writeMAC(b *strings.Builder, prefix string, m kernel.MAC) {
	if m.IsValid() {
		b.WriteString(prefix)
		b.WriteString(m.String())
	}
}

func macOrNone(m kernel.MAC) string {
	if !m.IsValid() {
		return "none"
	}
	return m.String()
}
