package nodesec

import (
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
)

func FuzzNPM(f *testing.F) {
	feedtest.Fuzz(f, NPM(), "vuln/npm/x.json", advisory.EcoNPM, nil, npmDocWithCVE, npmDocNoCVE, coreDoc, indexDoc)
}
