// Package builtin holds the one table of catalogers Bulwark runs: adding a
// cataloger is adding its file in ospkg or lang and one line here.
package builtin

import (
	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/catalog/lang"
	"github.com/bulwarkdev/bulwark/internal/catalog/ospkg"
)

// Catalogers returns the default table, OS databases first.
func Catalogers() []catalog.Cataloger {
	return []catalog.Cataloger{
		ospkg.Dpkg(),
		ospkg.APK(),
		ospkg.RPM(),
		lang.GoBinary(),
		lang.CargoAuditable(),
		lang.CargoLock(),
		lang.NPMLock(),
		lang.NPMPackage(),
		lang.Python(),
		lang.Java(),
		lang.Gem(),
		lang.Composer(),
		lang.DotNet(),
	}
}

// Table returns the default table, validated.
func Table() (*catalog.Table, error) { return catalog.NewTable(Catalogers()...) }
