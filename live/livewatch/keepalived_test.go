package livewatch_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"raceroute/kernel"
	"raceroute/live/livewatch"
	"raceroute/live/netns"
	"raceroute/live/netns/nstest"
	"raceroute/trace"
)

const keepalivedConf = `global_defs {
	router_id %[1]s
	vrrp_garp_master_delay 5
	vrrp_garp_master_repeat 5
}
vrrp_instance VI {
	state %[2]s
	interface e0
	virtual_router_id 51
	priority %[3]d
	advert_int 0.2
	vrrp_version 3
	virtual_ipaddress {
		10.7.0.50/24
	}
}
`

// TestKeepalivedFailover runs Debian's keepalived in two namespaces
// sharing a VRRP address, and watches from a third on the same LAN (a
// bridge). When the master stops, the backup takes the address and
// sends gratuitous ARPs; the watch must sniff them and see the
// neighbour entry move to the new MAC, and report nothing: this kernel
// honours gratuitous ARPs (arp_is_garp, Linux >= 4.12).
func TestKeepalivedFailover(t *testing.T) {
	nstest.RequireRoot(t)
	keepalived := nstest.RequireBinary(t, "keepalived")
	k1, k2, w := nstest.New(t, "ka1"), nstest.New(t, "ka2"), nstest.New(t, "kaw")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.Bridge("br0", kernel.MACFrom6([6]byte{0x02, 0, 0, 0, 0x77, 0x01})))
	must(w.AddrAdd("br0", netip.MustParsePrefix("10.7.0.100/24")))
	for i, k := range []*netns.NS{k1, k2} {
		port := fmt.Sprintf("p%d", i+1)
		must(k.Veth("e0", w, port))
		must(w.SetMaster(port, "br0"))
		must(k.AddrAdd("e0", netip.MustParsePrefix(fmt.Sprintf("10.7.0.%d/24", i+1))))
	}
	mac1, err := k1.LinkMAC("e0")
	must(err)
	mac2, err := k2.LinkMAC("e0")
	must(err)
	vip := netip.MustParseAddr("10.7.0.50")

	dir := t.TempDir()
	startKA := func(k *netns.NS, name, state string, prio int) *nstest.Output {
		conf := filepath.Join(dir, name+".conf")
		must(os.WriteFile(conf, []byte(fmt.Sprintf(keepalivedConf, name, state, prio)), 0o644))
		return nstest.Start(t, k, keepalived, "--dont-fork", "--log-console", "--vrrp",
			"-f", conf, "-p", filepath.Join(dir, name+".pid"), "-r", filepath.Join(dir, name+".vrrp.pid"),
			"-c", filepath.Join(dir, name+".chk.pid"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var fs findings
	var mu sync.Mutex
	var garps []trace.Frame
	var neighMACs []string
	stop := start(t, livewatch.Config{
		Netns: w.Name, Families: []int{4}, Sniff: true, OnFinding: fs.add,
		OnRecord: func(r trace.Record) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.Kind == trace.KindFrame && r.Frame.Gratuitous() && r.Frame.SenderIP == vip:
				garps = append(garps, r.Frame)
			case r.Kind == trace.KindNeigh && r.Neigh.Addr == vip && r.Action == trace.ActionNew && r.Neigh.LLAddr.IsValid():
				neighMACs = append(neighMACs, r.Neigh.LLAddr.String())
			}
		},
	})

	out1 := startKA(k1, "k1", "MASTER", 150)
	startKA(k2, "k2", "BACKUP", 100)
	waitFor(t, "k1 holds the VRRP address", 20*time.Second, func() (bool, string) {
		o, err := k1.Run(ctx, "ip", "-4", "addr", "show", "dev", "e0")
		return err == nil && strings.Contains(o, "10.7.0.50/24"), o + out1.String()
	})
	// Traffic from the watcher to the address gives it a neighbour entry
	// (arp_accept=0: a gratuitous ARP alone does not create one).
	must(w.Do(func() error {
		c, err := net.Dial("udp4", "10.7.0.50:9")
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("hello"))
		return err
	}))
	waitFor(t, "the watcher's neighbour entry for the address has k1's MAC", 20*time.Second, func() (bool, string) {
		o, err := w.Run(ctx, "ip", "neigh", "show", "10.7.0.50")
		return err == nil && strings.Contains(o, mac1.String()), o
	})

	// Fail over: stop k1 (keepalived sends a priority-0 advertisement).
	failAt := time.Now()
	must(stopProcess(filepath.Join(dir, "k1.pid")))
	waitFor(t, "the watcher's neighbour entry moves to k2's MAC", 20*time.Second, func() (bool, string) {
		o, err := w.Run(ctx, "ip", "neigh", "show", "10.7.0.50")
		return err == nil && strings.Contains(o, mac2.String()), o
	})
	moved := time.Since(failAt)
	// The kernel may take the frame before the watch's sniffer and its
	// netlink socket have handed theirs on: both are awaited.
	fromK2 := func() int {
		n := 0
		for _, f := range garps {
			if f.SenderHW == mac2 && f.Dev == "br0" {
				n++
			}
		}
		return n
	}
	waitFor(t, "the watch saw k2's gratuitous ARP and the entry's move", 15*time.Second, func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		ok := fromK2() > 0 && len(neighMACs) > 0 && neighMACs[len(neighMACs)-1] == mac2.String()
		return ok, fmt.Sprintf("gratuitous ARPs for %s: %+v; neighbour records' MACs %v, want the last %s", vip, garps, neighMACs, mac2)
	})
	// Leave the detectors time to conclude (locktime + margin, and the
	// frame window), then stop.
	time.Sleep(2 * time.Second)
	must(stop())

	mu.Lock()
	defer mu.Unlock()
	if len(neighMACs) == 0 || neighMACs[len(neighMACs)-1] != mac2.String() {
		t.Errorf("neighbour records for %s: MACs %v, want the last to be %s", vip, neighMACs, mac2)
	}
	if got := fs.all(); len(got) != 0 {
		t.Errorf("findings on a kernel that honours gratuitous ARPs: %v", got)
	}
	t.Logf("failover: entry took k2's MAC %v after k1 stopped; %d gratuitous ARPs from k2 sniffed; neighbour MACs %v",
		moved.Round(time.Millisecond), fromK2(), neighMACs)
}

// stopProcess sends SIGTERM to the process whose pid file is path.
func stopProcess(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read pid file: %w", err)
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(syscall.SIGTERM)
}
