// Package ospkg catalogs the packages recorded in operating-system package
// databases: dpkg, apk and rpm.
package ospkg
