//! The media port's thread: receive a batch, run it through the [`Endpoint`] under its
//! lock, send what came out, tell Python when there are events. It never touches Python
//! objects, so it runs without the GIL; Python's calls take the same lock briefly.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::endpoint::{Endpoint, Outgoing};
use super::io::{MediaUdpSocket, RecvBuffers};

/// The longest the thread waits without looking at the stop flag and timers.
const MAX_WAIT: Duration = Duration::from_millis(200);

pub struct Shared {
    endpoint: Mutex<Endpoint>,
    pub socket: MediaUdpSocket,
    stop: AtomicBool,
    /// Written (one byte) when events wait and Python was not told yet.
    notify: UnixStream,
    notified: AtomicBool,
    origin: Instant,
}

impl Shared {
    #[must_use]
    pub fn new(endpoint: Endpoint, socket: MediaUdpSocket, notify: UnixStream) -> Self {
        Self {
            endpoint: Mutex::new(endpoint),
            socket,
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

    /// Run `f` on the endpoint with the current time, then send what it produced.
    pub fn with_endpoint<T>(
        &self,
        f: impl FnOnce(&mut Endpoint, f64, &mut Vec<Outgoing>) -> T,
    ) -> T {
        let mut out = Vec::new();
        let result = {
            let mut endpoint = self.endpoint();
            f(&mut endpoint, self.now(), &mut out)
        };
        if !out.is_empty() {
            self.socket.send_batch(&out);
        }
        result
    }

    /// Python is about to collect events: the next event must write a byte again.
    pub fn rearm(&self) {
        self.notified.store(false, Ordering::SeqCst);
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
    }
}

/// Start the thread.
pub fn spawn(shared: Arc<Shared>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("livelens-media".into())
        .spawn(move || run(&shared))
}

fn run(shared: &Shared) {
    let mut buffers = RecvBuffers::default();
    let mut out: Vec<Outgoing> = Vec::with_capacity(64);
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
        let has_events = {
            let mut endpoint = shared.endpoint();
            for i in 0..n {
                if let Some((from, data)) = buffers.datagram(i) {
                    if !data.is_empty() {
                        endpoint.handle_datagram(from, data, now, &mut out);
                    }
                }
            }
            if endpoint.next_timeout().is_some_and(|t| t <= now) {
                endpoint.handle_timeout(now, &mut out);
            }
            endpoint.has_events()
        };
        if !out.is_empty() {
            shared.socket.send_batch(&out);
            out.clear();
        }
        if has_events {
            shared.notify();
        }
    }
}
