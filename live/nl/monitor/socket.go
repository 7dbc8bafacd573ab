package monitor

import (
	"context"
	"fmt"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/live/nl"
)

// The subscription's two seams, as jsimonetti/rtnetlink swaps its conn
// and mdlayher/netlink's nltest stands in for a socket: in production
// the kernel's sockets, in tests live/nl/internal/nlfake's scripted
// kernel, which needs no root.

// socket is what the reader needs of the multicast socket.
type socket interface {
	// Read calls fill with a non-blocking receive, and again each time
	// the socket becomes readable, until fill returns true. The receive
	// returns a datagram's length and when it was taken from the kernel,
	// unix.EAGAIN when the queue is empty and unix.ENOBUFS once after
	// the kernel dropped notifications. Read fails once the deadline has
	// passed or the socket is closed.
	Read(fill func(recv func(p []byte) (int, time.Time, error)) bool) error
	// SetDeadline makes a blocked or later Read fail once t has passed.
	SetDeadline(t time.Time) error
	Close() error
}

// dumper reads the tables, for the initial dump, resyncs, link checks
// and cache polls: an *nl.Dumper on the kernel's socket or on nltest's.
type dumper interface {
	Dump(ctx context.Context, t nl.Tables, prev *nl.View) (*nl.View, error)
	Retries() uint64
	SetDeadline(t time.Time) error
	Close() error
}

// rtnetlink multicast groups (RTNLGRP_*).
const (
	grpLink       = 1
	grpNeigh      = 3
	grpIPv4Ifaddr = 5
	grpIPv4Route  = 7
	grpIPv6Ifaddr = 9
	grpIPv6Route  = 11
)

// groups lists the rtnetlink groups a subscription with opts joins.
func groups(opts *nl.Options) []uint32 {
	g := []uint32{grpLink}
	if opts.Wants(4) {
		g = append(g, grpIPv4Ifaddr, grpIPv4Route)
	}
	if opts.Wants(6) {
		g = append(g, grpIPv6Ifaddr, grpIPv6Route)
	}
	return append(g, grpNeigh)
}

// netlinkSocket is the kernel's multicast socket. It receives with
// recvmmsg, up to mmsgSlots datagrams per system call (the kernel queues
// each notification as its own datagram, so recvfrom costs one call per
// event), into buffers allocated once, and hands them out one by one.
// The call is raw (no scheduler hand-off): MSG_DONTWAIT never blocks.
type netlinkSocket struct {
	c  *netlink.Conn
	rc syscall.RawConn
	mb *mmsgBuf
}

// mmsgSlots is how many datagrams one recvmmsg may return.
const mmsgSlots = 64

// mmsghdr is struct mmsghdr (include/linux/socket.h).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// mmsgBuf holds what one recvmmsg received and how much of it was
// handed out.
type mmsgBuf struct {
	hdrs      [mmsgSlots]mmsghdr
	iovs      [mmsgSlots]unix.Iovec
	bufs      [mmsgSlots][]byte
	got, next int
	t         time.Time // when the last recvmmsg returned
}

func newMmsgBuf() *mmsgBuf {
	mb := &mmsgBuf{}
	mem := make([]byte, mmsgSlots*maxDgram)
	for i := range mb.bufs {
		mb.bufs[i] = mem[i*maxDgram : (i+1)*maxDgram : (i+1)*maxDgram]
		mb.iovs[i].Base = &mb.bufs[i][0]
		mb.iovs[i].SetLen(maxDgram)
		mb.hdrs[i].hdr.Iov = &mb.iovs[i]
		mb.hdrs[i].hdr.SetIovlen(1)
	}
	return mb
}

// recv copies the next received datagram into p, receiving a new batch
// (non-blocking) when every one was handed out. A receive error comes
// only once the datagrams received before it are handed out: when
// recvmmsg meets an error after some datagrams, the kernel returns
// those and keeps the error in sk_err for the next call
// (__sys_recvmmsg, net/socket.c), so ENOBUFS keeps its place.
func (mb *mmsgBuf) recv(fd int, p []byte) (int, time.Time, error) {
	if mb.next == mb.got {
		mb.next, mb.got = 0, 0
		for i := range mb.hdrs {
			mb.hdrs[i].len = 0
		}
		n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&mb.hdrs[0])),
			mmsgSlots, unix.MSG_DONTWAIT, 0, 0)
		if e != 0 {
			return 0, time.Time{}, e
		}
		mb.got = int(n)
		if mb.got == 0 {
			return 0, time.Time{}, unix.EAGAIN
		}
		// One time for the datagrams of one call: all of them were
		// queued before it, and a clock read per datagram (a storm's
		// 600,000) was 4 % of the watch's CPU.
		mb.t = time.Now()
	}
	i := mb.next
	mb.next++
	return copy(p, mb.bufs[i][:mb.hdrs[i].len]), mb.t, nil
}

func newNetlinkSocket(c *netlink.Conn) (netlinkSocket, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return netlinkSocket{}, fmt.Errorf("receive: %w", err)
	}
	return netlinkSocket{c: c, rc: rc, mb: newMmsgBuf()}, nil
}

func (s netlinkSocket) Read(fill func(recv func(p []byte) (int, time.Time, error)) bool) error {
	return s.rc.Read(func(fd uintptr) bool {
		return fill(func(p []byte) (int, time.Time, error) { return s.mb.recv(int(fd), p) })
	})
}

func (s netlinkSocket) SetDeadline(t time.Time) error { return s.c.SetDeadline(t) }

func (s netlinkSocket) Close() error { return s.c.Close() }
