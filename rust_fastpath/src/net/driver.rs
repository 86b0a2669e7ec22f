//! The media port's thread: receive a batch, run it through the [`Endpoint`] under its
//! lock, send what came out, tell Python when there are events. It never touches Python
//! objects, so it runs without the GIL; Python's calls take the same lock briefly. The
//! TCP twin's thread (`tcp_io.rs`) shares the endpoint the same way, and is woken when
//! its connections' queues have output.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::endpoint::{Endpoint, Outgoing};
use super::io::{MediaUdpSocket, RecvBuffers};
use super::tcp_io::{self, TcpShell};

/// The longest the thread waits without looking at the stop flag and timers.
const MAX_WAIT: Duration = Duration::from_millis(200);

pub struct Shared {
    endpoint: Mutex<Endpoint>,
    pub socket: MediaUdpSocket,
    /// The TCP twin (ICE-TCP), if the port has one.
    pub tcp: Option<TcpShell>,
    stop: AtomicBool,
    /// Written (one byte) when events wait and Python was not told yet.
    notify: UnixStream,
    notified: AtomicBool,
    origin: Instant,
}

impl Shared {
    #[must_use]
    pub fn new(
        endpoint: Endpoint,
        socket: MediaUdpSocket,
        tcp: Option<TcpShell>,
        notify: UnixStream,
    ) -> Self {
        Self {
            endpoint: Mutex::new(endpoint),
            socket,
            tcp,
            stop: AtomicBool::new(false),
            notify,
            notified: AtomicBool::new(false),
            origin: Instant::now(),
        }
    }

    /// The endpoint's clock: seconds since this port opened.
    #[must_use]
    pub fn now(&self) -> f64 {
        self.origin.elapsed().as_secs_f64()
    }

    /// The endpoint, even if a panic elsewhere poisoned the lock (its state is still
    /// consistent per call; refusing all traffic would be worse).
    pub fn endpoint(&self) -> MutexGuard<'_, Endpoint> {
        self.endpoint.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Run `f` on the endpoint with the current time, then send what it produced and
    /// wake whoever has work (Python for events, the TCP thread for its queues).
    pub fn with_endpoint<T>(
        &self,
        f: impl FnOnce(&mut Endpoint, f64, &mut Vec<Outgoing>) -> T,
    ) -> T {
        let mut out = Vec::new();
        let (result, events, tcp_work) = {
            let mut endpoint = self.endpoint();
            let result = f(&mut endpoint, self.now(), &mut out);
            (result, endpoint.has_events(), endpoint.has_tcp_work())
        };
        if !out.is_empty() {
            self.socket.send_batch(&out);
        }
        self.wake(events, tcp_work);
        result
    }

    fn wake(&self, events: bool, tcp_work: bool) {
        if events {
            self.notify();
        }
        if tcp_work {
            if let Some(tcp) = &self.tcp {
                tcp.wake();
            }
        }
    }

    #[must_use]
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Python is about to collect events: the next event must write a byte again.
    pub fn rearm(&self) {
        self.notified.store(false, Ordering::SeqCst);
    }

    /// Tell Python there is something to collect (events, or the shared web port's
    /// connections).
    pub fn notify_python(&self) {
        self.notify();
    }

    fn notify(&self) {
        if !self.notified.swap(true, Ordering::SeqCst) {
            // Non-blocking; if the pipe is full Python has bytes to read anyway.
            let _ = (&self.notify).write(&[1]);
        }
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.socket.wake();
        if let Some(tcp) = &self.tcp {
            tcp.wake();
        }
    }
}

/// Start the threads: the UDP socket's, and the TCP twin's if there is one.
pub fn spawn(shared: &Arc<Shared>) -> std::io::Result<Vec<JoinHandle<()>>> {
    let udp = Arc::clone(shared);
    let mut threads = vec![std::thread::Builder::new()
        .name("livelens-media".into())
        .spawn(move || run(&udp))?];
    if shared.tcp.is_some() {
        let tcp = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name("livelens-media-tcp".into())
            .spawn(move || {
                if let Some(shell) = &tcp.tcp {
                    tcp_io::run(&tcp, shell);
                }
            });
        match spawned {
            Ok(thread) => threads.push(thread),
            Err(error) => {
                shared.stop();
                for thread in threads {
                    let _ = thread.join();
                }
                return Err(error);
            }
        }
    }
    Ok(threads)
}

fn run(shared: &Shared) {
    let mut buffers = RecvBuffers::default();
    let mut out: Vec<Outgoing> = Vec::with_capacity(64);
    // Where each of `out` must leave from, on a socket that pins replies (`pktinfo.rs`).
    let mut sources = Vec::with_capacity(64);
    let pinned = shared.socket.pins_replies();
    let mut wait = Duration::ZERO;
    while !shared.stop.load(Ordering::SeqCst) {
        let next = {
            let endpoint = shared.endpoint();
            endpoint.next_timeout()
        };
        let now = shared.now();
        let want = next.map_or(MAX_WAIT, |t| {
            Duration::from_secs_f64((t - now).clamp(0.0, MAX_WAIT.as_secs_f64()))
        });
        if want != wait {
            wait = want;
            let _ = shared.socket.set_wait(wait);
        }
        let n = shared.socket.recv_batch(&mut buffers).unwrap_or(0);
        let now = shared.now();
        let (has_events, tcp_work) = {
            let mut endpoint = shared.endpoint();
            for i in 0..n {
                if let Some((from, data)) = buffers.datagram(i) {
                    if !data.is_empty() {
                        let before = out.len();
                        endpoint.handle_datagram(from, data, now, &mut out);
                        if pinned {
                            // A reply to this datagram (STUN) leaves from its destination.
                            sources.resize(before, None);
                            let arrived = buffers.destination(i);
                            let replies = out.get(before..).unwrap_or(&[]);
                            sources
                                .extend(replies.iter().map(|m| arrived.filter(|_| m.to == from)));
                        }
                    }
                }
            }
            if endpoint.next_timeout().is_some_and(|t| t <= now) {
                endpoint.handle_timeout(now, &mut out);
            }
            (endpoint.has_events(), endpoint.has_tcp_work())
        };
        if !out.is_empty() {
            shared.socket.send_batch_from(&out, &sources);
            out.clear();
        }
        sources.clear();
        shared.wake(has_events, tcp_work);
    }
}
