package registry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestClassify: what a registry answers decides whether a scan is tried
// again. A registry that answers 429 or 5xx is a fault docker-registry
// cannot be made to show, so an httptest server plays it.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		status    int
		body      string
		reason    string
		permanent bool
	}{
		{401, `{"errors":[{"code":"UNAUTHORIZED"}]}`, ReasonAuth, true},
		{403, `{"errors":[{"code":"DENIED"}]}`, ReasonAuth, true},
		{404, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, ReasonNotFound, true},
		{429, `{"errors":[{"code":"TOOMANYREQUESTS"}]}`, ReasonUnavailable, false},
		{503, ``, ReasonUnavailable, false},
		{400, `{"errors":[{"code":"MANIFEST_INVALID"}]}`, ReasonError, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/" {
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(c.status)
			w.Write([]byte(c.body)) //nolint:errcheck
		}))
		ref, _ := name.ParseReference(strings.TrimPrefix(srv.URL, "http://")+"/a@sha256:"+strings.Repeat("0", 64), name.Insecure)
		_, err := remote.Get(ref, remote.WithRetryPredicate(func(error) bool { return false }), remote.WithRetryStatusCodes())
		srv.Close()
		if err == nil {
			t.Fatalf("%d: no error", c.status)
		}
		se := classify(context.Background(), err)
		if se.reason != c.reason || se.permanent != c.permanent {
			t.Errorf("%d: %s permanent %v, want %s %v (%v)", c.status, se.reason, se.permanent, c.reason, c.permanent, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if se := classify(ctx, ctx.Err()); se.reason != ReasonTimeout || se.permanent {
		t.Errorf("time-out: %+v", se)
	}
}

func TestBackoff(t *testing.T) {
	prev := time.Duration(0)
	for a := 1; a <= 12; a++ {
		d := backoff(2*time.Second, a)
		if d < prev*3/2 && d < 4*time.Minute {
			t.Errorf("attempt %d: %s after %s: not growing", a, d, prev)
		}
		if d > 5*time.Minute+time.Minute {
			t.Errorf("attempt %d: %s past the cap", a, d)
		}
		prev = d
	}
}
