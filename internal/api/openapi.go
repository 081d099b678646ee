package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// schemas describe the bodies by name; the full field lists of reports,
// resources, findings and alerts are in docs/schema.md, which the
// descriptions point to.
var schemas = map[string]any{
	"Text":           map[string]any{"type": "string"},
	"Object":         map[string]any{"type": "object"},
	"Problem":        obj(map[string]any{"type": str, "title": str, "status": integer, "detail": str, "instance": str}, "RFC 9457 problem details"),
	"Login":          obj(map[string]any{"name": str, "password": str}, ""),
	"PasswordChange": obj(map[string]any{"current": str, "new": str}, "at least 12 characters"),
	"Me":             obj(map[string]any{"kind": str, "name": str, "role": str, "scopes": arr(str), "csrf_token": str, "must_change_password": boolean, "binding": str}, ""),
	"Report":         map[string]any{"type": "object", "description": "a report as a capability writes it (docs/schema.md): image report, CycloneDX/SPDX SBOM, CIS Docker report, Kubernetes policy report, one alert or an array of alerts"},
	"IngestResult": obj(map[string]any{"kind": str, "resource": str, "result": obj(map[string]any{"duplicate": boolean, "resources": integer, "findings": integer, "assessments": integer, "alerts": integer}, ""),
		"summary": map[string]any{"type": "object", "description": "an image's summary as the server judged it (docs/schema.md Summary)"}}, ""),
	"Resource": obj(map[string]any{"kind": str, "id": str, "name": str, "parent": str, "labels": strMap, "facts": strMap, "health": str, "severity": str,
		"counts":     obj(map[string]any{"critical": integer, "high": integer, "medium": integer, "low": integer, "unknown": integer, "total": integer}, ""),
		"db_version": str, "first_seen": dateTime, "last_seen": dateTime}, "docs/identity.md"),
	"ResourcePage":      page("Resource"),
	"ResourceDetail":    map[string]any{"allOf": []any{ref("Resource"), obj(map[string]any{"references": arr(map[string]any{"type": "object"}), "children": map[string]any{"type": "object"}, "uses": arr(str), "used_by": arr(map[string]any{"type": "object"}), "inventory": map[string]any{"type": "object"}}, "")}},
	"Finding":           map[string]any{"type": "object", "description": "docs/schema.md Finding, plus resource, db_version, first_seen, last_seen, key"},
	"FindingPage":       page("Finding"),
	"Where":             obj(map[string]any{"vulnerability": str, "images": arr(map[string]any{"type": "object"}), "runners": arr(map[string]any{"type": "object"}), "roots": arr(str), "truncated": boolean}, ""),
	"Assessment":        map[string]any{"type": "object", "description": "docs/schema.md Assessment, plus resource, source, first_seen, last_seen"},
	"AssessmentPage":    page("Assessment"),
	"Alert":             map[string]any{"type": "object", "description": "docs/schema.md Alerts; the detail adds history: [{at, actor, status, previous, comment}]"},
	"AlertPage":         page("Alert"),
	"AlertStatusChange": obj(map[string]any{"status": map[string]any{"type": "string", "enum": []string{"active", "dismissed", "resolved"}}, "comment": str}, "active reopens; a dismissal needs a comment"),
	"User":              obj(map[string]any{"name": str, "role": str, "must_change_password": boolean, "disabled": boolean, "created_at": dateTime}, ""),
	"Users":             obj(map[string]any{"items": arr(ref("User"))}, ""),
	"NewUser":           obj(map[string]any{"name": str, "role": map[string]any{"type": "string", "enum": []string{"reader", "analyst", "admin"}}, "password": str}, ""),
	"UserPatch":         obj(map[string]any{"role": str, "password": str, "disabled": boolean}, ""),
	"Token":             obj(map[string]any{"id": str, "name": str, "scopes": arr(str), "binding": str, "bound_id": str, "created_by": str, "created_at": dateTime, "expires_at": dateTime, "revoked_at": dateTime, "last_used_at": dateTime}, ""),
	"Tokens":            obj(map[string]any{"items": arr(ref("Token"))}, ""),
	"NewToken":          obj(map[string]any{"name": str, "scopes": map[string]any{"type": "string", "description": "comma-separated: read, ingest, triage, admin, enroll (an enrolment token: enroll alone, expiring within 7 days)"}, "expires": map[string]any{"type": "string", "description": "90d, 12h, never or RFC 3339"}, "resource": map[string]any{"type": "string", "description": "cluster/NAME-or-ID or docker-host/NAME-or-ID"}}, ""),
	"CreatedToken":      obj(map[string]any{"token": map[string]any{"type": "string", "description": "the secret: shown once"}, "info": ref("Token")}, ""),
	"Registry": obj(map[string]any{"name": str, "url": str, "auth": map[string]any{"type": "string", "enum": []string{"none", "basic", "token", "docker"}}, "username": str,
		"include": arr(str), "exclude": arr(str), "repositories": arr(str), "crawl_interval": map[string]any{"type": "string", "description": "Go duration; 0: events only"},
		"concurrency": integer, "timeout": str, "max_image_size": integer, "insecure": boolean}, "settings; credentials are never returned"),
	"Registries":     obj(map[string]any{"items": arr(ref("Registry"))}, ""),
	"NewRegistry":    map[string]any{"allOf": []any{ref("Registry"), obj(map[string]any{"password": str, "token": str}, "the secret, sealed at rest")}},
	"RegistryEvents": map[string]any{"type": "object", "description": "CNCF distribution's {events: [...]}, Harbor's {type, event_data}, or {repository, digest, action (push, pull, delete), tag} / an array of them"},
	"NotifyResult":   obj(map[string]any{"format": str, "events": integer, "ignored": integer, "recorded": integer, "queued": integer}, ""),
	"RegistryImagePage": obj(map[string]any{"items": arr(obj(map[string]any{"registry": str, "repository": str, "digest": str, "tag": str, "media_type": str,
		"pushed_at": dateTime, "pulled_at": dateTime, "deleted_at": dateTime,
		"scan":   obj(map[string]any{"digest": str, "state": map[string]any{"type": "string", "enum": []string{"pending", "scanned", "failed"}}, "reason": str, "detail": str, "attempts": integer, "scans": integer, "updated_at": dateTime, "scanned_at": dateTime}, ""),
		"images": arr(obj(map[string]any{"id": str, "platform": str, "state": str, "reason": str, "verdict": str, "critical": integer, "high": integer, "medium": integer, "low": integer, "unknown": integer}, ""))}, "")), "next": str}, ""),
	"EnrolRequest":    obj(map[string]any{"kind": map[string]any{"type": "string", "enum": []string{"docker", "cluster", "node"}}, "name": str, "version": str, "hostname": str, "interval_seconds": integer}, ""),
	"AgentCredential": obj(map[string]any{"agent_id": str, "token": map[string]any{"type": "string", "description": "the agent's credential: shown once"}, "expires_at": dateTime, "server_version": str, "warning": str}, ""),
	"Heartbeat":       obj(map[string]any{"version": str, "interval_seconds": integer, "health": map[string]any{"type": "object", "description": "the agent's counters (at most 16 KiB)"}}, ""),
	"HeartbeatReply":  obj(map[string]any{"agent_id": str, "server_version": str, "warning": str, "credential_expires_at": dateTime}, ""),
	"Agents":          obj(map[string]any{"items": arr(obj(map[string]any{"id": str, "kind": str, "name": str, "binding": str, "resource_id": str, "token_id": str, "version": str, "hostname": str, "enrolled_by": str, "enrolled_at": dateTime, "last_contact": dateTime, "silent": boolean, "health": map[string]any{"type": "object"}}, ""))}, ""),
	"Catalog": obj(map[string]any{"source": str, "controls": arr(obj(map[string]any{"id": str, "title": str, "max_points": number}, "")),
		"recommendations": arr(obj(map[string]any{"id": str, "title": str, "control": str, "severity": str, "resource_kinds": arr(str), "description": str, "remediation": arr(str), "rules": arr(str), "rule_prefixes": arr(str)}, ""))}, "docs/schema.md Recommendations"),
	"RecSummary":      obj(map[string]any{"id": str, "title": str, "severity": str, "control": str, "resource_kinds": arr(str), "counts": map[string]any{"type": "object", "additionalProperties": integer}, "unhealthy": integer, "total": integer}, ""),
	"Recommendations": obj(map[string]any{"items": arr(ref("RecSummary"))}, ""),
	"Recommendation":  obj(map[string]any{"recommendation": map[string]any{"type": "object"}, "control": map[string]any{"type": "object"}, "counts": map[string]any{"type": "object"}, "unhealthy": ref("RecResourcePage")}, ""),
	"RecResource": obj(map[string]any{"resource_id": str, "kind": str, "name": str, "root": str, "namespace": str, "status": str, "underlying": str, "severity": str, "exemption_id": str,
		"evidence": arr(str), "first_seen": dateTime, "evaluated_at": dateTime, "status_since": dateTime, "resolved_at": dateTime}, ""),
	"RecResourcePage": page("RecResource"),
	"Score": obj(map[string]any{"points": number, "max_points": number, "percent": number, "computed_at": dateTime,
		"controls": arr(obj(map[string]any{"control": str, "title": str, "points": number, "max_points": number, "healthy": integer, "unhealthy": integer, "not_assessed": integer, "exempt": integer, "not_applicable": integer}, ""))}, "max points × healthy / (healthy + unhealthy) per control"),
	"ScoreHistory": obj(map[string]any{"items": arr(obj(map[string]any{"day": str, "control": str, "points": number, "max_points": number, "percent": number, "healthy": integer, "unhealthy": integer}, ""))}, ""),
	"Exemption": obj(map[string]any{"id": str, "recommendation": str, "vulnerability": str, "scope": str, "value": str, "reason": str, "justification": str, "author": str, "source": str,
		"created_at": dateTime, "expires": dateTime, "until_fix": boolean, "revoked_at": dateTime, "revoked_by": str}, ""),
	"Exemptions": obj(map[string]any{"items": arr(ref("Exemption"))}, ""),
	"NewExemption": obj(map[string]any{"recommendation": str, "vulnerability": str, "scope": map[string]any{"type": "string", "enum": []string{"resource", "repository", "namespace", "cluster", "all"}},
		"value": str, "reason": str, "expires": map[string]any{"type": "string", "description": "RFC 3339 or a duration (90d, 720h)"}, "until_fix": boolean}, "one of recommendation and vulnerability"),
	"VEXDocument":  obj(map[string]any{"id": str, "author": str, "statements": integer, "received_at": dateTime}, ""),
	"VEXDocuments": obj(map[string]any{"items": arr(ref("VEXDocument"))}, ""),
	"History":      obj(map[string]any{"resource": str, "assessments": arr(map[string]any{"type": "object"}), "changes": arr(map[string]any{"type": "object"}), "resolved_findings": arr(map[string]any{"type": "object"}), "recommendations": arr(map[string]any{"type": "object"})}, "docs/schema.md History"),
	"ImageLayers": obj(map[string]any{"image": str, "platform": str, "created": str, "size": integer, "distro": map[string]any{"type": "object", "description": "docs/schema.md Distro; eol and eol_date as of the request"},
		"layers": arr(map[string]any{"type": "object", "description": "docs/schema.md Layer"})}, ""),
	"PackagePage": obj(map[string]any{"items": arr(map[string]any{"type": "object", "description": "docs/schema.md Package"}), "total": integer, "next": str}, ""),
	"ImageUpgrades": obj(map[string]any{"image": str, "findings": integer, "fixable": integer, "groups": integer, "next": str, "truncated": boolean,
		"upgrades": arr(map[string]any{"type": "object", "description": "docs/schema.md Upgrade, plus weight, counts (by severity), known_exploited, cumulative_fixed"}),
		"packages": arr(obj(map[string]any{"package": str, "type": str, "version": str, "path": str, "severity": str, "fixed_in": str,
			"findings": arr(obj(map[string]any{"id": str, "severity": str, "status": str, "fixed_version": str, "known_exploited": boolean, "title": str}, ""))}, ""))}, ""),
	"Sections": obj(map[string]any{"resource": str, "sections": arr(obj(map[string]any{"source": str, "id": str, "title": str,
		"counts": map[string]any{"type": "object", "additionalProperties": integer}, "items": arr(ref("Assessment"))}, ""))}, ""),
	"AuditLog": obj(map[string]any{"items": arr(obj(map[string]any{"at": dateTime, "actor": str, "action": str, "target": str, "detail": str}, ""))}, ""),
	"VulnerabilityList": obj(map[string]any{"items": arr(obj(map[string]any{"id": str, "title": str, "aliases": arr(str), "severity": str, "images": integer, "findings": integer,
		"package": str, "packages": integer, "fixable": boolean, "known_exploited": boolean, "kev_date_added": str,
		"epss": obj(map[string]any{"score": number, "percentile": number, "date": str}, "")}, "")), "next": str,
		"match": map[string]any{"type": "string", "enum": []string{"id", "prefix", "package", "none"}}}, "match: how q was read"),
	"AlertStats": obj(map[string]any{"from": str, "days": integer, "items": arr(obj(map[string]any{"day": str, "severity": str, "status": str, "count": integer}, "")),
		"by_severity": map[string]any{"type": "object", "additionalProperties": integer}, "by_status": map[string]any{"type": "object", "additionalProperties": integer}}, ""),
	"LoginMethods": obj(map[string]any{"password": boolean, "oidc": obj(map[string]any{"name": str, "login": str}, "present when single sign-on is configured")}, ""),
	"ImageVerdict": obj(map[string]any{"image": str, "known": boolean, "digest": str, "resolved_by": map[string]any{"type": "string", "enum": []string{"digest", "reference"}},
		"verdict": map[string]any{"type": "string", "enum": []string{"healthy", "unhealthy", "not-assessed"}}, "worst_severity": str,
		"counts": ref("Counts"), "fixable": ref("Counts"), "exempt": ref("Counts"), "db_version": str, "error": str}, "docs/schema.md Image verdicts"),
	"Counts":              obj(map[string]any{"critical": integer, "high": integer, "medium": integer, "low": integer, "unknown": integer, "total": integer}, ""),
	"ImageVerdictRequest": obj(map[string]any{"images": arr(str)}, "at most 500 references or digests"),
	"ImageVerdicts":       obj(map[string]any{"items": arr(ref("ImageVerdict"))}, "in the order asked"),
	"ConfigDoc":           obj(map[string]any{"name": str, "version": integer, "config": map[string]any{"type": "string", "description": "the YAML document"}, "updated_by": str, "updated_at": dateTime}, "version 0: never set (the engines' defaults)"),
	"ConfigUpdate":        obj(map[string]any{"config": map[string]any{"type": "string", "description": "the YAML document (at most 1 MiB)"}}, ""),
}

var (
	str      = map[string]any{"type": "string"}
	integer  = map[string]any{"type": "integer"}
	number   = map[string]any{"type": "number"}
	boolean  = map[string]any{"type": "boolean"}
	dateTime = map[string]any{"type": "string", "format": "date-time"}
	strMap   = map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}
)

func obj(props map[string]any, desc string) map[string]any {
	o := map[string]any{"type": "object", "properties": props}
	if desc != "" {
		o["description"] = desc
	}
	return o
}
func arr(item any) map[string]any { return map[string]any{"type": "array", "items": item} }
func ref(name string) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + name}
}
func page(item string) map[string]any {
	return obj(map[string]any{"items": arr(ref(item)), "next": map[string]any{"type": "string", "description": "cursor of the next page; absent on the last"}}, "")
}

var pathParam = regexp.MustCompile(`\{([a-z]+)(\.\.\.)?\}`)

// OpenAPIPath turns a route pattern into its OpenAPI path.
func OpenAPIPath(p string) string { return pathParam.ReplaceAllString(p, "{$1}") }

// Document builds the OpenAPI 3.1 document from the route table.
func (a *API) Document() map[string]any {
	paths := map[string]any{}
	for _, rt := range a.routes {
		p := OpenAPIPath(rt.Path)
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		status := rt.Status
		if status == 0 {
			status = 200
		}
		responses := map[string]any{}
		okResp := map[string]any{"description": "success"}
		if rt.Result != "" {
			ct := "application/json"
			if rt.Result == "Text" {
				ct = "text/plain"
			}
			okResp["content"] = map[string]any{ct: map[string]any{"schema": ref(rt.Result)}}
		}
		responses[strconv.Itoa(status)] = okResp
		prob := map[string]any{"content": map[string]any{"application/problem+json": map[string]any{"schema": ref("Problem")}}}
		withDesc := func(d string) map[string]any {
			m := map[string]any{"description": d}
			for k, v := range prob {
				m[k] = v
			}
			return m
		}
		if rt.Scope != "" {
			responses["401"] = withDesc("no, unknown, expired or revoked credentials")
			responses["403"] = withDesc("the credentials lack the scope, or the report is outside the token's binding")
		}
		if rt.Body != "" || len(rt.Params) > 0 {
			responses["400"] = withDesc("bad parameters or body")
		}
		if rt.Path == "/api/v1/reports" {
			responses["413"] = withDesc("body larger than the limit")
			responses["422"] = withDesc("not a valid report: nothing stored")
			responses["200"] = map[string]any{"description": "the same content was the last stored for this resource: nothing new stored", "content": map[string]any{"application/json": map[string]any{"schema": ref("IngestResult")}}}
		}
		if strings.HasPrefix(rt.Path, "/api/v1/config/") {
			if rt.Method == "GET" {
				responses["304"] = map[string]any{"description": "If-None-Match holds the current ETag: unchanged"}
			} else {
				responses["412"] = withDesc("If-Match names a version that is no longer the current one")
				responses["422"] = withDesc("the engine's parser refuses the document: the current one stays")
			}
		}
		if strings.Contains(rt.Path, "{") {
			responses["404"] = withDesc("not found")
		}
		op := map[string]any{"summary": rt.Summary, "tags": []string{rt.Tag}, "responses": responses,
			"operationId":     strings.ToLower(rt.Method) + strings.NewReplacer("/api/v1", "", "/", "_", "{", "", "}", "", ".", "", "-", "_").Replace(rt.Path),
			"x-bulwark-scope": string(rt.Scope)}
		if rt.Scope == "" {
			op["security"] = []any{}
		}
		if rt.Agents {
			op["x-bulwark-agents"] = true // an agent's credential may call it too
		}
		var params []any
		for _, pa := range rt.Params {
			sch := map[string]any{"type": "string"}
			if len(pa.Enum) > 0 {
				sch["enum"] = pa.Enum
			}
			params = append(params, map[string]any{"name": pa.Name, "in": pa.In, "description": pa.Desc, "required": pa.In == "path", "schema": sch})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.Body != "" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": ref(rt.Body)}}}
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "Bulwark server API", "version": "1", "description": "Every list takes sort, limit and cursor and returns {items, next}. Errors are RFC 9457 problem documents. Authenticate with `Authorization: Bearer <token>` or a session cookie (unsafe methods then need X-CSRF-Token)."},
		"paths":   paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"bearer":  map[string]any{"type": "http", "scheme": "bearer", "description": "API token (bwt_…)"},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": SessionCookie},
			},
		},
		"security": []any{map[string]any{"bearer": []any{}}, map[string]any{"session": []any{}}},
	}
}

func (a *API) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(a.Document()) //nolint:errcheck
}
