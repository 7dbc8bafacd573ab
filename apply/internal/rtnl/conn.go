package rtnl

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Request is one rtnetlink request: its type, its flags beyond
// NLM_F_REQUEST|NLM_F_ACK (which every request gets), and its body.
type Request struct {
	Type  uint16
	Flags uint16
	Body  []byte
}

// ErrNoAnswer marks a request whose acknowledgement never came (the
// batch stopped, or the kernel dropped it): whether the kernel applied it
// is unknown until the tables are read again.
var ErrNoAnswer = errors.New("no acknowledgement: the kernel's answer is unknown")

// ErrInterrupted reports a dump the kernel marked inconsistent
// (NLM_F_DUMP_INTR): the table changed while it was read.
var ErrInterrupted = errors.New("dump interrupted (NLM_F_DUMP_INTR): the table changed while it was read")

// socket is what Conn needs of a netlink socket; the kernel's is
// sysSocket, tests use a fake.
type socket interface {
	// send writes one datagram (a batch of messages).
	send(b []byte) error
	// recv reads up to len(bufs) datagrams into bufs and their lengths
	// into lens, waiting up to wait for the first; 0 datagrams and no
	// error means nothing came in time.
	recv(bufs [][]byte, lens []int, wait time.Duration) (int, error)
	close() error
}

// Conn is an rtnetlink socket in one namespace.
type Conn struct {
	s   socket
	pid uint32
	seq uint32
	// maxBatch is the most requests per sendmsg: their acknowledgements
	// must fit in the receive buffer, or the kernel drops them (ENOBUFS).
	maxBatch int
	// maxBytes is the most bytes per sendmsg (the send buffer, less the
	// kernel's 32 bytes: netlink_sendmsg() refuses more with EMSGSIZE).
	maxBytes int
	ackBufs  [][]byte
	dumpBuf  [][]byte
	lens     []int
	out      []byte
	// AckWait bounds the wait for an acknowledgement the kernel owes.
	AckWait time.Duration
}

// ackTruesize bounds what one acknowledgement costs the receive buffer:
// netlink_ack() allocates an skb of nlmsg_new(payload), and the socket
// is charged its truesize (data rounded up, plus struct sk_buff and
// skb_shared_info), about 1 KiB for an error with its extended-ACK text.
const ackTruesize = 2048

// DefaultBatch is the requests per sendmsg when the caller does not say.
const DefaultBatch = 512

func newConn(s socket, pid uint32, rcvbuf, sndbuf int) *Conn {
	c := &Conn{s: s, pid: pid, AckWait: 10 * time.Second}
	c.maxBatch = max(1, rcvbuf/ackTruesize)
	c.maxBytes = max(4096, sndbuf-32)
	n := min(c.maxBatch, 1024)
	c.ackBufs = make([][]byte, n)
	for i := range c.ackBufs {
		c.ackBufs[i] = make([]byte, 1024)
	}
	// Buffers for a dump's datagrams: one being received while the one
	// before is read (the kernel's are at most 32 KiB: netlink_recvmsg()).
	c.dumpBuf = [][]byte{make([]byte, 1<<16), make([]byte, 1<<16), make([]byte, 1<<16)}
	c.lens = make([]int, n)
	return c
}

// MaxBatch is the most requests one sendmsg may carry on this socket.
func (c *Conn) MaxBatch() int { return c.maxBatch }

// Close closes the socket.
func (c *Conn) Close() error { return c.s.close() }

// Exchange sends reqs, up to batch a sendmsg (0: DefaultBatch, and never
// more than MaxBatch), each with NLM_F_REQUEST|NLM_F_ACK and its own
// sequence number, and reads one acknowledgement per request, matched by
// sequence number. It returns the kernel's answer to each request: nil
// (acknowledged), a *KernelError (refused), or ErrNoAnswer. err, when
// not nil, says why some answers are missing: a send that failed, an
// acknowledgement lost or never sent, one that matches no request, ctx.
// Exchange then stops: later batches are not sent. progress, if set, is
// told after each batch how many requests have an answer.
func (c *Conn) Exchange(ctx context.Context, reqs []Request, batch int, progress func(answered int)) ([]error, error) {
	if batch <= 0 {
		batch = DefaultBatch
	}
	batch = min(batch, c.maxBatch)
	res := make([]error, len(reqs))
	for i := range res {
		res[i] = ErrNoAnswer
	}
	for start := 0; start < len(reqs); {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		// One batch: as many requests as the limits allow.
		c.out = c.out[:0]
		first := c.seq + 1
		end := start
		for end < len(reqs) && end-start < batch {
			r := &reqs[end]
			l := hdrLen + len(r.Body)
			if end > start && len(c.out)+align4(l) > c.maxBytes {
				break
			}
			c.seq++
			off := len(c.out)
			c.out = append(c.out, make([]byte, hdrLen)...)
			c.out = append(c.out, r.Body...)
			putHeader(c.out[off:], l, r.Type, r.Flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK, c.seq, c.pid)
			for len(c.out)%4 != 0 {
				c.out = append(c.out, 0)
			}
			end++
		}
		if err := c.s.send(c.out); err != nil {
			return res, fmt.Errorf("send %d requests (sequence %d to %d): %w", end-start, first, c.seq, err)
		}
		if err := c.collect(ctx, res[start:end], first); err != nil {
			return res, err
		}
		start = end
		if progress != nil {
			progress(start)
		}
	}
	return res, nil
}

// collect reads the acknowledgements of one batch, whose first request
// has sequence first, into res.
func (c *Conn) collect(ctx context.Context, res []error, first uint32) error {
	left := len(res)
	last := first + uint32(len(res)) - 1
	seen := make([]bool, len(res))
	waited := time.Duration(0)
	const slice = 200 * time.Millisecond
	for left > 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%d acknowledgements of sequence %d to %d still owed: %w", left, first, last, err)
		}
		n, err := c.s.recv(c.ackBufs[:min(left, len(c.ackBufs))], c.lens, slice)
		if errors.Is(err, unix.ENOBUFS) {
			return fmt.Errorf("the kernel dropped acknowledgements of sequence %d to %d (receive buffer overrun, ENOBUFS): %d answers are unknown", first, last, left)
		}
		if err != nil {
			return fmt.Errorf("receive acknowledgements of sequence %d to %d: %w", first, last, err)
		}
		if n == 0 {
			if waited += slice; waited >= c.AckWait {
				return fmt.Errorf("no acknowledgement within %v for %d requests of sequence %d to %d", c.AckWait, left, first, last)
			}
			continue
		}
		waited = 0
		for k := 0; k < n; k++ {
			err := messages(c.ackBufs[k][:c.lens[k]], func(m []byte) error {
				a, err := parseAck(m)
				if err != nil {
					return err
				}
				if a.seq < first || a.seq > last {
					return fmt.Errorf("acknowledgement of sequence %d: not a request of this batch (%d to %d)", a.seq, first, last)
				}
				i := a.seq - first
				if seen[i] {
					return fmt.Errorf("a second acknowledgement of sequence %d", a.seq)
				}
				seen[i] = true
				left--
				if a.err != nil {
					res[i] = a.err
				} else {
					res[i] = nil
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Dump sends a dump request (NLM_F_REQUEST|NLM_F_DUMP) of type typ with
// body and calls fn with the type and body of every message of the
// answer. It returns ErrInterrupted when the kernel marked the answer
// inconsistent (fn has seen it all the same), and a *KernelError when
// the kernel refused the request (EOPNOTSUPP for a message type it does
// not know).
//
// The answer is received by a goroutine of its own while fn reads what
// came before: the kernel fills the next datagram (netlink_dump(), run
// by the receive) while fn decodes the last, on another CPU.
func (c *Conn) Dump(ctx context.Context, typ uint16, body []byte, fn func(typ uint16, body []byte) error) error {
	c.seq++
	seq := c.seq
	l := hdrLen + len(body)
	c.out = append(c.out[:0], make([]byte, hdrLen)...)
	c.out = append(c.out, body...)
	putHeader(c.out, l, typ, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, seq, c.pid)
	if err := c.s.send(c.out); err != nil {
		return fmt.Errorf("send dump request: %w", err)
	}
	full := make(chan dumpChunk, len(c.dumpBuf))
	free := make(chan []byte, len(c.dumpBuf))
	for _, b := range c.dumpBuf {
		free <- b
	}
	stop := make(chan struct{})
	go c.receiveDump(ctx, seq, free, full, stop)
	// The receiver has ended when full is closed: the buffers and the
	// socket are the Conn's again.
	defer func() {
		close(stop)
		for range full {
		}
	}()
	intr := false
	var ferr error
	for ch := range full {
		if ch.err != nil {
			return ch.err
		}
		done := false
		err := messages(ch.b, func(m []byte) error {
			mt := binary.NativeEndian.Uint16(m[4:6])
			flags := binary.NativeEndian.Uint16(m[6:8])
			if binary.NativeEndian.Uint32(m[8:12]) != seq {
				return nil // an answer to an earlier request: not ours to read
			}
			if flags&unix.NLM_F_DUMP_INTR != 0 {
				intr = true
			}
			switch mt {
			case unix.NLMSG_DONE:
				done = true
				// NLMSG_DONE carries the dump's error as an int.
				if len(m) >= hdrLen+4 {
					if code := int32(binary.NativeEndian.Uint32(m[hdrLen:])); code < 0 && ferr == nil {
						ferr = &KernelError{Errno: syscall.Errno(-code)}
					}
				}
				return nil
			case unix.NLMSG_ERROR:
				done = true
				a, err := parseAck(m)
				if err != nil {
					return err
				}
				if a.err != nil && ferr == nil {
					ferr = a.err
				}
				return nil
			}
			if ferr == nil {
				ferr = fn(mt, m[hdrLen:])
			}
			return nil
		})
		free <- ch.b[:cap(ch.b)]
		if err != nil {
			return fmt.Errorf("read dump: %w", err)
		}
		if done {
			break
		}
	}
	if ferr != nil {
		return ferr
	}
	if intr {
		return ErrInterrupted
	}
	return nil
}

// dumpChunk is one datagram of a dump's answer, or why none came.
type dumpChunk struct {
	b   []byte
	err error
}

// receiveDump receives the datagrams of the answer to dump request seq
// into the buffers of free and sends them on full, until the one that
// ends it (NLMSG_DONE or NLMSG_ERROR of seq), an error, or stop; it
// closes full when it returns.
func (c *Conn) receiveDump(ctx context.Context, seq uint32, free chan []byte, full chan<- dumpChunk, stop <-chan struct{}) {
	defer close(full)
	lens := make([]int, 1)
	waited := time.Duration(0)
	const slice = 200 * time.Millisecond
	for {
		select {
		case <-stop:
			return
		default:
		}
		var b []byte
		select {
		case b = <-free:
		case <-stop:
			return
		}
		if err := ctx.Err(); err != nil {
			full <- dumpChunk{err: err}
			return
		}
		n, err := c.s.recv([][]byte{b}, lens, slice)
		if err != nil {
			full <- dumpChunk{err: fmt.Errorf("read dump: %w", err)}
			return
		}
		if n == 0 {
			free <- b
			if waited += slice; waited >= c.AckWait {
				full <- dumpChunk{err: fmt.Errorf("dump: no answer within %v", c.AckWait)}
				return
			}
			continue
		}
		waited = 0
		b = b[:lens[0]]
		full <- dumpChunk{b: b}
		if endsDump(b, seq) {
			return
		}
	}
}

// endsDump reports whether datagram b holds the message that ends the
// answer to dump request seq.
func endsDump(b []byte, seq uint32) bool {
	end := false
	messages(b, func(m []byte) error {
		mt := binary.NativeEndian.Uint16(m[4:6])
		if binary.NativeEndian.Uint32(m[8:12]) == seq && (mt == unix.NLMSG_DONE || mt == unix.NLMSG_ERROR) {
			end = true
		}
		return nil
	})
	return end
}
