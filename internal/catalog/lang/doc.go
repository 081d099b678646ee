// Package lang catalogs language-ecosystem packages: Go and Rust binaries,
// npm, Python, Java archives, Ruby gems, Cargo, Composer and .NET lock files.
package lang
