// Package chromium drives a headless Chromium (Debian's chromium
// package) over the DevTools protocol, for the tests and benchmarks of
// raceroute's HTML pages: open a local file, evaluate JavaScript in it,
// take a screenshot.
//
// The protocol runs over a pipe (--remote-debugging-pipe: the browser
// reads commands on its fd 3 and writes replies and events on fd 4, each
// message JSON ended by a NUL byte), so no port is opened and nothing but
// this process can talk to the browser. The browser runs with a fresh
// profile directory, no network services (background networking,
// component updates, sync) and no GPU, and is killed with its directory
// removed on Close.
package chromium

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Names are the executables Find looks for, in order.
var Names = []string{"chromium", "chromium-browser"}

// Find returns the path of the Chromium executable.
func Find() (string, error) {
	for _, n := range Names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("chromium: none of %v on PATH (Debian: apt-get install chromium; scripts/install-deps.sh installs it)", Names)
}

// Flags are the command-line flags every browser starts with.
var Flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
	"--disable-extensions", "--mute-audio", "--hide-scrollbars", "--remote-debugging-pipe",
}

// Browser is a running headless Chromium.
type Browser struct {
	cmd     *exec.Cmd
	dir     string
	version string
	in      *os.File // our end of the browser's fd 3
	out     *os.File // our end of the browser's fd 4
	stderr  *tail
	mu      sync.Mutex
	next    int64
	pending map[int64]chan reply
	events  map[string][]chan event // by session, then filtered by method
	done    chan struct{}
	readErr error
}

type reply struct {
	Result json.RawMessage
	Err    error
}

type event struct {
	Method string
	Params json.RawMessage
}

// Start launches the browser.
func Start(ctx context.Context) (*Browser, error) {
	path, err := Find()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "raceroute-chromium-")
	if err != nil {
		return nil, fmt.Errorf("chromium: profile directory: %w", err)
	}
	cmdR, cmdW, err := os.Pipe() // browser reads commands from cmdR (its fd 3)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("chromium: pipe: %w", err)
	}
	outR, outW, err := os.Pipe() // browser writes to outW (its fd 4)
	if err != nil {
		cmdR.Close()
		cmdW.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("chromium: pipe: %w", err)
	}
	args := append(append([]string{}, Flags...), "--user-data-dir="+dir, "about:blank")
	cmd := exec.Command(path, args...)
	cmd.ExtraFiles = []*os.File{cmdR, outW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	b := &Browser{cmd: cmd, dir: dir, in: cmdW, out: outR, stderr: &tail{max: 4096},
		pending: map[int64]chan reply{}, events: map[string][]chan event{}, done: make(chan struct{})}
	cmd.Stderr = b.stderr
	if err := cmd.Start(); err != nil {
		cmdR.Close()
		cmdW.Close()
		outR.Close()
		outW.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("chromium: start %s: %w", path, err)
	}
	cmdR.Close()
	outW.Close()
	go b.read()
	// The browser answers once it is up.
	res, err := b.call(ctx, "", "Browser.getVersion", nil)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("chromium: not answering: %w (stderr: %s)", err, b.stderr.String())
	}
	var v struct {
		Product string `json:"product"`
	}
	_ = json.Unmarshal(res, &v)
	b.version = v.Product
	return b, nil
}

// Version is the browser's product and version ("HeadlessChrome/156...").
func (b *Browser) Version() string { return b.version }

// Close ends the browser and removes its profile directory.
func (b *Browser) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, _ = b.call(ctx, "", "Browser.close", nil)
	cancel()
	b.in.Close()
	exited := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(3 * time.Second):
		// The launcher script's children share its process group.
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	b.out.Close()
	return os.RemoveAll(b.dir)
}

// read dispatches the browser's messages until its pipe closes.
func (b *Browser) read() {
	r := bufio.NewReader(b.out)
	var err error
	for {
		var msg []byte
		msg, err = r.ReadBytes(0)
		if err != nil {
			break
		}
		var m struct {
			ID        int64           `json:"id"`
			SessionID string          `json:"sessionId"`
			Method    string          `json:"method"`
			Params    json.RawMessage `json:"params"`
			Result    json.RawMessage `json:"result"`
			Error     *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if jerr := json.Unmarshal(msg[:len(msg)-1], &m); jerr != nil {
			err = fmt.Errorf("chromium: bad message %.200q: %w", msg, jerr)
			break
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch, ok := b.pending[m.ID]; ok {
				delete(b.pending, m.ID)
				rp := reply{Result: m.Result}
				if m.Error != nil {
					rp.Err = fmt.Errorf("chromium: %s (code %d)", m.Error.Message, m.Error.Code)
				}
				ch <- rp
			}
		} else if m.Method != "" {
			for _, ch := range b.events[m.SessionID] {
				select {
				case ch <- event{Method: m.Method, Params: m.Params}:
				default: // a listener that does not keep up misses events
				}
			}
		}
		b.mu.Unlock()
	}
	b.mu.Lock()
	b.readErr = err
	for id, ch := range b.pending {
		ch <- reply{Err: fmt.Errorf("chromium: the browser went away: %w", err)}
		delete(b.pending, id)
	}
	b.mu.Unlock()
	close(b.done)
}

// call sends one command and waits for its reply.
func (b *Browser) call(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	if b.readErr != nil {
		err := b.readErr
		b.mu.Unlock()
		return nil, fmt.Errorf("chromium: the browser went away: %w", err)
	}
	b.next++
	id := b.next
	ch := make(chan reply, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("chromium: %s: %w", method, err)
	}
	if _, err := b.in.Write(append(data, 0)); err != nil {
		return nil, fmt.Errorf("chromium: %s: %w", method, err)
	}
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, fmt.Errorf("%s: %w", method, r.Err)
		}
		return r.Result, nil
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
		return nil, fmt.Errorf("chromium: %s: %w", method, ctx.Err())
	}
}

// Page is one tab.
type Page struct {
	b       *Browser
	session string
	target  string
	events  chan event
}

// NewPage opens a tab of width x height CSS pixels.
func (b *Browser) NewPage(ctx context.Context, width, height int) (*Page, error) {
	res, err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"})
	if err != nil {
		return nil, err
	}
	var t struct {
		TargetID string `json:"targetId"`
	}
	if err := json.Unmarshal(res, &t); err != nil {
		return nil, fmt.Errorf("chromium: createTarget: %w", err)
	}
	res, err = b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": t.TargetID, "flatten": true})
	if err != nil {
		return nil, err
	}
	var s struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(res, &s); err != nil {
		return nil, fmt.Errorf("chromium: attachToTarget: %w", err)
	}
	p := &Page{b: b, session: s.SessionID, target: t.TargetID, events: make(chan event, 256)}
	b.mu.Lock()
	b.events[p.session] = append(b.events[p.session], p.events)
	b.mu.Unlock()
	for _, m := range []string{"Page.enable", "Runtime.enable"} {
		if _, err := b.call(ctx, p.session, m, nil); err != nil {
			return nil, err
		}
	}
	if _, err := b.call(ctx, p.session, "Emulation.setDeviceMetricsOverride",
		map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}); err != nil {
		return nil, err
	}
	return p, nil
}

// Close closes the tab.
func (p *Page) Close(ctx context.Context) error {
	p.b.mu.Lock()
	delete(p.b.events, p.session)
	p.b.mu.Unlock()
	_, err := p.b.call(ctx, "", "Target.detachFromTarget", map[string]any{"sessionId": p.session})
	if err != nil {
		return err
	}
	_, err = p.b.call(ctx, "", "Target.closeTarget", map[string]any{"targetId": p.target})
	return err
}

// Navigate loads url and waits for its load event. It returns what the
// page logged as errors (uncaught exceptions) before then.
func (p *Page) Navigate(ctx context.Context, url string) error {
	for len(p.events) > 0 {
		<-p.events
	}
	res, err := p.b.call(ctx, p.session, "Page.navigate", map[string]any{"url": url})
	if err != nil {
		return err
	}
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := json.Unmarshal(res, &nav); err == nil && nav.ErrorText != "" {
		return fmt.Errorf("chromium: navigate %s: %s", url, nav.ErrorText)
	}
	for {
		select {
		case ev := <-p.events:
			switch ev.Method {
			case "Page.loadEventFired":
				return nil
			case "Runtime.exceptionThrown":
				return fmt.Errorf("chromium: %s: uncaught exception: %s", url, ev.Params)
			}
		case <-p.b.done:
			return errors.New("chromium: the browser went away while loading " + url)
		case <-ctx.Done():
			return fmt.Errorf("chromium: navigate %s: %w", url, ctx.Err())
		}
	}
}

// Eval evaluates a JavaScript expression in the page, awaiting it if it
// is a promise, and decodes its JSON value into out (if not nil).
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	res, err := p.b.call(ctx, p.session, "Runtime.evaluate",
		map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true})
	if err != nil {
		return err
	}
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return fmt.Errorf("chromium: evaluate: %w", err)
	}
	if r.ExceptionDetails != nil {
		return fmt.Errorf("chromium: evaluate: %s %s", r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(r.Result.Value, out); err != nil {
		return fmt.Errorf("chromium: evaluate: value %.200s: %w", r.Result.Value, err)
	}
	return nil
}

// WaitFor evaluates expr until it is truthy (polling each frame) and
// decodes that value into out (if not nil).
func (p *Page) WaitFor(ctx context.Context, expr string, out any) error {
	js := `new Promise(function (ok) { (function poll() { var v = (` + expr + `); if (v) ok(v); else requestAnimationFrame(poll); })(); })`
	return p.Eval(ctx, js, out)
}

// Screenshot returns a PNG of the whole page (beyond the viewport), or of
// the viewport only.
func (p *Page) Screenshot(ctx context.Context, fullPage bool) ([]byte, error) {
	params := map[string]any{"format": "png"}
	if fullPage {
		var size struct{ W, H float64 }
		if err := p.Eval(ctx, "({W: document.documentElement.scrollWidth, H: document.documentElement.scrollHeight})", &size); err != nil {
			return nil, err
		}
		params["captureBeyondViewport"] = true
		params["clip"] = map[string]any{"x": 0, "y": 0, "width": size.W, "height": size.H, "scale": 1}
	}
	res, err := p.b.call(ctx, p.session, "Page.captureScreenshot", params)
	if err != nil {
		return nil, err
	}
	var r struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return nil, fmt.Errorf("chromium: screenshot: %w", err)
	}
	return base64.StdEncoding.DecodeString(r.Data)
}

// tail keeps the last max bytes written to it (the browser's stderr, for
// errors).
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

var _ io.Writer = (*tail)(nil)
