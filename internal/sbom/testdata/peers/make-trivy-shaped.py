#!/usr/bin/env python3
"""Write a trivy-shaped CycloneDX 1.6 SBOM of a dpkg status file.

Trivy itself was too large to build here, so this mimics the shape trivy
documents for container images: an operating-system component (name debian,
version 12.5-style), library components with purls carrying distro=debian-X.Y,
and aquasecurity:trivy:* properties (PkgType, PkgID, SrcName, SrcVersion,
SrcRelease, SrcEpoch, LayerDigest, LayerDiffID).

usage: make-trivy-shaped.py STATUS_FILE OS_VERSION > trivy-shaped.cyclonedx.json
"""
import json, sys, urllib.parse, uuid

def split(v):
    epoch = ""
    if ":" in v:
        epoch, v = v.split(":", 1)
    rel = ""
    if "-" in v:
        v, rel = v.rsplit("-", 1)
    return epoch, v, rel

status, osver = sys.argv[1], sys.argv[2]
pkgs, cur = [], {}
for line in open(status, encoding="utf-8"):
    line = line.rstrip("\n")
    if not line:
        if cur: pkgs.append(cur)
        cur = {}
        continue
    if line[0] in " \t" or ":" not in line: continue
    k, v = line.split(":", 1)
    cur[k] = v.strip()
if cur: pkgs.append(cur)

layer_digest = "sha256:" + "a1" * 32
layer_diff = "sha256:" + "d1" * 32
comps = [{"bom-ref": str(uuid.uuid5(uuid.NAMESPACE_URL, "os")), "type": "operating-system", "name": "debian", "version": osver,
          "properties": [{"name": "aquasecurity:trivy:Class", "value": "os-pkgs"}, {"name": "aquasecurity:trivy:Type", "value": "debian"}]}]
for p in pkgs:
    if "installed" not in p.get("Status", ""): continue
    name, ver, arch = p["Package"], p["Version"], p.get("Architecture", "")
    src, srcver = name, ver
    if "Source" in p:
        s = p["Source"]
        if "(" in s:
            src, srcver = s.split("(", 1)[0].strip(), s.split("(", 1)[1].rstrip(")").strip()
        else:
            src = s.strip()
    e, v, r = split(srcver)
    q = urllib.parse.quote
    purl = f"pkg:deb/debian/{name}@{q(ver, safe='')}?arch={arch}&distro=debian-{osver}"
    if e: purl += f"&epoch={e}"
    props = [("LayerDiffID", layer_diff), ("LayerDigest", layer_digest), ("PkgID", f"{name}@{ver}"), ("PkgType", "debian"),
             ("SrcName", src), ("SrcRelease", r), ("SrcVersion", v)]
    if e: props.append(("SrcEpoch", e))
    comps.append({"bom-ref": purl, "type": "library", "name": name, "version": ver, "purl": purl,
                  "properties": [{"name": "aquasecurity:trivy:" + k, "value": val} for k, val in props if val != ""]})
img = "pkg:oci/debian@sha256%3A" + "11" * 32 + "?arch=amd64&repository_url=index.docker.io%2Flibrary%2Fdebian"
doc = {"$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json", "bomFormat": "CycloneDX", "specVersion": "1.6",
       "serialNumber": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, status)), "version": 1,
       "metadata": {"timestamp": "2026-11-27T00:00:00+00:00",
                    "tools": {"components": [{"type": "application", "group": "aquasecurity", "name": "trivy", "version": "0.58.1"}]},
                    "component": {"bom-ref": img, "type": "container", "name": "debian:12", "purl": img,
                                  "properties": [{"name": "aquasecurity:trivy:DiffID", "value": layer_diff},
                                                 {"name": "aquasecurity:trivy:ImageID", "value": "sha256:" + "22" * 32},
                                                 {"name": "aquasecurity:trivy:RepoDigest", "value": "debian@sha256:" + "11" * 32},
                                                 {"name": "aquasecurity:trivy:RepoTag", "value": "debian:12"},
                                                 {"name": "aquasecurity:trivy:SchemaVersion", "value": "2"}]}},
       "components": comps,
       "dependencies": [{"ref": img, "dependsOn": [comps[0]["bom-ref"]]}, {"ref": comps[0]["bom-ref"], "dependsOn": [c["bom-ref"] for c in comps[1:]]}],
       "vulnerabilities": []}
json.dump(doc, sys.stdout, indent=2)
print()
