package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
)

func storedImage(t *testing.T, s *store.Store, id string, at time.Time, runs ...store.Run) {
	t.Helper()
	b := &store.Batch{Kind: "image", Subject: id, ContentHash: "h" + id, At: at,
		Resources: []model.Resource{{Kind: model.KindImage, ID: id, Name: id}},
		Inventory: &store.Inventory{ImageID: id, Hash: "h" + id, Data: []byte{1}}, Runs: runs}
	if _, err := s.Ingest(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func digest(c string) string { return "sha256:" + strings.Repeat(c, 64) }

// TestImagesUnderAssessment: the set the re-match walks. Pushed or pulled
// in a watched registry within the window (an index for its platform
// images), sent by a client within the window, or running: in; past the
// window, deleted, or never stored: out.
func TestImagesUnderAssessment(t *testing.T) {
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		const window = 30 * 24 * time.Hour
		pushed, pulled, deleted, child, sent, running, old := digest("1"), digest("2"), digest("3"), digest("4"), digest("5"), digest("6"), digest("7")
		index := digest("8")
		t0 := c.t
		for _, id := range []string{pushed, pulled, deleted, child, old} {
			storedImage(t, s, id, t0)
			if id != child {
				if _, _, err := s.RecordRegistryEvent(ctx, store.ActionPush, store.RegistryImage{Registry: "r", Repository: "app", Digest: id, PushedAt: t0}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, _, err := s.RecordRegistryEvent(ctx, store.ActionPush, store.RegistryImage{Registry: "r", Repository: "multi", Digest: index, PushedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddPlatformImage(ctx, child, index, "linux/arm64"); err != nil {
			t.Fatal(err)
		}
		storedImage(t, s, sent, t0.Add(-40*24*time.Hour)) // sent long ago…
		storedImage(t, s, running, t0.Add(-90*24*time.Hour), store.Run{RunnerID: "ctr1", Image: running, RootID: "host1"})

		c.t = t0.Add(20 * 24 * time.Hour)
		if _, _, err := s.RecordRegistryEvent(ctx, store.ActionPull, store.RegistryImage{Registry: "r", Repository: "app", Digest: pulled, PushedAt: c.t}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.RecordRegistryEvent(ctx, store.ActionDelete, store.RegistryImage{Registry: "r", Repository: "app", Digest: deleted, PushedAt: c.t}); err != nil {
			t.Fatal(err)
		}
		got, err := s.ImagesUnderAssessment(ctx, window)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{pushed, pulled, child, running, old}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("day 20: got %v, want %v", got, want)
		}
		c.t = t0.Add(35 * 24 * time.Hour)
		got, _ = s.ImagesUnderAssessment(ctx, window)
		want = []string{pulled, running}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("day 35: got %v, want %v", got, want)
		}
		// A client sends the old image again: it is back for the window.
		storedImage(t, s, sent, c.t)
		got, _ = s.ImagesUnderAssessment(ctx, window)
		if !slices.Contains(got, sent) {
			t.Errorf("a re-sent image is not under assessment: %v", got)
		}
	})
}

// TestScanStates: a push records a pending digest once; a failed digest
// pushed again starts a new generation; scans count stored inventories.
func TestScanStates(t *testing.T) {
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		d := digest("a")
		need, gen, err := s.RecordRegistryEvent(ctx, store.ActionPush, store.RegistryImage{Registry: "r", Repository: "a", Digest: d, Tag: "1"})
		if err != nil || !need || gen != 0 {
			t.Fatalf("first push: %v %d %v", need, gen, err)
		}
		if need, _, _ := s.RecordRegistryEvent(ctx, store.ActionPush, store.RegistryImage{Registry: "r", Repository: "b", Digest: d}); !need {
			t.Error("a pending digest pushed elsewhere needs no scan?")
		}
		if err := s.SetImageScan(ctx, d, store.ScanFailed, "authentication", "401", 1, false); err != nil {
			t.Fatal(err)
		}
		if need, _, _ := s.RecordRegistryEvent(ctx, store.ActionPull, store.RegistryImage{Registry: "r", Repository: "a", Digest: d}); need {
			t.Error("a pull retried a failed scan")
		}
		need, gen, _ = s.RecordRegistryEvent(ctx, store.ActionPush, store.RegistryImage{Registry: "r", Repository: "a", Digest: d})
		if !need || gen != 1 {
			t.Errorf("failed digest pushed again: need %v generation %d", need, gen)
		}
		if err := s.SetImageScan(ctx, d, store.ScanScanned, "", "", 1, true); err != nil {
			t.Fatal(err)
		}
		st, err := s.ImageScanState(ctx, d)
		if err != nil || st.State != store.ScanScanned || st.Scans != 1 || st.Reason != "" || st.ScannedAt.IsZero() {
			t.Errorf("scanned: %+v %v", st, err)
		}
		if need, _, _ := s.RecordRegistryEvent(ctx, store.ActionPush, store.RegistryImage{Registry: "r", Repository: "c", Digest: d}); need {
			t.Error("a scanned digest pushed elsewhere is scanned again")
		}
		refs, _ := s.DigestRefs(ctx, d)
		if len(refs) != 3 {
			t.Errorf("references: %+v", refs)
		}
	})
}
