// Command comparebench prints where `bulwark bench docker -f json` and
// docker-bench-security's JSON log disagree, control by control.
//
//	go run ./bench/comparebench bulwark.json dbs.log.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type bulwarkReport struct {
	Results []struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		Automated bool   `json:"automated"`
		Evidence  []string
	} `json:"results"`
}

type dbsLog struct {
	Tests []struct {
		Results []struct {
			ID      string `json:"id"`
			Desc    string `json:"desc"`
			Result  string `json:"result"`
			Details string `json:"details"`
		} `json:"results"`
	} `json:"tests"`
}

// verdict maps both tools onto pass / fail / no-verdict (bulwark's
// not-applicable and info, docker-bench's INFO and NOTE: "file not found",
// "not listening on TCP") / warn / error.
func verdictBulwark(s string) string {
	switch s {
	case "pass", "fail":
		return s
	case "not-applicable", "info":
		return "no-verdict"
	}
	return s
}

func verdictDBS(s string) string {
	switch s {
	case "PASS":
		return "pass"
	case "WARN":
		return "fail"
	case "INFO", "NOTE":
		return "no-verdict"
	}
	return strings.ToLower(s)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: comparebench bulwark.json dbs.log.json")
		os.Exit(2)
	}
	var b bulwarkReport
	var d dbsLog
	for i, v := range []any{&b, &d} {
		raw, err := os.ReadFile(os.Args[i+1])
		if err == nil {
			err = json.Unmarshal(raw, v)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "comparebench:", os.Args[i+1], err)
			os.Exit(1)
		}
	}
	theirs := map[string]string{}
	details := map[string]string{}
	for _, t := range d.Tests {
		for _, r := range t.Results {
			theirs[r.ID] = verdictDBS(r.Result)
			details[r.ID] = r.Details
		}
	}
	agree, compared := 0, 0
	var diffs []string
	for _, r := range b.Results {
		if !r.Automated {
			continue
		}
		t, ok := theirs[r.ID]
		if !ok {
			continue
		}
		compared++
		ours := verdictBulwark(r.Status)
		if ours == t {
			agree++
			continue
		}
		diffs = append(diffs, fmt.Sprintf("  %-7s bulwark %-18s docker-bench %-12s %s", r.ID, ours, t, trim(details[r.ID], 70)))
	}
	sort.Strings(diffs)
	fmt.Printf("verdicts compared on %d automated controls: %d agree, %d differ\n", compared, agree, len(diffs))
	for _, l := range diffs {
		fmt.Println(l)
	}
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
