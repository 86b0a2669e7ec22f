//! The media port on 127.0.0.1 with real UDP sockets: the product's socket thread
//! (`net::driver`), endpoint and router (`net::new_router`: the Rust relay) relaying one
//! SRTP sender to 1, 2, 4 and 8 receivers, and in the same run the raw loopback limit
//! (a no-crypto `sendmmsg` blaster into a `recvmmsg` receiver).
//!
//! No DTLS here: bench clients do the ICE-lite check with the crate's STUN encoder and
//! the SRTP keys are installed directly. Per receiver count it steps the offered rate to
//! the highest with < 0.1 % loss, normalises the forwarded packets by the data-plane
//! thread's CPU time (`/proc/self/task/<tid>/sched`), then measures latency (send time
//! in the payload) at half that rate, through the relay and directly (same SRTP, no
//! relay) so the difference is what the relay adds: three rounds of each, alternating,
//! and the median round counts. On 2+ cores the data-plane thread
//! (and the raw blaster) is pinned to CPU 0, the bench clients to CPU 1 (`taskset`).
//!
//! `cargo bench --bench relay_loopback`; one JSON line per result.
//! `RELAY_BENCH_STEP_MS` (default 500) and `RELAY_BENCH_RECEIVERS` (default 1,2,4,8).

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use _fastpath::net::driver::{self, Shared};
use _fastpath::net::endpoint::{ControlError, Endpoint, Outgoing, TransportId};
use _fastpath::net::io::{MediaUdpSocket, BATCH};
use _fastpath::net::new_router;
use _fastpath::net::router::{Codec, MediaKind, MediaLine, Switch};
use _fastpath::net::stun::{
    Message, MessageBuilder, ATTR_ICE_CONTROLLING, ATTR_PRIORITY, ATTR_USERNAME,
    ATTR_USE_CANDIDATE, BINDING_REQUEST, BINDING_SUCCESS,
};
use _fastpath::srtp::{Profile, SrtpContext};
use nix::errno::Errno;
use nix::sys::socket::{recvmmsg, setsockopt, sockopt, MsgFlags, MultiHeaders, SockaddrStorage};

const PROFILE: &str = "AEAD_AES_128_GCM";
const PACKET_BYTES: usize = 1200;
const SENDER_SSRC: u32 = 0x1234_5678;
/// Where the send time (ns since the bench's origin) sits in the RTP payload, after a
/// VP8 keyframe's payload descriptor and header (a relay may look for keyframes).
const SEND_TIME_AT: usize = 12;
const MAX_LOSS: f64 = 0.001;
/// After the sender stops and the relay has emptied its queue, receivers stop after
/// this long a silence (loopback delivery may finish in a deferred softirq).
const QUIET: Duration = Duration::from_millis(10);
const PWD: &str = "bench-password-0123456789";
const SESSION: u64 = 1;

// ---------------------------------------------------------------- threads and CPU

/// The kernel id of the thread called `name` in this process (names are set by the
/// thread itself just after spawn, so wait a little).
fn find_thread(name: &str) -> Option<u32> {
    for _ in 0..200 {
        for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            if comm.trim_end() == name {
                return entry.file_name().to_str()?.parse().ok();
            }
        }
        thread::sleep(Duration::from_millis(1));
    }
    None
}

/// CPU time of one thread in ns: the scheduler's exact sum where the kernel has it,
/// else utime + stime in clock ticks (assumed 100 Hz).
fn thread_cpu_ns(tid: u32) -> u64 {
    let task = format!("/proc/self/task/{tid}");
    if let Ok(sched) = std::fs::read_to_string(format!("{task}/sched")) {
        let ms = sched
            .lines()
            .find(|l| l.starts_with("se.sum_exec_runtime"))
            .and_then(|l| l.split(':').nth(1))
            .and_then(|v| v.trim().parse::<f64>().ok());
        if let Some(ms) = ms {
            return (ms * 1e6) as u64;
        }
    }
    let stat = std::fs::read_to_string(format!("{task}/stat")).unwrap_or_default();
    let fields: Vec<u64> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    // After the command: state (not a number), so utime/stime are fields 11 and 12 here.
    fields
        .get(10)
        .zip(fields.get(11))
        .map_or(0, |(u, s)| (u + s) * 10_000_000)
}

/// CPUs of the machine, read before the main thread pins itself (after that,
/// `available_parallelism` sees only its one CPU).
/// CPU time of the calling thread (`/proc/thread-self` links to `<pid>/task/<tid>`).
fn own_cpu_ns() -> u64 {
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name()?.to_str()?.parse().ok())
        .map_or(0, thread_cpu_ns)
}

fn cpus() -> usize {
    static CPUS: OnceLock<usize> = OnceLock::new();
    *CPUS.get_or_init(|| thread::available_parallelism().map_or(1, usize::from))
}

/// Pin a thread to one CPU with `taskset` (no unsafe `sched_setaffinity` here).
fn pin(tid: u32, cpu: usize) {
    if cpus() >= 2 {
        let _ = Command::new("taskset")
            .args(["-pc", &cpu.to_string(), &tid.to_string()])
            .output();
    }
}

// ---------------------------------------------------------------- packets and keys

fn keys(i: usize, direction: u8) -> (Vec<u8>, Vec<u8>) {
    let tag = (i as u8).wrapping_mul(16).wrapping_add(direction);
    (vec![tag; 16], vec![tag ^ 0x5a; 12])
}

fn context(key: &(Vec<u8>, Vec<u8>)) -> SrtpContext {
    let profile = Profile::from_name(PROFILE).expect("profile");
    SrtpContext::new(profile, &key.0, &key.1).expect("keys")
}

/// A 1,200-byte VP8 RTP packet with the marker set: a whole keyframe per packet.
fn template() -> Vec<u8> {
    let mut p = vec![0x80, 0x80 | 96, 0, 0, 0, 0, 0, 0];
    p.extend_from_slice(&SENDER_SSRC.to_be_bytes());
    // VP8 descriptor (start of partition), keyframe tag, start code, 640x480.
    p.extend_from_slice(&[
        0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0,
    ]);
    p.resize(PACKET_BYTES, 0xab);
    p
}

/// Offset of the payload in an RTP packet (after CSRCs and the header extension).
fn payload_offset(p: &[u8]) -> Option<usize> {
    let mut at = 12 + 4 * usize::from(*p.first()? & 0x0f);
    if p[0] & 0x10 != 0 {
        let words = u16::from_be_bytes([*p.get(at + 2)?, *p.get(at + 3)?]);
        at += 4 + 4 * usize::from(words);
    }
    Some(at)
}

fn line(send_ssrc: u32, recv_ssrc: Option<u32>) -> MediaLine {
    MediaLine {
        kind: MediaKind::Video,
        mid: "0".into(),
        codecs: vec![Codec {
            payload_type: 96,
            mime_type: "video/VP8".into(),
            clock_rate: 90000,
            channels: None,
            format_key: vec![],
            rtx_apt: None,
        }],
        extensions: vec![],
        recv_ssrc,
        recv_rtx_ssrc: None,
        send_ssrc,
        send_rtx_ssrc: None,
        cname: Some("bench".into()),
        receives: true,
        sends: true,
    }
}

// ---------------------------------------------------------------- sockets

fn localhost() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A receiving client socket: non-blocking, with the media port's 4 MB buffer so a
/// client descheduled for a moment (shared machine) does not count as relay loss.
fn client_socket() -> UdpSocket {
    let socket = UdpSocket::bind(localhost()).expect("bind");
    let _ = setsockopt(&socket, sockopt::RcvBuf, &(4 << 20));
    socket
}

/// Buffers for one non-blocking `recvmmsg`.
struct RecvBuffers {
    data: Vec<[u8; 2048]>,
    lens: Vec<usize>,
}

impl RecvBuffers {
    fn new() -> Self {
        Self {
            data: vec![[0; 2048]; BATCH],
            lens: Vec::with_capacity(BATCH),
        }
    }
}

/// Take what is queued on a non-blocking socket (up to a batch); 0 when empty.
fn recv_now(socket: &UdpSocket, buffers: &mut RecvBuffers) -> usize {
    buffers.lens.clear();
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    let mut slices: Vec<[std::io::IoSliceMut<'_>; 1]> = buffers
        .data
        .iter_mut()
        .map(|b| [std::io::IoSliceMut::new(&mut b[..])])
        .collect();
    match recvmmsg(
        socket.as_raw_fd(),
        &mut headers,
        slices.iter_mut(),
        MsgFlags::MSG_DONTWAIT,
        None,
    ) {
        Ok(results) => buffers.lens.extend(results.map(|r| r.bytes)),
        Err(Errno::EAGAIN | Errno::EINTR) => {}
        Err(e) => panic!("recvmmsg: {e}"),
    }
    buffers.lens.len()
}

/// The ICE-lite check a browser sends (nominating), encoded by the crate's STUN code.
fn check(ufrag: &str) -> Vec<u8> {
    let mut b = MessageBuilder::new(BINDING_REQUEST, [7; 12]);
    b.attribute(ATTR_USERNAME, format!("{ufrag}:bench").as_bytes())
        .attribute(ATTR_PRIORITY, &0x6e00_01ffu32.to_be_bytes())
        .attribute(ATTR_ICE_CONTROLLING, &[1; 8])
        .attribute(ATTR_USE_CANDIDATE, &[])
        .message_integrity(PWD.as_bytes());
    b.fingerprint()
}

fn assert_success(response: &[u8]) {
    let m = Message::parse(response).expect("STUN response");
    assert_eq!(m.message_type, BINDING_SUCCESS, "the check was refused");
    assert!(m.integrity_ok(PWD.as_bytes()));
}

// ---------------------------------------------------------------- clients

/// The sending client: a socket with `sendmmsg`, SRTP (or none for the raw blaster)
/// and its sequence state, moved into its thread for each step and back.
struct Sender {
    socket: MediaUdpSocket,
    to: SocketAddr,
    srtp: Option<SrtpContext>,
    seq: u16,
    ts: u32,
}

impl Sender {
    /// Send `rate` x `duration` packets at `rate` packets/s, in batches of what is due;
    /// returns how many and how long it took (longer when this thread cannot keep up).
    fn run(&mut self, rate: f64, duration: Duration, origin: Instant) -> (u64, f64, u64) {
        let cpu_start = own_cpu_ns();
        let template = template();
        let mut batch: Vec<Outgoing> = (0..BATCH)
            .map(|_| Outgoing {
                to: self.to,
                data: Vec::with_capacity(PACKET_BYTES + 32),
            })
            .collect();
        let total = (rate * duration.as_secs_f64()) as u64;
        let start = Instant::now();
        let mut sent = 0u64;
        while sent < total {
            let due = ((start.elapsed().as_secs_f64() * rate) as u64).min(total);
            if due <= sent {
                thread::sleep(Duration::from_micros(20));
                continue;
            }
            let n = ((due - sent) as usize).min(BATCH);
            for m in &mut batch[..n] {
                self.seq = self.seq.wrapping_add(1);
                self.ts = self.ts.wrapping_add(3000);
                m.data.clear();
                m.data.extend_from_slice(&template);
                m.data[2..4].copy_from_slice(&self.seq.to_be_bytes());
                m.data[4..8].copy_from_slice(&self.ts.to_be_bytes());
                let now = origin.elapsed().as_nanos() as u64;
                m.data[12 + SEND_TIME_AT..20 + SEND_TIME_AT].copy_from_slice(&now.to_be_bytes());
                if let Some(srtp) = self.srtp.as_mut() {
                    srtp.protect_rtp(&mut m.data).expect("protect");
                }
            }
            self.socket.send_batch(&batch[..n]);
            sent += n as u64;
        }
        (
            sent,
            start.elapsed().as_secs_f64(),
            own_cpu_ns() - cpu_start,
        )
    }
}

/// One receiving client: a non-blocking socket and, for latency runs, its SRTP.
struct Receiver {
    socket: UdpSocket,
    srtp: Option<SrtpContext>,
}

#[derive(Default)]
struct Received {
    counts: Vec<u64>,
    /// Send-to-receive times in ns (latency runs only).
    latencies: Vec<u64>,
    refused: u64,
}

/// Poll every receiver until `stop` and nothing more is queued. With `latency`, each
/// packet is decrypted (SRTP when the receiver has keys) and its send time read.
fn receive(
    receivers: &mut [Receiver],
    stop: &AtomicBool,
    latency: bool,
    origin: Instant,
) -> Received {
    let mut buffers = RecvBuffers::new();
    let mut got = Received {
        counts: vec![0; receivers.len()],
        ..Received::default()
    };
    let mut packet = Vec::with_capacity(2048);
    let mut last = Instant::now();
    loop {
        let mut any = false;
        for (i, r) in receivers.iter_mut().enumerate() {
            loop {
                let n = recv_now(&r.socket, &mut buffers);
                if n == 0 {
                    break;
                }
                any = true;
                got.counts[i] += n as u64;
                if !latency {
                    continue;
                }
                let now = origin.elapsed().as_nanos() as u64;
                for (data, &len) in buffers.data.iter().zip(&buffers.lens) {
                    packet.clear();
                    packet.extend_from_slice(&data[..len]);
                    if let Some(srtp) = r.srtp.as_mut() {
                        if srtp.unprotect_rtp(&mut packet).is_err() {
                            got.refused += 1;
                            continue;
                        }
                    }
                    let at = payload_offset(&packet).map(|o| o + SEND_TIME_AT);
                    if let Some(t) = at.and_then(|a| packet.get(a..a + 8)) {
                        let sent = u64::from_be_bytes(t.try_into().expect("8 bytes"));
                        got.latencies.push(now.saturating_sub(sent));
                    }
                }
            }
        }
        if any {
            last = Instant::now();
        } else {
            if stop.load(Ordering::SeqCst) && last.elapsed() > QUIET {
                return got;
            }
            thread::sleep(Duration::from_micros(20));
        }
    }
}

// ---------------------------------------------------------------- the media port

struct Server {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    tid: Option<u32>,
    address: SocketAddr,
    _wakeup: UnixStream,
}

impl Server {
    /// The product's media port; `segmentation` off is `sendmmsg` only (no GSO).
    fn start(segmentation: bool) -> Self {
        let socket = MediaUdpSocket::bind(localhost()).expect("bind");
        socket.set_segmentation(segmentation);
        let address = socket.local_addr().expect("address");
        let (wakeup, notify) = UnixStream::pair().expect("pair");
        notify.set_nonblocking(true).expect("non-blocking");
        let mut endpoint = Endpoint::new(new_router);
        endpoint.set_consent_timeout(1e6); // clients send no consent checks during runs
        let shared = Arc::new(Shared::new(endpoint, socket, None, notify));
        let thread = driver::spawn(&shared).expect("spawn").pop();
        let tid = find_thread("livelens-media");
        if let Some(tid) = tid {
            pin(tid, 0);
        }
        Self {
            shared,
            thread,
            tid,
            address,
            _wakeup: wakeup,
        }
    }

    /// Connect leg `i` from `socket_address`: ICE-lite check over `exchange`, SRTP keys,
    /// the leg with one video line, a route from the sender (leg 0), connected.
    fn connect(&self, i: usize, exchange: impl FnOnce(&[u8]) -> Vec<u8>) -> TransportId {
        let leg = i as u64;
        let ufrag = format!("bench{i}");
        let t = self
            .shared
            .with_endpoint(|e, _, _| e.add_transport(SESSION, leg, &ufrag, PWD))
            .expect("transport");
        assert_success(&exchange(&check(&ufrag)));
        let (tx, rx) = (keys(i, 1), keys(i, 2));
        let ssrc = 0x100 + i as u32;
        let recv = (i == 0).then_some(SENDER_SSRC);
        self.shared
            .with_endpoint(|e, now, out| {
                e.set_srtp(t, PROFILE, &tx.0, &tx.1, &rx.0, &rx.1, now, out)?;
                e.add_leg(SESSION, leg, t, &[line(ssrc, recv)], true)?;
                if i > 0 {
                    e.add_route(SESSION, 0, leg, MediaKind::Video)?;
                }
                e.switch(SESSION, leg, Switch::Connected(true), now, out)?;
                let _ = e.take_events();
                Ok::<(), ControlError>(())
            })
            .expect("leg");
        t
    }

    fn cpu_ns(&self) -> u64 {
        self.tid.map_or(0, thread_cpu_ns)
    }

    /// SRTP datagrams the port has taken in so far (every transport).
    fn taken_in(&self) -> u64 {
        let stats = self.shared.with_endpoint(|e, _, _| e.stats());
        stats
            .transports
            .iter()
            .filter_map(|(_, t)| t.counters.rx_packets.get("srtp"))
            .sum()
    }

    /// Wait until the relay has dealt with all `sent` datagrams (taken in, or dropped by
    /// the kernel on a full socket buffer) so the next step does not count this one's;
    /// at most two seconds.
    fn settle(&self, sent: u64) {
        for _ in 0..1000 {
            if self.taken_in() + udp_drops(self.address.port()) >= sent {
                return;
            }
            thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Datagrams the kernel dropped on our 127.0.0.1 socket at `port` (`/proc/net/udp`).
fn udp_drops(port: u16) -> u64 {
    let table = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
    let local = format!("0100007F:{port:04X}");
    table
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(local.as_str()))
        .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
        .sum()
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A relay session with `receivers` receivers, every client connected.
fn relay_setup(receivers: usize, with_srtp: bool, segmentation: bool) -> Setup {
    let server = Server::start(segmentation);
    let socket = MediaUdpSocket::bind(localhost()).expect("bind");
    server.connect(0, |request| {
        socket.send_batch(&[Outgoing {
            to: server.address,
            data: request.to_vec(),
        }]);
        socket.set_wait(Duration::from_secs(2)).expect("wait");
        let mut buffers = _fastpath::net::io::RecvBuffers::default();
        assert_eq!(
            socket.recv_batch(&mut buffers).expect("recv"),
            1,
            "no answer"
        );
        buffers.datagram(0).expect("answer").1.to_vec()
    });
    let sender = Sender {
        socket,
        to: server.address,
        srtp: Some(context(&keys(0, 2))),
        seq: 0,
        ts: 0,
    };
    let clients = (1..=receivers)
        .map(|i| {
            let socket = client_socket();
            socket
                .set_read_timeout(Some(Duration::from_secs(2)))
                .expect("timeout");
            server.connect(i, |request| {
                socket.send_to(request, server.address).expect("send");
                let mut buf = [0u8; 1500];
                let (n, _) = socket.recv_from(&mut buf).expect("no answer");
                buf[..n].to_vec()
            });
            socket.set_nonblocking(true).expect("non-blocking");
            Receiver {
                socket,
                srtp: with_srtp.then(|| context(&keys(i, 1))),
            }
        })
        .collect();
    (Some(server), sender, clients)
}

/// Raw loopback: a blaster straight into one receiver, no crypto (or, for the latency
/// baseline, the relay's SRTP without the relay).
fn direct_setup(with_srtp: bool, segmentation: bool) -> Setup {
    let receiver = client_socket();
    receiver.set_nonblocking(true).expect("non-blocking");
    let key = keys(99, 1);
    let socket = MediaUdpSocket::bind(localhost()).expect("bind");
    socket.set_segmentation(segmentation);
    let sender = Sender {
        socket,
        to: receiver.local_addr().expect("address"),
        srtp: with_srtp.then(|| context(&key)),
        seq: 0,
        ts: 0,
    };
    let receiver = Receiver {
        socket: receiver,
        srtp: with_srtp.then(|| context(&key)),
    };
    (None, sender, vec![receiver])
}

// ---------------------------------------------------------------- steps

struct Step {
    offered: f64,
    sent: u64,
    received: u64,
    expected: u64,
    seconds: f64,
    /// Seconds over which `cpu_ns` was taken (the relay's includes emptying its queue).
    wall: f64,
    /// CPU ns of the measured thread (the data plane, or the raw blaster).
    cpu_ns: u64,
    latencies: Vec<u64>,
    refused: u64,
    /// Datagrams the kernel dropped on the relay's socket and on the receivers'.
    relay_drops: u64,
    receiver_drops: u64,
}

impl Step {
    fn loss(&self) -> f64 {
        1.0 - self.received as f64 / self.expected.max(1) as f64
    }
    /// The sender sent at the offered rate (within 3 %), so the step measured the relay.
    fn sender_kept_up(&self) -> bool {
        self.sent as f64 >= 0.97 * self.offered * self.seconds
    }
    fn rate(&self) -> f64 {
        self.received as f64 / self.seconds
    }
    fn per_core(&self) -> f64 {
        self.received as f64 / (self.cpu_ns.max(1) as f64 / 1e9)
    }
    fn utilisation(&self) -> f64 {
        self.cpu_ns as f64 / 1e9 / self.wall
    }
}

/// What a step runs on: the relay (or nothing, for the raw path), a sender and its
/// receivers. Every step gets fresh ones, so a step that overloaded the relay (and,
/// losing more than 2^15 packets in a row, desynchronised SRTP's rollover counter, as
/// RFC 3711 allows) cannot spoil the next.
type Setup = (Option<Server>, Sender, Vec<Receiver>);

struct Rig {
    setup: Box<dyn Fn() -> Setup>,
    origin: Instant,
    step_time: Duration,
}

impl Rig {
    /// Offer `rate` packets/s to the first hop for one step.
    fn step(&self, rate: f64, latency: bool, duration: Duration) -> Step {
        let (server, mut sender, mut receivers) = (self.setup)();
        let receiver_ports: Vec<u16> = receivers
            .iter()
            .filter_map(|r| r.socket.local_addr().ok().map(|a| a.port()))
            .collect();
        let fan_out = receivers.len() as u64;
        let stop = Arc::new(AtomicBool::new(false));
        let origin = self.origin;
        let recv_stop = Arc::clone(&stop);
        let rx = thread::Builder::new()
            .name("bench-recv".into())
            .spawn(move || receive(&mut receivers, &recv_stop, latency, origin))
            .expect("spawn");
        let raw = server.is_none();
        let tx = thread::Builder::new()
            .name(if raw { "bench-blast" } else { "bench-send" }.into())
            .spawn(move || sender.run(rate, duration, origin))
            .expect("spawn");
        // The raw blaster takes the data plane's CPU; its own CPU time is the measure.
        if raw {
            if let Some(tid) = find_thread("bench-blast") {
                pin(tid, 0);
            }
        }
        let relay_start = server.as_ref().map_or(0, Server::cpu_ns);
        let wall_start = Instant::now();
        let (sent, seconds, sender_cpu) = tx.join().expect("sender");
        let relay_drops = server.as_ref().map_or(0, |s| {
            s.settle(sent);
            udp_drops(s.address.port())
        });
        let wall = if raw {
            seconds
        } else {
            wall_start.elapsed().as_secs_f64()
        };
        stop.store(true, Ordering::SeqCst);
        let got = rx.join().expect("receiver");
        let receiver_drops = receiver_ports.iter().map(|&p| udp_drops(p)).sum();
        let cpu_ns = match &server {
            Some(server) => server.cpu_ns() - relay_start,
            None => sender_cpu,
        };
        let step = Step {
            offered: rate,
            sent,
            received: got.counts.iter().sum(),
            expected: sent * fan_out,
            seconds,
            wall,
            cpu_ns,
            latencies: got.latencies,
            refused: got.refused,
            relay_drops,
            receiver_drops,
        };
        eprintln!(
            "  offered {rate:.0}/s x{fan_out}: sent {} in {:.3} s, received {} loss {:.4}% \
             (kernel drops: relay socket {relay_drops}, receivers {receiver_drops}) cpu {:.0} ms",
            step.sent,
            step.seconds,
            step.received,
            step.loss() * 100.0,
            step.cpu_ns as f64 / 1e6
        );
        step
    }

    /// Step the offered rate up (x1.4) until loss or the sender's own limit, then narrow
    /// down between the last good and the first bad rate. A failed step is tried twice
    /// (the machine is shared: one descheduling burst is not the relay's limit).
    fn find_max(&self, start: f64) -> (Step, &'static str) {
        let try_rate = |rate: f64| {
            let first = self.step(rate, false, self.step_time);
            if first.loss() < MAX_LOSS && first.sender_kept_up() {
                return first;
            }
            self.step(rate, false, self.step_time)
        };
        let mut good: Option<Step> = None;
        let mut bad = None;
        let mut limit = "loss";
        let mut rate = start;
        for _ in 0..14 {
            let s = try_rate(rate);
            let failed = s.loss() >= MAX_LOSS || !s.sender_kept_up();
            if failed && good.is_none() && rate > start / 16.0 {
                rate /= 2.0; // the first rate was already too much: go down
                continue;
            }
            if !s.sender_kept_up() {
                limit = "sender";
                break;
            }
            if s.loss() >= MAX_LOSS {
                limit = if s.receiver_drops > s.relay_drops {
                    "receivers"
                } else {
                    "loss"
                };
                bad = Some(rate);
                break;
            }
            good = Some(s);
            rate *= 1.4;
        }
        if let (Some(hi), Some(lo)) = (bad, good.as_ref().map(|g| g.offered)) {
            let (mut lo, mut hi) = (lo, hi);
            for _ in 0..3 {
                let mid = (lo * hi).sqrt();
                let s = try_rate(mid);
                if s.loss() < MAX_LOSS && s.sender_kept_up() {
                    lo = mid;
                    good = Some(s);
                } else {
                    hi = mid;
                }
            }
        }
        (good.expect("no rate without loss"), limit)
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn latency_us(mut step: Step) -> (f64, f64, u64, u64) {
    step.latencies.sort_unstable();
    (
        percentile(&step.latencies, 0.5),
        percentile(&step.latencies, 0.99),
        step.latencies.len() as u64,
        step.refused,
    )
}

/// Latency rounds per receiver count (odd, so there is a median).
const LATENCY_ROUNDS: usize = 3;

/// The median of the rounds' p50s and, separately, of their p99s.
fn median_round(rounds: &[(f64, f64)]) -> (f64, f64) {
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (
        median(rounds.iter().map(|r| r.0).collect()),
        median(rounds.iter().map(|r| r.1).collect()),
    )
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let step = Duration::from_millis(env_or("RELAY_BENCH_STEP_MS", 500));
    let counts: Vec<usize> = std::env::var("RELAY_BENCH_RECEIVERS")
        .unwrap_or_else(|_| "1,2,4,8".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let origin = Instant::now();
    let _ = cpus();
    // The main thread's CPU is inherited by every client thread; the data plane and the
    // blaster are moved to CPU 0 once they run.
    pin(std::process::id(), 1);
    // Other work shares this machine: ask for a larger share of the CPUs (inherited by
    // every thread started from here; needs root or CAP_SYS_NICE, else a no-op).
    let niced = Command::new("renice")
        .args(["-n", "-20", "-p", &std::process::id().to_string()])
        .output()
        .is_ok_and(|o| o.status.success());
    let pinned = if cpus() >= 2 {
        "data plane and raw blaster on CPU 0; bench sender and receivers on CPU 1"
    } else {
        "not pinned (1 CPU)"
    };

    let rig = |setup: Box<dyn Fn() -> Setup>| Rig {
        setup,
        origin,
        step_time: step,
    };
    // The raw limits: plain `sendmmsg`, and with the segmentation offload the port uses.
    for (subject, segmentation) in [("raw_sendmmsg", false), ("raw_gso", true)] {
        let (max, limit) =
            rig(Box::new(move || direct_setup(false, segmentation))).find_max(100_000.0);
        println!(
            r#"{{"bench": "relay_loopback", "subject": "{subject}", "receivers": 1, "max_pps": {:.0}, "per_core_pps": {:.0}, "cpu_utilisation": {:.3}, "loss": {:.5}, "limited_by": "{limit}", "step_s": {:.2}, "pinned": "{pinned}", "nice": {}, "cpus": {}}}"#,
            max.rate(),
            max.per_core(),
            max.utilisation(),
            max.loss(),
            step.as_secs_f64(),
            if niced { -20 } else { 0 },
            cpus(),
        );
    }

    for n in counts {
        // What segmentation offload brings: the same relay with plain `sendmmsg`.
        let (plain, plain_limit) =
            rig(Box::new(move || relay_setup(n, false, false))).find_max(40_000.0 / n as f64);
        println!(
            r#"{{"bench": "relay_loopback", "subject": "rust_relay_sendmmsg", "profile": "{PROFILE}", "receivers": {n}, "max_pps": {:.0}, "per_core_pps": {:.0}, "cpu_utilisation": {:.3}, "loss": {:.5}, "limited_by": "{plain_limit}"}}"#,
            plain.rate(),
            plain.per_core(),
            plain.utilisation(),
            plain.loss(),
        );
        let (max, limit) =
            rig(Box::new(move || relay_setup(n, false, true))).find_max(40_000.0 / n as f64);
        // Latency at half the maximum; the receivers decrypt every packet. Rounds
        // alternate relayed and direct, and the median round counts, so one hiccup of
        // the shared machine spoils a round, not the figure.
        let half = max.offered / 2.0;
        let latency_step = Duration::from_secs(1);
        let (mut relayed, mut direct) = (Vec::new(), Vec::new());
        let (mut samples, mut refused, mut relayed_loss) = (0, 0, 0.0_f64);
        for _ in 0..LATENCY_ROUNDS {
            let round =
                rig(Box::new(move || relay_setup(n, true, true))).step(half, true, latency_step);
            relayed_loss = relayed_loss.max(round.loss());
            let (p50, p99, count, bad) = latency_us(round);
            relayed.push((p50, p99));
            samples += count;
            refused += bad;
            let round = rig(Box::new(|| direct_setup(true, true))).step(half, true, latency_step);
            let (d50, d99, _, _) = latency_us(round);
            direct.push((d50, d99));
        }
        let (p50, p99) = median_round(&relayed);
        let (d50, d99) = median_round(&direct);
        println!(
            r#"{{"bench": "relay_loopback", "subject": "rust_relay", "profile": "{PROFILE}", "receivers": {n}, "max_input_pps": {:.0}, "max_pps": {:.0}, "per_core_pps": {:.0}, "cpu_utilisation": {:.3}, "loss": {:.5}, "limited_by": "{limit}", "latency_input_pps": {half:.0}, "latency_loss": {relayed_loss:.5}, "p50_us": {p50:.1}, "p99_us": {p99:.1}, "direct_p50_us": {d50:.1}, "direct_p99_us": {d99:.1}, "samples": {samples}, "srtp_refused": {refused}}}"#,
            max.offered,
            max.rate(),
            max.per_core(),
            max.utilisation(),
            max.loss(),
        );
    }
}
