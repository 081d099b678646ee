package notify

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// BenchmarkNotify measures what a caller pays per event (ns/op and
// events/s: Notify returning), per kind of sink, and flushed/s: events per
// second until all of them are on disk (webhook, slack) or written to the
// socket (syslog). Delivery to the receiver happens behind both.
// bench/notify.sh prints the figures.
func BenchmarkNotify(b *testing.B) {
	r := newReceiver(b)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	go func() { // drain, so the socket buffer never fills
		buf := make([]byte, 65536)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	for _, c := range []struct{ name, sinks string }{
		{"filtered", "[{name: s, type: webhook, url: " + r.srv.URL + ", kinds: [alert]}]"},
		{"syslog-udp", "[{name: s, type: syslog, address: udp://" + pc.LocalAddr().String() + "}]"},
		{"webhook-disk-queue", "[{name: s, type: webhook, url: " + r.srv.URL + "}]"},
		{"slack-disk-queue", "[{name: s, type: slack, url: " + r.srv.URL + "}]"},
	} {
		b.Run(c.name, func(b *testing.B) {
			cfg, err := ParseConfig([]byte("sinks: " + c.sinks))
			if err != nil {
				b.Fatal(err)
			}
			d, err := New(cfg, Options{StateDir: b.TempDir(), Buffer: 1 << 16, MinBackoff: time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			e := ev(KindFinding, model.SeverityCritical, model.KindImage, "bench")
			e.Detail = "openssl 3.0.1 is affected; fixed in 3.0.2"
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				e.ID = fmt.Sprint("finding-", i)
				if err := d.Notify(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer() // Close's flush and drain are delivery, not the caller's cost
			notified := time.Since(start)
			d.Close() // webhook, slack: the rest of the buffer to disk; syslog: written out
			flushed := time.Since(start)
			b.ReportMetric(float64(b.N)/notified.Seconds(), "events/s")
			b.ReportMetric(float64(b.N)/flushed.Seconds(), "flushed/s")
		})
	}
}
