package notify

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParseConfig: any input either parses into sinks that hold every
// invariant New relies on, or fails with an error that quotes no URL.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(fullConfig))
	f.Add([]byte("sinks: [{name: a, type: syslog, address: 'udp://h:514'}]"))
	f.Add([]byte("sinks: [{name: a, type: slack, url: 'https://h/services/SECRETSECRETSECRETSECRET'}]"))
	f.Add([]byte("sinks:\n  - {name: a, type: webhook, url: [x]}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg, err := ParseConfig(in)
		if err != nil {
			if strings.Contains(err.Error(), "SECRETSECRETSECRETSECRET") {
				t.Errorf("error quotes the URL: %v", err)
			}
			return
		}
		names := map[string]bool{}
		for _, s := range cfg.Sinks {
			if !nameRE.MatchString(s.Name) || names[s.Name] {
				t.Errorf("bad or duplicate name %q", s.Name)
			}
			names[s.Name] = true
			switch s.Type {
			case SinkWebhook, SinkSlack:
				if (s.URL == "") == (s.URLFile == "") || (s.URL != "" && !httpURL(s.URL)) || s.Address != "" {
					t.Errorf("%s: url %q url_file %q address %q", s, s.URL, s.URLFile, s.Address)
				}
			case SinkSyslog:
				if _, _, err := syslogAddress(s.Address); err != nil || s.URL != "" || s.QueueDir != "" || len(s.Headers) > 0 {
					t.Errorf("%s: address %q: %v", s, s.Address, err)
				}
			default:
				t.Errorf("type %q accepted", s.Type)
			}
			for _, k := range s.Kinds {
				if !slices.Contains(Kinds(), k) {
					t.Errorf("kind %q accepted", k)
				}
			}
			for _, rk := range s.ResourceKinds {
				if !slices.Contains(resourceKinds, rk) {
					t.Errorf("resource kind %q accepted", rk)
				}
			}
			if s.MaxQueueBytes < 0 {
				t.Errorf("max_queue_bytes %d", s.MaxQueueBytes)
			}
		}
	})
}
