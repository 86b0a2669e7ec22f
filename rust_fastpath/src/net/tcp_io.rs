//! The media port's TCP twin (same port number as the UDP socket): passive ICE-TCP
//! (RFC 6544); and, when the web port is shared with media, that port's listeners,
//! whose connections are sorted first (`web_port.rs`): ICE-TCP ones join the twin's,
//! web ones go to Python. One thread accepts connections, reads what they send into the endpoint
//! (`endpoint/tcp.rs`) and writes their send queues, all non-blocking under `poll`, so
//! a connection that stops reading only ever waits in its own queue. The thread takes
//! the endpoint's lock per read and per round of writes, like the UDP thread per batch.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::libc;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{setsockopt, sockopt};

use super::addresses;
use super::driver::Shared;
use super::path::ConnId;
use super::web_port::{Sorted, Sorting, WebPort};

/// Bytes read per system call.
const READ_CHUNK: usize = 64 * 1024;
/// Reads per connection per round, so one busy connection cannot starve the others.
const READS_PER_ROUND: usize = 4;
/// The kernel's send buffer per connection: small, so that what waits waits in our
/// queue, where video is dropped before audio, rather than in the kernel's.
const SEND_BUFFER: usize = 128 * 1024;
/// The longest the thread sleeps without looking at the stop flag (ms).
const MAX_WAIT_MS: u16 = 200;

/// The listening socket and the pipe that wakes its thread when queues have output.
pub struct TcpShell {
    listener: TcpListener,
    wake_rx: UnixStream,
    wake_tx: UnixStream,
    woken: AtomicBool,
    /// The web port's listeners, when it is shared with media.
    pub web: Option<WebPort>,
}

impl TcpShell {
    /// Listen on `address` (the UDP socket's, for the same port number).
    ///
    /// # Errors
    /// The port is taken for TCP, or the pipe cannot be made.
    pub fn bind(address: SocketAddr) -> io::Result<Self> {
        // `::` takes IPv4 too, as the UDP socket does.
        let listener = addresses::tcp_listener(address, true)?;
        let (wake_rx, wake_tx) = UnixStream::pair()?;
        wake_rx.set_nonblocking(true)?;
        wake_tx.set_nonblocking(true)?;
        Ok(Self {
            listener,
            wake_rx,
            wake_tx,
            woken: AtomicBool::new(false),
            web: None,
        })
    }

    /// Also take the connections of the web port's `listeners` (see `web_port.rs`).
    #[must_use]
    pub fn with_web(mut self, web: WebPort) -> Self {
        self.web = Some(web);
        self
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Make the thread look at its work (a byte on the pipe, once until it does).
    pub fn wake(&self) {
        if !self.woken.swap(true, Ordering::SeqCst) {
            let _ = (&self.wake_tx).write(&[1]);
        }
    }

    fn drain_wakeups(&self) {
        self.woken.store(false, Ordering::SeqCst);
        let mut sink = [0u8; 64];
        while matches!((&self.wake_rx).read(&mut sink), Ok(n) if n > 0) {}
    }
}

/// Close a connection the endpoint gave up on with a reset (SO_LINGER 0): what it did
/// not read is discarded at once rather than trickled out, and the peer knows now.
pub fn reset(stream: TcpStream) {
    let abort = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let _ = setsockopt(&stream, sockopt::Linger, &abort);
    drop(stream);
}

/// The thread's own state: the open connections.
struct Connections {
    streams: HashMap<ConnId, TcpStream>,
    /// Connections whose queue waits for the socket to take more.
    blocked: HashSet<ConnId>,
    next_id: ConnId,
    buffer: Vec<u8>,
}

/// Run the TCP side until the port stops.
pub fn run(shared: &Shared, shell: &TcpShell) {
    let mut conns = Connections {
        streams: HashMap::new(),
        blocked: HashSet::new(),
        next_id: 1,
        buffer: vec![0; READ_CHUNK],
    };
    let mut sorting = Sorting::default();
    while !shared.stopped() {
        let (accept, ready, web) = wait(shell, &conns, &sorting);
        shell.drain_wakeups();
        if accept {
            accept_all(shared, shell, &mut conns);
        }
        if let Some(port) = &shell.web {
            sort_web(shared, port, &mut sorting, &mut conns, &web);
        }
        let mut writable = Vec::new();
        for (conn, events) in ready {
            if events.intersects(PollFlags::POLLOUT) {
                conns.blocked.remove(&conn);
                writable.push(conn);
            }
            if events.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
                read(shared, &mut conns, conn);
            }
        }
        do_work(shared, &mut conns, writable);
    }
    for (_, stream) in conns.streams.drain() {
        let _ = stream.shutdown(Shutdown::Both);
    }
}

/// What the thread waits for besides the connections: the web port's listeners and the
/// connections waiting to be sorted (`WebReady::unsorted`: those that became readable).
#[derive(Default)]
struct WebReady {
    accept: bool,
    unsorted: Vec<u64>,
}

/// Wait for the listener, the wake-up pipe or a connection; returns whether connections
/// wait to be accepted, the connections that are ready, with their events, and what of
/// the web port is.
fn wait(
    shell: &TcpShell,
    conns: &Connections,
    sorting: &Sorting,
) -> (bool, Vec<(ConnId, PollFlags)>, WebReady) {
    let ids: Vec<ConnId> = conns.streams.keys().copied().collect();
    let listeners = match &shell.web {
        Some(web) if sorting.listening(std::time::Instant::now()) => &web.listeners[..],
        _ => &[][..],
    };
    let unsorted = sorting.waiting();
    let mut fds = Vec::with_capacity(ids.len() + 2 + listeners.len() + unsorted.len());
    fds.push(PollFd::new(shell.listener.as_fd(), PollFlags::POLLIN));
    fds.push(PollFd::new(shell.wake_rx.as_fd(), PollFlags::POLLIN));
    for id in &ids {
        if let Some(stream) = conns.streams.get(id) {
            let mut flags = PollFlags::POLLIN;
            if conns.blocked.contains(id) {
                flags |= PollFlags::POLLOUT;
            }
            fds.push(PollFd::new(stream.as_fd(), flags));
        }
    }
    let web_at = fds.len();
    fds.extend(
        listeners
            .iter()
            .map(|l| PollFd::new(l.as_fd(), PollFlags::POLLIN)),
    );
    fds.extend(
        unsorted
            .iter()
            .map(|(_, fd)| PollFd::new(*fd, PollFlags::POLLIN)),
    );
    let timeout = sorting.retry_ms().unwrap_or(MAX_WAIT_MS);
    if poll(&mut fds, PollTimeout::from(timeout)).is_err() {
        return (false, Vec::new(), WebReady::default()); // EINTR: go round again
    }
    let events = |fd: &PollFd<'_>| fd.revents().unwrap_or(PollFlags::empty());
    let accept = fds.first().is_some_and(|fd| !events(fd).is_empty());
    let ready = ids
        .iter()
        .zip(fds.iter().skip(2))
        .map(|(id, fd)| (*id, events(fd)))
        .filter(|(_, e)| !e.is_empty())
        .collect();
    let web_fds = fds.get(web_at..).unwrap_or(&[]);
    let web = WebReady {
        accept: web_fds
            .iter()
            .take(listeners.len())
            .any(|fd| !events(fd).is_empty()),
        unsorted: unsorted
            .iter()
            .zip(web_fds.iter().skip(listeners.len()))
            .filter(|(_, fd)| !events(fd).is_empty())
            .map(|((id, _), _)| *id)
            .collect(),
    };
    (accept, ready, web)
}

/// Accept and sort the web port's connections: ICE-TCP ones become the endpoint's,
/// web ones wait for Python (which is told), garbage is reset.
fn sort_web(
    shared: &Shared,
    port: &WebPort,
    sorting: &mut Sorting,
    conns: &mut Connections,
    ready: &WebReady,
) {
    let now = std::time::Instant::now();
    let mut sorted = Sorted::default();
    if ready.accept {
        sorting.accept(port, now, &mut sorted);
    }
    sorting.sort(port, &ready.unsorted, now, &mut sorted);
    for (stream, remote) in sorted.ice {
        open(shared, conns, stream, remote);
    }
    for stream in sorted.garbage {
        reset(stream);
    }
    if sorted.handed {
        shared.notify_python();
    }
}

fn accept_all(shared: &Shared, shell: &TcpShell, conns: &mut Connections) {
    loop {
        let (stream, remote) = match shell.listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return, // WouldBlock, or out of descriptors: try again later
        };
        if stream.set_nonblocking(true).is_err() {
            continue;
        }
        open(shared, conns, stream, remote);
    }
}

/// An ICE-TCP connection for the endpoint (refused if it has too many).
fn open(shared: &Shared, conns: &mut Connections, stream: TcpStream, remote: SocketAddr) {
    let remote = addresses::canonical(remote); // an IPv4 peer of `::` as IPv4
    let _ = stream.set_nodelay(true);
    let _ = setsockopt(&stream, sockopt::SndBuf, &SEND_BUFFER);
    let id = conns.next_id;
    conns.next_id += 1;
    if shared.with_endpoint(|e, now, _| e.tcp_open(id, remote, now)) {
        conns.streams.insert(id, stream);
    } else {
        reset(stream);
    }
}

/// Read what the connection sent into the endpoint; its end (or an error) closes it.
fn read(shared: &Shared, conns: &mut Connections, conn: ConnId) {
    for _ in 0..READS_PER_ROUND {
        let Some(stream) = conns.streams.get_mut(&conn) else {
            return;
        };
        match stream.read(&mut conns.buffer) {
            Ok(0) => break,
            Ok(n) => {
                let chunk = conns.buffer.get(..n).unwrap_or(&[]);
                shared.with_endpoint(|e, now, out| e.tcp_data(conn, chunk, now, out));
                if n < conns.buffer.len() {
                    return; // drained
                }
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(_) => break,
        }
    }
    // The peer closed (or broke) the connection; the endpoint forgets it.
    if let Some(stream) = conns.streams.remove(&conn) {
        let _ = stream.shutdown(Shutdown::Both);
        conns.blocked.remove(&conn);
        shared.with_endpoint(|e, _, _| e.tcp_closed(conn));
    }
}

/// Write the queues that have output (new, or waiting for a writable socket), then close
/// the connections the endpoint gave up on.
fn do_work(shared: &Shared, conns: &mut Connections, writable: Vec<ConnId>) {
    let Connections {
        streams, blocked, ..
    } = conns;
    let closing = shared.with_endpoint(|e, now, _| {
        let (dirty, mut closing) = e.take_tcp_work();
        for conn in dirty.into_iter().chain(writable) {
            if let Some(stream) = streams.get_mut(&conn) {
                if e.tcp_flush(conn, stream, now) {
                    blocked.insert(conn);
                }
            }
        }
        // Write errors just now close connections too.
        closing.extend(e.take_tcp_work().1);
        for conn in &closing {
            e.tcp_closed(*conn);
        }
        closing
    });
    for conn in closing {
        blocked.remove(&conn);
        if let Some(stream) = streams.remove(&conn) {
            reset(stream);
        }
    }
}
