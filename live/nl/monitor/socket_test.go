package monitor

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMmsgBufOrder: datagrams received in batches by recvmmsg come out
// one by one, whole and in order, across batch boundaries, each batch's
// with the one time it was taken at, and then EAGAIN on an empty queue. A loopback UDP socket stands in for the
// netlink socket (recvmmsg is the same call on both; a unix datagram
// socket queues only net.unix.max_dgram_qlen datagrams).
func TestMmsgBufOrder(t *testing.T) {
	rx, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rx)
	if err := unix.SetsockoptInt(rx, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20); err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(rx, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	to, err := unix.Getsockname(rx)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(tx)
	sizes := []int{1, 17, 200, 4096, 3 * maxDgram / 4}
	n := mmsgSlots*2 + 7
	var want [][]byte
	for i := range n {
		m := bytes.Repeat([]byte(fmt.Sprintf("%d,", i)), sizes[i%len(sizes)])[:sizes[i%len(sizes)]]
		want = append(want, m)
		if err := unix.Sendto(tx, m, 0, to); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	mb := newMmsgBuf()
	p := make([]byte, maxDgram)
	var prev time.Time
	for i, w := range want {
		before := time.Now()
		got, at, err := mb.recv(rx, p)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		switch {
		case mb.next == 1 && (at.Before(before) || !at.After(prev)):
			t.Fatalf("datagram %d, the first of a batch, taken at %v: want after %v and the last batch's %v", i, at, before, prev)
		case mb.next > 1 && !at.Equal(prev):
			t.Fatalf("datagram %d, %d of its batch, taken at %v: want its batch's %v", i, mb.next, at, prev)
		}
		prev = at
		if !bytes.Equal(p[:got], w) {
			t.Fatalf("datagram %d: got %d bytes %q..., want %d bytes %q...", i, got, p[:min(got, 8)], len(w), w[:min(len(w), 8)])
		}
	}
	if _, _, err := mb.recv(rx, p); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("empty queue: got %v, want EAGAIN", err)
	}
}
