// Package vulndb is Bulwark's vulnerability database: a bbolt file built
// from the feeds and read by (ecosystem, package) and by vulnerability id.
package vulndb
