#ifndef AIRFL_CZEROMQ_SHIM_H
#define AIRFL_CZEROMQ_SHIM_H
#include <zmq.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

/// Bytes the kernel has received on TCP socket `fd`, or -1 when `fd` is not a TCP socket or the
/// kernel does not say. Linux's `struct tcp_info` (<linux/tcp.h>) has `tcpi_bytes_received`, a
/// u64 at byte 128 since Linux 4.1 (its fields are only ever appended); glibc's <netinet/tcp.h>
/// declares an older, shorter `tcp_info` and the two cannot share a module, so the option is read
/// into bytes. The base station's connection gate uses it to tell a connection still in its
/// handshake from one past it.
static inline long long airfl_tcp_bytes_received(int fd) {
    unsigned char info[256];
    socklen_t length = sizeof(info);
    memset(info, 0, sizeof(info));
    if (getsockopt(fd, IPPROTO_TCP, 11 /* TCP_INFO */, info, &length) != 0) return -1;
    if (length < 128 + sizeof(uint64_t)) return -1;
    uint64_t received;
    memcpy(&received, info + 128, sizeof(received));
    return (long long)received;
}
#endif
