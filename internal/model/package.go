package model

// PackageType says which packaging system a package came from. It decides
// the version semantics and the advisory ecosystem a package is matched in.
type PackageType string

const (
	TypeDeb      PackageType = "deb"
	TypeAPK      PackageType = "apk"
	TypeRPM      PackageType = "rpm"
	TypeGo       PackageType = "go-module"
	TypeNPM      PackageType = "npm"
	TypePython   PackageType = "python"
	TypeJava     PackageType = "java-archive"
	TypeGem      PackageType = "gem"
	TypeCargo    PackageType = "rust-crate"
	TypeComposer PackageType = "php-composer"
	TypeNuGet    PackageType = "dotnet"
	// TypeBinary covers runtimes found as binaries that have no package
	// ecosystem of their own (node, python). The Go toolchain is reported
	// as TypeGo module "stdlib", as the Go vulnerability DB names it.
	TypeBinary PackageType = "binary"
)

// Layer names the image layer that brought a file or package.
type Layer struct {
	Index     int    `json:"index"`
	Digest    string `json:"digest,omitempty"`  // compressed blob digest, as the registry knows it
	DiffID    string `json:"diff_id,omitempty"` // uncompressed digest, as the config lists it
	CreatedBy string `json:"created_by,omitempty"`
	// Base is true when the layer belongs to the base image (an earlier
	// history entry than the first one the user's build added), as far as the
	// history can tell.
	Base bool `json:"base,omitempty"`
}

// Package is one installed package, as a cataloger found it.
type Package struct {
	Name    string      `json:"name"`
	Version string      `json:"version"`
	Type    PackageType `json:"type"`
	PURL    string      `json:"purl,omitempty"`
	// SourceName/SourceVersion name the source package (deb Source:, apk
	// origin, rpm source rpm) that distro advisories are written against.
	SourceName    string `json:"source_name,omitempty"`
	SourceVersion string `json:"source_version,omitempty"`
	// Epoch and Arch matter for rpm comparison and purls.
	Epoch *int   `json:"epoch,omitempty"`
	Arch  string `json:"arch,omitempty"`
	// Path is where the package was recorded: the package database, lock
	// file, manifest or binary, relative to the image root, with a leading /.
	// Nested archives use "outer.jar!inner.jar".
	Path     string   `json:"path,omitempty"`
	Layer    *Layer   `json:"layer,omitempty"`
	Licenses []string `json:"licenses,omitempty"`
	// Dev marks development-only dependencies (lock files record them).
	Dev bool `json:"dev,omitempty"`
	// Cataloger is the name of the cataloger that found the package.
	Cataloger string `json:"cataloger,omitempty"`
	// Metadata carries extra ecosystem facts (Maven groupId, Go main module…).
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Key identifies a package within one image: the same name and version found
// at two paths are two packages.
func (p Package) Key() string {
	return string(p.Type) + "\x00" + p.Name + "\x00" + p.Version + "\x00" + p.Path
}

// Distro describes the operating system of an image.
type Distro struct {
	ID         string   `json:"id"`                    // os-release ID: debian, ubuntu, alpine, rhel, …
	VersionID  string   `json:"version_id,omitempty"`  // os-release VERSION_ID: 12, 3.19.1, 22.04
	Codename   string   `json:"codename,omitempty"`    // bookworm, jammy
	PrettyName string   `json:"pretty_name,omitempty"` // for people
	IDLike     []string `json:"id_like,omitempty"`
	// EOL is set when the release is past its vendor's end of support.
	EOL     bool   `json:"eol,omitempty"`
	EOLDate string `json:"eol_date,omitempty"` // YYYY-MM-DD when known
}
