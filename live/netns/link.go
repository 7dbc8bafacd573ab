package netns

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"raceroute/kernel"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/jsimonetti/rtnetlink/v2/driver"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Dial opens an rtnetlink connection inside the namespace.
func (n *NS) Dial() (*rtnetlink.Conn, error) {
	c, err := rtnetlink.Dial(&netlink.Config{NetNS: n.FD()})
	if err != nil {
		return nil, fmt.Errorf("netns %s: rtnetlink dial: %w", n.Path, err)
	}
	return c, nil
}

// withConn runs fn with a fresh rtnetlink connection inside n.
func (n *NS) withConn(fn func(c *rtnetlink.Conn) error) error {
	c, err := n.Dial()
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c)
}

// linkByName finds an interface of the namespace by name.
func linkByName(c *rtnetlink.Conn, name string) (rtnetlink.LinkMessage, error) {
	links, err := c.Link.List()
	if err != nil {
		return rtnetlink.LinkMessage{}, fmt.Errorf("list links: %w", err)
	}
	for _, l := range links {
		if l.Attributes != nil && l.Attributes.Name == name {
			return l, nil
		}
	}
	return rtnetlink.LinkMessage{}, fmt.Errorf("link %q: %w", name, unix.ENODEV)
}

// LinkIndex returns the index of the interface called name in n.
func (n *NS) LinkIndex(name string) (int, error) {
	var idx int
	err := n.withConn(func(c *rtnetlink.Conn) error {
		l, err := linkByName(c, name)
		idx = int(l.Index)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("netns %s: %w", n.Path, err)
	}
	return idx, nil
}

// LinkMAC returns the hardware address of the interface called name.
// An interface without an Ethernet address (lo has an all-zero one) gives
// that address or the zero MAC.
func (n *NS) LinkMAC(name string) (kernel.MAC, error) {
	var mac kernel.MAC
	err := n.withConn(func(c *rtnetlink.Conn) error {
		l, err := linkByName(c, name)
		if err == nil {
			mac, _ = kernel.MACFrom(l.Attributes.Address)
		}
		return err
	})
	if err != nil {
		return kernel.MAC{}, fmt.Errorf("netns %s: %w", n.Path, err)
	}
	return mac, nil
}

// setFlags changes the IFF_UP flag of a link.
func (n *NS) setUp(name string, up bool) error {
	err := n.withConn(func(c *rtnetlink.Conn) error {
		l, err := linkByName(c, name)
		if err != nil {
			return err
		}
		var flags uint32
		if up {
			flags = unix.IFF_UP
		}
		if err := c.Link.Set(&rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Type: l.Type, Index: l.Index, Flags: flags, Change: unix.IFF_UP}); err != nil {
			return fmt.Errorf("link %q: set up=%v: %w", name, up, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("netns %s: %w", n.Path, err)
	}
	return nil
}

// LinkUp sets the interface called name up.
func (n *NS) LinkUp(name string) error { return n.setUp(name, true) }

// LinkDown sets the interface called name down.
func (n *NS) LinkDown(name string) error { return n.setUp(name, false) }

// LinkDel deletes the interface called name (a veth takes its peer
// with it).
func (n *NS) LinkDel(name string) error {
	err := n.withConn(func(c *rtnetlink.Conn) error {
		l, err := linkByName(c, name)
		if err != nil {
			return err
		}
		if err := c.Link.Delete(l.Index); err != nil {
			return fmt.Errorf("link %q: delete: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("netns %s: %w", n.Path, err)
	}
	return nil
}

// SetMAC sets the hardware address of the interface called name.
func (n *NS) SetMAC(name string, mac kernel.MAC) error {
	err := n.withConn(func(c *rtnetlink.Conn) error {
		l, err := linkByName(c, name)
		if err != nil {
			return err
		}
		return c.Link.Set(&rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Type: l.Type, Index: l.Index, Attributes: &rtnetlink.LinkAttributes{Address: mac.HardwareAddr()}})
	})
	if err != nil {
		return fmt.Errorf("netns %s: link %q: set address %s: %w", n.Path, name, mac, err)
	}
	return nil
}

// Veth creates a veth pair: interface name in n and interface peerName
// in peer (which may be n itself). Both ends are set up.
func (n *NS) Veth(name string, peer *NS, peerName string) error {
	err := n.withConn(func(c *rtnetlink.Conn) error {
		peerMsg := &rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Attributes: &rtnetlink.LinkAttributes{Name: peerName}}
		if peer != n {
			peerMsg.Attributes.NetNS = rtnetlink.NetNSForFD(uint32(peer.FD()))
		}
		req := &rtnetlink.LinkMessage{
			Family: unix.AF_UNSPEC,
			Attributes: &rtnetlink.LinkAttributes{
				Name: name,
				Info: &rtnetlink.LinkInfo{Kind: "veth", Data: &driver.Veth{PeerInfo: peerMsg}},
			},
		}
		if err := c.Link.New(req); err != nil {
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

// AddrAdd adds an address (with its prefix length, e.g. 10.0.0.1/24) to
// the interface called dev. IPv6 addresses are added with nodad, so they
// are usable at once.
func (n *NS) AddrAdd(dev string, p netip.Prefix) error {
	err := n.withConn(func(c *rtnetlink.Conn) error {
		l, err := linkByName(c, dev)
		if err != nil {
			return err
		}
		fam := uint8(unix.AF_INET)
		var flags uint32
		if p.Addr().Is6() {
			fam = unix.AF_INET6
			flags = unix.IFA_F_NODAD
		}
		ip := net.IP(p.Addr().AsSlice())
		attrs := &rtnetlink.AddressAttributes{Address: ip, Local: ip, Flags: flags}
		if fam == unix.AF_INET && p.Bits() < 31 {
			attrs.Broadcast = broadcast(p)
		}
		return c.Address.New(&rtnetlink.AddressMessage{Family: fam, PrefixLength: uint8(p.Bits()), Index: l.Index, Attributes: attrs})
	})
	if err != nil {
		return fmt.Errorf("netns %s: add address %s to %q: %w", n.Path, p, dev, err)
	}
	return nil
}

// broadcast returns the IPv4 broadcast address of p.
func broadcast(p netip.Prefix) net.IP {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)).To4()
}

// Sysctl writes a net sysctl inside the namespace, key in dotted or
// slashed form relative to /proc/sys (e.g. "net.ipv4.ip_forward").
func (n *NS) Sysctl(key, value string) error {
	path := "/proc/sys/" + replaceDots(key)
	return n.Do(func() error {
		if err := writeFile(path, value); err != nil {
			return fmt.Errorf("netns %s: sysctl %s=%s: %w", n.Path, key, value, err)
		}
		return nil
	})
}

func replaceDots(key string) string {
	b := []byte(key)
	for i, c := range b {
		if c == '.' {
			b[i] = '/'
		}
	}
	return string(b)
}

// writeFile writes value to an existing file such as a sysctl.
func writeFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(value); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Bridge creates a bridge called name (multicast snooping left at the
// kernel's default) with address mac (the zero MAC: one the kernel
// chooses) and sets it up.
func (n *NS) Bridge(name string, mac kernel.MAC) error {
	err := n.withConn(func(c *rtnetlink.Conn) error {
		req := &rtnetlink.LinkMessage{
			Family:     unix.AF_UNSPEC,
			Attributes: &rtnetlink.LinkAttributes{Name: name, Address: mac.HardwareAddr(), Info: &rtnetlink.LinkInfo{Kind: "bridge"}},
		}
		if err := c.Link.New(req); err != nil {
			return fmt.Errorf("bridge %q: create: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("netns %s: %w", n.Path, err)
	}
	return n.LinkUp(name)
}

// SetMaster enslaves dev to master (a bridge), or frees it when master
// is empty.
func (n *NS) SetMaster(dev, master string) error {
	err := n.withConn(func(c *rtnetlink.Conn) error {
		l, err := linkByName(c, dev)
		if err != nil {
			return err
		}
		var idx uint32
		if master != "" {
			m, err := linkByName(c, master)
			if err != nil {
				return err
			}
			idx = m.Index
		}
		return c.Link.Set(&rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Type: l.Type, Index: l.Index, Attributes: &rtnetlink.LinkAttributes{Master: &idx}})
	})
	if err != nil {
		return fmt.Errorf("netns %s: set master of %q to %q: %w", n.Path, dev, master, err)
	}
	return nil
}
