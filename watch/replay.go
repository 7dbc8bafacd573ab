package watch

import (
	"context"
	"errors"
	"fmt"
	"io"

	"raceroute/iproute2"
	"raceroute/trace"
)

// DefaultShowSkipped is how many of the lines a replay skipped it passes
// to ReplayOptions.OnSkipped when ShowSkipped is 0.
const DefaultShowSkipped = 20

// ReplayOptions tune Replay.
type ReplayOptions struct {
	// Monitor tunes the reading of the log; Monitor.Name names it in
	// errors.
	Monitor iproute2.MonitorOptions
	// OnRecord, if set, receives every record before the detectors
	// observe it (a timeline of the trace draws them).
	OnRecord func(trace.Record)
	// OnFinding, if set, receives every finding as it is made; an error
	// from it ends the replay with that error.
	OnFinding func(Finding) error
	// OnSkipped, if set, receives the first ShowSkipped lines that could
	// not be read, in order; those before the first record only once a
	// record is read, so that a log without any gives Replay's error
	// alone.
	OnSkipped func(*iproute2.LineError)
	// ShowSkipped bounds the lines OnSkipped receives (DefaultShowSkipped
	// if 0).
	ShowSkipped int
}

// Summary tells what a replay read and found.
type Summary struct {
	Records  int // records replayed
	Lines    int // lines read
	Skipped  int // lines that could not be read, skipped
	Shown    int // of those, the lines passed to OnSkipped
	Findings int // findings made
}

// InputError is the error of a replay whose input is bad: a log that
// cannot be read to its end, or that holds no record at all.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *InputError) Unwrap() error { return e.Err }

// Replay runs the detectors of an Engine with configuration cfg over a
// recorded log (`ip monitor` in any of the forms iproute2.MonitorReader
// reads, or the output of raceroute watch), in order, and ends it with
// Engine.Flush: every pending check concludes as if the recording had
// gone on. Lines that cannot be read are counted and skipped. It stops
// early when ctx is done (returning ctx's error), when OnFinding fails,
// and with an *InputError when the log cannot be read or holds no
// record.
func Replay(ctx context.Context, log io.Reader, cfg Config, opts ReplayOptions) (Summary, error) {
	var s Summary
	show := opts.ShowSkipped
	if show <= 0 {
		show = DefaultShowSkipped
	}
	skipped := func(le *iproute2.LineError) {
		s.Shown++
		if opts.OnSkipped != nil {
			opts.OnSkipped(le)
		}
	}
	emit := func(fs []Finding) error {
		for _, f := range fs {
			s.Findings++
			if opts.OnFinding == nil {
				continue
			}
			if err := opts.OnFinding(f); err != nil {
				return err
			}
		}
		return nil
	}
	eng := NewEngine(cfg)
	mr := iproute2.NewMonitorReader(log, opts.Monitor)
	var held []*iproute2.LineError // skipped before the first record
	for {
		if s.Records%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return s, err
			}
		}
		rec, err := mr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var le *iproute2.LineError
		if errors.As(err, &le) {
			s.Skipped++
			switch {
			case s.Records == 0 && len(held) < show:
				held = append(held, le)
			case s.Records > 0 && s.Skipped <= show:
				skipped(le)
			}
			continue
		}
		if err != nil {
			return s, &InputError{err}
		}
		if s.Records == 0 {
			for _, le := range held {
				skipped(le)
			}
			held = nil
		}
		s.Records++
		if opts.OnRecord != nil {
			opts.OnRecord(rec)
		}
		if err := emit(eng.Observe(rec)); err != nil {
			return s, err
		}
	}
	s.Lines = mr.Lines()
	if s.Records == 0 {
		name := opts.Monitor.Name
		if name == "" {
			name = "the log"
		}
		return s, &InputError{noRecord(name, s.Lines, s.Skipped, held)}
	}
	return s, emit(eng.Flush())
}

// noRecord is the one error for a log without any record: empty, binary,
// or not a log of ip monitor or raceroute watch.
func noRecord(name string, lines, skipped int, first []*iproute2.LineError) error {
	switch {
	case lines == 0:
		return fmt.Errorf("%s is empty: no ip monitor or raceroute watch record to replay", name)
	case skipped == 0:
		return fmt.Errorf("%s: none of its %d lines is a route, neighbour, link, address, frame or overflow record", name, lines)
	}
	return fmt.Errorf("%s: no ip monitor or raceroute watch record in it: %d of its %d lines are malformed (binary data, or another format?); the first: %v",
		name, skipped, lines, first[0])
}
