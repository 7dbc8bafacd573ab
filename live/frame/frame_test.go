package frame_test

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"raceroute/kernel"
	"raceroute/live/frame"
	"raceroute/live/netns/nstest"
	"raceroute/trace"
)

var (
	macA = kernel.MACFrom6([6]byte{0x02, 0, 0, 0, 0, 0x0a})
	ip4  = netip.MustParseAddr("10.9.0.2")
	ip6  = netip.MustParseAddr("fd00:9::2")
)

func TestBuildDecodeRoundTrip(t *testing.T) {
	req, _ := frame.GratuitousARPRequest(macA, ip4)
	rep, _ := frame.GratuitousARPReply(macA, ip4)
	na, _ := frame.UnsolicitedNA(macA, ip6, true)
	tests := []struct {
		name  string
		b     []byte
		want  trace.Frame
		gratu bool
	}{
		{"garp request", req, trace.Frame{Op: trace.FrameARPRequest, SrcMAC: macA, DstMAC: frame.Broadcast, SenderIP: ip4, SenderHW: macA, TargetIP: ip4, TargetHW: kernel.MACFrom6([6]byte{0, 0, 0, 0, 0, 0})}, true},
		{"garp reply", rep, trace.Frame{Op: trace.FrameARPReply, SrcMAC: macA, DstMAC: frame.Broadcast, SenderIP: ip4, SenderHW: macA, TargetIP: ip4, TargetHW: macA}, true},
		{"unsolicited na", na, trace.Frame{Op: trace.FrameNA, SrcMAC: macA, DstMAC: frame.AllNodesMAC, SenderIP: ip6, SenderHW: macA, Override: true}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ok, err := frame.Decode(tc.b)
			if err != nil || !ok {
				t.Fatalf("Decode: ok=%v err=%v", ok, err)
			}
			if f.Op != tc.want.Op || f.SenderIP != tc.want.SenderIP || f.TargetIP != tc.want.TargetIP ||
				f.SenderHW != tc.want.SenderHW || f.TargetHW != tc.want.TargetHW ||
				f.SrcMAC != tc.want.SrcMAC || f.DstMAC != tc.want.DstMAC ||
				f.Override != tc.want.Override || f.Solicited != tc.want.Solicited {
				t.Errorf("Decode = %+v\nwant     %+v", f, tc.want)
			}
			if f.Gratuitous() != tc.gratu {
				t.Errorf("Gratuitous() = %v", f.Gratuitous())
			}
			// An independent decoder agrees, checksum included.
			p := gopacket.NewPacket(tc.b, layers.LayerTypeEthernet, gopacket.Default)
			if el := p.ErrorLayer(); el != nil {
				t.Fatalf("gopacket: %v", el.Error())
			}
			if icmp, ok := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
				ip := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				if ip.HopLimit != 255 {
					t.Errorf("hop limit %d, want 255", ip.HopLimit)
				}
				got := icmp.Checksum
				if err := icmp.SetNetworkLayerForChecksum(ip); err != nil {
					t.Fatal(err)
				}
				buf := gopacket.NewSerializeBuffer()
				if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, icmp, gopacket.Payload(icmp.Payload)); err != nil {
					t.Fatal(err)
				}
				if want := buf.Bytes()[2:4]; got != uint16(want[0])<<8|uint16(want[1]) {
					t.Errorf("checksum %#04x, gopacket computes %#x", got, want)
				}
			}
			if arp, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
				if !bytes.Equal(arp.SourceHwAddress, macA.AsSlice()) || !bytes.Equal(arp.SourceProtAddress, ip4.AsSlice()) {
					t.Errorf("gopacket reads sender %v %v", net.HardwareAddr(arp.SourceHwAddress), net.IP(arp.SourceProtAddress))
				}
			}
		})
	}
	bad := []struct {
		name string
		err  func() error
	}{
		{"no mac", func() error { _, err := frame.GratuitousARPRequest(kernel.MAC{}, ip4); return err }},
		{"ipv6 in arp", func() error { _, err := frame.GratuitousARPReply(macA, ip6); return err }},
		{"ipv4 in na", func() error { _, err := frame.UnsolicitedNA(macA, ip4, true); return err }},
	}
	for _, tc := range bad {
		if tc.err() == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	for _, b := range [][]byte{nil, req[:20], na[:60], append(append([]byte(nil), na[:len(na)-8]...), 2, 0, 0, 0, 0, 0, 0, 0)} {
		if _, _, err := frame.Decode(b); err != nil && !strings.Contains(err.Error(), "frame") {
			t.Errorf("Decode error %v does not name the frame", err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	req, _ := frame.GratuitousARPRequest(macA, ip4)
	na, _ := frame.UnsolicitedNA(macA, ip6, true)
	f.Add(req)
	f.Add(na)
	f.Fuzz(func(t *testing.T, b []byte) {
		frame.Decode(b) // must not panic
	})
}

// TestKernelHonoursFrames sends a gratuitous ARP and an unsolicited NA
// from namespace b over a veth pair and checks that namespace a's
// kernel moves its neighbour entries to the announced MAC, and that a
// sniffer in a decodes both frames.
func TestKernelHonoursFrames(t *testing.T) {
	a, b := nstest.Pair(t, "fr")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Old entries, learnt long enough ago that locktime is no excuse.
	for _, ip := range []string{"10.9.0.2", "fd00:9::2"} {
		if _, err := a.Run(ctx, "ip", "neigh", "replace", ip, "lladdr", "02:00:00:00:00:01", "dev", "va", "nud", "stale"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1100 * time.Millisecond)

	var mu sync.Mutex
	var seen []trace.Frame
	sctx, stop := context.WithCancel(ctx)
	wait, err := frame.Sniff(sctx, frame.SniffOptions{Netns: a.Name, Devs: []string{"va"}}, func(r trace.Record) {
		mu.Lock()
		seen = append(seen, r.Frame)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := frame.NewSender(b.Name, "vb")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	newMAC := kernel.MACFrom6([6]byte{0x02, 0, 0, 0, 0, 0x02})
	tests := []struct {
		name  string
		build func() ([]byte, error)
		ip    string
		op    trace.FrameOp
	}{
		{"gratuitous arp request", func() ([]byte, error) { return frame.GratuitousARPRequest(newMAC, ip4) }, "10.9.0.2", trace.FrameARPRequest},
		{"unsolicited na", func() ([]byte, error) { return frame.UnsolicitedNA(newMAC, ip6, true) }, "fd00:9::2", trace.FrameNA},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			// The Ethernet source is the real interface's; the payload
			// announces newMAC.
			copy(fr[6:12], s.MAC().AsSlice())
			if err := s.Send(fr); err != nil {
				t.Fatal(err)
			}
			// The kernel may take the frame before the sniffer's
			// callback runs, so both are awaited to one deadline, a
			// generous one: a loaded machine delays both.
			sniffed := func() bool {
				mu.Lock()
				defer mu.Unlock()
				for _, f := range seen {
					if f.Op == tc.op && f.SenderIP.String() == tc.ip && f.SenderHW == newMAC && f.Dev == "va" && f.Gratuitous() {
						return true
					}
				}
				return false
			}
			deadline := time.Now().Add(20 * time.Second)
			var out string
			taken, found := false, false
			for time.Now().Before(deadline) {
				if !taken {
					out, _ = a.Run(ctx, "ip", "neigh", "show", tc.ip, "dev", "va")
					taken = strings.Contains(out, newMAC.String())
				}
				found = found || sniffed()
				if taken && found {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if !taken {
				t.Errorf("neighbour %s did not take %s: %q", tc.ip, newMAC, out)
			}
			if !found {
				mu.Lock()
				defer mu.Unlock()
				t.Errorf("sniffer did not decode the %s within 20 s; saw %+v", tc.name, seen)
			}
		})
	}
	stop()
	if err := wait(); err != nil {
		t.Error(err)
	}
}
