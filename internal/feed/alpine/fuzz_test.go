package alpine

import (
	"testing"

	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
)

func FuzzSecDB(f *testing.F) {
	feedtest.Fuzz(f, SecDB(), "f", "Alpine:v", nil, yamlDoc, vulnListDoc)
}
