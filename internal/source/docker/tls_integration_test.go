package docker

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// testPKI writes a test CA (ca.pem), a server certificate for 127.0.0.1
// (server.pem, server-key.pem) and a client certificate (cert.pem,
// key.pem, the names DOCKER_CERT_PATH uses) into dir.
func testPKI(t *testing.T, dir string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bulwark-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	for i, l := range []struct {
		cert, key string
		usage     x509.ExtKeyUsage
	}{{"server.pem", "server-key.pem", x509.ExtKeyUsageServerAuth}, {"cert.pem", "key.pem", x509.ExtKeyUsageClientAuth}} {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: l.cert},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{l.usage}, KeyUsage: x509.KeyUsageDigitalSignature,
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(key)
		write(l.cert, "CERTIFICATE", der)
		write(l.key, "EC PRIVATE KEY", kb)
	}
}

func linkExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// startTLSEngine starts a second dockerd of its own (data-root, exec-root,
// pidfile, unix socket, containerd namespace) serving TCP+TLS on loopback
// with client certificates required, and returns its TCP address and unix
// socket. It leaves the shared engine alone: no iptables, no IP forwarding
// or masquerading, and a bridge of its own (with --bridge=none dockerd
// deletes the host's docker0, the shared engine's bridge). It skips when
// it cannot run dockerd (not root, no dockerd).
func startTLSEngine(t *testing.T, pki string) (tcpAddr, sock string) {
	t.Helper()
	testenv.Docker(t)
	dockerd, err := exec.LookPath("dockerd")
	if err != nil || os.Geteuid() != 0 {
		testenv.Skipf(t, "needs root and dockerd to start a second Docker engine over TLS (%v)", err)
	}
	dir, err := os.MkdirTemp("", "bwd") // short: the unix socket path is bounded
	if err != nil {
		t.Fatal(err)
	}
	bridge := fmt.Sprintf("bwt%d", os.Getpid()%1000000)
	for _, args := range [][]string{{"link", "add", bridge, "type", "bridge"}, {"addr", "add", "10.213.77.1/24", "dev", bridge}, {"link", "set", bridge, "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			testenv.Skipf(t, "cannot make a bridge for the second engine: ip %v: %v %s", args, err, out)
		}
	}
	hadDocker0 := linkExists("docker0")
	cfg := filepath.Join(dir, "daemon.json")
	// vfs: the second engine's storage needs no kernel support beyond a
	// directory; an empty config keeps /etc/docker/daemon.json out.
	if err := os.WriteFile(cfg, []byte(`{"storage-driver":"vfs"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcpAddr = ln.Addr().String()
	ln.Close()
	sock = filepath.Join(dir, "d.sock")
	ns := "bulwark-test-" + strconv.Itoa(os.Getpid())
	logf, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dockerd, "--config-file", cfg, "--data-root", filepath.Join(dir, "root"), "--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"), "-H", "unix://"+sock, "-H", "tcp://"+tcpAddr,
		"--tlsverify", "--tlscacert", filepath.Join(pki, "ca.pem"), "--tlscert", filepath.Join(pki, "server.pem"), "--tlskey", filepath.Join(pki, "server-key.pem"),
		"--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge", bridge,
		"--containerd-namespace", ns, "--containerd-plugins-namespace", ns+"-plugins")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dockerd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
		exec.Command("ip", "link", "del", bridge).Run()
		if hadDocker0 && !linkExists("docker0") {
			t.Errorf("the second engine removed docker0, the shared engine's bridge")
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("removing %s: %v", dir, err)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := exec.CommandContext(ctx, "docker", "-H", "unix://"+sock, "version", "--format", "{{.Server.Version}}").CombinedOutput()
		cancel()
		if err == nil {
			t.Logf("second dockerd %s up on %s (TLS) and %s", strings.TrimSpace(string(out)), tcpAddr, sock)
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("the second dockerd did not come up in 60 s: %v %s\n%s", err, out, b)
		}
		time.Sleep(300 * time.Millisecond)
	}
	return tcpAddr, sock
}

// lockedLog is a log destination read while the source writes.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestIntegrationTLSEngine follows a second, real dockerd over TCP with
// mutual TLS (a test CA): events arrive, containers are joined by inspect
// and exec argv is read whole, as on the unix socket. Without the client
// certificate the source says why it cannot connect.
func TestIntegrationTLSEngine(t *testing.T) {
	pki := t.TempDir()
	testPKI(t, pki)
	tcpAddr, sock := startTLSEngine(t, pki)
	// The docker CLI of the helpers talks to the second engine too.
	t.Setenv("DOCKER_HOST", "unix://"+sock)

	_, c := startSource(t, Options{Host: "tcp://" + tcpAddr, TLSCAFile: filepath.Join(pki, "ca.pem"),
		TLSCertFile: filepath.Join(pki, "cert.pem"), TLSKeyFile: filepath.Join(pki, "key.pem"),
		Since: time.Now().Add(-time.Second), MinBackoff: 50 * time.Millisecond})
	var noCert lockedLog
	startSource(t, Options{Host: "tcp://" + tcpAddr, TLSCAFile: filepath.Join(pki, "ca.pem"), MinBackoff: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&noCert, nil))})

	tag := fmt.Sprintf("bulwark-test-dockertls:%d", os.Getpid())
	sourcetest.HostImage(t, tag)
	c.Wait(t, "image import over TLS", func(e *event.Event) bool {
		return e.Kind == event.KindImage && e.Action == "import" && e.Object != nil && e.Object.ID != ""
	})
	ctr := sourcetest.RunContainer(t, tag, "--network", "none", "--label", "io.kubernetes.pod.name=tls-1")
	e := c.Wait(t, "container start over TLS", containerEvent(ctr, "start"))
	if e.Container.Image != tag || e.Container.Pod != "tls-1" {
		t.Errorf("container join over TLS: %+v", e.Container)
	}
	if out, err := sourcetest.Docker(context.Background(), nil, "exec", ctr, "sh", "-c", "id -u"); err != nil || out != "0" {
		t.Fatalf("docker exec: %v: %s", err, out)
	}
	e = c.Wait(t, "exec_start over TLS", containerEvent(ctr, "exec_start"))
	if !slices.Equal(e.Container.Exec, []string{"sh", "-c", "id -u"}) {
		t.Errorf("exec argv over TLS %q, want [sh -c \"id -u\"] (from exec inspect)", e.Container.Exec)
	}

	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(noCert.String(), "docker event stream broke") {
		if time.Now().After(deadline) {
			t.Fatalf("a source without the client certificate logged nothing in 20 s:\n%s", noCert.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if log := noCert.String(); !strings.Contains(log, "certificate") {
		t.Errorf("the refusal does not say it is about the certificate:\n%s", log)
	}
}
