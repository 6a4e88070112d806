package faultmatrix

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// BuildBridge compiles cmd/bridge into dir and returns the binary's path.
func BuildBridge(dir string) (string, error) { return BuildCommand(dir, "bridge") }

// BuildCommand compiles cmd/<name> into dir and returns the binary's path.
// It needs the go tool on PATH (go test and go run put it there) and the
// module's source.
func BuildCommand(dir, name string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("faultmatrix: building cmd/%s needs the go tool on PATH: %w", name, err)
	}
	bin := filepath.Join(dir, name)
	out, err := exec.Command(goTool, "build", "-o", bin, "github.com/ctibridge/ctibridge/cmd/"+name).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("faultmatrix: go build ./cmd/%s: %w\n%s", name, err, out)
	}
	return bin, nil
}

// Daemon is one `bridge run --config` process (see Rig.DaemonConfig).
type Daemon struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once Wait has returned
	err    error         // Wait's result, set before exited is closed
}

// StartDaemon starts `bin run --config config` with its output to out.
func StartDaemon(bin, config string, out io.Writer) (*Daemon, error) {
	d := &Daemon{cmd: exec.Command(bin, "run", "--config", config), exited: make(chan struct{})}
	d.cmd.Stdout, d.cmd.Stderr = out, out
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("faultmatrix: start %s: %w", bin, err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.exited)
	}()
	return d, nil
}

// Pid is the process id.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// Exited is closed when the process has exited.
func (d *Daemon) Exited() <-chan struct{} { return d.exited }

// Stop sends sig (unless the process already exited) and waits up to
// within for the exit. It returns the exit code, or minus the signal's
// number when a signal ended the process; past within it kills the
// process and returns an error.
func (d *Daemon) Stop(sig syscall.Signal, within time.Duration) (int, error) {
	select {
	case <-d.exited:
		return d.exitCode()
	default:
	}
	if err := d.cmd.Process.Signal(sig); err != nil {
		select {
		case <-d.exited: // it exited meanwhile
			return d.exitCode()
		default:
			return -1, fmt.Errorf("faultmatrix: signal %v: %w", sig, err)
		}
	}
	select {
	case <-d.exited:
		return d.exitCode()
	case <-time.After(within):
		d.Kill()
		return -1, fmt.Errorf("faultmatrix: the bridge did not exit within %v of %v: killed", within, sig)
	}
}

// Signal sends sig without waiting (SIGSTOP, SIGCONT).
func (d *Daemon) Signal(sig syscall.Signal) error {
	return d.cmd.Process.Signal(sig)
}

// Kill ends the process abruptly if it still runs and waits for it.
func (d *Daemon) Kill() {
	select {
	case <-d.exited:
	default:
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
}

// Wait waits for the exit and returns the exit code as Stop does.
func (d *Daemon) Wait() (int, error) {
	<-d.exited
	return d.exitCode()
}

// exitCode reads the exit once exited is closed.
func (d *Daemon) exitCode() (int, error) {
	var ee *exec.ExitError
	if errors.As(d.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	if d.err != nil {
		return -1, d.err
	}
	return 0, nil
}
