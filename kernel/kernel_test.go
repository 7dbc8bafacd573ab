package kernel

import (
	"encoding/json"
	"strconv"
	"testing"
)

func TestNUD(t *testing.T) {
	tests := []struct {
		s    NUD
		want string
	}{
		{NUDNone, "NONE"}, {NUDReachable, "REACHABLE"}, {NUDStale, "STALE"}, {NUDPermanent, "PERMANENT"},
		{NUDStale | NUDDelay, "STALE DELAY"}, {NUDNoARP, "NOARP"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.s, got, tt.want)
		}
	}
	for _, n := range nudNames {
		for _, in := range []string{n.name, "x" + n.name} {
			got, ok := ParseNUD(in)
			if want := in == n.name; ok != want || (ok && got != n.s) {
				t.Errorf("ParseNUD(%q) = %v %v", in, got, ok)
			}
		}
	}
	if s, ok := ParseNUD("reachable"); !ok || s != NUDReachable {
		t.Errorf("ParseNUD is case-insensitive as iproute2: %v %v", s, ok)
	}
	if NUDValid&NUDFailed != 0 || NUDConnected&NUDStale != 0 || NUDInTimer&NUDStale != 0 {
		t.Error("state sets differ from include/net/neighbour.h")
	}
}

func TestRouteTypeAndProto(t *testing.T) {
	for i, n := range routeTypeNames {
		rt, ok := ParseRouteType(n)
		if !ok || rt != RouteType(i) || rt.String() != n {
			t.Errorf("route type %d %q: %v %v %q", i, n, rt, ok, rt.String())
		}
	}
	if RouteType(42).String() != "42" {
		t.Errorf("unknown type prints %q", RouteType(42).String())
	}
	for _, tt := range []struct {
		t      RouteType
		reject bool
	}{{RouteUnicast, false}, {RouteLocal, false}, {RouteUnreachable, true}, {RouteBlackhole, true}, {RouteProhibit, true}, {RouteThrow, true}} {
		if tt.t.Reject() != tt.reject {
			t.Errorf("%s.Reject() = %v", tt.t, !tt.reject)
		}
	}
	for i, n := range protoNames {
		p := Proto(i)
		if n == "" {
			if p.String() != strconv.Itoa(i) {
				t.Errorf("proto %d prints %q", i, p.String())
			}
			continue
		}
		if q, ok := ParseProto(n); !ok || q != p || p.String() != n {
			t.Errorf("proto %d %q: %v %v", p, n, q, ok)
		}
	}
	if p, ok := ParseProto("200"); !ok || p != 200 || p.String() != "200" {
		t.Errorf("numeric proto: %v %v", p, ok)
	}
	if _, ok := ParseProto("300"); ok {
		t.Error("proto 300 accepted")
	}
}

func TestErrno(t *testing.T) {
	tests := []struct {
		e          Errno
		name, text string
	}{
		{ENETUNREACH, "ENETUNREACH", "-101 ENETUNREACH (Network is unreachable)"},
		{EHOSTUNREACH, "EHOSTUNREACH", "-113 EHOSTUNREACH (No route to host)"},
		{EEXIST, "EEXIST", "-17 EEXIST (File exists)"},
		{Errno(-999), "-999", "-999"},
		{0, "0", "0"},
	}
	for _, tt := range tests {
		if tt.e.Name() != tt.name || tt.e.String() != tt.text {
			t.Errorf("errno %d: %q %q, want %q %q", int(tt.e), tt.e.Name(), tt.e.String(), tt.name, tt.text)
		}
	}
}

func TestMAC(t *testing.T) {
	m := MustParseMAC("FA:16:3e:aa:bb:01")
	if m.String() != "fa:16:3e:aa:bb:01" || !m.IsValid() || m.IsBroadcast() {
		t.Fatalf("parsed %q valid %v", m, m.IsValid())
	}
	same, _ := MACFrom([]byte{0xfa, 0x16, 0x3e, 0xaa, 0xbb, 0x01})
	if same != m {
		t.Fatal("equal addresses are not ==")
	}
	seen := map[MAC]bool{m: true}
	if !seen[same] {
		t.Fatal("a MAC is not usable as a map key")
	}
	var none MAC
	zero, _ := MACFrom(make([]byte, 6))
	if none.IsValid() || none.String() != "" || none.AsSlice() != nil || none == zero || zero.String() != "00:00:00:00:00:00" {
		t.Fatalf("zero MAC %q vs all-zero address %q", none, zero)
	}
	for _, bad := range []string{"", "fa:16:3e", "00:00:00:00:fe:80:00:00:00:00:00:00:00:00:00:00:00:00:00:01", "zz:zz:zz:zz:zz:zz"} {
		if _, err := ParseMAC(bad); err == nil {
			t.Errorf("ParseMAC(%q) accepted", bad)
		}
	}
	if _, ok := MACFrom(make([]byte, 20)); ok {
		t.Error("a 20-byte address is not a MAC")
	}
	if !MustParseMAC("ff:ff:ff:ff:ff:ff").IsBroadcast() {
		t.Error("broadcast")
	}
	b, err := json.Marshal(struct{ A, B MAC }{m, none})
	if err != nil || string(b) != `{"A":"fa:16:3e:aa:bb:01","B":""}` {
		t.Fatalf("json: %s %v", b, err)
	}
	var back struct{ A, B MAC }
	if err := json.Unmarshal(b, &back); err != nil || back.A != m || back.B != none {
		t.Fatalf("json round trip: %+v %v", back, err)
	}
}

func FuzzParseMAC(f *testing.F) {
	f.Add("fa:16:3e:aa:bb:01")
	f.Add("01-02-03-04-05-06")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMAC(s)
		if err != nil {
			return
		}
		again, err := ParseMAC(m.String())
		if err != nil || again != m {
			t.Fatalf("%q -> %q -> %v %v", s, m, again, err)
		}
	})
}
