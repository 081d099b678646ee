package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// A Slack-compatible message is "text" plus one legacy attachment. Slack,
// Mattermost and Rocket.Chat all render attachments (colour bar, title
// link, fields); Mattermost and Rocket.Chat ignore Block Kit "blocks", and
// Slack shows blocks and attachments both, so attachments alone say it once
// everywhere. "text" is the notification line phones show.
type slackMessage struct {
	Text        string            `json:"text"`
	Attachments []slackAttachment `json:"attachments"`
}

type slackAttachment struct {
	Fallback  string       `json:"fallback"`
	Color     string       `json:"color"`
	Title     string       `json:"title"`
	TitleLink string       `json:"title_link,omitempty"`
	Text      string       `json:"text,omitempty"`
	Fields    []slackField `json:"fields,omitempty"`
	Footer    string       `json:"footer"`
	TS        int64        `json:"ts"`
	MrkdwnIn  []string     `json:"mrkdwn_in"`
}

type slackField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

var slackColor = map[model.Severity]string{
	model.SeverityCritical: "#b00020",
	model.SeverityHigh:     "#e65100",
	model.SeverityMedium:   "#f9a825",
	model.SeverityLow:      "#1565c0",
}

var kindLabel = map[Kind]string{
	KindFinding:        "New finding",
	KindRecommendation: "Newly unhealthy",
	KindAlert:          "New alert",
}

// slackEscaper escapes what Slack's mrkdwn reads as markup — '&', '<' and
// '>' (so image or rule text cannot forge a link or a <!channel> mention) —
// and breaks '@' so "@channel" or "@all" in such text pings nobody on
// Mattermost or Rocket.Chat (a word joiner after it; it reads the same).
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "@", "@\u2060")

func slackEscape(s string) string { return slackEscaper.Replace(s) }

// slackPayload renders an event (already normalized) as an incoming-webhook
// message.
func slackPayload(e Event) ([]byte, error) {
	sev := strings.ToUpper(string(e.Severity))
	title := slackEscape(e.Title)
	res := string(e.Resource.Kind) + " " + e.Resource.Name
	if e.Resource.Name == "" {
		res = string(e.Resource.Kind) + " " + e.Resource.ID
	}
	att := slackAttachment{
		Fallback: fmt.Sprintf("[%s] %s: %s", sev, kindLabel[e.Kind], title),
		Color:    slackColor[e.Severity],
		Title:    title,
		Text:     slackEscape(e.Detail),
		Fields: []slackField{
			{Title: "Severity", Value: sev, Short: true},
			{Title: "Resource", Value: slackEscape(res), Short: true},
		},
		Footer:   slackEscape("Bulwark · " + string(e.Kind) + " · " + e.ID),
		TS:       e.At.Unix(),
		MrkdwnIn: []string{"text", "fields"},
	}
	if att.Color == "" {
		att.Color = "#757575"
	}
	if e.URL != "" {
		att.TitleLink = e.URL // validated: absolute http(s); JSON carries it, not mrkdwn
	}
	for _, f := range [][2]string{{"Vulnerability", e.Vulnerability}, {"Recommendation", e.Recommendation}, {"Rule", e.Rule}} {
		if f[1] != "" {
			att.Fields = append(att.Fields, slackField{Title: f[0], Value: slackEscape(f[1]), Short: true})
		}
	}
	msg := slackMessage{
		Text:        fmt.Sprintf("*%s* %s: %s", sev, kindLabel[e.Kind], title),
		Attachments: []slackAttachment{att},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(msg); err != nil {
		return nil, fmt.Errorf("encoding Slack message for %s: %w", e.ID, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
