// Package feeds holds the one table of feed loaders `bulwark db update`
// tries on every file, in order: the first loader whose Detect claims a
// file reads it. Specific formats come before general ones.
package feeds

import (
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/feed/alpine"
	"github.com/bulwarkdev/bulwark/internal/feed/composer"
	"github.com/bulwarkdev/bulwark/internal/feed/debian"
	"github.com/bulwarkdev/bulwark/internal/feed/epss"
	"github.com/bulwarkdev/bulwark/internal/feed/kev"
	"github.com/bulwarkdev/bulwark/internal/feed/nodesec"
	"github.com/bulwarkdev/bulwark/internal/feed/nvd"
	"github.com/bulwarkdev/bulwark/internal/feed/osv"
	"github.com/bulwarkdev/bulwark/internal/feed/photon"
	"github.com/bulwarkdev/bulwark/internal/feed/redhat"
	"github.com/bulwarkdev/bulwark/internal/feed/rubysec"
	"github.com/bulwarkdev/bulwark/internal/feed/updateinfo"
)

// Default returns every loader Bulwark knows.
func Default() []feed.Loader {
	return []feed.Loader{
		kev.Loader(),
		epss.Loader(),
		nvd.Loader(),
		redhat.VEX(),
		updateinfo.Loader(),
		photon.Loader(),
		debian.TrackerJSON(),
		debian.VulnList(),
		debian.List(),
		debian.CVEList(),
		alpine.SecDB(),
		rubysec.Advisories(),
		composer.FriendsOfPHP(),
		nodesec.NPM(),
		osv.Loader(),
	}
}
