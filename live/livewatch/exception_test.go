package livewatch

import (
	"context"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"raceroute/live/frame"
	"raceroute/live/netns/nstest"
	"raceroute/live/nl"
	"raceroute/live/nl/write"
	"raceroute/trace"
)

// syncBuilder is a strings.Builder safe for the watch's goroutines.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestExceptionMTUShown: a Packet Too Big frame sent into a namespace
// makes the kernel create a PMTU exception (rt6_insert_exception, 4.15+),
// which the kernel does not announce; the watch finds it by its cache
// poll (a dump with RTM_F_CLONED) and its event line shows the entry's
// mtu and expires, as `ip -6 route show cache` does.
func TestExceptionMTUShown(t *testing.T) {
	nstest.RequireRoot(t)
	a, b := nstest.Pair(t, "mt")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := nl.Options{Netns: a.Name}
	wr, err := write.NewRouteWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer wr.Close()
	r64 := trace.Route{Family: 6, Dst: netip.MustParsePrefix("fd01::/64"), Gateway: netip.MustParseAddr("fd00:9::2"), Metric: 1024}
	if _, err := wr.Write(ctx, write.OpAdd, []trace.Route{r64}); err != nil {
		t.Fatal(err)
	}
	var out syncBuilder
	ready := make(chan struct{})
	errc := make(chan error, 1)
	wctx, stop := context.WithCancel(ctx)
	go func() {
		errc <- Run(wctx, Config{Netns: a.Name, Families: []int{6}, Out: &out, CachePoll: 100 * time.Millisecond, Ready: ready})
	}()
	<-ready
	macA, err := a.LinkMAC("va")
	if err != nil {
		t.Fatal(err)
	}
	s, err := frame.NewSender(b.Name, "vb")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ptb, err := frame.PacketTooBig(macA, s.MAC(), netip.MustParseAddr("fd00:9::2"), netip.MustParseAddr("fd00:9::1"), netip.MustParseAddr("fd01::1"), 1400)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`\[RTCAH\]Polled Cloned fd01::1 via fd00:9::2 dev va .*\\ cache expires [0-9]+sec mtu 1400`)
	// Send until the line shows: while the fresh address is still
	// tentative (DAD) the kernel drops the frame.
	for !line.MatchString(out.String()) {
		if err := s.Send(ptb); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no cache line with mtu 1400 and expires after 30 s; output:\n%s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	stop()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
