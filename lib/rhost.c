/*
 * rhost.c - what PAM_RHOST is (see rhost.h).
 *
 * Owns: the scan of this process's descriptors for a connected stream
 * socket whose peer is the remote host PAM was given. sshd (its monitor
 * and the child that runs keyboard-interactive PAM) and vsftpd hold the
 * client's socket when they call PAM; a service that authenticates in a
 * helper without it (login started by telnetd, a helper process) gets
 * UNCONFIRMED, which the login flow takes as a host outside local_networks.
 */
#include "rhost.h"

#include <dirent.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "jfaconf.h"

#define SCAN_MAX_FDS 65536

/* Is fd a connected stream socket whose peer is want (16-byte form)? */
static bool fd_peer_is(int fd, const unsigned char want[16])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss), tlen;
    unsigned char addr[16];
    int type = 0;

    tlen = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_STREAM)
        return false;
    memset(&ss, 0, sizeof(ss));
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return false;
    if (ss.ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

        memset(addr, 0, 10);
        addr[10] = 0xFF;
        addr[11] = 0xFF;
        memcpy(addr + 12, &sin->sin_addr, 4);
    } else if (ss.ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        memcpy(addr, &((const struct sockaddr_in6 *)&ss)->sin6_addr, 16);
    } else {
        return false;
    }
    return memcmp(addr, want, 16) == 0;
}

/* 1: a descriptor is connected to want; 0: none; -1: /proc unreadable. */
static int scan_proc(const unsigned char want[16])
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int found = 0, self;

    if (d == NULL)
        return -1;
    self = dirfd(d);
    while ((e = readdir(d)) != NULL) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);

        if (e->d_name[0] < '0' || e->d_name[0] > '9' || *end != '\0' || fd < 0 || fd > 0x7FFFFFFF ||
            fd == self)
            continue;
        if (fd_peer_is((int)fd, want)) {
            found = 1;
            break;
        }
    }
    closedir(d);
    return found;
}

/* Without /proc (or a descriptor for it): every descriptor below the limit. */
static int scan_all(const unsigned char want[16])
{
    struct rlimit rl;
    rlim_t n = SCAN_MAX_FDS, fd;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < n)
        n = rl.rlim_cur;
    for (fd = 0; fd < n; fd++)
        if (fd_peer_is((int)fd, want))
            return 1;
    return 0;
}

enum jfa_rhost_kind jfa_rhost_classify(const char *rhost, unsigned char addr[16])
{
    int r;

    if (rhost == NULL || rhost[0] == '\0')
        return JFA_RHOST_NONE;
    if (jfa_addr_parse(rhost, addr) != 0)
        return JFA_RHOST_NAME;
    r = scan_proc(addr);
    if (r < 0)
        r = scan_all(addr);
    return r == 1 ? JFA_RHOST_PEER : JFA_RHOST_UNCONFIRMED;
}
