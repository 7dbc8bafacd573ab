package keepalived

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"raceroute/live/netns"
)

// dirPrefix starts the name of every keepalived directory: its
// configuration, tracked file and pid files, in the temporary directory.
const dirPrefix = "raceroute-keepalived-"

// tempDir makes the directory of one keepalived, named
// raceroute-keepalived-<pid>-<start>-<random> after the process that
// runs it (pid and start time, netns.ProcessStart), so that Cleanup can
// tell the directories of killed runs from those of live ones.
func tempDir() (string, error) {
	pid := os.Getpid()
	start, err := netns.ProcessStart(pid)
	if err != nil {
		return "", err
	}
	return os.MkdirTemp("", fmt.Sprintf("%s%d-%s-", dirPrefix, pid, start))
}

// Cleanup removes the keepalived directories that killed runs left in
// the temporary directory (a run that ends removes its own, Peer.Stop):
// those whose process is gone, or whose pid now names another process.
// Directories of live runs, and names it did not make, are not touched.
// It returns the directories removed.
func Cleanup() ([]string, error) {
	return cleanupIn(os.TempDir())
}

func cleanupIn(tmp string) ([]string, error) {
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return nil, fmt.Errorf("keepalived cleanup: %w", err)
	}
	var removed []string
	var errs []error
	for _, e := range ents {
		pid, start, ok := owner(e.Name())
		if !ok || !e.IsDir() || netns.ProcessAlive(pid, start) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("keepalived cleanup: %w", err))
			continue
		}
		removed = append(removed, dir)
	}
	return removed, errors.Join(errs...)
}

// owner reads the pid and start time out of a directory name tempDir
// made: raceroute-keepalived-<pid>-<start>-<random>.
func owner(name string) (pid int, start string, ok bool) {
	rest, ok := strings.CutPrefix(name, dirPrefix)
	if !ok {
		return 0, "", false
	}
	f := strings.Split(rest, "-")
	if len(f) != 3 || f[1] == "" || f[2] == "" {
		return 0, "", false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return 0, "", false
	}
	if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
		return 0, "", false
	}
	return pid, f[1], true
}
