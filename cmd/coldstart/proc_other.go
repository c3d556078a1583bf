//go:build !linux

package main

import "syscall"

// procAttr: only Linux has a parent-death signal (and /proc, which the
// harness reads memory from).
func procAttr() *syscall.SysProcAttr { return nil }
