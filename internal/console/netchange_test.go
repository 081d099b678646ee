package console_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// TestOpenAfterNetworkChange: a load Chromium aborts because the host's
// interfaces changed (what a container started by another package's test
// does) is made again by open. The change is real: a veth pair with an
// address, added while Chromium's connection to the server is pending
// (the server's accept queue is full, so its SYN waits).
func TestOpenAfterNetworkChange(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "adding a network interface needs root")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		testenv.Skipf(t, "ip (iproute2) is not installed")
	}
	// A listener with a backlog of 0 (one pending connection), filled.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "listener")
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	filler, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer filler.Close()

	link := fmt.Sprintf("bwnet%d", os.Getpid()%100000)
	t.Cleanup(func() { _ = exec.Command(ip, "link", "del", link).Run() })
	go func() {
		time.Sleep(time.Second) // Chromium is connecting by then
		for _, args := range [][]string{
			{"link", "add", link, "type", "veth", "peer", "name", link + "p"},
			{"addr", "add", "10.251.77.1/30", "dev", link},
			{"link", "set", link, "up"},
			{"link", "set", link + "p", "up"},
		} {
			if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
				t.Errorf("ip %v: %v %s", args, err, out)
			}
		}
		time.Sleep(2 * time.Second)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/page" {
				w.WriteHeader(http.StatusNoContent) // favicon
				return
			}
			fmt.Fprint(w, `<!doctype html><title>t</title><main><h1 id="ok">loaded</h1></main>`)
		})}
		_ = srv.Serve(ln)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := newChrome(t, ctx, "http://"+ln.Addr().String())
	c.open("/page", "#ok")
	if c.reloads == 0 {
		t.Errorf("the load was not aborted by the network change, so the retry was not exercised")
	}
}
