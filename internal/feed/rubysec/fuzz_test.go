package rubysec

import (
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
)

func FuzzAdvisories(f *testing.F) {
	feedtest.Fuzz(f, Advisories(), "gems/x/y.yml", advisory.EcoRubyGems, nil, gemDoc, osvdbDoc, noIDDoc, rubyDoc)
}
