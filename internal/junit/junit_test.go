package junit

import (
	"bytes"
	"encoding/xml"
	"testing"
)

func TestAddCountsAndWrite(t *testing.T) {
	s := New("bench")
	s.Add("1", Case{Name: "a"})
	s.Add("2", Case{Name: "b", Failure: &Message{Message: "<bad & wrong>"}})
	s.Add("1", Case{Name: "c", Error: &Message{Message: "e"}})
	s.Add("2", Case{Name: "d", Skipped: &Message{Message: "n/a"}})
	var buf bytes.Buffer
	if err := s.Write(&buf); err != nil {
		t.Fatal(err)
	}
	var got Suites
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	if got.Tests != 4 || got.Fails != 1 || got.Errors != 1 || got.Skipped != 1 || len(got.Suites) != 2 ||
		got.Suites[0].Name != "1" || got.Suites[0].Tests != 2 || got.Suites[1].Fails != 1 || got.Suites[1].Cases[0].Failure.Message != "<bad & wrong>" {
		t.Errorf("read back %+v", got)
	}
}
