//! Send queues and link rules with a fake clock and a fake socket.

use std::io::{self, Write};

use super::*;

/// A socket whose peer reads `budget` bytes and then stops (`WouldBlock`).
#[derive(Default)]
struct SlowReader {
    budget: usize,
    got: Vec<u8>,
}

impl Write for SlowReader {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.budget == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.budget);
        self.budget -= n;
        self.got.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SlowReader {
    /// The frames received so far (whole ones).
    fn frames(&self) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        let mut d = Decoder::default();
        d.feed(&self.got, |f| frames.push(f.to_vec())).unwrap();
        frames
    }
}

fn drops(q: &SendQueue, class: Class) -> u64 {
    q.drops.get(class.drop_reason()).copied().unwrap_or(0)
}

const CAPACITY: usize = 10_000;

/// A queue filled with video: 8 frames of 1000 bytes (1002 framed).
fn full_of_video() -> SendQueue {
    let mut q = SendQueue::new(CAPACITY);
    for i in 0..8u8 {
        assert!(q.push(Class::Video, &[0x80 | i; 1000], 0.0));
    }
    q
}

#[test]
fn video_is_dropped_before_audio_and_rtcp() {
    let mut q = full_of_video();
    // A ninth and tenth video frame would pass the limit: refused, not queued.
    assert!(q.push(Class::Video, &[0x90; 1000], 0.1));
    assert!(!q.push(Class::Video, &[0x91; 1000], 0.1));
    assert_eq!(drops(&q, Class::Video), 1);
    assert!(q.take_video_dropped());
    // Audio that does not fit evicts the queued video (none of it started to go out).
    assert!(q.push(Class::Audio, &[0xa0; 1000], 0.2));
    assert_eq!(drops(&q, Class::Video), 10);
    assert_eq!(drops(&q, Class::Audio), 0);
    assert_eq!(q.queued(), 1002);
    // Audio and RTCP keep their place; video stays refused until the queue drains.
    for _ in 0..8 {
        assert!(q.push(Class::Audio, &[0xa1; 1000], 0.3));
    }
    assert!(
        q.push(Class::Control, &[0x81; 1000], 0.3),
        "control uses the reserve"
    );
    assert!(!q.push(Class::Audio, &[0xa2; 1000], 0.3), "audio does not");
    assert!(!q.push(Class::Video, &[0x92; 10], 0.3));
    assert_eq!(drops(&q, Class::Audio), 1);
    let mut reader = SlowReader {
        budget: usize::MAX,
        ..SlowReader::default()
    };
    q.flush(&mut reader, 0.4).unwrap();
    let firsts: Vec<u8> = reader.frames().iter().map(|f| f[0]).collect();
    assert_eq!(firsts, [[0xa0].as_slice(), &[0xa1; 8], &[0x81]].concat());
    // Drained: video is queued again.
    assert!(q.push(Class::Video, &[0x93; 1000], 0.5));
}

#[test]
fn a_frame_that_started_to_go_out_is_never_evicted() {
    let mut q = full_of_video();
    let mut reader = SlowReader {
        budget: 500, // half of the first frame
        ..SlowReader::default()
    };
    assert_eq!(q.flush(&mut reader, 1.0).unwrap(), 500);
    assert!(q.push(Class::Audio, &[0xa0; 9000], 1.1));
    assert_eq!(drops(&q, Class::Video), 7);
    reader.budget = usize::MAX;
    q.flush(&mut reader, 1.2).unwrap();
    let sizes: Vec<usize> = reader.frames().iter().map(Vec::len).collect();
    assert_eq!(sizes, [1000, 9000], "the stream stays well framed");
}

#[test]
fn partial_writes_keep_the_framing_and_order() {
    let mut q = SendQueue::new(CAPACITY);
    let payloads: Vec<Vec<u8>> = (0..20u8)
        .map(|i| vec![i; 1 + usize::from(i) * 37])
        .collect();
    for p in &payloads {
        assert!(q.push(Class::Audio, p, 0.0));
    }
    let mut reader = SlowReader::default();
    let mut now = 0.0;
    while !q.is_empty() {
        reader.budget = 7;
        now += 0.01;
        q.flush(&mut reader, now).unwrap();
    }
    assert_eq!(reader.frames(), payloads);
    assert_eq!(q.queued(), 0);
    assert_eq!(q.frames_sent, 20);
}

/// Links with a small queue and a 2 s stall timeout, `conns` open and past ICE.
fn validated(conns: &[ConnId]) -> TcpLinks {
    let mut links = TcpLinks::new(TcpConfig {
        queue_bytes: CAPACITY,
        stall_timeout: 2.0,
        ..TcpConfig::default()
    });
    let remote: SocketAddr = "192.0.2.1:4000".parse().unwrap();
    for &conn in conns {
        assert!(links.open(conn, remote, 0.0));
        links.validate(conn, 10 + conn);
    }
    links
}

#[test]
fn a_reader_that_stops_is_cut_after_the_stall_timeout() {
    let (slow, quick) = (1, 2);
    let mut links = validated(&[slow, quick]);
    let mut slow_reader = SlowReader {
        budget: 3000,
        ..SlowReader::default()
    };
    let mut quick_reader = SlowReader {
        budget: usize::MAX,
        ..SlowReader::default()
    };
    // Both get the same media for 10 s of fake time; the slow one reads 3000 bytes and
    // stops at t=0.1.
    let mut cut_at = None;
    for step in 1..=100 {
        let t = f64::from(step) * 0.1;
        for conn in [slow, quick] {
            links.send(conn, Class::Video, &[0x80; 1000], t);
            links.send(conn, Class::Audio, &[0x80; 100], t);
        }
        links.flush(slow, &mut slow_reader, t);
        links.flush(quick, &mut quick_reader, t);
        links.handle_timeout(t);
        let (_, closing) = links.take_work();
        if closing.contains(&slow) {
            cut_at.get_or_insert(t);
        }
        assert!(!closing.contains(&quick));
    }
    // It last read at t=0.3 (its 3000 bytes ran out then): cut 2 s later.
    let cut_at = cut_at.expect("the slow reader was cut");
    assert!((2.25..2.35).contains(&cut_at), "cut at {cut_at}");
    assert_eq!(links.closed.get("tcp_stalled"), Some(&1));
    // The quick reader never lost a frame, and never waited for the slow one.
    assert_eq!(quick_reader.frames().len(), 200);
    assert!(links.link(slow).is_none(), "no more I/O on a closing link");
    assert!(!links.send(slow, Class::Audio, &[0x80], 10.0));
}

#[test]
fn a_slow_reader_that_keeps_reading_is_not_cut_and_asks_for_keyframes() {
    let mut links = validated(&[1]);
    let mut reader = SlowReader::default();
    let mut requests = Vec::new();
    for step in 1..=200 {
        let t = f64::from(step) * 0.05;
        for _ in 0..4 {
            links.send(1, Class::Video, &[0x80; 1000], t); // 80 kB/s offered
        }
        links.send(1, Class::Audio, &[0x80; 100], t);
        reader.budget = 2000; // 40 kB/s read
        links.flush(1, &mut reader, t);
        links.handle_timeout(t);
        if links.take_keyframe_wanted(1, t) {
            requests.push(t);
        }
    }
    assert!(links.take_work().1.is_empty(), "never cut");
    let link = links.link(1).unwrap();
    assert!(drops(&link.queue, Class::Video) > 0);
    assert_eq!(drops(&link.queue, Class::Audio), 0);
    // Keyframe requests after drops, at most one per interval.
    assert!(requests.len() >= 2);
    assert!(requests
        .windows(2)
        .all(|w| w[1] - w[0] >= KEYFRAME_REQUEST_INTERVAL - 1e-9));
}

#[test]
fn links_without_ice_in_time_are_closed_and_too_many_refused() {
    let config = TcpConfig {
        max_links: 2,
        ice_timeout: 3.0,
        ..TcpConfig::default()
    };
    let mut links = TcpLinks::new(config);
    let remote: SocketAddr = "192.0.2.1:4000".parse().unwrap();
    assert!(links.open(1, remote, 0.0));
    assert!(links.open(2, remote, 1.0));
    assert!(!links.open(3, remote, 1.0));
    links.validate(2, 7);
    assert_eq!(links.next_timeout(), Some(3.0));
    links.handle_timeout(2.9);
    assert!(!links.has_work());
    links.handle_timeout(3.0);
    assert_eq!(links.take_work(), (vec![], vec![1]));
    assert_eq!(links.closed.get("tcp_ice_timeout"), Some(&1));
    assert_eq!(links.closed.get("tcp_too_many"), Some(&1));
    assert!(links.remove(1).is_some());
    assert_eq!(links.len(), 1);
    assert_eq!(links.next_timeout(), None);
}

#[test]
fn a_write_error_closes_the_link() {
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut links = TcpLinks::new(TcpConfig::default());
    links.open(1, "192.0.2.1:4000".parse().unwrap(), 0.0);
    assert!(links.send(1, Class::Control, b"\x00\x01", 0.0));
    assert_eq!(links.take_work(), (vec![1], vec![]));
    assert!(!links.flush(1, &mut Broken, 0.1));
    assert_eq!(links.take_work(), (vec![], vec![1]));
    assert_eq!(links.closed.get("tcp_write_failed"), Some(&1));
}
