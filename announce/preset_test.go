package announce_test

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"raceroute/announce"
	"raceroute/kernel"
)

func TestSchedule(t *testing.T) {
	tests := []struct {
		preset   string
		locktime time.Duration
		count    int
		interval time.Duration
		want     string // op@ms after the start
	}{
		{"safe", 0, 0, 0, "request@0 reply@0 request@2000 reply@2000 request@4000 reply@4000"},
		{"safe", 3 * time.Second, 2, 0, "request@0 reply@0 request@6000 reply@6000"},
		{"neutron", 0, 0, 0, "request@0 reply@0 request@2000 reply@2000 request@4000 reply@4000"},
		{"keepalived", 0, 0, 0, "request@0 request@0 request@0 request@0 request@0 request@5000 request@5000 request@5000 request@5000 request@5000"},
		{"metallb", 0, 2, 0, "request@0 reply@0 request@1100 reply@1100"},
		{"kube-vip", 0, 0, 0, "request@0 reply@3000 request@6000 reply@9000"},
		{"safe", 0, 1, time.Hour, "request@0 reply@0"},
		{"metallb", 0, 3, 500 * time.Millisecond, "request@0 reply@0 request@500 reply@500 request@1000 reply@1000"},
	}
	for _, tc := range tests {
		p, err := announce.Lookup(tc.preset, tc.locktime)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		var at time.Duration
		for _, f := range p.Schedule(tc.count, tc.interval) {
			at += f.After
			got = append(got, f.Op.String()+"@"+strconv.FormatInt(at.Milliseconds(), 10))
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%s count %d interval %v: %s, want %s", tc.preset, tc.count, tc.interval, g, tc.want)
		}
	}
	if _, err := announce.Lookup("garp", 0); err == nil || !strings.Contains(err.Error(), "safe") {
		t.Errorf("an unknown preset: %v, want an error listing the presets", err)
	}
}

// The frames, decoded by gopacket: what RFC 826/5227 and RFC 4861 say a
// gratuitous ARP and an unsolicited NA carry.
func TestBuildDecodes(t *testing.T) {
	mac := kernel.MACFrom6([6]byte{0x02, 0, 0, 0, 0xbb, 0xbb})
	ll := netip.MustParseAddr("fe80::bb")
	v4, v6 := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")
	tests := []struct {
		name string
		f    announce.Frame
		addr netip.Addr
		op   uint16
		tha  []byte
	}{
		{"request", announce.Frame{Op: announce.Request}, v4, layers.ARPRequest, bytes.Repeat([]byte{0xff}, 6)},
		{"request, target MAC zero", announce.Frame{Op: announce.Request, THA: announce.THAZero}, v4, layers.ARPRequest, make([]byte, 6)},
		{"reply, target MAC zero", announce.Frame{Op: announce.Reply, THA: announce.THAZero}, v4, layers.ARPReply, make([]byte, 6)},
		{"reply, target MAC self", announce.Frame{Op: announce.Reply}, v4, layers.ARPReply, mac.AsSlice()},
		{"reply, target MAC broadcast", announce.Frame{Op: announce.Reply, THA: announce.THABroadcast}, v4, layers.ARPReply, bytes.Repeat([]byte{0xff}, 6)},
		{"na", announce.Frame{Op: announce.Request}, v6, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := announce.Build(tc.f, mac, tc.addr, ll)
			if err != nil {
				t.Fatal(err)
			}
			pkt := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
			if el := pkt.ErrorLayer(); el != nil {
				t.Fatalf("gopacket: %v", el.Error())
			}
			eth := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			if !bytes.Equal(eth.SrcMAC, mac.AsSlice()) {
				t.Errorf("ethernet source %v", eth.SrcMAC)
			}
			if tc.addr.Is4() {
				a, _ := pkt.Layer(layers.LayerTypeARP).(*layers.ARP)
				if a == nil {
					t.Fatal("no ARP layer")
				}
				ip := tc.addr.AsSlice()
				switch {
				case a.Operation != tc.op, !bytes.Equal(a.SourceHwAddress, mac.AsSlice()),
					!bytes.Equal(a.SourceProtAddress, ip), !bytes.Equal(a.DstProtAddress, ip), !bytes.Equal(a.DstHwAddress, tc.tha),
					eth.DstMAC.String() != "ff:ff:ff:ff:ff:ff":
					t.Errorf("arp %+v to %v", a, eth.DstMAC)
				}
				return
			}
			ip6 := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			na, _ := pkt.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
			if na == nil {
				t.Fatal("no neighbour advertisement")
			}
			if ip6.HopLimit != 255 || ip6.SrcIP.String() != ll.String() || ip6.DstIP.String() != "ff02::1" || eth.DstMAC.String() != "33:33:00:00:00:01" {
				t.Errorf("ipv6 %v -> %v hop limit %d, ethernet to %v", ip6.SrcIP, ip6.DstIP, ip6.HopLimit, eth.DstMAC)
			}
			if !na.Override() || na.Solicited() || na.Router() || !na.TargetAddress.Equal(net.IP(tc.addr.AsSlice())) {
				t.Errorf("na flags %#x target %v", na.Flags, na.TargetAddress)
			}
			if len(na.Options) != 1 || na.Options[0].Type != layers.ICMPv6OptTargetAddress || !bytes.Equal(na.Options[0].Data, mac.AsSlice()) {
				t.Errorf("na options %+v", na.Options)
			}
			// The checksum, as gopacket computes it.
			icmp := pkt.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
			sum := icmp.Checksum
			if err := icmp.SetNetworkLayerForChecksum(ip6); err != nil {
				t.Fatal(err)
			}
			buf := gopacket.NewSerializeBuffer()
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, icmp, gopacket.Payload(icmp.Payload)); err != nil {
				t.Fatal(err)
			}
			if icmp.Checksum != sum {
				t.Errorf("checksum %#x, gopacket computes %#x", sum, icmp.Checksum)
			}
		})
	}
	if _, err := announce.Build(announce.Frame{Op: announce.Request}, mac, v6, netip.Addr{}); err == nil {
		t.Error("an NA without a source address built")
	}
}
