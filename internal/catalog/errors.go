package catalog

import (
	"errors"
	"strconv"
)

var errEmptyName = errors.New("catalog: cataloger with empty name")

type duplicateError struct{ name string }

func (e *duplicateError) Error() string {
	return "catalog: duplicate cataloger " + strconv.Quote(e.name)
}

func itoa(i int) string { return strconv.Itoa(i) }
