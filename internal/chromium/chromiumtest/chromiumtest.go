// Package chromiumtest gives tests a headless Chromium, shared by the
// tests of a package and closed when they end, under the project's
// convention for what a test needs from the machine: without Chromium the
// test skips, but fails when RACEROUTE_REQUIRE_ROOT=1 says CI must run
// everything (scripts/install-deps.sh installs chromium).
package chromiumtest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"raceroute/internal/chromium"
)

var (
	mu      sync.Mutex
	browser *chromium.Browser
)

// Browser returns the package's browser, starting it on first use.
// Call Close from TestMain after m.Run.
func Browser(t testing.TB) *chromium.Browser {
	t.Helper()
	if _, err := chromium.Find(); err != nil {
		if os.Getenv("RACEROUTE_REQUIRE_ROOT") == "1" {
			t.Fatalf("this test needs Chromium (RACEROUTE_REQUIRE_ROOT=1 is set): %v", err)
		}
		t.Skip(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if browser == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		b, err := chromium.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		browser = b
	}
	return browser
}

// Close ends the browser, if one was started.
func Close() {
	mu.Lock()
	defer mu.Unlock()
	if browser != nil {
		browser.Close()
		browser = nil
	}
}

// Open writes page to a file of the test's temporary directory, opens it
// in a new tab of width x height and waits until the page says it is
// drawn (the attribute data-drawn of its root element, which raceroute's
// pages set after their first frame).
func Open(t testing.TB, page []byte, width, height int) *chromium.Page {
	t.Helper()
	b := Browser(t)
	path := filepath.Join(t.TempDir(), "page.html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := b.NewPage(ctx, width, height)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, "file://"+path); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, "document.documentElement.getAttribute('data-drawn')", nil); err != nil {
		t.Fatal(err)
	}
	return p
}
