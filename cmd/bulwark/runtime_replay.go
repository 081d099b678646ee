package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/bulwarkdev/bulwark/internal/ingest"

	"github.com/spf13/cobra"

	"github.com/bulwarkdev/bulwark/internal/alert"
	"github.com/bulwarkdev/bulwark/internal/blindspot"
	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/source/replay"
	"github.com/bulwarkdev/bulwark/internal/watch"

	"github.com/bulwarkdev/bulwark/internal/atomicfile"
	"github.com/bulwarkdev/bulwark/internal/text"
)

type replayFlags struct {
	srv      serverFlags
	collect  func(model.Alert) // --server: every alert written is also sent
	format   string
	output   string
	cluster  string
	window   time.Duration
	exitCode int
	summary  string
}

// newRuntimeReplayCmd is `bulwark runtime replay`: recorded events through
// the engine and the aggregator, on event time, so a replay raises what the
// live stream raised.
func newRuntimeReplayCmd(g *globalFlags, rf *runtimeFlags) *cobra.Command {
	f := &replayFlags{}
	c := &cobra.Command{
		Use:   "replay FILE…|-",
		Short: "Evaluate recorded events (audit JSON lines or EventLists, Falco JSON, auditd lines, Bulwark events) and print the alerts",
		Long: `Evaluate recorded events and print the alerts they raise.

Each line is recognised on its own: a Kubernetes audit Event or EventList, a
Falco JSON alert, a Linux audit (auditd) record, or a Bulwark event. Repeats of
one alert type on one resource within --window of event time are aggregated:
every alert is printed once, with its final count. A malformed line is counted,
logged and skipped. A summary goes to stderr.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{errors.New("replay: name at least one file (or - for stdin)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.format != "table" && f.format != "json" {
				return &usageError{fmt.Errorf("--format %q: want table or json", f.format)}
			}
			return runReplay(cmd.Context(), g, rf, f, args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.Flags().StringVar(&f.format, "format", "table", "output format: table or json (JSON lines, one alert per line)")
	c.Flags().StringVarP(&f.output, "output", "o", "", "write the alerts to this file instead of stdout")
	c.Flags().StringVar(&f.cluster, "cluster", "", "cluster name put on audit events that carry none")
	c.Flags().DurationVar(&f.window, "window", 10*time.Minute, "aggregation window: repeats of one (type, resource) within it make one alert")
	c.Flags().IntVar(&f.exitCode, "exit-code", 0, "exit with this code when any alert fired (0: always exit 0)")
	f.srv.register(c)
	c.Flags().StringVar(&f.summary, "summary", "", "write the summary as JSON to this file (counts, and the rules the events left blind)")
	return c
}

// replaySummary is what a replay read and raised, and which rules the
// recorded events could not let fire.
type replaySummary struct {
	Files      int                   `json:"files"`
	Events     uint64                `json:"events"`
	Malformed  uint64                `json:"malformed"`
	Duplicates uint64                `json:"duplicates"`
	Alerts     int                   `json:"alerts"`
	Blind      []blindspot.Blindness `json:"blind"`
}

func runReplay(ctx context.Context, g *globalFlags, rf *runtimeFlags, f *replayFlags, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	eng, err := runtime.New(ctx, rf.options(g))
	if err != nil {
		return err
	}
	// The output file appears only whole (atomicfile); stdout's write
	// errors are checked; the table escapes control characters from the
	// events (JSON lines stay exact).
	var out io.Writer
	var finish func() error
	if f.output != "" && f.output != "-" {
		fh, err := atomicfile.Create(f.output, 0o644)
		if err != nil {
			return fmt.Errorf("creating alert output %s: %w", f.output, err)
		}
		defer fh.Abort()
		out, finish = fh, fh.Commit
	} else {
		cw := &atomicfile.CheckedWriter{W: stdout}
		out, finish = cw, cw.Err
	}
	var tw *text.TerminalWriter
	if f.format == "table" {
		tw = text.NewTerminalWriter(out, false)
		out = tw
	}
	open := func(name string) (io.Reader, func() error, error) {
		if name == "-" {
			return stdin, func() error { return nil }, nil
		}
		fh, err := os.Open(name)
		if err != nil {
			return nil, nil, fmt.Errorf("opening recorded events %s: %w", name, err)
		}
		return fh, fh.Close, nil
	}
	sc, err := f.srv.client()
	if err != nil {
		return err
	}
	// The server keeps the latest document per alert id: only the last of
	// each is sent, in batches.
	latest := map[string]int{}
	var toSend []model.Alert
	if sc != nil {
		f.collect = func(a model.Alert) {
			if i, ok := latest[a.ID]; ok {
				toSend[i] = a
				return
			}
			latest[a.ID] = len(toSend)
			toSend = append(toSend, a)
		}
	}
	defer replayGC()()
	sum, err := replayEvents(ctx, eng, g.logger, f, args, open, out)
	if err != nil {
		return err
	}
	for start := 0; start < len(toSend); start += 1000 {
		batch := toSend[start:min(start+1000, len(toSend))]
		if err := f.srv.send(ctx, stderr, sc, ingest.KindAlerts, batch); err != nil {
			return err
		}
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("writing alerts: %w", err)
		}
	}
	if err := finish(); err != nil {
		return fmt.Errorf("writing alert output: %w", err)
	}
	// The counts stay the last line (scripts read it); what could not
	// fire comes just before.
	writeBlindSummary(stderr, sum.Blind)
	blind := ""
	if n := len(blindRules(sum.Blind)); n > 0 {
		blind = fmt.Sprintf(", %d rules blind", n)
	}
	fmt.Fprintf(stderr, "replay: %d file(s), %d events, %d malformed, %d duplicates, %d alerts%s\n",
		sum.Files, sum.Events, sum.Malformed, sum.Duplicates, sum.Alerts, blind)
	if f.summary != "" {
		if sum.Blind == nil {
			sum.Blind = []blindspot.Blindness{}
		}
		err := atomicfile.Write(f.summary, 0o644, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(sum)
		})
		if err != nil {
			return fmt.Errorf("writing the replay summary: %w", err)
		}
	}
	if sum.Alerts > 0 && f.exitCode != 0 {
		return &exitError{code: f.exitCode}
	}
	return nil
}

// replayEvents evaluates the named inputs in order and writes the alerts
// to out in f.format.
func replayEvents(ctx context.Context, eng *runtime.Engine, log *slog.Logger, f *replayFlags, names []string,
	open func(name string) (io.Reader, func() error, error), out io.Writer) (replaySummary, error) {
	w := newAlertWriter(ctx, out, f.format)
	write := w.write
	if f.collect != nil {
		write = func(a model.Alert) error { f.collect(a); return w.write(a) }
	}
	held := &replayOutput{window: f.window, max: replayMaxHeld, write: write}
	agg := alert.NewAggregator(alert.AggregatorOptions{Window: f.window, MaxOpen: replayMaxHeld, Logger: log}, held)
	p := watch.NewPipeline(eng, agg, log)
	p.Observer = blindspot.NewObserver(eng.Rules(), nil)

	// Every few thousand events, alerts whose window has closed (on event
	// time) are final: they are written and forgotten, so memory stays
	// bounded however long the recording.
	var latest time.Time
	var n uint64
	emit := func(ev *event.Event) {
		if ev != nil && ev.Time.After(latest) {
			latest = ev.Time
		}
		p.Handle(ev)
		if n++; n%4096 == 0 {
			if err := agg.Flush(ctx); err != nil {
				log.Error("flushing alert aggregates", "err", err)
			}
			held.flushBefore(latest)
		}
	}

	var sum replaySummary
	for _, name := range names {
		r, closeFn, err := open(name)
		if err != nil {
			return sum, err
		}
		st, err := replay.Read(ctx, r, emit, replay.Options{Cluster: f.cluster, Logger: log.With("file", name)})
		closeFn()
		sum.Events += st.Events
		sum.Malformed += st.Malformed
		sum.Files++
		if err != nil {
			return sum, fmt.Errorf("replaying %s: %w", name, err)
		}
	}
	if err := agg.Drain(context.WithoutCancel(ctx)); err != nil {
		return sum, fmt.Errorf("aggregating alerts: %w", err)
	}
	held.flushAll()
	sum.Alerts = held.alerts
	sum.Duplicates = p.Duplicates()
	sum.Blind = p.Observer.List()
	return sum, errors.Join(held.err, w.close())
}

// replayMaxHeld bounds the alerts a replay holds (and the aggregator keeps
// open) at once.
const replayMaxHeld = 10000

// replayOutput is the aggregator's sink in a replay: it holds each alert
// (an update replaces its first firing) until its window has closed, then
// writes its final state once. Alerts are written in first-seen order.
type replayOutput struct {
	window time.Duration
	max    int // beyond this many held, the oldest is written early
	write  func(model.Alert) error

	mu      sync.Mutex
	order   []string // held ids by first firing
	byID    map[string]model.Alert
	written map[string]bool // ids written early, whose update may still come
	alerts  int
	err     error
}

func (o *replayOutput) Send(_ context.Context, a model.Alert) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.byID == nil {
		o.byID = map[string]model.Alert{}
	}
	if _, ok := o.byID[a.ID]; !ok {
		o.order = append(o.order, a.ID)
		if !o.written[a.ID] {
			o.alerts++
		}
	}
	o.byID[a.ID] = a
	for len(o.order) > o.max {
		o.popLocked(true)
	}
	return nil
}

func (o *replayOutput) Close() error { return nil }

func blindRules(bs []blindspot.Blindness) []string {
	var ids []string
	for _, b := range bs {
		if len(ids) == 0 || ids[len(ids)-1] != b.Rule {
			ids = append(ids, b.Rule)
		}
	}
	return ids
}

// writeBlindSummary says, after the counts, which rules the recorded
// events could not let fire: a replay that raised few alerts because its
// log holds no request bodies must not read as a quiet one.
func writeBlindSummary(w io.Writer, bs []blindspot.Blindness) {
	if len(bs) == 0 {
		return
	}
	byRule := map[string][]string{}
	var order []string
	for _, b := range bs {
		if _, ok := byRule[b.Rule]; !ok {
			order = append(order, b.Rule)
		}
		byRule[b.Rule] = append(byRule[b.Rule], b.Reason)
	}
	fmt.Fprintf(w, "replay: %d rules could not fire on these events (see `bulwark runtime audit-policy`):\n", len(order))
	for _, r := range order {
		reasons := byRule[r]
		more := ""
		if len(reasons) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(reasons)-1)
		}
		fmt.Fprintf(w, "  %s: %s%s\n", r, termSafe(reasons[0]), more)
	}
}

func (o *replayOutput) popLocked(early bool) {
	id := o.order[0]
	o.order = o.order[1:]
	a := o.byID[id]
	delete(o.byID, id)
	if early {
		if o.written == nil {
			o.written = map[string]bool{}
		}
		o.written[id] = true
	}
	if err := o.write(a); err != nil && o.err == nil {
		o.err = err
	}
}

// flushBefore writes the held alerts whose window ended by t.
func (o *replayOutput) flushBefore(t time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for len(o.order) > 0 && !o.byID[o.order[0]].FirstSeen.Add(o.window).After(t) {
		o.popLocked(false)
	}
}

// flushAll writes what is still held, by first seen, then type and
// resource.
func (o *replayOutput) flushAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	sort.SliceStable(o.order, func(i, j int) bool {
		a, b := o.byID[o.order[i]], o.byID[o.order[j]]
		if !a.FirstSeen.Equal(b.FirstSeen) {
			return a.FirstSeen.Before(b.FirstSeen)
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Resource.ID < b.Resource.ID
	})
	for len(o.order) > 0 {
		o.popLocked(false)
	}
}

// alertWriter prints alerts as JSON lines (the live outputs' document) or
// as a table.
type alertWriter struct {
	ctx   context.Context
	jsonl alert.Sink
	tw    *tabwriter.Writer
}

func newAlertWriter(ctx context.Context, w io.Writer, format string) *alertWriter {
	if format == "json" {
		return &alertWriter{ctx: ctx, jsonl: alert.NewJSONLines(w)}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tSEVERITY\tRESOURCE\tCOUNT\tFIRST SEEN\tLAST SEEN\tTITLE")
	return &alertWriter{ctx: ctx, tw: tw}
}

func (w *alertWriter) write(a model.Alert) error {
	if w.jsonl != nil {
		return w.jsonl.Send(w.ctx, a)
	}
	// Cells come from events: escaped, so a tab or an escape sequence in
	// a name can neither shift the columns nor reach the terminal.
	_, err := fmt.Fprintf(w.tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", text.Escape(a.Type), a.Severity, text.Escape(resourceLabel(a.Resource)), a.Count,
		a.FirstSeen.UTC().Format(time.RFC3339), a.LastSeen.UTC().Format(time.RFC3339), text.Escape(a.Title))
	return err
}

func (w *alertWriter) close() error {
	if w.jsonl != nil {
		return w.jsonl.Close()
	}
	if err := w.tw.Flush(); err != nil {
		return fmt.Errorf("writing alert table: %w", err)
	}
	return nil
}

// resourceLabel is a short human name for a resource: kind, then its
// parent and name.
func resourceLabel(r model.Resource) string {
	name := r.Name
	if name == "" {
		name = r.ID
	}
	if r.Parent != "" {
		name = r.Parent + "/" + name
	}
	if r.Kind != "" {
		return strings.ToLower(string(r.Kind)) + ":" + name
	}
	return name
}
