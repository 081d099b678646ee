package sbom

import (
	"bytes"
	"strings"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/report"
)

func decodeSPDX(data []byte) (*Document, error) {
	sdoc, err := spdxjson.Read(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	doc := &Document{Format: FormatSPDX, Subject: model.ImageInfo{Source: "sbom"}}
	described := map[common.ElementID]bool{}
	for _, r := range sdoc.Relationships {
		if r != nil && r.Relationship == common.TypeRelationshipDescribe && r.RefA.ElementRefID == "DOCUMENT" {
			described[r.RefB.ElementRefID] = true
		}
	}
	purlDistro := ""
	for _, sp := range sdoc.Packages {
		if sp == nil {
			continue
		}
		switch {
		case strings.ReplaceAll(sp.PrimaryPackagePurpose, "-", "_") == "OPERATING_SYSTEM":
			if doc.Distro == nil && sp.PackageName != "" {
				doc.Distro = &model.Distro{ID: strings.ToLower(sp.PackageName), VersionID: sp.PackageVersion, PrettyName: sp.PackageDescription}
			}
			continue
		case described[sp.PackageSPDXIdentifier] || sp.PrimaryPackagePurpose == "CONTAINER":
			if doc.Subject.Reference == "" {
				doc.Subject.Reference = sp.PackageName
				if strings.HasPrefix(sp.PackageVersion, "sha256:") {
					doc.Subject.Digest = sp.PackageVersion
				}
			}
			continue
		}
		p, distro, ok := spdxPackage(sp)
		if !ok {
			continue
		}
		if purlDistro == "" {
			purlDistro = distro
		}
		doc.Packages = append(doc.Packages, p)
	}
	if doc.Distro == nil && purlDistro != "" {
		doc.Distro = parseDistroQualifier(purlDistro)
	}
	return doc, nil
}

func spdxPackage(sp *spdx.Package) (model.Package, string, bool) {
	purl := ""
	for _, ref := range sp.PackageExternalReferences {
		if ref == nil {
			continue
		}
		cat := strings.ReplaceAll(strings.ToUpper(ref.Category), "_", "-")
		if cat == common.CategoryPackageManager && strings.EqualFold(ref.RefType, "purl") {
			purl = ref.Locator
			break
		}
	}
	if purl == "" {
		return model.Package{}, "", false
	}
	p, distro, err := pkgFromPURL(purl)
	if err != nil {
		return model.Package{}, "", false
	}
	if sp.PackageVersion != "" {
		p.Version = sp.PackageVersion
	}
	if name, ver, ok := parseSourceInfo(sp.PackageSourceInfo); ok {
		p.SourceName, p.SourceVersion = name, ver
	}
	if l := strings.TrimSpace(sp.PackageLicenseDeclared); l != "" && l != "NOASSERTION" && l != "NONE" {
		p.Licenses = []string{l}
	}
	if path, ok := strings.CutPrefix(sp.PackageComment, "found at "); ok {
		p.Path = path
	}
	return p, distro, true
}

// parseSourceInfo reads "built package from: glibc 2.36-9" (trivy and us).
func parseSourceInfo(s string) (name, version string, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(s), report.SPDXSourceInfoPrefix)
	if !found {
		return "", "", false
	}
	f := strings.Fields(rest)
	switch len(f) {
	case 0:
		return "", "", false
	case 1:
		return f[0], "", true
	}
	return f[0], f[1], true
}
