package netns

import (
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"syscall"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/jsimonetti/rtnetlink/v2/driver"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/kernel"
)

// What a lab needs beyond a veth pair: a veth whose end has a given MAC,
// neighbour entries set administratively, addresses removed, and
// programs started inside a namespace without `ip netns exec`.

// VethMAC creates a veth pair as Veth does, interface name in n with
// hardware address mac (the zero MAC: one the kernel chooses), its peer
// peerName in peer, both set up.
func (n *NS) VethMAC(name string, mac kernel.MAC, peer *NS, peerName string) error {
	err := n.withConn(func(c *rtnetlink.Conn) error {
		peerMsg := &rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Attributes: &rtnetlink.LinkAttributes{Name: peerName}}
		if peer != n {
			peerMsg.Attributes.NetNS = rtnetlink.NetNSForFD(uint32(peer.FD()))
		}
		attrs := &rtnetlink.LinkAttributes{
			Name: name,
			Info: &rtnetlink.LinkInfo{Kind: "veth", Data: &driver.Veth{PeerInfo: peerMsg}},
		}
		if mac.IsValid() {
			attrs.Address = mac.HardwareAddr()
		}
		if err := c.Link.New(&rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Attributes: attrs}); err != nil {
			return fmt.Errorf("veth %q/%q: create: %w", name, peerName, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("netns %s: %w", n.Path, err)
	}
	if err := n.LinkUp(name); err != nil {
		return err
	}
	return peer.LinkUp(peerName)
}

// NeighSet sets the neighbour entry of ip on dev to lladdr mac in state,
// as `ip neigh replace IP dev DEV lladdr MAC nud STATE` does
// (RTM_NEWNEIGH with NLM_F_CREATE|NLM_F_REPLACE: neigh_add() applies it
// with NEIGH_UPDATE_F_ADMIN|NEIGH_UPDATE_F_OVERRIDE).
func (n *NS) NeighSet(dev string, ip netip.Addr, mac kernel.MAC, state kernel.NUD) error {
	err := n.withConn(func(c *rtnetlink.Conn) error {
		l, err := linkByName(c, dev)
		if err != nil {
			return err
		}
		fam := uint16(unix.AF_INET)
		if ip.Is6() && !ip.Is4In6() {
			fam = unix.AF_INET6
		}
		m := &rtnetlink.NeighMessage{
			Family: fam, Index: l.Index, State: uint16(state),
			Attributes: &rtnetlink.NeighAttributes{Address: net.IP(ip.Unmap().AsSlice())},
		}
		if mac.IsValid() {
			m.Attributes.LLAddress = mac.HardwareAddr()
		}
		_, err = c.Execute(m, unix.RTM_NEWNEIGH, netlink.Request|netlink.Create|netlink.Replace|netlink.Acknowledge)
		return err
	})
	if err != nil {
		return fmt.Errorf("netns %s: neigh %s dev %s lladdr %s %s: %w", n.Path, ip, dev, mac, state, err)
	}
	return nil
}

// AddrDel removes an address (with its prefix length) from the
// interface called dev.
func (n *NS) AddrDel(dev string, p netip.Prefix) error {
	err := n.withConn(func(c *rtnetlink.Conn) error {
		l, err := linkByName(c, dev)
		if err != nil {
			return err
		}
		fam := uint8(unix.AF_INET)
		if p.Addr().Is6() {
			fam = unix.AF_INET6
		}
		ip := net.IP(p.Addr().AsSlice())
		return c.Address.Delete(&rtnetlink.AddressMessage{Family: fam, PrefixLength: uint8(p.Bits()), Index: l.Index,
			Attributes: &rtnetlink.AddressAttributes{Address: ip, Local: ip}})
	})
	if err != nil {
		return fmt.Errorf("netns %s: delete address %s from %q: %w", n.Path, p, dev, err)
	}
	return nil
}

// Start starts cmd inside the namespace: the process is forked from a
// thread that has entered n, so it inherits n, with no shell and no `ip
// netns exec` between. It gets SIGKILL if the thread that started it
// goes away (Pdeathsig), so that a program outlives no lab that was
// killed.
func (n *NS) Start(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := n.Do(cmd.Start); err != nil {
		return fmt.Errorf("netns %s: start %s: %w", n.Path, cmd.Path, err)
	}
	return nil
}
