// LD_PRELOAD shim for running Swift binaries under Debian 12's valgrind 3.19.
// libdispatch parks the main thread after dispatch_main() with sigsuspend() on a signal mask that
// lives in its read-only data; valgrind 3.19's rt_sigsuspend wrapper edits the mask in place and
// dies with SIGSEGV ("VALGRIND INTERNAL ERROR ... si_code=2"). Passing a stack copy is equivalent.
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, 8);
}
