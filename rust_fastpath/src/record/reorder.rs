//! Putting one RTP stream's packets back in sequence order within a small window, so
//! a depacketiser sees each packet once, in order, and a gap only once it is given up on
//! (late retransmissions, answered from the relay's NACK history, still fill it).

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
    /// The unwrapped number of the next packet to release.
    next: Option<u64>,
    highest: u64,
    pending: BTreeMap<u64, T>,
    /// Packets that came after their turn, or twice.
    pub late: u64,
}

impl<T> Reorder<T> {
    /// A buffer that gives up on a gap once `window` packets wait behind it.
    #[must_use]
    pub fn new(window: usize) -> Self {
        Self {
            window: window.max(1),
            next: None,
            highest: 0,
            pending: BTreeMap::new(),
            late: 0,
        }
    }

    /// Takes one packet; appends to `out` what is now in order.
    pub fn push(&mut self, seq: u16, item: T, out: &mut Vec<Ordered<T>>) {
        let Some(next) = self.next else {
            self.restart(seq, item);
            self.release(out);
            return;
        };
        let ext = unwrap(self.highest, seq);
        let far_back = ext < next && next - ext > MAX_JUMP;
        let far_ahead = ext > self.highest && ext - self.highest > MAX_JUMP;
        if far_back || far_ahead {
            self.flush(out);
            out.push(Ordered::Lost { count: 0 });
            self.restart(seq, item);
            self.release(out);
            return;
        }
        if ext < next || self.pending.contains_key(&ext) {
            self.late += 1;
            return;
        }
        self.highest = self.highest.max(ext);
        self.pending.insert(ext, item);
        self.release(out);
        while self.pending.len() > self.window {
            self.skip_gap(out);
            self.release(out);
        }
    }

    /// Releases everything held, gaps included (the stream ended or changed).
    pub fn flush(&mut self, out: &mut Vec<Ordered<T>>) {
        while !self.pending.is_empty() {
            self.skip_gap(out);
            self.release(out);
        }
    }

    /// Forgets the numbering: the next packet starts a new one.
    pub fn reset(&mut self) {
        self.next = None;
        self.pending.clear();
    }

    fn restart(&mut self, seq: u16, item: T) {
        // Start high enough that earlier-numbered packets of the same run unwrap above 0.
        let ext = (1 << 32) + u64::from(seq);
        self.next = Some(ext);
        self.highest = ext;
        self.pending.clear();
        self.pending.insert(ext, item);
    }

    fn release(&mut self, out: &mut Vec<Ordered<T>>) {
        let Some(mut next) = self.next else { return };
        while let Some(item) = self.pending.remove(&next) {
            out.push(Ordered::Packet(item));
            next += 1;
        }
        self.next = Some(next);
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

    fn run(window: usize, seqs: &[u16]) -> Vec<Ordered<u16>> {
        let mut buffer = Reorder::new(window);
        let mut out = Vec::new();
        for &seq in seqs {
            buffer.push(seq, seq, &mut out);
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
