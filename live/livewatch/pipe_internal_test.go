package livewatch

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pipeOut gives the watch a pipe of its own to write to: widened,
// non-blocking on its own file description (the one it was handed stays
// blocking), every byte delivered in order however slow the reader, and
// a reader gone reported as EPIPE.
func TestPipeOut(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if n, err := unix.FcntlInt(w.Fd(), unix.F_GETPIPE_SZ, 0); err != nil || n >= outPipeSize {
		t.Fatalf("a new pipe holds %d bytes (%v): the test would show nothing", n, err)
	}
	out, closeOut := pipeOut(w, log)
	defer closeOut()
	of, ok := out.(*os.File)
	if !ok || of == w {
		t.Fatalf("pipeOut(pipe) = %T %v, want a file of its own", out, out)
	}
	if n, err := unix.FcntlInt(w.Fd(), unix.F_GETPIPE_SZ, 0); err != nil || n < outPipeSize {
		t.Errorf("pipe size %d (%v), want at least %d", n, err, outPipeSize)
	}
	if fl, err := unix.FcntlInt(w.Fd(), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK != 0 {
		t.Errorf("the pipe handed over has flags %#x (%v): O_NONBLOCK set on a shared description", fl, err)
	}
	if fl, err := unix.FcntlInt(of.Fd(), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK == 0 {
		t.Errorf("the watch's own description has flags %#x (%v), want O_NONBLOCK", fl, err)
	}

	// Three pipes' worth, read slowly: the writes wait, none fails.
	want := bytes.Repeat([]byte("0123456789abcdef"), 3*outPipeSize/16)
	werr := make(chan error, 1)
	go func() {
		_, err := out.Write(want)
		werr <- err
	}()
	var got []byte
	buf := make([]byte, 256<<10)
	for len(got) < len(want) {
		time.Sleep(5 * time.Millisecond)
		n, err := r.Read(buf)
		if err != nil {
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:n]...)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, not the %d written in order", len(got), len(want))
	}

	r.Close()
	if _, err := out.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("write with the reader gone: %v, want EPIPE", err)
	}
}

// Anything but a pipe is written to as it is.
func TestPipeOutNotAPipe(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	f, err := os.Create(t.TempDir() + "/out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b bytes.Buffer
	for _, w := range []io.Writer{f, &b, io.Discard} {
		if got, _ := pipeOut(w, log); got != w {
			t.Errorf("pipeOut(%T) = %T, want it unchanged", w, got)
		}
	}
}
