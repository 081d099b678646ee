package builtin

import "testing"

func TestTableValid(t *testing.T) {
	tab, err := Table()
	if err != nil {
		t.Fatal(err)
	}
	if got := len(tab.Catalogers()); got < 13 {
		t.Fatalf("table has %d catalogers, want at least 13", got)
	}
	for _, c := range tab.Catalogers() {
		if c.Version() < 1 {
			t.Errorf("cataloger %s: version %d, want >= 1", c.Name(), c.Version())
		}
	}
	// Paths every image scan depends on must be claimed by someone.
	for _, p := range []string{"var/lib/dpkg/status", "lib/apk/db/installed", "var/lib/rpm/rpmdb.sqlite",
		"app/package-lock.json", "usr/lib/python3/dist-packages/requests-2.0.dist-info/METADATA", "app/x.jar"} {
		if len(tab.Wanting(p, 0o644, 100)) == 0 {
			t.Errorf("no cataloger wants %s", p)
		}
	}
}
