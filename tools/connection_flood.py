# Holds N idle TCP connections to HOST:PORT for T seconds, reopening any the server closes; touches
# READY once N are open the first time.
import socket, sys, time, select, os
host, port, n, t, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
end = time.time() + t
conns, opened, closed_by_server, signalled = [], 0, 0, False
while time.time() < end:
    while len(conns) < n and time.time() < end:
        try:
            s = socket.create_connection((host, port), timeout=1)
            s.setblocking(False)
            conns.append(s); opened += 1
        except OSError:
            time.sleep(0.01)
            break
    if len(conns) >= n and not signalled:
        open(ready, "w").close(); signalled = True
    r, _, _ = select.select(conns[:1000], [], [], 0.02) if conns else ([], [], [])
    for s in r:
        try:
            data = s.recv(4096)
            if not data:
                conns.remove(s); s.close(); closed_by_server += 1
        except (BlockingIOError,):
            pass
        except OSError:
            if s in conns:
                conns.remove(s); s.close(); closed_by_server += 1
print(f"flood: opened {opened}, closed by the server {closed_by_server}, open at the end {len(conns)}", file=sys.stderr)
