package sbom

import (
	"bytes"
	"strconv"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/report"
)

// Property names other tools write.
const (
	trivySrcName     = "aquasecurity:trivy:SrcName"
	trivySrcVersion  = "aquasecurity:trivy:SrcVersion"
	trivySrcRelease  = "aquasecurity:trivy:SrcRelease"
	trivySrcEpoch    = "aquasecurity:trivy:SrcEpoch"
	trivyLayerDigest = "aquasecurity:trivy:LayerDigest"
	trivyLayerDiffID = "aquasecurity:trivy:LayerDiffID"
	trivyFilePath    = "aquasecurity:trivy:FilePath"
	trivyRepoDigest  = "aquasecurity:trivy:RepoDigest"
	trivyImageID     = "aquasecurity:trivy:ImageID"
	syftSource       = "syft:metadata:source"
	syftSourceVer    = "syft:metadata:sourceVersion"
	syftLocation0    = "syft:location:0:path"
	syftOrigin       = "syft:metadata:originPackage"
	syftPackageType  = "syft:package:type"
	trivyPkgType     = "aquasecurity:trivy:PkgType"
	syftDistroID     = "syft:distro:id"
	syftDistroVer    = "syft:distro:versionID"
	syftDistroCode   = "syft:distro:versionCodename"
	syftDistroPretty = "syft:distro:prettyName"
)

// maxComponentDepth bounds recursion into nested components.
const maxComponentDepth = 64

func propMap(ps *[]cdx.Property) map[string]string {
	m := map[string]string{}
	if ps == nil {
		return m
	}
	for _, p := range *ps {
		if _, dup := m[p.Name]; !dup {
			m[p.Name] = p.Value
		}
	}
	return m
}

func decodeCycloneDX(data []byte) (*Document, error) {
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, err
	}
	doc := &Document{Format: FormatCycloneDX, Subject: model.ImageInfo{Source: "sbom"}}
	if bom.Metadata != nil && bom.Metadata.Component != nil {
		doc.Subject = cdxSubject(bom.Metadata.Component)
	}
	d := &cdxWalker{doc: doc}
	if bom.Components != nil {
		d.walk(*bom.Components, 0)
	}
	switch {
	case d.osComp != nil:
		doc.Distro = d.osComp
	case d.purlDistro != "":
		doc.Distro = parseDistroQualifier(d.purlDistro)
	}
	return doc, nil
}

func cdxSubject(c *cdx.Component) model.ImageInfo {
	info := model.ImageInfo{Source: "sbom"}
	pm := propMap(c.Properties)
	info.Reference = c.Name
	if ref := pm[report.PropImageRef]; ref != "" {
		info.Reference = ref
	}
	if strings.HasPrefix(c.Version, "sha256:") {
		info.Digest = c.Version
	}
	if d := pm[trivyRepoDigest]; d != "" && info.Digest == "" {
		if _, dig, ok := strings.Cut(d, "@"); ok {
			info.Digest = dig
		}
	}
	info.ConfigDigest = pm[report.PropImageConfig]
	if info.ConfigDigest == "" {
		info.ConfigDigest = pm[trivyImageID]
	}
	return info
}

type cdxWalker struct {
	doc        *Document
	osComp     *model.Distro
	purlDistro string
}

func (w *cdxWalker) walk(cs []cdx.Component, depth int) {
	if depth > maxComponentDepth {
		return
	}
	for i := range cs {
		c := &cs[i]
		pm := propMap(c.Properties)
		if c.Type == cdx.ComponentTypeOS && w.osComp == nil {
			w.osComp = cdxDistro(c, pm)
		}
		switch {
		case c.Type == cdx.ComponentTypeOS:
		case c.PackageURL != "":
			if p, distro, err := pkgFromPURL(c.PackageURL); err == nil {
				w.doc.Packages = append(w.doc.Packages, cdxPackage(c, pm, p))
				if w.purlDistro == "" {
					w.purlDistro = distro
				}
			}
		case c.Name != "" && (c.Type == cdx.ComponentTypeLibrary || c.Type == cdx.ComponentTypeApplication || c.Type == cdx.ComponentTypeFramework):
			// No purl (syft gives none to apk packages when it knows no
			// distro): keep it when a tool property names its type.
			if t := typeFromProps(pm); t != "" {
				p := model.Package{Name: c.Name, Type: t}
				if c.Group != "" && t == model.TypeJava {
					p.Name = c.Group + ":" + c.Name
				}
				w.doc.Packages = append(w.doc.Packages, cdxPackage(c, pm, p))
			}
		}
		if c.Components != nil {
			w.walk(*c.Components, depth+1)
		}
	}
}

func cdxDistro(c *cdx.Component, pm map[string]string) *model.Distro {
	d := &model.Distro{ID: strings.ToLower(c.Name), VersionID: c.Version, PrettyName: c.Description}
	for _, kv := range []struct {
		key string
		dst *string
	}{
		{report.PropDistroID, &d.ID}, {syftDistroID, &d.ID},
		{report.PropDistroVersion, &d.VersionID}, {syftDistroVer, &d.VersionID},
		{report.PropDistroCode, &d.Codename}, {syftDistroCode, &d.Codename},
		{syftDistroPretty, &d.PrettyName},
	} {
		if v := pm[kv.key]; v != "" {
			*kv.dst = v
		}
	}
	if d.ID == "" {
		return nil
	}
	return d
}

// cdxPackage refines the purl-derived package with the component's own
// fields and the properties of the tool that wrote it. Precedence: ours,
// then trivy's, then syft's, then the purl's upstream qualifier.
func cdxPackage(c *cdx.Component, pm map[string]string, p model.Package) model.Package {
	if c.Version != "" {
		p.Version = c.Version
	}
	if t := pm[report.PropPackageType]; t != "" {
		p.Type = model.PackageType(t)
	}
	switch {
	case pm[report.PropSourceName] != "":
		p.SourceName, p.SourceVersion = pm[report.PropSourceName], pm[report.PropSourceVersion]
	case pm[trivySrcName] != "":
		p.SourceName = pm[trivySrcName]
		p.SourceVersion = joinVersion(pm[trivySrcEpoch], pm[trivySrcVersion], pm[trivySrcRelease])
	case pm[syftSource] != "":
		p.SourceName, p.SourceVersion = pm[syftSource], pm[syftSourceVer]
	case pm[syftOrigin] != "":
		p.SourceName = pm[syftOrigin]
	}
	p.Path = firstNonEmpty(pm[report.PropPackagePath], pm[trivyFilePath], pm[syftLocation0])
	if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
		p.Path = "/" + p.Path
	}
	if l := cdxLayer(pm); l != nil {
		p.Layer = l
	}
	if c.Licenses != nil {
		for _, lc := range *c.Licenses {
			switch {
			case lc.Expression != "":
				p.Licenses = append(p.Licenses, lc.Expression)
			case lc.License != nil && lc.License.ID != "":
				p.Licenses = append(p.Licenses, lc.License.ID)
			case lc.License != nil && lc.License.Name != "":
				p.Licenses = append(p.Licenses, lc.License.Name)
			}
		}
	}
	return p
}

func cdxLayer(pm map[string]string) *model.Layer {
	l := model.Layer{
		Digest:    firstNonEmpty(pm[report.PropLayerDigest], pm[trivyLayerDigest]),
		DiffID:    firstNonEmpty(pm[report.PropLayerDiffID], pm[trivyLayerDiffID]),
		CreatedBy: pm[report.PropLayerCreated],
		Base:      pm[report.PropLayerBase] == "true",
	}
	idx, hasIdx := pm[report.PropLayerIndex]
	if n, err := strconv.Atoi(idx); hasIdx && err == nil && n >= 0 {
		l.Index = n
	}
	if l.Digest == "" && l.DiffID == "" && !hasIdx {
		return nil
	}
	return &l
}

// joinVersion builds "epoch:version-release" from trivy's split fields.
func joinVersion(epoch, version, release string) string {
	if version == "" {
		return ""
	}
	v := version
	if release != "" {
		v += "-" + release
	}
	if epoch != "" && epoch != "0" {
		v = epoch + ":" + v
	}
	return v
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// trivyTypes maps trivy's PkgType values for OS packages onto ours.
var trivyTypes = map[string]model.PackageType{
	"debian": model.TypeDeb, "ubuntu": model.TypeDeb,
	"alpine": model.TypeAPK, "wolfi": model.TypeAPK, "chainguard": model.TypeAPK,
	"redhat": model.TypeRPM, "centos": model.TypeRPM, "rocky": model.TypeRPM, "alma": model.TypeRPM,
	"amazon": model.TypeRPM, "oracle": model.TypeRPM, "fedora": model.TypeRPM, "suse": model.TypeRPM,
	"opensuse": model.TypeRPM, "photon": model.TypeRPM, "cbl-mariner": model.TypeRPM, "azurelinux": model.TypeRPM,
	"gomod": model.TypeGo, "gobinary": model.TypeGo, "npm": model.TypeNPM, "node-pkg": model.TypeNPM,
	"pip": model.TypePython, "python-pkg": model.TypePython, "poetry": model.TypePython,
	"jar": model.TypeJava, "pom": model.TypeJava, "gradle": model.TypeJava,
	"gemspec": model.TypeGem, "bundler": model.TypeGem, "cargo": model.TypeCargo, "rustbinary": model.TypeCargo,
	"composer": model.TypeComposer, "nuget": model.TypeNuGet, "dotnet-core": model.TypeNuGet,
}

// typeFromProps reads the package type a tool recorded in properties; syft's
// type names are ours.
func typeFromProps(pm map[string]string) model.PackageType {
	if t := pm[report.PropPackageType]; t != "" {
		return model.PackageType(t)
	}
	if t := pm[syftPackageType]; t != "" {
		return model.PackageType(t)
	}
	return trivyTypes[pm[trivyPkgType]]
}
