// Package redhat loads Red Hat's CSAF VEX documents (one per CVE, from
// https://security.access.redhat.com/data/csaf/v2/vex/): fixed, affected,
// will-not-fix, fix-deferred and not-affected statuses per RHEL major
// release, told apart by the CPE of the product each component belongs
// to, and module streams kept apart by the purl's rpmmod qualifier.
package redhat
