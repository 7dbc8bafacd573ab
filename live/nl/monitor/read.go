package monitor

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// dgram is one datagram read from the multicast socket, with the time
// it was read.
type dgram struct {
	b []byte
	t time.Time
}

// batch is what the reader hands the decoder: datagrams read back to
// back, then possibly an event. overflow: the socket reported ENOBUFS
// (the kernel then stays silent about further drops until its queue is
// empty: netlink_overrun sets NETLINK_S_CONGESTED, which netlink_rcv_wake
// clears only on an empty queue). drained: the queue was seen empty
// after an overflow, so a dump taken from now on covers every drop.
type batch struct {
	dgrams    []dgram
	overflow  bool
	drained   bool
	overflowT time.Time
	err       error
	// done is the chunk the reader left while filling this batch: no
	// later batch uses it, so once this one is handled it goes back to
	// the reader (Subscription.chunks).
	done []byte
}

// maxDgram is the largest datagram the subscription receives whole.
const maxDgram = 1 << 16

// chunkSize is the size of the chunks the reader copies datagrams into.
const chunkSize = 1 << 20

// read drains the multicast socket into the queue as fast as it can,
// copying datagrams into large chunks (no allocation per datagram; the
// chunks the decoder is done with come back through s.chunks, so that a
// storm does not allocate and clear a fresh MiB every 15,000 events, and
// the batches' lists of datagrams through s.lists) and noting when the
// socket's queue is empty.
func (s *Subscription) read(ctx context.Context) {
	defer s.wg.Done()
	const maxBatch = 256
	chunk := make([]byte, 0, chunkSize)
	congested := false
	for {
		var b batch
		// The list of a batch handled, for this one: a storm hands over
		// thousands of batches a second.
		select {
		case b.dgrams = <-s.lists:
		default:
		}
		rerr := s.mc.Read(func(recv func([]byte) (int, time.Time, error)) bool {
			for len(b.dgrams) < maxBatch {
				if cap(chunk)-len(chunk) < maxDgram {
					b.done = chunk
					select {
					case c := <-s.chunks:
						chunk = c[:0]
					default:
						chunk = make([]byte, 0, chunkSize)
					}
				}
				buf := chunk[len(chunk):cap(chunk)]
				n, t, err := recv(buf)
				switch {
				case err == unix.EINTR:
					continue
				case err == unix.EAGAIN:
					if congested {
						congested, b.drained = false, true
					}
					return len(b.dgrams) > 0 || b.drained
				case err == unix.ENOBUFS:
					congested, b.overflow, b.overflowT = true, true, time.Now()
					return true
				case err != nil:
					b.err = fmt.Errorf("receive: %w", err)
					return true
				}
				b.dgrams = append(b.dgrams, dgram{b: buf[:n:n], t: t})
				chunk = chunk[:len(chunk)+(n+3)&^3]
			}
			return true
		})
		if rerr != nil {
			if ctx.Err() != nil {
				return
			}
			b.err = fmt.Errorf("receive: %w", rerr)
		}
		select {
		case s.queue <- b:
		case <-ctx.Done():
			return
		}
		if b.err != nil {
			return
		}
	}
}
