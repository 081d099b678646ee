// Package ospkg catalogs the packages recorded in operating-system package
// databases: dpkg, apk and rpm.
//
// The rpm cataloger reads var/lib/rpm and usr/lib/sysimage/rpm databases in
// all three backends (Berkeley DB "Packages", ndb "Packages.db" and sqlite
// "rpmdb.sqlite") with github.com/knqyf263/go-rpmdb, SQLite through the
// pure-Go modernc.org/sqlite driver. go-rpmdb opens a path, so the file's
// bytes are copied to a temporary directory that is removed afterwards.
// Each read runs in a goroutine with recover and is bounded by the smaller
// of the context's deadline and 30 seconds; a read that overruns is
// abandoned and reported as "rpm database <path>: timed out reading".
// Because go-rpmdb walks Berkeley DB and ndb files in goroutines of its
// own, where no recover reaches, a preflight check (rpm_guard.go) first
// rejects files on which that walk would panic, spin or allocate without
// bound.
package ospkg
