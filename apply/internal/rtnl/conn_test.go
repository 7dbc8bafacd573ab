package rtnl

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeKernel answers each request of a batch with an acknowledgement
// built as netlink_ack() builds one with NETLINK_CAP_ACK and
// NETLINK_EXT_ACK, unless answer says otherwise.
type fakeKernel struct {
	// answer decides, per request (by its index over the whole run),
	// the errno (0: ACK) and extended-ACK text; drop loses it; seqDelta
	// sends it with a wrong sequence number; twice sends it twice.
	answer  func(i int) (errno syscall.Errno, msg string, drop bool, seqDelta uint32, twice bool)
	enobufs bool // the next receive fails with ENOBUFS
	n       int
	sends   []int // requests per send
	queue   [][]byte
}

func (k *fakeKernel) send(b []byte) error {
	count := 0
	err := messages(b, func(m []byte) error {
		count++
		seq := binary.NativeEndian.Uint32(m[8:12])
		flags := binary.NativeEndian.Uint16(m[6:8])
		if flags&unix.NLM_F_ACK == 0 || flags&unix.NLM_F_REQUEST == 0 {
			return errors.New("a request without NLM_F_REQUEST|NLM_F_ACK")
		}
		var errno syscall.Errno
		var msg string
		var drop, twice bool
		var delta uint32
		if k.answer != nil {
			errno, msg, drop, delta, twice = k.answer(k.n)
		}
		k.n++
		if drop {
			return nil
		}
		a := buildAck(m[:hdrLen], seq+delta, errno, msg)
		k.queue = append(k.queue, a)
		if twice {
			k.queue = append(k.queue, a)
		}
		return nil
	})
	k.sends = append(k.sends, count)
	return err
}

func buildAck(req []byte, seq uint32, errno syscall.Errno, msg string) []byte {
	var flags uint16 = unix.NLM_F_CAPPED
	body := binary.NativeEndian.AppendUint32(nil, uint32(-int32(errno)))
	echo := append([]byte(nil), req...)
	binary.NativeEndian.PutUint32(echo[8:12], seq)
	body = append(body, echo...)
	if msg != "" {
		flags |= unix.NLM_F_ACK_TLVS
		body = appendAttr(body, nlmsgerrAttrMsg, append([]byte(msg), 0))
	}
	a := make([]byte, hdrLen, hdrLen+len(body))
	putHeader(a, hdrLen+len(body), unix.NLMSG_ERROR, flags, seq, 1)
	return append(a, body...)
}

func (k *fakeKernel) recv(bufs [][]byte, lens []int, _ time.Duration) (int, error) {
	if k.enobufs {
		k.enobufs = false
		return 0, unix.ENOBUFS
	}
	n := 0
	for n < len(bufs) && len(k.queue) > 0 {
		lens[n] = copy(bufs[n], k.queue[0])
		k.queue = k.queue[1:]
		n++
	}
	return n, nil
}

func (k *fakeKernel) close() error { return nil }

func requests(n int) []Request {
	out := make([]Request, n)
	for i := range out {
		out[i] = Request{Type: unix.RTM_NEWROUTE, Flags: unix.NLM_F_CREATE | unix.NLM_F_REPLACE, Body: make([]byte, rtmsgLen)}
	}
	return out
}

func TestExchangeChecksEveryAck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int
		rcvbuf  int
		answer  func(i int) (syscall.Errno, string, bool, uint32, bool)
		enobufs bool
		// wantErr is a fragment of Exchange's error ("" for none);
		// refused are the indices refused, unknown those without answer.
		wantErr string
		refused map[int]string
		unknown []int
		sends   []int
	}{
		{name: "all acknowledged", n: 1200, rcvbuf: 512 * ackTruesize, sends: []int{512, 512, 176}},
		{name: "refusals keep their text", n: 5, rcvbuf: 1 << 20,
			answer: func(i int) (syscall.Errno, string, bool, uint32, bool) {
				if i == 1 {
					return unix.EEXIST, "File exists", false, 0, false
				}
				if i == 3 {
					return unix.ENODEV, "Nexthop device is not up", false, 0, false
				}
				return 0, "", false, 0, false
			},
			refused: map[int]string{1: "file exists (kernel: File exists)", 3: "no such device (kernel: Nexthop device is not up)"}, sends: []int{5}},
		{name: "batch bounded by the receive buffer", n: 10, rcvbuf: 4 * ackTruesize, sends: []int{4, 4, 2}},
		{name: "a lost acknowledgement", n: 4, rcvbuf: 1 << 20,
			answer:  func(i int) (syscall.Errno, string, bool, uint32, bool) { return 0, "", i == 2, 0, false },
			wantErr: "no acknowledgement within", unknown: []int{2}, sends: []int{4}},
		{name: "an acknowledgement of another sequence", n: 3, rcvbuf: 1 << 20,
			answer: func(i int) (syscall.Errno, string, bool, uint32, bool) {
				if i == 0 {
					return 0, "", false, 100, false
				}
				return 0, "", false, 0, false
			},
			wantErr: "not a request of this batch", unknown: []int{0, 1, 2}, sends: []int{3}},
		{name: "a duplicate acknowledgement", n: 3, rcvbuf: 1 << 20,
			answer:  func(i int) (syscall.Errno, string, bool, uint32, bool) { return 0, "", false, 0, i == 0 },
			wantErr: "a second acknowledgement of sequence 1", unknown: []int{1, 2}, sends: []int{3}},
		{name: "receive buffer overrun", n: 3, rcvbuf: 1 << 20, enobufs: true,
			wantErr: "dropped acknowledgements", unknown: []int{0, 1, 2}, sends: []int{3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &fakeKernel{answer: tc.answer, enobufs: tc.enobufs}
			c := newConn(k, 1, tc.rcvbuf, 1<<20)
			c.AckWait = 400 * time.Millisecond
			res, err := c.Exchange(context.Background(), requests(tc.n), 0, nil)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("error %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want one with %q", err, tc.wantErr)
			}
			for i, r := range res {
				switch {
				case tc.refused[i] != "":
					var ke *KernelError
					if !errors.As(r, &ke) || !strings.EqualFold(ke.Error(), tc.refused[i]) {
						t.Errorf("request %d: %v, want %q", i, r, tc.refused[i])
					}
				case contains(tc.unknown, i):
					if !errors.Is(r, ErrNoAnswer) {
						t.Errorf("request %d: %v, want no answer", i, r)
					}
				default:
					if r != nil {
						t.Errorf("request %d: %v, want acknowledged", i, r)
					}
				}
			}
			if len(k.sends) != len(tc.sends) {
				t.Fatalf("sends %v, want %v", k.sends, tc.sends)
			}
			for i := range k.sends {
				if k.sends[i] != tc.sends[i] {
					t.Fatalf("sends %v, want %v", k.sends, tc.sends)
				}
			}
		})
	}
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// A failed batch stops the exchange: later batches are not sent.
func TestExchangeStopsAfterFailedBatch(t *testing.T) {
	k := &fakeKernel{answer: func(i int) (syscall.Errno, string, bool, uint32, bool) { return 0, "", i == 1, 0, false }}
	c := newConn(k, 1, 2*ackTruesize, 1<<20)
	c.AckWait = 200 * time.Millisecond
	res, err := c.Exchange(context.Background(), requests(6), 0, nil)
	if err == nil || len(k.sends) != 1 {
		t.Fatalf("err %v after %d sends; want an error after the first", err, len(k.sends))
	}
	if res[0] != nil {
		t.Fatalf("request 0: %v", res[0])
	}
	for i := 1; i < 6; i++ {
		if !errors.Is(res[i], ErrNoAnswer) {
			t.Fatalf("request %d: %v, want no answer", i, res[i])
		}
	}
}

func TestParseAckRejectsOtherMessages(t *testing.T) {
	m := make([]byte, hdrLen+rtmsgLen)
	putHeader(m, len(m), unix.RTM_NEWROUTE, 0, 7, 0)
	if _, err := parseAck(m); !errors.Is(err, errNotAck) {
		t.Fatalf("route message parsed as an ack: %v", err)
	}
	// the echoed header must be the request's
	a := buildAck(m[:hdrLen], 7, 0, "")
	binary.NativeEndian.PutUint32(a[hdrLen+4+8:], 8)
	if _, err := parseAck(a); err == nil || !strings.Contains(err.Error(), "echoes a request of sequence 8") {
		t.Fatalf("mismatched echo: %v", err)
	}
}

// dumpKernel answers a dump request with the datagrams of answer, their
// sequence numbers set to the request's.
type dumpKernel struct {
	answer [][]byte
	queue  [][]byte
}

func (k *dumpKernel) send(b []byte) error {
	seq := binary.NativeEndian.Uint32(b[8:12])
	for _, d := range k.answer {
		d = append([]byte(nil), d...)
		messages(d, func(m []byte) error {
			binary.NativeEndian.PutUint32(m[8:12], seq)
			return nil
		})
		k.queue = append(k.queue, d)
	}
	return nil
}

func (k *dumpKernel) recv(bufs [][]byte, lens []int, _ time.Duration) (int, error) {
	n := 0
	for n < len(bufs) && len(k.queue) > 0 {
		lens[n] = copy(bufs[n], k.queue[0])
		k.queue = k.queue[1:]
		n++
	}
	return n, nil
}

func (k *dumpKernel) close() error { return nil }

// msg is a netlink message of type typ with flags and a 4-byte body v.
func msg(typ, flags uint16, v uint32) []byte {
	m := make([]byte, hdrLen+4)
	putHeader(m, len(m), typ, flags, 0, 0)
	binary.NativeEndian.PutUint32(m[hdrLen:], v)
	return m
}

// A dump's answer in many datagrams reaches fn whole and in order while
// the next datagrams are received; the kernel's marks and errors are
// told; and the socket is the Conn's again when Dump returns.
func TestDump(t *testing.T) {
	var long [][]byte
	var want []uint32
	for d := 0; d < 40; d++ {
		var dg []byte
		for i := 0; i < 3; i++ {
			v := uint32(d*3 + i)
			dg = append(dg, msg(unix.RTM_NEWROUTE, unix.NLM_F_MULTI, v)...)
			want = append(want, v)
		}
		long = append(long, dg)
	}
	code := -int32(unix.EMSGSIZE)
	errno := uint32(code)
	for _, tc := range []struct {
		name   string
		answer [][]byte
		want   []uint32
		err    error
	}{
		{"many datagrams", append(long, msg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 0)), want, nil},
		{"done in the last datagram", [][]byte{append(msg(unix.RTM_NEWROUTE, unix.NLM_F_MULTI, 7), msg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 0)...)}, []uint32{7}, nil},
		{"interrupted", [][]byte{msg(unix.RTM_NEWROUTE, unix.NLM_F_MULTI|unix.NLM_F_DUMP_INTR, 1), msg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 0)}, []uint32{1}, ErrInterrupted},
		{"the dump's error", [][]byte{msg(unix.RTM_NEWROUTE, unix.NLM_F_MULTI, 1), msg(unix.NLMSG_DONE, unix.NLM_F_MULTI, errno)}, []uint32{1}, unix.EMSGSIZE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &dumpKernel{answer: tc.answer}
			c := newConn(k, 1, 1<<20, 1<<20)
			c.AckWait = time.Second
			var got []uint32
			err := c.Dump(context.Background(), unix.RTM_GETROUTE, make([]byte, rtmsgLen), func(typ uint16, b []byte) error {
				got = append(got, binary.NativeEndian.Uint32(b))
				return nil
			})
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("Dump: %v, want %v", err, tc.err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("fn saw %d messages, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("message %d is %d, want %d", i, got[i], tc.want[i])
				}
			}
			if len(k.queue) != 0 {
				t.Fatalf("%d datagrams left unread", len(k.queue))
			}
		})
	}
	// No answer at all: Dump gives up after AckWait.
	c := newConn(&dumpKernel{}, 1, 1<<20, 1<<20)
	c.AckWait = 400 * time.Millisecond
	if err := c.Dump(context.Background(), unix.RTM_GETROUTE, make([]byte, rtmsgLen), func(uint16, []byte) error { return nil }); err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Fatalf("Dump without an answer: %v", err)
	}
}
