//! Putting one RTP stream's packets back in sequence order, so a depacketiser sees each
//! packet once, in order, and a gap only once it is given up on.
//!
//! A gap is reported once as *missing* ([`Reorder::take_missing`]) the moment a later
//! packet shows it, so the caller can ask for a retransmission (a NACK answered from
//! the relay's history, or by the sender), and it is waited for until the first packet
//! held behind it has waited `max_wait` (or `window` packets wait behind it: the memory
//! bound). A retransmission that comes within that wait fills the gap.

use std::collections::BTreeMap;

/// A sequence-number jump larger than this is the sender starting over, not loss.
pub const MAX_JUMP: u64 = 3000;

/// What the buffer releases, in sequence order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ordered<T> {
    Packet(T),
    /// `count` packets that never came (or a restart of the numbering: `count` 0).
    Lost {
        count: u64,
    },
}

/// Sequence numbers unwrapped to 64 bits, and the packets held until their turn.
pub struct Reorder<T> {
    window: usize,
    max_wait: f64,
    /// The unwrapped number of the next packet to release.
    next: Option<u64>,
    highest: u64,
    /// Held packets and when each arrived.
    pending: BTreeMap<u64, (f64, T)>,
    /// When the longest-waiting held packet arrived (None: nothing held).
    held_since: Option<f64>,
    /// Sequence numbers newly seen missing, for the caller's NACK.
    missing: Vec<u16>,
    /// Packets that came after their turn, or twice.
    pub late: u64,
}

impl<T> Reorder<T> {
    /// A buffer that gives up on a gap once the first packet held behind it has waited
    /// `max_wait` (seconds, the caller's clock), or `window` packets wait behind it.
    #[must_use]
    pub fn new(window: usize, max_wait: f64) -> Self {
        Self {
            window: window.max(1),
            max_wait,
            next: None,
            highest: 0,
            pending: BTreeMap::new(),
            held_since: None,
            missing: Vec::new(),
            late: 0,
        }
    }

    /// Takes one packet that arrived at `now`; appends to `out` what is now in order
    /// (the wait is only judged when a packet comes: a stream that stops keeps what it
    /// holds until its next packet, or [`Reorder::flush`]).
    pub fn push(&mut self, seq: u16, item: T, now: f64, out: &mut Vec<Ordered<T>>) {
        let Some(next) = self.next else {
            self.restart(seq, item, now);
            self.release(out);
            return;
        };
        let ext = unwrap(self.highest, seq);
        let far_back = ext < next && next - ext > MAX_JUMP;
        let far_ahead = ext > self.highest && ext - self.highest > MAX_JUMP;
        if far_back || far_ahead {
            self.flush(out);
            out.push(Ordered::Lost { count: 0 });
            self.restart(seq, item, now);
            self.release(out);
            return;
        }
        if ext < next || self.pending.contains_key(&ext) {
            self.late += 1;
            return;
        }
        if ext > self.highest + 1 {
            // The newest of the gap, at most a window's worth: older ones would be given
            // up before they could come.
            let from = (self.highest + 1).max(ext.saturating_sub(self.window as u64));
            self.missing.extend((from..ext).map(|n| n as u16));
        }
        self.highest = self.highest.max(ext);
        self.pending.insert(ext, (now, item));
        self.held_since.get_or_insert(now);
        if self.release(out) {
            self.held_since = self.oldest();
        }
        while self.pending.len() > self.window
            || self.held_since.is_some_and(|at| now - at >= self.max_wait)
        {
            self.skip_gap(out);
            self.release(out);
            self.held_since = self.oldest();
        }
    }

    /// The sequence numbers seen missing since the last call (each once), oldest first.
    pub fn take_missing(&mut self, out: &mut Vec<u16>) {
        out.append(&mut self.missing);
    }

    /// Releases everything held, gaps included (the stream ended or changed).
    pub fn flush(&mut self, out: &mut Vec<Ordered<T>>) {
        while !self.pending.is_empty() {
            self.skip_gap(out);
            self.release(out);
        }
        self.held_since = None;
    }

    /// Forgets the numbering: the next packet starts a new one.
    pub fn reset(&mut self) {
        self.next = None;
        self.pending.clear();
        self.held_since = None;
        self.missing.clear();
    }

    fn restart(&mut self, seq: u16, item: T, now: f64) {
        // Start high enough that earlier-numbered packets of the same run unwrap above 0.
        let ext = (1 << 32) + u64::from(seq);
        self.next = Some(ext);
        self.highest = ext;
        self.pending.clear();
        self.pending.insert(ext, (now, item));
        self.held_since = None;
        self.missing.clear();
    }

    /// Releases the packets now in turn; whether there were any.
    fn release(&mut self, out: &mut Vec<Ordered<T>>) -> bool {
        let Some(mut next) = self.next else {
            return false;
        };
        let first = next;
        while let Some((_, item)) = self.pending.remove(&next) {
            out.push(Ordered::Packet(item));
            next += 1;
        }
        self.next = Some(next);
        next != first
    }

    /// When the longest-waiting held packet arrived (after a release: rare, so a scan).
    fn oldest(&self) -> Option<f64> {
        self.pending.values().map(|(at, _)| *at).reduce(f64::min)
    }

    /// Declares the packets before the first one held lost.
    fn skip_gap(&mut self, out: &mut Vec<Ordered<T>>) {
        if let (Some(next), Some((&first, _))) = (self.next, self.pending.first_key_value()) {
            if first > next {
                out.push(Ordered::Lost {
                    count: first - next,
                });
            }
            self.next = Some(first);
        }
    }
}

/// The 64-bit number of `seq` nearest to `highest`.
#[must_use]
pub fn unwrap(highest: u64, seq: u16) -> u64 {
    let delta = i64::from(seq.wrapping_sub(highest as u16) as i16);
    highest.saturating_add_signed(delta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Packets all at once (no wait gives a gap up: only the window).
    fn run(window: usize, seqs: &[u16]) -> Vec<Ordered<u16>> {
        let mut buffer = Reorder::new(window, f64::INFINITY);
        let mut out = Vec::new();
        for &seq in seqs {
            buffer.push(seq, seq, 0.0, &mut out);
        }
        buffer.flush(&mut out);
        out
    }

    fn packets(out: &[Ordered<u16>]) -> Vec<u16> {
        out.iter()
            .filter_map(|o| match o {
                Ordered::Packet(p) => Some(*p),
                Ordered::Lost { .. } => None,
            })
            .collect()
    }

    #[test]
    fn reorders_across_the_wrap_and_drops_duplicates() {
        let out = run(8, &[65534, 0, 65535, 1, 1, 65534, 2]);
        assert_eq!(packets(&out), vec![65534, 65535, 0, 1, 2]);
        assert!(out.iter().all(|o| matches!(o, Ordered::Packet(_))));
    }

    #[test]
    fn a_gap_is_given_up_once_the_window_fills_and_late_packets_are_dropped() {
        let out = run(2, &[10, 12, 13, 14, 11]);
        assert_eq!(
            out,
            vec![
                Ordered::Packet(10),
                Ordered::Lost { count: 1 },
                Ordered::Packet(12),
                Ordered::Packet(13),
                Ordered::Packet(14),
            ]
        );
        // Within the window, a retransmission fills the gap.
        assert_eq!(packets(&run(4, &[10, 12, 13, 11])), vec![10, 11, 12, 13]);
    }

    #[test]
    fn a_gap_is_reported_missing_once_and_waited_for_up_to_max_wait() {
        let mut buffer = Reorder::new(64, 0.3);
        let (mut out, mut missing) = (Vec::new(), Vec::new());
        for (seq, at) in [(65533, 0.0), (65534, 0.01), (1, 0.02), (2, 0.03)] {
            buffer.push(seq, seq, at, &mut out);
        }
        buffer.take_missing(&mut missing);
        assert_eq!(missing, vec![65535, 0], "across the wrap, each once");
        assert_eq!(packets(&out), vec![65533, 65534]);
        // A retransmission within the wait fills it.
        buffer.push(0, 0, 0.2, &mut out);
        buffer.push(65535, 65535, 0.25, &mut out);
        assert_eq!(packets(&out), vec![65533, 65534, 65535, 0, 1, 2]);
        // Another gap: given up by the first packet 0.3 s after the one held behind it.
        out.clear();
        buffer.push(5, 5, 1.0, &mut out);
        buffer.push(6, 6, 1.1, &mut out);
        buffer.push(7, 7, 1.29, &mut out);
        assert!(out.is_empty());
        buffer.push(8, 8, 1.3, &mut out);
        assert_eq!(
            out,
            vec![
                Ordered::Lost { count: 2 },
                Ordered::Packet(5),
                Ordered::Packet(6),
                Ordered::Packet(7),
                Ordered::Packet(8),
            ]
        );
        buffer.take_missing(&mut missing);
        assert_eq!(missing, vec![65535, 0, 3, 4]);
        buffer.push(3, 3, 1.4, &mut out); // too late
        assert_eq!(buffer.late, 1);
        // A long gap: only the newest window's worth is worth asking for.
        missing.clear();
        buffer.push(200, 200, 2.0, &mut out);
        buffer.take_missing(&mut missing);
        assert_eq!(missing, (136..200).collect::<Vec<u16>>());
    }

    #[test]
    fn a_far_jump_is_a_restart() {
        let out = run(4, &[100, 101, 40000, 40001]);
        assert_eq!(
            out,
            vec![
                Ordered::Packet(100),
                Ordered::Packet(101),
                Ordered::Lost { count: 0 },
                Ordered::Packet(40000),
                Ordered::Packet(40001),
            ]
        );
        assert_eq!(packets(&run(4, &[5000, 5001, 10])), vec![5000, 5001, 10]);
    }

    proptest! {
        #[test]
        fn output_is_complete_for_any_shuffle_within_the_window(
            start in any::<u16>(),
            keys in proptest::collection::vec(any::<u32>(), 48),
        ) {
            // The first packet in place; then each run of 8 in any order.
            let mut seqs = vec![start];
            for (block, keys) in keys.chunks(8).enumerate() {
                let mut run: Vec<(u32, u16)> = keys
                    .iter()
                    .enumerate()
                    .map(|(i, key)| (*key, start.wrapping_add((1 + block * 8 + i) as u16)))
                    .collect();
                run.sort_unstable();
                seqs.extend(run.into_iter().map(|(_, seq)| seq));
            }
            seqs.push(start.wrapping_add(49));
            let out = run(8, &seqs);
            let expected: Vec<u16> = (0..50).map(|i| start.wrapping_add(i)).collect();
            prop_assert_eq!(packets(&out), expected);
        }
    }
}
