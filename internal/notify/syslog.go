package notify

import "github.com/bulwarkdev/bulwark/internal/alert"

// syslogMessage maps an event (already normalized) onto internal/alert's
// RFC 5424 message: MSGID is the event kind, the fields are structured
// data, the MSG is the title and the detail.
func syslogMessage(e Event) alert.SyslogMessage {
	text := e.Title
	if e.Detail != "" {
		text += ": " + e.Detail
	}
	return alert.SyslogMessage{
		Time: e.At, Severity: e.Severity, MsgID: string(e.Kind), Text: text,
		Params: []alert.SDParam{
			{Name: "id", Value: e.ID},
			{Name: "kind", Value: string(e.Kind)},
			{Name: "severity", Value: string(e.Severity)},
			{Name: "resource_kind", Value: string(e.Resource.Kind)},
			{Name: "resource", Value: e.Resource.ID},
			{Name: "resource_name", Value: e.Resource.Name},
			{Name: "rule", Value: e.Rule},
			{Name: "recommendation", Value: e.Recommendation},
			{Name: "vulnerability", Value: e.Vulnerability},
			{Name: "url", Value: e.URL},
		},
	}
}
