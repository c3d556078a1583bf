package devstack

import "syscall"

// procAttr puts a child in its own process group and has the kernel kill it
// when its parent dies, so an interrupted run leaves nothing behind.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
