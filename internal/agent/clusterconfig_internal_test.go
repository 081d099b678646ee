package agent

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// verdictTable answers verdicts from a table the test changes, and
// records what was asked (the server's own answers are exercised in
// TestClusterImageVulnsFromServer; this is the cache's bookkeeping).
type verdictTable struct {
	mu    sync.Mutex
	by    map[string]model.ImageVerdict
	asked [][]string
}

func (v *verdictTable) ImageVerdicts(_ context.Context, images []string) ([]model.ImageVerdict, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.asked = append(v.asked, slices.Clone(images))
	out := make([]model.ImageVerdict, len(images))
	for i, img := range images {
		x, ok := v.by[img]
		if !ok {
			x = model.ImageVerdict{Known: false}
		}
		x.Image = img
		out[i] = x
	}
	return out, nil
}

// TestVerdictCacheRefresh: images are asked once, in batches of 500;
// unknown ones again at each refresh, known ones only once the interval
// passed; an answer from another DB version has every image asked again;
// a changed verdict, an unknown image now known among them, is reported
// (onChange: the objects are re-evaluated); the first answer is not.
func TestVerdictCacheRefresh(t *testing.T) {
	ctx := context.Background()
	src := &verdictTable{by: map[string]model.ImageVerdict{
		"a:1": {Known: true, Verdict: model.VerdictUnhealthy, DBVersion: "db1", Counts: model.Counts{Critical: 1}},
		"b:1": {Known: true, Verdict: model.VerdictHealthy, DBVersion: "db1"},
	}}
	vc := newVerdictCache(src, time.Hour, slog.New(slog.DiscardHandler))
	changes := 0
	vc.onChange = func() { changes++ }
	images := []string{"a:1", "b:1", "c:1"}
	for i := range 600 {
		images = append(images, "bulk:"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	if err := vc.prefetch(ctx, images); err != nil {
		t.Fatal(err)
	}
	if len(src.asked) != 2 || len(src.asked[0]) != 500 || len(src.asked[1]) != len(images)-500 {
		t.Fatalf("asked %d requests (%d, …), want 2 of at most 500", len(src.asked), len(src.asked[0]))
	}
	if v, ok := vc.lookup("a:1"); !ok || v.Verdict != model.VerdictUnhealthy {
		t.Errorf("a:1 = %+v %v", v, ok)
	}
	if _, ok := vc.lookup("c:1"); ok {
		t.Error("an unknown image answered as known")
	}
	src.asked = nil
	if err := vc.prefetch(ctx, []string{"a:1", "c:1"}); err != nil || len(src.asked) != 0 {
		t.Errorf("held images asked again: %v %v", src.asked, err)
	}
	if changes != 0 {
		t.Errorf("first answers reported as %d changes", changes)
	}
	// The unknown image is scanned: the refresh asks the unknown ones
	// only and learns it, a change (the policy skipped it so far).
	src.by["c:1"] = model.ImageVerdict{Known: true, Verdict: model.VerdictUnhealthy, DBVersion: "db1"}
	src.asked = nil
	if !vc.refresh(ctx) || changes != 1 {
		t.Errorf("an unknown image now known not reported as a change (%d)", changes)
	}
	if all := slices.Concat(src.asked...); slices.Contains(all, "a:1") || !slices.Contains(all, "c:1") || len(all) != len(images)-2 {
		t.Errorf("the refresh asked %d images, want only the %d unknown ones", len(all), len(images)-2)
	}
	if _, ok := vc.lookup("c:1"); !ok {
		t.Error("c:1 not learnt")
	}
	// The server's DB moves: an answer says so, every image is asked
	// again, and a changed verdict is reported.
	src.asked = nil
	src.by["a:1"] = model.ImageVerdict{Known: true, Verdict: model.VerdictHealthy, DBVersion: "db2"}
	src.by["b:1"] = model.ImageVerdict{Known: true, Verdict: model.VerdictHealthy, DBVersion: "db2"}
	src.by["c:1"] = model.ImageVerdict{Known: true, Verdict: model.VerdictUnhealthy, DBVersion: "db2"}
	src.by["new:1"] = model.ImageVerdict{Known: true, Verdict: model.VerdictHealthy, DBVersion: "db2"}
	if err := vc.prefetch(ctx, []string{"a:1", "new:1"}); err != nil {
		t.Fatal(err)
	}
	vc.refresh(ctx) // the loop's next minute
	// a:1 was held: the prefetch asked new:1 only, whose db2 answer
	// moved the version, so the next refresh asked every held image.
	if v, _ := vc.lookup("a:1"); v.Verdict != model.VerdictHealthy || changes < 2 {
		t.Errorf("after the DB moved: a:1 = %+v, %d changes; asked %v", v, changes, src.asked)
	}
	if len(src.asked) < 2 || !slices.Contains(slices.Concat(src.asked[1:]...), "b:1") {
		t.Errorf("after the DB moved, asked %v: want every held image again", src.asked)
	}
}
