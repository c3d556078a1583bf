package main

import "syscall"

// procAttr has the kernel kill a function process when the harness dies, so
// an interrupted run leaves none behind.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
