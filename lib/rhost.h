/*
 * rhost.h - what PAM_RHOST is: no remote host, a host name, or an address
 * confirmed as the peer of a connection the calling process holds.
 *
 * Owns: the confirmation of an IP-literal remote host against the peer
 * addresses of the connected stream sockets of this process (design.md
 * "Remote host"). A service may put a reverse-DNS answer in PAM_RHOST, and
 * whoever controls the PTR record of their address can make it read
 * "10.0.0.5"; only a socket the service holds says where a login comes
 * from. libc only.
 */
#ifndef JFA_RHOST_H
#define JFA_RHOST_H

enum jfa_rhost_kind {
    JFA_RHOST_NONE,        /* unset or empty: a local login */
    JFA_RHOST_NAME,        /* not an IP literal: never in local_networks */
    JFA_RHOST_PEER,        /* an IP literal, the peer of a connected stream socket we hold */
    JFA_RHOST_UNCONFIRMED, /* an IP literal no socket of this process is connected to */
};

/*
 * Classify rhost (NULL: none). For an IP literal, addr receives its 16-byte
 * form (jfa_addr_parse) and every descriptor of the process is asked
 * (getpeername on the stream sockets, /proc/self/fd, else descriptors up to
 * RLIMIT_NOFILE, at most 65536): PEER if one is connected to that address
 * (port and IPv6 zone ignored; v4 and v4-mapped v6 are the same address),
 * UNCONFIRMED otherwise, also when the scan cannot be made (fail closed).
 * Call it when the module holds no connection of its own (between requests).
 */
enum jfa_rhost_kind jfa_rhost_classify(const char *rhost, unsigned char addr[16]);

#endif
