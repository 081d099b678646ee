package report

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/url"
	"regexp"
	"strings"

	"github.com/github/go-spdx/v2/spdxexp"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/bulwarkdev/bulwark/internal/model"
)

const (
	noAssertion = "NOASSERTION"
	// spdxNamespaceBase prefixes DocumentNamespace; the rest is derived from
	// the image so that the same image always gives the same namespace.
	spdxNamespaceBase = "https://bulwark.dev/spdxdocs/"
	// SPDXSourceInfoPrefix starts the sourceInfo of packages built from a
	// source package, in the wording syft and trivy also use.
	SPDXSourceInfoPrefix = "built package from: "
)

var spdxIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9.\-]+`)

// spdxID turns parts into a valid SPDX element id; a short hash of the
// bom-ref keeps ids unique when sanitising makes two names collide.
func spdxID(kind, name, unique string) common.ElementID {
	n := strings.Trim(spdxIDUnsafe.ReplaceAllString(name, "-"), "-")
	if len(n) > 60 {
		n = n[:60]
	}
	sum := sha256.Sum256([]byte(unique))
	return common.ElementID(kind + "-" + n + "-" + hex.EncodeToString(sum[:6]))
}

// spdxLicense is licenseDeclared: a valid SPDX expression or NOASSERTION.
func spdxLicense(ls []string) string {
	if len(ls) == 0 {
		return noAssertion
	}
	parts := make([]string, 0, len(ls))
	for _, l := range ls {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if strings.ContainsAny(l, " ") && len(ls) > 1 {
			l = "(" + l + ")"
		}
		parts = append(parts, l)
	}
	if len(parts) == 0 {
		return noAssertion
	}
	expr := strings.Join(parts, " AND ")
	if ok, _ := spdxexp.ValidateLicenses([]string{expr}); !ok {
		return noAssertion
	}
	return expr
}

func purlRef(p string) []*spdx.PackageExternalReference {
	if p == "" {
		return nil
	}
	return []*spdx.PackageExternalReference{{Category: common.CategoryPackageManager, RefType: "purl", Locator: p}}
}

func writeSPDX(w io.Writer, r *model.Report, opts Options) error {
	doc := buildSPDX(r, opts)
	return spdxjson.Write(doc, w, spdxjson.Indent("  "), spdxjson.EscapeHTML(false))
}

func buildSPDX(r *model.Report, opts Options) *spdx.Document {
	img := imageName(r)
	digest := imageDigest(r.Image)
	seed := img + "\x00" + digest
	docName := img
	ns := spdxNamespaceBase + url.PathEscape(strings.ReplaceAll(img, "/", "_")) + "-" +
		hex.EncodeToString(func() []byte { s := sha256.Sum256([]byte(seed)); return s[:16] }())

	created := r.GeneratedAt
	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      docName,
		DocumentNamespace: ns,
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{
				{CreatorType: "Tool", Creator: toolName(r) + "-" + toolVersion(r, opts)},
			},
			Created: rfc3339(created),
		},
	}
	if doc.CreationInfo.Created == "" {
		// SPDX requires a creation time; the epoch keeps output deterministic.
		doc.CreationInfo.Created = "1970-01-01T00:00:00Z"
	}

	imgID := spdxID("Image", img, "image\x00"+seed)
	imgPkg := &spdx.Package{
		PackageName:               img,
		PackageSPDXIdentifier:     imgID,
		PackageVersion:            digest,
		PackageSupplier:           &common.Supplier{Supplier: noAssertion},
		PackageDownloadLocation:   noAssertion,
		FilesAnalyzed:             false,
		PackageLicenseConcluded:   noAssertion,
		PackageLicenseDeclared:    noAssertion,
		PackageCopyrightText:      noAssertion,
		PackageExternalReferences: purlRef(imagePURL(r)),
		PrimaryPackagePurpose:     "CONTAINER",
	}
	doc.Packages = append(doc.Packages, imgPkg)
	doc.Relationships = append(doc.Relationships, &spdx.Relationship{
		RefA:         common.MakeDocElementID("", "DOCUMENT"),
		RefB:         common.MakeDocElementID("", string(imgID)),
		Relationship: common.TypeRelationshipDescribe,
	})
	contains := func(id common.ElementID) {
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA:         common.MakeDocElementID("", string(imgID)),
			RefB:         common.MakeDocElementID("", string(id)),
			Relationship: common.TypeRelationshipContains,
		})
	}
	if d := r.Distro; d != nil {
		id := spdxID("OperatingSystem", d.ID, "os\x00"+d.ID+"\x00"+d.VersionID)
		doc.Packages = append(doc.Packages, &spdx.Package{
			PackageName:             d.ID,
			PackageSPDXIdentifier:   id,
			PackageVersion:          d.VersionID,
			PackageSupplier:         &common.Supplier{Supplier: noAssertion},
			PackageDownloadLocation: noAssertion,
			PackageLicenseConcluded: noAssertion,
			PackageLicenseDeclared:  noAssertion,
			PackageCopyrightText:    noAssertion,
			PackageDescription:      d.PrettyName,
			PrimaryPackagePurpose:   "OPERATING_SYSTEM",
		})
		contains(id)
	}
	refs := bomRefs(r.Packages)
	for i, p := range r.Packages {
		id := spdxID("Package-"+spdxIDUnsafe.ReplaceAllString(string(p.Type), "-"), p.Name, refs[i])
		sp := &spdx.Package{
			PackageName:               p.Name,
			PackageSPDXIdentifier:     id,
			PackageVersion:            p.Version,
			PackageSupplier:           &common.Supplier{Supplier: noAssertion},
			PackageDownloadLocation:   noAssertion,
			FilesAnalyzed:             false,
			PackageLicenseConcluded:   noAssertion,
			PackageLicenseDeclared:    spdxLicense(p.Licenses),
			PackageCopyrightText:      noAssertion,
			PackageExternalReferences: purlRef(packagePURL(p)),
			PrimaryPackagePurpose:     "LIBRARY",
		}
		if p.SourceName != "" {
			sp.PackageSourceInfo = strings.TrimSpace(SPDXSourceInfoPrefix + p.SourceName + " " + p.SourceVersion)
		}
		if p.Path != "" {
			sp.PackageComment = "found at " + p.Path
		}
		doc.Packages = append(doc.Packages, sp)
		contains(id)
	}
	return doc
}
