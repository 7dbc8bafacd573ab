package nlfake

import (
	"fmt"
	"net"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/live/nl"
	"raceroute/trace"
)

// Message encodes a record as the kernel's rtnetlink message: RTM_NEW*
// or RTM_DEL* by its action, with NLM_F_REPLACE for a route record
// with Replace set, and the header's length filled in.
func Message(r *trace.Record) (netlink.Message, error) {
	var (
		typ  netlink.HeaderType
		body []byte
		err  error
	)
	del := r.Action == trace.ActionDel
	switch r.Kind {
	case trace.KindRoute:
		typ = pick(del, unix.RTM_NEWROUTE, unix.RTM_DELROUTE)
		body, err = nl.EncodeRoute(&r.Route)
	case trace.KindNeigh:
		typ = pick(del, unix.RTM_NEWNEIGH, unix.RTM_DELNEIGH)
		n := &r.Neigh
		m := rtnetlink.NeighMessage{Family: uint16(af(n.Family)), Index: uint32(n.Ifindex), State: uint16(n.State),
			Attributes: &rtnetlink.NeighAttributes{Address: net.IP(n.Addr.AsSlice()), LLAddress: n.LLAddr.HardwareAddr()}}
		if n.Router {
			m.Flags = unix.NTF_ROUTER
		}
		body, err = m.MarshalBinary()
	case trace.KindLink:
		typ = pick(del, unix.RTM_NEWLINK, unix.RTM_DELLINK)
		l := &r.Link
		m := rtnetlink.LinkMessage{Index: uint32(l.Index),
			Attributes: &rtnetlink.LinkAttributes{Name: l.Name, Address: l.MAC.HardwareAddr(), MTU: uint32(l.MTU)}}
		if l.Up {
			m.Flags = unix.IFF_UP
		}
		if l.Master != 0 {
			master := uint32(l.Master)
			m.Attributes.Master = &master
		}
		body, err = m.MarshalBinary()
	case trace.KindAddr:
		typ = pick(del, unix.RTM_NEWADDR, unix.RTM_DELADDR)
		a := &r.Addr
		ip := net.IP(a.Prefix.Addr().AsSlice())
		m := rtnetlink.AddressMessage{Family: af(a.Family), PrefixLength: uint8(a.Prefix.Bits()), Index: uint32(a.Ifindex),
			Attributes: &rtnetlink.AddressAttributes{Address: ip, Local: ip}}
		body, err = m.MarshalBinary()
	default:
		return netlink.Message{}, fmt.Errorf("record kind %d has no rtnetlink message", r.Kind)
	}
	if err != nil {
		return netlink.Message{}, err
	}
	var flags netlink.HeaderFlags
	if r.Kind == trace.KindRoute && r.Replace && !del {
		flags = netlink.Replace
	}
	return netlink.Message{
		Header: netlink.Header{Type: typ, Flags: flags, Length: uint32(unix.NLMSG_HDRLEN + (len(body)+3)&^3)},
		Data:   body,
	}, nil
}

func pick(del bool, add, remove netlink.HeaderType) netlink.HeaderType {
	if del {
		return remove
	}
	return add
}

func af(family int) uint8 {
	if family == 4 {
		return unix.AF_INET
	}
	return unix.AF_INET6
}
