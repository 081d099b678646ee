package report

import (
	"fmt"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/text"

	"github.com/google/go-containerregistry/pkg/name"
	packageurl "github.com/package-url/packageurl-go"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// purlTypes maps our package types onto purl types, for packages a cataloger
// left without a purl.
var purlTypes = map[model.PackageType]string{
	model.TypeDeb:      packageurl.TypeDebian,
	model.TypeAPK:      packageurl.TypeApk,
	model.TypeRPM:      packageurl.TypeRPM,
	model.TypeGo:       packageurl.TypeGolang,
	model.TypeNPM:      packageurl.TypeNPM,
	model.TypePython:   packageurl.TypePyPi,
	model.TypeJava:     packageurl.TypeMaven,
	model.TypeGem:      packageurl.TypeGem,
	model.TypeCargo:    packageurl.TypeCargo,
	model.TypeComposer: packageurl.TypeComposer,
	model.TypeNuGet:    packageurl.TypeNuget,
}

// packagePURL returns p's purl, or builds a plain one when the cataloger set
// none; "" when the type has no purl type.
func packagePURL(p model.Package) string {
	if p.PURL != "" {
		return p.PURL
	}
	t, ok := purlTypes[p.Type]
	if !ok || p.Name == "" {
		return ""
	}
	ns, n := "", p.Name
	switch p.Type {
	case model.TypeJava:
		if g, a, ok := strings.Cut(p.Name, ":"); ok {
			ns, n = g, a
		}
	case model.TypeGo, model.TypeNPM, model.TypeComposer:
		if i := strings.LastIndex(p.Name, "/"); i > 0 {
			ns, n = p.Name[:i], p.Name[i+1:]
		}
	}
	return packageurl.NewPackageURL(t, ns, n, p.Version, nil, "").ToString()
}

// imageDigest is the image's stable identity: manifest digest, else config.
func imageDigest(img model.ImageInfo) string {
	if img.Digest != "" {
		return img.Digest
	}
	return img.ConfigDigest
}

// imageName is what people call the image: its reference, else a repo tag,
// else its digest.
func imageName(r *model.Report) string {
	switch {
	case r.Image.Reference != "":
		return r.Image.Reference
	case len(r.Image.RepoTags) > 0:
		return r.Image.RepoTags[0]
	case r.Resource.Name != "":
		return r.Resource.Name
	}
	if d := imageDigest(r.Image); d != "" {
		return d
	}
	return "unknown"
}

// imagePURL is the pkg:oci purl of the image, "" without a digest (the oci
// purl type requires one).
func imagePURL(r *model.Report) string {
	d := imageDigest(r.Image)
	if d == "" {
		return ""
	}
	q := packageurl.Qualifiers{}
	last := imageName(r)
	if ref, err := name.ParseReference(imageName(r)); err == nil {
		repo := ref.Context()
		q = append(q, packageurl.Qualifier{Key: "repository_url", Value: repo.RegistryStr() + "/" + repo.RepositoryStr()})
		last = repo.RepositoryStr()
		if t, ok := ref.(name.Tag); ok {
			q = append(q, packageurl.Qualifier{Key: "tag", Value: t.TagStr()})
		}
	}
	if i := strings.LastIndex(last, "/"); i >= 0 {
		last = last[i+1:]
	}
	if j := strings.IndexAny(last, ":@"); j >= 0 {
		last = last[:j]
	}
	if last == "" || strings.HasPrefix(d, last) {
		last = "image"
	}
	return packageurl.NewPackageURL(packageurl.TypeOCI, "", strings.ToLower(last), d, q, "").ToString()
}

// shortCreatedBy trims the shell boilerplate Docker records in history.
func shortCreatedBy(s string, max int) string {
	s = strings.TrimSpace(s)
	for _, p := range []string{"/bin/sh -c #(nop) ", "/bin/sh -c "} {
		s = strings.TrimSpace(strings.TrimPrefix(s, p))
	}
	s = strings.Join(strings.Fields(s), " ")
	return truncate(s, max)
}

// truncate shortens s to at most max runes, marking the cut with "…".
func truncate(s string, max int) string { return text.TruncateRunes(s, max) }

func suppressed(f model.Finding) bool {
	return f.Status == model.StatusNotAffected || f.Status == model.StatusExempt
}

// coverageLine describes one coverage part in one line:
// "Red Hat:9 (129 packages): not assessed: no advisories for Red Hat 9 in the DB".
func coverageLine(p model.CoveragePart) string {
	unit := "packages"
	if p.Packages == 1 {
		unit = "package"
	}
	line := fmt.Sprintf("%s (%d %s): ", p.Name, p.Packages, unit)
	switch {
	case p.Assessed:
		line += "assessed"
		if len(p.Sources) > 0 {
			line += " (" + strings.Join(p.Sources, ", ") + ")"
		}
	case p.Kind == model.CoverageNone:
		line += "not matchable: " + p.Reason
	default:
		line += "not assessed: " + p.Reason
	}
	return line
}

// verdictReason says in one phrase why an image is not assessed: the
// reasons of its parts not assessed.
func verdictReason(s model.Summary) string {
	var rs []string
	for _, p := range s.NotAssessed() {
		rs = append(rs, p.Reason)
	}
	return strings.Join(rs, "; ")
}
