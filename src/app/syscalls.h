/* The system calls app mode serves: riscv64 numbers (asm-generic/unistd.h),
 * the handler, the argument formats for --trace-syscalls and flags.
 *
 * Argument formats, one letter per argument: d signed, u unsigned, x hex,
 * o octal, f fd, s guest string, p pointer, S signal number.
 * Flags: SF_NORESTART (never restarted after a handler, like nanosleep),
 * SF_REGS (the handler set the registers itself: rt_sigreturn),
 * SF_HEX (result is an address), SF_NORETURN (exit, exit_group, execve),
 * SF_BLOCKS (may block in the host: not entered with a signal to deliver),
 * SF_BLOCKS_FD (the same when a0 is a pipe, terminal or socket). */
#ifndef CONDO_APP_SYSCALLS_H
#define CONDO_APP_SYSCALLS_H

#define SF_NORESTART 1
#define SF_REGS 2
#define SF_HEX 4
#define SF_NORETURN 8
#define SF_BLOCKS 16
#define SF_BLOCKS_FD 32

/* X(number, name, handler, formats, flags) */
#define APP_SYSCALLS(X)                                                                 \
	X(5, setxattr, noxattr, "sspux", 0)                                             \
	X(6, lsetxattr, noxattr, "sspux", 0)                                            \
	X(7, fsetxattr, noxattr, "fspux", 0)                                            \
	X(8, getxattr, noxattr, "sspu", 0)                                              \
	X(9, lgetxattr, noxattr, "sspu", 0)                                             \
	X(10, fgetxattr, noxattr, "fspu", 0)                                            \
	X(11, listxattr, noxattr, "spu", 0)                                             \
	X(12, llistxattr, noxattr, "spu", 0)                                            \
	X(13, flistxattr, noxattr, "fpu", 0)                                            \
	X(14, removexattr, noxattr, "ss", 0)                                            \
	X(15, lremovexattr, noxattr, "ss", 0)                                           \
	X(16, fremovexattr, noxattr, "fs", 0)                                           \
	X(17, getcwd, getcwd, "pu", 0)                                                  \
	X(19, eventfd2, eventfd2, "ux", 0)                                              \
	X(20, epoll_create1, epoll_create1, "x", 0)                                     \
	X(21, epoll_ctl, epoll_ctl, "fdfp", 0)                                          \
	X(22, epoll_pwait, epoll_pwait, "fpddpu", SF_NORESTART | SF_BLOCKS)             \
	X(23, dup, dup, "f", 0)                                                         \
	X(24, dup3, dup3, "ffx", 0)                                                     \
	X(25, fcntl, fcntl, "fdx", 0)                                                   \
	X(26, inotify_init1, inotify_init1, "x", 0)                                     \
	X(27, inotify_add_watch, inotify_add_watch, "fsx", 0)                           \
	X(28, inotify_rm_watch, inotify_rm_watch, "fd", 0)                              \
	X(29, ioctl, ioctl, "fxp", 0)                                                   \
	X(32, flock, flock, "fd", SF_BLOCKS)                                            \
	X(33, mknodat, mknodat, "fsox", 0)                                              \
	X(34, mkdirat, mkdirat, "fso", 0)                                               \
	X(35, unlinkat, unlinkat, "fsx", 0)                                             \
	X(36, symlinkat, symlinkat, "sfs", 0)                                           \
	X(37, linkat, linkat, "fsfsx", 0)                                               \
	X(43, statfs, statfs, "sp", 0)                                                  \
	X(44, fstatfs, fstatfs, "fp", 0)                                                \
	X(45, truncate, truncate, "sd", 0)                                              \
	X(46, ftruncate, ftruncate, "fd", 0)                                            \
	X(47, fallocate, fallocate, "fxdd", 0)                                          \
	X(48, faccessat, faccessat, "fso", 0)                                           \
	X(49, chdir, chdir, "s", 0)                                                     \
	X(50, fchdir, fchdir, "f", 0)                                                   \
	X(51, chroot, chroot, "s", 0)                                                   \
	X(52, fchmod, fchmod, "fo", 0)                                                  \
	X(53, fchmodat, fchmodat, "fsox", 0)                                            \
	X(54, fchownat, fchownat, "fsddx", 0)                                           \
	X(55, fchown, fchown, "fdd", 0)                                                 \
	X(56, openat, openat, "fsxo", 0)                                                \
	X(57, close, close, "f", 0)                                                     \
	X(59, pipe2, pipe2, "px", 0)                                                    \
	X(61, getdents64, getdents64, "fpu", 0)                                         \
	X(62, lseek, lseek, "fdd", 0)                                                   \
	X(63, read, read, "fpu", SF_BLOCKS_FD)                                          \
	X(64, write, write, "fpu", SF_BLOCKS_FD)                                        \
	X(65, readv, readv, "fpd", SF_BLOCKS_FD)                                        \
	X(66, writev, writev, "fpd", SF_BLOCKS_FD)                                      \
	X(67, pread64, pread64, "fpud", SF_BLOCKS_FD)                                   \
	X(68, pwrite64, pwrite64, "fpud", SF_BLOCKS_FD)                                 \
	X(69, preadv, preadv, "fpdd", SF_BLOCKS_FD)                                     \
	X(70, pwritev, pwritev, "fpdd", SF_BLOCKS_FD)                                   \
	X(71, sendfile, sendfile, "ffpu", SF_BLOCKS_FD)                                 \
	X(72, pselect6, pselect6, "dppppp", SF_NORESTART | SF_BLOCKS)                   \
	X(73, ppoll, ppoll, "pdppu", SF_NORESTART | SF_BLOCKS)                          \
	X(74, signalfd4, signalfd4, "fpux", 0)                                          \
	X(76, splice, splice, "fpfpux", SF_BLOCKS_FD)                                   \
	X(77, tee, tee, "ffux", SF_BLOCKS_FD)                                           \
	X(78, readlinkat, readlinkat, "fspu", 0)                                        \
	X(79, newfstatat, newfstatat, "fspx", 0)                                        \
	X(80, fstat, fstat, "fp", 0)                                                    \
	X(81, sync, sync, "", 0)                                                        \
	X(82, fsync, fsync, "f", 0)                                                     \
	X(83, fdatasync, fdatasync, "f", 0)                                             \
	X(84, sync_file_range, sync_file_range, "fddx", 0)                              \
	X(85, timerfd_create, timerfd_create, "dx", 0)                                  \
	X(86, timerfd_settime, timerfd_settime, "fxpp", 0)                              \
	X(87, timerfd_gettime, timerfd_gettime, "fp", 0)                                \
	X(88, utimensat, utimensat, "fspx", 0)                                          \
	X(90, capget, capget, "pp", 0)                                                  \
	X(91, capset, capset, "pp", 0)                                                  \
	X(92, personality, personality, "x", 0)                                         \
	X(93, exit, exit, "d", SF_NORETURN)                                             \
	X(94, exit_group, exit_group, "d", SF_NORETURN)                                 \
	X(95, waitid, waitid, "ddpxp", SF_BLOCKS)                                       \
	X(96, set_tid_address, set_tid_address, "p", 0)                                 \
	X(98, futex, futex, "pdupud", SF_BLOCKS)                                        \
	X(99, set_robust_list, set_robust_list, "pu", 0)                                \
	X(100, get_robust_list, get_robust_list, "dpp", 0)                              \
	X(101, nanosleep, nanosleep, "pp", SF_NORESTART | SF_BLOCKS)                    \
	X(102, getitimer, getitimer, "dp", 0)                                           \
	X(103, setitimer, setitimer, "dpp", 0)                                          \
	X(107, timer_create, timer_create, "dpp", 0)                                    \
	X(108, timer_gettime, timer_gettime, "dp", 0)                                   \
	X(109, timer_getoverrun, timer_getoverrun, "d", 0)                              \
	X(110, timer_settime, timer_settime, "dxpp", 0)                                 \
	X(111, timer_delete, timer_delete, "d", 0)                                      \
	X(113, clock_gettime, clock_gettime, "dp", 0)                                   \
	X(114, clock_getres, clock_getres, "dp", 0)                                     \
	X(115, clock_nanosleep, clock_nanosleep, "dxpp", SF_NORESTART | SF_BLOCKS)      \
	X(118, sched_setparam, sched_setparam, "dp", 0)                                 \
	X(119, sched_setscheduler, sched_setscheduler, "ddp", 0)                        \
	X(120, sched_getscheduler, sched_getscheduler, "d", 0)                          \
	X(121, sched_getparam, sched_getparam, "dp", 0)                                 \
	X(122, sched_setaffinity, sched_setaffinity, "dup", 0)                          \
	X(123, sched_getaffinity, sched_getaffinity, "dup", 0)                          \
	X(124, sched_yield, sched_yield, "", 0)                                         \
	X(125, sched_get_priority_max, sched_get_priority_max, "d", 0)                  \
	X(126, sched_get_priority_min, sched_get_priority_min, "d", 0)                  \
	X(127, sched_rr_get_interval, sched_rr_get_interval, "dp", 0)                   \
	X(129, kill, kill, "dS", 0)                                                     \
	X(130, tkill, tkill, "dS", 0)                                                   \
	X(131, tgkill, tgkill, "ddS", 0)                                                \
	X(132, sigaltstack, sigaltstack, "pp", 0)                                       \
	X(133, rt_sigsuspend, rt_sigsuspend, "pu", SF_NORESTART)                        \
	X(134, rt_sigaction, rt_sigaction, "Sppu", 0)                                   \
	X(135, rt_sigprocmask, rt_sigprocmask, "dppu", 0)                               \
	X(136, rt_sigpending, rt_sigpending, "pu", 0)                                   \
	X(137, rt_sigtimedwait, rt_sigtimedwait, "pppu", SF_NORESTART | SF_BLOCKS)      \
	X(138, rt_sigqueueinfo, rt_sigqueueinfo, "dSp", 0)                              \
	X(139, rt_sigreturn, rt_sigreturn, "", SF_REGS)                                 \
	X(140, setpriority, setpriority, "ddd", 0)                                      \
	X(141, getpriority, getpriority, "dd", 0)                                       \
	X(143, setregid, setregid, "dd", 0)                                             \
	X(144, setgid, setgid, "d", 0)                                                  \
	X(145, setreuid, setreuid, "dd", 0)                                             \
	X(146, setuid, setuid, "d", 0)                                                  \
	X(147, setresuid, setresuid, "ddd", 0)                                          \
	X(148, getresuid, getresuid, "ppp", 0)                                          \
	X(149, setresgid, setresgid, "ddd", 0)                                          \
	X(150, getresgid, getresgid, "ppp", 0)                                          \
	X(151, setfsuid, setfsuid, "d", 0)                                              \
	X(152, setfsgid, setfsgid, "d", 0)                                              \
	X(153, times, times, "p", 0)                                                    \
	X(154, setpgid, setpgid, "dd", 0)                                               \
	X(155, getpgid, getpgid, "d", 0)                                                \
	X(156, getsid, getsid, "d", 0)                                                  \
	X(157, setsid, setsid, "", 0)                                                   \
	X(158, getgroups, getgroups, "dp", 0)                                           \
	X(159, setgroups, setgroups, "dp", 0)                                           \
	X(160, uname, uname, "p", 0)                                                    \
	X(163, getrlimit, getrlimit, "dp", 0)                                           \
	X(164, setrlimit, setrlimit, "dp", 0)                                           \
	X(165, getrusage, getrusage, "dp", 0)                                           \
	X(166, umask, umask, "o", 0)                                                    \
	X(167, prctl, prctl, "dxxxx", 0)                                                \
	X(168, getcpu, getcpu, "ppp", 0)                                                \
	X(169, gettimeofday, gettimeofday, "pp", 0)                                     \
	X(172, getpid, getpid, "", 0)                                                   \
	X(173, getppid, getppid, "", 0)                                                 \
	X(174, getuid, getuid, "", 0)                                                   \
	X(175, geteuid, geteuid, "", 0)                                                 \
	X(176, getgid, getgid, "", 0)                                                   \
	X(177, getegid, getegid, "", 0)                                                 \
	X(178, gettid, gettid, "", 0)                                                   \
	X(179, sysinfo, sysinfo, "p", 0)                                                \
	X(213, readahead, readahead, "fdu", 0)                                          \
	X(214, brk, brk, "p", SF_HEX)                                                   \
	X(215, munmap, munmap, "pu", 0)                                                 \
	X(216, mremap, mremap, "puuxp", SF_HEX)                                         \
	X(220, clone, clone, "xpppp", 0)                                                \
	X(221, execve, execve, "spp", SF_NORETURN)                                      \
	X(222, mmap, mmap, "puxxfx", SF_HEX)                                            \
	X(223, fadvise64, fadvise64, "fddd", 0)                                         \
	X(226, mprotect, mprotect, "pux", 0)                                            \
	X(227, msync, msync, "pux", 0)                                                  \
	X(228, mlock, mlock, "pu", 0)                                                   \
	X(229, munlock, munlock, "pu", 0)                                               \
	X(230, mlockall, mlockall, "x", 0)                                              \
	X(231, munlockall, munlockall, "", 0)                                           \
	X(232, mincore, mincore, "pup", 0)                                              \
	X(233, madvise, madvise, "pud", 0)                                              \
	X(240, rt_tgsigqueueinfo, rt_tgsigqueueinfo, "ddSp", 0)                         \
	X(259, riscv_flush_icache, riscv_flush_icache, "ppx", 0)                        \
	X(260, wait4, wait4, "dpxp", SF_BLOCKS)                                         \
	X(261, prlimit64, prlimit64, "ddpp", 0)                                         \
	X(267, syncfs, syncfs, "f", 0)                                                  \
	X(276, renameat2, renameat2, "fsfsx", 0)                                        \
	X(278, getrandom, getrandom, "pux", 0)                                          \
	X(279, memfd_create, memfd_create, "sx", 0)                                     \
	X(285, copy_file_range, copy_file_range, "fpfpux", SF_BLOCKS_FD)                \
	X(286, preadv2, preadv2, "fpddx", SF_BLOCKS_FD)                                 \
	X(287, pwritev2, pwritev2, "fpddx", SF_BLOCKS_FD)                               \
	X(291, statx, statx, "fsxxp", 0)                                                \
	X(436, close_range, close_range, "uux", 0)                                      \
	X(439, faccessat2, faccessat2, "fsox", 0)

#define APP_SYS_DECLARE(nr, name, fn, fmt, flags) SYS(fn);
APP_SYSCALLS(APP_SYS_DECLARE)

#endif
