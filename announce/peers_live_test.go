package announce_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"raceroute/announce"
	"raceroute/kernel"
	"raceroute/live/netns"
	"raceroute/live/netns/nstest"
)

// capture records every frame arriving on dev in ns until the test ends.
type capture struct {
	mu     sync.Mutex
	frames [][]byte
}

func startCapture(t *testing.T, ns *netns.NS, dev string) *capture {
	t.Helper()
	var c *packet.Conn
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cp := &capture{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			cp.mu.Lock()
			cp.frames = append(cp.frames, bytes.Clone(buf[:n]))
			cp.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return cp
}

// find waits up to d for a captured frame that match accepts.
func (cp *capture) find(d time.Duration, match func(gopacket.Packet) bool) gopacket.Packet {
	deadline := time.Now().Add(d)
	for seen := 0; time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		cp.mu.Lock()
		fs := cp.frames[seen:]
		seen = len(cp.frames)
		cp.mu.Unlock()
		for _, f := range fs {
			if p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default); match(p) {
				return p
			}
		}
	}
	return nil
}

func arpFor(ip netip.Addr, op uint16) func(gopacket.Packet) bool {
	return func(p gopacket.Packet) bool {
		a, _ := p.Layer(layers.LayerTypeARP).(*layers.ARP)
		return a != nil && a.Operation == op && bytes.Equal(a.SourceProtAddress, ip.AsSlice())
	}
}

func naFor(ip netip.Addr) func(gopacket.Packet) bool {
	return func(p gopacket.Packet) bool {
		na, _ := p.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
		return na != nil && na.TargetAddress.Equal(net.IP(ip.AsSlice()))
	}
}

// sameARP compares the Ethernet header and ARP packet of two frames.
func sameARP(t *testing.T, who string, theirs gopacket.Packet, ours []byte) {
	t.Helper()
	o := gopacket.NewPacket(ours, layers.LayerTypeEthernet, gopacket.Default)
	te, oe := theirs.Layer(layers.LayerTypeEthernet).(*layers.Ethernet), o.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	ta, oa := theirs.Layer(layers.LayerTypeARP).(*layers.ARP), o.Layer(layers.LayerTypeARP).(*layers.ARP)
	if !bytes.Equal(te.Contents, oe.Contents) || !bytes.Equal(ta.Contents, oa.Contents) {
		t.Errorf("%s sends\n  %v %x\nraceroute\n  %v %x", who, te.Contents, ta.Contents, oe.Contents, oa.Contents)
	}
}

// TestFramesMatchArpingAndKeepalived: on one link, the frames raceroute
// builds, decoded by gopacket, are those arping -U and -A and keepalived
// send for the same address; keepalived's NA differs in its source only
// (the VIP itself; raceroute sends from the link-local address).
func TestFramesMatchArpingAndKeepalived(t *testing.T) {
	arping := nstest.RequireBinary(t, "arping")
	keepalived := nstest.RequireBinary(t, "keepalived")
	a, b := nstest.Pair(t, "ap")
	cp := startCapture(t, a, "va")
	mac, err := b.LinkMAC("vb")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	own := netip.MustParseAddr("10.9.0.2")
	build := func(f announce.Frame, addr netip.Addr, m kernel.MAC) []byte {
		t.Helper()
		ll := netip.MustParseAddr("fe80::1")
		out, err := announce.Build(f, m, addr, ll)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, tc := range []struct {
		flag string
		op   uint16
		f    announce.Frame
	}{
		{"-U", layers.ARPRequest, announce.Frame{Op: announce.Request}},
		{"-A", layers.ARPReply, announce.Frame{Op: announce.Reply}},
	} {
		if out, err := b.Run(ctx, arping, tc.flag, "-c", "1", "-I", "vb", own.String()); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		p := cp.find(10*time.Second, arpFor(own, tc.op))
		if p == nil {
			t.Fatalf("arping %s: no frame captured", tc.flag)
		}
		sameARP(t, "arping "+tc.flag, p, build(tc.f, own, mac))
	}

	// keepalived, master at once, announcing a VIP of each family.
	dir := t.TempDir()
	vip4, vip6 := netip.MustParseAddr("10.9.0.50"), netip.MustParseAddr("fd00:9::50")
	conf := filepath.Join(dir, "keepalived.conf")
	cfg := fmt.Sprintf(`global_defs {
  vrrp_garp_master_delay 0
}
vrrp_instance VI {
  state MASTER
  interface vb
  virtual_router_id 51
  priority 200
  advert_int 1
  virtual_ipaddress {
    %v/24
  }
  virtual_ipaddress_excluded {
    %v/64
  }
}
`, vip4, vip6)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	nstest.Start(t, b, keepalived, "-n", "-l", "-P", "-f", conf, "-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"))
	p := cp.find(30*time.Second, arpFor(vip4, layers.ARPRequest))
	if p == nil {
		t.Fatal("keepalived: no gratuitous request captured in 30 s")
	}
	ka, err := announce.Lookup("keepalived", 0)
	if err != nil {
		t.Fatal(err)
	}
	sameARP(t, "keepalived", p, build(ka.Round[0], vip4, mac))

	p = cp.find(10*time.Second, naFor(vip6))
	if p == nil {
		t.Fatal("keepalived: no NA captured")
	}
	ours := gopacket.NewPacket(build(ka.Round[0], vip6, mac), layers.LayerTypeEthernet, gopacket.Default)
	ti, oi := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6), ours.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	tn := p.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
	on := ours.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
	te, oe := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet), ours.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if !bytes.Equal(te.Contents, oe.Contents) || ti.HopLimit != oi.HopLimit || !ti.DstIP.Equal(oi.DstIP) ||
		!bytes.Equal(tn.Contents, on.Contents) || fmt.Sprint(tn.Options) != fmt.Sprint(on.Options) {
		t.Errorf("keepalived's NA\n  %v > %v hop %d %x %v\nraceroute's\n  %v > %v hop %d %x %v",
			ti.SrcIP, ti.DstIP, ti.HopLimit, tn.Contents, tn.Options, oi.SrcIP, oi.DstIP, oi.HopLimit, on.Contents, on.Options)
	}
	t.Logf("keepalived's NA comes from %v, raceroute's from the link-local address", ti.SrcIP)
}
