package composer

import (
	"errors"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
)

func FuzzFriendsOfPHP(f *testing.F) {
	// Packagist names are vendor/package, and every entry is constraint-based.
	extra := func(a advisory.Affected) error {
		if !strings.Contains(a.Package, "/") || len(a.AffectedConstraints) == 0 {
			return errors.New("want vendor/package and constraints")
		}
		return nil
	}
	feedtest.Fuzz(f, FriendsOfPHP(), "root/v/p/2020-01-01.yaml", advisory.EcoPackagist, extra, withCVE, noCVE)
}
