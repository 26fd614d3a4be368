package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat; 100
// on every Linux architecture Go supports.
const clockTick = 100

// procStat is the parent pid and the CPU time (user+system) of one process.
type procStat struct {
	ppid int
	cpu  time.Duration
}

func readStat(pid int) (procStat, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, false
	}
	// The command name (field 2) may hold spaces; fields after it are fixed.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ppid, _ := strconv.Atoi(fields[1])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return procStat{ppid: ppid, cpu: time.Duration(utime+stime) * time.Second / clockTick}, true
}

// treeCPU is the CPU time of root and every live descendant: the master and
// workers of nginx and HAProxy, the single process of the Go peers.
func treeCPU(root int) time.Duration {
	stats := map[int]procStat{}
	entries, _ := filepath.Glob("/proc/[0-9]*")
	for _, e := range entries {
		pid, err := strconv.Atoi(filepath.Base(e))
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok {
			stats[pid] = st
		}
	}
	var total time.Duration
	for pid, st := range stats {
		if descends(pid, root, stats) {
			total += st.cpu
		}
	}
	return total
}

func descends(pid, root int, stats map[int]procStat) bool {
	for depth := 0; depth < 16 && pid > 1; depth++ {
		if pid == root {
			return true
		}
		pid = stats[pid].ppid
	}
	return false
}

// pinned returns cmd run by taskset on cpu, so the process and every thread
// and child it makes stay there.
func pinned(cpu int, name string, args ...string) *exec.Cmd {
	cmd := exec.Command("taskset", append([]string{"-c", strconv.Itoa(cpu), name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// stopGroup ends the process group a pinned command started, then waits.
func stopGroup(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}
