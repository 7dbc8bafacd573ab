package netns_test

import (
	"context"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"raceroute/live/netns"
	"raceroute/live/netns/nstest"
)

func TestVethPairPings(t *testing.T) {
	a := nstest.New(t, "a")
	b := nstest.New(t, "b")
	if err := a.Veth("va", b, "vb"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		pa, pb string
		ping   string
	}{
		{"ipv4", "10.9.0.1/24", "10.9.0.2/24", "10.9.0.2"},
		{"ipv6", "fd00:9::1/64", "fd00:9::2/64", "fd00:9::2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := a.AddrAdd("va", netip.MustParsePrefix(tc.pa)); err != nil {
				t.Fatal(err)
			}
			if err := b.AddrAdd("vb", netip.MustParsePrefix(tc.pb)); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if out, err := b.Run(ctx, "ip", "addr", "show", "dev", "vb"); err != nil || !strings.Contains(out, tc.ping) {
				t.Fatalf("ip addr in b: %v\n%s", err, out)
			}
			// A TCP connection from a to b proves the pair carries traffic.
			var ln net.Listener
			if err := b.Do(func() (err error) {
				ln, err = net.Listen("tcp", net.JoinHostPort(tc.ping, "0"))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				if c, err := ln.Accept(); err == nil {
					c.Write([]byte("ok"))
					c.Close()
				}
			}()
			var got []byte
			if err := a.Do(func() error {
				c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", ln.Addr().String())
				if err != nil {
					return err
				}
				defer c.Close()
				got, err = io.ReadAll(c)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if string(got) != "ok" {
				t.Fatalf("read %q over the veth pair", got)
			}
		})
	}
	// The peer really lives in b: a has no "vb".
	if _, err := a.LinkIndex("vb"); err == nil {
		t.Error("vb found in namespace a")
	}
	if err := a.Sysctl("net.ipv4.ip_forward", "1"); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := a.Do(func() error {
		out, err := readFile("/proc/sys/net/ipv4/ip_forward")
		got = out
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(got) != "1" {
		t.Errorf("ip_forward in a = %q, want 1", got)
	}
}

func TestCreateDeleteList(t *testing.T) {
	nstest.RequireRoot(t)
	name := nstest.Prefix + "list-test"
	_ = netns.Delete(name)
	ns, err := netns.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close(); _ = netns.Delete(name) })
	if _, err := netns.Create(name); err == nil {
		t.Error("second Create of the same name succeeded")
	}
	names, err := netns.List()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, name) {
		t.Fatalf("List() = %v, missing %s", names, name)
	}
	if err := netns.Delete(name); err != nil {
		t.Fatal(err)
	}
	names, _ = netns.List()
	if slices.Contains(names, name) {
		t.Fatalf("List() after Delete = %v", names)
	}
	for _, bad := range []string{"", "..", "a/b"} {
		if _, err := netns.Create(bad); err == nil {
			t.Errorf("Create(%q) succeeded", bad)
		}
	}
}
