//go:build !linux

package procscan

import (
	"errors"

	"github.com/bulwarkdev/bulwark/internal/source/procinfo"
)

type procEvent struct {
	what        uint32
	pid, parent int
}

const (
	procEventFork = 0x00000001
	procEventExec = 0x00000002
	procEventExit = 0x80000000
)

type connector struct{}

func openConnector() (*connector, error) {
	return nil, errors.New("process events: Linux only")
}

func (c *connector) read([]byte) ([]procEvent, error) { return nil, errors.New("closed") }
func (c *connector) close()                           {}
func (c *connector) stop()                            {}

func diagTCP() ([]procinfo.TCPConn, error) { return nil, errors.New("sock_diag: Linux only") }
