// Package frame builds, sends and sniffs the ARP and IPv6 neighbour
// advertisement frames that move a neighbour entry from one MAC to
// another: gratuitous ARP requests and replies, unsolicited NAs. Frames
// are built byte by byte and travel over AF_PACKET sockets; what is
// sniffed comes out as trace.KindFrame records.
package frame

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"raceroute/kernel"
	"raceroute/trace"
)

// EtherType values.
const (
	EtherTypeARP  = 0x0806
	EtherTypeIPv6 = 0x86dd
)

const (
	ethHeaderLen = 14
	arpLen       = 28
	ipv6HdrLen   = 40
	naLen        = 24 // ICMPv6 header + flags + target, without options
	icmpv6Proto  = 58
	icmpv6NS     = 135
	icmpv6NA     = 136
)

// Broadcast is the Ethernet broadcast address.
var Broadcast = kernel.MACFrom6([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})

// AllNodesMAC is the Ethernet address of ff02::1.
var AllNodesMAC = kernel.MACFrom6([6]byte{0x33, 0x33, 0, 0, 0, 1})

// AllNodes is the IPv6 all-nodes multicast address.
var AllNodes = netip.MustParseAddr("ff02::1")

func ether(b []byte, dst, src kernel.MAC, typ uint16) {
	d, r := dst.As6(), src.As6()
	copy(b[0:6], d[:])
	copy(b[6:12], r[:])
	binary.BigEndian.PutUint16(b[12:14], typ)
}

// ARP builds an Ethernet frame carrying an ARP packet; a zero targetHW
// leaves the target hardware address zero, as requests carry it.
func ARP(op trace.FrameOp, ethDst, senderHW kernel.MAC, senderIP netip.Addr, targetHW kernel.MAC, targetIP netip.Addr) ([]byte, error) {
	if !senderHW.IsValid() || !ethDst.IsValid() {
		return nil, fmt.Errorf("arp: a sender (%q) and a destination (%q) hardware address are needed", senderHW, ethDst)
	}
	if !senderIP.Is4() || !targetIP.Is4() {
		return nil, fmt.Errorf("arp: sender %v and target %v must be IPv4", senderIP, targetIP)
	}
	if op != trace.FrameARPRequest && op != trace.FrameARPReply {
		return nil, fmt.Errorf("arp: op %d is neither request nor reply", op)
	}
	b := make([]byte, ethHeaderLen+arpLen)
	ether(b, ethDst, senderHW, EtherTypeARP)
	a := b[ethHeaderLen:]
	binary.BigEndian.PutUint16(a[0:2], 1)      // hardware type: Ethernet
	binary.BigEndian.PutUint16(a[2:4], 0x0800) // protocol type: IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:8], uint16(op))
	sh, th := senderHW.As6(), targetHW.As6()
	copy(a[8:14], sh[:])
	s4 := senderIP.As4()
	copy(a[14:18], s4[:])
	copy(a[18:24], th[:])
	t4 := targetIP.As4()
	copy(a[24:28], t4[:])
	return b, nil
}

// GratuitousARPRequest builds the gratuitous request of `arping -U` and
// keepalived: broadcast, sender IP = target IP, target MAC zero.
func GratuitousARPRequest(mac kernel.MAC, ip netip.Addr) ([]byte, error) {
	return ARP(trace.FrameARPRequest, Broadcast, mac, ip, kernel.MAC{}, ip)
}

// GratuitousARPReply builds the gratuitous reply of `arping -A`:
// broadcast, sender IP = target IP and target MAC = sender MAC, which
// arp_is_garp() requires of a reply from Linux 4.12 on.
func GratuitousARPReply(mac kernel.MAC, ip netip.Addr) ([]byte, error) {
	return ARP(trace.FrameARPReply, Broadcast, mac, ip, mac, ip)
}

// UnsolicitedNA builds an unsolicited neighbour advertisement for target
// with its target link-layer address option, sent from target to all
// nodes (RFC 4861 §7.2.6): Solicited clear, Override as given, hop
// limit 255.
func UnsolicitedNA(mac kernel.MAC, target netip.Addr, override bool) ([]byte, error) {
	return NA(AllNodesMAC, mac, target, AllNodes, target, false, override, false)
}

// NA builds an IPv6 neighbour advertisement in an Ethernet frame.
func NA(ethDst, mac kernel.MAC, src, dst, target netip.Addr, solicited, override, router bool) ([]byte, error) {
	if !mac.IsValid() || !ethDst.IsValid() {
		return nil, fmt.Errorf("na: a source (%q) and a destination (%q) hardware address are needed", mac, ethDst)
	}
	if !src.Is6() || !dst.Is6() || !target.Is6() || src.Is4In6() || target.Is4In6() {
		return nil, fmt.Errorf("na: source %v, destination %v and target %v must be IPv6", src, dst, target)
	}
	payload := naLen + 8 // with the target link-layer address option
	b := make([]byte, ethHeaderLen+ipv6HdrLen+payload)
	ether(b, ethDst, mac, EtherTypeIPv6)
	ip := b[ethHeaderLen:]
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:6], uint16(payload))
	ip[6] = icmpv6Proto
	ip[7] = 255
	s16, d16 := src.As16(), dst.As16()
	copy(ip[8:24], s16[:])
	copy(ip[24:40], d16[:])
	m := ip[ipv6HdrLen:]
	m[0] = icmpv6NA
	var flags byte
	if router {
		flags |= 0x80
	}
	if solicited {
		flags |= 0x40
	}
	if override {
		flags |= 0x20
	}
	m[4] = flags
	t16 := target.As16()
	copy(m[8:24], t16[:])
	m[24], m[25] = 2, 1 // option: target link-layer address, 8 bytes
	hw := mac.As6()
	copy(m[26:32], hw[:])
	binary.BigEndian.PutUint16(m[2:4], icmpv6Checksum(s16, d16, m))
	return b, nil
}

// icmpv6Checksum computes the ICMPv6 checksum over the IPv6
// pseudo-header and msg (whose checksum field must be zero).
func icmpv6Checksum(src, dst [16]byte, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i : i+2]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	var l [8]byte
	binary.BigEndian.PutUint32(l[0:4], uint32(len(msg)))
	l[7] = icmpv6Proto
	add(l[:])
	add(msg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// Decode parses an Ethernet frame carrying ARP, or an ICMPv6 neighbour
// solicitation or advertisement. ok is false for any other frame; err
// reports a malformed ARP or NDP frame.
func Decode(b []byte) (f trace.Frame, ok bool, err error) {
	if len(b) < ethHeaderLen {
		return f, false, nil
	}
	f.DstMAC = macOf(b[0:6])
	f.SrcMAC = macOf(b[6:12])
	p := b[ethHeaderLen:]
	switch binary.BigEndian.Uint16(b[12:14]) {
	case EtherTypeARP:
		if len(p) < arpLen {
			return f, false, fmt.Errorf("arp frame from %s: %d bytes, want %d", f.SrcMAC, len(p), arpLen)
		}
		if binary.BigEndian.Uint16(p[0:2]) != 1 || binary.BigEndian.Uint16(p[2:4]) != 0x0800 || p[4] != 6 || p[5] != 4 {
			return f, false, nil // not Ethernet/IPv4 ARP
		}
		op := binary.BigEndian.Uint16(p[6:8])
		if op != 1 && op != 2 {
			return f, false, nil
		}
		f.Op = trace.FrameOp(op)
		f.SenderHW = macOf(p[8:14])
		f.SenderIP = netip.AddrFrom4([4]byte(p[14:18]))
		f.TargetHW = macOf(p[18:24])
		f.TargetIP = netip.AddrFrom4([4]byte(p[24:28]))
		return f, true, nil
	case EtherTypeIPv6:
		if len(p) < ipv6HdrLen+naLen || p[6] != icmpv6Proto {
			return f, false, nil
		}
		m := p[ipv6HdrLen:]
		if m[0] != icmpv6NA && m[0] != icmpv6NS {
			return f, false, nil
		}
		plen := int(binary.BigEndian.Uint16(p[4:6]))
		if plen < naLen || ipv6HdrLen+plen > len(p) {
			return f, false, fmt.Errorf("ndp frame from %s: payload length %d of %d bytes", f.SrcMAC, plen, len(p)-ipv6HdrLen)
		}
		m = m[:plen]
		target := netip.AddrFrom16([16]byte(m[8:24]))
		wantOpt := byte(2) // target link-layer address
		if m[0] == icmpv6NA {
			f.Op = trace.FrameNA
			f.Solicited = m[4]&0x40 != 0
			f.Override = m[4]&0x20 != 0
			f.SenderIP = target
		} else {
			f.Op = trace.FrameNS
			f.TargetIP = target
			f.SenderIP = netip.AddrFrom16([16]byte(p[8:24]))
			wantOpt = 1 // source link-layer address
		}
		for opts := m[naLen:]; len(opts) >= 8; {
			l := int(opts[1]) * 8
			if l == 0 || l > len(opts) {
				return f, false, fmt.Errorf("ndp frame from %s: bad option length", f.SrcMAC)
			}
			if opts[0] == wantOpt && l >= 8 {
				f.SenderHW = macOf(opts[2:8])
			}
			opts = opts[l:]
		}
		return f, true, nil
	}
	return f, false, nil
}

// PacketTooBig builds an ICMPv6 Packet Too Big (RFC 4443 §3.2) from src
// to dst announcing mtu, quoting an echo request that dst sent to
// quotedDst. The kernel at dst then records a PMTU exception (a
// route-cache entry) for quotedDst: icmpv6_rcv -> icmpv6_notify ->
// icmpv6_err -> ip6_update_pmtu, with no socket needed.
func PacketTooBig(ethDst, ethSrc kernel.MAC, src, dst, quotedDst netip.Addr, mtu uint32) ([]byte, error) {
	if !ethDst.IsValid() || !ethSrc.IsValid() {
		return nil, fmt.Errorf("packet too big: a destination (%q) and a source (%q) hardware address are needed", ethDst, ethSrc)
	}
	if !src.Is6() || !dst.Is6() || !quotedDst.Is6() {
		return nil, fmt.Errorf("packet too big: %v, %v and %v must be IPv6", src, dst, quotedDst)
	}
	const quotedLen = ipv6HdrLen + 8
	msgLen := 8 + quotedLen
	b := make([]byte, ethHeaderLen+ipv6HdrLen+msgLen)
	ether(b, ethDst, ethSrc, EtherTypeIPv6)
	s16, d16, q16 := src.As16(), dst.As16(), quotedDst.As16()
	ip := b[ethHeaderLen:]
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:6], uint16(msgLen))
	ip[6], ip[7] = icmpv6Proto, 64
	copy(ip[8:24], s16[:])
	copy(ip[24:40], d16[:])
	m := ip[ipv6HdrLen:]
	m[0] = 2 // packet too big
	binary.BigEndian.PutUint32(m[4:8], mtu)
	q := m[8:]
	q[0] = 0x60
	binary.BigEndian.PutUint16(q[4:6], 8)
	q[6], q[7] = icmpv6Proto, 64
	copy(q[8:24], d16[:])
	copy(q[24:40], q16[:])
	q[40] = 128 // echo request
	binary.BigEndian.PutUint16(m[2:4], icmpv6Checksum(s16, d16, m))
	return b, nil
}

// macOf returns the MAC of a 6-byte address field.
func macOf(b []byte) kernel.MAC {
	m, _ := kernel.MACFrom(b)
	return m
}
