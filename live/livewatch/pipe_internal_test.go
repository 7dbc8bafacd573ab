package livewatch

import (
	"log/slog"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// growPipe widens a pipe the watch writes to.
func TestGrowPipe(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	before, err := unix.FcntlInt(w.Fd(), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatal(err)
	}
	if before >= outPipeSize {
		t.Fatalf("a new pipe holds %d bytes already: the test shows nothing", before)
	}
	growPipe(w, log)
	if got, err := unix.FcntlInt(w.Fd(), unix.F_GETPIPE_SZ, 0); err != nil || got < outPipeSize {
		t.Errorf("pipe size after growPipe %d (%v), want at least %d", got, err, outPipeSize)
	}

}
