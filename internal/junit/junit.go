// Package junit writes JUnit XML, the one test-report format CI systems
// all read: the benchmarks (CIS Docker, CIS Kubernetes) report one test
// case per control, one suite per section.
package junit

import (
	"encoding/xml"
	"io"
)

// Suites is the document.
type Suites struct {
	XMLName xml.Name `xml:"testsuites"`
	Name    string   `xml:"name,attr"`
	Tests   int      `xml:"tests,attr"`
	Fails   int      `xml:"failures,attr"`
	Errors  int      `xml:"errors,attr"`
	Skipped int      `xml:"skipped,attr"`
	Suites  []Suite  `xml:"testsuite"`

	index map[string]int
}

// Suite is one section.
type Suite struct {
	Name    string `xml:"name,attr"`
	Tests   int    `xml:"tests,attr"`
	Fails   int    `xml:"failures,attr"`
	Errors  int    `xml:"errors,attr"`
	Skipped int    `xml:"skipped,attr"`
	Cases   []Case `xml:"testcase"`
}

// Case is one control: at most one of Failure, Error, Skipped is set; none
// means it passed.
type Case struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	Failure   *Message `xml:"failure,omitempty"`
	Error     *Message `xml:"error,omitempty"`
	Skipped   *Message `xml:"skipped,omitempty"`
	SystemOut string   `xml:"system-out,omitempty"`
}

// Message is a failure, error or skip.
type Message struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// New starts a document.
func New(name string) *Suites { return &Suites{Name: name, index: map[string]int{}} }

// Add appends a case to its suite (created in first-seen order) and
// counts it.
func (s *Suites) Add(suite string, c Case) {
	i, ok := s.index[suite]
	if !ok {
		i = len(s.Suites)
		s.index[suite] = i
		s.Suites = append(s.Suites, Suite{Name: suite})
	}
	su := &s.Suites[i]
	switch {
	case c.Failure != nil:
		su.Fails++
		s.Fails++
	case c.Error != nil:
		su.Errors++
		s.Errors++
	case c.Skipped != nil:
		su.Skipped++
		s.Skipped++
	}
	su.Tests++
	s.Tests++
	su.Cases = append(su.Cases, c)
}

// Write writes the document, indented, with the XML header.
func (s *Suites) Write(w io.Writer) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
